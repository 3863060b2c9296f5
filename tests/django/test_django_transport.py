"""DaemonConnection against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from akita_django.exceptions import DaemonTimeoutError
from akita_django.transport import Answer, DaemonConnection


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        # The socket timeout closes a connection left idle, as uvicorn does
        # after its keep-alive timeout.
        self.timeout = self.server.idle_timeout
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.requests.append((self.path, self.headers["Content-Type"], body))
        time.sleep(self.server.delay)
        answer = b'{"seen":' + str(len(body)).encode() + b"}"
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if self.server.is_closing:
            self.send_header("Connection", "close")
        try:
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):
            # A client that timed out has gone.
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    idle_timeout: float | None = None
    delay = 0.0
    status = 202
    is_closing = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[tuple[str, str, bytes]] = []


@pytest.fixture
def server() -> Iterator[_Server]:
    instance = _Server()
    thread = threading.Thread(
        target=instance.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield instance
    instance.shutdown()
    instance.server_close()


def url(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_calls_share_one_connection(server: _Server) -> None:
    with DaemonConnection(url(server), read_timeout=5.0) as connection:
        answers = [connection.post(f"/v1/{n}", b'{"n":%d}' % n) for n in range(5)]

    assert answers == [Answer(202, b'{"seen":7}')] * 5
    assert server.connections == 1
    assert server.requests == [
        (f"/v1/{n}", "application/json", b'{"n":%d}' % n) for n in range(5)
    ]


def test_a_connection_the_server_closed_while_idle_is_replaced(
    server: _Server,
) -> None:
    server.idle_timeout = 0.1
    with DaemonConnection(url(server), read_timeout=5.0) as connection:
        first = connection.post("/v1/a", b"{}")
        time.sleep(0.4)
        second = connection.post("/v1/b", b"{}")

    assert (first.status, second.status) == (202, 202)
    assert server.connections == 2
    assert [path for path, _, _ in server.requests] == ["/v1/a", "/v1/b"]


def test_an_answer_that_closes_the_connection_is_followed_by_a_new_one(
    server: _Server,
) -> None:
    server.is_closing = True
    with DaemonConnection(url(server), read_timeout=5.0) as connection:
        statuses = [connection.post("/v1/a", b"{}").status for _ in range(3)]

    assert statuses == [202, 202, 202]
    assert server.connections == 3


def test_error_statuses_are_answers(server: _Server) -> None:
    server.status = 500
    with DaemonConnection(url(server), read_timeout=5.0) as connection:
        answer = connection.post("/v1/a", b"[1]")

    assert answer == Answer(500, b'{"seen":3}')


def test_a_slow_answer_times_out_and_the_next_call_reconnects(
    server: _Server,
) -> None:
    server.delay = 0.5
    with DaemonConnection(url(server), read_timeout=0.1) as connection:
        with pytest.raises(DaemonTimeoutError) as error:
            connection.post("/v1/slow", b"{}")
        server.delay = 0.0
        answer = connection.post("/v1/fast", b"{}")

    assert str(error.value) == "The daemon did not answer within 0.1 s."
    assert answer.status == 202
    assert server.connections == 2


def test_a_daemon_that_is_down_raises_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with DaemonConnection(f"http://127.0.0.1:{port}", read_timeout=1.0) as connection:
        with pytest.raises(ConnectionRefusedError):
            connection.post("/v1/a", b"{}")
