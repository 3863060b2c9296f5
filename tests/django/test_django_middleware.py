"""AkitaMiddleware against a fake daemon on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from akita_fake_daemon import FakeDaemon
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings

from akita_django import middleware as middleware_module
from akita_django import sender
from akita_django.middleware import AkitaMiddleware

TRACE_ID = "lrn_6EjLU2sINbfKRwmqeqQM8s"
TRACE_NAME = "powder-blue-panda-338"
MIDDLEWARE = [
    "akita_django.middleware.AkitaMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.01)


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDaemon]:
    monkeypatch.setattr(sender, "BACKOFF_INITIAL", 0.05)
    monkeypatch.setattr(sender, "BACKOFF_MAX", 0.2)
    monkeypatch.setattr(sender, "MIN_POLL_INTERVAL", 0.05)
    fake = FakeDaemon()
    yield fake
    sender.shutdown_all(timeout=1.0)
    fake.close()


def captured_client(host: str, **settings: Any) -> tuple[Client, Any]:
    overrides = override_settings(
        MIDDLEWARE=MIDDLEWARE, AKITA_DAEMON_HOST=host, **settings
    )
    overrides.enable()
    client = Client()
    client.get("/api/health/")
    return client, overrides


@pytest.fixture
def capture(daemon: FakeDaemon) -> Iterator[Callable[..., Client]]:
    enabled: list[Any] = []

    def make(**settings: Any) -> Client:
        client, overrides = captured_client(daemon.host, **settings)
        enabled.append(overrides)
        return client

    yield make
    for overrides in enabled:
        overrides.disable()


def the_link() -> sender.DaemonLink:
    links = list(sender._links.values())
    assert len(links) == 1
    return links[0]


def test_missing_service_name_says_what_to_add() -> None:
    with override_settings():
        from django.conf import settings

        del settings.AKITA_SERVICE_NAME
        with pytest.raises(ImproperlyConfigured) as error:
            AkitaMiddleware(lambda request: HttpResponse())
    assert "Add AKITA_SERVICE_NAME = 'your-service' to your Django settings" in str(
        error.value
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "AKITA_MAX_QUEUE_LEN",
            "10",
            "The setting AKITA_MAX_QUEUE_LEN must be an integer of at least 1, "
            "not '10'.",
        ),
        (
            "AKITA_MAX_BODY_BYTES",
            True,
            "The setting AKITA_MAX_BODY_BYTES must be an integer of at least 0, "
            "not True.",
        ),
        (
            "AKITA_DAEMON_HOST",
            "localhost",
            "The setting AKITA_DAEMON_HOST must be host:port, such as "
            "'localhost:50080', not 'localhost'.",
        ),
        (
            "AKITA_MIDDLEWARE_NAME",
            "",
            "The setting AKITA_MIDDLEWARE_NAME must be a non-empty string, not ''. "
            "Set it to a name such as 'my-service'.",
        ),
    ],
)
def test_bad_settings_name_the_setting_and_value(
    name: str, value: Any, message: str
) -> None:
    with override_settings(**{name: value}):
        with pytest.raises(ImproperlyConfigured) as error:
            AkitaMiddleware(lambda request: HttpResponse())
    assert str(error.value) == message


def test_idle_middleware_converts_nothing(
    daemon: FakeDaemon,
    capture: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = capture()
    wait_for(lambda: daemon.state.polls >= 1)
    conversions: list[object] = []
    monkeypatch.setattr(
        middleware_module, "capture_exchange", lambda *a, **k: conversions.append(a)
    )

    statuses = [client.get("/api/articles/").status_code for _ in range(20)]

    assert statuses == [200] * 20
    assert the_link().idle is True
    assert conversions == []
    assert daemon.witnesses() == []


def test_activation_batches_and_deactivation(
    daemon: FakeDaemon,
    capture: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="akita_django")
    client = capture()
    gate = daemon.state.events_gate = threading.Event()
    daemon.activate(TRACE_ID, TRACE_NAME)
    wait_for(lambda: the_link().idle is False)

    client.get("/api/articles/how-to-train/")
    wait_for(lambda: len(daemon.state.events) == 1)
    for page in range(2, 31):
        client.get(f"/api/articles/?page={page % 3 + 1}")
    gate.set()
    wait_for(lambda: len(daemon.witnesses()) == 30)

    calls = daemon.state.events
    assert [len(call.body["trace_events"]) for call in calls] == [1, 29]
    assert {call.trace_name for call in calls} == {TRACE_NAME}
    assert {call.content_type for call in calls} == {"application/json"}
    assert calls[0].body["client_name"] == "demo-web-1"
    assert calls[0].body["no_more_events"] is False
    first = daemon.witnesses()[0]
    assert first["request"]["url"] == "http://testserver/api/articles/how-to-train/"
    assert first["response"]["status"] == 200
    assert first["_akita"] == {
        "v": 1,
        "route": "api/articles/<slug:slug>/",
        "service": "django-demo",
        "middleware": "demo-web-1",
        "obfuscated": False,
        "trace": TRACE_NAME,
    }

    daemon.deactivate(TRACE_ID)
    wait_for(lambda: the_link().idle is True)
    client.get("/api/articles/")
    time.sleep(0.2)

    assert len(daemon.witnesses()) == 30
    messages = [
        r.getMessage() for r in caplog.records if r.name == "akita_django.sender"
    ]
    assert f"akita_middleware: Activating trace {TRACE_NAME} ({TRACE_ID})" in messages
    assert f"akita_middleware: Deactivating trace {TRACE_NAME} ({TRACE_ID})" in messages


def test_full_queue_drops_and_counts_while_the_daemon_stalls(
    daemon: FakeDaemon, capture: Callable[..., Client]
) -> None:
    client = capture(AKITA_MAX_QUEUE_LEN=5)
    gate = daemon.state.events_gate = threading.Event()
    daemon.activate(TRACE_ID, TRACE_NAME)
    wait_for(lambda: the_link().idle is False)
    client.get("/api/health/")
    wait_for(lambda: len(daemon.state.events) == 1)

    started = time.perf_counter()
    statuses = [client.get("/api/health/").status_code for _ in range(20)]
    elapsed = time.perf_counter() - started
    gate.set()
    wait_for(lambda: len(daemon.witnesses()) == 6)

    assert statuses == [200] * 20
    assert elapsed < 1.0
    link = the_link()
    assert link.dropped == 15
    wait_for(lambda: link.sent == 6)


def test_daemon_buffer_full_counts_rejected_witnesses(
    daemon: FakeDaemon, capture: Callable[..., Client]
) -> None:
    daemon.state.events_status = 422
    client = capture()
    daemon.activate(TRACE_ID, TRACE_NAME)
    wait_for(lambda: the_link().idle is False)

    client.get("/api/health/")
    wait_for(lambda: the_link().rejected == 1)

    assert len(daemon.state.events) == 1
    assert the_link().sent == 0


def test_witnesses_go_on_after_the_daemon_closes_an_idle_connection(
    daemon: FakeDaemon,
    capture: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    daemon.state.idle_timeout = 0.1
    client = capture()
    daemon.activate(TRACE_ID, TRACE_NAME)
    wait_for(lambda: the_link().idle is False)

    client.get("/api/health/")
    wait_for(lambda: len(daemon.witnesses()) == 1)
    time.sleep(0.4)
    client.get("/api/articles/")
    wait_for(lambda: len(daemon.witnesses()) == 2)

    link = the_link()
    wait_for(lambda: link.sent == 2)
    assert [w["request"]["url"] for w in daemon.witnesses()] == [
        "http://testserver/api/health/",
        "http://testserver/api/articles/",
    ]
    assert len(daemon.state.events) == 2
    assert link.rejected == 0
    assert [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    ] == []


@pytest.mark.parametrize(
    ("settings", "request_options", "url"),
    [
        ({}, {"secure": True}, "https://testserver/api/health/?probe=1"),
        (
            {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")},
            {"headers": {"X-Forwarded-Proto": "https"}},
            # The test client's SERVER_PORT is 80, not https's default.
            "https://testserver:80/api/health/?probe=1",
        ),
    ],
)
def test_the_scheme_is_the_one_django_sees(
    daemon: FakeDaemon,
    capture: Callable[..., Client],
    settings: dict[str, Any],
    request_options: dict[str, Any],
    url: str,
) -> None:
    client = capture(**settings)
    daemon.activate(TRACE_ID, TRACE_NAME)
    wait_for(lambda: the_link().idle is False)

    client.get("/api/health/?probe=1", **request_options)
    client.get("/api/health/")
    wait_for(lambda: len(daemon.witnesses()) == 2)

    assert [w["request"]["url"] for w in daemon.witnesses()] == [
        url,
        "http://testserver/api/health/",
    ]


def test_daemon_errors_are_retried_then_dropped(
    daemon: FakeDaemon,
    capture: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    daemon.state.events_status = 500
    client = capture()
    daemon.activate(TRACE_ID, TRACE_NAME)
    wait_for(lambda: the_link().idle is False)

    assert client.get("/api/health/").status_code == 200
    wait_for(lambda: the_link().rejected == 1)

    assert len(daemon.state.events) == sender.SEND_ATTEMPTS
    assert any(
        "did not take 1 witnesses of trace powder-blue-panda-338 (status 500)"
        in r.getMessage()
        for r in caplog.records
    )


def test_garbage_answers_are_retried_with_backoff_and_logged_once(
    daemon: FakeDaemon,
    capture: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    daemon.state.poll_garbage = 4
    daemon.activate(TRACE_ID, TRACE_NAME)
    client = capture()

    wait_for(lambda: the_link().idle is False)
    client.get("/api/health/")
    wait_for(lambda: len(daemon.witnesses()) == 1)

    assert daemon.state.polls >= 5
    warnings = [
        r.getMessage()
        for r in caplog.records
        if "cannot get the active traces" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert "an answer that is not JSON" in warnings[0]


def test_daemon_down_leaves_requests_fast(caplog: pytest.LogCaptureFixture) -> None:
    closed = FakeDaemon()
    host = closed.host
    closed.close()
    client, overrides = captured_client(host)
    try:
        started = time.perf_counter()
        statuses = [client.get("/api/articles/").status_code for _ in range(30)]
        elapsed = time.perf_counter() - started
        wait_for(
            lambda: any(
                "cannot get the active traces" in r.getMessage() for r in caplog.records
            )
        )
    finally:
        overrides.disable()
        sender.shutdown_all(timeout=0.5)

    assert statuses == [200] * 30
    assert elapsed < 1.5


def test_sampling_rate_is_honoured(
    daemon: FakeDaemon, capture: Callable[..., Client]
) -> None:
    client = capture()
    daemon.activate(TRACE_ID, TRACE_NAME, sampling_rate=0.25)
    daemon.activate("lrn_none000000000000000000", "never-sampled", sampling_rate=0.0)
    wait_for(lambda: len(the_link().traces) == 2)

    random.seed(1234)
    for _ in range(80):
        client.get("/api/health/")
    random.seed(1234)
    expected = sum(random.random() < 0.25 for _ in range(80))
    wait_for(lambda: len(daemon.witnesses()) == expected)
    time.sleep(0.1)

    assert len(daemon.witnesses()) == expected
    assert 5 < expected < 35
    assert {call.trace_name for call in daemon.state.events} == {TRACE_NAME}


def test_internal_failure_is_logged_and_swallowed(
    daemon: FakeDaemon,
    capture: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = capture()
    daemon.activate(TRACE_ID, TRACE_NAME)
    wait_for(lambda: the_link().idle is False)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("converter bug")

    monkeypatch.setattr(middleware_module, "capture_exchange", broken)
    response = client.get("/api/articles/how-to-train/")

    assert response.status_code == 200
    assert response.json()["slug"] == "how-to-train"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "akita_middleware: cannot capture GET /api/articles/how-to-train/"
    ]
    assert errors[0].exc_info is not None


def test_asgi_requests_are_captured(daemon: FakeDaemon) -> None:
    get_response_calls: list[HttpRequest] = []

    async def get_response(request: HttpRequest) -> HttpResponse:
        get_response_calls.append(request)
        return HttpResponse("{}", content_type="application/json")

    with override_settings(AKITA_DAEMON_HOST=daemon.host):
        instance = AkitaMiddleware(get_response)
        assert asyncio.iscoroutinefunction(instance)
        with override_settings(MIDDLEWARE=MIDDLEWARE):
            client = AsyncClient()
            asyncio.run(client.get("/api/health/"))
            daemon.activate(TRACE_ID, TRACE_NAME)
            wait_for(lambda: the_link().idle is False)
            response = asyncio.run(client.post("/api/session/", {"username": "x"}))

    wait_for(lambda: len(daemon.witnesses()) == 1)
    assert response.status_code == 401
    witness = daemon.witnesses()[0]
    assert witness["request"]["method"] == "POST"
    assert witness["request"]["postData"]["mimeType"].startswith("multipart/form-data")
    assert witness["response"]["status"] == 401
    assert witness["_akita"]["route"] == "api/session/"


def test_forked_worker_starts_its_own_threads(
    daemon: FakeDaemon, capture: Callable[..., Client]
) -> None:
    client = capture()
    daemon.activate(TRACE_ID, TRACE_NAME)
    wait_for(lambda: the_link().idle is False)
    parent_threads = list(the_link()._threads)

    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            link = the_link()
            is_reset = link.idle is False and link.traces == ()
            wait_for(lambda: client.get("/api/articles/?from=child") and not link.idle)
            client.get("/api/articles/?from=child")
            sender.shutdown_all(timeout=3.0)
            status = 0 if is_reset else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    urls = [w["request"]["url"] for w in daemon.witnesses()]
    assert urls[-1] == "http://testserver/api/articles/?from=child"
    assert the_link()._threads == parent_threads
