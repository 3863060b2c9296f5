"""Path templates: from framework routes and from heuristics."""

from __future__ import annotations

import pytest

from akita_model import paths as paths_module
from akita_model.paths import (
    COLLAPSE_AT,
    PathTrie,
    RouteParam,
    looks_like_id,
    parameter_name,
    route_tokens,
    split_path,
    template_string,
)


@pytest.mark.parametrize(
    ("route", "template", "params"),
    [
        (
            "api/articles/<slug:slug>/comments/<int:pk>",
            "/api/articles/{slug}/comments/{pk}",
            [RouteParam("slug", "string"), RouteParam("pk", "integer")],
        ),
        (
            "api/products/<uuid:product_id>/",
            "/api/products/{product_id}",
            [RouteParam("product_id", "string", "uuid")],
        ),
        ("files/<path:name>", "/files/{name}", [RouteParam("name", "string")]),
        ("users/<username>", "/users/{username}", [RouteParam("username", "string")]),
        ("items/<custom:thing>", "/items/{thing}", [RouteParam("thing", "string")]),
        (
            "^api/archive/(?P<year>[0-9]{4})/$",
            "/api/archive/{year}",
            [RouteParam("year", "integer")],
        ),
        (
            r"^api/^posts/(?P<pk>\d+)/(?P<slug>[-\w]+)/$",
            "/api/posts/{pk}/{slug}",
            [RouteParam("pk", "integer"), RouteParam("slug", "string")],
        ),
        (
            r"^keys/(?P<key>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
            "/keys/{key}",
            [RouteParam("key", "string", "uuid")],
        ),
        (
            "^api/articles/<int:pk>/comments/",
            "/api/articles/{pk}/comments",
            [RouteParam("pk", "integer")],
        ),
        ("", "/", []),
        ("api/", "/api", []),
    ],
)
def test_templates_framework_routes(
    route: str, template: str, params: list[RouteParam]
) -> None:
    tokens = route_tokens(route)

    assert tokens is not None
    assert template_string(tokens) == template
    assert [token for token in tokens if isinstance(token, RouteParam)] == params


@pytest.mark.parametrize(
    "route", [r"^api/(\d+)/$", r"^api/(?P<a>x|y)?$", "^docs/.*$", "api/<int:pk"]
)
def test_refuses_routes_it_cannot_read(route: str) -> None:
    assert route_tokens(route) is None


@pytest.mark.parametrize(
    ("segment", "is_id"),
    [
        ("42", True),
        ("0", True),
        ("3f2504e0-4f89-41d3-9a0c-0305e82c3301", True),
        ("3F2504E04F8941D39A0C0305E82C3301", True),
        ("5f1d7a9c3b2e4d6f8a0b1c2d", True),
        ("deadbeef1", True),
        ("2026-12-03", True),
        ("cus_9s6XKzkNRiz8i3", True),
        ("lrn_6EjLU2sINbfKRwmqeqQM8s", True),
        ("deadbeef", False),
        ("users", False),
        ("me", False),
        ("how-to-train", False),
        ("v1", False),
        ("v2beta1", False),
        ("html5", False),
        ("page2", False),
    ],
)
def test_recognises_identifier_segments(segment: str, is_id: bool) -> None:
    assert looks_like_id(segment) is is_id


@pytest.mark.parametrize(
    ("parent", "name"),
    [
        ("users", "user_id"),
        ("categories", "category_id"),
        ("addresses", "address_id"),
        ("boxes", "box_id"),
        ("status", "status_id"),
        ("order-items", "order_item_id"),
        ("data", "data_id"),
        (None, "id"),
    ],
)
def test_names_parameters_after_their_parent(parent: str | None, name: str) -> None:
    assert parameter_name(parent) == name


def _template(trie: PathTrie, path: str) -> str:
    tokens, _ = trie.template(split_path(path))
    return template_string(tokens)


def test_templates_ids_and_keeps_static_siblings() -> None:
    trie = PathTrie()

    assert _template(trie, "/api/users/42/") == "/api/users/{user_id}"
    assert _template(trie, "/api/users/me") == "/api/users/me"
    assert _template(trie, "/api/v1/orders/7/items/9") == (
        "/api/v1/orders/{order_id}/items/{item_id}"
    )
    assert _template(trie, "/42/things") == "/42/things"
    assert _template(trie, "/") == "/"
    assert _template(trie, "/caf%C3%A9/menu%20items") == "/caf%C3%A9/menu%20items"
    assert _template(trie, "/x/%7Bid%7D") == "/x/%7Bid%7D"
    assert _template(trie, "/a/1/b/2/c/3") == "/a/{a_id}/b/{b_id}/c/{c_id}"


def test_names_repeated_parameters_uniquely() -> None:
    trie = PathTrie()

    assert _template(trie, "/x/1/2") == "/x/{x_id}/{id}"
    assert _template(trie, "/files/1/files/2") == "/files/{file_id}/files/{file_id2}"


def _final(trie: PathTrie, path: str) -> str:
    # The template the model gives a path, once every witness is learnt.
    tokens, _ = trie.template(split_path(path))
    assert tokens is not None
    return template_string(trie.finalised().canonical(tokens))


