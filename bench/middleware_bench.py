"""Measure what AkitaMiddleware costs a real WSGI server, side by side.

Gunicorn servers run the example application's JSON view
(``/api/health/``): without the middleware (twice: the second server, a
control, shows how far two identical servers measure apart), with it and no
active trace, and with it and a trace active (sending to a fake daemon process that
accepts every witness). Load comes from ``wrk`` in a process of its own, or,
when wrk is not installed, from Python processes with keep-alive
connections. The configurations are measured in turns, round after round,
so that a noisy neighbour slows all of them alike; the median of each is
compared with the one without the middleware.

    python bench/middleware_bench.py --rounds 9 --duration 3
    python bench/middleware_bench.py --pin   # servers on one core, load on the other

``capture`` measures instead, in this process, the CPU time that capturing
one request costs the middleware's two threads:

    python bench/middleware_bench.py capture --requests 20000

This is a measurement, not a test: it prints figures and sets no exit
status by them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
# With --pin: the CPUs of the servers, and those of the load and the daemons.
SERVER_CPUS: set[int] | None = None
LOAD_CPUS: set[int] | None = None
PATH = "/api/health/"
TRACE = {
    "trace_name": "bench-trace",
    "trace_id": "lrn_bench00000000000000000",
    "service_id": "svc_bench",
    "sampling_rate": 1.0,
    "filter_third_party_trackers": False,
}


def _on_cpus(cpus: set[int] | None) -> Callable[[], None] | None:
    """Return what pins a child process to ``cpus`` as it starts, if any."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _DaemonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _DaemonServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer(200, {"witnesses": self.server.witnesses})

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.endswith("/events"):
            # Counting beats parsing: the daemon shares the host's two cores.
            with self.server.lock:
                self.server.witnesses += data.count(b'"startedDateTime"')
            self._answer(202, {})
            return
        body = json.loads(data)
        known = body.get("active_trace_ids", [])
        if self.server.is_active and TRACE["trace_id"] not in known:
            self._answer(202, {"activated_traces": [TRACE], "deactivated_traces": []})
            return
        # Nothing changes in a benchmark: hold the long poll.
        time.sleep(30)
        self._answer(202, {"activated_traces": [], "deactivated_traces": []})


class _DaemonServer(ThreadingHTTPServer):
    daemon_threads = True
    is_active = False
    witnesses = 0
    lock = threading.Lock()


def serve_daemon(port: int, is_active: bool) -> None:
    """Run the fake daemon until killed."""
    server = _DaemonServer(("127.0.0.1", port), _DaemonHandler)
    server.is_active = is_active
    server.serve_forever()


