"""Infer the type of values that HTTP carries as text.

Path segments, query and header values, cookies and form fields are all
strings on the wire. ``ScalarState`` learns, from every value seen, the
narrowest schema that fits them all: ``integer``, ``number``, ``boolean`` or
``string`` with a ``format`` when every value has the same one. The state is
a few fields whatever the number of values, and two states merge.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Final

from akita_model.formats import detect_format

_INTEGER: Final = re.compile(r"-?(0|[1-9]\d{0,18})")
_NUMBER: Final = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")

INTEGER: Final = 1
NUMBER: Final = 2
BOOLEAN: Final = 4
STRING: Final = 8

# A format state: None before any string, "" once strings disagree.
_NO_STRING: Final[str | None] = None
_MIXED: Final = ""


@lru_cache(maxsize=16384)
def value_kind(value: str) -> tuple[int, str | None]:
    """Return the kind bit of a text value and, for a string, its format.

    Memoised: parameter values repeat, and the function is pure.
    """
    if _INTEGER.fullmatch(value):
        return INTEGER, None
    if value == "true" or value == "false":
        return BOOLEAN, None
    if _NUMBER.fullmatch(value):
        return NUMBER, None
    return STRING, detect_format(value) or _MIXED


class ScalarState:
    """The kinds and the common string format of text values seen so far."""

    __slots__ = ("kinds", "format")

    def __init__(self, kinds: int = 0, format: str | None = _NO_STRING) -> None:
        self.kinds = kinds
        self.format = format

    def add(self, value: str) -> None:
        """Learn one more value."""
        kind, value_format = value_kind(value)
        self.kinds |= kind
        if kind == STRING:
            self._add_format(value_format)

    def _add_format(self, value_format: str | None) -> None:
        if value_format is None:
            return
        if self.format is None:
            self.format = value_format
        elif self.format != value_format:
            self.format = _MIXED

    def merge(self, other: ScalarState) -> None:
        """Learn everything ``other`` learnt."""
        self.kinds |= other.kinds
        self._add_format(other.format)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScalarState):
            return NotImplemented
        return (self.kinds, self.format) == (other.kinds, other.format)

    def __repr__(self) -> str:
        return f"ScalarState(kinds={self.kinds}, format={self.format!r})"

    def to_schema(self) -> dict[str, Any]:
        """Return the JSON Schema of every value seen."""
        kinds = self.kinds
        if kinds == INTEGER:
            return {"type": "integer"}
        if kinds and not kinds & ~(INTEGER | NUMBER):
            return {"type": "number"}
        if kinds == BOOLEAN:
            return {"type": "boolean"}
        schema: dict[str, Any] = {"type": "string"}
        if kinds == STRING and self.format:
            schema["format"] = self.format
        return schema
