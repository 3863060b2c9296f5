"""End to end: the example app under gunicorn with AkitaMiddleware, the daemon,
``akita trace``, real traffic, and the model the daemon builds."""

from __future__ import annotations

import base64
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.daemon.daemon_process import (
    REPOSITORY,
    DaemonProcess,
    free_port,
    run_trace,
    serving,
)

ALICE = "6f1d2c3b-4a59-4e8f-9b7a-0c1d2e3f4a5b"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[DaemonProcess, str]]:
    daemon = DaemonProcess(
        tmp_path / "data", "--quiet-grace", "1.5", "--long-poll-timeout", "3"
    ).start()
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "AKITA_DEMO_CAPTURE": "1",
        "AKITA_DAEMON_HOST": daemon.address,
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "1",
        "--threads",
        "4",
        "--bind",
        f"127.0.0.1:{port}",
        "akita_django.demoapp.wsgi:application",
    ]
    try:
        with serving(
            command, port=port, probe="/api/health/", env=env, cwd=tmp_path
        ) as url:
            yield daemon, url
    finally:
        daemon.stop()


def _trace(daemon: DaemonProcess, *args: str) -> str:
    return run_trace(daemon.address, *args)


def _traffic(url: str) -> int:
    basic = base64.b64encode(b"bob:builder").decode()
    with httpx.Client(base_url=url, timeout=10) as client:
        responses = [
            client.get("/api/articles/", params={"page": 1}),
            client.get("/api/articles/how-to-train/"),
            client.get("/api/articles/no-such-article/"),
            client.get("/api/articles/how-to-train/comments/"),
            client.get("/api/articles/how-to-train/comments/1/"),
            client.get(f"/api/users/{ALICE}/"),
            client.get("/api/stats/2024/"),
            client.post(
                "/api/session/", data={"username": "bob", "password": "builder"}
            ),
            client.get("/api/me/"),
            client.post("/api/tokens/", headers={"Authorization": f"Basic {basic}"}),
        ]
    assert [r.status_code for r in responses[:3]] == [200, 200, 404]
    return len(responses)


@pytest.mark.slow
def test_the_example_app_through_the_daemon(
    demo: tuple[DaemonProcess, str],
) -> None:
    daemon, url = demo
    _trace(daemon, "start", "django-demo", "--name", "e2e-trace", "--hours", "1")

    # Until the middleware's long poll brings it the trace, nothing is taken.
    deadline = time.monotonic() + 20
    warm_up = 0
    while daemon.get("/v1/local/traces/e2e-trace").json()["witnesses"] == 0:
        assert time.monotonic() < deadline, "no witness arrived"
        httpx.get(f"{url}/api/health/", timeout=5)
        warm_up += 1
        time.sleep(0.2)
    before = daemon.get("/v1/local/traces/e2e-trace").json()["witnesses"]
    sent = _traffic(url)
    deadline = time.monotonic() + 20
    while daemon.get("/v1/local/traces/e2e-trace").json()["witnesses"] < before + sent:
        assert time.monotonic() < deadline, "the witnesses did not all arrive"
        time.sleep(0.1)

    _trace(daemon, "stop", "e2e-trace")
    trace = daemon.wait_for_state("e2e-trace", "done", timeout=30)

    assert trace["witnesses"] == before + sent
    assert list(trace["clients"]) == ["demo-web-1"]
    folder = daemon.data_dir / "traces" / trace["trace_id"]
    model = yaml.safe_load((folder / "model.yaml").read_text())
    assert {
        "/api/articles",
        "/api/articles/{slug}",
        "/api/articles/{slug}/comments",
        "/api/articles/{slug}/comments/{pk}",
        "/api/users/{user_id}",
        "/api/stats/{year}",
        "/api/session",
        "/api/me",
        "/api/tokens",
        "/api/health",
    } <= set(model["paths"])
    detail = model["paths"]["/api/articles/{slug}"]["get"]
    assert sorted(detail["responses"]) == ["200", "404"]
    assert {"basicAuth", "sessionCookie_sessionid"} <= set(
        model["components"]["securitySchemes"]
    )
    assert (folder / "report.html").stat().st_size > 0
