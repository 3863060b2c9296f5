"""Learn the query, header and cookie parameters of an operation.

Transport and browser noise (``Host``, ``Content-Length``, ``Accept``,
``X-Forwarded-For``...) is left out, and so are credentials, which become
security schemes instead. Response headers are learnt the same way, per
status code, without the server's transport, caching and security-policy
headers (``Date``, ``Server``, ``Vary``, ``X-Frame-Options``...). Each
parameter keeps how many witnesses had it (``required`` means every one
did), whether it was repeated (an array) and the type of its values. The
parameters kept per location are bounded: past ``MAX_PARAMETERS`` names,
only the alphabetically smallest are kept, which still merges exactly,
since a name dropped once is dropped in every merge.
"""

from __future__ import annotations

import re
from typing import Any, Final

from akita_model.scalars import ScalarState

MAX_PARAMETERS: Final = 64

NOISE_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "forwarded",
        "accept",
        "accept-encoding",
        "accept-language",
        "accept-charset",
        "user-agent",
        "cookie",
        "authorization",
        "referer",
        "origin",
        "cache-control",
        "pragma",
        "dnt",
        "priority",
        "upgrade-insecure-requests",
        "x-real-ip",
        "x-request-id",
        "x-request-start",
        "x-amzn-trace-id",
        "x-cloud-trace-context",
        "traceparent",
        "tracestate",
        "connect-time",
        "total-route-time",
        "cdn-loop",
        "true-client-ip",
        "if-none-match",
        "if-modified-since",
        "expect",
    }
)
_NOISE_HEADER_PREFIXES: Final = (
    "x-forwarded-",
    "sec-",
    "cf-",
    "x-vercel-",
    "x-heroku-",
)
# Response headers that say how the server and the network carried the
# answer, or what a browser may do with it, not what the API returns.
NOISE_RESPONSE_HEADERS: Final = frozenset(
    {
        "date",
        "server",
        "content-length",
        "content-type",
        "content-encoding",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "trailer",
        "upgrade",
        "via",
        "age",
        "alt-svc",
        "vary",
        "set-cookie",
        "cache-control",
        "expires",
        "pragma",
        "accept-ranges",
        "x-frame-options",
        "x-content-type-options",
        "x-xss-protection",
        "referrer-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "cross-origin-embedder-policy",
        "strict-transport-security",
        "content-security-policy",
        "content-security-policy-report-only",
        "permissions-policy",
        "report-to",
        "nel",
        "server-timing",
        "x-powered-by",
        "x-runtime",
        "x-request-id",
        "x-served-by",
        "x-cache",
        "x-cache-hits",
        "x-timer",
    }
)
_NOISE_RESPONSE_HEADER_PREFIXES: Final = (
    "access-control-",
    "cf-",
    "x-amz-",
    "x-vercel-",
    "x-heroku-",
)
NOISE_COOKIES: Final = frozenset({"_ga", "_gid", "_gat", "_fbp", "__cf_bm", "_hjid"})
_NOISE_COOKIE: Final = re.compile(r"_ga_.*|_hj.*|__utm.*")

LOCATIONS: Final = ("query", "header", "cookie")


def is_noise_header(lower_name: str) -> bool:
    """Tell whether a lowercase header name is transport or browser noise."""
    return lower_name in NOISE_HEADERS or lower_name.startswith(_NOISE_HEADER_PREFIXES)


def is_noise_response_header(lower_name: str) -> bool:
    """Tell whether a lowercase response header name is transport noise."""
    return lower_name in NOISE_RESPONSE_HEADERS or lower_name.startswith(
        _NOISE_RESPONSE_HEADER_PREFIXES
    )


def is_noise_cookie(name: str) -> bool:
    """Tell whether a cookie is a tracker's, not the API's."""
    return name in NOISE_COOKIES or _NOISE_COOKIE.fullmatch(name) is not None


class ParameterState:
    """One parameter: how often it came, repeated or not, and its values."""

    __slots__ = ("count", "is_repeated", "values", "spelling")

    def __init__(self) -> None:
        self.count = 0
        self.is_repeated = False
        self.values = ScalarState()
        # For case-insensitive names (headers): the smallest spelling seen,
        # which does not depend on the order of the witnesses.
        self.spelling: str | None = None

    def respell(self, spelling: str) -> None:
        """Learn one more spelling of the name."""
        if self.spelling is None or spelling < self.spelling:
            self.spelling = spelling

    def merge(self, other: ParameterState) -> None:
        """Learn everything ``other`` learnt."""
        self.count += other.count
        self.is_repeated = self.is_repeated or other.is_repeated
        self.values.merge(other.values)
        if other.spelling is not None:
            self.respell(other.spelling)

    def schema(self) -> dict[str, Any]:
        """Return the parameter's JSON Schema."""
        scalar = self.values.to_schema()
        if self.is_repeated:
            return {"type": "array", "items": scalar}
        return scalar


class ParameterSet:
    """The parameters of one location (query, header or cookie)."""

    __slots__ = ("parameters",)

    def __init__(self) -> None:
        self.parameters: dict[str, ParameterState] = {}

    def add(self, pairs: list[tuple[str, str]]) -> None:
        """Learn the parameters of one witness, as (name, value) pairs."""
        seen: set[str] = set()
        parameters = self.parameters
        for name, value in pairs:
            state = parameters.get(name)
            if state is None:
                state = parameters[name] = ParameterState()
            if name in seen:
                state.is_repeated = True
            else:
                seen.add(name)
                state.count += 1
            state.values.add(value)
        if len(parameters) > MAX_PARAMETERS:
            self._trim()

    def add_spelled(self, items: list[tuple[str, str, str]]) -> None:
        """Learn (key, value, spelling) triples of case-insensitive names."""
        self.add([(key, value) for key, value, _ in items])
        parameters = self.parameters
        for key, _, spelling in items:
            state = parameters.get(key)
            if state is not None:
                state.respell(spelling)

    def _trim(self) -> None:
        for name in sorted(self.parameters)[MAX_PARAMETERS:]:
            del self.parameters[name]

    def merge(self, other: ParameterSet) -> None:
        """Learn everything ``other`` learnt."""
        for name, state in other.parameters.items():
            mine = self.parameters.get(name)
            if mine is None:
                mine = self.parameters[name] = ParameterState()
            mine.merge(state)
        if len(self.parameters) > MAX_PARAMETERS:
            self._trim()
