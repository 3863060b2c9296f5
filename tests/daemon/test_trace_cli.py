"""``akita trace`` against a real daemon, and the log lines it causes."""

from __future__ import annotations

import re
import subprocess
import time

from akita_daemon.naming import GENERATED_NAME_PATTERN, TRACE_ID_PATTERN
from tests.daemon.daemon_process import (
    DaemonProcess,
    akita_command,
    akita_env,
    free_port,
)


def _trace(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        akita_command("trace", *args),
        env=akita_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )


def _wait_for_log(daemon: DaemonProcess, line: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if line in daemon.log():
            return
        time.sleep(0.05)
    raise AssertionError(f"{line!r} not in the daemon's log:\n{daemon.log()}")


def test_start_list_stop_with_a_generated_name(daemon: DaemonProcess) -> None:
    started = _trace("--daemon", daemon.address, "start", "cli-service", "--hours", "2")

    assert started.returncode == 0, started.stderr
    match = re.fullmatch(
        r"Started trace (\S+) \((\S+)\) of service cli-service, for 2 hours\.\n",
        started.stdout,
    )
    assert match is not None, started.stdout
    name, trace_id = match.groups()
    assert GENERATED_NAME_PATTERN.fullmatch(name)
    assert TRACE_ID_PATTERN.fullmatch(trace_id)
    _wait_for_log(daemon, f"akita: [INFO] Activating trace {name} ({trace_id})\n")

    listed = _trace("list", AKITA_DAEMON_PORT=str(daemon.port))
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == [
        "NAME",
        "ID",
        "SERVICE",
        "STATE",
        "WITNESSES",
        "STARTED",
        "ENDS",
    ]
    row = next(row.split() for row in rows if row.startswith(name + " "))
    assert row[:5] == [name, trace_id, "cli-service", "active", "0"]

    stopped = _trace("--daemon", daemon.address, "stop", name)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == (
        f"Stopped trace {name} ({trace_id}); its model is built once its "
        "middleware is done.\n"
    )
    _wait_for_log(daemon, f"akita: [INFO] Deactivating trace {name} ({trace_id})\n")
    assert daemon.wait_for_state(name, "done")["state"] == "done"


def test_start_with_a_name_and_refuse_a_second_one(daemon: DaemonProcess) -> None:
    first = _trace("--daemon", daemon.address, "start", "svc", "--name", "my-trace")
    second = _trace("--daemon", daemon.address, "start", "svc", "--name", "my-trace")

    assert first.returncode == 0
    assert first.stdout.startswith("Started trace my-trace (lrn_")
    assert second.returncode == 1
    assert second.stdout == ""
    assert second.stderr == (
        "akita trace: error: A trace named 'my-trace' exists already; choose "
        "another name.\n"
    )


def test_stop_errors_are_one_line(daemon: DaemonProcess) -> None:
    daemon.start_trace("svc", name="twice")
    _trace("--daemon", daemon.address, "stop", "twice")

    unknown = _trace("--daemon", daemon.address, "stop", "no-such-trace")
    again = _trace("--daemon", daemon.address, "stop", "twice")

    assert unknown.returncode == 1
    assert unknown.stderr == (
        "akita trace: error: There is no trace named 'no-such-trace'; 'akita "
        "trace list' shows the traces.\n"
    )
    assert again.returncode == 1
    assert re.fullmatch(
        r"akita trace: error: Trace 'twice' is not active \(it is "
        r"(stopping|building|done)\)\.\n",
        again.stderr,
    )


def test_bad_hours_and_an_absent_daemon_are_errors() -> None:
    port = free_port()

    bad_hours = _trace("--daemon", f"127.0.0.1:{port}", "start", "svc", "--hours", "0")
    absent = _trace("--daemon", f"127.0.0.1:{port}", "list")

    assert bad_hours.returncode == 1
    assert (
        bad_hours.stderr == "akita trace: error: --hours must be above zero, not 0.0.\n"
    )
    assert absent.returncode == 1
    assert absent.stderr.startswith(
        f"akita trace: error: the daemon at '127.0.0.1:{port}' cannot be reached ("
    )
    assert absent.stderr.endswith(
        "is 'akita daemon' running there? (--daemon HOST:PORT)\n"
    )


def test_a_trace_ends_by_itself_when_its_hours_are_up(daemon: DaemonProcess) -> None:
    started = _trace(
        "--daemon",
        daemon.address,
        "start",
        "svc",
        "--name",
        "short",
        "--hours",
        "0.0003",
    )
    assert started.returncode == 0, started.stderr

    trace = daemon.wait_for_state("short", "done", timeout=10)

    assert trace["stopped_at"] - trace["created_at"] >= 1.0
    _wait_for_log(
        daemon, f"akita: [INFO] Deactivating trace short ({trace['trace_id']})"
    )


def test_the_daemon_option_may_follow_the_command(daemon: DaemonProcess) -> None:
    started = _trace(
        "start", "after-service", "--hours", "1", "--daemon", daemon.address
    )

    assert started.returncode == 0, started.stderr
    assert started.stdout.endswith(" of service after-service, for 1 hour.\n")
    name = started.stdout.split()[2]

    listed = _trace("list", "--daemon", daemon.address)
    assert listed.returncode == 0, listed.stderr
    rows = [row.split() for row in listed.stdout.splitlines()[1:]]
    assert [row[2:4] for row in rows if row[0] == name] == [["after-service", "active"]]

    absent = _trace("list", "--daemon", f"127.0.0.1:{free_port()}")
    assert absent.returncode == 1
