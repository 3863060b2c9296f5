"""AkitaMiddleware in gunicorn workers forked from a preloaded application."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from akita_fake_daemon import FakeDaemon

REPOSITORY = Path(__file__).resolve().parents[2]
TRACE_ID = "lrn_6EjLU2sINbfKRwmqeqQM8s"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.fixture
def daemon() -> Iterator[FakeDaemon]:
    fake = FakeDaemon()
    fake.activate(TRACE_ID, "preloaded-trace")
    yield fake
    fake.close()


def _wait_until_serving(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            get(port, "/api/health/")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
def test_preloaded_workers_capture_and_flush_at_shutdown(
    daemon: FakeDaemon, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "AKITA_DEMO_CAPTURE": "1",
        "AKITA_DAEMON_HOST": daemon.host,
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--preload",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--control-socket",
            str(tmp_path / "gunicorn.sock"),
            "akita_django.demoapp.wsgi:application",
        ],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_serving(port)
        # Each worker starts its threads on its first request, then learns
        # of the active trace from the daemon.
        deadline = time.monotonic() + 10
        while len(daemon.witnesses()) < 4 and time.monotonic() < deadline:
            get(port, "/api/articles/?probe=1")
            time.sleep(0.05)
        before = len(daemon.witnesses())
        statuses = [get(port, f"/api/articles/?page={n % 2 + 1}") for n in range(40)]
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)

    assert statuses == [200] * 40
    assert before >= 4
    urls = [w["request"]["url"] for w in daemon.witnesses()]
    page_urls = [u for u in urls if "?page=" in u]
    assert len(page_urls) == 40, stderr
    assert {w["_akita"]["trace"] for w in daemon.witnesses()} == {"preloaded-trace"}
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_asgi_server_requests_are_captured(daemon: FakeDaemon, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "AKITA_DEMO_CAPTURE": "1",
        "AKITA_DAEMON_HOST": daemon.host,
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
            "akita_django.demoapp.asgi:application",
        ],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_serving(port)
        deadline = time.monotonic() + 10
        while not daemon.witnesses() and time.monotonic() < deadline:
            get(port, "/api/health/")
            time.sleep(0.05)
        status = get(port, "/api/articles/how-to-train/comments/1/")
        # uvicorn dies by SIGTERM once it has shut down, so no atexit handler
        # runs: give the sender the moment it needs after a request.
        time.sleep(0.3)
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)

    assert status == 200
    routes = [w["_akita"].get("route") for w in daemon.witnesses()]
    assert routes[-1] == "api/articles/<slug:slug>/comments/<int:pk>/", stderr
    last = daemon.witnesses()[-1]
    assert last["request"]["url"] == (
        f"http://127.0.0.1:{port}/api/articles/how-to-train/comments/1/"
    )
    assert last["response"]["content"]["text"].startswith('{"id": 1,')
