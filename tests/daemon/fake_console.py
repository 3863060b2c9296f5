"""A small console that follows docs/console-protocol.md, for the tests.

It runs under uvicorn in a thread of the test process, on 127.0.0.1, and
records everything the daemon sends it.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.daemon.daemon_process import DaemonProcess, free_port

HOLD_SECONDS = 1.0


@dataclass
class Upload:
    service: str
    trace_id: str
    artefact: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeConsole:
    key_id: str = "key-id-1"
    key_secret: str = "key-secret-1"
    services: set[str] = field(default_factory=lambda: {"shop"})
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    polls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    attempts: list[tuple[str, int]] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    active: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    fail_next_uploads: int = 0
    store_then_fail_next: int = 0
    unauthorized: int = 0

    def __post_init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # Control from the test.

    def activate(self, service: str, trace_id: str, name: str) -> None:
        options = {
            "trace_name": name,
            "trace_id": trace_id,
            "service_id": service,
            "sampling_rate": 1.0,
            "filter_third_party_trackers": True,
        }
        self.active.setdefault(service, {})[trace_id] = options
        self._notify()

    def deactivate(self, service: str, trace_id: str) -> None:
        self.active.get(service, {}).pop(trace_id, None)
        self._notify()

    def _notify(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("the console did not see what the test waited for")

    # The protocol.

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.key_id}:{self.key_secret}".encode())
        ok = request.headers.get("authorization") == "Basic " + expected.decode()
        if not ok:
            self.unauthorized += 1
        return ok

    async def _heartbeat(self, request: Request) -> Response:
        body = await request.body()
        self.raw_bodies.append(body)
        if not self._authorized(request):
            return JSONResponse({"message": "Unknown API key."}, 401)
        self.heartbeats.append(await request.json())
        return JSONResponse({}, 200)

    async def _daemon_poll(self, request: Request) -> Response:
        body = await request.body()
        self.raw_bodies.append(body)
        if not self._authorized(request):
            return JSONResponse({"message": "Unknown API key."}, 401)
        service = request.path_params["service"]
        document = await request.json()
        self.polls.append((service, document))
        if service not in self.services:
            return JSONResponse(
                {"message": f"The console has no project named {service!r}."}, 404
            )

        deadline = time.monotonic() + HOLD_SECONDS
        while True:
            known = set(document["active_trace_ids"])
            active = self.active.get(service, {})
            if known != set(active):
                return JSONResponse(
                    {
                        "activated_traces": [
                            options
                            for tid, options in active.items()
                            if tid not in known
                        ],
                        "deactivated_traces": sorted(known - set(active)),
                    },
                    200,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return JSONResponse({"activated_traces": [], "deactivated_traces": []})
            assert self._changed is not None
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def _upload(self, request: Request) -> Response:
        raw = await request.body()
        self.raw_bodies.append(raw)
        if not self._authorized(request):
            return JSONResponse({"message": "Unknown API key."}, 401)
        key = request.headers.get("idempotency-key", "")
        if self.fail_next_uploads:
            self.fail_next_uploads -= 1
            self.attempts.append((key, 503))
            return JSONResponse({"message": "Try again later."}, 503)

        body = raw
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(raw)
        status = 200 if key in self.uploads else 201
        self.uploads.setdefault(
            key,
            Upload(
                request.path_params["service"],
                request.path_params["trace_id"],
                request.path_params["artefact"],
                dict(request.headers),
                body,
            ),
        )
        if self.store_then_fail_next:
            self.store_then_fail_next -= 1
            status = 502
        self.attempts.append((key, status))
        return JSONResponse({"stored": key}, status)

    # Running.

    def start(self) -> FakeConsole:
        app = Starlette(
            routes=[
                Route("/v1/daemon/heartbeat", self._heartbeat, methods=["POST"]),
                Route(
                    "/v1/services/{service}/daemon", self._daemon_poll, methods=["POST"]
                ),
                Route(
                    "/v1/services/{service}/traces/{trace_id}/{artefact}",
                    self._upload,
                    methods=["PUT"],
                ),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._changed = asyncio.Event()
            assert self._server is not None
            self._loop.run_until_complete(self._server.serve())

        self._thread = threading.Thread(target=run, name="fake-console", daemon=True)
        self._thread.start()
        self.wait_for(lambda: self._server is not None and self._server.started, 10)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def console_daemon(
    data_dir: Path, console: FakeConsole, *options: str, name: str
) -> DaemonProcess:
    """Start a daemon in console mode against ``console``, with short timings."""
    return DaemonProcess(
        data_dir,
        "--heartbeat-interval",
        "0.3",
        "--quiet-grace",
        "0.5",
        "--upload-backoff",
        "0.1",
        *options,
        name=name,
        env={
            "AKITA_CONSOLE_URL": console.url,
            "AKITA_API_KEY_ID": console.key_id,
            "AKITA_API_KEY_SECRET": console.key_secret,
        },
    ).start()
