"""Partial models merge: the model of a trace equals the merge of its parts."""

from __future__ import annotations

import json
import os
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from akita_model import paths as paths_module
from akita_model.builder import build_summary, merge_summaries
from akita_model.openapi import dump_openapi, to_openapi
from akita_model.witness import Witness, parse_entry

from .har import make_entry

# Enough distinct slugs to collapse a position (COLLAPSE_AT is 20).
SLUGS = [f"post-{chr(97 + index // 26)}{chr(97 + index % 26)}" for index in range(26)]
UUIDS = [f"3f2504e0-4f89-41d3-9a0c-0305e82c33{index:02d}" for index in range(10)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-10, 10, allow_nan=False),
    st.sampled_from(
        ["x", "ada@example.com", "2026-12-03", "https://a.example/", *UUIDS]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(["a", "b", "c", "7", "8"]), children, max_size=3
        ),
    ),
    max_leaves=8,
)

paths = st.one_of(
    st.builds(lambda n: f"/api/users/{n}", st.integers(0, 99)),
    st.just("/api/users/me"),
    st.builds(lambda s: f"/blog/{s}/comments", st.sampled_from(SLUGS)),
    # A static sibling of the slugs, seen often enough to stay constant.
    st.just("/blog/featured/comments"),
    st.builds(
        lambda s, n: f"/blog/{s}/comments/{n}",
        st.sampled_from(SLUGS),
        st.integers(1, 3),
    ),
    st.builds(
        lambda s, t: f"/blog/{s}/{t}",
        st.sampled_from(SLUGS),
        st.sampled_from(SLUGS[:6]),
    ),
    st.builds(lambda u: f"/api/v1/items/{u}", st.sampled_from(UUIDS)),
    st.builds(
        lambda r, s: f"/{r}/things/{s}",
        st.sampled_from(["ra", "rb", "rc", "rd"]),
        st.sampled_from(SLUGS[:5]),
    ),
)
auth_headers = st.sampled_from(
    [
        [],
        [("Authorization", "Basic YWRhOnB3")],
        [("Authorization", "Bearer eyJhbGciOiJub25lIn0.e30.")],
        [("Authorization", "Bearer opaque")],
        [("Authorization", "Token abc")],
        [("X-Api-Key", "k")],
        [("X-Client", "web")],
    ]
)


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(paths)
    is_routed = (
        path.startswith("/api/users/")
        and path != "/api/users/me"
        and draw(st.booleans())
    )
    body_kind = draw(st.sampled_from(["none", "json", "form"]))
    body: Any = None
    body_type = "application/json"
    if body_kind == "json":
        body = json.dumps(draw(json_values))
    elif body_kind == "form":
        body = draw(st.sampled_from(["a=1", "a=x&b=true", "b=2.5"]))
        body_type = "application/x-www-form-urlencoded"
    query = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["page", "tag", "api_key"]), st.sampled_from(["1", "x"])
            ),
            max_size=3,
        )
    )
    second = draw(st.integers(0, 59))
    return make_entry(
        draw(st.sampled_from(["GET", "POST", "DELETE"])),
        "https://h.example" + path,
        draw(st.sampled_from([200, 201, 204, 404, 500])),
        route="api/users/<int:pk>" if is_routed else None,
        headers=draw(auth_headers),
        query=query,
        cookies=draw(st.sampled_from([[], [("sessionid", "s")], [("theme", "dark")]])),
        body=body,
        body_type=body_type,
        response=draw(st.one_of(st.none(), json_values.map(json.dumps))),
        started=f"2026-12-03T21:10:{second:02d}.5+00:00",
        time=draw(st.floats(0.1, 3000, allow_nan=False)),
    )


def _text(witnesses: list[Witness]) -> str:
    return dump_openapi(to_openapi(build_summary(witnesses)))


