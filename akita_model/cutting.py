"""Cut trace files into the texts of their lines and HAR entries.

A JSON Lines trace is cut at its line breaks, and a HAR document whose
entries each start a line (one entry a line, as tools that stream HAR
write it, or indented, as browsers export it) between its entries: each
text is then parsed alone. A stream is read in blocks (``numbered_lines``,
``har_entry_texts``). A plain file is mapped into memory instead
(``map_file``, ``mapped_lines``, ``mapped_entry_texts``): the texts are cut
straight out of the operating system's cache of the file, with no buffer
to fill and no fresh memory for each block, and the pages behind the
reading are given back as it goes, so that memory stays flat whatever the
size of the file. A mapped file must not shrink while it is read (the
operating system stops a process that touches a page past the file's
end). akita appends to the traces it writes, and cuts a torn last line off
a daemon's spool only when the daemon starts, before anything reads it.
"""

from __future__ import annotations

import gzip
import mmap
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import IO, Final

from mypy_extensions import mypyc_attr

# The end and the white space of a HAR document whose entries each start a
# line (see har_entry_texts).
_HAR_TAIL: Final = re.compile(rb"[ \t\r\n]*\][ \t\r\n]*\}[ \t\r\n]*\}[ \t\r\n]*\Z")
_JSON_SPACE: Final = frozenset(b" \t\r\n")
_COMMA: Final = ord(",")
_OPENING: Final = ord("{")
_LINE_ENTRY_MARKER: Final = b"\n{"
_MAX_HAR_TAIL: Final = 64
# Not Final, so that tests can set them.
_BLOCK = 1 << 20
# A mapped file's pages that the reading has passed are given back after
# this many bytes.
_RELEASE_EVERY = 2 << 20
_CAN_RELEASE: Final = hasattr(mmap.mmap, "madvise") and hasattr(mmap, "MADV_DONTNEED")


# Pickled between processes: a plain class, so that unpickling sets frozen
# fields the way dataclasses allow.
@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class HarLayout:
    """What a range of a HAR document showed of its layout.

    The layout is ``har_entry_texts``'s: after the head, each entry starts
    on a line of its own at the indentation of the first one. ``is_broken``:
    the range leaves the layout. ``starts_inside``: the range's first lines
    are the end of an entry that starts before it. ``has_end``: the range
    holds the document's end.
    """

    is_broken: bool = False
    starts_inside: bool = False
    has_end: bool = False


def numbered_lines(stream: IO[bytes], size: int | None) -> Iterator[tuple[int, bytes]]:
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


def _find_marker(buffer: bytes | mmap.mmap, marker: bytes, search: int) -> int:
    # buffer.find(marker, search), for bytes and mappings alike (a mapping
    # has no startswith). A document of one entry a line has a line break
    # only between entries, and the search for one byte is several times
    # faster than for two; an indented one has many short lines, each of
    # which would cost a turn of this loop.
    if marker != _LINE_ENTRY_MARKER:
        return buffer.find(marker, search)
    length = len(buffer)
    while (found := buffer.find(b"\n", search)) >= 0:
        if found + 1 < length and buffer[found + 1] == _OPENING:
            return found
        search = found + 1
    return -1


