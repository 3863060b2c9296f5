"""A daemon killed with SIGKILL loses no witness it acknowledged."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from akita_daemon.spool import read_witnesses
from tests.daemon.daemon_process import DaemonProcess, witness

KILLS = 12
PLANTED_TORN_LINE = b'{"startedDateTime": "2026-12-03T21:1'
BATCH = 20


def _batch(client: str, first: int) -> list[dict[str, object]]:
    # Keys survive obfuscation, values do not: the sequence number is a key.
    return [
        witness(
            "/api/items/7",
            method="POST",
            body=json.dumps({f"{client}_{number:06d}": number}),
        )
        for number in range(first, first + BATCH)
    ]


def _send_until_refused(
    daemon: DaemonProcess, client: str, start: int, acknowledged: set[str]
) -> int:
    """Send batches until the daemon goes away; return the next number."""
    url = f"{daemon.url}/v1/services/durable/traces/durable-trace/events"
    number = start
    with httpx.Client(timeout=10) as http:
        while True:
            body = {"client_name": client, "trace_events": _batch(client, number)}
            try:
                response = http.post(url, json=body)
            except httpx.HTTPError:
                return number + BATCH
            if response.status_code != 202:
                return number + BATCH
            acknowledged.update(
                f"{client}_{n:06d}" for n in range(number, number + BATCH)
            )
            number += BATCH


def _spooled_keys(spool: Path) -> list[str]:
    keys = []
    for entry in read_witnesses(spool):
        keys.extend(json.loads(entry["request"]["postData"]["text"]))
    return keys


@pytest.mark.slow
def test_sigkill_during_ingest_loses_no_acknowledged_witness(data_dir: Path) -> None:
    daemon = DaemonProcess(data_dir, "--no-build", "--quiet-grace", "60").start()
    trace = daemon.start_trace("durable", name="durable-trace", hours=1)
    spool = data_dir / "traces" / trace["trace_id"] / "witnesses.jsonl"
    acknowledged: set[str] = set()
    next_numbers = {"a": 0, "b": 0, "c": 0}
    rng = random.Random(1234)
    planted_cut = 0

    for kill in range(KILLS):
        senders = [
            threading.Thread(
                target=lambda c=client: next_numbers.__setitem__(
                    c, _send_until_refused(daemon, c, next_numbers[c], acknowledged)
                )
            )
            for client in next_numbers
        ]
        for sender in senders:
            sender.start()
        time.sleep(rng.uniform(0.15, 0.5))
        daemon.kill()
        for sender in senders:
            sender.join(timeout=20)

        if kill == KILLS // 2:
            # A write cut short by a crash: a torn last line, never acknowledged.
            # The kill itself may have torn one already; the daemon then cuts
            # both together.
            written = spool.read_bytes()
            torn_already = len(written) - (written.rfind(b"\n") + 1)
            with open(spool, "ab") as stream:
                stream.write(PLANTED_TORN_LINE)
            planted_cut = torn_already + len(PLANTED_TORN_LINE)
            assert len(_spooled_keys(spool)) >= len(acknowledged)

        daemon.start()
        assert daemon.get("/v1/local/traces/durable-trace").json()["state"] == "active"

    daemon.stop()
    keys = _spooled_keys(spool)
    assert len(acknowledged) > KILLS * BATCH
    assert acknowledged <= set(keys)
    lines = spool.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert all(json.loads(line)["_akita"]["obfuscated"] for line in lines[:-1])
    assert (
        f"akita: [WARNING] Cutting {planted_cut} bytes of a torn last line off"
        in daemon.log()
    )


def test_a_restarted_daemon_finishes_a_trace_whose_time_ran_out(
    data_dir: Path,
) -> None:
    daemon = DaemonProcess(data_dir, "--no-build", "--quiet-grace", "0.3").start()
    trace = daemon.start_trace("resume", name="resume-trace", hours=0.0004)
    kept = daemon.start_trace("resume", name="kept-trace", hours=5)
    response = daemon.post(
        "/v1/services/resume/traces/resume-trace/events",
        {"client_name": "web", "trace_events": [witness()]},
    )
    assert response.status_code == 202
    daemon.kill()
    time.sleep(1.5)

    daemon.start()
    ended = daemon.wait_for_state("resume-trace", "done", timeout=10)
    still = daemon.get("/v1/local/traces/kept-trace").json()
    daemon.stop()

    assert ended["witnesses"] == 1
    assert still["state"] == "active"
    assert still["trace_id"] == kept["trace_id"]
    log = daemon.log()
    assert f"akita: [INFO] Activating trace resume-trace ({trace['trace_id']})" in log
    assert f"akita: [INFO] Deactivating trace resume-trace ({trace['trace_id']})" in log
