"""Obfuscation of witnesses, value by value."""

from __future__ import annotations

import json

import pytest

from akita_daemon.obfuscate import (
    PLACEHOLDER_BASIC,
    obfuscate_authorization,
    obfuscate_body,
    obfuscate_cookie_header,
    obfuscate_header_value,
    obfuscate_set_cookie,
    obfuscate_value,
    obfuscate_witness,
    placeholder_string,
)
from akita_daemon.redact import PLACEHOLDER_JWT, passes_luhn, redact_secrets
from akita_daemon.routes import replace_path_parameters
from tests.daemon.daemon_process import witness

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpv"
    "aG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [
        (
            "123e4567-e89b-12d3-a456-426614174000",
            "00000000-0000-4000-8000-000000000000",
        ),
        ("ada@lovelace.org", "user@example.com"),
        ("2024-02-29T13:14:15.5+01:00", "2000-01-01T00:00:00Z"),
        ("2024-02-29", "2000-01-01"),
        ("https://lovelace.org/notes?id=3", "https://example.com/"),
        ("10.1.2.3", "192.0.2.1"),
        ("fe80::1", "2001:db8::1"),
        ("4242", "0"),
        ("Ada Lovelace", "string"),
        (JWT, PLACEHOLDER_JWT),
        ("", ""),
    ],
)
def test_strings_become_the_placeholder_of_their_format(
    value: str, placeholder: str
) -> None:
    assert placeholder_string(value) == placeholder


def test_json_values_keep_their_type_and_keys() -> None:
    document = {
        "id": 17,
        "price": 9.99,
        "paid": True,
        "note": None,
        "tags": ["a", "b@c.io"],
        "owner": {"name": "Ada", "since": "2020-05-01"},
    }

    assert obfuscate_value(document) == {
        "id": 0,
        "price": 0.0,
        "paid": True,
        "note": None,
        "tags": ["string", "user@example.com"],
        "owner": {"name": "string", "since": "2000-01-01"},
    }


def test_bodies_by_media_type() -> None:
    assert obfuscate_body('{"a": [1, "x"]}', "application/json", None) == (
        '{"a":[0,"string"]}'
    )
    # Read as the model builder reads it: orjson makes a float of it.
    assert obfuscate_body('{"n": 123456789012345678901234567890}', "", None) == (
        '{"n":0.0}'
    )
    assert obfuscate_body(
        "user=ada&email=ada%40x.org&n=3", "application/x-www-form-urlencoded", None
    ) == ("user=string&email=user%40example.com&n=0")
    assert obfuscate_body("<p>Ada</p>", "text/html", None) == "string"
    assert obfuscate_body("QWRh", "image/png", "base64") == "c3RyaW5n"
    assert obfuscate_body('{"cut": "tru', "application/json", None) == "string"
    assert obfuscate_body("", "application/json", None) == ""


