"""Count what each operation did: witnesses, time span, statuses, latency.

Latency quantiles come from a DDSketch (relative accuracy 1%), whose bins
merge exactly, plus a histogram over fixed bucket edges; both are bounded in
memory whatever the number of witnesses.

Adding a value to the sketch costs several calls of its Python code, once
per witness. Latencies are counted by the sketch's bin key instead (the key
its mapping gives, worked out here with the same arithmetic) and handed to
the sketch one bin at a time, with the bin's count as weight, when it is
read: the bins and the count are those that adding each value would give,
and so are the quantiles. Two stats merge their counts by bin, and their
sketches only where one was made. The sketch's sum is not kept exactly; the
model never reads it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Any, Final

from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping

# Upper bucket edges in milliseconds; a value falls in the first edge >= it.
HISTOGRAM_EDGES: Final[tuple[float, ...]] = (
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1000,
    2000,
    5000,
    10000,
    math.inf,
)
RELATIVE_ACCURACY: Final = 0.01
DIGITS: Final = 3
# DDSketch(RELATIVE_ACCURACY) maps values to bins with this mapping.
_MAPPING: Final = LogarithmicMapping(RELATIVE_ACCURACY)
_SMALLEST_KEYED: Final[float] = _MAPPING.min_possible
_KEY_MULTIPLIER: Final[float] = _MAPPING._multiplier
_KEY_OFFSET: Final[float] = _MAPPING._offset
_LOG_2: Final = math.log(2.0)


def sketch_key(milliseconds: float) -> int:
    """Return the key of a latency's bin, as the sketch's mapping gives it.

    The mapping's own ``key`` is Python code of several calls; this is its
    arithmetic (``math.log(value, 2)`` is the same division of natural
    logarithms), for a latency above ``_SMALLEST_KEYED``.
    """
    return int(
        math.ceil(math.log(milliseconds) / _LOG_2 * _KEY_MULTIPLIER) + _KEY_OFFSET
    )


class LatencyStats:
    """The latencies of an operation's witnesses, in milliseconds."""

    __slots__ = (
        "count",
        "minimum",
        "maximum",
        "sketch",
        "histogram",
        "_pending",
        "_members",
    )

    def __init__(self) -> None:
        self.count = 0
        self.minimum = math.inf
        self.maximum = -math.inf
        # Made when latencies are handed to it (see _flush).
        self.sketch: DDSketch | None = None
        self.histogram = [0] * len(HISTOGRAM_EDGES)
        # Latencies not in the sketch yet: how many fell in each bin, by the
        # bin's key, and one of them.
        self._pending: dict[int, int] = {}
        self._members: dict[int, float] = {}

    def add(self, milliseconds: float) -> None:
        """Learn one latency."""
        self.count += 1
        if milliseconds < self.minimum:
            self.minimum = milliseconds
        if milliseconds > self.maximum:
            self.maximum = milliseconds
        if milliseconds > _SMALLEST_KEYED:
            key = sketch_key(milliseconds)
            seen = self._pending.get(key)
            if seen is None:
                self._pending[key] = 1
                self._members[key] = milliseconds
            else:
                self._pending[key] = seen + 1
        else:
            # Zero, which the sketch counts apart.
            self._sketch().add(milliseconds)
        self.histogram[bisect_left(HISTOGRAM_EDGES, milliseconds)] += 1

    def _sketch(self) -> DDSketch:
        sketch = self.sketch
        if sketch is None:
            sketch = self.sketch = DDSketch(RELATIVE_ACCURACY)
        return sketch

    def _flush(self) -> DDSketch:
        # Hand the pending latencies to the sketch, a bin at a time.
        sketch = self._sketch()
        members = self._members
        for key, weight in self._pending.items():
            sketch.add(members[key], float(weight))
        self._pending.clear()
        members.clear()
        return sketch

    def merge(self, other: LatencyStats) -> None:
        """Learn every latency ``other`` learnt, leaving ``other`` unchanged."""
        if not other.count:
            return
        self.count += other.count
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        pending = self._pending
        members = self._members
        for key, weight in other._pending.items():
            seen = pending.get(key)
            if seen is None:
                pending[key] = weight
                members[key] = other._members[key]
            else:
                pending[key] = seen + weight
        if other.sketch is not None:
            self._sketch().merge(other.sketch)
        self.histogram = [
            a + b for a, b in zip(self.histogram, other.histogram, strict=True)
        ]

    def _quantile(self, quantile: float) -> float:
        value = self._flush().get_quantile_value(quantile)
        if value is None:
            return self.minimum
        return min(max(value, self.minimum), self.maximum)

    def to_extension(self) -> dict[str, Any]:
        """Return the ``x-akita-latency`` value, floats rounded."""
        if not self.count:
            return {"count": 0}
        return {
            "count": self.count,
            "min": round(self.minimum, DIGITS),
            "p50": round(self._quantile(0.5), DIGITS),
            "p90": round(self._quantile(0.9), DIGITS),
            "p99": round(self._quantile(0.99), DIGITS),
            "max": round(self.maximum, DIGITS),
            "histogram": {
                "le": [
                    edge if math.isinf(edge) else int(edge) for edge in HISTOGRAM_EDGES
                ],
                "counts": list(self.histogram),
            },
        }
