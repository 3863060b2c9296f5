"""The string searches that read URLs and name-value lists, against the slow path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from akita_model.errors import EntryError
from akita_model.witness import (
    _other_pairs,
    _pairs,
    _url_groups_by_pattern,
    split_url,
)

try:
    from akita_model import _entries_c
except ImportError:  # installed as plain Python
    _entries_c = None  # type: ignore[assignment]

# Pieces URLs are made of, the odd ones included: schemes the searches
# leave to the pattern, separators that are not "://", white space of
# ASCII and of Unicode (which the pattern's \s also takes), delete, a
# non-ASCII letter.
_PIECES = [
    "http",
    "https",
    "HTTPS",
    "svn+ssh",
    "1http",
    "a.b",
    "://",
    ":/",
    ":",
    "//",
    "/",
    "?",
    "#",
    "&",
    "=",
    "@",
    "[::1]",
    ":8080",
    "api.example.com",
    "users",
    "42",
    "%20",
    " ",
    "\t",
    "\n",
    "\x1c",
    "\x7f",
    "\x85",
    "\u2003",
    "\u00e9",
    "",
]
urls = st.lists(st.sampled_from(_PIECES), max_size=10).map("".join)


@settings(max_examples=2000, deadline=None)
@given(urls)
def test_split_url_gives_the_patterns_groups(url: str) -> None:
    assert split_url(url) == _url_groups_by_pattern(url)


@pytest.mark.skipif(_entries_c is None, reason="installed without the C extension")
@settings(max_examples=2000, deadline=None)
@given(urls)
def test_the_c_reading_of_urls_gives_the_patterns_groups(url: str) -> None:
    groups = _entries_c.split_url(url)
    if groups is not None:
        assert groups == _url_groups_by_pattern(url)


@pytest.mark.skipif(_entries_c is None, reason="installed without the C extension")
@pytest.mark.parametrize(
    ("url", "groups"),
    [
        (
            "https://api.example.com/api/things/7?page=2#top",
            ("https", "api.example.com", "/api/things/7", "page=2"),
        ),
        ("/api/things?", (None, None, "/api/things", "")),
        ("http://h", ("http", "h", None, None)),
        ("svn+ssh://h/a", None),
        ("http://h/a b", None),
        ("http://h/caf\u00e9", None),
        ("", None),
    ],
)
def test_the_c_reading_of_url_examples(
    url: str, groups: tuple[str | None, ...] | None
) -> None:
    assert _entries_c.split_url(url) == groups


@pytest.mark.parametrize(
    ("url", "groups"),
    [
        (
            "https://api.example.com/a/b?x=1&y=2#top",
            ("https", "api.example.com", "/a/b", "x=1&y=2"),
        ),
        ("http://h", ("http", "h", None, None)),
        ("http://h?q", ("http", "h", None, "q")),
        ("http://h#f?q", ("http", "h", None, None)),
        ("http:///p", ("http", "", "/p", None)),
        ("/p?", (None, None, "/p", "")),
        ("//h/p", (None, None, "//h/p", None)),
        ("/p?a=/b?c#d", (None, None, "/p", "a=/b?c")),
        ("svn+ssh://h/p", ("svn+ssh", "h", "/p", None)),
        ("http://h/a b", None),
        ("p/q", None),
        ("", (None, None, None, None)),
    ],
)
def test_split_url_examples(url: str, groups: tuple[str | None, ...] | None) -> None:
    assert split_url(url) == groups == _url_groups_by_pattern(url)


names = st.one_of(st.text(max_size=4), st.integers(), st.none(), st.booleans())
items = st.one_of(
    st.fixed_dictionaries({"name": names, "value": names}),
    st.fixed_dictionaries({"name": names}),
    st.fixed_dictionaries(
        {"name": st.text(max_size=4), "value": st.text(max_size=4)},
        optional={"comment": st.text(max_size=4)},
    ),
    st.text(max_size=3),
    st.integers(),
)


def _outcome(read: Any, value: Any) -> Any:
    try:
        return read(value, "request.headers")
    except EntryError as error:
        return (error.reason, str(error))


@settings(max_examples=1000, deadline=None)
@given(st.one_of(st.lists(items, max_size=5), st.text(max_size=3)))
def test_pairs_read_what_the_general_reading_reads(value: Any) -> None:
    if not value:
        assert _pairs(value, "request.headers") == ()
        return
    assert _outcome(_pairs, value) == _outcome(_other_pairs, value)


def test_a_tuple_is_taken_as_the_pairs_themselves() -> None:
    # What decode_entry's C reader makes of a name-value list.
    pairs = (("A", "1"), ("B", "2"))
    assert _pairs(pairs, "request.headers") is pairs


def test_pairs_examples() -> None:
    assert _pairs([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "h") == (
        ("A", "1"),
        ("B", "2"),
    )
    assert _pairs([{"name": "A", "value": 1}], "h") == (("A", "1"),)
    with pytest.raises(EntryError, match="lacks a name or a value"):
        _pairs([{"name": "A"}], "h")
