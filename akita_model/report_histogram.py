"""Lay out the latency histogram of the HTML report as SVG geometry.

The model keeps latency in fixed buckets (``x-akita-latency.histogram``:
upper edges ``le`` in milliseconds, the last one open, and a count each).
This module turns checked edges and counts into bars in SVG user units; the
template only draws them. It raises nothing: the caller checks the document.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HISTOGRAM_WIDTH = 640
HISTOGRAM_HEIGHT = 200
_PLOT_LEFT = 8
_PLOT_RIGHT = 8
_PLOT_TOP = 22
_PLOT_BOTTOM = 40
_BAR_FILL_RATIO = 0.8
_COUNT_GAP = 4
_LABEL_GAP = 16


@dataclass(frozen=True)
class Bar:
    """One bar of a latency histogram, in SVG user units."""

    x: float
    y: float
    width: float
    height: float
    center_x: float
    count_y: float
    count: int
    label: str
    tooltip: str


@dataclass(frozen=True)
class Histogram:
    """The geometry of a latency histogram's SVG."""

    width: int
    height: int
    axis_left: float
    axis_right: float
    baseline_y: float
    label_y: float
    caption_x: float
    caption_y: float
    total: int
    bars: tuple[Bar, ...]


def layout_histogram(edges: Sequence[float], counts: Sequence[int]) -> Histogram:
    """Lay out one bar per bucket.

    Bars share the plot's width equally; the tallest bar fills the plot's
    height and the others scale to it, so an empty histogram has flat bars.

    Args:
        edges: each bucket's upper edge in milliseconds, ascending; the last
            may be ``math.inf``.
        counts: each bucket's count, as many as edges.
    """
    plot_width = HISTOGRAM_WIDTH - _PLOT_LEFT - _PLOT_RIGHT
    plot_height = HISTOGRAM_HEIGHT - _PLOT_TOP - _PLOT_BOTTOM
    baseline_y = float(_PLOT_TOP + plot_height)
    slot = plot_width / max(len(counts), 1)
    bar_width = slot * _BAR_FILL_RATIO
    tallest = max(counts, default=0)

    bars = []
    lower: float | None = None
    for index, (upper, count) in enumerate(zip(edges, counts, strict=True)):
        height = plot_height * count / tallest if tallest else 0.0
        x = _PLOT_LEFT + index * slot + (slot - bar_width) / 2
        noun = "witness" if count == 1 else "witnesses"
        bars.append(
            Bar(
                x=round(x, 2),
                y=round(baseline_y - height, 2),
                width=round(bar_width, 2),
                height=round(height, 2),
                center_x=round(x + bar_width / 2, 2),
                count_y=round(baseline_y - height - _COUNT_GAP, 2),
                count=count,
                label=bucket_label(lower, upper),
                tooltip=f"{bucket_range(lower, upper)}: {count} {noun}",
            )
        )
        lower = upper

    return Histogram(
        width=HISTOGRAM_WIDTH,
        height=HISTOGRAM_HEIGHT,
        axis_left=float(_PLOT_LEFT),
        axis_right=float(HISTOGRAM_WIDTH - _PLOT_RIGHT),
        baseline_y=baseline_y,
        label_y=baseline_y + _LABEL_GAP,
        caption_x=HISTOGRAM_WIDTH / 2,
        caption_y=float(HISTOGRAM_HEIGHT - _COUNT_GAP),
        total=sum(counts),
        bars=tuple(bars),
    )


def bucket_label(lower: float | None, upper: float) -> str:
    """Name a bucket on the axis: ``≤5``, ``≤2s``, ``>10s``."""
    # Axis labels stay short so that fourteen buckets fit side by side; the
    # caption names the unit and the tooltip spells the range out.
    if math.isinf(upper):
        return "all" if lower is None else f">{_axis_ms(lower)}"
    return f"≤{_axis_ms(upper)}"


def bucket_range(lower: float | None, upper: float) -> str:
    """Name a bucket in words: ``2 to 5 ms``, ``over 10000 ms``."""
    if math.isinf(upper):
        return "any latency" if lower is None else f"over {lower:g} ms"
    if lower is None:
        return f"up to {upper:g} ms"
    return f"{lower:g} to {upper:g} ms"


def format_ms(value: Any) -> str:
    """Format milliseconds to about three significant digits, or a dash."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if not math.isfinite(value):
        return "∞"
    if abs(value) < 10:
        return f"{value:.2f}"
    if abs(value) < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def _axis_ms(value: float) -> str:
    if value >= 1000 and value % 1000 == 0:
        return f"{value / 1000:g}s"
    return f"{value:g}"
