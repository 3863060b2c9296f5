"""The C reader of HAR entries gives parse_entry what orjson would.

``_entries_c.scan_entry`` reads the fields of an entry that ``parse_entry``
needs from its JSON text, or returns None to leave the text to orjson. Two
things must hold for every text: it takes nothing that orjson refuses, and
``parse_entry`` of what it makes is ``parse_entry`` of orjson's value, the
same witness or the same error.
"""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from akita_model import witness
from akita_model.errors import EntryError
from akita_model.reader import read_trace
from tests.model.har import make_entry

try:
    from akita_model import _entries_c
except ImportError:  # installed as plain Python
    _entries_c = None  # type: ignore[assignment]

TRACES = Path(__file__).parent.parent / "fixtures" / "traces"
IS_PURE = os.environ.get("AKITA_PURE_PYTHON", "") not in ("", "0")

pytestmark = pytest.mark.skipif(
    _entries_c is None, reason="installed without the C extension"
)

WITNESS_FIELDS = (
    "method",
    "url",
    "scheme",
    "host",
    "path",
    "query",
    "request_headers",
    "cookies",
    "status",
    "response_headers",
    "started",
    "elapsed_ms",
    "route",
    "service",
    "middleware",
    "trace",
    "is_obfuscated",
    "is_truncated",
)
BODY_FIELDS = ("media_type", "text", "data", "form", "is_truncated", "shape_key")


def _body_view(body: witness.Body | None) -> Any:
    if body is None:
        return None
    view = {name: getattr(body, name) for name in BODY_FIELDS}
    view["json"] = body.json if body.has_json else "not JSON"
    return view


def _outcome(entry: Any) -> Any:
    """What parse_entry makes of a decoded entry: its fields, or its error."""
    try:
        parsed = witness.parse_entry(entry)
    except EntryError as error:
        return ("error", error.reason, str(error))
    view: dict[str, Any] = {name: getattr(parsed, name) for name in WITNESS_FIELDS}
    view["request_body"] = _body_view(parsed.request_body)
    view["response_body"] = _body_view(parsed.response_body)
    return view


def _orjson_outcome(text: bytes) -> Any:
    try:
        entry = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "not JSON"
    return _outcome(entry)


def assert_same_as_orjson(text: bytes) -> bool:
    """Check scan_entry against orjson on one text; tell whether it read it."""
    assert _entries_c is not None
    scanned = _entries_c.scan_entry(text)
    if scanned is None:
        return False
    assert _orjson_outcome(text) == _outcome(scanned)
    return True


@pytest.mark.skipif(IS_PURE, reason="installed as plain Python (AKITA_PURE_PYTHON)")
def test_decode_entry_uses_the_c_reader() -> None:
    assert witness._scan_entry is _entries_c.scan_entry


def test_it_makes_only_the_fields_parse_entry_reads() -> None:
    entry = make_entry(
        "POST",
        "https://api.example.com/api/things?page=2",
        201,
        headers=[("Accept", "application/json"), ("X-Api-Key", "k")],
        query=[("page", "2")],
        cookies=[("sessionid", "s")],
        body={"name": "a"},
        response={"id": 7},
        akita={"v": 1, "route": "api/things", "service": "shop"},
    )
    entry["cache"] = {}
    entry["timings"] = {"send": 0, "wait": 12.5, "receive": 0.25}

    scanned = _entries_c.scan_entry(json.dumps(entry).encode())

    assert scanned == {
        "startedDateTime": "2026-12-03T21:10:08.123456+00:00",
        "time": 12.5,
        "request": {
            "method": "POST",
            "url": "https://api.example.com/api/things?page=2",
            "headers": (("Accept", "application/json"), ("X-Api-Key", "k")),
            "queryString": (("page", "2"),),
            "cookies": (("sessionid", "s"),),
            "postData": {"mimeType": "application/json", "text": '{"name": "a"}'},
        },
        "response": {
            "status": 201,
            "headers": (),
            "content": {
                "mimeType": "application/json",
                "text": '{"id": 7}',
            },
        },
        "_akita": {"v": 1, "route": "api/things", "service": "shop"},
    }


