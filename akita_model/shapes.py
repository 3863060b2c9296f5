"""Shape keys of JSON values: what schema inference would learn from them.

Learning a schema from a body costs far more than telling whether an
operation has already seen a body of the same shape, so ``BodySchema``
works out the shape of each body first and learns only new shapes. Two
values have the same shape key exactly when they teach a schema the same:
the kind of every value, the keys of objects, the format of strings and
the set of item shapes of arrays.

This module is on the path of every witness. The package's build compiles
it, with the other modules on that path, into a C extension with mypyc; it
stays plain Python that runs the same uncompiled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson
from mypy_extensions import i64

from akita_model.formats import detect_format, looks_like_date_time

# Final: the compiled module reads these as constants, not from its globals.
MAX_DEPTH: Final = 32
_RECENT_TEXTS: Final = 64
_RECENT_SHAPES: Final = 256


# Bodies repeat their strings (names, statuses, e-mail addresses): the
# shape key of each short one (its format, or "s") is worked out once. A
# plain dict, emptied when full, costs less per look-up than lru_cache, and
# the keys are pure functions of the strings, so memoising changes nothing.
_MEMO_SIZE: Final = 16384
_MEMO_MAX_LENGTH: Final = 256
_string_keys: Final[dict[str, str]] = {}


def _string_key(value: str) -> str:
    if ":" not in value and "@" not in value and len(value) != 36:
        first = value[:1]
        if not first.isdigit() and first != "-":
            # Words, names and slugs: each of detect_format's tests needs
            # one of these, so such strings have no format.
            return "s"
    return _format_key(value)


def _format_key(value: str) -> str:
    # _string_key of a string that may have a format.
    if looks_like_date_time(value):
        # Timestamps rarely repeat: memoising them would only churn the memo.
        return detect_format(value) or "s"
    key = _string_keys.get(value)
    if key is not None:
        return key
    key = detect_format(value) or "s"
    if len(value) < _MEMO_MAX_LENGTH:
        if len(_string_keys) >= _MEMO_SIZE:
            _string_keys.clear()
        _string_keys[value] = key
    return key


def string_format(value: str) -> str | None:
    """Return the format of a string, memoised for short strings."""
    key = _string_key(value)
    return None if key == "s" else key


class TooDeep(Exception):
    """A body nests deeper than MAX_DEPTH."""


# Shape keys are 62-bit integers, built as a hash is, without allocating a
# node a value. Every product and sum is masked before it is shifted, so
# compiled code (where i64 arithmetic wraps) and plain Python (where ints
# grow) keep the same low bits and give the same keys.
_MASK: Final = (1 << 62) - 1
_OBJECT_SEED: Final = 0x1F3D5B79
_ARRAY_SEED: Final = 0x2E4C6A88
_KEY_FACTOR: Final = 0x100000001B3
_VALUE_FACTOR: Final = 0x5BD1E995
_INT_KEY: Final = 0x52
_SCALAR_KEYS: Final[dict[type, i64]] = {
    bool: 0x51,
    int: _INT_KEY,
    float: 0x53,
    type(None): 0x54,
}


def _mix(value: i64) -> i64:
    # A finaliser in the style of splitmix64: each input bit moves about
    # half of the output bits, so that sums of mixed keys rarely collide.
    value = (value ^ (value >> 31)) * 0x2545F4914F6CDD1D & _MASK
    value = (value ^ (value >> 29)) * 0x369DEA0F31A53F85 & _MASK
    return value ^ (value >> 32)


def _text_key(value: str) -> i64:
    return i64(hash(_string_key(value))) & _MASK


def shape(value: Any, depth: int = 0) -> i64:
    """Return an integer key, equal for values that teach a schema the same.

    The key covers the kind of every value, the keys of objects (in order),
    the format of strings and the set of item shapes of arrays: what schema
    inference learns, and nothing more. Different shapes get different keys
    but for a 62-bit hash collision.

    Raises:
        TooDeep: the value nests deeper than ``MAX_DEPTH``.
    """
    kind = type(value)
    if kind is dict:
        return _object_shape(value, depth)
    if kind is list:
        return _array_shape(value, depth)
    if kind is str:
        return _text_key(value)
    return _SCALAR_KEYS.get(kind, 0x54)


# The functions below are shape() for items, objects and arrays. _item_key
# recurses only into containers: shape() runs for every item of every body,
# and a call per leaf would cost most of it.
def _item_key(item: Any, depth: int) -> i64:
    kind = type(item)
    if kind is str:
        return _text_key(item)
    if kind is dict:
        return _object_shape(item, depth + 1)
    if kind is list:
        return _array_shape(item, depth + 1)
    return _SCALAR_KEYS.get(kind, 0x54)


def _object_shape(value: dict[str, Any], depth: int) -> i64:
    if depth >= MAX_DEPTH and value:
        raise TooDeep
    key: i64 = _OBJECT_SEED
    for name, item in value.items():
        key = (key ^ (i64(hash(name)) & _MASK)) * _KEY_FACTOR & _MASK
        # Strings and integers, the most common values, without a call.
        kind = type(item)
        if kind is str:
            item_key = _text_key(item)
        elif kind is int:
            item_key = _INT_KEY
        else:
            item_key = _item_key(item, depth)
        key = (key ^ item_key) * _VALUE_FACTOR & _MASK
    return _mix(key ^ i64(len(value)))


def _array_shape(value: list[Any], depth: int) -> i64:
    # The set of item shapes, in no order: the sum of their mixed keys over
    # the distinct ones. Most arrays hold one shape, found without a set.
    if depth >= MAX_DEPTH and value:
        raise TooDeep
    if not value:
        return _ARRAY_SEED
    first = _item_key(value[0], depth)
    others: set[i64] | None = None
    for index in range(1, len(value)):
        key = _item_key(value[index], depth)
        if key != first:
            if others is None:
                others = set()
            others.add(key)
    total = _mix(first)
    if others is not None:
        for key in others:
            total = (total + _mix(key)) & _MASK
    return _mix(total ^ _ARRAY_SEED)


def clip(value: Any, depth: int = 0) -> Any:
    """Return the value with objects and arrays below ``MAX_DEPTH`` emptied.

    Their kind is kept and their contents dropped, so that schema inference
    (which recurses) stays far from Python's recursion limit.
    """
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return {}
        return {key: clip(item, depth + 1) for key, item in value.items()}
    if kind is list:
        if depth >= MAX_DEPTH:
            return []
        return [clip(item, depth + 1) for item in value]
    return value


def distinct_items(value: Any) -> Any:
    """Return a copy of the value whose arrays keep one item of each shape.

    Learning an item teaches a schema nothing that learning an item of the
    same shape did not, so the copy teaches exactly what the value does, at
    the cost of one item a shape instead of one an element.
    """
    kind = type(value)
    if kind is dict:
        return {name: distinct_items(item) for name, item in value.items()}
    if kind is list:
        if len(value) < 2:
            return [distinct_items(item) for item in value]
        kept: dict[int, Any] = {}
        for item in value:
            key = _walk(item)
            if key not in kept:
                kept[key] = distinct_items(item)
        return list(kept.values())
    return value


# What RecentBodies.new_value returns for a body to skip (None is JSON's null).
SKIP: Any = object()


def _is_recent(recent: dict[int, None], key: int, size: int) -> bool:
    # A dict keeps insertion order: the first key is the least recent.
    if key in recent:
        del recent[key]
        recent[key] = None
        return True
    recent[key] = None
    if len(recent) > size:
        del recent[next(iter(recent))]
    return False


class RecentBodies:
    """Remember the texts and shapes of the bodies an operation saw last.

    A body whose text or shape is among the recent ones teaches nothing
    new, and learning a schema from it again can be skipped.
    """

    __slots__ = ("_texts", "_shapes")

    def __init__(self) -> None:
        self._texts: dict[int, None] = {}
        self._shapes: dict[int, None] = {}

    def new_value(self, value: Any, text: str | None) -> Any:
        """Return the value to learn from, or ``SKIP`` if it teaches nothing new.

        The value comes back as ``distinct_items`` makes it, and clipped if
        it nests deeper than ``MAX_DEPTH``.
        """
        # Hashes, not the texts, are kept, so that memory stays small; a hash
        # collision would need 2**64 bodies and would only skip one body.
        if text is not None and _is_recent(self._texts, hash(text), _RECENT_TEXTS):
            return SKIP
        try:
            key = _walk(value)
        except TooDeep:
            value = clip(value)
            key = _walk(value)
        if _is_recent(self._shapes, key, _RECENT_SHAPES):
            return SKIP
        return distinct_items(value)

    def new_text(self, text: str, key: int) -> Any:
        """Return what ``new_value`` would for a body known by its text.

        ``key`` is the shape key of the text's JSON value, which
        ``text_shape`` gave: the text is parsed only when the shape is new.
        The recent texts are not looked at: with the key known, hashing the
        text would cost more than it could save.
        """
        if _is_recent(self._shapes, key, _RECENT_SHAPES):
            return SKIP
        return distinct_items(orjson.loads(text))


def _no_text_shape(text: str) -> int | None:
    return None


# The walk of shape(), in C when the package was built with its extension
# (akita_model/_shapes_c.c), which gives the same keys: shape() stays the
# definition, and runs where the extension is missing.
#
# text_shape(text) is the shape key of a JSON text, read from the text by
# the extension without parsing it into values: the key shape() gives for
# the parsed value. None when it cannot tell (the text is not JSON, or is
# JSON it leaves to orjson), and always None without the extension: the
# text is then parsed and walked.
_walk: Callable[[Any], int] = shape
text_shape: Callable[[str], int | None] = _no_text_shape
try:
    from akita_model import _shapes_c
except ImportError:
    pass
else:
    # The extension tells the strings that cannot have a format itself.
    _shapes_c.configure(_format_key, TooDeep, MAX_DEPTH)
    _walk = _shapes_c.shape
    text_shape = _shapes_c.text_shape
