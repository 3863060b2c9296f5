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

from akita_model.cutting import (
    HarLayout,
    har_entry_texts,
    map_file,
    mapped_entry_texts,
    mapped_lines,
    numbered_lines,
)
from akita_model.errors import EntryError, TraceError
from akita_model.witness import Witness, decode_entry, parse_entry

logger = logging.getLogger(__name__)

MAX_PROBLEMS = 20

_GZIP_MAGIC = b"\x1f\x8b"
# Windows tools start UTF-8 text with a byte order mark, which a JSON parser
# may ignore (RFC 8259, section 8.1): the reader passes over it.
_UTF8_BOM = b"\xef\xbb\xbf"

# The head and the opening of the entries of a HAR document whose entries
# each start a line (see cutting.har_entry_texts).
_HAR_HEAD = re.compile(
    rb'[ \t\r\n]*\{[ \t\r\n]*"log"[ \t\r\n]*:[ \t\r\n]*\{.*"entries"[ \t\r\n]*:'
    rb"[ \t\r\n]*\[[ \t\r]*\n",
    re.DOTALL,
)
_HAR_START = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"log"[ \t\r\n]*:')
_HAR_ENTRIES = re.compile(rb'"entries"[ \t\r\n]*:[ \t\r\n]*\[[ \t\r]*\n')
# Browsers list the pages of a capture before its entries: a long capture
# has a long head.
_MAX_HAR_HEAD = 1 << 20
_HAR_HEAD_STEP = 64 * 1024
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
        mapped = map_file(stream)
        try:
            lines = (
                numbered_lines(stream, size)
                if mapped is None
                else mapped_lines(mapped, stream.tell(), size)
            )
            yield from self._read_lines(path, lines)
        finally:
            if mapped is not None:
                mapped.close()

    def _read_lines(
        self, path: Path, lines: Iterator[tuple[int, bytes]]
    ) -> Iterator[Witness]:
        for line_number, line in lines:
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
        mapped = map_file(stream)
        try:
            texts = (
                har_entry_texts(stream, end - start, head[1])
                if mapped is None
                else mapped_entry_texts(mapped, start, end - start, head[1])
            )
            yield from self._read_har_texts(path, texts)
        finally:
            if mapped is not None:
                mapped.close()

    def _read_har_texts(
        self, path: Path, texts: Generator[bytes, None, HarLayout]
    ) -> Iterator[Witness]:
        entries = _parsed_entries(texts, decode_entry)
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


def _har_layout_entries(
    stream: IO[bytes], decode: Callable[[bytes], Any]
) -> Generator[Any, None, bool]:
    """Yield the entries of a HAR document in ``cutting.har_entry_texts``'s layout.

    Parsing each entry alone costs a third of parsing the document event by
    event. Return True when the document kept the layout to its end, False
    where it left it, having yielded only entries that a parser of the
    whole document yields too, so that the caller can parse it again from
    where the layout broke.
    """
    head = _read_har_head(stream)
    if head is None:
        return False
    layout = yield from _parsed_entries(har_entry_texts(stream, None, head[1]), decode)
    return not layout.is_broken


def _parsed_entries(
    texts: Generator[bytes, None, HarLayout], decode: Callable[[bytes], Any]
) -> Generator[Any, None, HarLayout]:
    """Parse the entry texts ``cutting.har_entry_texts`` yields, and return its layout.

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
    as a document with ``cutting.har_entry_texts``'s layout.
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
