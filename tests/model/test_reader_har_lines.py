"""Reading HAR documents written one entry a line, and documents that only
start so: both give what parsing the whole document gives."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from akita_model.reader import _har_lines, read_trace

from .har import make_entry

HEAD = '{"log": {"version":"1.2","creator":{"name":"t","version":"1"}, "entries": [\n'


def _lines(paths: list[str]) -> str:
    entries = [json.dumps(make_entry(url=path)) for path in paths]
    return HEAD + ",\n".join(entries) + "\n]}}\n"


def _read(trace: Path) -> tuple[list[str], dict[str, int], list[tuple[int, str]]]:
    reader = read_trace([trace])
    paths = [witness.path for witness in reader]
    problems = [(problem.line, problem.reason) for problem in reader.problems]
    return paths, dict(reader.skipped), problems


def test_reads_every_line_of_the_layout_in_one_pass(tmp_path: Path) -> None:
    trace = tmp_path / "capture.har"
    trace.write_text(_lines(["/a", "/b", "/c"]), encoding="utf-8")

    with trace.open("rb") as stream:
        lines = _har_lines(stream)
        entries = []
        with pytest.raises(StopIteration) as stop:
            while True:
                entries.append(next(lines))

    assert [entry["request"]["url"] for entry in entries] == ["/a", "/b", "/c"]
    assert stop.value.value is True
    assert _read(trace) == (["/a", "/b", "/c"], {}, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
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
        # A comma missing between two entries (yajl calls it incomplete).
        (
            _lines(["/a", "/b", "/c"]).replace("},\n", "}\n", 2),
            (["/a"], {"truncated": 1}, [(2, "truncated")]),
        ),
        # A comma after the last entry.
        (
            _lines(["/a", "/b"]).replace("\n]}}", ",\n]}}"),
            (["/a", "/b"], {"truncated": 1}, [(3, "truncated")]),
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
    text: str,
    expected: tuple[list[str], dict[str, int], list[tuple[int, str]]],
) -> None:
    trace = tmp_path / "capture.har"
    trace.write_text(text, encoding="utf-8")
    # A gzipped document is parsed as a whole from its start.
    whole = tmp_path / "whole.har.gz"
    whole.write_bytes(gzip.compress(text.encode("utf-8")))

    assert _read(trace) == expected
    assert _read(whole) == expected
