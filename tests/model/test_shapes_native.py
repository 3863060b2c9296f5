"""The C walk of shape keys gives exactly the keys that ``shapes.shape`` gives."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from akita_model import shapes
from akita_model.shapes import MAX_DEPTH, TooDeep, shape

try:
    from akita_model import _shapes_c
except ImportError:  # installed as plain Python
    _shapes_c = None  # type: ignore[assignment]

IS_PURE = os.environ.get("AKITA_PURE_PYTHON", "") not in ("", "0")
pytestmark = pytest.mark.skipif(
    _shapes_c is None, reason="installed without the C extension"
)


@pytest.mark.skipif(IS_PURE, reason="installed as plain Python (AKITA_PURE_PYTHON)")
def test_the_build_uses_the_c_walk() -> None:
    assert _shapes_c is not None
    assert shapes._walk is _shapes_c.shape


# Strings of every kind the fast path tells apart: with and without ":" and
# "@", 36 long, starting with a digit (ASCII or not) or "-", and text of one,
# two and four bytes a character.
special_strings = st.sampled_from(
    [
        "",
        "-",
        "word",
        "a-slug-of-words",
        "9lives",
        "\u0663 arabic-indic three",
        "\u00b2 superscript two",
        "caf\u00e9",
        "\u65e5\u672c",
        "\U0001f600 emoji",
        "12:30",
        "ada@example.com",
        "ada@",
        "https://example.com/a",
        "2026-12-03T21:00:00+00:00",
        "2026-12-03T21:00:00.123456Z",
        "2026-02-30T21:00:00Z",
        "2026-12-03",
        "123",
        "-42",
        "00000000-0000-4000-8000-000000000000",
        "x" * 36,
        "192.0.2.1",
        "2001:db8::1",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
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


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_the_c_walk_gives_the_keys_of_shape(value: Any) -> None:
    assert _shapes_c.shape(value) == shape(value)


def _two_digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(min_value=low, max_value=high).map("{:02d}".format)


# Strings shaped like date-times, in and out of the form the C walk knows
# (is_common_date_time) and with fields in and out of their ranges.
date_time_like = st.builds(
    "{}-{}-{}{}{}:{}:{}{}{}".format,
    st.sampled_from(["0000", "0001", "1900", "2000", "2023", "2024", "9999"])
    | st.text("0123456789\u0663", min_size=4, max_size=4),
    _two_digits(0, 13) | st.just("1\u0663"),
    _two_digits(0, 32),
    st.sampled_from(["T", "t", " ", "x"]),
    _two_digits(0, 25),
    _two_digits(0, 61),
    _two_digits(0, 61),
    st.just("") | st.text("0123456789", max_size=12).map(".{}".format),
    st.sampled_from(["", "Z", "z", "+00:00", "-05:30", "+23:59", "+24:00", "+0530"])
    | st.builds(
        "{}{}:{}".format, st.sampled_from("+-"), _two_digits(0, 25), _two_digits(0, 61)
    ),
)


@settings(max_examples=1000, deadline=None)
@given(date_time_like)
def test_date_times_have_the_keys_of_shape(value: str) -> None:
    assert _shapes_c.shape({"at": value}) == shape({"at": value})
    assert _shapes_c.text_shape(json.dumps({"at": value})) == shape({"at": value})


@pytest.mark.parametrize(
    ("value", "has_format"),
    [
        ("2026-12-03T21:00:00+00:00", True),
        ("2024-02-29T00:00:00.123456789Z", True),
        ("2023-02-29T00:00:00Z", False),
        ("1900-02-29T00:00:00Z", False),
        ("2000-02-29T00:00:00Z", True),
        ("0000-01-01T00:00:00Z", False),
        ("2026-12-03T24:00:00Z", False),
        ("2026-12-03T21:00:60Z", False),
        ("2026-12-03T21:00:00+24:00", False),
        ("2026-12-03T21:00:00.1234567890123Z", True),
    ],
)
def test_date_time_examples(value: str, has_format: bool) -> None:
    key = shape({"at": value})
    assert (key == shape({"at": "2000-01-01T00:00:00Z"})) is has_format
    assert _shapes_c.shape({"at": value}) == key
    assert _shapes_c.text_shape(json.dumps({"at": value})) == key


def test_arrays_of_many_shapes_sum_each_shape_once() -> None:
    items = [{f"k{index % 40}": index % 3} for index in range(500)]

    assert _shapes_c.shape(items) == shape(items)
    assert _shapes_c.shape(items) == _shapes_c.shape(list(reversed(items)))
    assert _shapes_c.shape(items) == _shapes_c.shape(items[:120])


def test_values_json_does_not_have_get_the_key_of_shape() -> None:
    value = [(1, 2), {1, 2}, b"x", 1j, True, 1.5, None, {"a": (1,)}]

    assert _shapes_c.shape(value) == shape(value)


def _nested(depth: int, innermost: Any) -> Any:
    value = innermost
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


@pytest.mark.parametrize("innermost", [1, {}, [], {"b": 1}, [1]])
def test_values_nested_to_max_depth_have_keys(innermost: Any) -> None:
    value = _nested(MAX_DEPTH, innermost)
    if isinstance(innermost, dict | list) and innermost:
        with pytest.raises(TooDeep):
            shape(value)
        with pytest.raises(TooDeep):
            _shapes_c.shape(value)
    else:
        assert _shapes_c.shape(value) == shape(value)


def test_a_failing_format_check_fails_the_walk() -> None:
    def broken(value: str) -> str:
        raise ValueError(f"cannot tell {value!r}")

    try:
        _shapes_c.configure(broken, TooDeep, MAX_DEPTH)
        with pytest.raises(ValueError, match="cannot tell '12:30'"):
            _shapes_c.shape({"a": ["x", "12:30"]})
        assert _shapes_c.shape({"a": ["x", "y"]}) == shape({"a": ["x", "y"]})
    finally:
        _shapes_c.configure(shapes._format_key, TooDeep, MAX_DEPTH)


def test_configure_checks_what_it_is_given() -> None:
    with pytest.raises(TypeError, match="string_key must be callable"):
        _shapes_c.configure("s", TooDeep, MAX_DEPTH)
    with pytest.raises(TypeError, match="too_deep must be an exception class"):
        _shapes_c.configure(shapes._format_key, int, MAX_DEPTH)
    assert _shapes_c.shape({"a": "12:30"}) == shape({"a": "12:30"})


def test_the_walk_keeps_no_reference() -> None:
    text = "".join(["12:", "30"])  # a string of its own, made at run time
    value = {"a": [text, {"b": text}], "c": text}
    # The first walk may keep the string in shapes' memo of formats, as a
    # key of its own or not, by what earlier tests left there.
    _shapes_c.shape(value)
    before = sys.getrefcount(text)

    for _ in range(1000):
        _shapes_c.shape(value)

    assert sys.getrefcount(text) == before


def test_a_new_format_check_is_asked_again_for_strings_it_met() -> None:
    # The C reader keeps the keys the check gave; a new check starts afresh.
    text = '{"avatar": "https://cdn.example.com/a.png", "mail": "a@b.example"}'
    key = _shapes_c.text_shape(text)
    assert _shapes_c.text_shape(text) == key == shape(json.loads(text))

    def broken(value: str) -> str:
        raise RuntimeError(value)

    try:
        _shapes_c.configure(broken, TooDeep, MAX_DEPTH)
        with pytest.raises(RuntimeError, match="https://cdn.example.com/a.png"):
            _shapes_c.text_shape(text)
    finally:
        _shapes_c.configure(shapes._format_key, TooDeep, MAX_DEPTH)
    assert _shapes_c.text_shape(text) == key
