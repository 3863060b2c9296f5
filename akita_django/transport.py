"""Post JSON to the Akita daemon over one keep-alive connection.

The poller and the sender each hold one ``DaemonConnection``: the standard
library's ``http.client`` on a socket that stays open from one call to the
next. A call through it costs the application's process about a third of
the CPU time of a call through httpx, and the sender makes several a second
while a trace is active.

A connection is opened on first use and again after anything went wrong
with it: a call that raises closes it, so that the next call never reads
the rest of an earlier answer. An idle connection that the daemon closed
(servers drop keep-alive connections after a few seconds of silence) is
noticed before it is used and replaced; only a close that races with the
call itself makes the call fail, and the caller's retry goes out on a new
connection.
"""

from __future__ import annotations

import http.client
import select
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from akita_django.exceptions import DaemonTimeoutError

CONNECT_TIMEOUT = 5.0
_HEADERS = {"Content-Type": "application/json", "User-Agent": "akita-django"}


@dataclass(frozen=True, slots=True)
class Answer:
    """The daemon's answer to one call."""

    status: int
    body: bytes


def _is_readable(sock: socket.socket) -> bool:
    """Return whether a socket has bytes (or its end) waiting to be read."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class DaemonConnection:
    """One keep-alive HTTP/1.1 connection to the daemon.

    Not thread-safe: each thread that talks to the daemon holds its own.
    """

    def __init__(self, base_url: str, read_timeout: float) -> None:
        parts = urlsplit(base_url)
        self._is_https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._read_timeout = read_timeout
        self._connection: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes) -> Answer:
        """Post a JSON body to ``path`` and return the daemon's answer.

        Raises:
            DaemonTimeoutError: the daemon took the request but did not
                answer within the read timeout.
            OSError, http.client.HTTPException: the daemon could not be
                reached, or broke the connection or the protocol.
        """
        connection = self._connection
        if connection is None or self._is_stale(connection):
            self.close()
            connection = self._connection = self._open()

        try:
            connection.request("POST", path, body, _HEADERS)
            try:
                response = connection.getresponse()
                data = response.read()
            except TimeoutError as exc:
                raise DaemonTimeoutError(
                    f"The daemon did not answer within {self._read_timeout:g} s."
                ) from exc
        except BaseException:
            self.close()
            raise

        if response.will_close:
            self.close()
        return Answer(response.status, data)

    def close(self) -> None:
        """Close the socket, if one is open."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def __enter__(self) -> DaemonConnection:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _open(self) -> http.client.HTTPConnection:
        kind = (
            http.client.HTTPSConnection
            if self._is_https
            else http.client.HTTPConnection
        )
        connection = kind(self._host, self._port, timeout=CONNECT_TIMEOUT)
        connection.connect()
        # Connecting waits CONNECT_TIMEOUT; an answer may take longer, as a
        # long poll does.
        connection.sock.settimeout(self._read_timeout)
        return connection

    @staticmethod
    def _is_stale(connection: http.client.HTTPConnection) -> bool:
        # http.client drops the socket of an answer that said it would
        # close; an idle socket that can be read was closed by the daemon.
        sock = connection.sock
        return sock is None or _is_readable(sock)
