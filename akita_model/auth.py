"""Find how a witness authenticated itself.

The kinds of authentication, and the names of their security schemes, are
fixed by docs/model.md: ``basicAuth``, ``bearerAuth``, ``tokenAuth`` (other
``Authorization`` schemes), ``apiKeyHeader_<Name>``, ``apiKeyQuery_<name>``,
``apiKeyCookie_<name>`` and ``sessionCookie_<name>``. Only the scheme and the
name of a credential matter, never its value, so that an obfuscated trace
gives the same model as the raw one.
"""

from __future__ import annotations

import re
from typing import Any, Final

from akita_model.witness import Witness

_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_API_KEY_HEADER: Final = re.compile(
    r"(x-)?(api[-_]?key|api[-_]?token|auth[-_]?token|access[-_]?token|"
    r"app[-_]?key|secret[-_]?key|client[-_]?secret)"
)
API_KEY_QUERY_NAMES: Final = frozenset(
    {"api_key", "apikey", "api-key", "key", "access_token", "auth_token", "token"}
)
API_KEY_COOKIE_NAMES: Final = frozenset(
    {"api_key", "apikey", "access_token", "auth_token", "token", "jwt"}
)
SESSION_COOKIE_NAMES: Final = frozenset(
    {
        "sessionid",
        "session",
        "session_id",
        "sid",
        "connect.sid",
        "jsessionid",
        "phpsessid",
        "_session_id",
        "laravel_session",
        "rack.session",
        "asp.net_sessionid",
    }
)
_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]")


def canonical_header_name(name: str) -> str:
    """Return a header name in canonical case (``X-Api-Key``)."""
    return "-".join(part.capitalize() for part in name.split("-"))


def is_jwt(token: str) -> bool:
    """Tell whether a token has the shape of a JSON Web Token."""
    return _JWT.fullmatch(token) is not None


def _scheme_name(prefix: str, name: str) -> str:
    return prefix + _SAFE_NAME.sub("_", name)


# Credential and AuthFindings are made once a witness: plain classes with
# written-out constructors, which mypyc compiles, where a dataclass's
# generated __init__ would stay interpreted code.
class Credential:
    """One credential of a witness: its scheme name and what it tells."""

    __slots__ = ("scheme", "is_jwt", "token_scheme")

    def __init__(
        self, scheme: str, is_jwt: bool = False, token_scheme: str | None = None
    ) -> None:
        self.scheme: Final = scheme
        self.is_jwt: Final = is_jwt
        self.token_scheme: Final = token_scheme

    def __repr__(self) -> str:
        return (
            f"Credential({self.scheme!r}, is_jwt={self.is_jwt!r}, "
            f"token_scheme={self.token_scheme!r})"
        )


_NO_NAMES: Final[frozenset[str]] = frozenset()


class AuthFindings:
    """The credentials of one witness and where they were."""

    __slots__ = ("credentials", "headers", "query", "cookies")

    def __init__(
        self,
        credentials: tuple[Credential, ...] = (),
        headers: frozenset[str] = _NO_NAMES,
        query: frozenset[str] = _NO_NAMES,
        cookies: frozenset[str] = _NO_NAMES,
    ) -> None:
        self.credentials: Final = credentials
        self.headers: Final = headers
        self.query: Final = query
        self.cookies: Final = cookies

    @property
    def schemes(self) -> frozenset[str]:
        """Return the names of the security schemes used."""
        return frozenset(credential.scheme for credential in self.credentials)


NO_AUTH: Final = AuthFindings()


def _authorization(value: str) -> Credential:
    scheme, _, token = value.strip().partition(" ")
    lower = scheme.lower()
    if lower == "basic":
        return Credential("basicAuth")
    if lower == "bearer":
        return Credential("bearerAuth", is_jwt=is_jwt(token.strip()))
    if not token:
        return Credential(_scheme_name("apiKeyHeader_", "Authorization"))
    return Credential("tokenAuth", token_scheme=scheme)


_NOT_AUTH: Final = ""
MAX_CACHED_NAMES: Final = 4096
_AUTHORIZATION: Final = "authorization"


