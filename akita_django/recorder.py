"""Append witnesses of test requests to a trace file as they happen.

Each witness is written as one JSON line and flushed at once, so that a
test run that fails or is killed keeps every witness recorded before.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from akita_django.conf import read_max_body_bytes
from akita_django.witness import build_witness

logger = logging.getLogger(__name__)


def default_trace_path() -> Path:
    """Return a fresh trace file name in the working directory."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return Path.cwd() / f"akita-trace-{stamp}-{os.getpid()}.jsonl"


class TraceWriter:
    """A trace file that witnesses are appended to, safe across threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def write(self, witness: dict[str, Any]) -> None:
        """Append one witness and flush it to the file."""
        line = json.dumps(witness, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line + "\n")
            self._file.flush()
            self.count += 1

    def close(self) -> None:
        """Close the file; a later write opens it again."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Stopwatch:
    """When a request started, by the wall clock and a monotonic one."""

    def __init__(self) -> None:
        self.started = datetime.now(UTC)
        self._clock = time.perf_counter()

    def elapsed_ms(self) -> float:
        """Return the milliseconds since the start."""
        return (time.perf_counter() - self._clock) * 1000


def record_exchange(
    writer: TraceWriter,
    response: HttpResponseBase,
    stopwatch: Stopwatch,
    akita: dict[str, Any],
) -> None:
    """Write the witness of a test client's response and its request."""
    request: HttpRequest | None = getattr(response, "wsgi_request", None) or getattr(
        response, "asgi_request", None
    )
    if request is None:
        logger.warning("akita: a test response without its request was not recorded")
        return
    witness = build_witness(
        request,
        response,
        started=stopwatch.started,
        elapsed_ms=stopwatch.elapsed_ms(),
        max_body_bytes=read_max_body_bytes(),
        akita=akita,
    )
    writer.write(witness)


def capture_fields() -> dict[str, Any]:
    """Return the ``_akita`` fields of witnesses recorded in tests."""
    from django.conf import settings

    fields: dict[str, Any] = {"middleware": "akita_django.test"}
    service = getattr(settings, "AKITA_SERVICE_NAME", None)
    if isinstance(service, str) and service:
        fields["service"] = service
    return fields