@settings(
    max_examples=int(os.environ.get("AKITA_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(entries(), max_size=40), st.data())
def test_merging_the_parts_gives_the_whole(
    trace: list[dict[str, Any]], data: st.DataObject
) -> None:
    witnesses = [parse_entry(entry) for entry in trace]
    split = data.draw(st.integers(0, len(witnesses)))
    first, second = witnesses[:split], witnesses[split:]
    collapse_at = data.draw(st.sampled_from([2, 4, paths_module.COLLAPSE_AT]))
    track_at = data.draw(st.sampled_from([3, 6, paths_module.TRACK_AT]))
    max_roots = data.draw(st.sampled_from([2, 3, paths_module.MAX_ROOTS]))

    # Low bounds make positions collapse, constant siblings appear and first
    # segments go in most examples.
    with (
        patch.object(paths_module, "COLLAPSE_AT", collapse_at),
        patch.object(paths_module, "TRACK_AT", track_at),
        patch.object(paths_module, "CONSTANT_MIN", 2),
        patch.object(paths_module, "MAX_ROOTS", max_roots),
    ):
        merged = merge_summaries(build_summary(first), build_summary(second))
        document = to_openapi(merged)
        assert dump_openapi(document) == _text(witnesses)
    validate(document)


@settings(
    max_examples=int(os.environ.get("AKITA_HYPOTHESIS_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(entries(), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_the_model_does_not_depend_on_order(
    trace: list[dict[str, Any]], random: Any
) -> None:
    witnesses = [parse_entry(entry) for entry in trace]
    shuffled = list(witnesses)
    random.shuffle(shuffled)

    with (
        patch.object(paths_module, "COLLAPSE_AT", 3),
        patch.object(paths_module, "TRACK_AT", 5),
        patch.object(paths_module, "CONSTANT_MIN", 2),
        patch.object(paths_module, "MAX_ROOTS", 3),
    ):
        assert _text(shuffled) == _text(witnesses)
        validate(to_openapi(build_summary(shuffled)))


def test_merging_leaves_both_parts_unchanged() -> None:
    first = build_summary([parse_entry(make_entry(url="/api/a", response={"x": 1}))])
    second = build_summary([parse_entry(make_entry(url="/api/a", response={"y": "z"}))])
    before = (dump_openapi(to_openapi(first)), dump_openapi(to_openapi(second)))

    merged = merge_summaries(first, second)

    assert (dump_openapi(to_openapi(first)), dump_openapi(to_openapi(second))) == before
    validate(to_openapi(merged))
    assert to_openapi(merged)["paths"]["/api/a"]["get"]["x-akita-witnesses"] == 2


def test_merging_three_ways_is_associative() -> None:
    witnesses = [
        parse_entry(make_entry(url=f"/blog/{slug}/comments", response={"n": index}))
        for index, slug in enumerate(SLUGS)
    ]
    a, b, c = witnesses[:9], witnesses[9:18], witnesses[18:]

    left = merge_summaries(
        merge_summaries(build_summary(a), build_summary(b)), build_summary(c)
    )
    right = merge_summaries(
        build_summary(a), merge_summaries(build_summary(b), build_summary(c))
    )

    assert (
        dump_openapi(to_openapi(left))
        == dump_openapi(to_openapi(right))
        == _text(witnesses)
    )
    validate(to_openapi(left))
    assert list(to_openapi(left)["paths"]) == ["/blog/{blog_id}/comments"]


def test_a_constant_sibling_stays_in_the_merge_of_two_halves() -> None:
    urls = [f"/blog/{slug}/comments" for slug in SLUGS] + [
        "/blog/featured/comments"
    ] * 10
    witnesses = [
        parse_entry(make_entry(url=url, response={"n": index}))
        for index, url in enumerate(urls)
    ]
    first, second = witnesses[::2], witnesses[1::2]

    merged = to_openapi(merge_summaries(build_summary(first), build_summary(second)))

    assert dump_openapi(merged) == _text(witnesses)
    assert {
        path: operations["get"]["x-akita-witnesses"]
        for path, operations in merged["paths"].items()
    } == {"/blog/featured/comments": 10, "/blog/{blog_id}/comments": 26}
    # Each half alone has 13 slugs: too few to collapse.
    assert len(to_openapi(build_summary(first))["paths"]) == 14


def test_writing_the_model_leaves_the_summary_as_it_was() -> None:
    # The collapse of /blog/{slug} is made for the document only: the
    # summary goes on learning as if no document had been written.
    witnesses = [
        parse_entry(make_entry(url=f"/blog/{slug}/comments", response={"n": 1}))
        for slug in SLUGS
    ]
    summary = build_summary(witnesses[:22])
    before = dump_openapi(to_openapi(summary))
    assert "/blog/{blog_id}/comments" in to_openapi(summary)["paths"]

    assert dump_openapi(to_openapi(summary)) == before
    for witness in witnesses[22:]:
        summary.add(witness)
    assert dump_openapi(to_openapi(summary)) == _text(witnesses)
