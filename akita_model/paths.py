"""Turn request paths into path templates.

A witness whose capture knew the framework's route (``_akita.route``, for
Django ``resolver_match.route``) is templated from it: ``<int:pk>`` becomes
``{pk}`` typed ``integer``, and a ``re_path`` regex's named groups become
parameters too. Other paths are templated by heuristics:

- a segment that looks like an identifier (a number, a UUID, a hex or
  base62 id with digits, a date) is a parameter;
- a segment position that shows ``COLLAPSE_AT`` distinct literal values,
  not counting its constant ones, is a parameter too (slugs, user names);
  a constant value (one that recurs far more than the others, such as
  ``me`` among user names) stays a static route beside it;
- the first segment, ``api`` and version segments (``v1``, ``v2.1``) are
  never parameters.

The heuristic state is a ``PathTrie``: per path prefix, how often each
literal value was seen after it, for at most ``TRACK_AT`` distinct values,
and whether the position collapsed past that bound. Two tries merge, and
every decision depends on the merged trie alone, so a model built from two
halves of a trace equals the model of the whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote

from mypy_extensions import mypyc_attr

COLLAPSE_AT: Final = 20
TRACK_AT = 64
CONSTANT_MIN: Final = 5
CONSTANT_FACTOR: Final = 2.0
MAX_ROOTS = 1000
MAX_SEGMENTS: Final = 32

_INTEGER: Final = re.compile(r"\d+")
_UUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
_HEX: Final = re.compile(r"[0-9a-fA-F]{8,}")
_BASE62: Final = re.compile(r"(?:[A-Za-z]{1,8}_)?[A-Za-z0-9]{10,}")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIGIT: Final = re.compile(r"\d")
_PROTECTED: Final = re.compile(
    r"api|v\d+(?:\.\d+)*(?:(?:alpha|beta|rc)\d*)?", re.IGNORECASE
)

# A route converter's schema.
_CONVERTERS: Final[dict[str, dict[str, str]]] = {
    "int": {"type": "integer"},
    "uuid": {"type": "string", "format": "uuid"},
    "slug": {"type": "string"},
    "str": {"type": "string"},
    "path": {"type": "string"},
}
_ROUTE_PARAM: Final = re.compile(
    r"<(?:(?P<converter>[A-Za-z_]\w*):)?(?P<name>[A-Za-z_]\w*)>"
)
_NAMED_GROUP: Final = re.compile(r"\(\?P<(?P<name>[A-Za-z_]\w*)>")
_INTEGER_PATTERNS: Final = frozenset(
    {r"\d+", r"[0-9]+", r"\d*", r"[0-9]*", r"-?\d+", r"[-]?\d+"}
)
_REPEAT: Final = re.compile(r"\{\d+(,\d*)?\}")
# Characters a path segment keeps as they are; others, braces among them,
# are percent-encoded so that a literal never reads as a parameter.
_PATH_SAFE: Final = "-._~!$&'()*+,;=:@"
_REGEX_LEFTOVER: Final = re.compile(r"[()\[\]*+?|\\<>]")


# Pickled between processes: a plain class, so that unpickling sets frozen
# fields the way dataclasses allow.
@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class RouteParam:
    """A path parameter named by the framework's route."""

    name: str
    schema_type: str
    schema_format: str | None = None

    def to_schema(self) -> dict[str, Any]:
        """Return the parameter's JSON Schema."""
        schema: dict[str, Any] = {"type": self.schema_type}
        if self.schema_format:
            schema["format"] = self.schema_format
        return schema


# A token of a path template: a literal segment, a heuristic parameter
# (None) or a route's parameter.
Token = str | RouteParam | None
Tokens = tuple[Token, ...]


def split_path(path: str) -> list[str]:
    """Split a URL path into its decoded, non-empty segments."""
    # unquote is interpreted code: call it only on segments that need it.
    segments = [
        unquote(segment) if "%" in segment else segment
        for segment in path.split("/")
        if segment
    ]
    return segments[:MAX_SEGMENTS]


def is_protected(segment: str) -> bool:
    """Tell whether a segment is never templated (``api``, ``v1``...)."""
    return _PROTECTED.fullmatch(segment) is not None


