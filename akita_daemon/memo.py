"""A bounded memo for the obfuscation's hot path.

Obfuscation meets the same short strings again and again (header values,
object keys, enums). Remembering what it made of them saves most of its
work, but what it remembers must stay small: a memo is emptied whole once it
holds ``MEMO_SIZE`` entries, which costs nothing per lookup, unlike a least
recently used cache. It lives in memory only; nothing of it is written.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

MEMO_SIZE = 8192


class Memo(dict[K, V]):
    """A dict that empties itself before it grows past ``MEMO_SIZE``.

    Reading is plain ``dict.get``, at C speed; :meth:`remember` writes.
    """

    __slots__ = ()

    def remember(self, key: K, value: V) -> V:
        """Store ``value`` under ``key`` and return it."""
        if len(self) >= MEMO_SIZE:
            self.clear()
        self[key] = value
        return value