def test_collapses_a_position_with_many_distinct_values() -> None:
    trie = PathTrie()
    slugs = [f"post-number-{chr(97 + index)}" for index in range(COLLAPSE_AT)]

    for slug in slugs[:-1]:
        _template(trie, f"/blog/{slug}/comments")
    assert trie.finalised().canonical(("blog", "post-number-a", "comments")) == (
        "blog",
        "post-number-a",
        "comments",
    )

    # The twentieth distinct value collapses the position in the model; the
    # trie itself keeps counting, so that parts of a trace still merge.
    assert _template(trie, f"/blog/{slugs[-1]}/comments") == (
        "/blog/post-number-t/comments"
    )
    assert _final(trie, "/blog/brand-new/comments") == "/blog/{blog_id}/comments"
    assert trie.finalised().canonical(("blog", "post-number-a", "comments")) == (
        "blog",
        None,
        "comments",
    )


def test_keeps_constant_siblings_beside_a_collapsed_position() -> None:
    trie = PathTrie()
    names = [f"user-{chr(97 + index)}" for index in range(COLLAPSE_AT)]
    for name in names:
        _template(trie, f"/people/{name}")
    # "me" is seen 10 times, the others once each: 10 is at least 5 and at
    # least twice the mean (31 witnesses over 22 values).
    for _ in range(10):
        _template(trie, "/people/me")
    _template(trie, "/people/search/recent")

    assert _final(trie, "/people/me") == "/people/me"
    assert _final(trie, "/people/user-a") == "/people/{people_id}"
    # "search", seen once, counts as a name: it is one of the parameter's values.
    assert _final(trie, "/people/search/recent") == "/people/{people_id}/recent"


def test_a_sibling_seen_as_often_as_the_others_is_not_constant() -> None:
    trie = PathTrie()
    for _ in range(6):
        for index in range(COLLAPSE_AT):
            _template(trie, f"/tags/tag-{chr(97 + index)}")
        _template(trie, "/tags/popular")

    assert paths_module.constant_literals({"a": 6, "b": 6, "c": 6}) == frozenset()
    assert _final(trie, "/tags/popular") == "/tags/{tag_id}"


def test_constant_literals_need_a_floor_and_twice_the_mean() -> None:
    assert paths_module.constant_literals({}) == frozenset()
    assert paths_module.constant_literals({"me": 4, "a": 1}) == frozenset()
    assert paths_module.constant_literals({"me": 5, "a": 1, "b": 1}) == {"me"}
    # The mean of 10, 1, 1 and 4 is 4: the floor is 8, so "c" is not constant.
    assert paths_module.constant_literals({"me": 10, "a": 1, "b": 1, "c": 4}) == {"me"}


def test_a_position_past_the_tracking_bound_collapses_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paths_module, "TRACK_AT", 3)
    trie = PathTrie()
    for name in ("a1x", "b", "c"):
        assert _template(trie, f"/shelf/{name}/book") == f"/shelf/{name}/book"

    tokens, has_changed = trie.template(split_path("/shelf/d/book"))

    assert (tokens, has_changed) == (("shelf", None, "book"), True)
    assert trie.canonical(("shelf", "b", "book")) == ("shelf", None, "book")
    assert _template(trie, "/shelf/e/book") == "/shelf/{shelf_id}/book"


def test_never_collapses_api_and_version_segments() -> None:
    trie = PathTrie()
    for index in range(COLLAPSE_AT + 5):
        _template(trie, f"/root/resource-{chr(97 + index % 26)}{index}x")

    assert _final(trie, "/root/api") == "/root/api"
    assert _final(trie, "/root/v3") == "/root/v3"
    assert _final(trie, "/root/another") == "/root/{root_id}"


def test_merged_tries_decide_as_one() -> None:
    first, second, whole = PathTrie(), PathTrie(), PathTrie()
    paths = [
        f"/shop/item-{chr(97 + index)}/x/{chr(97 + index % 5)}z" for index in range(30)
    ]
    for index, path in enumerate(paths):
        (first if index % 2 else second).template(split_path(path))
        whole.template(split_path(path))

    first.merge(second)

    assert first.state() == whole.state()
    assert first.finalised().state() == whole.finalised().state()
    assert _final(first, "/shop/item-q/x/ww") == "/shop/{shop_id}/x/ww"


def test_models_only_the_smallest_first_segments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paths_module, "MAX_ROOTS", 3)
    trie = PathTrie()

    assert [trie.template(split_path(f"/{root}/x"))[0] for root in "bcd"] == [
        ("b", "x"),
        ("c", "x"),
        ("d", "x"),
    ]
    assert trie.template(split_path("/e/x")) == (None, False)
    assert trie.template(split_path("/a/x")) == (("a", "x"), True)
    assert trie.is_tracked(("c", "x"))
    assert not trie.is_tracked(("d", "x"))
    assert trie.template(split_path("/d/x")) == (None, False)
    assert trie.template(split_path("/")) == ((), False)
