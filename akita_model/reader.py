"""Stream witnesses out of trace files.

A trace is ``trace.jsonl`` (one HAR entry a line), the same gzipped
(``.jsonl.gz``), or a whole HAR document (``.har``, also gzipped), whose
entries are streamed from ``log.entries`` without loading the document (a
document whose entries each start a line, written one entry a line or
indented as browsers export it, is read entry by entry, which is three
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
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson
from mypy_extensions import mypyc_attr

from akita_model.errors import EntryError, TraceError
from akita_model.witness import Witness, decode_entry, parse_entry

logger = logging.getLogger(__name__)

MAX_PROBLEMS = 20

_GZIP_MAGIC = b"\x1f\x8b"
# Windows tools start UTF-8 text with a byte order mark, which a JSON parser
# may ignore (RFC 8259, section 8.1): the reader passes over it.
_UTF8_BOM = b"\xef\xbb\xbf"

# The head, the opening of the entries, the end and the white space of a
# HAR document whose entries each start a line (see _har_entry_texts).
_HAR_HEAD = re.compile(
    rb'[ \t\r\n]*\{[ \t\r\n]*"log"[ \t\r\n]*:[ \t\r\n]*\{.*"entries"[ \t\r\n]*:'
    rb"[ \t\r\n]*\[[ \t\r]*\n",
    re.DOTALL,
)
_HAR_START = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"log"[ \t\r\n]*:')
_HAR_ENTRIES = re.compile(rb'"entries"[ \t\r\n]*:[ \t\r\n]*\[[ \t\r]*\n')
_HAR_TAIL = re.compile(rb"[ \t\r\n]*\][ \t\r\n]*\}[ \t\r\n]*\}[ \t\r\n]*\Z")
_JSON_SPACE = frozenset(b" \t\r\n")
_COMMA = ord(",")
_LINE_ENTRY_MARKER = b"\n{"
# Browsers list the pages of a capture before its entries: a long capture
# has a long head.
_MAX_HAR_HEAD = 1 << 20
_HAR_HEAD_STEP = 64 * 1024
_MAX_HAR_TAIL = 64
_BLOCK = 1 << 20
# How much of a file's start tells a HAR document from JSON Lines.
_SNIFF_SIZE = 4096


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
    """What a range of a HAR document showed of its layout.

    The layout is ``_har_entry_texts``'s: after the head, each entry starts
    on a line of its own at the indentation of the first one. ``is_broken``:
    the range leaves the layout. ``starts_inside``: the range's first lines
    are the end of an entry that starts before it. ``has_end``: the range
    holds the document's end.
    """

    is_broken: bool = False
    starts_inside: bool = False
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
                _check_encoding(path, stream)
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
        is_har = _is_har_name(path)
        with self._reading(path, is_har) as stream:
            # A HAR document saved under another name is read as one.
            is_har = is_har or starts_as_har(cast(Any, stream).peek(_SNIFF_SIZE))
            if is_har and self._range is not None:
                yield from self._read_har_range(path, stream, *self._range)
            elif is_har:
                yield from self._read_har(path, stream)
            elif self._range is not None:
                start, end = self._range
                stream.seek(start)
                if start == 0:
                    _skip_bom(stream)
                yield from self._read_jsonl(path, stream, end - stream.tell())
            else:
                _skip_bom(stream)
                yield from self._read_jsonl(path, stream)

    def har_entries(self) -> Iterator[tuple[Path, int, Any]]:
        """Yield (path, entry number, entry) of HAR documents, not yet parsed.

        Documents cut off or not JSON are counted as iterating counts them;
        the caller parses the entries and calls ``skip`` for bad ones.
        """
        for path in self.paths:
            with self._reading(path, True) as stream:
                # Whole entries: they may be handed on as JSON.
                for number, entry in self._har_entries(path, stream, orjson.loads):
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
                entry = decode_entry(line)
            except orjson.JSONDecodeError:
                reason = "not-json" if line.endswith(b"\n") else "truncated"
                message = (
                    "The line is not JSON."
                    if reason == "not-json"
                    else "The last line is cut off before its end."
                )
                self.skip(path, line_number, EntryError(reason, message), False)
                continue
            witness = self._witness(path, line_number, entry, False)
            if witness is not None:
                yield witness

    def _witness(
        self, path: Path, number: int, entry: Any, is_har: bool
    ) -> Witness | None:
        # The witness of a parsed entry, counted; or None, the entry skipped.
        try:
            witness = parse_entry(entry)
        except EntryError as error:
            self.skip(path, number, error, is_har)
            return None
        self.witnesses += 1
        return witness

    def _read_har_range(
        self, path: Path, stream: IO[bytes], start: int, end: int
    ) -> Iterator[Witness]:
        # The entries whose first line starts in [start, end), numbered from
        # 1. Stop where the range leaves the layout: the caller then reads
        # the whole document again with a parser of the whole.
        _skip_bom(stream)
        head = _read_har_head(stream)
        if head is None:
            self.har_layout = HarLayout(is_broken=True)
            return
        stream.seek(start)
        entries = _parsed_entries(
            _har_entry_texts(stream, end - start, head[1]), decode_entry
        )
        number = 0
        while True:
            try:
                entry = next(entries)
            except StopIteration as stop:
                self.har_layout = cast(HarLayout, stop.value)
                return
            number += 1
            self.range_lines = number
            witness = self._witness(path, number, entry, True)
            if witness is not None:
                yield witness

    def _har_entries(
        self, path: Path, stream: IO[bytes], decode: Callable[[bytes], Any]
    ) -> Iterator[tuple[int, Any]]:
        # ``decode`` decodes the entries of the layout: orjson.loads, or
        # decode_entry for entries that go to parse_entry only.
        entry_number = 0
        _skip_bom(stream)
        if not isinstance(stream, gzip.GzipFile):
            entries = _har_layout_entries(stream, decode)
            try:
                while True:
                    entry = next(entries)
                    entry_number += 1
                    yield entry_number, entry
            except StopIteration as stop:
                if stop.value:
                    return
            # The document leaves the layout after all: parse it whole again,
            # passing over the entries already given.
            stream.seek(0)
            _skip_bom(stream)

        # Imported here: most documents keep the layout, and ijson (with the
        # decimal module it loads) is a good part of the start of a build.
        import ijson

        skip = entry_number
        entry_number = 0
        items: Iterator[Any] = ijson.items(stream, "log.entries.item", use_float=True)
        try:
            for entry in items:
                entry_number += 1
                if entry_number > skip:
                    yield entry_number, entry
        except ijson.JSONError as exc:
            self.skip(path, entry_number + 1, _document_error(exc), True)

    def _read_har(self, path: Path, stream: IO[bytes]) -> Iterator[Witness]:
        for entry_number, entry in self._har_entries(path, stream, decode_entry):
            witness = self._witness(path, entry_number, entry, True)
            if witness is not None:
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


def _is_har_head(head: bytes) -> bool:
    # One "entries" and no escapes: the array opened at the head's end is
    # then the only one whose items are log.entries.
    if b"\\" in head or head.count(b'"entries"') != 1 or not _HAR_HEAD.fullmatch(head):
        return False
    try:
        document = orjson.loads(head + b"]}}")
    except orjson.JSONDecodeError:
        return False
    return type(document) is dict and len(document) == 1


def _read_har_head(stream: IO[bytes]) -> tuple[int, bytes] | None:
    """Read a HAR document's head: where it ends and how its entries open.

    The stream is at the document's start. The head is the document up to
    the line break after ``"entries": [``; the opening is the first entry's
    indentation and its ``{``. None when the document does not start so.
    The stream is left after the head.
    """
    start = stream.tell()
    # Most heads are short: read a step at a time, and stop once the first
    # "entries" is followed by its line break and the first entry's start.
    block = b""
    found: re.Match[bytes] | None = None
    while len(block) < _MAX_HAR_HEAD:
        more = stream.read(min(_HAR_HEAD_STEP, _MAX_HAR_HEAD - len(block)))
        block += more
        found = _HAR_ENTRIES.search(block)
        if not more or (
            found is not None
            and found.start() == block.find(b'"entries"')
            and block[found.end() :].strip(b" \t")
        ):
            break
    if found is None or not _is_har_head(block[: found.end()]):
        return None
    first = block[found.end() :]
    indent = len(first) - len(first.lstrip(b" \t"))
    if first[indent : indent + 1] != b"{":
        return None
    stream.seek(start + found.end())
    return start + found.end(), first[: indent + 1]


def _document_error(error: Exception) -> EntryError:
    """Say what a parser of the whole HAR document met, as a skip reason.

    yajl, ijson's C parser, reports every error as an incomplete document;
    its message tells an early end from the rest.
    """
    text = str(error)
    if "premature EOF" in text or "Incomplete or empty" in text:
        return EntryError("truncated", "The HAR document is cut off; its end is lost.")
    if "trailing garbage" in text or "Additional data" in text:
        return EntryError(
            "not-json",
            "The HAR document goes on after its end: a .har file holds one JSON "
            "document (a trace of one entry a line is read as such when its "
            "name ends in .jsonl).",
        )
    return EntryError("not-json", "The HAR document is not valid JSON here.")


# Byte order marks of the encodings a JSON text may not be in, longest first.
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _check_encoding(path: Path, stream: IO[bytes]) -> None:
    """Raise ``TraceError`` for a trace that starts as UTF-16 or UTF-32 text."""
    first: bytes = cast(Any, stream).peek(4)[:4]
    for mark, encoding in _OTHER_BOMS:
        if first.startswith(mark):
            raise TraceError(
                f"The trace {str(path)!r} is {encoding} text; traces are UTF-8: "
                f"convert it first, for example with iconv -f {encoding} -t UTF-8."
            )


def _is_har_name(path: str | os.PathLike[str]) -> bool:
    return str(path).lower().endswith((".har", ".har.gz"))


def starts_as_har(start: bytes) -> bool:
    """Tell whether a file's first bytes open a HAR document (``{"log":``)."""
    if start.startswith(_UTF8_BOM):
        start = start[len(_UTF8_BOM) :]
    return _HAR_START.match(start) is not None


def is_har_document(path: str | os.PathLike[str]) -> bool:
    """Tell whether a trace is a HAR document: by its name, else its start.

    A ``.har`` or ``.har.gz`` name says so; a file of another name (an
    export saved as ``.json``) that opens as ``{"log":`` is one too.
    """
    if _is_har_name(path):
        return True
    try:
        with open(path, "rb") as raw:
            if raw.read(2) != _GZIP_MAGIC:
                raw.seek(0)
                return starts_as_har(raw.read(_SNIFF_SIZE))
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return starts_as_har(stream.read(_SNIFF_SIZE))
    except (OSError, EOFError, zlib.error):
        return False


def _skip_bom(stream: IO[bytes]) -> None:
    """Pass over a UTF-8 byte order mark at the stream's position, if any."""
    start = stream.tell()
    if stream.read(len(_UTF8_BOM)) != _UTF8_BOM:
        stream.seek(start)


def _find_marker(buffer: bytes, marker: bytes, search: int) -> int:
    # buffer.find(marker, search). A document of one entry a line has a line
    # break only between entries, and the search for one byte is several
    # times faster than for two; an indented one has many short lines, each
    # of which would cost a turn of this loop.
    if marker != _LINE_ENTRY_MARKER:
        return buffer.find(marker, search)
    while (found := buffer.find(b"\n", search)) >= 0:
        if buffer.startswith(b"{", found + 1):
            return found
        search = found + 1
    return -1


def _har_entry_texts(
    stream: IO[bytes], size: int | None, opening: bytes
) -> Generator[bytes, None, HarLayout]:
    """Yield the texts of the entries that start in the next ``size`` bytes.

    The stream is at a line's start, after a HAR document's head. Each
    entry starts on a line of its own that begins with ``opening`` (its
    indentation and ``{``): a document written one entry a line, as proxies
    stream them, and one indented as browsers export them, both have this
    layout. An entry ends where the next one starts, after a comma; the
    last one ends before the document's end. The last entry of a range is
    read past the range's end, and the bytes before the range's first entry
    are passed over: they end the previous range's last entry.

    Each text is checked only to end as an entry; the caller parses it, and
    a text that is not one object leaves the layout. Return what the range
    showed of the layout. ``size`` None reads to the end of the document,
    which must then start with an entry.

    The stream is read in blocks and searched for the line starts, so that
    the many short lines of an indented document cost no Python code each.
    """
    marker = b"\n" + opening
    buffer = b""
    is_eof = False
    while len(buffer) < len(opening) and not is_eof:
        buffer, is_eof = _read_more(stream, buffer, 0)
    # Entries must start before ``limit``, in the buffer's coordinates.
    limit = size
    starts_inside = False
    if not buffer.startswith(opening):
        if limit is None:
            return HarLayout(is_broken=True)
        starts_inside = True
        while (found := buffer.find(marker)) < 0:
            if is_eof or len(buffer) - len(marker) >= limit:
                # Every line of the range ends an entry of the range before.
                return HarLayout(starts_inside=True)
            # Keep what may be the start of a marker cut by the block's end.
            kept = max(0, len(buffer) - len(marker) + 1)
            buffer, is_eof = _read_more(stream, buffer, kept)
            limit -= kept
        if found + 1 >= limit:
            return HarLayout(starts_inside=True)
        buffer = buffer[found + 1 :]
        limit -= found + 1

    start = 0
    while True:
        # An entry starts at ``start``: find where the next one starts.
        search = start
        while (found := _find_marker(buffer, marker, search)) < 0 and not is_eof:
            search = max(start, len(buffer) - len(marker) + 1) - start
            buffer, is_eof = _read_more(stream, buffer, start)
            if limit is not None:
                limit -= start
            start = 0
        if found < 0:
            break
        # The entry ends at the comma before the line break, past any
        # spaces: one slice of the buffer, the entry's only copy.
        text_end = found
        while text_end > start and buffer[text_end - 1] in _JSON_SPACE:
            text_end -= 1
        if text_end == start or buffer[text_end - 1] != _COMMA:
            return HarLayout(is_broken=True)
        yield buffer[start : text_end - 1]
        start = found + 1
        if limit is not None and start >= limit:
            return HarLayout(starts_inside=starts_inside)

    text = buffer[start:]
    end = _HAR_TAIL.search(text, max(0, len(text) - _MAX_HAR_TAIL))
    if end is None:
        return HarLayout(is_broken=True)
    text = text[: end.start()]
    if text.endswith(b","):
        return HarLayout(is_broken=True)
    yield text
    return HarLayout(starts_inside=starts_inside, has_end=True)


def _read_more(stream: IO[bytes], buffer: bytes, start: int) -> tuple[bytes, bool]:
    # Keep the buffer from ``start`` and read as much again (at least a
    # block), so that a long entry takes a number of reads that grows with
    # the logarithm of its size. Returns the buffer and whether the stream
    # ended.
    block = stream.read(max(_BLOCK, len(buffer) - start))
    return buffer[start:] + block, not block


def _har_layout_entries(
    stream: IO[bytes], decode: Callable[[bytes], Any]
) -> Generator[Any, None, bool]:
    """Yield the entries of a HAR document that has ``_har_entry_texts``'s layout.

    Parsing each entry alone costs a third of parsing the document event by
    event. Return True when the document kept the layout to its end, False
    where it left it, having yielded only entries that a parser of the
    whole document yields too, so that the caller can parse it again from
    where the layout broke.
    """
    head = _read_har_head(stream)
    if head is None:
        return False
    layout = yield from _parsed_entries(_har_entry_texts(stream, None, head[1]), decode)
    return not layout.is_broken


def _parsed_entries(
    texts: Generator[bytes, None, HarLayout], decode: Callable[[bytes], Any]
) -> Generator[Any, None, HarLayout]:
    """Parse the entry texts ``_har_entry_texts`` yields, and return its layout.

    A text that is not JSON leaves the layout: the parsing stops there.
    """
    while True:
        try:
            text = next(texts)
        except StopIteration as stop:
            return cast(HarLayout, stop.value)
        try:
            entry = decode(text)
        except orjson.JSONDecodeError:
            return HarLayout(is_broken=True)
        yield entry


def har_head_size(path: str | os.PathLike[str]) -> int | None:
    """Return the offset of a HAR document's head's end, if it has the layout.

    None when the document is compressed, cannot be read, or does not start
    as a document with ``_har_entry_texts``'s layout.
    """
    try:
        with open(path, "rb") as stream:
            if stream.read(2) == _GZIP_MAGIC:
                return None
            stream.seek(0)
            _skip_bom(stream)
            head = _read_har_head(stream)
    except OSError:
        return None
    return None if head is None else head[0]


def read_trace_range(path: str | os.PathLike[str], start: int, end: int) -> TraceReader:
    """Return a reader of the lines that start in ``[start, end)``.

    ``start`` is the offset of a line's first byte. Problems number lines
    (or a HAR document's entries) from 1 at the range's first line, and
    after reading ``range_lines`` is the number of lines read, so that the
    caller, knowing the lines before the range, can number them in the
    file. In a HAR document's range, ``start`` is after the document's
    head; the range's entries are those that start in it, numbered from 1
    (``range_lines`` counts them), and ``har_layout`` then tells what the
    range showed of the layout.
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