@pytest.mark.parametrize(
    ("value", "obfuscated"),
    [
        (f"Bearer {JWT}", f"Bearer {PLACEHOLDER_JWT}"),
        ("Bearer opaque-token-123", "Bearer token"),
        ("bearer opaque", "bearer token"),
        ("Basic YWRhOnNlY3JldA==", f"Basic {PLACEHOLDER_BASIC}"),
        ("Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "Token token"),
        ("raw-api-key", "token"),
        (JWT, PLACEHOLDER_JWT),
    ],
)
def test_authorization_keeps_its_scheme(value: str, obfuscated: str) -> None:
    assert obfuscate_authorization(value) == obfuscated


def test_cookies_keep_their_names_and_attributes() -> None:
    assert obfuscate_cookie_header("sessionid=abc123; csrftoken=XyZ; flag") == (
        "sessionid=string; csrftoken=string; flag"
    )
    assert obfuscate_set_cookie(
        "sessionid=abc123; expires=Thu, 17 Dec 2026 21:10:08 GMT; HttpOnly; Path=/"
    ) == ("sessionid=string; expires=Thu, 17 Dec 2026 21:10:08 GMT; HttpOnly; Path=/")


def test_header_values() -> None:
    assert obfuscate_header_value(
        "Content-Type", "application/json; charset=utf-8"
    ) == ("application/json; charset=utf-8")
    assert obfuscate_header_value("X-API-Key", "k-29384756") == "string"
    assert obfuscate_header_value("X-Request-Id", "4242") == "0"
    assert obfuscate_header_value("User-Agent", "curl/8.0") == "string"


def test_path_parameters_by_route_and_by_format() -> None:
    route = "api/articles/<slug:slug>/comments/<int:pk>"
    assert replace_path_parameters("/api/articles/how-to-train/comments/7", route) == (
        "/api/articles/slug/comments/0"
    )
    assert replace_path_parameters("/v2/api/articles/x/comments/12", route) == (
        "/v2/api/articles/slug/comments/0"
    )
    assert (
        replace_path_parameters(
            "/users/123e4567-e89b-12d3-a456-426614174000/files/a/b.txt",
            "users/<uuid:user>/files/<path:name>",
        )
        == "/users/00000000-0000-4000-8000-000000000000/files/path"
    )
    assert (
        replace_path_parameters(
            "/archive/2024/ada/", r"^archive/(?P<year>[0-9]{4})/(?P<who>\w+)/$"
        )
        == "/archive/0/string/"
    )
    assert replace_path_parameters("/users/42", "other/<int:pk>") == "/users/0"


def test_path_parameters_by_the_model_builders_heuristics() -> None:
    # The first segment, "api" and versions are never parameters; words are
    # kept, since the heuristics count distinct words; identifiers become
    # identifiers of the same kind.
    assert replace_path_parameters(
        "/42/api/v2/users/17/ada/2024-01-31/1e5aa/123e4567-e89b-12d3-a456-426614174000"
        "/5f2b6c8d9e/tok_AbCdEf123456/3.5e10/2e123456/AKIAIOSFODNN7EXAMPLE",
        None,
    ) == (
        "/42/api/v2/users/0/ada/2000-01-01/1e5aa/00000000-0000-4000-8000-000000000000"
        "/a0000000/a0000000/3.5e10/1e100000/a0000000"
    )
    # A route the model builder cannot use ([^/] inside a group) is ignored.
    assert (
        replace_path_parameters(
            "/archive/2024/ada/", r"^archive/(?P<year>[0-9]{4})/(?P<who>[^/]+)/$"
        )
        == "/archive/0/ada/"
    )


def test_secrets_are_replaced_wherever_they_appear() -> None:
    assert redact_secrets("key AKIAIOSFODNN7EXAMPLE in text") == "key REDACTED in text"
    assert redact_secrets(f"token={JWT}&x=1") == f"token={PLACEHOLDER_JWT}&x=1"
    assert redact_secrets("auth: Bearer abcdefgh12345678") == "auth: Bearer REDACTED"
    assert redact_secrets("card 4111 1111 1111 1111 ok") == "card REDACTED ok"
    assert redact_secrets("order 4111111111111112") == "order 4111111111111112"
    assert (
        redact_secrets(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
        )
        == "REDACTED\n"
    )
    assert redact_secrets("ghp_" + "a1" * 18) == "REDACTED"
    assert passes_luhn("79927398713")
    assert not passes_luhn("79927398710")


def test_a_whole_witness() -> None:
    raw = witness(
        "/api/articles/how-to-train/comments/7?page=2&key=AKIAIOSFODNN7EXAMPLE",
        method="POST",
        route="api/articles/<slug:slug>/comments/<int:pk>",
        body='{"email": "ada@lovelace.org", "count": 3}',
        headers=[
            {"name": "Authorization", "value": f"Bearer {JWT}"},
            {"name": "Cookie", "value": "sessionid=s3cr3t"},
            {"name": "Accept", "value": "application/json"},
        ],
    )
    raw["request"]["url"] = (
        "https://ada:pw@api.example.com" + raw["request"]["url"][17:]
    )
    raw["request"]["queryString"] = [{"name": "page", "value": "2"}]
    raw["request"]["cookies"] = [{"name": "sessionid", "value": "s3cr3t"}]
    raw["serverIPAddress"] = "10.0.0.8"

    result = obfuscate_witness(raw)

    request = result["request"]
    assert request["url"] == (
        "https://user:password@api.example.com/api/articles/slug/comments/0"
        "?page=0&key=string"
    )
    assert request["headers"] == [
        {"name": "Authorization", "value": f"Bearer {PLACEHOLDER_JWT}"},
        {"name": "Cookie", "value": "sessionid=string"},
        {"name": "Accept", "value": "application/json"},
    ]
    assert request["queryString"] == [{"name": "page", "value": "0"}]
    assert request["cookies"] == [{"name": "sessionid", "value": "string"}]
    assert json.loads(request["postData"]["text"]) == {
        "email": "user@example.com",
        "count": 0,
    }
    assert result["response"]["status"] == 200
    assert result["response"]["content"]["text"] == '{"id":0}'
    assert result["serverIPAddress"] == "192.0.2.1"
    assert result["time"] == 12.5
    assert result["timings"] == {"send": 0, "wait": 12.5, "receive": 0}
    assert result["startedDateTime"] == "2026-12-03T21:10:08.123456+00:00"
    assert result["_akita"] == {
        "v": 1,
        "route": "api/articles/<slug:slug>/comments/<int:pk>",
        "obfuscated": True,
    }


def test_the_original_middlewares_nulls_are_kept() -> None:
    raw = witness()
    raw["request"]["postData"] = None
    raw["timings"].update(dns=None, connect=None, blocked=None, ssl=None)
    raw["cache"] = {"beforeRequest": None, "afterRequest": None, "comment": None}
    raw["response"]["content"].update(compression=None, encoding=None)

    result = obfuscate_witness(raw)

    assert result["request"]["postData"] is None
    assert result["cache"] == raw["cache"]
    assert result["timings"]["dns"] is None
    assert result["response"]["content"]["encoding"] is None
