"""Django test clients that record every request into a trace file.

``Client`` and ``AsyncClient`` behave as Django's own and also append the
witness of each request and response to ``trace_path`` (by default a new
``akita-trace-<timestamp>-<pid>.jsonl`` in the working directory)::

    with Client(trace_path="trace.jsonl") as client:
        client.get("/api/articles/")
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import django.test

from akita_django.recorder import (
    Stopwatch,
    TraceWriter,
    capture_fields,
    default_trace_path,
    record_exchange,
)


class _Recording:
    """What the recording clients share: their trace file."""

    _akita_writer: TraceWriter

    def _start_recording(
        self,
        trace_path: str | os.PathLike[str] | None,
        writer: TraceWriter | None,
    ) -> None:
        if writer is not None and trace_path is not None:
            raise ValueError(
                "Give a recording client trace_path or writer, not both: "
                f"trace_path={trace_path!r}."
            )
        self._akita_writer = writer or TraceWriter(trace_path or default_trace_path())

    def _record(self, response: Any, stopwatch: Stopwatch) -> None:
        record_exchange(self._akita_writer, response, stopwatch, capture_fields())

    @property
    def trace_path(self) -> Path:
        """The trace file this client appends to."""
        return self._akita_writer.path

    @property
    def recorded(self) -> int:
        """How many witnesses were written to the trace file."""
        return self._akita_writer.count

    def openapi(self, service: str | None = None) -> dict[str, Any]:
        """Build the API model of what was recorded so far; return OpenAPI."""
        from akita_model.build import build_files

        document: dict[str, Any] = build_files(
            [self.trace_path], service=service
        ).openapi
        return document

    def close(self) -> None:
        """Close the trace file."""
        self._akita_writer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Client(_Recording, django.test.Client):  # type: ignore[misc]
    """A ``django.test.Client`` that records each exchange as a witness."""

    def __init__(
        self,
        *args: Any,
        trace_path: str | os.PathLike[str] | None = None,
        writer: TraceWriter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._start_recording(trace_path, writer)

    def request(self, **request: Any) -> Any:
        """Make a request through Django and record it."""
        stopwatch = Stopwatch()
        response = super().request(**request)
        self._record(response, stopwatch)
        return response


class AsyncClient(_Recording, django.test.AsyncClient):  # type: ignore[misc]
    """A ``django.test.AsyncClient`` that records each exchange as a witness."""

    def __init__(
        self,
        *args: Any,
        trace_path: str | os.PathLike[str] | None = None,
        writer: TraceWriter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._start_recording(trace_path, writer)

    async def request(self, **request: Any) -> Any:
        """Make a request through Django and record it."""
        stopwatch = Stopwatch()
        response = await super().request(**request)
        self._record(response, stopwatch)
        return response