def daemon_witnesses(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/")
    count = int(json.loads(connection.getresponse().read())["witnesses"])
    connection.close()
    return count


def wait_until_serving(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", PATH)
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Nothing answered on 127.0.0.1:{port} in {timeout} s.")


def start_gunicorn(
    port: int, env: dict[str, str], threads: int
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        # gunicorn's control socket defaults to one path for every server.
        "--control-socket",
        f"{tempfile.gettempdir()}/akita-bench-gunicorn-{port}.sock",
        "akita_django.demoapp.wsgi:application",
    ]
    return subprocess.Popen(
        command, env=env, cwd=REPOSITORY, preexec_fn=_on_cpus(SERVER_CPUS)
    )


def _load_worker(port: int, seconds: float, counts: Any, index: int) -> None:
    if LOAD_CPUS is not None:
        os.sched_setaffinity(0, LOAD_CPUS)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.request("GET", PATH)
        response = connection.getresponse()
        response.read()
        if response.status == 200:
            done += 1
    counts[index] = done
    connection.close()


def python_load(port: int, seconds: float, connections: int) -> tuple[float, int]:
    """Load a server from Python processes; return the rate and count."""
    counts = multiprocessing.Array("l", connections)
    workers = [
        multiprocessing.Process(target=_load_worker, args=(port, seconds, counts, i))
        for i in range(connections)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / seconds, sum(counts)


def wrk_load(port: int, seconds: float, connections: int) -> tuple[float, int]:
    """Load a server with wrk; return requests a second and their count."""
    result = subprocess.run(
        [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds:g}s",
            f"http://127.0.0.1:{port}{PATH}",
        ],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=_on_cpus(LOAD_CPUS),
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    count = re.search(r"(\d+) requests in", result.stdout)
    if rate is None or count is None or "Non-2xx" in result.stdout:
        raise RuntimeError(f"wrk did not report a clean run:\n{result.stdout}")
    return float(rate.group(1)), int(count.group(1))


def worker_pid(master: int) -> int:
    """Return the pid of a gunicorn master's only worker."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"gunicorn {master} has workers {children!r}, not one.")
    return int(children[0])


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace) -> None:
    global SERVER_CPUS, LOAD_CPUS
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit(f"--pin needs two CPUs; this process may use {cpus}.")
        SERVER_CPUS, LOAD_CPUS = {cpus[-1]}, set(cpus[:-1])
    load = wrk_load if shutil.which("wrk") else python_load
    base_env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    base_env.pop("AKITA_DEMO_CAPTURE", None)
    idle_daemon, active_daemon = free_port(), free_port()
    daemons = [
        subprocess.Popen(
            [sys.executable, __file__, "daemon", str(idle_daemon)],
            preexec_fn=_on_cpus(LOAD_CPUS),
        ),
        subprocess.Popen(
            [sys.executable, __file__, "daemon", str(active_daemon), "--active"],
            preexec_fn=_on_cpus(LOAD_CPUS),
        ),
    ]
    configs: dict[str, dict[str, str]] = {
        "without": base_env,
        # A second server like the first: how far apart two identical
        # servers measure on this host is the noise floor of the ratios.
        "control": base_env,
        "idle": {
            **base_env,
            "AKITA_DEMO_CAPTURE": "1",
            "AKITA_DAEMON_HOST": f"127.0.0.1:{idle_daemon}",
        },
        "active": {
            **base_env,
            "AKITA_DEMO_CAPTURE": "1",
            "AKITA_DAEMON_HOST": f"127.0.0.1:{active_daemon}",
        },
    }
    ports = {name: free_port() for name in configs}
    servers = [
        start_gunicorn(ports[n], env, args.threads) for n, env in configs.items()
    ]
    rates: dict[str, list[float]] = {name: [] for name in configs}
    costs: dict[str, list[float]] = {name: [] for name in configs}
    try:
        for port in ports.values():
            wait_until_serving(port)
        workers = {
            name: worker_pid(server.pid)
            for name, server in zip(configs, servers, strict=True)
        }
        print(
            f"load: {load.__name__}, {args.connections} connections, "
            f"{args.duration:g} s a run, {args.rounds} rounds"
            + (
                f"; servers on CPU {SERVER_CPUS}, load on {LOAD_CPUS}"
                if args.pin
                else ""
            )
        )
        for port in ports.values():
            load(port, args.warmup, args.connections)
        names = list(configs)
        for round_number in range(args.rounds):
            # Rotate the order so that no configuration always goes first.
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                cpu_before = cpu_seconds(workers[name])
                rate, count = load(ports[name], args.duration, args.connections)
                cost = (cpu_seconds(workers[name]) - cpu_before) / count * 1e6
                rates[name].append(rate)
                costs[name].append(cost)
                print(
                    f"round {round_number + 1} {name:>8}: {rate:9.1f} req/s, "
                    f"{cost:6.0f} us of worker CPU a request"
                )
        sent = daemon_witnesses(active_daemon)
    finally:
        # Servers first: at exit their middleware sends what it still holds.
        for group in (servers, daemons):
            for process in group:
                process.terminate()
            for process in group:
                process.wait(10)

    report(rates, costs, sent)


def report(
    rates: dict[str, list[float]], costs: dict[str, list[float]], sent: int
) -> None:
    """Print the medians and their ratios to the servers without middleware.

    The baseline is the mean of the two servers without the middleware, so
    that one of them landing on a busier core does not skew every ratio.
    """
    medians = {name: statistics.median(values) for name, values in rates.items()}
    cpu = {name: statistics.median(values) for name, values in costs.items()}
    base = (medians["without"] + medians["control"]) / 2
    base_cpu = (cpu["without"] + cpu["control"]) / 2
    print()
    print(
        f"{'configuration':<30}{'median req/s':>14}{'ratio':>8}"
        f"{'CPU us/req':>12}{'CPU ratio':>11}"
    )
    for label, name in (
        ("without the middleware", "without"),
        ("the same, second server", "control"),
        ("middleware, no trace", "idle"),
        ("middleware, trace active", "active"),
    ):
        print(
            f"{label:<30}{medians[name]:>14.1f}{medians[name] / base:>8.3f}"
            f"{cpu[name]:>12.0f}{base_cpu / cpu[name]:>11.3f}"
        )
    print(f"(ratios to the mean of the two servers without it: {base:.1f} req/s)")

    # Each round measures every configuration one after the other, so the
    # ratio within a round cancels a slow drift of the host's load.
    round_bases = [
        (a + b) / 2 for a, b in zip(rates["without"], rates["control"], strict=True)
    ]
    spread = [a / b for a, b in zip(rates["control"], rates["without"], strict=True)]
    print(
        f"control/without: median of per-round ratios "
        f"{statistics.median(spread):.3f} (the noise floor)"
    )
    for name in ("idle", "active"):
        paired = [a / b for a, b in zip(rates[name], round_bases, strict=True)]
        print(
            f"{name}: median of per-round ratios {statistics.median(paired):.3f} "
            f"(rounds: {', '.join(f'{r:.2f}' for r in paired)})"
        )
    print(f"witnesses the daemon accepted: {sent}")
    print("targets: idle >= 0.98, active >= 0.90 (CPU ratio: the same, measured")
    print("as worker CPU time per request, which other load on the host")
    print("disturbs less than throughput)")


def capture_cost(requests: int, repeats: int) -> None:
    """Print the CPU microseconds a captured request costs, step by step.

    The request and response are the benchmark's: ``GET /api/health/`` of
    the example application, with the environ keys gunicorn adds. Each step
    runs ``requests`` times, ``repeats`` times over; the best run counts, as
    other load on the host only ever adds to it.
    """
    import gc

    import django
    import orjson

    os.environ["DJANGO_SETTINGS_MODULE"] = "akita_django.demoapp.settings"
    django.setup()
    from django.test import Client

    from akita_django.witness import Exchange, capture_exchange

    response: Any = Client(HTTP_USER_AGENT="wrk", HTTP_ACCEPT="*/*").get(PATH)
    request = response.wsgi_request
    request.META.update(
        {
            "SERVER_SOFTWARE": "gunicorn/23.0.0",
            "RAW_URI": PATH,
            "REMOTE_PORT": "50000",
            "wsgi.file_wrapper": object,
            "wsgi.input_terminated": True,
            "gunicorn.socket": socket.socket(),
        }
    )
    akita = {"service": "django-demo", "middleware": "demo-web-1", "trace": "t"}

    def capture() -> Exchange:
        return capture_exchange(
            request,
            response,
            started=time.time(),
            elapsed_ms=0.5,
            max_body_bytes=65536,
            # As the middleware calls it when SECURE_PROXY_SSL_HEADER is unset.
            has_proxy_ssl_header=False,
        )

    def request_thread() -> None:
        for _ in range(requests):
            capture()

    exchange = capture()

    def sender_thread() -> None:
        for _ in range(requests):
            orjson.dumps(exchange.to_witness(akita))

    def both_in_batches() -> None:
        # As in the server: exchanges wait in the queue, a batch at a time,
        # while the next requests allocate.
        for _ in range(0, requests, 500):
            batch = [capture() for _ in range(500)]
            b",".join([orjson.dumps(item.to_witness(akita)) for item in batch])

    for label, step in (
        ("request thread: capture_exchange", request_thread),
        ("sender thread: to_witness + orjson.dumps", sender_thread),
        ("both, in batches of 500", both_in_batches),
    ):
        best = float("inf")
        collections = 0
        for _ in range(repeats):
            before = sum(stat["collections"] for stat in gc.get_stats())
            started = time.process_time()
            step()
            best = min(best, time.process_time() - started)
            collections += sum(s["collections"] for s in gc.get_stats()) - before
        print(
            f"{label:<44}{best / requests * 1e6:7.1f} us of CPU a request "
            f"({collections / repeats:.0f} collections a run)"
        )
    print(f"witness: {len(orjson.dumps(exchange.to_witness(akita)))} bytes of JSON")


def main() -> int:
    """Run the benchmark, or, as ``daemon PORT``, its fake daemon."""
    if len(sys.argv) > 1 and sys.argv[1] == "daemon":
        serve_daemon(int(sys.argv[2]), "--active" in sys.argv[3:])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "capture":
        capture_parser = argparse.ArgumentParser(
            prog=f"{sys.argv[0]} capture", description=capture_cost.__doc__
        )
        capture_parser.add_argument("--requests", type=int, default=20000)
        capture_parser.add_argument("--repeats", type=int, default=5)
        options = capture_parser.parse_args(sys.argv[2:])
        capture_cost(options.requests, options.repeats)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds a run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run the servers on the last CPU, the load and the daemons on the others",
    )
    run(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
