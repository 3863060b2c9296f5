"""The middleware endpoints of a real daemon, status code by status code."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import psutil

from akita_daemon.ingest import spool_lines
from akita_daemon.naming import TRACE_ID_PATTERN
from tests.daemon.daemon_process import DaemonProcess, witness


def _events(
    daemon: DaemonProcess,
    service: str,
    trace: str,
    events: list[object],
    **extra: object,
) -> httpx.Response:
    body = {"client_name": "web-1", "trace_events": events, **extra}
    return daemon.post(f"/v1/services/{service}/traces/{trace}/events", body)


def test_events_need_a_json_content_type(daemon: DaemonProcess) -> None:
    trace = daemon.start_trace("ctype", name="ctype-trace")

    response = httpx.post(
        f"{daemon.url}/v1/services/ctype/traces/{trace['name']}/events",
        content=b'{"client_name": "a", "trace_events": []}',
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 415
    assert response.json() == {
        "message": "The request body must be JSON, sent with 'Content-Type: "
        "application/json'; got 'text/plain'."
    }


def test_long_poll_needs_a_json_content_type(daemon: DaemonProcess) -> None:
    response = httpx.post(f"{daemon.url}/v1/services/ctype/middleware", content=b"{}")

    assert response.status_code == 415
    assert "got 'no content type'" in response.json()["message"]


def test_events_for_an_unknown_service_are_404(daemon: DaemonProcess) -> None:
    response = _events(daemon, "nobody-knows", "some-trace", [witness()])

    assert response.status_code == 404
    assert response.json() == {
        "message": "No service named 'nobody-knows' is known to this daemon: "
        "start a trace for it first (akita trace start SERVICE)."
    }


def test_events_for_an_unknown_trace_are_404(daemon: DaemonProcess) -> None:
    daemon.start_trace("known", name="known-trace")

    response = _events(daemon, "known", "other-trace", [witness()])

    assert response.status_code == 404
    assert response.json() == {
        "message": "Service 'known' has no active trace named 'other-trace'; it "
        "may have ended. Ask the daemon for the active traces again."
    }


def test_events_are_accepted_by_trace_name_or_id(daemon: DaemonProcess) -> None:
    trace = daemon.start_trace("accept", name="accept-trace")

    by_name = _events(daemon, "accept", "accept-trace", [witness(), witness()])
    by_id = _events(daemon, "accept", trace["trace_id"], [witness()])

    assert by_name.status_code == 202
    assert by_name.json() == {"accepted": 2, "trace_id": trace["trace_id"]}
    assert by_id.status_code == 202
    shown = daemon.get("/v1/local/traces/accept-trace").json()
    assert shown["witnesses"] == 3
    assert shown["clients"] == {"web-1": {"events": 3, "no_more_events": False}}
    spool = daemon.data_dir / "traces" / trace["trace_id"] / "witnesses.jsonl"
    lines = spool.read_bytes().splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first["_akita"] == {
        "v": 1,
        "service": "accept",
        "middleware": "web-1",
        "trace": "accept-trace",
        "obfuscated": True,
    }
    assert first["response"]["content"]["text"] == '{"id":0}'
    assert first["request"]["url"] == "http://testserver/api/items/0"


def test_malformed_bodies_are_400_with_the_problem_named(
    daemon: DaemonProcess,
) -> None:
    daemon.start_trace("bad", name="bad-trace")
    broken = witness()
    del broken["response"]["status"]
    cases = [
        (b"{not json", "The request body is not valid JSON: "),
        (b"[1, 2]", "The request body must be a JSON object, not an array."),
        (
            b'{"trace_events": []}',
            "The field 'client_name' must be a non-empty string naming the "
            "middleware, not None.",
        ),
        (
            b'{"client_name": "a", "trace_events": {}}',
            "The field 'trace_events' must be an array of HAR entries, not an object.",
        ),
        (
            b'{"client_name": "a", "trace_events": [], "no_more_events": "yes"}',
            "The field 'no_more_events' must be true or false, not 'yes'.",
        ),
        (
            json.dumps({"client_name": "a", "trace_events": [witness(), 5]}).encode(),
            "trace_events[1] must be a HAR entry (a JSON object), not a number.",
        ),
        (
            json.dumps({"client_name": "a", "trace_events": [broken]}).encode(),
            "trace_events[0].response.status must be an integer, not None.",
        ),
    ]

    for body, message in cases:
        response = httpx.post(
            f"{daemon.url}/v1/services/bad/traces/bad-trace/events",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, body
        assert response.json()["message"].startswith(message), body

    assert daemon.get("/v1/local/traces/bad-trace").json()["witnesses"] == 0


def test_a_body_over_the_limit_is_413(daemon: DaemonProcess) -> None:
    daemon.start_trace("big", name="big-trace")
    huge = witness(response_body=json.dumps({"text": "x" * 250_000}))

    declared = _events(daemon, "big", "big-trace", [huge])

    def chunks() -> object:
        yield b'{"client_name": "a", "trace_events": ['
        for _ in range(30):
            yield json.dumps(witness(response_body="y" * 10_000)).encode() + b","
        yield b"{}]}"

    streamed = httpx.post(
        f"{daemon.url}/v1/services/big/traces/big-trace/events",
        content=chunks(),  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
    )

    assert declared.status_code == 413
    assert declared.json()["message"].endswith(
        "more than the limit of 200000; send smaller batches."
    )
    assert streamed.status_code == 413
    assert streamed.json() == {
        "message": "The request body is more than the limit of 200000 bytes; "
        "send smaller batches."
    }


def test_a_full_buffer_is_422_with_the_drop_count(daemon: DaemonProcess) -> None:
    daemon.start_trace("full", name="full-trace")

    too_many = _events(daemon, "full", "full-trace", [witness()] * 51)
    again = _events(daemon, "full", "full-trace", [witness()] * 60)
    fits = _events(daemon, "full", "full-trace", [witness()] * 50)

    assert too_many.status_code == 422
    assert too_many.json() == {
        "message": "The buffer of trace 'full-trace' is full: 51 witnesses were "
        "dropped. Send smaller batches or more slowly.",
        "dropped": 51,
        "dropped_total": 51,
    }
    assert again.json()["dropped_total"] == 111
    assert fits.status_code == 202
    shown = daemon.get("/v1/local/traces/full-trace").json()
    assert (shown["witnesses"], shown["dropped"]) == (50, 111)


def test_long_poll_answers_at_once_when_the_sets_differ(
    daemon: DaemonProcess,
) -> None:
    trace = daemon.start_trace("poll-diff", name="poll-diff-trace")

    started = time.monotonic()
    response = daemon.post(
        "/v1/services/poll-diff/middleware",
        {"client_name": "web-2", "active_trace_ids": ["lrn_gone"]},
    )

    assert time.monotonic() - started < 1.0
    assert response.status_code == 202
    assert response.json() == {
        "activated_traces": [
            {
                "trace_name": "poll-diff-trace",
                "trace_id": trace["trace_id"],
                "service_id": "poll-diff",
                "sampling_rate": 1.0,
                "sample_rate": 1.0,
                "filter_third_party_trackers": True,
            }
        ],
        "deactivated_traces": ["lrn_gone"],
    }


def test_long_poll_holds_then_times_out_with_empty_lists(
    daemon: DaemonProcess,
) -> None:
    trace = daemon.start_trace("poll-hold", name="poll-hold-trace")

    started = time.monotonic()
    response = daemon.post(
        "/v1/services/poll-hold/middleware",
        {"client_name": "web-3", "active_trace_ids": [trace["trace_id"]]},
    )
    waited = time.monotonic() - started

    assert 1.4 <= waited < 3.0
    assert response.status_code == 202
    assert response.json() == {"activated_traces": [], "deactivated_traces": []}


def test_long_poll_wakes_when_a_trace_starts_or_stops(
    daemon: DaemonProcess,
) -> None:
    answers: list[tuple[float, dict[str, object]]] = []

    def poll(active: list[str]) -> None:
        started = time.monotonic()
        response = daemon.post(
            "/v1/services/poll-wake/middleware",
            {"client_name": "web-4", "active_trace_ids": active},
        )
        answers.append((time.monotonic() - started, response.json()))

    waiter = threading.Thread(target=poll, args=([],))
    waiter.start()
    time.sleep(0.3)
    trace = daemon.start_trace("poll-wake", name="poll-wake-trace")
    waiter.join(timeout=5)

    waiter = threading.Thread(target=poll, args=([trace["trace_id"]],))
    waiter.start()
    time.sleep(0.3)
    daemon.post("/v1/local/traces/poll-wake-trace/stop")
    waiter.join(timeout=5)

    (first_wait, first), (second_wait, second) = answers
    assert 0.25 <= first_wait < 1.2
    assert [t["trace_name"] for t in first["activated_traces"]] == [  # type: ignore[union-attr]
        "poll-wake-trace"
    ]
    assert 0.25 <= second_wait < 1.2
    assert second == {"activated_traces": [], "deactivated_traces": [trace["trace_id"]]}


def test_the_daemon_records_the_middleware_it_has_seen(
    daemon: DaemonProcess,
) -> None:
    for client in ("web-b", "web-a"):
        daemon.post(
            "/v1/services/seen/middleware",
            {"client_name": client, "active_trace_ids": ["lrn_x"]},
        )

    services = daemon.get("/v1/local/services").json()["services"]

    assert {"name": "seen", "middleware": ["web-a", "web-b"], "active_traces": []} in (
        services
    )


def test_long_poll_body_errors_are_400(daemon: DaemonProcess) -> None:
    response = daemon.post(
        "/v1/services/x/middleware",
        {"client_name": "web", "active_trace_ids": "lrn_a"},
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "The field 'active_trace_ids' must be an array of trace id "
        "strings, not 'lrn_a'."
    }


def test_a_stopped_trace_ends_when_its_clients_say_no_more_events(
    daemon: DaemonProcess,
) -> None:
    daemon.start_trace("ending", name="ending-trace")
    assert _events(daemon, "ending", "ending-trace", [witness()]).status_code == 202
    daemon.post("/v1/local/traces/ending-trace/stop")

    late = _events(daemon, "ending", "ending-trace", [witness()], no_more_events=True)
    done = daemon.wait_for_state("ending-trace", "done", timeout=5)
    after = _events(daemon, "ending", "ending-trace", [witness()])

    assert late.status_code == 202
    assert done["witnesses"] == 2
    assert done["clients"] == {"web-1": {"events": 2, "no_more_events": True}}
    assert after.status_code == 404


def test_trace_ids_have_the_documented_shape(daemon: DaemonProcess) -> None:
    ids = {daemon.start_trace("ids")["trace_id"] for _ in range(5)}

    assert len(ids) == 5
    assert all(TRACE_ID_PATTERN.fullmatch(trace_id) for trace_id in ids)


def test_worker_processes_give_the_same_answers(tmp_path: Path) -> None:
    daemon = DaemonProcess(tmp_path / "data", "--workers", "1", "--no-build").start()
    try:
        trace = daemon.start_trace("workers", name="workers-trace")
        raw = witness("/api/items/7", body='{"name": "Ada", "n": 3}')
        accepted = _events(daemon, "workers", "workers-trace", [raw])
        refused = _events(daemon, "workers", "workers-trace", [raw, "x"])
        assert daemon.process is not None
        children = psutil.Process(daemon.process.pid).children(recursive=True)
    finally:
        daemon.stop()

    # The worker pool's processes end with the daemon's graceful stop.
    assert "Application shutdown complete" in daemon.log()
    assert children
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []

    assert accepted.status_code == 202
    assert refused.status_code == 400
    assert refused.json() == {
        "message": "trace_events[1] must be a HAR entry (a JSON object), not a string."
    }
    spool = tmp_path / "data" / "traces" / trace["trace_id"] / "witnesses.jsonl"
    assert spool.read_bytes() == b"".join(
        spool_lines([raw], "workers", "web-1", "workers-trace")
    )