def _header_kind(lower: str) -> str:
    if lower == _AUTHORIZATION:
        return _AUTHORIZATION
    if _API_KEY_HEADER.fullmatch(lower):
        return _scheme_name("apiKeyHeader_", canonical_header_name(lower))
    return _NOT_AUTH


def find_auth(
    witness: Witness, header_kinds: dict[str, str] | None = None
) -> AuthFindings:
    """Return the credentials a witness carried, by security scheme.

    ``header_kinds`` caches, by header name, which scheme a header is for, so
    that a build classifies each header name once.
    """
    credentials: list[Credential] = []
    headers: set[str] = set()
    query: set[str] = set()
    cookies: set[str] = set()
    kinds = {} if header_kinds is None else header_kinds

    for name, value in witness.request_headers:
        kind = kinds.get(name)
        if kind is None:
            if len(kinds) > MAX_CACHED_NAMES:
                kinds.clear()
            kind = kinds[name] = _header_kind(name.lower())
        if not kind:
            continue
        if kind == _AUTHORIZATION:
            credentials.append(_authorization(value))
        else:
            credentials.append(Credential(kind))
        headers.add(name.lower())

    for name, _ in witness.query:
        if name.lower() in API_KEY_QUERY_NAMES:
            credentials.append(Credential(_scheme_name("apiKeyQuery_", name)))
            query.add(name)

    for name, _ in witness.cookies:
        lower = name.lower()
        if lower in SESSION_COOKIE_NAMES:
            credentials.append(Credential(_scheme_name("sessionCookie_", name)))
            cookies.add(name)
        elif lower in API_KEY_COOKIE_NAMES:
            credentials.append(Credential(_scheme_name("apiKeyCookie_", name)))
            cookies.add(name)

    if not credentials:
        return NO_AUTH
    return AuthFindings(
        tuple(credentials), frozenset(headers), frozenset(query), frozenset(cookies)
    )


class SchemeState:
    """What the witnesses told about one security scheme, mergeable."""

    __slots__ = ("name", "count", "jwt_count", "token_schemes")

    MAX_TOKEN_SCHEMES = 8

    # ``name`` has a default because summaries are pickled between
    # processes, and a compiled class unpickles by calling __init__ bare.
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.count = 0
        self.jwt_count = 0
        self.token_schemes: set[str] = set()

    def add(self, credential: Credential) -> None:
        """Learn one use of the scheme."""
        self.count += 1
        if credential.is_jwt:
            self.jwt_count += 1
        if credential.token_scheme:
            self._add_token_schemes({credential.token_scheme})

    def _add_token_schemes(self, names: set[str]) -> None:
        # Keep the smallest names only: a bounded set that still merges
        # exactly, since a name dropped once is dropped in every superset.
        self.token_schemes = set(
            sorted(self.token_schemes | names)[: self.MAX_TOKEN_SCHEMES]
        )

    def merge(self, other: SchemeState) -> None:
        """Learn everything ``other`` learnt."""
        self.count += other.count
        self.jwt_count += other.jwt_count
        self._add_token_schemes(other.token_schemes)

    def to_security_scheme(self) -> dict[str, Any]:
        """Return the OpenAPI security scheme object."""
        name = self.name
        if name == "basicAuth":
            return {"type": "http", "scheme": "basic"}
        if name == "bearerAuth":
            scheme: dict[str, Any] = {"type": "http", "scheme": "bearer"}
            if self.count and self.jwt_count == self.count:
                scheme["bearerFormat"] = "JWT"
            return scheme
        if name == "tokenAuth":
            scheme = {"type": "apiKey", "in": "header", "name": "Authorization"}
            schemes = sorted(self.token_schemes)
            if len(schemes) == 1:
                scheme["x-akita-scheme"] = schemes[0]
            elif schemes:
                scheme["x-akita-scheme"] = schemes
            return scheme
        kind, _, key_name = name.partition("_")
        if kind == "apiKeyHeader":
            return {"type": "apiKey", "in": "header", "name": key_name}
        if kind == "apiKeyQuery":
            return {"type": "apiKey", "in": "query", "name": key_name}
        if kind == "sessionCookie":
            return {
                "type": "apiKey",
                "in": "cookie",
                "name": key_name,
                "x-akita-session": True,
            }
        return {"type": "apiKey", "in": "cookie", "name": key_name}