def test_every_fixture_line_reads_the_same() -> None:
    read = 0
    for path in sorted(TRACES.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                read += assert_same_as_orjson(line)
    assert read >= 20


def test_the_reader_of_a_trace_gives_the_same_model_as_orjson(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = TRACES / "shop.jsonl"
    scanned = [_outcome_of(w) for w in read_trace([path])]
    monkeypatch.setattr(witness, "_scan_entry", witness._no_scan)
    parsed = [_outcome_of(w) for w in read_trace([path])]
    assert scanned == parsed
    assert len(scanned) > 0


def _outcome_of(item: witness.Witness) -> Any:
    return {name: getattr(item, name) for name in WITNESS_FIELDS}


@pytest.mark.parametrize(
    "text",
    [
        # Not JSON, or JSON orjson refuses.
        b"",
        b"{",
        b'{"time": 1,}',
        b'{"time": 01}',
        b'{"time": 1.}',
        b'{"time": -}',
        b'{"time": 1e400}',
        b'{"timings": {"wait": 1e400}}',
        b'{"timings": {"wait": -1e999}}',
        b'{"x": "\\ud800"}',
        b'{"x": "\\udc00"}',
        b'{"x": "\\ud800\\u0041"}',
        b'{"x": "\\q"}',
        b'{"x": "\\u12G4"}',
        b'{"x": "a\tb"}',
        b'{"x": "\xed\xa0\x80"}',
        b'{"x": "\xff"}',
        b'{"\xff": 1}',
        b"{}\x00",
        b"{} {}",
        b"\xef\xbb\xbf{}",
        b'{"x": [1 2]}',
        b'{"x": tru}',
        b'{"x": nul}',
        b'{"request": {"headers": [{"name": "a", "value": "b"},]}}',
        # JSON left to orjson.
        b"[]",
        b'{"time": 12345678901234567890}',
        b'{"request": {"headers": [{"name": "a"}]}}',
        b'{"request": {"headers": [{"name": 1, "value": "b"}]}}',
        b'{"request": {"headers": [{"name": "a", "name": "b", "value": "c"}]}}',
        b'{"request": {"headers": {}}}',
        b'{"request": {"headers": [[]]}}',
        b'{"request": []}',
        b'{"request": {"method": "GET", "method": "PUT"}}',
        b'{"time": 1, "time": 2}',
        b'{"request": {"postData": {"params": []}}}',
        b'{"request": {"method": ["GET"]}}',
        b'{"_akita": {"v": 1, "v": 2}}',
        b'{"_akita": {"tags": []}}',
        b'{"_akita": []}',
        b'{"x": ' + b"[" * 70 + b"]" * 70 + b"}",
    ],
)
def test_texts_it_leaves_to_orjson(text: bytes) -> None:
    assert _entries_c.scan_entry(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b" {} \r\n", {}),
        (b'{"time": -0}', {"time": 0}),
        (b'{"time": -0.0}', {"time": -0.0}),
        (b'{"time": 1E2}', {"time": 100.0}),
        (b'{"time": 1.5e-400}', {"time": 0.0}),
        (b'{"time": 123456789012345678}', {"time": 123456789012345678}),
        (b'{"time": null, "request": null}', {"time": None, "request": None}),
        (b'{"time": true}', {"time": True}),
        (b'{"response": {"status": 1e2}}', {"response": {"status": 100.0}}),
        (b'{"\\u0074ime": 3}', {"time": 3}),
        (b'{"x": "\\ud83d\\ude00", "time": 1}', {"time": 1}),
        (
            b'{"startedDateTime": '
            b'"caf\xc3\xa9 \\u00e9\\n\\"\\/\\\\\\b\\f\\r\\t\\u0000"}',
            {"startedDateTime": 'caf\u00e9 \u00e9\n"/\\\b\f\r\t\x00'},
        ),
        (
            b'{"startedDateTime": "\\ud83d\\ude00 \xf0\x9f\x98\x80"}',
            {"startedDateTime": "\U0001f600 \U0001f600"},
        ),
        (b'{"timings": {"wait": 1e300}, "x": 99999999999999999999}', {}),
        (b'{"_akita": null}', {"_akita": None}),
        (
            b'{"_akita": {"v": 1, "obfuscated": true, "caf\xc3\xa9": 2.5}}',
            {"_akita": {"v": 1, "obfuscated": True, "caf\u00e9": 2.5}},
        ),
        (
            b'{"request": {"cookies": [{"name": "a", "value": "b", "secure": true,'
            b' "expires": null}], "queryString": null}}',
            {"request": {"cookies": (("a", "b"),), "queryString": None}},
        ),
    ],
)
def test_texts_it_reads(text: bytes, expected: dict[str, Any]) -> None:
    assert _entries_c.scan_entry(text) == expected
    assert_same_as_orjson(text)


def test_a_long_list_of_pairs() -> None:
    headers = [(f"X-H{index}", str(index)) for index in range(40)]
    text = json.dumps(make_entry(headers=headers)).encode()

    scanned = _entries_c.scan_entry(text)

    assert scanned is not None
    assert scanned["request"]["headers"] == tuple(headers)
    assert_same_as_orjson(text)


def test_it_takes_only_bytes() -> None:
    assert _entries_c.scan_entry("{}") is None  # type: ignore[arg-type]
    assert _entries_c.scan_entry(memoryview(b"{}")) is None  # type: ignore[arg-type]


def test_failures_leak_nothing() -> None:
    good = json.dumps(
        make_entry(headers=[("A", "b")] * 20, response={"a": ["\u00e9"] * 50})
    ).encode()
    texts = [good[:cut] for cut in range(0, len(good), 7)] + [good]

    def scan_all() -> None:
        for text in texts:
            _entries_c.scan_entry(text)

    tracemalloc.start()
    try:
        # Python keeps up to 2,000 freed tuples of each size for reuse: those
        # lists fill up first, and then no call may hold on to memory.
        for _ in range(30):
            scan_all()
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(20):
            scan_all()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 4096