def har_entry_texts(
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
        # One slice of the buffer, the entry's only copy.
        comma = _comma_before(buffer, start, found)
        if comma < 0:
            return HarLayout(is_broken=True)
        yield buffer[start:comma]
        start = found + 1
        if limit is not None and start >= limit:
            return HarLayout(starts_inside=starts_inside)

    return (yield from _last_entry(buffer[start:], starts_inside))


def _read_more(stream: IO[bytes], buffer: bytes, start: int) -> tuple[bytes, bool]:
    # Keep the buffer from ``start`` and read as much again (at least a
    # block), so that a long entry takes a number of reads that grows with
    # the logarithm of its size. Returns the buffer and whether the stream
    # ended.
    block = stream.read(max(_BLOCK, len(buffer) - start))
    return buffer[start:] + block, not block


def _comma_before(buffer: bytes | mmap.mmap, start: int, found: int) -> int:
    # Where the entry that starts at ``start`` ends: at the comma before the
    # line break at ``found``, past any spaces; -1 when no comma is there.
    text_end = found
    while text_end > start and buffer[text_end - 1] in _JSON_SPACE:
        text_end -= 1
    if text_end == start or buffer[text_end - 1] != _COMMA:
        return -1
    return text_end - 1


def _last_entry(text: bytes, starts_inside: bool) -> Generator[bytes, None, HarLayout]:
    # Yield the document's last entry, the text up to its end; return the
    # layout.
    end = _HAR_TAIL.search(text, max(0, len(text) - _MAX_HAR_TAIL))
    if end is None:
        return HarLayout(is_broken=True)
    text = text[: end.start()]
    if text.endswith(b","):
        return HarLayout(is_broken=True)
    yield text
    return HarLayout(starts_inside=starts_inside, has_end=True)


def map_file(stream: IO[bytes]) -> mmap.mmap | None:
    """Map the file a stream reads, read-only; None where it cannot be mapped.

    Compressed streams, empty files and streams with no file of their own
    are read in blocks instead.
    """
    if isinstance(stream, gzip.GzipFile):
        return None
    try:
        return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        # No file descriptor (io.UnsupportedOperation is an OSError), an
        # empty file, or one that cannot be mapped.
        return None


class _Releaser:
    """Give back a mapping's pages that the reading has passed."""

    __slots__ = ("mapped", "released")

    def __init__(self, mapped: mmap.mmap, start: int) -> None:
        self.mapped = mapped
        self.released = start - start % mmap.PAGESIZE

    def passed(self, offset: int) -> None:
        """Tell that the reading is past ``offset``."""
        if offset - self.released < _RELEASE_EVERY or not _CAN_RELEASE:
            return
        upto = offset - offset % mmap.PAGESIZE
        # The pages stay in the operating system's cache of the file;
        # they only leave this process's memory.
        self.mapped.madvise(mmap.MADV_DONTNEED, self.released, upto - self.released)
        self.released = upto


def mapped_lines(
    mapped: mmap.mmap, start: int, size: int | None
) -> Iterator[tuple[int, bytes]]:
    """Yield what ``numbered_lines`` yields, from a mapped file.

    ``start`` is the offset of a line's first byte; the lines are those
    that start in the next ``size`` bytes (``size`` None: to the end).
    """
    length = len(mapped)
    end = length if size is None else min(length, start + size)
    releaser = _Releaser(mapped, start)
    number = 0
    position = start
    while position < end:
        found = mapped.find(b"\n", position)
        stop = length if found < 0 else found + 1
        number += 1
        yield number, mapped[position:stop]
        position = stop
        releaser.passed(position)


def mapped_entry_texts(
    mapped: mmap.mmap, start: int, size: int, opening: bytes
) -> Generator[bytes, None, HarLayout]:
    """Yield what ``har_entry_texts`` yields for a range, from a mapped file.

    ``start`` is the offset of the range's first line, after the
    document's head; the texts are those of the entries that start in the
    next ``size`` bytes. Return what the range showed of the layout.
    """
    marker = b"\n" + opening
    length = len(mapped)
    limit = start + size
    starts_inside = False
    if mapped[start : start + len(opening)] != opening:
        # The range's first lines end an entry of the range before.
        starts_inside = True
        found = mapped.find(marker, start, min(length, limit + len(marker)))
        if found < 0 or found + 1 >= limit:
            return HarLayout(starts_inside=True)
        start = found + 1

    releaser = _Releaser(mapped, start)
    while True:
        # An entry starts at ``start``: find where the next one starts.
        found = _find_marker(mapped, marker, start)
        if found < 0:
            break
        comma = _comma_before(mapped, start, found)
        if comma < 0:
            return HarLayout(is_broken=True)
        yield mapped[start:comma]
        start = found + 1
        if start >= limit:
            return HarLayout(starts_inside=starts_inside)
        releaser.passed(start)

    return (yield from _last_entry(mapped[start:], starts_inside))
