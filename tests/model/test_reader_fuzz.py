"""No entry, however malformed, stops the reader: it is read or skipped."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from akita_model.builder import build_summary
from akita_model.openapi import to_openapi
from akita_model.reader import read_trace
from akita_model.witness import REASONS

from .har import make_entry

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 700) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = [
    ("request",),
    ("response",),
    ("startedDateTime",),
    ("time",),
    ("_akita",),
    ("request", "method"),
    ("request", "url"),
    ("request", "headers"),
    ("request", "queryString"),
    ("request", "cookies"),
    ("request", "postData"),
    ("response", "status"),
    ("response", "headers"),
    ("response", "content"),
    ("_akita", "v"),
    ("_akita", "route"),
    ("_akita", "service"),
    ("_akita", "truncated"),
    ("request", "postData", "text"),
    ("request", "postData", "mimeType"),
    ("request", "postData", "params"),
    ("response", "content", "text"),
    ("response", "content", "mimeType"),
    ("response", "content", "encoding"),
]


def _damage(entry: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    target = entry
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return entry


@settings(
    max_examples=int(os.environ.get("AKITA_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(FIELDS), json_values),
        min_size=1,
        max_size=8,
    )
)
def test_damaged_entries_are_read_or_skipped(
    tmp_path_factory: Any, damages: list[tuple[tuple[str, ...], Any]]
) -> None:
    lines = []
    for path, value in damages:
        entry = make_entry(
            url="/api/things/1",
            body={"a": 1},
            response={"b": [1]},
            akita={"v": 1, "route": "api/things/<int:pk>"},
        )
        lines.append(json.dumps(_damage(entry, path, value)))
    trace: Path = tmp_path_factory.mktemp("fuzz") / "trace.jsonl"
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")

    reader = read_trace([trace])
    witnesses = list(reader)
    document = to_openapi(build_summary(witnesses))

    assert reader.witnesses + sum(reader.skipped.values()) == len(lines)
    assert set(reader.skipped) <= set(REASONS)
    assert document["x-akita-witnesses"] == len(witnesses)
