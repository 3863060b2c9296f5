"""Console mode against a small console that follows the protocol."""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.daemon_process import DaemonProcess, witness
from tests.daemon.fake_console import FakeConsole, console_daemon

TRACE_ID = "lrn_ConsoleTrace00000000001"


@pytest.fixture
def console() -> Iterator[FakeConsole]:
    fake = FakeConsole().start()
    yield fake
    fake.stop()


def _console_daemon(
    data_dir: Path, console: FakeConsole, *options: str
) -> DaemonProcess:
    return console_daemon(
        data_dir,
        console,
        "--long-poll-timeout",
        "2",
        *options,
        name="console-daemon",
    )


def _middleware_poll(daemon: DaemonProcess, service: str, active: list[str]) -> Any:
    return daemon.post(
        f"/v1/services/{service}/middleware",
        {"client_name": "web-1", "active_trace_ids": active},
    )


def test_traces_come_from_the_console_and_go_back_to_it(
    data_dir: Path, console: FakeConsole
) -> None:
    daemon = _console_daemon(data_dir, console, "--no-build")
    try:
        console.wait_for(lambda: console.heartbeats)
        assert console.heartbeats[0] == {
            "daemon_name": "console-daemon",
            "version": "0.1.0",
            "services": [],
        }

        answers: list[Any] = []
        waiter = threading.Thread(
            target=lambda: answers.append(_middleware_poll(daemon, "shop", []))
        )
        waiter.start()
        console.wait_for(
            lambda: any(p[1]["middleware"] == ["web-1"] for p in console.polls)
        )
        console.activate("shop", TRACE_ID, "calm-red-otter-1")
        waiter.join(timeout=10)

        assert answers[0].status_code == 202
        assert answers[0].json()["activated_traces"][0]["trace_id"] == TRACE_ID
        console.wait_for(
            lambda: any(
                s["active_trace_ids"] == [TRACE_ID]
                for h in console.heartbeats
                for s in h["services"]
            )
        )
        refused = daemon.post("/v1/local/traces", {"service": "shop"})
        assert refused.status_code == 409

        for number in range(3):
            response = daemon.post(
                "/v1/services/shop/traces/calm-red-otter-1/events",
                {
                    "client_name": "web-1",
                    "trace_events": [witness(f"/api/orders/{number}")],
                },
            )
            assert response.status_code == 202

        console.fail_next_uploads = 2
        console.deactivate("shop", TRACE_ID)
        trace = daemon.wait_for_state("calm-red-otter-1", "done", timeout=20)
    finally:
        daemon.stop()

    assert trace["source"] == "console"
    assert trace["uploaded"] == ["witnesses"]
    ((key, upload),) = console.uploads.items()
    assert re.fullmatch(rf"{TRACE_ID}:witnesses:[0-9a-f]{{32}}", key)
    assert [status for _, status in console.attempts] == [503, 503, 201]
    assert upload.headers["content-type"] == "application/x-ndjson"
    assert upload.headers["x-akita-trace-name"] == "calm-red-otter-1"
    lines = [json.loads(line) for line in upload.body.splitlines()]
    assert [w["request"]["url"] for w in lines] == [
        "http://testserver/api/orders/0"
    ] * 3
    assert all(w["_akita"]["obfuscated"] for w in lines)
    spool = data_dir / "traces" / TRACE_ID / "witnesses.jsonl"
    assert spool.read_bytes() == upload.body
    assert console.unauthorized == 0


def test_a_retried_upload_is_stored_once(data_dir: Path, console: FakeConsole) -> None:
    console.activate("shop", TRACE_ID, "once")
    console.store_then_fail_next = 1
    daemon = _console_daemon(data_dir, console, "--no-build")
    try:
        _middleware_poll(daemon, "shop", [])
        console.wait_for(lambda: "once" in daemon.get("/v1/local/traces").text)
        response = daemon.post(
            "/v1/services/shop/traces/once/events",
            {
                "client_name": "web-1",
                "trace_events": [witness()],
                "no_more_events": True,
            },
        )
        assert response.status_code == 202
        console.deactivate("shop", TRACE_ID)
        daemon.wait_for_state("once", "done", timeout=20)
    finally:
        daemon.stop()

    assert len(console.uploads) == 1
    (key, first), (again, second) = console.attempts
    assert (key == again, first, second) == (True, 502, 200)
    (upload,) = console.uploads.values()
    assert gzip.compress(upload.body)  # stored decompressed, once
    assert len(upload.body.splitlines()) == 1


def test_a_service_the_console_does_not_know_is_404(
    data_dir: Path, console: FakeConsole
) -> None:
    daemon = _console_daemon(data_dir, console, "--no-build")
    try:
        response = _middleware_poll(daemon, "unknown-service", [])
    finally:
        daemon.stop()

    assert response.status_code == 404
    assert response.json() == {
        "message": "The console has no project named 'unknown-service'."
    }


def test_console_mode_needs_an_api_key(data_dir: Path) -> None:
    daemon = DaemonProcess(data_dir, env={"AKITA_CONSOLE_URL": "http://127.0.0.1:9"})

    with pytest.raises(RuntimeError) as failed:
        daemon.start()

    assert (
        "akita daemon: error: AKITA_CONSOLE_URL is set, so the daemon needs an API "
        "key: set AKITA_API_KEY_ID and AKITA_API_KEY_SECRET to a key made in the "
        "console's Settings.\n"
    ) in str(failed.value)
