"""Stream witnesses out of trace files.

A trace is ``trace.jsonl`` (one HAR entry a line), the same gzipped
(``.jsonl.gz``), or a whole HAR document (``.har``, also gzipped), whose
entries are streamed from ``log.entries`` without loading the document (a
document written one entry a line is read a line at a time, which is three
times as fast). Memory stays flat whatever the number of witnesses.

A bad entry never stops the reading: it is skipped, counted by reason and,
for the first few, kept as a ``Problem`` naming its line. A file that is
missing or unreadable raises ``TraceError``.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import zlib
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import ijson
import orjson
from mypy_extensions import mypyc_attr

from akita_model.errors import EntryError, TraceError
from akita_model.witness import Witness, parse_entry

logger = logging.getLogger(__name__)

MAX_PROBLEMS = 20

_GZIP_MAGIC = b"\x1f\x8b"

# The first line, the end and the white space of a HAR document written one
# entry a line (see _har_lines).
_HAR_HEAD = re.compile(
    rb'[ \t\r\n]*\{[ \t\r\n]*"log"[ \t\r\n]*:[ \t\r\n]*\{.*"entries"[ \t\r\n]*:'
    rb"[ \t\r\n]*\[[ \t\r]*\n",
    re.DOTALL,
)
_HAR_TAIL = re.compile(rb"[ \t\r\n]*\][ \t\r\n]*\}[ \t\r\n]*\}[ \t\r\n]*")
_JSON_SPACE = b" \t\r\n"
_MAX_HAR_HEAD = 64 * 1024
_MAX_HAR_TAIL = 64


# Pickled between processes: a plain class, so that unpickling sets frozen
# fields the way dataclasses allow.
@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class Problem:
    """One skipped entry: where it was and why it was skipped.

    ``line`` is the line number in a JSONL trace; in a HAR document, whose
    entries have no lines of their own, it is the entry's ordinal (from 1)
    and ``is_entry_number`` is true.
    """

    path: str
    line: int
    reason: str
    message: str
    is_entry_number: bool = False

    def __str__(self) -> str:
        where = "entry" if self.is_entry_number else "line"
        return f"{self.path}, {where} {self.line}: {self.message} ({self.reason})"


@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class HarLayout:
    """What a range of lines of a HAR document showed of its layout.

    The layout is ``_har_line_texts``'s: one entry a line, each but the last
    followed by a comma, then the document's end. ``is_broken``: a line in
    the range leaves it. ``starts_with_end``: the range's first line is the
    document's end. ``ends_open``: the range's last entry is followed by a
    comma. ``has_end``: the range holds the document's end.
    """

    is_broken: bool = False
    starts_with_end: bool = False
    ends_open: bool = False
    has_end: bool = False


class TraceReader:
    """Iterate over the witnesses of one or more trace files.

    Iterating reads the files in order, once. Afterwards ``witnesses`` is the
    number of witnesses read, ``skipped`` counts the skipped entries by
    reason and ``problems`` keeps the first ``MAX_PROBLEMS`` of them.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        self.paths = [Path(path) for path in paths]
        self.witnesses = 0
        self.skipped: Counter[str] = Counter()
        self.problems: list[Problem] = []
        self._range: tuple[int, int] | None = None
        self.har_layout: HarLayout | None = None
        self.range_lines = 0

    def __iter__(self) -> Iterator[Witness]:
        for path in self.paths:
            yield from self._read_file(path)

    def skip(self, path: Path, line: int, error: EntryError, is_har: bool) -> None:
        """Count a skipped entry and keep it if it is among the first."""
        self.skipped[error.reason] += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                Problem(str(path), line, error.reason, str(error), is_har)
            )

    def _open(self, path: Path, stack: ExitStack) -> IO[bytes]:
        try:
            raw = stack.enter_context(path.open("rb"))
        except FileNotFoundError:
            raise TraceError(
                f"The trace {str(path)!r} does not exist; check the path."
            ) from None
        except IsADirectoryError:
            raise TraceError(
                f"The trace {str(path)!r} is a directory; give a .jsonl or .har file."
            ) from None
        except OSError as exc:
            raise TraceError(
                f"The trace {str(path)!r} cannot be read: {exc.strerror}."
            ) from None

        if raw.peek(2)[:2] == _GZIP_MAGIC:
            return cast(
                IO[bytes], stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
            )
        return raw

    @contextmanager
    def _reading(self, path: Path, is_har: bool) -> Iterator[IO[bytes]]:
        with ExitStack() as stack:
            stream = self._open(path, stack)
            try:
                yield stream
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                self.skip(
                    path,
                    0,
                    EntryError(
                        "truncated",
                        f"The compressed file is cut off or corrupt: {exc}.",
                    ),
                    is_har,
                )
            except OSError as exc:
                raise TraceError(
                    f"The trace {str(path)!r} cannot be read: {exc}."
                ) from None
        logger.debug("read %s", path)

    def _read_file(self, path: Path) -> Iterator[Witness]:
        name = path.name.lower()
        is_har = name.endswith(".har") or name.endswith(".har.gz")
        with self._reading(path, is_har) as stream:
            if is_har and self._range is not None:
                yield from self._read_har_range(path, stream, *self._range)
            elif is_har:
                yield from self._read_har(path, stream)
            elif self._range is not None:
                start, end = self._range
                stream.seek(start)
                yield from self._read_jsonl(path, stream, end - start)
            else:
                yield from self._read_jsonl(path, stream)

    def har_entries(self) -> Iterator[tuple[Path, int, Any]]:
        """Yield (path, entry number, entry) of HAR documents, not yet parsed.

        Documents cut off or not JSON are counted as iterating counts them;
        the caller parses the entries and calls ``skip`` for bad ones.
        """
        for path in self.paths:
            with self._reading(path, True) as stream:
                for number, entry in self._har_entries(path, stream):
                    yield path, number, entry

    def _read_jsonl(
        self,
        path: Path,
        stream: IO[bytes],
        size: int | None = None,
    ) -> Iterator[Witness]:
        for line_number, line in _numbered_lines(stream, size):
            self.range_lines = line_number
            if line.isspace():
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                reason = "not-json" if line.endswith(b"\n") else "truncated"
                message = (
                    "The line is not JSON."
                    if reason == "not-json"
                    else "The last line is cut off before its end."
                )
                self.skip(path, line_number, EntryError(reason, message), False)
                continue
            try:
                witness = parse_entry(entry)
            except EntryError as error:
                self.skip(path, line_number, error, False)
                continue
            self.witnesses += 1
            yield witness

    def _read_har_range(
        self, path: Path, stream: IO[bytes], start: int, end: int
    ) -> Iterator[Witness]:
        # The lines that start in [start, end) of a document written one
        # entry a line, numbered from 1 as entries. Stop at the first line
        # that leaves the layout: the caller then reads the whole document
        # again with a parser of the whole.
        stream.seek(start)
        expects_entry = True
        is_first = True
        for number, line in _numbered_lines(stream, end - start):
            self.range_lines = number
            text = line.rstrip(_JSON_SPACE)
            if not text.startswith(b"{"):
                rest = line + stream.read(_MAX_HAR_TAIL)
                is_end = len(rest) <= _MAX_HAR_TAIL and bool(_HAR_TAIL.fullmatch(rest))
                if is_end and (is_first or not expects_entry):
                    self.har_layout = HarLayout(starts_with_end=is_first, has_end=True)
                else:
                    self.har_layout = HarLayout(is_broken=True)
                return
            if not expects_entry:
                self.har_layout = HarLayout(is_broken=True)
                return
            is_first = False
            expects_entry = text.endswith(b",")
            try:
                entry = orjson.loads(text[:-1] if expects_entry else text)
            except orjson.JSONDecodeError:
                self.har_layout = HarLayout(is_broken=True)
                return
            try:
                witness = parse_entry(entry)
            except EntryError as error:
                self.skip(path, number, error, True)
                continue
            self.witnesses += 1
            yield witness
        self.har_layout = HarLayout(ends_open=expects_entry)

    def _har_entries(self, path: Path, stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
        entry_number = 0
        if not isinstance(stream, gzip.GzipFile):
            lines = _har_lines(stream)
            try:
                while True:
                    entry = next(lines)
                    entry_number += 1
                    yield entry_number, entry
            except StopIteration as stop:
                if stop.value:
                    return
            # The layout is not one entry a line after all: parse the whole
            # document again, passing over the entries already given.
            stream.seek(0)

        skip = entry_number
        entry_number = 0
        entries: Iterator[Any] = ijson.items(stream, "log.entries.item", use_float=True)
        try:
            for entry in entries:
                entry_number += 1
                if entry_number > skip:
                    yield entry_number, entry
        except ijson.IncompleteJSONError:
            self.skip(
                path,
                entry_number + 1,
                EntryError(
                    "truncated", "The HAR document is cut off; its end is lost."
                ),
                True,
            )
        except ijson.JSONError:
            self.skip(
                path,
                entry_number + 1,
                EntryError("not-json", "The HAR document is not valid JSON here."),
                True,
            )

    def _read_har(self, path: Path, stream: IO[bytes]) -> Iterator[Witness]:
        for entry_number, entry in self._har_entries(path, stream):
            try:
                witness = parse_entry(entry)
            except EntryError as error:
                self.skip(path, entry_number, error, True)
                continue
            self.witnesses += 1
            yield witness


def _numbered_lines(stream: IO[bytes], size: int | None) -> Iterator[tuple[int, bytes]]:
    """Yield (number, line) for the lines that start in the next ``size`` bytes.

    Numbers start at 1, and ``size`` None reads to the end. A range of lines
    ends with the last line that starts inside it, as
    ``parallel.split_ranges`` cuts them.
    """
    remaining = size
    for number, line in enumerate(stream, start=1):
        if remaining is not None:
            if remaining <= 0:
                return
            remaining -= len(line)
        yield number, line


def _is_har_head(line: bytes) -> bool:
    # One "entries" and no escapes: the array opened at the end of the line
    # is then the only one whose items are log.entries.
    if b"\\" in line or line.count(b'"entries"') != 1 or not _HAR_HEAD.fullmatch(line):
        return False
    try:
        document = orjson.loads(line + b"]}}")
    except orjson.JSONDecodeError:
        return False
    return type(document) is dict and len(document) == 1


def _har_line_texts(stream: IO[bytes]) -> Generator[bytes, None, bool]:
    """Yield the texts of the entries of a HAR document written one a line.

    Tools that stream HAR documents write them so: the document up to
    ``"entries": [`` on the first line, then each entry on a line of its own
    followed by a comma but the last, then ``]}}``. Return True when the
    document had that layout to its end, False on the first line that
    breaks it. Each text is checked only to start an object: the caller
    parses it and, if it is not JSON, the layout is broken there too.
    """
    if not _is_har_head(stream.readline(_MAX_HAR_HEAD)):
        return False

    expects_entry = True
    for line in stream:
        if not expects_entry:
            rest = line + stream.read(_MAX_HAR_TAIL)
            return len(rest) <= _MAX_HAR_TAIL and _HAR_TAIL.fullmatch(rest) is not None
        text = line.rstrip(_JSON_SPACE)
        expects_entry = text.endswith(b",")
        if expects_entry:
            text = text[:-1]
        if not text.startswith(b"{"):
            return False
        yield text
    return False


def _har_lines(stream: IO[bytes]) -> Generator[Any, None, bool]:
    """Yield the entries of a HAR document written one entry a line.

    Parsing each line whole costs a third of parsing the document event by
    event. Return as ``_har_line_texts`` does, having yielded only entries
    that a parser of the whole document yields too, so that the caller can
    parse it again from where the layout broke.
    """
    texts = _har_line_texts(stream)
    while True:
        try:
            text = next(texts)
        except StopIteration as stop:
            return bool(stop.value)
        try:
            entry = orjson.loads(text)
        except orjson.JSONDecodeError:
            return False
        yield entry


def har_head_size(path: str | os.PathLike[str]) -> int | None:
    """Return the size of a HAR document's first line, if it has the layout.

    None when the document is compressed, cannot be read, or its first line
    is not the head of a document written one entry a line.
    """
    try:
        with open(path, "rb") as stream:
            line = stream.readline(_MAX_HAR_HEAD)
    except OSError:
        return None
    if line.startswith(_GZIP_MAGIC) or not _is_har_head(line):
        return None
    return len(line)


def read_trace_range(path: str | os.PathLike[str], start: int, end: int) -> TraceReader:
    """Return a reader of the lines that start in ``[start, end)``.

    ``start`` is the offset of a line's first byte. Problems number lines
    (or a HAR document's entries) from 1 at the range's first line, and
    after reading ``range_lines`` is the number of lines read, so that the
    caller, knowing the lines before the range, can number them in the
    file. A HAR document's range is read as lines of one entry each, after
    the document's first line, and ``har_layout`` then tells what the range
    showed of the layout.
    """
    reader = TraceReader([path])
    reader._range = (start, end)
    return reader


def read_trace(paths: Iterable[str | os.PathLike[str]]) -> TraceReader:
    """Return a reader that streams the witnesses of the given trace files.

    Raises (while iterating):
        TraceError: a file is missing or cannot be read.
    """
    return TraceReader(paths)
