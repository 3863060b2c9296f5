"""Authentication: which credentials a witness carried, by scheme name."""

from __future__ import annotations

from typing import Any

import pytest

from akita_model.auth import SchemeState, find_auth, is_jwt
from akita_model.formats import PLACEHOLDERS
from akita_model.witness import parse_entry

from .har import make_entry

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def _schemes(**kwargs: Any) -> set[str]:
    return set(find_auth(parse_entry(make_entry(**kwargs))).schemes)


@pytest.mark.parametrize(
    ("kwargs", "schemes"),
    [
        ({"headers": [("Authorization", "Basic YWRhOnB3")]}, {"basicAuth"}),
        ({"headers": [("authorization", f"Bearer {JWT}")]}, {"bearerAuth"}),
        ({"headers": [("Authorization", "Token 9944b09199c6")]}, {"tokenAuth"}),
        ({"headers": [("Authorization", "s3cr3t")]}, {"apiKeyHeader_Authorization"}),
        ({"headers": [("X-API-Key", "k")]}, {"apiKeyHeader_X-Api-Key"}),
        ({"headers": [("api-key", "k")]}, {"apiKeyHeader_Api-Key"}),
        ({"headers": [("X-Auth-Token", "k")]}, {"apiKeyHeader_X-Auth-Token"}),
        ({"query": [("api_key", "k")]}, {"apiKeyQuery_api_key"}),
        ({"query": [("key", "k")]}, {"apiKeyQuery_key"}),
        ({"query": [("access_token", "k")]}, {"apiKeyQuery_access_token"}),
        (
            {"cookies": [("sessionid", "s"), ("csrftoken", "c")]},
            {"sessionCookie_sessionid"},
        ),
        ({"cookies": [("csrftoken", "c")]}, set()),
        ({"cookies": [("token", "t")]}, {"apiKeyCookie_token"}),
        (
            {"headers": [("Cookie", "sessionid=abc; theme=dark")]},
            {"sessionCookie_sessionid"},
        ),
        (
            {"headers": [("Authorization", "Basic x"), ("X-Api-Key", "k")]},
            {"basicAuth", "apiKeyHeader_X-Api-Key"},
        ),
        ({"headers": [("Accept", "*/*")], "query": [("page", "1")]}, set()),
    ],
)
def test_finds_each_kind_of_credential(
    kwargs: dict[str, Any], schemes: set[str]
) -> None:
    assert _schemes(**kwargs) == schemes


def test_tells_jwts_from_other_tokens() -> None:
    assert is_jwt(JWT)
    assert not is_jwt("abc.def")
    assert not is_jwt("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b")


def test_findings_name_the_credential_fields_to_leave_out() -> None:
    entry = make_entry(
        headers=[("X-Api-Key", "k"), ("X-Other", "o")],
        query=[("api_key", "k"), ("page", "1")],
        cookies=[("sessionid", "s"), ("theme", "dark")],
    )

    findings = find_auth(parse_entry(entry))

    assert findings.headers == {"x-api-key"}
    assert findings.query == {"api_key"}
    assert findings.cookies == {"sessionid"}


def _scheme(name: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    state = SchemeState(name)
    for entry in entries:
        for credential in find_auth(parse_entry(entry)).credentials:
            if credential.scheme == name:
                state.add(credential)
    return state.to_security_scheme()


def test_security_schemes_say_what_was_seen() -> None:
    bearer_jwt = make_entry(headers=[("Authorization", f"Bearer {JWT}")])
    bearer_opaque = make_entry(headers=[("Authorization", "Bearer opaque-token")])
    token = make_entry(headers=[("Authorization", "Token abc")])
    api_key = make_entry(headers=[("Authorization", "ApiKey abc")])

    assert _scheme("bearerAuth", [bearer_jwt, bearer_jwt]) == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert _scheme("bearerAuth", [bearer_jwt, bearer_opaque]) == {
        "type": "http",
        "scheme": "bearer",
    }
    assert _scheme("tokenAuth", [token]) == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "x-akita-scheme": "Token",
    }
    assert _scheme("tokenAuth", [token, api_key])["x-akita-scheme"] == [
        "ApiKey",
        "Token",
    ]
    assert _scheme(
        "sessionCookie_sessionid", [make_entry(cookies=[("sessionid", "s")])]
    ) == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "x-akita-session": True,
    }
    assert _scheme("apiKeyQuery_key", [make_entry(query=[("key", "k")])]) == {
        "type": "apiKey",
        "in": "query",
        "name": "key",
    }


def test_obfuscated_credentials_keep_their_scheme() -> None:
    placeholder = PLACEHOLDERS["uuid"]
    entry = make_entry(
        headers=[("Authorization", f"Bearer {JWT.split('.')[0]}.e30.AAAA")],
        cookies=[("sessionid", placeholder)],
    )

    findings = find_auth(parse_entry(entry))

    assert findings.schemes == {"bearerAuth", "sessionCookie_sessionid"}
    assert [c.is_jwt for c in findings.credentials if c.scheme == "bearerAuth"] == [
        True
    ]
