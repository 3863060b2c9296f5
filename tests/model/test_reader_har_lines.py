"""Reading HAR documents whose entries each start a line (written one entry
a line, or indented as browsers export them), and documents that only start
so: all give what parsing the whole document gives."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import ijson
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from akita_model import cutting
from akita_model.parallel import har_layout_holds, split_ranges
from akita_model.reader import (
    _har_layout_entries,
    har_head_size,
    read_trace,
    read_trace_range,
)

from .har import make_entry

HEAD = '{"log": {"version":"1.2","creator":{"name":"t","version":"1"}, "entries": [\n'


def _lines(paths: list[str]) -> str:
    entries = [json.dumps(make_entry(url=path)) for path in paths]
    return HEAD + ",\n".join(entries) + "\n]}}\n"


def _indented(paths: list[str], indent: int | str = 2) -> str:
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "t", "version": "1"},
            "entries": [make_entry(url=path) for path in paths],
        }
    }
    return json.dumps(document, indent=indent) + "\n"


def _read(trace: Path) -> tuple[list[str], dict[str, int], list[tuple[int, str]]]:
    reader = read_trace([trace])
    paths = [witness.path for witness in reader]
    problems = [(problem.line, problem.reason) for problem in reader.problems]
    return paths, dict(reader.skipped), problems


def test_reads_every_line_of_the_layout_in_one_pass(tmp_path: Path) -> None:
    trace = tmp_path / "capture.har"
    trace.write_text(_lines(["/a", "/b", "/c"]), encoding="utf-8")

    with trace.open("rb") as stream:
        lines = _har_layout_entries(stream, orjson.loads)
        entries = []
        with pytest.raises(StopIteration) as stop:
            while True:
                entries.append(next(lines))

    assert [entry["request"]["url"] for entry in entries] == ["/a", "/b", "/c"]
    assert stop.value.value is True
    assert _read(trace) == (["/a", "/b", "/c"], {}, [])


@pytest.mark.parametrize("indent", [2, 4, "\t"])
def test_reads_an_indented_document_entry_by_entry(
    tmp_path: Path, indent: int | str
) -> None:
    trace = tmp_path / "export.har"
    trace.write_text(_indented(["/a", "/b", "/c"], indent), encoding="utf-8")

    with trace.open("rb") as stream:
        entries = _har_layout_entries(stream, orjson.loads)
        urls = []
        with pytest.raises(StopIteration) as stop:
            while True:
                urls.append(next(entries)["request"]["url"])

    assert urls == ["/a", "/b", "/c"]
    assert stop.value.value is True
    assert _read(trace) == (["/a", "/b", "/c"], {}, [])


@pytest.mark.parametrize("block", [3, 1 << 20])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An indented document with more after its entries.
        (
            _indented(["/a", "/b"]).replace(
                "\n    ]\n  }", '\n    ],\n    "pages": []\n  }'
            ),
            (["/a", "/b"], {}, []),
        ),
        # An indented document cut off in its second entry.
        (
            _indented(["/a", "/b"])[:-200],
            (["/a"], {"truncated": 1}, [(2, "truncated")]),
        ),
        # An indented entry whose request opens at the entries' indentation.
        (
            _indented(["/a", "/b"]).replace('"request": {', '"request":\n      {', 1),
            (["/a", "/b"], {}, []),
        ),
        # Two entries on the third line: the rest is parsed as a document.
        (
            _lines(["/a", "/b"]).replace(
                "\n]}}",
                ",\n"
                + json.dumps(make_entry(url="/c"))
                + ", "
                + json.dumps(make_entry(url="/d"))
                + "\n]}}",
            ),
            (["/a", "/b", "/c", "/d"], {}, []),
        ),
        # More of the document after the entries.
        (
            _lines(["/a", "/b"]).replace("]}}", '], "pages": [{"id": "p"}]}}'),
            (["/a", "/b"], {}, []),
        ),
        # A comma missing between two entries.
        (
            _lines(["/a", "/b", "/c"]).replace("},\n", "}\n", 2),
            (["/a"], {"not-json": 1}, [(2, "not-json")]),
        ),
        # A comma after the last entry.
        (
            _lines(["/a", "/b"]).replace("\n]}}", ",\n]}}"),
            (["/a", "/b"], {"not-json": 1}, [(3, "not-json")]),
        ),
        # Cut off in the second entry.
        (_lines(["/a", "/b"])[:-60], (["/a"], {"truncated": 1}, [(2, "truncated")])),
        # The end missing after the last entry.
        (
            _lines(["/a", "/b"])[: -len("]}}\n")],
            (["/a", "/b"], {"truncated": 1}, [(3, "truncated")]),
        ),
        # An entry that is not an object.
        (
            HEAD + "[1, 2],\n" + json.dumps(make_entry(url="/a")) + "\n]}}",
            (["/a"], {"not-an-entry": 1}, [(1, "not-an-entry")]),
        ),
        # A second array of entries, escaped, before the one on the first line.
        (
            HEAD.replace(
                '"entries"',
                '"entr\\u0069es": ['
                + json.dumps(make_entry(url="/x"))
                + '], "entries"',
            )
            + json.dumps(make_entry(url="/a"))
            + "\n]}}",
            (["/x", "/a"], {}, []),
        ),
        # No entries at all.
        (HEAD + "]}}\n", ([], {}, [])),
    ],
)
def test_a_document_that_leaves_the_layout_reads_as_a_whole(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    expected: tuple[list[str], dict[str, int], list[tuple[int, str]]],
    block: int,
) -> None:
    monkeypatch.setattr(cutting, "_BLOCK", block)
    trace = tmp_path / "capture.har"
    trace.write_text(text, encoding="utf-8")
    # A gzipped document is parsed as a whole from its start.
    whole = tmp_path / "whole.har.gz"
    whole.write_bytes(gzip.compress(text.encode("utf-8")))

    assert _read(trace) == expected
    assert _read(whole) == expected


@pytest.mark.parametrize("block", [1, 5, 64, 1 << 20])
@pytest.mark.parametrize("parts", [1, 2, 3, 7, 40])
@pytest.mark.parametrize("layout", ["lines", "indented", "indented-crlf"])
def test_ranges_of_a_document_read_each_entry_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    block: int,
    parts: int,
    layout: str,
) -> None:
    # Reading in blocks of a few bytes puts a block's end everywhere: inside
    # the line breaks that start entries, inside entries and in the end.
    monkeypatch.setattr(cutting, "_BLOCK", block)
    urls = [f"/item/{index}" for index in range(12)]
    text = _lines(urls) if layout == "lines" else _indented(urls)
    if layout == "indented-crlf":
        # As an editor on Windows saves it.
        text = text.replace("\n", "\r\n")
    trace = tmp_path / "capture.har"
    trace.write_bytes(text.encode("utf-8"))
    head = har_head_size(trace)
    assert head is not None

    read: list[str] = []
    layouts = []
    counts = []
    for trace_range in split_ranges([str(trace)], parts, [head]):
        reader = read_trace_range(trace, trace_range.start, trace_range.end)
        read.extend(witness.path for witness in reader)
        layouts.append(reader.har_layout)
        counts.append(reader.range_lines)

    assert read == urls
    assert har_layout_holds(layouts)
    assert sum(counts) == len(urls)


def test_reads_a_browser_export_with_a_long_list_of_pages_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As browsers export HAR: the pages come before the entries, here more
    # than 64 kB of them, and entries carry the browser's own fields.
    pages = [
        {
            "startedDateTime": "2026-12-03T21:00:00.000Z",
            "id": f"page_{index}",
            "title": f"https://shop.example/products/{index}",
            "pageTimings": {"onContentLoad": 120.5, "onLoad": 340.25},
        }
        for index in range(1500)
    ]
    entries = [
        {**make_entry(url=f"/api/item/{index}"), "_resourceType": "fetch"}
        for index in range(5)
    ]
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": pages,
            "entries": entries,
        }
    }
    trace = tmp_path / "export.har"
    trace.write_text(json.dumps(document, indent=2), encoding="utf-8")

    head = har_head_size(trace)

    assert head is not None and head > 64 * 1024

    def no_whole_parse(*args: object, **kwargs: object) -> object:
        raise AssertionError("the document was parsed whole")

    monkeypatch.setattr(ijson, "items", no_whole_parse)
    assert _read(trace) == ([f"/api/item/{index}" for index in range(5)], {}, [])


@given(
    st.binary(max_size=40).map(lambda b: bytes(b"\n{ a"[x % 4] for x in b)), st.data()
)
def test_the_entry_marker_is_found_as_bytes_find_finds_it(
    buffer: bytes, data: st.DataObject
) -> None:
    search = data.draw(st.integers(0, len(buffer)))
    for marker in (b"\n{", b"\n {"):
        found = cutting._find_marker(buffer, marker, search)
        assert found == buffer.find(marker, search)