# Random entries: every field parse_entry reads, with values of the types
# it expects and of others, and fields it passes over.
text_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "GET",
            "https://api.example.com/api/things/7?page=2",
            "/api/things",
            "2026-12-03T21:10:08.123456+00:00",
            "application/json",
            "application/x-www-form-urlencoded",
            '{"a": [1, "x\\u00e9", null], "b": {"c": 2.5}}',
            "a=1&b=2",
            "eyJhbGciOi.eyJzdWIiOjF9.sig",
            "base64",
            "aGVsbG8=",
        ]
    ),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text_values,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)
pair_items = st.one_of(
    st.fixed_dictionaries({"name": text_values, "value": text_values}),
    st.fixed_dictionaries(
        {"name": text_values, "value": text_values},
        optional={"comment": json_values, "secure": st.booleans()},
    ),
    st.dictionaries(st.sampled_from(["name", "value", "x"]), json_scalars, max_size=3),
)
pair_lists = st.one_of(st.lists(pair_items, max_size=5), json_scalars)
bodies = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "mimeType": st.one_of(text_values, json_scalars),
            "text": st.one_of(text_values, json_scalars),
            "encoding": st.sampled_from(["base64", "", "utf-8"]),
            "size": st.integers(),
            "params": st.lists(st.fixed_dictionaries({"name": text_values})),
        },
    ),
    json_scalars,
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "method": st.one_of(text_values, json_scalars),
        "url": st.one_of(text_values, json_scalars),
        "headers": pair_lists,
        "queryString": pair_lists,
        "cookies": pair_lists,
        "postData": bodies,
        "httpVersion": json_values,
    },
)
responses = st.fixed_dictionaries(
    {},
    optional={
        "status": st.one_of(st.integers(min_value=0, max_value=700), json_scalars),
        "headers": pair_lists,
        "cookies": pair_lists,
        "content": bodies,
        "redirectURL": json_values,
    },
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "startedDateTime": st.one_of(text_values, json_scalars),
        "time": json_scalars,
        "request": st.one_of(requests, json_values),
        "response": st.one_of(responses, json_values),
        "_akita": st.one_of(
            st.dictionaries(st.text(max_size=10), json_scalars, max_size=4),
            st.fixed_dictionaries(
                {"v": st.one_of(st.just(1), json_scalars)},
                optional={
                    "route": json_scalars,
                    "truncated": json_scalars,
                    "obfuscated": json_scalars,
                },
            ),
            json_values,
        ),
        "timings": json_values,
        "cache": json_values,
    },
)


def _dumps(value: Any, layout: int) -> bytes:
    # Four ways to write one value: compact, spaced, indented, or as ASCII
    # with every other character escaped.
    if layout == 0:
        return orjson.dumps(value)
    if layout == 1:
        return json.dumps(value, ensure_ascii=False).encode()
    if layout == 2:
        return json.dumps(value, indent=2, ensure_ascii=False).encode()
    return json.dumps(value).encode()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=entries, layout=st.integers(min_value=0, max_value=3))
@example(entry=json.loads((TRACES / "shop.jsonl").read_text().split("\n")[0]), layout=2)
def test_random_entries_read_as_orjson_reads_them(entry: Any, layout: int) -> None:
    try:
        text = _dumps(entry, layout)
    except (TypeError, orjson.JSONEncodeError):
        return  # integers past 64 bits: orjson does not write them
    assert_same_as_orjson(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entry=entries,
    layout=st.integers(min_value=0, max_value=3),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["delete", "insert", "replace", "cut"]),
            st.integers(min_value=0, max_value=10**6),
            st.sampled_from(
                list(b'{}[]",:\\ \t\n0159.eE+-tfnu\x00\x1f\x80\xc3\xa9\xed\xff')
            ),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_broken_texts_are_refused_as_orjson_refuses_them(
    entry: Any, layout: int, edits: list[tuple[str, int, int]]
) -> None:
    try:
        text = bytearray(_dumps(entry, layout))
    except (TypeError, orjson.JSONEncodeError):
        return
    for kind, position, byte in edits:
        at = position % (len(text) + 1)
        if kind == "delete" and at < len(text):
            del text[at]
        elif kind == "insert":
            text.insert(at, byte)
        elif kind == "replace" and at < len(text):
            text[at] = byte
        elif kind == "cut":
            del text[at:]
    assert_same_as_orjson(bytes(text))


def test_short_strings_are_made_once_and_given_again() -> None:
    text = json.dumps(
        make_entry(headers=[("Accept", "application/json"), ("X-Long", "v" * 49)])
    ).encode()

    first = _entries_c.scan_entry(text)
    second = _entries_c.scan_entry(text)

    assert first is not None and second is not None
    (name, value), (long_name, long_value) = first["request"]["headers"]
    (name2, value2), (long_name2, long_value2) = second["request"]["headers"]
    assert (name, value, long_name) == ("Accept", "application/json", "X-Long")
    assert name is name2 and value is value2 and long_name is long_name2
    assert long_value == long_value2 == "v" * 49
    assert long_value is not long_value2
