"""Keep each trace's witnesses on disk, durably, before they are acknowledged.

A trace lives in a folder of its own under the data directory::

    traces/<trace id>/trace.json        the trace's metadata and state
    traces/<trace id>/witnesses.jsonl   obfuscated witnesses, one a line
    traces/<trace id>/model.yaml        the model, once the trace has ended
    traces/<trace id>/report.html       the report, likewise

Witnesses are appended in batches and flushed (``os.fsync``) before the
request that brought them is answered, so a crash, even ``SIGKILL`` or a
power cut, loses nothing that was acknowledged. Batches that arrive while
a flush is running are written together by the next one (group commit), so
concurrent clients share the cost of a flush.

A crash in the middle of a write can leave a torn last line, one that was
never acknowledged. Opening a spool cuts it off; reading one skips it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from akita_daemon.errors import SpoolError

logger = logging.getLogger(__name__)

WITNESSES_FILE = "witnesses.jsonl"
METADATA_FILE = "trace.json"


class BufferFull(Exception):
    """A batch does not fit in what a trace may hold unflushed."""

    def __init__(self, dropped: int) -> None:
        super().__init__(f"{dropped} witnesses dropped")
        self.dropped = dropped


def fsync_directory(folder: Path) -> None:
    """Flush a directory, so that a file just created or renamed in it stays."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_json_atomically(path: Path, document: Any) -> None:
    """Write a JSON document so that a reader sees the old one or the new one.

    The document goes to a temporary file, which is flushed and renamed over
    the old one; the directory is flushed too.
    """
    temporary = path.with_name(path.name + ".tmp")
    data = json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"
    with open(temporary, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


def _cut_torn_tail(path: Path) -> int:
    """Cut a last line that has no newline off the file; return lines kept."""
    lines = 0
    with open(path, "r+b") as stream:
        good_end = 0
        for line in stream:
            if not line.endswith(b"\n"):
                break
            lines += 1
            good_end += len(line)
        size = stream.seek(0, os.SEEK_END)
        if size != good_end:
            logger.warning(
                "Cutting %d bytes of a torn last line off %s.", size - good_end, path
            )
            stream.truncate(good_end)
            stream.flush()
            os.fsync(stream.fileno())
    return lines


class TraceSpool:
    """The file of one trace's witnesses, opened for appending."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / WITNESSES_FILE
        self.lines = 0
        self._descriptor: int | None = None

    def open(self) -> None:
        """Open the spool for appending, repairing a torn last line first."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                self.lines = _cut_torn_tail(self.path)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
            self._descriptor = os.open(self.path, flags, 0o600)
            fsync_directory(self.folder)
        except OSError as exc:
            raise SpoolError(
                f"The spool {str(self.path)!r} cannot be opened: {exc}. Check that "
                "the data directory is writable."
            ) from exc

    def append(self, data: bytes, lines: int) -> None:
        """Append whole lines and flush them to disk before returning."""
        if self._descriptor is None:
            raise SpoolError(f"The spool {str(self.path)!r} is not open.")

        try:
            view = memoryview(data)
            while view:
                written = os.write(self._descriptor, view)
                view = view[written:]
            os.fdatasync(self._descriptor)
        except OSError as exc:
            raise SpoolError(
                f"Witnesses could not be written to {str(self.path)!r}: {exc}."
            ) from exc
        self.lines += lines

    def close(self) -> None:
        """Close the file; everything appended is already on disk."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


class SpoolWriter:
    """Group-commit batches of witnesses to a spool from the event loop.

    At most ``capacity`` witnesses wait for a flush at any time; a batch that
    would go past that is refused whole with :class:`BufferFull`.
    """

    def __init__(self, spool: TraceSpool, capacity: int) -> None:
        self.spool = spool
        self.capacity = capacity
        self.pending = 0
        self._queue: list[tuple[bytes, int, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, data: bytes, count: int) -> None:
        """Write ``count`` whole lines; return once they are on disk."""
        if self.pending + count > self.capacity:
            raise BufferFull(count)

        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((data, count, future))
        self.pending += count
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        await future

    async def _flush_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            data = b"".join(item[0] for item in batch)
            count = sum(item[1] for item in batch)
            try:
                await asyncio.to_thread(self.spool.append, data, count)
            except SpoolError as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, _, future in batch:
                    if not future.done():
                        future.set_result(None)
            finally:
                self.pending -= count

    async def drain(self) -> None:
        """Wait until every batch handed over so far is on disk."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)


def read_witnesses(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the witnesses of a spool file, skipping a torn or bad line."""
    with open(path, "rb") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.endswith(b"\n"):
                logger.warning("Skipping the torn last line %d of %s.", number, path)
                return
            try:
                witness = orjson.loads(line)
            except orjson.JSONDecodeError:
                logger.warning("Skipping line %d of %s: not JSON.", number, path)
                continue
            if isinstance(witness, dict):
                yield witness
