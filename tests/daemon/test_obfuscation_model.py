"""The model of an obfuscated trace equals the model of the raw trace."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from akita_daemon.obfuscate import obfuscate_witness
from akita_model.build import build_files

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"

WORDS = st.sampled_from(["items", "users", "orders", "blue", "ada", "x", "v1", "api"])
TEXT_VALUES = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(
        [
            "true",
            "false",
            "",
            "ada@example.org",
            "2024-02-29",
            "2024-02-29T10:11:12Z",
            "123e4567-e89b-12d3-a456-426614174000",
            "https://lovelace.org/a",
            "10.0.0.1",
            "fe80::1",
            "5f2b6c8d9e11",
            "Ada Lovelace",
            JWT,
        ]
    ),
    st.text("abcdefghij0123456789-_.:@ ", max_size=12),
)
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT_VALUES,
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(["id", "name", "tags", "at", "n"]), children, max_size=4
        ),
    ),
    max_leaves=12,
)
SEGMENTS = st.one_of(
    WORDS,
    st.integers(0, 10**9).map(str),
    st.sampled_from(
        [
            "123e4567-e89b-12d3-a456-426614174000",
            "2024-01-31",
            "5f2b6c8d9e",
            "tok_AbCdEf123456",
            "2e123456",
            "3.5",
            "ada%40example.org",
        ]
    ),
    st.text("abcdefgh", min_size=1, max_size=6),
)
ROUTES = [
    ("api/items/<int:pk>", lambda v: f"/api/items/{v}"),
    ("shop/<slug:slug>/orders/<uuid:order>", lambda v: f"/shop/{v}/orders/{v}"),
    (r"^archive/(?P<year>[0-9]{4})/$", lambda v: f"/archive/{v}/"),
]
AUTHORIZATION = st.sampled_from(
    [
        f"Bearer {JWT}",
        "Bearer opaque-123",
        "Bearer",
        "Basic YWRhOnB3",
        "Token 9944b09199c62bcf",
        "raw-key-123",
        JWT,
    ]
)
HEADER_NAMES = st.sampled_from(
    ["X-Request-Count", "X-Api-Key", "X-Tenant", "User-Agent", "Accept", "X-Flag"]
)
QUERY_NAMES = st.sampled_from(["page", "q", "api_key", "token", "sort"])
COOKIE_NAMES = st.sampled_from(["sessionid", "csrftoken", "token", "theme"])


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any] | None:
    kind = draw(
        st.sampled_from(["none", "json", "form", "multipart", "text", "binary"])
    )
    if kind == "none":
        return None
    if kind == "json":
        return {"mimeType": "application/json", "text": json.dumps(draw(JSON_VALUES))}
    if kind == "form":
        pairs = draw(st.lists(st.tuples(QUERY_NAMES, TEXT_VALUES), max_size=4))
        return {
            "mimeType": "application/x-www-form-urlencoded",
            "text": urlencode(pairs),
        }
    if kind == "multipart":
        names = draw(st.lists(QUERY_NAMES, min_size=1, max_size=3))
        parts = "".join(
            f'--b\r\nContent-Disposition: form-data; name="{name}"'
            + ('; filename="ada.png"' if index % 2 else "")
            + "\r\n\r\nsecret value\r\n"
            for index, name in enumerate(names)
        )
        return {"mimeType": "multipart/form-data; boundary=b", "text": parts + "--b--"}
    if kind == "text":
        return {"mimeType": "text/plain", "text": draw(TEXT_VALUES)}
    data = draw(st.sampled_from([b"\xff\xfe\x00", b'{"id": 7}', b"plain"]))
    return {
        "mimeType": draw(
            st.sampled_from(["application/octet-stream", "application/json"])
        ),
        "text": base64.b64encode(data).decode(),
        "encoding": "base64",
    }


@st.composite
def witnesses(draw: st.DrawFn) -> dict[str, Any]:
    akita: dict[str, Any] = {"v": 1}
    if draw(st.booleans()):
        route, make_path = draw(st.sampled_from(ROUTES))
        path = make_path(draw(SEGMENTS))
        akita["route"] = route
    else:
        path = "/" + "/".join(draw(st.lists(SEGMENTS, min_size=1, max_size=5)))
    query = draw(st.lists(st.tuples(QUERY_NAMES, TEXT_VALUES), max_size=3))
    headers = [
        {"name": name, "value": value}
        for name, value in draw(
            st.lists(st.tuples(HEADER_NAMES, TEXT_VALUES), max_size=3)
        )
    ]
    if draw(st.booleans()):
        headers.append({"name": "Authorization", "value": draw(AUTHORIZATION)})
    cookies = draw(st.lists(st.tuples(COOKIE_NAMES, TEXT_VALUES), max_size=2))
    if cookies and draw(st.booleans()):
        header = "; ".join(f"{name}={value}" for name, value in cookies)
        headers.append({"name": "Cookie", "value": header})
        cookie_records = []
    else:
        cookie_records = [{"name": name, "value": value} for name, value in cookies]
    request: dict[str, Any] = {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"])),
        "url": "https://api.example.com"
        + path
        + ("?" + urlencode(query) if query else ""),
        "httpVersion": "HTTP/1.1",
        "headers": headers,
        "queryString": []
        if draw(st.booleans())
        else [{"name": n, "value": v} for n, v in query],
        "cookies": cookie_records,
        "headersSize": -1,
        "bodySize": 0,
    }
    body = draw(bodies())
    if body is not None:
        request["postData"] = body
    response_body = draw(bodies()) or {"mimeType": "", "text": ""}
    return {
        "startedDateTime": draw(
            st.sampled_from(
                ["2026-12-03T21:10:08.123456+00:00", "2026-12-03T21:14:51+00:00"]
            )
        ),
        "time": draw(st.floats(0, 5000)),
        "request": request,
        "response": {
            "status": draw(st.sampled_from([200, 201, 204, 400, 404, 500])),
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": response_body["mimeType"]}],
            "cookies": [],
            "content": {"size": 0, **response_body},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 0,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
        "_akita": akita,
    }


def _without_examples(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_examples(item)
            for key, item in value.items()
            if key not in ("example", "examples")
        }
    if isinstance(value, list):
        return [_without_examples(item) for item in value]
    return value


def _model(path: Path, entries: list[dict[str, Any]]) -> dict[str, Any]:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return _without_examples(build_files([path], service="svc").openapi)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(witnesses(), min_size=1, max_size=25))
def test_the_model_of_an_obfuscated_trace_is_the_model_of_the_raw_one(
    tmp_path: Path, trace: list[dict[str, Any]]
) -> None:
    raw = _model(tmp_path / "raw.jsonl", trace)
    obfuscated = _model(
        tmp_path / "obfuscated.jsonl", [obfuscate_witness(w) for w in trace]
    )

    assert obfuscated == raw


def test_twenty_distinct_words_collapse_the_same_way(tmp_path: Path) -> None:
    trace = [
        {
            "startedDateTime": "2026-12-03T21:10:08+00:00",
            "time": 1,
            "request": {
                "method": "GET",
                "url": f"https://a.example/users/{name}/posts",
            },
            "response": {"status": 200},
        }
        for name in [
            "ada",
            "bob",
            "cy",
            "dee",
            "eve",
            "fay",
            "gus",
            "hal",
            "ivy",
            "jo",
            "kai",
            "lea",
            "max",
            "ned",
            "oz",
            "pam",
            "quin",
            "ray",
            "sue",
            "tom",
        ]
    ]

    raw = _model(tmp_path / "raw.jsonl", trace)
    obfuscated = _model(
        tmp_path / "obfuscated.jsonl", [obfuscate_witness(w) for w in trace]
    )

    assert list(raw["paths"]) == ["/users/{user_id}/posts"]
    assert obfuscated == raw
