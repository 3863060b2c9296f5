"""Latency statistics: quantiles from DDSketch, a fixed-edge histogram."""

from __future__ import annotations

import math
import pickle

from ddsketch import DDSketch
from hypothesis import given, settings
from hypothesis import strategies as st

from akita_model.stats import _MAPPING, RELATIVE_ACCURACY, LatencyStats, sketch_key


def _stats(values: list[float]) -> LatencyStats:
    stats = LatencyStats()
    for value in values:
        stats.add(value)
    return stats


def test_quantiles_min_max_and_histogram() -> None:
    assert _stats([float(v) for v in range(1, 101)]).to_extension() == {
        "count": 100,
        "min": 1.0,
        "p50": 49.903,
        "p90": 89.13,
        "p99": 98.505,
        "max": 100.0,
        "histogram": {
            "le": [
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
            ],
            "counts": [1, 1, 3, 5, 10, 30, 50, 0, 0, 0, 0, 0, 0, 0],
        },
    }


def test_values_on_an_edge_and_past_the_last() -> None:
    extension = _stats([0.0, 1.0, 10000.0, 10000.5, 99999.0]).to_extension()

    assert extension["histogram"]["counts"] == [
        2,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        2,
    ]
    assert extension["min"] == 0.0
    assert extension["max"] == 99999.0


def test_merged_stats_equal_the_whole() -> None:
    values = [0.3 * index**1.5 for index in range(200)]
    first, second = _stats(values[:77]), _stats(values[77:])

    first.merge(second)

    assert first.to_extension() == _stats(values).to_extension()
    assert first.to_extension() == _stats(list(reversed(values))).to_extension()


def test_no_latency_is_a_zero_count() -> None:
    assert LatencyStats().to_extension() == {"count": 0}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=1e7, allow_nan=False)
        | st.sampled_from([0.0, 1.0, 1.02, 1.0201, 5e-324, 1e-300]),
        min_size=1,
        max_size=60,
    )
)
def test_quantiles_are_those_of_a_sketch_given_every_value(values: list[float]) -> None:
    stats = _stats(values)
    plain = DDSketch(RELATIVE_ACCURACY)
    for value in values:
        plain.add(value)

    for quantile in (0.0, 0.25, 0.5, 0.9, 0.99, 1.0):
        value = plain.get_quantile_value(quantile)
        assert stats._quantile(quantile) == min(max(value, min(values)), max(values))
    assert stats.sketch.count == plain.count == len(values)


def test_latencies_not_yet_in_the_sketch_travel_with_it() -> None:
    stats = _stats([3.5, 3.51, 3.52, 40.0, 0.0])
    assert stats._pending  # counted by bin, not handed to the sketch yet

    copy = pickle.loads(pickle.dumps(stats))

    assert copy.to_extension() == stats.to_extension()
    assert copy.to_extension()["p50"] == 3.49


@settings(max_examples=500, deadline=None)
@given(
    st.floats(min_value=0, max_value=1e300, allow_nan=False, exclude_min=True)
    | st.sampled_from([1e-300, 5e-324, 1.0, 1.01, 1.0201, 2.0, 1000.0, 12.31])
)
def test_sketch_keys_are_the_mappings_keys(value: float) -> None:
    if value > _MAPPING.min_possible:
        assert sketch_key(value) == _MAPPING.key(value)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=1e6, allow_nan=False) | st.just(0.0),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=0, max_value=40),
    st.booleans(),
)
def test_merging_by_bin_equals_a_sketch_of_every_value(
    values: list[float], cut: int, read_first: bool
) -> None:
    first, second = _stats(values[:cut]), _stats(values[cut:])
    before = second.to_extension() if read_first else None

    first.merge(second)

    whole = _stats(values).to_extension()
    assert first.to_extension() == whole
    assert first.count == len(values)
    if before is not None:
        assert second.to_extension() == before
