"""Reading traces: JSONL, gzip, HAR documents, and every kind of bad line."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from akita_model.errors import EntryError, ModelError, TraceError
from akita_model.reader import MAX_PROBLEMS, read_trace
from akita_model.witness import NOT_JSON, REASONS, parse_entry

from .har import FIXTURES, make_entry, write_trace


def test_reads_every_field_of_a_witness(tmp_path: Path) -> None:
    entry = make_entry(
        "post",
        "https://api.example.com:8443/api/articles/7?x=1",
        201,
        route="api/articles/<int:pk>",
        headers=[("Accept", "a"), ("X-Thing", "1"), ("X-Thing", "2")],
        query=[("x", "1")],
        cookies=[("sessionid", "abc")],
        body={"title": "T"},
        response={"id": 7},
        time=3.25,
        akita={"v": 1, "service": "blog", "truncated": False, "obfuscated": True},
    )
    trace = write_trace(tmp_path / "trace.jsonl", [entry])

    (witness,) = list(read_trace([trace]))

    assert witness.method == "POST"
    assert witness.scheme == "https"
    assert witness.host == "api.example.com:8443"
    assert witness.path == "/api/articles/7"
    assert witness.query == (("x", "1"),)
    assert witness.request_headers == (
        ("Accept", "a"),
        ("X-Thing", "1"),
        ("X-Thing", "2"),
    )
    assert witness.cookies == (("sessionid", "abc"),)
    assert witness.request_body is not None
    assert witness.request_body.media_type == "application/json"
    assert witness.request_body.json == {"title": "T"}
    assert witness.response_body is not None
    assert witness.response_body.json == {"id": 7}
    assert witness.status == 201
    assert witness.started == datetime(2026, 12, 3, 21, 10, 8, 123456, tzinfo=UTC)
    assert witness.elapsed_ms == 3.25
    assert witness.route == "api/articles/<int:pk>"
    assert witness.service == "blog"
    assert witness.is_obfuscated is True
    assert witness.is_truncated is False


def test_takes_cookies_and_query_from_the_headers_and_url(tmp_path: Path) -> None:
    entry = make_entry(
        url="/api/things?page=2&tag=a&tag=b",
        headers=[("Cookie", "sessionid=s1; csrftoken=c2")],
    )
    trace = write_trace(tmp_path / "trace.jsonl", [entry])

    (witness,) = list(read_trace([trace]))

    assert witness.query == (("page", "2"), ("tag", "a"), ("tag", "b"))
    assert witness.cookies == (("sessionid", "s1"), ("csrftoken", "c2"))
    assert witness.host == ""
    assert witness.path == "/api/things"


def test_decodes_base64_bodies(tmp_path: Path) -> None:
    entry = make_entry(response="x")
    entry["response"]["content"] = {
        "mimeType": "application/json",
        "text": base64.b64encode(b'{"a": 1}').decode(),
        "encoding": "base64",
    }
    binary = make_entry(response="x")
    binary["response"]["content"] = {
        "mimeType": "image/png",
        "text": base64.b64encode(b"\x89PNG\xff\xfe").decode(),
        "encoding": "base64",
    }
    trace = write_trace(tmp_path / "trace.jsonl", [entry, binary])

    first, second = list(read_trace([trace]))

    assert first.response_body is not None
    assert first.response_body.json == {"a": 1}
    assert second.response_body is not None
    assert second.response_body.data == b"\x89PNG\xff\xfe"
    assert second.response_body.text is None
    assert second.response_body.json is NOT_JSON


def test_keeps_a_truncated_body_without_parsing_it(tmp_path: Path) -> None:
    entry = make_entry(response='{"items": [1, 2', akita={"v": 1, "truncated": True})
    trace = write_trace(tmp_path / "trace.jsonl", [entry])

    reader = read_trace([trace])
    (witness,) = list(reader)

    assert witness.is_truncated is True
    assert witness.response_body is not None
    assert witness.response_body.has_json is False
    assert reader.skipped == {}


def _bad_lines() -> list[tuple[str, str]]:
    missing_request = make_entry()
    del missing_request["request"]
    missing_status = make_entry()
    del missing_status["response"]["status"]
    bad_status = make_entry(status=200)
    bad_status["response"]["status"] = "OK"
    bad_url = make_entry(url="not a url")
    bad_host = make_entry(url="http://[::1/api")
    bad_base64 = make_entry(response="x")
    bad_base64["response"]["content"] = {
        "mimeType": "application/octet-stream",
        "text": "not base64!!",
        "encoding": "base64",
    }
    bad_json = make_entry(response="{not json", response_type="application/json")
    bad_version = make_entry(akita={"v": 2})
    bad_time = make_entry(started="yesterday")
    return [
        ("{this is not json", "not-json"),
        (json.dumps(missing_request), "missing-field"),
        (json.dumps(missing_status), "missing-field"),
        (json.dumps(bad_status), "bad-field"),
        (json.dumps(bad_url), "bad-url"),
        (json.dumps(bad_host), "bad-url"),
        (json.dumps(bad_base64), "bad-base64"),
        (json.dumps(bad_json), "bad-json-body"),
        (json.dumps(bad_version), "unknown-version"),
        (json.dumps(bad_time), "bad-field"),
        ("[1, 2, 3]", "not-an-entry"),
    ]


def test_skips_each_bad_line_by_reason_and_line_number(tmp_path: Path) -> None:
    good = json.dumps(make_entry())
    lines = [good]
    for line, _ in _bad_lines():
        lines.extend([line, good])
    trace = tmp_path / "trace.jsonl"
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")

    reader = read_trace([trace])
    witnesses = list(reader)

    assert len(witnesses) == 12
    assert reader.witnesses == 12
    expected = [
        (2 * index + 2, reason) for index, (_, reason) in enumerate(_bad_lines())
    ]
    assert [(p.line, p.reason) for p in reader.problems] == expected
    assert reader.skipped == {
        "not-json": 1,
        "missing-field": 2,
        "bad-field": 2,
        "bad-url": 2,
        "bad-base64": 1,
        "bad-json-body": 1,
        "unknown-version": 1,
        "not-an-entry": 1,
    }
    assert set(reader.skipped) <= set(REASONS)
    assert str(reader.problems[8]) == (
        f"{trace}, line 18: The entry's _akita.v is 2; this reader knows version 1. "
        "(unknown-version)"
    )


def test_a_cut_off_last_line_is_truncated(tmp_path: Path) -> None:
    good = json.dumps(make_entry())
    trace = tmp_path / "trace.jsonl"
    trace.write_text(good + "\n\n" + good[:40], encoding="utf-8")

    reader = read_trace([trace])

    assert len(list(reader)) == 1
    assert reader.skipped == {"truncated": 1}
    assert reader.problems[0].line == 3


def test_keeps_the_first_problems_and_counts_the_rest(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "trace.jsonl", ["nope"] * (MAX_PROBLEMS + 5))

    reader = read_trace([trace])

    assert list(reader) == []
    assert len(reader.problems) == MAX_PROBLEMS
    assert reader.skipped == {"not-json": MAX_PROBLEMS + 5}


def test_reads_gzipped_jsonl(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl.gz"
    with gzip.open(trace, "wt", encoding="utf-8") as stream:
        for index in range(3):
            stream.write(json.dumps(make_entry(url=f"/api/things/{index}")) + "\n")

    paths = [witness.path for witness in read_trace([trace])]

    assert paths == ["/api/things/0", "/api/things/1", "/api/things/2"]


def test_a_cut_off_gzip_file_keeps_what_was_read(tmp_path: Path) -> None:
    whole = gzip.compress(
        "".join(json.dumps(make_entry()) + "\n" for _ in range(200)).encode()
    )
    trace = tmp_path / "trace.jsonl.gz"
    trace.write_bytes(whole[: len(whole) // 2])

    reader = read_trace([trace])
    count = len(list(reader))

    assert 0 < count < 200
    assert reader.skipped["truncated"] >= 1


def test_reads_har_documents_by_entry_number(tmp_path: Path) -> None:
    bad = make_entry()
    del bad["response"]
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "1"},
            "entries": [make_entry(url="/a"), bad, make_entry(url="/b", time=1.5)],
        }
    }
    trace = tmp_path / "capture.har"
    trace.write_text(json.dumps(document), encoding="utf-8")

    reader = read_trace([trace])
    witnesses = list(reader)

    assert [witness.path for witness in witnesses] == ["/a", "/b"]
    assert witnesses[1].elapsed_ms == 1.5
    assert reader.skipped == {"missing-field": 1}
    assert reader.problems[0].line == 2
    assert reader.problems[0].is_entry_number is True
    assert str(reader.problems[0]).startswith(f"{trace}, entry 2: ")


def test_a_cut_off_har_document_keeps_the_entries_before(tmp_path: Path) -> None:
    document = {"log": {"entries": [make_entry(url="/a"), make_entry(url="/b")]}}
    text = json.dumps(document)
    trace = tmp_path / "capture.har"
    trace.write_text(text[: text.index('"/b"')], encoding="utf-8")

    reader = read_trace([trace])

    assert [witness.path for witness in reader] == ["/a"]
    assert reader.skipped == {"truncated": 1}


def test_reads_the_committed_har_fixture() -> None:
    reader = read_trace([FIXTURES / "browser.har"])

    witnesses = list(reader)

    assert [(w.method, w.path, w.status) for w in witnesses] == [
        ("GET", "/api/v2/users/42", 200),
        ("GET", "/api/v2/users/43", 200),
        ("PUT", "/api/v2/users/42", 204),
    ]
    assert reader.skipped == {}


def test_a_missing_file_is_a_trace_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"

    with pytest.raises(TraceError) as caught:
        list(read_trace([missing]))

    assert (
        str(caught.value)
        == f"The trace {str(missing)!r} does not exist; check the path."
    )
    assert isinstance(caught.value, ModelError)


def test_a_directory_is_a_trace_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="is a directory"):
        list(read_trace([tmp_path]))


def test_an_empty_trace_reads_nothing(tmp_path: Path) -> None:
    trace = tmp_path / "empty.jsonl"
    trace.write_text("", encoding="utf-8")

    reader = read_trace([trace])

    assert list(reader) == []
    assert reader.witnesses == 0
    assert reader.skipped == {}


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    "layout", ["jsonl", "jsonl.gz", "har", "har-indented", "har-lines", "har.gz"]
)
def test_passes_over_a_byte_order_mark(tmp_path: Path, layout: str) -> None:
    # Windows tools start UTF-8 files with one; JSON lets a parser ignore it.
    entries = [make_entry(url=f"/api/items/{index}") for index in range(3)]
    entries[1] = {"request": {}}
    if layout.startswith("jsonl"):
        text = "\n".join(json.dumps(entry) for entry in entries) + "\n"
    elif layout == "har-indented":
        text = json.dumps({"log": {"entries": entries}}, indent=2)
    elif layout == "har-lines":
        text = (
            '{"log": {"entries": [\n'
            + ",\n".join(json.dumps(entry) for entry in entries)
            + "\n]}}\n"
        )
    else:
        text = json.dumps({"log": {"entries": entries}})
    data = BOM + text.encode("utf-8")
    name = "trace." + layout.removesuffix("-indented").removesuffix("-lines")
    trace = tmp_path / name
    trace.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)

    reader = read_trace([trace])
    paths = [witness.path for witness in reader]

    assert paths == ["/api/items/0", "/api/items/2"]
    assert [(p.line, p.reason) for p in reader.problems] == [(2, "missing-field")]


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        ("utf-16", "UTF-16"),
        ("utf-16-be", "UTF-16"),
        ("utf-32", "UTF-32"),
    ],
)
@pytest.mark.parametrize("suffix", [".jsonl", ".har", ".har.gz"])
def test_a_trace_in_another_encoding_is_a_trace_error(
    tmp_path: Path, encoding: str, name: str, suffix: str
) -> None:
    # As Windows PowerShell writes text by default: with a byte order mark.
    text = json.dumps({"log": {"entries": [make_entry()]}})
    data = ("\ufeff" if encoding == "utf-16-be" else "") + text
    encoded = data.encode(encoding)
    trace = tmp_path / f"trace{suffix}"
    trace.write_bytes(gzip.compress(encoded) if suffix.endswith(".gz") else encoded)

    with pytest.raises(TraceError) as error:
        list(read_trace([trace]))

    assert str(error.value) == (
        f"The trace {str(trace)!r} is {name} text; traces are UTF-8: convert it "
        f"first, for example with iconv -f {name} -t UTF-8."
    )


def test_a_json_lines_trace_named_har_says_so(tmp_path: Path) -> None:
    trace = tmp_path / "trace.har"
    trace.write_text(
        json.dumps(make_entry()) + "\n" + json.dumps(make_entry()) + "\n",
        encoding="utf-8",
    )
    reader = read_trace([trace])

    assert list(reader) == []
    assert [(p.line, p.reason, str(p)) for p in reader.problems] == [
        (
            1,
            "not-json",
            f"{trace}, entry 1: The HAR document goes on after its end: a .har "
            "file holds one JSON document (a trace of one entry a line is read "
            "as such when its name ends in .jsonl). (not-json)",
        )
    ]


def test_an_empty_har_document_is_cut_off(tmp_path: Path) -> None:
    trace = tmp_path / "trace.har"
    trace.write_bytes(b"")
    reader = read_trace([trace])

    assert list(reader) == []
    assert dict(reader.skipped) == {"truncated": 1}


@pytest.mark.parametrize("name", ["export.json", "export.jsonl", "export.json.gz"])
@pytest.mark.parametrize("indent", [None, 2])
def test_a_har_document_under_another_name_reads_as_one(
    tmp_path: Path, name: str, indent: int | None
) -> None:
    entries = [make_entry(url="/api/a"), {"request": {}}, make_entry(url="/api/b")]
    text = json.dumps({"log": {"version": "1.2", "entries": entries}}, indent=indent)
    trace = tmp_path / name
    data = text.encode("utf-8")
    trace.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)

    reader = read_trace([trace])

    assert [witness.path for witness in reader] == ["/api/a", "/api/b"]
    assert [(p.line, p.reason, p.is_entry_number) for p in reader.problems] == [
        (2, "missing-field", True)
    ]


def test_json_lines_under_a_json_name_read_as_lines(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    trace.write_text(
        json.dumps(make_entry(url="/a")) + "\n" + json.dumps(make_entry(url="/b")),
        encoding="utf-8",
    )

    assert [witness.path for witness in read_trace([trace])] == ["/a", "/b"]


def test_a_host_is_judged_the_same_each_time_it_is_seen() -> None:
    good = make_entry(url="http://shop.example:8000/api/items")
    bad = make_entry(url="http://[::1/api")
    for _ in range(3):
        assert parse_entry(good).host == "shop.example:8000"
        with pytest.raises(EntryError) as raised:
            parse_entry(bad)
        assert raised.value.reason == "bad-url"
