"""Replace the parameters of a URL path by placeholders.

With the framework's route (Django's ``resolver_match.route``, such as
``api/articles/<slug:slug>/comments/<int:pk>``), the route says which parts
of the path are parameters, and each gets a placeholder of its converter's
kind (``<int:pk>`` becomes ``0``, ``<uuid:id>`` the fixed UUID). A regular
expression route (``re_path``) is used the same way, group by group.

Without a route, or with one the model builder cannot use, the path is
templated by the model builder's heuristics, so the same heuristics
(``akita_model.paths``) decide: each segment that looks like an identifier
is replaced by a placeholder that looks like one too, with the same kind and
format; the other segments (the first one, ``api``, versions, words) are
literal parts of the API and are kept, once checked for secrets, because
the heuristics also count how many distinct words a position shows.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, unquote

from akita_daemon.redact import redact_secrets
from akita_model.formats import PLACEHOLDERS, detect_format
from akita_model.paths import is_protected, looks_like_id, route_tokens
from akita_model.scalars import INTEGER, NUMBER, value_kind

# Each Django path converter: the pattern of its values, and the placeholder
# that keeps its kind (and matches that pattern).
_CONVERTERS: dict[str, tuple[str, str]] = {
    "int": ("[0-9]+", "0"),
    "str": ("[^/]+", "string"),
    "slug": ("[-a-zA-Z0-9_]+", "slug"),
    "uuid": (
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        PLACEHOLDERS["uuid"],
    ),
    "path": (".+", "path"),
}

# <int:pk> or <pk>, but not the (?P<pk>...) of a regular expression route.
_CONVERTER_TOKEN = re.compile(r"(?<!\?P)<(?:(?P<converter>\w+):)?(?P<name>\w+)>")

# A caret or dollar that anchors, not one that negates a class or is escaped.
_ANCHORS = re.compile(r"(?<![\[\\])\^|(?<!\\)\$|\\Z")

# Identifiers by heuristics: a number ("1e100000" is hex and a number) and a
# string with no format ("a0000000" is hex).
_NUMBER_ID = "1e100000"
_STRING_ID = "a0000000"

_SEGMENT_SAFE = "@:!$&'()*+,;=-._~"


def _quote(segment: str) -> str:
    return quote(segment, safe=_SEGMENT_SAFE)


def _placeholder_for(value: str, default: str) -> str:
    data_format = detect_format(unquote(value))
    if data_format is None or data_format == "uri":
        return default
    return _quote(PLACEHOLDERS[data_format])


@lru_cache(maxsize=1024)
def _is_usable(route: str) -> bool:
    """Tell whether the model builder templates paths by this route."""
    return route_tokens(route) is not None


@lru_cache(maxsize=1024)
def _compile_route(route: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """Return a pattern that matches paths of ``route``, and each group's kind.

    The kind is a converter name for a Django route, or ``"regex"`` for a
    group of a regular expression route. None means the route is unusable.
    """
    if _CONVERTER_TOKEN.search(route):
        pieces = []
        kinds = []
        position = 0
        for token in _CONVERTER_TOKEN.finditer(route):
            pieces.append(re.escape(route[position : token.start()]))
            converter = token.group("converter") or "str"
            value_pattern = _CONVERTERS.get(converter, ("[^/]+", ""))[0]
            pieces.append(f"({value_pattern})")
            kinds.append(converter)
            position = token.end()
        pieces.append(re.escape(route[position:]))
        body = "".join(pieces)
    else:
        # A regular expression route; Django joins included ones, so anchors
        # can appear in the middle as well as at the ends.
        body = _ANCHORS.sub("", route)
        try:
            compiled = re.compile(body)
        except re.error:
            return None
        if compiled.groups == 0:
            return None
        kinds = ["regex"] * compiled.groups

    try:
        pattern = re.compile(f"(?:^|/){body.lstrip('/')}$")
    except re.error:
        return None
    return pattern, tuple(kinds)


def _replace_by_route(path: str, route: str) -> str | None:
    compiled = _compile_route(route)
    if compiled is None:
        return None

    pattern, kinds = compiled
    match = pattern.search(path)
    if match is None:
        return None

    pieces = []
    position = 0
    for index, kind in enumerate(kinds, start=1):
        start, end = match.span(index)
        if start < 0 or start < position:
            continue
        pieces.append(redact_secrets(path[position:start]))
        default = _CONVERTERS[kind][1] if kind in _CONVERTERS else "string"
        if kind in ("int", "uuid"):
            pieces.append(default)
        else:
            pieces.append(_placeholder_for(path[start:end], default))
        position = end
    pieces.append(redact_secrets(path[position:]))
    return "".join(pieces)


def id_placeholder(segment: str) -> str:
    """Return a placeholder that templating by heuristics takes as ``segment``.

    It looks like an identifier too, and has the same kind (integer, number,
    string) and format, so the parameter's schema is the same.
    """
    kind, data_format = value_kind(segment)
    if kind == INTEGER:
        return "0"
    if kind == NUMBER:
        return _NUMBER_ID
    if data_format and looks_like_id(PLACEHOLDERS[data_format]):
        return PLACEHOLDERS[data_format]
    return _STRING_ID


def _replace_by_heuristics(path: str) -> str:
    segments = path.split("/")
    is_first = True
    for index, segment in enumerate(segments):
        if not segment:
            continue
        decoded = unquote(segment)
        if is_first or is_protected(decoded) or not looks_like_id(decoded):
            # Never a parameter for the model: a word of the API, kept.
            segments[index] = redact_secrets(segment)
        else:
            segments[index] = _quote(id_placeholder(decoded))
        is_first = False
    return "/".join(segments)


def replace_path_parameters(path: str, route: str | None) -> str:
    """Return ``path`` with its parameters replaced by placeholders.

    Args:
        path: the path of a URL, percent-encoded, such as ``/api/items/7``.
        route: the framework's route of the request, or None.

    Returns:
        The path with the same template and no parameter values.
    """
    if route and _is_usable(route):
        replaced = _replace_by_route(path, route)
        if replaced is not None:
            return replaced
    return _replace_by_heuristics(path)
