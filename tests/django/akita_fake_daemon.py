"""A daemon on 127.0.0.1 that speaks the middleware's side of the protocol.

It keeps the active traces of one service, holds long polls until they
change, and records every events call. Tests switch its answers to errors,
garbage or a stall, to see the middleware cope.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOLD_SECONDS = 2.0


@dataclass
class EventsCall:
    """One events call as the daemon received it."""

    trace_name: str
    content_type: str
    body: dict[str, Any]


@dataclass
class DaemonState:
    """What the daemon knows and how it answers."""

    traces: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[EventsCall] = field(default_factory=list)
    polls: int = 0
    poll_garbage: int = 0
    events_status: int = 202
    events_gate: threading.Event | None = None
    # Seconds after which an idle connection is closed, as uvicorn does.
    idle_timeout: float | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        self.timeout = self.server.state.idle_timeout
        super().setup()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        parts = self.path.strip("/").split("/")
        state = self.server.state
        if len(parts) == 4 and parts[3] == "middleware":
            self._poll(state, body)
        elif len(parts) == 6 and parts[5] == "events":
            self._events(state, parts[4], body)
        else:
            self._answer(404, b'{"message": "no such route"}')

    def _poll(self, state: DaemonState, body: dict[str, Any]) -> None:
        with state.changed:
            state.polls += 1
            if state.poll_garbage > 0:
                state.poll_garbage -= 1
                self._answer(200, b"<html>not json</html>")
                return
            deadline = time.monotonic() + HOLD_SECONDS
            known = set(body.get("active_trace_ids", []))
            while set(state.traces) == known:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                state.changed.wait(left)
            active = dict(state.traces)
        answer = {
            "activated_traces": [t for i, t in active.items() if i not in known],
            "deactivated_traces": sorted(known - set(active)),
        }
        self._answer(202, json.dumps(answer).encode())

    def _events(
        self, state: DaemonState, trace_name: str, body: dict[str, Any]
    ) -> None:
        with state.changed:
            state.events.append(
                EventsCall(trace_name, self.headers.get("Content-Type", ""), body)
            )
            gate = state.events_gate
        if gate is not None:
            gate.wait(10)
        status = state.events_status
        dropped = len(body.get("trace_events", []))
        self._answer(status, json.dumps({"dropped": dropped}).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: DaemonState


class FakeDaemon:
    """The fake daemon, serving from a thread on a free port."""

    def __init__(self) -> None:
        self.state = DaemonState()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-daemon", daemon=True
        )
        self._thread.start()

    def activate(self, trace_id: str, name: str, sampling_rate: float = 1.0) -> None:
        """Make a trace active; held polls answer at once."""
        with self.state.changed:
            self.state.traces[trace_id] = {
                "trace_name": name,
                "trace_id": trace_id,
                "service_id": "svc_demo",
                "sampling_rate": sampling_rate,
                "filter_third_party_trackers": False,
            }
            self.state.changed.notify_all()

    def deactivate(self, trace_id: str) -> None:
        """End a trace."""
        with self.state.changed:
            del self.state.traces[trace_id]
            self.state.changed.notify_all()

    def witnesses(self) -> list[dict[str, Any]]:
        """Return every witness received, in order."""
        with self.state.changed:
            calls = list(self.state.events)
        return [w for call in calls for w in call.body["trace_events"]]

    def close(self) -> None:
        """Stop serving and free the port."""
        with self.state.changed:
            self.state.traces.clear()
            self.state.changed.notify_all()
        if self.state.events_gate is not None:
            self.state.events_gate.set()
        self._server.shutdown()
        self._server.server_close()
