"""The C reader of JSON texts gives the shape key of the parsed value.

``_shapes_c.text_shape`` reads a body's text for its shape key without
parsing it. What it takes for JSON must be JSON as orjson reads it, and its
key must be the one ``shapes.shape`` gives for orjson's value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from akita_model import shapes, witness
from akita_model.builder import build_summary
from akita_model.openapi import dump_openapi, to_openapi
from akita_model.reader import read_trace
from akita_model.schema import BodySchema
from akita_model.shapes import MAX_DEPTH, TooDeep, shape

try:
    from akita_model import _shapes_c
except ImportError:  # installed as plain Python
    _shapes_c = None  # type: ignore[assignment]

TRACES = Path(__file__).parent.parent / "fixtures" / "traces"

pytestmark = pytest.mark.skipif(
    _shapes_c is None, reason="installed without the C extension"
)

# Strings that the reader's tests tell apart: formats, ':' and '@', 36
# characters, a first digit (ASCII or not) or '-', characters beyond ASCII.
special_strings = st.sampled_from(
    [
        "",
        "-",
        "word",
        "9lives",
        "\u00b2 superscript two",
        "caf\u00e9",
        "\u65e5\u672c",
        "\U0001f600 emoji",
        'a "quoted" \\ word\n',
        "12:30",
        "ada@example.com",
        "https://example.com/a",
        "2026-12-03T21:00:00+00:00",
        "2026-12-03",
        "-42",
        "00000000-0000-4000-8000-000000000000",
        "x" * 36,
        "192.0.2.1",
    ]
)
# Integers of at most 18 digits, which orjson reads as integers and the
# reader takes; floats whose text has at most two exponent digits.
small_ints = st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1)
plain_floats = st.floats(
    min_value=-1e15, max_value=1e15, allow_nan=False, allow_subnormal=False
).filter(lambda number: number == 0 or abs(number) > 1e-90)
scalars = (
    st.none()
    | st.booleans()
    | small_ints
    | plain_floats
    | st.text(max_size=20)
    | special_strings
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.text(max_size=6) | special_strings, children, max_size=5)
    ),
    max_leaves=30,
)


# The characters of JSON texts, and a few that are not in any.
JSON_CHARACTERS = '{}[]",:0123456789.eE+- \n\t\r\\/utrfalsn\x01\u00e9x'


def _texts(value: Any) -> list[str]:
    # The ways JSON writers write a value: compact, spaced, indented, with
    # and without escapes for characters beyond ASCII.
    return [
        orjson.dumps(value).decode(),
        json.dumps(value),
        json.dumps(value, ensure_ascii=False),
        json.dumps(value, indent=2),
        json.dumps(value, indent="\t", separators=(" ,", " : ")),
    ]


def _fits_a_byte(text: str) -> bool:
    return all(ord(char) < 0x100 for char in text)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_the_key_of_a_text_is_the_key_of_its_value(value: Any) -> None:
    for text in _texts(value):
        key = _shapes_c.text_shape(text)
        if _fits_a_byte(text):
            assert key == shape(value), text
        else:
            # Characters beyond U+00FF: left to orjson.
            assert key is None, text


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(JSON_CHARACTERS)), max_size=24))
@example('{"a":1,"b":[true,false,null],"c":"\\u00e9"}')
@example('[1.5e+12, -0, 0.25E-3, "\\ud83d\\ude00"]')
def test_what_the_reader_takes_for_json_orjson_reads(text: str) -> None:
    key = _shapes_c.text_shape(text)
    if key is None:
        return
    value = orjson.loads(text)  # raises if the reader took a text that is not JSON
    if not _has_repeated_key(text):
        assert key == shape(value)


def _has_repeated_key(text: str) -> bool:
    found = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        names = [name for name, _ in items]
        found = found or len(set(names)) < len(names)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "01",
        "1.",
        ".5",
        "1e",
        "-",
        "+1",
        "[1,]",
        '{"a":1,}',
        "[1] x",
        "nul",
        "truex",
        "\f1",
        '"a\x1fb"',
        '"\\x"',
        '"\\u12"',
        '"abc',
        "{'a': 1}",
        "NaN",
        "[1 2]",
        '{"a" 1}',
        "{1: 2}",
    ],
)
def test_texts_that_are_not_json_get_no_key(text: str) -> None:
    assert _shapes_c.text_shape(text) is None
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        # orjson reads integers past 64 bits as floats.
        "123456789012345678901234567890",
        "1234567890123456789",
        # orjson refuses numbers it reads as infinite.
        "1e999",
        "1e100",
        "1" + "0" * 250,
        # Lone surrogates.
        '"\\ud800"',
        '"\\udc00 low"',
        '["\\ud800\\u0041"]',
        # Characters beyond U+00FF.
        '{"\u65e5": 1}',
    ],
)
def test_texts_left_to_orjson_get_no_key(text: str) -> None:
    assert _shapes_c.text_shape(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"\\ud83d\\ude00 and \\u00e9"', "\U0001f600 and \u00e9"),
        (
            '{"caf\\u00e9": "\\/\\"\\\\\\b\\f\\n\\r\\t"}',
            {"caf\u00e9": '/"\\\b\f\n\r\t'},
        ),
        ('{"at": "ada\\u0040example.com"}', {"at": "ada@example.com"}),
        (
            '{"when": "2026-12-03T21:00:00\\u002B00:00"}',
            {"when": "2026-12-03T21:00:00+00:00"},
        ),
        ("12345678901234567", 12345678901234567),
        ("-0", 0),
        ("1E+99", 1e99),
        (' \r\n\t{ "a" : [ ] , "b" : { } }\n', {"a": [], "b": {}}),
        ('{"caf\u00e9": "d\u00e9j\u00e0"}', {"caf\u00e9": "d\u00e9j\u00e0"}),
    ],
)
def test_escapes_and_numbers_read_as_orjson_reads_them(text: str, value: Any) -> None:
    assert orjson.loads(text) == value
    assert _shapes_c.text_shape(text) == shape(value)


def _nested_text(depth: int, innermost: str) -> str:
    text = innermost
    for level in range(depth):
        text = f'{{"a": {text}}}' if level % 2 else f"[{text}]"
    return text


@pytest.mark.parametrize("innermost", ["1", "{}", "[]", '{"b": 1}', "[1]"])
@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
def test_texts_nested_too_deep_for_shape_get_no_key(innermost: str, depth: int) -> None:
    text = _nested_text(depth, innermost)
    value = orjson.loads(text)
    try:
        expected: int | None = shape(value)
    except TooDeep:
        expected = None

    assert _shapes_c.text_shape(text) == expected


def test_a_repeated_key_gives_a_key_of_its_own() -> None:
    repeated = _shapes_c.text_shape('{"a": 1, "a": "x"}')

    assert repeated is not None
    assert repeated != _shapes_c.text_shape('{"a": "x"}')
    assert repeated != _shapes_c.text_shape('{"a": 1}')
    assert repeated == _shapes_c.text_shape('{"a":2,"a":"y"}')


def test_long_arrays_of_many_shapes_read_as_their_values() -> None:
    items = [{f"k{index % 40}": index % 3, "at": "12:30"} for index in range(500)]
    text = orjson.dumps(items).decode()

    assert _shapes_c.text_shape(text) == shape(items)


def test_keys_longer_than_the_cache_holds_and_keys_that_meet_in_it() -> None:
    value = {
        "k" * 25: 1,
        "x" * 200: [{"ab": 1}, {"ba": 2}, {"a\u00e9": 3}],
        "": {"": ""},
    }
    text = json.dumps(value, ensure_ascii=False)

    for _ in range(3):  # the second and third reads take the cached hashes
        assert _shapes_c.text_shape(text) == shape(value)


def test_text_shape_takes_only_strings() -> None:
    with pytest.raises(TypeError, match="takes a str"):
        _shapes_c.text_shape(b"{}")  # type: ignore[arg-type]


def test_a_failing_format_check_fails_the_reading() -> None:
    def broken(value: str) -> str:
        raise ValueError(f"cannot tell {value!r}")

    try:
        _shapes_c.configure(broken, TooDeep, MAX_DEPTH)
        with pytest.raises(ValueError, match="cannot tell '12:30'"):
            _shapes_c.text_shape('{"a": ["x", "12:30"]}')
        with pytest.raises(ValueError, match="cannot tell '@'"):
            _shapes_c.text_shape('{"a": "\\u0040"}')
    finally:
        _shapes_c.configure(shapes._format_key, TooDeep, MAX_DEPTH)


def test_a_json_body_is_read_and_parsed_only_when_asked() -> None:
    entry = {
        "startedDateTime": "2026-12-03T21:00:00Z",
        "request": {"method": "GET", "url": "https://api.example.com/a"},
        "response": {
            "status": 200,
            "content": {"mimeType": "application/json", "text": '{"id": 7}'},
        },
    }

    body = witness.parse_entry(entry).response_body

    assert body is not None
    assert body.shape_key == shape({"id": 7})
    assert body.has_json is True
    assert body.json == {"id": 7}


@pytest.mark.parametrize("name", ["shop.jsonl", "browser.har"])
def test_the_model_is_the_same_when_every_body_is_parsed(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    trace = TRACES / name
    read = dump_openapi(to_openapi(build_summary(read_trace([trace]))))
    calls: list[str] = []

    def no_key(text: str) -> None:
        calls.append(text)
        return None

    monkeypatch.setattr(witness, "text_shape", no_key)
    parsed = dump_openapi(to_openapi(build_summary(read_trace([trace]))))

    assert calls  # every JSON body went through the patched reader
    assert parsed == read


def test_a_text_whose_shape_was_seen_is_not_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = ['{"id": 1, "name": "a"}', '{"id": 2, "name": "b"}', '{"id": 3}']
    parsed: list[str] = []
    loads = orjson.loads

    def counted(text: str) -> Any:
        parsed.append(text)
        return loads(text)

    monkeypatch.setattr(orjson, "loads", counted)
    schema = BodySchema()
    for text in texts:
        key = _shapes_c.text_shape(text)
        assert key is not None
        schema.add_text(text, key)

    assert parsed == [texts[0], texts[2]]
    assert schema.to_schema() == {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
        "required": ["id"],
    }


@settings(max_examples=100, deadline=None)
@given(st.lists(json_values, max_size=8))
def test_learning_from_texts_learns_what_values_teach(values: list[Any]) -> None:
    from_texts, from_values = BodySchema(), BodySchema()
    for value in values:
        text = json.dumps(value)
        key = _shapes_c.text_shape(text)
        if key is None:
            from_texts.add(value, text)
        else:
            from_texts.add_text(text, key)
        from_values.add(value)

    assert from_texts.to_schema() == from_values.to_schema()


@pytest.mark.parametrize(
    "special", [":", "@", "@b.example.com", '\\"', "\\n", "\\u00e9", "\u00e9", "9"]
)
@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 31, 32, 40])
def test_a_special_character_at_any_place_of_a_long_string(
    special: str, length: int
) -> None:
    # The reader tests 16 characters at a time: the special one falls at
    # every place of a block, and in the tail after the last whole block.
    for position in range(length + 1):
        raw = "a" * position + special + "b" * (length - position)
        text = '{"k' + raw + '": "' + raw + '", "n": ["' + raw + '"]}'
        assert _shapes_c.text_shape(text) == shape(json.loads(text))
        control = "a" * position + "\x01" + "b" * (length - position)
        assert _shapes_c.text_shape('["' + control + '"]') is None
