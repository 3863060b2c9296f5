"""Measure how many witnesses a second the daemon ingests over loopback.

A real daemon runs in its own process; a client process sends batches of
witnesses over several concurrent connections with httpx, for a fixed time.
Every witness is validated, obfuscated and appended to the spool with a
flush before it is acknowledged; the figure counts acknowledged witnesses
only, and the spool is checked to hold them all.

    python bench/daemon_bench.py [--seconds 10] [--batch 100] [--connections 8]
                                 [--workers 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.daemon.daemon_process import DaemonProcess, witness  # noqa: E402


def _varied_witness(rng: random.Random, number: int) -> dict[str, Any]:
    item = rng.randrange(1, 10**6)
    body = {
        "id": item,
        "title": f"Item {item} of the catalogue",
        "owner": {"email": f"user{item}@example.org", "since": "2024-03-01"},
        "tags": [rng.choice(["red", "green", "blue"]) for _ in range(3)],
        "price": round(rng.uniform(1, 500), 2),
        "available": rng.random() < 0.5,
    }
    entry = witness(
        f"/api/items/{item}?page={number % 7}",
        method=rng.choice(["GET", "PUT"]),
        route="api/items/<int:pk>",
        body=json.dumps(body) if number % 2 else None,
        response_body=json.dumps(body),
        headers=[
            {"name": "Accept", "value": "application/json"},
            {"name": "Authorization", "value": f"Bearer tok{item:08d}abcdef"},
            {"name": "User-Agent", "value": "bench/1.0"},
            {"name": "Cookie", "value": f"sessionid=s{item}; csrftoken=c{item}"},
        ],
    )
    entry["request"]["queryString"] = [{"name": "page", "value": str(number % 7)}]
    return entry


def _bodies(batch: int, count: int) -> list[bytes]:
    rng = random.Random(7)
    bodies = []
    for index in range(count):
        events = [_varied_witness(rng, index * batch + n) for n in range(batch)]
        document = {"client_name": "bench", "trace_events": events}
        bodies.append(json.dumps(document).encode())
    return bodies


async def _send(url: str, bodies: list[bytes], connections: int, seconds: float) -> int:
    acknowledged = 0
    deadline = time.monotonic() + seconds
    batch = len(json.loads(bodies[0])["trace_events"])
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=connections)

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        async def connection(offset: int) -> None:
            nonlocal acknowledged
            index = offset
            while time.monotonic() < deadline:
                response = await http.post(
                    url, content=bodies[index % len(bodies)], headers=headers
                )
                if response.status_code != 202:
                    raise RuntimeError(f"{response.status_code}: {response.text}")
                acknowledged += batch
                index += connections

        await asyncio.gather(*(connection(n) for n in range(connections)))
    return acknowledged


def _client(url: str, batch: int, connections: int, seconds: float, out: Any) -> None:
    bodies = _bodies(batch, 40)
    started = time.monotonic()
    cpu_started = time.process_time()
    acknowledged = asyncio.run(_send(url, bodies, connections, seconds))
    out.put(
        (
            acknowledged,
            time.monotonic() - started,
            time.process_time() - cpu_started,
        )
    )


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time a process and its children have used so far."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=0, help="the daemon's --workers (0)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="akita-bench-") as scratch:
        daemon = DaemonProcess(
            Path(scratch) / "data",
            "--no-build",
            "--trace-buffer",
            "1000000",
            "--workers",
            str(args.workers),
        ).start()
        try:
            trace = daemon.start_trace("bench", name="bench-trace", hours=1)
            url = f"{daemon.url}/v1/services/bench/traces/bench-trace/events"
            results: Any = multiprocessing.get_context("spawn").Queue()
            client = multiprocessing.get_context("spawn").Process(
                target=_client,
                args=(url, args.batch, args.connections, args.seconds, results),
            )
            client.start()
            acknowledged, elapsed, client_cpu = results.get(timeout=args.seconds + 120)
            client.join()
            assert daemon.process is not None
            daemon_cpu = _cpu_seconds(daemon.process.pid)
        finally:
            daemon.stop()
        spool = (
            Path(scratch) / "data" / "traces" / trace["trace_id"] / "witnesses.jsonl"
        )
        spooled = sum(1 for _ in open(spool, "rb"))

    rate = acknowledged / elapsed
    print(
        f"{acknowledged} witnesses acknowledged in {elapsed:.1f} s over "
        f"{args.connections} connections, batches of {args.batch}, "
        f"{args.workers} workers: "
        f"{rate:,.0f} witnesses/s (spool holds {spooled}); the daemon used "
        f"{daemon_cpu:.1f} CPU seconds, {acknowledged / daemon_cpu:,.0f} "
        "witnesses per CPU second; the client used "
        f"{client_cpu:.1f} CPU seconds"
    )
    return 0 if spooled >= acknowledged else 1


if __name__ == "__main__":
    sys.exit(main())
