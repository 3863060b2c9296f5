"""Body schemas: GenSON extended, and its output in OpenAPI 3.1 style."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from akita_model.formats import detect_format
from akita_model.schema import MAX_PROPERTIES, BodySchema, BodySchemaBuilder
from akita_model.shapes import MAX_DEPTH, distinct_items, shape, string_format


def _schema(*values: Any) -> dict[str, Any]:
    body = BodySchema()
    for value in values:
        body.add(value)
    return body.to_schema()


def test_a_property_is_required_only_when_every_body_had_it() -> None:
    assert _schema({"a": 1, "b": "x"}, {"a": 2}) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "required": ["a"],
    }


def test_no_required_when_no_property_is_always_there() -> None:
    assert _schema({"a": 1}, {"b": 2}, {}) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    }


def test_null_makes_a_type_nullable() -> None:
    assert _schema({"a": None}, {"a": "x"}, {"a": {"b": 1}}, {"a": None}) == {
        "type": "object",
        "properties": {
            "a": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {"b": {"type": "integer"}},
                        "required": ["b"],
                    },
                    {"type": "string"},
                    {"type": "null"},
                ]
            }
        },
        "required": ["a"],
    }
    assert _schema({"id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}, {"id": None}) == {
        "type": "object",
        "properties": {"id": {"type": ["string", "null"], "format": "uuid"}},
        "required": ["id"],
    }
    assert _schema([{"a": 1}, None]) == {
        "type": "array",
        "items": {
            "type": ["object", "null"],
            "properties": {"a": {"type": "integer"}},
            "required": ["a"],
        },
    }


def test_integer_and_number_merge_as_number() -> None:
    assert _schema(1, 2.5) == {"type": "number"}
    assert _schema(1, 2) == {"type": "integer"}
    assert _schema(True, 1) == {"type": ["boolean", "integer"]}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["3f2504e0-4f89-41d3-9a0c-0305e82c3301"], "uuid"),
        (["ada@example.com", "bob@example.org"], "email"),
        (["2026-12-03T21:10:08Z", "2026-12-03T21:10:08.5+01:00"], "date-time"),
        (["2026-12-03"], "date"),
        (["https://example.com/a"], "uri"),
        (["192.0.2.1"], "ipv4"),
        (["2001:db8::1"], "ipv6"),
        (["ada@example.com", "not an email"], None),
        (["2026-12-03", "2026-12-03T21:10:08Z"], None),
    ],
)
def test_formats_only_when_every_string_has_it(
    values: list[str], expected: str | None
) -> None:
    schema = _schema(*values)

    assert schema.get("format") == expected
    assert schema["type"] == "string"


def test_objects_keyed_by_ids_are_maps() -> None:
    assert _schema(
        {"17": {"total": 3}, "18": {"total": 4.5, "note": "x"}},
        {"3f2504e0-4f89-41d3-9a0c-0305e82c3301": {"total": 1}},
        {},
    ) == {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {"note": {"type": "string"}, "total": {"type": "number"}},
            "required": ["total"],
        },
    }


def test_objects_with_too_many_keys_fold_into_maps() -> None:
    many = {f"key{index}": index for index in range(MAX_PROPERTIES + 1)}

    assert _schema({"a": 1}, many, {"b": "x"}) == {
        "type": "object",
        "additionalProperties": {"type": ["integer", "string"]},
    }


def test_merging_equals_learning_everything() -> None:
    values = [
        {"a": 1, "b": [1, {"c": None}], "d": "ada@example.com"},
        {"a": 2.5, "b": [], "e": {"1": True}},
        {"a": None, "d": "x", "e": {"2": False, "3": None}},
    ]
    for split in range(len(values) + 1):
        first, second = BodySchema(), BodySchema()
        for value in values[:split]:
            first.add(value)
        for value in values[split:]:
            second.add(value)

        first.merge(second)

        assert first.to_schema() == _schema(*values)


def test_shape_ignores_values_but_not_kinds_keys_or_formats() -> None:
    assert shape({"a": 1, "b": ["x", "y"]}) == shape({"a": 9, "b": ["z"]})
    assert shape({"a": 1}) != shape({"a": 1.5})
    assert shape({"a": 1}) != shape({"b": 1})
    assert shape({"a": "ada@example.com"}) != shape({"a": "ada"})
    assert shape([1, "x"]) == shape(["y", 2, 3])
    assert shape(None) != shape("n")


def test_an_empty_builder_has_an_empty_schema() -> None:
    assert BodySchema().to_schema() == {}


def test_deep_bodies_are_clipped_at_max_depth() -> None:
    deep: Any = 1
    for _ in range(900):
        deep = {"a": deep}

    schema = _schema(deep, [[[]]])

    depth = 0
    node = schema["oneOf"][1]
    while "properties" in node:
        node = node["properties"]["a"]
        depth += 1
    assert depth == MAX_DEPTH
    assert node == {"type": "object"}
    assert schema["oneOf"][0] == {
        "type": "array",
        "items": {"type": "array", "items": {"type": "array"}},
    }


any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(any_json, max_size=8), st.data())
def test_any_json_merges_like_the_whole(values: list[Any], data: st.DataObject) -> None:
    split = data.draw(st.integers(0, len(values)))
    first, second = BodySchema(), BodySchema()
    for value in values[:split]:
        first.add(value)
    for value in values[split:]:
        second.add(value)

    first.merge(second)

    assert first.to_schema() == _schema(*values) == _schema(*reversed(values))


def test_distinct_items_keeps_the_first_item_of_each_shape() -> None:
    value = {
        "a": [1, 2, "x", {"b": 1}, {"b": 2}, {"b": "y"}, [3, 4], [5]],
        "c": [],
        "d": [[1, 1], [2]],
        "e": "text",
    }

    assert distinct_items(value) == {
        "a": [1, "x", {"b": 1}, {"b": "y"}, [3]],
        "c": [],
        "d": [[1]],
        "e": "text",
    }
    assert value["a"] == [1, 2, "x", {"b": 1}, {"b": 2}, {"b": "y"}, [3, 4], [5]]


def _genson_schema(value: Any) -> dict[str, Any]:
    builder = BodySchemaBuilder(schema_uri=None)
    builder.add_object(value)
    schema: dict[str, Any] = builder.to_schema()
    return schema


@settings(max_examples=150, deadline=None)
@given(any_json)
def test_distinct_items_teach_what_all_items_teach(value: Any) -> None:
    assert _genson_schema(distinct_items(value)) == _genson_schema(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "word",
        "-",
        "-12",
        "12",
        "\u0661\u0662",
        "2026-12-03",
        "2026-12-03T21:10:08Z",
        "2026-13-03T21:10:08Z",
        "ada@example.com",
        "https://example.com/",
        "192.0.2.1",
        "2001:db8::1",
        "00000000-0000-4000-8000-000000000000",
        "x" * 36,
        "a:b",
        "12345678901234567890123",
    ],
)
def test_string_format_is_detect_format(value: str) -> None:
    assert string_format(value) == detect_format(value)
    assert string_format(value) == detect_format(value)


def test_a_body_that_is_null_is_learnt_once() -> None:
    body = BodySchema()

    body.add(None, "null")
    body.add(None, "null")

    assert body.to_schema() == {"type": "null"}


def _pickled(body: BodySchema) -> BodySchema:
    copy: BodySchema = pickle.loads(pickle.dumps(body))
    return copy


@settings(max_examples=100, deadline=None)
@given(st.lists(any_json, max_size=6), st.lists(any_json, max_size=6))
def test_a_schema_sent_between_processes_learns_and_merges_the_same(
    first: list[Any], second: list[Any]
) -> None:
    sent, kept = BodySchema(), BodySchema()
    for value in first:
        sent.add(value)
    for value in second:
        kept.add(value)
    whole = _schema(*first, *second)

    merged_into = _pickled(kept)
    merged_into.merge(_pickled(sent))
    kept.merge(_pickled(sent))
    learning = _pickled(sent)
    for value in second:
        learning.add(value)

    assert kept.to_schema() == merged_into.to_schema() == whole
    assert learning.to_schema() == whole
    assert _pickled(_pickled(sent)).to_schema() == sent.to_schema()


def test_an_empty_schema_stays_empty_between_processes() -> None:
    body = _pickled(BodySchema())

    assert body.to_schema() == {}
    other = BodySchema()
    other.merge(body)
    assert other.to_schema() == {}
