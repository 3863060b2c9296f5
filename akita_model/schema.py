"""Infer JSON Schemas of bodies, with GenSON extended where it falls short.

GenSON learns a schema from objects and merges schemas. Its strategies are
extended here by subclassing:

- ``FormattedString`` keeps a ``format`` only when every string had it;
- ``KeyedObject`` turns objects whose keys are ids (numbers, UUIDs) into
  ``additionalProperties`` maps, folds objects with more than
  ``MAX_PROPERTIES`` keys into maps too (so memory stays bounded), and always
  records ``required`` so that merging two schemas intersects it.

``BodySchema`` wraps a builder for one operation's body of one media type:
it skips a body whose text or shape it has just learnt (``RecentBodies``;
learning is idempotent), and merges with another. ``to_openapi_schema`` turns GenSON's
internal schema into OpenAPI 3.1 style: ``type: [x, "null"]`` for nullable,
``oneOf`` for mixed kinds, and no empty ``required``.
"""

from __future__ import annotations

import re
from typing import Any

from genson import SchemaBuilder
from genson.schema.node import SchemaNode
from genson.schema.strategies import Object, String

from akita_model.shapes import SKIP, RecentBodies, string_format

MAX_PROPERTIES = 200

_ID_KEY = re.compile(
    r"-?\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_OVERFLOW = "x-akita-overflow"
_NO_FORMAT = ""


class FormattedString(String):  # type: ignore[misc]
    """A string strategy that keeps the format common to every sample."""

    KEYWORDS = ("type", "format")

    def __init__(self, node_class: type[SchemaNode]) -> None:
        super().__init__(node_class)
        self._format: str | None = None

    def _add_format(self, value_format: str) -> None:
        if self._format is None:
            self._format = value_format
        elif self._format != value_format:
            self._format = _NO_FORMAT

    def add_schema(self, schema: dict[str, Any]) -> None:
        super().add_schema(schema)
        self._add_format(schema.get("format") or _NO_FORMAT)

    def add_object(self, obj: str) -> None:
        self._add_format(string_format(obj) or _NO_FORMAT)

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = super().to_schema()
        if self._format:
            schema["format"] = self._format
        return schema


class KeyedObject(Object):  # type: ignore[misc]
    """An object strategy that knows maps keyed by ids from records."""

    KEYWORDS = (
        "type",
        "properties",
        "patternProperties",
        "required",
        "additionalProperties",
        _OVERFLOW,
    )

    def __init__(self, node_class: type[SchemaNode]) -> None:
        super().__init__(node_class)
        self._map_values: SchemaNode | None = None
        self._is_overflowed = False

    def _values_node(self) -> SchemaNode:
        if self._map_values is None:
            self._map_values = self.node_class()
        return self._map_values

    def _overflow(self) -> None:
        # Too many distinct keys: a map, not a record. Fold every property.
        values = self._values_node()
        for node in self._properties.values():
            values.add_schema(node.to_schema())
        self._properties.clear()
        self._required = None
        self._is_overflowed = True

    def add_object(self, obj: dict[str, Any]) -> None:
        if self._is_overflowed or (obj and all(_ID_KEY.fullmatch(key) for key in obj)):
            values = self._values_node()
            for value in obj.values():
                values.add_object(value)
            return
        super().add_object(obj)
        if len(self._properties) > MAX_PROPERTIES:
            self._overflow()

    def add_schema(self, schema: dict[str, Any]) -> None:
        if "additionalProperties" in schema and isinstance(
            schema["additionalProperties"], dict
        ):
            self._values_node().add_schema(schema["additionalProperties"])
        if schema.get(_OVERFLOW):
            self._overflow()
        if self._is_overflowed:
            values = self._values_node()
            for subschema in schema.get("properties", {}).values():
                values.add_schema(subschema)
            return
        super().add_schema(schema)
        if len(self._properties) > MAX_PROPERTIES:
            self._overflow()

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = super().to_schema()
        if self._required is not None:
            schema["required"] = sorted(self._required)
        if self._map_values is not None:
            schema["additionalProperties"] = self._map_values.to_schema()
        if self._is_overflowed:
            schema[_OVERFLOW] = True
        return schema


class BodySchemaBuilder(SchemaBuilder):  # type: ignore[misc]
    """GenSON's builder with the strategies above."""

    EXTRA_STRATEGIES = (FormattedString, KeyedObject)


class BodySchema:
    """The schema of one operation's bodies of one media type."""

    __slots__ = ("_builder", "recent", "_unlearnt")

    def __init__(self) -> None:
        self._builder = BodySchemaBuilder(schema_uri=None)
        # The bodies seen last: a body of a shape among them is passed over
        # (the compiled operation module asks it first, see learn).
        self.recent = RecentBodies()
        # A schema received from another process and not learnt yet: most
        # are only merged into another summary, which needs no builder.
        self._unlearnt: dict[str, Any] | None = None

    def _ready(self) -> SchemaBuilder:
        if self._unlearnt is not None:
            self._builder.add_schema(self._unlearnt)
            self._unlearnt = None
        return self._builder

    def add(self, value: Any, text: str | None = None) -> None:
        """Learn one parsed JSON body; ``text`` is its raw text, if known."""
        new_value = self.recent.new_value(value, text)
        if new_value is not SKIP:
            self.learn(new_value)

    def add_text(self, text: str, key: int) -> None:
        """Learn one JSON body from its text and its value's shape key."""
        new_value = self.recent.new_text(text, key)
        if new_value is not SKIP:
            self.learn(new_value)

    def learn(self, new_value: Any) -> None:
        """Learn a value that ``recent`` gave as new."""
        self._ready().add_object(new_value)

    def __getstate__(self) -> dict[str, Any]:
        # GenSON's node classes are made at run time and do not pickle; the
        # schema they learnt does, and learning it again gives the same.
        return {"schema": self._learnt()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self._unlearnt = state["schema"]

    def _learnt(self) -> dict[str, Any] | None:
        # GenSON's schema of what was learnt, None when nothing was.
        if self._unlearnt is not None:
            return self._unlearnt
        if not len(self._builder):
            return None
        schema: dict[str, Any] = self._builder.to_schema()
        return schema

    def merge(self, other: BodySchema) -> None:
        """Learn everything ``other`` learnt."""
        schema = other._learnt()
        if schema is not None:
            self._ready().add_schema(schema)

    def to_schema(self) -> dict[str, Any]:
        """Return the OpenAPI 3.1 schema of every body learnt."""
        schema = self._learnt()
        return {} if schema is None else to_openapi_schema(schema)


_KEY_ORDER = {
    key: rank
    for rank, key in enumerate(
        ("type", "format", "properties", "required", "items", "additionalProperties")
    )
}


def _key_rank(key: str) -> tuple[int, str]:
    return (_KEY_ORDER.get(key, len(_KEY_ORDER)), key)


def _sort_key(schema: dict[str, Any]) -> str:
    return repr(sorted(schema.items(), key=lambda item: item[0]))


def _type_list(types: list[str]) -> list[str] | str:
    ordered = sorted(t for t in types if t != "null")
    if "null" in types:
        ordered.append("null")
    return ordered[0] if len(ordered) == 1 else ordered


def to_openapi_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Turn a GenSON schema into OpenAPI 3.1 style, recursively."""
    if "anyOf" in schema:
        return _any_of(schema["anyOf"])

    result: dict[str, Any] = {}
    for key in sorted(schema, key=_key_rank):
        value = schema[key]
        if key == "type" and isinstance(value, list):
            result["type"] = _type_list(value)
        elif key == "properties":
            result["properties"] = {
                name: to_openapi_schema(value[name]) for name in sorted(value)
            }
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            result[key] = to_openapi_schema(value)
        elif key == "required":
            if value:
                result["required"] = sorted(value)
        elif key == _OVERFLOW:
            continue
        else:
            result[key] = value
    return result


def _any_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    converted = [to_openapi_schema(schema) for schema in schemas]
    types: list[str] = []
    others: list[dict[str, Any]] = []
    for schema in converted:
        if set(schema) == {"type"}:
            kind = schema["type"]
            types.extend(kind if isinstance(kind, list) else [kind])
        else:
            others.append(schema)

    is_nullable = "null" in types
    plain = [kind for kind in types if kind != "null"]
    if plain:
        others.append({"type": _type_list(plain)})
    if len(others) == 1:
        only = dict(others[0])
        if is_nullable:
            kind = only.get("type")
            kinds = kind if isinstance(kind, list) else [kind]
            only["type"] = _type_list([*kinds, "null"])
        return only

    others.sort(key=_sort_key)
    if is_nullable:
        others.append({"type": "null"})
    return {"oneOf": others}