def looks_like_id(segment: str) -> bool:
    """Tell whether one segment, alone, looks like an identifier."""
    if _INTEGER.fullmatch(segment):
        return True
    if len(segment) >= 32 and _UUID.fullmatch(segment):
        return True
    if _DATE.fullmatch(segment):
        return True
    if _DIGIT.search(segment) is None:
        return False
    if _HEX.fullmatch(segment):
        return True
    return _BASE62.fullmatch(segment) is not None and not is_protected(segment)


def _converter_param(match: re.Match[str]) -> RouteParam:
    converter = match["converter"] or "str"
    schema = _CONVERTERS.get(converter, {"type": "string"})
    return RouteParam(match["name"], schema["type"], schema.get("format"))


def _regex_group_schema(pattern: str) -> RouteParam:
    if pattern in _INTEGER_PATTERNS or re.fullmatch(
        r"(\\d|\[0-9\])\{\d+(,\d*)?\}", pattern
    ):
        return RouteParam("", "integer")
    if "[0-9a-f]" in pattern.lower() and "-" in pattern and len(pattern) > 30:
        return RouteParam("", "string", "uuid")
    return RouteParam("", "string")


def _group_end(route: str, start: int) -> int:
    depth = 0
    index = start
    while index < len(route):
        char = route[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _regex_route_tokens(route: str) -> Tokens | None:
    tokens: list[Token] = []
    text = route.replace("^", "").replace("$", "").replace(r"\Z", "")
    text = text.replace("/?", "/")
    for segment in text.split("/"):
        if not segment:
            continue
        match = _NAMED_GROUP.match(segment)
        if match:
            end = _group_end(segment, 0)
            if end != len(segment) - 1:
                return None
            inner = segment[match.end() : end]
            kind = _regex_group_schema(inner)
            tokens.append(
                RouteParam(match["name"], kind.schema_type, kind.schema_format)
            )
            continue
        converted = _ROUTE_PARAM.fullmatch(segment)
        if converted:
            # A path() route included under a re_path() one: both syntaxes.
            tokens.append(_converter_param(converted))
            continue
        literal = segment.replace("\\.", ".").replace("\\-", "-")
        if _REGEX_LEFTOVER.search(literal) or _REPEAT.search(literal):
            return None
        tokens.append(literal)
    return tuple(tokens)


def route_tokens(route: str) -> Tokens | None:
    """Return the template tokens of a framework route, or None if unusable.

    Django ``path()`` routes (``articles/<slug:slug>``) and ``re_path()``
    regexes with named groups are understood; a route with anything else
    (unnamed groups, alternations) returns None and the path is templated by
    heuristics instead.
    """
    if "(?P<" in route or route.startswith("^") or route.endswith("$"):
        return _regex_route_tokens(route)

    tokens: list[Token] = []
    for segment in route.split("/"):
        if not segment:
            continue
        match = _ROUTE_PARAM.fullmatch(segment)
        if match:
            tokens.append(_converter_param(match))
            continue
        if "<" in segment or ">" in segment:
            return None
        tokens.append(segment)
    return tuple(tokens)


def _singular(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if lower.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if lower.endswith(("ss", "us", "is")) or not lower.endswith("s"):
        return word
    return word[:-1]


_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9_]+")


def parameter_name(parent: Token) -> str:
    """Name a heuristic parameter after the literal segment before it."""
    if not isinstance(parent, str):
        return "id"
    base = _NOT_NAME.sub("_", _singular(parent)).strip("_").lower()
    return f"{base}_id" if base else "id"


def template_names(tokens: Tokens) -> list[str]:
    """Return the names of a template's parameters, in order, made unique."""
    names: list[str] = []
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            continue
        if isinstance(token, RouteParam):
            name = token.name
        else:
            name = parameter_name(tokens[index - 1] if index else None)
        unique = name
        suffix = 2
        while unique in names:
            unique = f"{name}{suffix}"
            suffix += 1
        names.append(unique)
    return names


def template_string(tokens: Tokens) -> str:
    """Return the OpenAPI path of template tokens (``/users/{user_id}``)."""
    names = iter(template_names(tokens))
    parts = [
        quote(token, safe=_PATH_SAFE)
        if isinstance(token, str)
        else "{" + next(names) + "}"
        for token in tokens
    ]
    return "/" + "/".join(parts)


def template_shape(tokens: Tokens) -> tuple[str | None, ...]:
    """Return the tokens with every parameter as None, to compare templates."""
    return tuple(token if isinstance(token, str) else None for token in tokens)


def constant_literals(counts: dict[str, int]) -> frozenset[str]:
    """Return the literals that recur far more than their siblings do.

    A constant literal (``/users/me`` among user names) is seen at least
    ``CONSTANT_MIN`` times and at least ``CONSTANT_FACTOR`` times as often as
    the mean literal at its position: a static route beside a parameter.
    """
    if not counts:
        return frozenset()
    mean = sum(counts.values()) / len(counts)
    floor = max(CONSTANT_MIN, CONSTANT_FACTOR * mean)
    return frozenset(value for value, count in counts.items() if count >= floor)


def _collapses(counts: dict[str, int]) -> frozenset[str] | None:
    # The literals kept at a position that collapses in the model (its
    # constant ones), or None when it does not collapse: it collapses when
    # its other literals are COLLAPSE_AT distinct values or more.
    constants = constant_literals(counts)
    if len(counts) - len(constants) >= COLLAPSE_AT:
        return constants
    return None


class PathTrie:
    """How often each literal segment was seen after each path prefix.

    A prefix is a tuple of tokens (a literal or None for a parameter). Each
    prefix counts its literals exactly, up to ``TRACK_AT`` distinct ones;
    one more and the prefix collapses for good: its counts are forgotten and
    its segments become a parameter. This keeps memory bounded.

    Below that bound, the decision waits for the model: ``finalised``
    collapses each prefix whose literals, leaving out the constant ones,
    are ``COLLAPSE_AT`` or more, and keeps its constant literals beside the
    parameter. The counts merge exactly, so the decision is the same for a
    whole trace and for the merge of its parts.
    """

    __slots__ = ("_literals", "_collapsed", "_roots", "_largest_root")

    def __init__(self) -> None:
        self._literals: dict[tuple[str | None, ...], dict[str, int]] = {}
        # A collapsed prefix and the literals that stay literal there.
        self._collapsed: dict[tuple[str | None, ...], frozenset[str]] = {}
        self._roots: set[str] = set()
        self._largest_root: str | None = None

    def is_tracked(self, tokens: tuple[Token, ...]) -> bool:
        """Tell whether a template's first segment is among those modelled."""
        return not tokens or tokens[0] in self._roots

    def _admit(self, root: str) -> tuple[bool, bool]:
        # The first segments modelled are the MAX_ROOTS smallest seen, which
        # merges exactly: a root pushed out stays out, since the smaller
        # roots that pushed it out never go. Returns (admitted, evicted).
        roots = self._roots
        if root in roots:
            return True, False
        if len(roots) < MAX_ROOTS:
            roots.add(root)
            self._largest_root = None
            return True, False
        if self._largest_root is None:
            self._largest_root = max(roots)
        largest = self._largest_root
        if root > largest:
            return False, False
        roots.add(root)
        self._drop_roots({largest})
        return True, True

    def _drop_roots(self, roots: set[str]) -> None:
        self._roots -= roots
        self._largest_root = None
        for prefix in [p for p in self._literals if p[0] in roots]:
            del self._literals[prefix]
        for prefix in [p for p in self._collapsed if p[0] in roots]:
            del self._collapsed[prefix]

    def template(
        self, segments: list[str]
    ) -> tuple[tuple[str | None, ...] | None, bool]:
        """Learn a path's segments and return its tokens.

        The tokens are None when the path's first segment is not modelled
        (past ``MAX_ROOTS`` first segments). The second value is true when
        learning the path collapsed a position or pushed a first segment out:
        templates made before are then to be canonicalised again, and those
        whose first segment is no longer modelled dropped.
        """
        tokens: list[str | None] = []
        has_changed = False
        if segments:
            is_admitted, has_changed = self._admit(segments[0])
            if not is_admitted:
                return None, False
        for index, segment in enumerate(segments):
            if index == 0 or is_protected(segment):
                tokens.append(segment)
                continue
            if looks_like_id(segment):
                tokens.append(None)
                continue
            prefix = tuple(tokens)
            kept = self._collapsed.get(prefix)
            if kept is not None:
                tokens.append(segment if segment in kept else None)
                continue
            counts = self._literals.get(prefix)
            if counts is None:
                counts = self._literals[prefix] = {}
            counts[segment] = counts.get(segment, 0) + 1
            if len(counts) > TRACK_AT:
                # Longer prefixes under this one meet now: re-key them before
                # the rest of the path is learnt.
                self._collapse(prefix, frozenset())
                self.normalise()
                has_changed = True
                tokens.append(None)
                continue
            tokens.append(segment)
        if has_changed:
            return self.canonical(tuple(tokens)), True
        return tuple(tokens), False

    def _collapse(self, prefix: tuple[str | None, ...], kept: frozenset[str]) -> None:
        self._collapsed[prefix] = kept
        self._literals.pop(prefix, None)

    def canonical(self, tokens: tuple[str | None, ...]) -> tuple[str | None, ...]:
        """Return tokens with every literal a collapsed position drops as None."""
        result: list[str | None] = []
        for token in tokens:
            if token is not None and not is_protected(token):
                kept = self._collapsed.get(tuple(result))
                if kept is not None and token not in kept:
                    result.append(None)
                    continue
            result.append(token)
        return tuple(result)

    def normalise(self, final: bool = False) -> None:
        """Re-key every prefix after collapses, collapsing further if needed.

        Prefixes are processed shortest first, so that the collapse of a
        shorter prefix is known before the longer ones are re-keyed. With
        ``final``, prefixes also collapse as the model has them (see the
        class's description).
        """
        prefixes = set(self._literals) | set(self._collapsed)
        old_literals = self._literals
        old_collapsed = self._collapsed
        self._literals = {}
        self._collapsed = {}
        for prefix in sorted(prefixes, key=lambda p: (len(p), _sort_key(p))):
            canonical = self.canonical(prefix)
            if canonical in self._collapsed:
                continue
            kept = old_collapsed.get(prefix)
            if kept is not None:
                self._collapse(canonical, kept)
                continue
            counts = self._literals.get(canonical)
            if counts is None:
                counts = self._literals[canonical] = {}
            for value, count in old_literals.get(prefix, {}).items():
                counts[value] = counts.get(value, 0) + count
            if len(counts) > TRACK_AT:
                self._collapse(canonical, frozenset())
        if final:
            self._collapse_final()

    def _collapse_final(self) -> None:
        # Collapsing a prefix can make longer prefixes meet, and their merged
        # counts collapse in turn: repeat until nothing changes.
        while True:
            collapses = {
                prefix: kept
                for prefix, counts in self._literals.items()
                if (kept := _collapses(counts)) is not None
            }
            if not collapses:
                return
            for prefix, kept in collapses.items():
                self._collapse(prefix, kept)
            self.normalise()

    def finalised(self) -> PathTrie:
        """Return a copy with every prefix collapsed as the model has it."""
        # normalise builds new dicts of prefixes and only reads these ones:
        # handing them over leaves this trie as it is.
        final = PathTrie()
        final._literals = self._literals
        final._collapsed = self._collapsed
        final._roots = set(self._roots)
        final.normalise(final=True)
        return final

    def merge(self, other: PathTrie) -> None:
        """Learn everything ``other`` learnt, then normalise."""
        for prefix, counts in other._literals.items():
            if prefix in self._collapsed:
                continue
            mine = self._literals.get(prefix)
            if mine is None:
                mine = self._literals[prefix] = {}
            for value, count in counts.items():
                mine[value] = mine.get(value, 0) + count
        for prefix, kept in other._collapsed.items():
            self._collapsed[prefix] = kept
        for prefix in self._collapsed:
            self._literals.pop(prefix, None)
        roots = self._roots | other._roots
        self._roots = roots
        self._largest_root = None
        if len(roots) > MAX_ROOTS:
            self._drop_roots(set(sorted(roots)[MAX_ROOTS:]))
        self.normalise()

    def state(
        self,
    ) -> tuple[
        dict[tuple[str | None, ...], dict[str, int]],
        dict[tuple[str | None, ...], frozenset[str]],
        frozenset[str],
    ]:
        """Return the trie's state, to compare two tries."""
        return (
            {prefix: dict(counts) for prefix, counts in self._literals.items()},
            dict(self._collapsed),
            frozenset(self._roots),
        )


def _sort_key(tokens: Iterable[str | None]) -> tuple[tuple[int, str], ...]:
    return tuple((0, "") if token is None else (1, token) for token in tokens)
