"""A mapped file is cut into the same texts as a file read in blocks."""

from __future__ import annotations

import json
import mmap
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from akita_model import cutting
from akita_model.cutting import (
    HarLayout,
    har_entry_texts,
    map_file,
    mapped_entry_texts,
    mapped_lines,
    numbered_lines,
)
from akita_model.parallel import split_ranges
from akita_model.reader import _read_har_head

from .har import make_entry

HEAD = b'{"log": {"version": "1.2", "entries": [\n'


def _drain(texts: Generator[bytes, None, HarLayout]) -> tuple[list[bytes], Any]:
    read: list[bytes] = []
    while True:
        try:
            read.append(next(texts))
        except StopIteration as stop:
            return read, stop.value


def _document(layout: str, count: int) -> bytes:
    entries = [make_entry(url=f"/item/{index}") for index in range(count)]
    if layout == "lines":
        text = HEAD + b",\n".join(json.dumps(e).encode() for e in entries)
        return text + b"\n]}}\n"
    document = json.dumps({"log": {"version": "1.2", "entries": entries}}, indent=2)
    if layout == "crlf":
        document = document.replace("\n", "\r\n")
    return document.encode() + b"\n"


@pytest.mark.parametrize("block", [1, 7, 1 << 20])
@pytest.mark.parametrize("parts", [1, 2, 5, 30])
@pytest.mark.parametrize("layout", ["lines", "indented", "crlf"])
def test_ranges_of_a_mapped_document_cut_as_read_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, parts: int, layout: str
) -> None:
    monkeypatch.setattr(cutting, "_BLOCK", block)
    trace = tmp_path / "capture.har"
    trace.write_bytes(_document(layout, 9))
    with trace.open("rb") as stream:
        found = _read_har_head(stream)
    assert found is not None
    head, opening = found

    texts = 0
    for trace_range in split_ranges([str(trace)], parts, [head]):
        size = trace_range.end - trace_range.start
        with trace.open("rb") as stream:
            stream.seek(trace_range.start)
            read = _drain(har_entry_texts(stream, size, opening))
            mapped = map_file(stream)
            assert mapped is not None
            with mapped:
                cut = _drain(
                    mapped_entry_texts(mapped, trace_range.start, size, opening)
                )
        assert cut == read
        texts += len(cut[0])
    assert texts == 9


@pytest.mark.parametrize(
    "tail",
    [b"\n]}}\n", b"\n]}}", b"\n]}}x", b",\n]}}\n", b"\n]"],
)
def test_the_last_entry_ends_as_in_a_read_document(tmp_path: Path, tail: bytes) -> None:
    text = HEAD + json.dumps(make_entry()).encode() + tail
    trace = tmp_path / "capture.har"
    trace.write_bytes(text)
    start = len(HEAD)

    with trace.open("rb") as stream:
        stream.seek(start)
        read = _drain(har_entry_texts(stream, len(text) - start, b"{"))
        mapped = map_file(stream)
        assert mapped is not None
        with mapped:
            cut = _drain(mapped_entry_texts(mapped, start, len(text) - start, b"{"))

    assert cut == read
    assert read[1].has_end is (tail in (b"\n]}}\n", b"\n]}}"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"", b"{}", b'{"a": 1}', b" ", b"\r", b"x" * 50]),
        max_size=12,
    ),
    st.booleans(),
    st.data(),
)
def test_mapped_lines_are_the_lines_read(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[bytes],
    has_last_break: bool,
    data: st.DataObject,
) -> None:
    text = b"\n".join(lines) + (b"\n" if has_last_break else b"")
    if not text:
        return  # an empty file is not mapped
    trace = tmp_path_factory.mktemp("lines") / "trace.jsonl"
    trace.write_bytes(text)
    starts = [0] + [i + 1 for i, byte in enumerate(text) if byte == ord("\n")]
    start = data.draw(st.sampled_from([s for s in starts if s <= len(text)]))
    size = data.draw(st.none() | st.integers(0, len(text) + 2))

    with trace.open("rb") as stream:
        stream.seek(start)
        read = list(numbered_lines(stream, size))
        mapped = map_file(stream)
        assert mapped is not None
        with mapped:
            cut = list(mapped_lines(mapped, start, size))

    assert cut == read


def test_an_empty_file_and_a_compressed_stream_are_not_mapped(tmp_path: Path) -> None:
    import gzip

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    packed = tmp_path / "trace.jsonl.gz"
    packed.write_bytes(gzip.compress(b"{}\n"))

    with empty.open("rb") as stream:
        assert map_file(stream) is None
    with gzip.open(packed, "rb") as stream:
        assert map_file(stream) is None  # type: ignore[arg-type]


def test_pages_passed_are_given_back_a_step_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cutting, "_RELEASE_EVERY", 4 * mmap.PAGESIZE)
    trace = tmp_path / "trace.jsonl"
    line = b"x" * 1000 + b"\n"
    trace.write_bytes(line * 100)

    with trace.open("rb") as stream:
        mapped = map_file(stream)
        assert mapped is not None
        with mapped:
            releaser = cutting._Releaser(mapped, 10)
            assert releaser.released == 0
            releaser.passed(3 * mmap.PAGESIZE)
            assert releaser.released == 0
            releaser.passed(5 * mmap.PAGESIZE + 10)
            assert releaser.released == 5 * mmap.PAGESIZE
            # What was given back is read again from the file's cache.
            assert [text for _, text in mapped_lines(mapped, 0, None)] == [line] * 100
