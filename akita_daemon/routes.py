"""Replace the parameters of a URL path by placeholders.

With the framework's route (Django's ``resolver_match.route``, such as
``api/articles/<slug:slug>/comments/<int:pk>``), the route says which parts
of the path are parameters, and each gets a placeholder of its converter's
kind (``<int:pk>`` becomes ``0``, ``<uuid:id>`` the fixed UUID). A regular
expression route (``re_path``) is used the same way, group by group. Without
a route, or when the path does not match it, every segment that has a data
format (an integer, a UUID, a date, an email address...) is replaced by the
placeholder of that format, the segments that path templating by heuristics
turns into parameters; the other segments are literal words of the API and
are kept, once checked for secrets.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, unquote

from akita_daemon.redact import redact_secrets
from akita_model.formats import PLACEHOLDERS, detect_format

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

_SEGMENT_SAFE = "@:!$&'()*+,;=-._~"


def _quote(segment: str) -> str:
    return quote(segment, safe=_SEGMENT_SAFE)


def _placeholder_for(value: str, default: str) -> str:
    data_format = detect_format(unquote(value))
    if data_format is None or data_format == "uri":
        return default
    return _quote(PLACEHOLDERS[data_format])


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


def _replace_by_format(path: str) -> str:
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if not segment:
            continue
        data_format = detect_format(unquote(segment))
        if data_format is None:
            segments[index] = redact_secrets(segment)
        else:
            segments[index] = _quote(PLACEHOLDERS[data_format])
    return "/".join(segments)


def replace_path_parameters(path: str, route: str | None) -> str:
    """Return ``path`` with its parameters replaced by placeholders.

    Args:
        path: the path of a URL, percent-encoded, such as ``/api/items/7``.
        route: the framework's route of the request, or None.

    Returns:
        The path with the same template and no parameter values.
    """
    if route:
        replaced = _replace_by_route(path, route)
        if replaced is not None:
            return replaced
    return _replace_by_format(path)
