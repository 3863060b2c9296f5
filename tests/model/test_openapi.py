"""The OpenAPI document: exact operations, validity and determinism."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from akita_model import openapi as openapi_module
from akita_model.builder import build_summary, merge_summaries
from akita_model.openapi import dump_openapi, to_openapi
from akita_model.reader import read_trace
from akita_model.witness import parse_entry

from .har import FIXTURES, make_entry

OPENAPI_FIXTURES = FIXTURES.parent / "openapi"

LE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, math.inf]


def _document(
    entries: list[dict[str, Any]], service: str | None = None
) -> dict[str, Any]:
    document = to_openapi(
        build_summary([parse_entry(e) for e in entries], service=service)
    )
    validate(document)
    return document


def test_one_routed_operation_exactly() -> None:
    route = "api/articles/<slug:slug>/comments/<int:pk>"
    entries = [
        make_entry(
            url="https://blog.example.com/api/articles/how-to/comments/7?page=2",
            route=route,
            query=[("page", "2")],
            headers=[("Accept", "application/json"), ("X-Client", "web")],
            cookies=[("sessionid", "s")],
            response={"id": 7, "text": "hi", "email": "ada@example.com"},
            started="2026-12-03T21:10:09+00:00",
            time=4.0,
        ),
        make_entry(
            url="https://blog.example.com/api/articles/other/comments/8",
            route=route,
            headers=[("X-Client", "ios")],
            response={"id": 8, "text": None, "email": "bob@example.com"},
            started="2026-12-03T22:10:08.5+01:00",
            time=12.0,
        ),
        make_entry(
            url="https://blog.example.com/api/articles/other/comments/9",
            route=route,
            status=404,
            response={"detail": "Not found."},
            started="2026-12-03T21:10:08+00:00",
            time=0.5,
        ),
    ]

    document = _document(entries, service="blog")

    assert document["info"] == {"title": "blog", "version": "1.0.0"}
    assert list(document["paths"]) == ["/api/articles/{slug}/comments/{pk}"]
    operation = document["paths"]["/api/articles/{slug}/comments/{pk}"]["get"]
    assert operation == {
        "operationId": "get_api_articles_slug_comments_pk",
        "parameters": [
            {
                "name": "slug",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
            },
            {
                "name": "pk",
                "in": "path",
                "required": True,
                "schema": {"type": "integer"},
            },
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer"},
            },
            {
                "name": "X-Client",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "email": {"type": "string", "format": "email"},
                                "id": {"type": "integer"},
                                "text": {"type": ["string", "null"]},
                            },
                            "required": ["email", "id", "text"],
                        }
                    }
                },
            },
            "404": {
                "description": "Not Found",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"detail": {"type": "string"}},
                            "required": ["detail"],
                        }
                    }
                },
            },
        },
        "security": [{}, {"sessionCookie_sessionid": []}],
        "x-akita-witnesses": 3,
        "x-akita-first-seen": "2026-12-03T21:10:08.000000+00:00",
        "x-akita-last-seen": "2026-12-03T21:10:09.000000+00:00",
        "x-akita-status-counts": {"200": 2, "404": 1},
        # DDSketch's values are within 1% of the true ones; it ranks at
        # q * (count - 1), so with three witnesses p50 to p99 are the second.
        "x-akita-latency": {
            "count": 3,
            "min": 0.5,
            "p50": 4.015,
            "p90": 4.015,
            "p99": 4.015,
            "max": 12.0,
            "histogram": {
                "le": LE,
                "counts": [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            },
        },
    }
    assert document["components"] == {
        "securitySchemes": {
            "sessionCookie_sessionid": {
                "type": "apiKey",
                "in": "cookie",
                "name": "sessionid",
                "x-akita-session": True,
            }
        }
    }
    assert document["x-akita-witnesses"] == 3
    assert document["x-akita-skipped"] == {}


def test_request_bodies_by_media_type() -> None:
    entries = [
        make_entry(
            "POST",
            "/api/things",
            201,
            body={"name": "a", "size": 2},
            headers=[("Authorization", "Token t")],
        ),
        make_entry(
            "POST",
            "/api/things",
            201,
            body="name=b&public=true&count=3",
            body_type="application/x-www-form-urlencoded",
            headers=[("Authorization", "Token t")],
        ),
        make_entry(
            "POST",
            "/api/things",
            201,
            body="name=c&count=4.5",
            body_type="application/x-www-form-urlencoded; charset=utf-8",
            headers=[("Authorization", "Token t")],
        ),
        make_entry("POST", "/api/things", 401),
    ]

    operation = _document(entries)["paths"]["/api/things"]["post"]

    assert operation["requestBody"] == {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "size": {"type": "integer"},
                    },
                    "required": ["name", "size"],
                }
            },
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "count": {"type": "number"},
                        "name": {"type": "string"},
                        "public": {"type": "boolean"},
                    },
                    "required": ["count", "name"],
                }
            },
        },
    }
    assert operation["responses"] == {
        "201": {"description": "Created"},
        "401": {"description": "Unauthorized"},
    }
    assert operation["security"] == [{}, {"tokenAuth": []}]


def test_heuristic_paths_with_typed_parameters() -> None:
    entries = [
        make_entry(url="/api/v1/users/42/orders/3f2504e0-4f89-41d3-9a0c-0305e82c3301"),
        make_entry(url="/api/v1/users/43/orders/6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        make_entry(url="/api/v1/users/me/orders"),
        make_entry(
            url="/api/v1/reports/2026-12-03/", query=[("tag", "a"), ("tag", "b")]
        ),
    ]

    document = _document(entries)

    assert list(document["paths"]) == [
        "/api/v1/reports/{report_id}",
        "/api/v1/users/me/orders",
        "/api/v1/users/{user_id}/orders/{order_id}",
    ]
    orders = document["paths"]["/api/v1/users/{user_id}/orders/{order_id}"]["get"]
    assert orders["parameters"] == [
        {
            "name": "user_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer"},
        },
        {
            "name": "order_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
        },
    ]
    reports = document["paths"]["/api/v1/reports/{report_id}"]["get"]
    assert reports["parameters"] == [
        {
            "name": "report_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "date"},
        },
        {
            "name": "tag",
            "in": "query",
            "required": True,
            "schema": {"type": "array", "items": {"type": "string"}},
        },
    ]
    assert orders["security"] == []


def test_routeless_witnesses_join_their_route() -> None:
    entries = [
        make_entry(url="/api/articles/7", route="api/articles/<int:pk>"),
        make_entry(url="/api/articles/8"),
        make_entry("DELETE", "/api/articles/9", 204),
    ]

    paths = _document(entries)["paths"]

    assert list(paths) == ["/api/articles/{pk}"]
    assert paths["/api/articles/{pk}"]["get"]["x-akita-witnesses"] == 2
    assert list(paths["/api/articles/{pk}"]) == ["get", "delete"]
    assert paths["/api/articles/{pk}"]["delete"]["parameters"] == [
        {"name": "pk", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]


def test_leaves_out_noise_and_credentials_from_parameters() -> None:
    entries = [
        make_entry(
            headers=[
                ("Host", "h"),
                ("User-Agent", "u"),
                ("Accept", "*/*"),
                ("Accept-Encoding", "gzip"),
                ("Accept-Language", "en"),
                ("Content-Length", "0"),
                ("Content-Type", "application/json"),
                ("Connection", "keep-alive"),
                ("X-Forwarded-For", "1.2.3.4"),
                ("X-Forwarded-Proto", "https"),
                ("Sec-Fetch-Mode", "cors"),
                ("Cookie", "sessionid=s; _ga=x; theme=dark"),
                ("X-Api-Key", "k"),
                ("X-Request-Count", "3"),
            ],
            query=[("api_key", "k"), ("limit", "10")],
        )
    ]

    operation = _document(entries)["paths"]["/api/things"]["get"]

    assert operation["parameters"] == [
        {
            "name": "limit",
            "in": "query",
            "required": True,
            "schema": {"type": "integer"},
        },
        {
            "name": "X-Request-Count",
            "in": "header",
            "required": True,
            "schema": {"type": "integer"},
        },
        {
            "name": "theme",
            "in": "cookie",
            "required": True,
            "schema": {"type": "string"},
        },
    ]
    assert operation["security"] == [
        {
            "apiKeyHeader_X-Api-Key": [],
            "apiKeyQuery_api_key": [],
            "sessionCookie_sessionid": [],
        }
    ]


def test_an_empty_summary_is_a_valid_empty_model() -> None:
    document = _document([])

    assert document == {
        "openapi": "3.1.0",
        "info": {"title": "API", "version": "1.0.0"},
        "paths": {},
        "x-akita-witnesses": 0,
        "x-akita-skipped": {},
    }


def test_the_service_comes_from_the_trace_when_not_given() -> None:
    entries = [
        make_entry(akita={"v": 1, "service": "shop"}),
        make_entry(akita={"v": 1, "service": "shop"}),
        make_entry(akita={"v": 1, "service": "blog"}),
    ]

    assert _document(entries)["info"]["title"] == "shop"


def _example_entries() -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in (FIXTURES / "shop.jsonl").read_text().splitlines()
    ]


def test_output_is_byte_identical_whatever_the_order() -> None:
    entries = _example_entries()
    texts = set()
    json_texts = set()
    for seed in range(4):
        shuffled = list(entries)
        random.Random(seed).shuffle(shuffled)
        document = _document(shuffled)
        texts.add(dump_openapi(document))
        json_texts.add(dump_openapi(document, json=True))

    assert len(texts) == 1
    assert len(json_texts) == 1
    (text,) = texts
    assert yaml.safe_load(text) == _document(entries)
    (json_text,) = json_texts
    assert json.loads(json_text) == _with_inf_as_text(_document(entries))


def _with_inf_as_text(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return "+Inf"
    if isinstance(value, dict):
        return {key: _with_inf_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_inf_as_text(item) for item in value]
    return value


def test_the_shop_fixture_model_is_valid_and_complete() -> None:
    document = to_openapi(build_summary(read_trace([FIXTURES / "shop.jsonl"])))

    validate(document)
    assert sorted(
        (path, method) for path, item in document["paths"].items() for method in item
    ) == [
        ("/api/archive/{year}", "get"),
        ("/api/articles", "get"),
        ("/api/articles", "post"),
        ("/api/articles/{slug}", "get"),
        ("/api/articles/{slug}/comments", "post"),
        ("/api/articles/{slug}/comments/{pk}", "get"),
        ("/api/orders", "get"),
        ("/api/orders", "post"),
        ("/api/products/{product_id}", "get"),
        ("/api/uploads", "post"),
        ("/api/users/me", "get"),
        ("/api/v1/legacy/items/{item_id}", "get"),
        ("/api/v1/legacy/users/me", "get"),
        ("/health", "get"),
    ]
    assert sorted(document["components"]["securitySchemes"]) == [
        "apiKeyHeader_X-Api-Key",
        "apiKeyQuery_api_key",
        "basicAuth",
        "bearerAuth",
        "sessionCookie_sessionid",
        "tokenAuth",
    ]


def test_the_json_dump_writes_infinity_as_a_string(tmp_path: Path) -> None:
    document = _document([make_entry()])

    loaded = json.loads(dump_openapi(document, json=True))

    histogram = loaded["paths"]["/api/things"]["get"]["x-akita-latency"]["histogram"]
    assert histogram["le"][-1] == "+Inf"


def test_header_names_keep_their_smallest_spelling() -> None:
    entries = [
        make_entry(headers=[("x-csrftoken", "a")]),
        make_entry(headers=[("X-CSRFToken", "b")]),
        make_entry(headers=[("X-Csrftoken", "c"), ("x-tenant", "7")]),
    ]

    operation = _document(entries)["paths"]["/api/things"]["get"]

    assert operation["parameters"] == [
        {
            "name": "X-CSRFToken",
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
        },
        {
            "name": "x-tenant",
            "in": "header",
            "required": False,
            "schema": {"type": "integer"},
        },
    ]


def test_the_root_route_is_a_route() -> None:
    entries = [make_entry(url="https://h.example/", route=""), make_entry(url="/?x=1")]

    paths = _document(entries)["paths"]

    assert list(paths) == ["/"]
    assert paths["/"]["get"]["x-akita-witnesses"] == 2


def test_an_empty_body_is_no_body() -> None:
    entries = [make_entry("DELETE", "/api/things/1", 204, response="")]

    operation = _document(entries)["paths"]["/api/things/{thing_id}"]["delete"]

    assert operation["responses"] == {"204": {"description": "No Content"}}


def _documents() -> list[dict[str, Any]]:
    documents = [
        to_openapi(build_summary(read_trace([FIXTURES / name])))
        for name in ("shop.jsonl", "browser.har")
    ]
    for path in sorted(OPENAPI_FIXTURES.glob("*.yaml")):
        documents.append(yaml.safe_load(path.read_text(encoding="utf-8")))
    return documents


@pytest.mark.skipif(
    not getattr(yaml, "__with_libyaml__", False), reason="PyYAML without libyaml"
)
def test_libyaml_and_pyyaml_write_the_same_text() -> None:
    documents = _documents()

    assert len(documents) == 5
    for document in documents:
        fast = dump_openapi(document)
        assert fast == dump_openapi(document, dumper=openapi_module._Dumper)
        assert yaml.safe_load(fast) == document


def test_response_headers_are_learnt_per_status_code_without_noise() -> None:
    noise = [
        ("Date", "Thu, 03 Dec 2026 21:10:08 GMT"),
        ("Server", "gunicorn"),
        ("Content-Type", "application/json"),
        ("X-Frame-Options", "DENY"),
        ("Access-Control-Allow-Origin", "*"),
    ]
    url = "https://api.example.com/api/things"
    entries = [
        make_entry(
            "POST",
            url,
            201,
            response_headers=[
                *noise,
                ("Location", "/api/things/1"),
                ("X-RateLimit-Remaining", "59"),
            ],
        ),
        make_entry(
            "POST",
            url,
            201,
            response_headers=[("location", "/api/things/2"), *noise],
        ),
        make_entry("POST", url, 400, response_headers=noise),
    ]
    summary = build_summary(parse_entry(entry) for entry in entries)
    document = to_openapi(summary)

    responses = document["paths"]["/api/things"]["post"]["responses"]
    assert responses["201"]["headers"] == {
        "Location": {"required": True, "schema": {"type": "string"}},
        "X-RateLimit-Remaining": {
            "required": False,
            "schema": {"type": "integer"},
        },
    }
    assert "headers" not in responses["400"]
    validate(document)

    halves = merge_summaries(
        build_summary(parse_entry(entry) for entry in entries[:1]),
        build_summary(parse_entry(entry) for entry in entries[1:]),
    )
    assert to_openapi(halves) == document
