"""The converter from Django requests and responses to witnesses."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.urls import resolve

from akita_django.witness import _kept_meta, build_witness

STARTED = datetime(2026, 12, 3, 21, 10, 8, 123456, tzinfo=UTC)


def _witness(request: Any, response: Any, limit: int = 1024) -> dict[str, Any]:
    return build_witness(
        request,
        response,
        started=STARTED,
        elapsed_ms=12.34567,
        max_body_bytes=limit,
        akita={"service": "django-demo", "middleware": "web-1"},
    )


def test_get_with_query_repeats_headers_and_cookies() -> None:
    request = RequestFactory().get(
        "/api/articles/how-to-train/comments/1/?tag=a&page=2&tag=b&empty=",
        headers={
            "Accept": "application/json",
            "Referer": "http://example.com:8080/a?b=c",
        },
        HTTP_COOKIE="theme=dark; theme=light; sessionid=abc",
    )
    request.resolver_match = resolve("/api/articles/how-to-train/comments/1/")
    response = JsonResponse({"id": 1})
    response["X-Trace"] = "a: b: c"
    response.set_cookie("sessionid", "xyz", httponly=True, samesite="Lax")
    response.set_cookie("seen", "1", max_age=60, path="/api/")

    witness = _witness(request, response)

    seen_cookie = witness["response"]["cookies"][1]
    assert seen_cookie.pop("expires").endswith(" GMT")
    assert witness == {
        "startedDateTime": "2026-12-03T21:10:08.123456+00:00",
        "time": 12.346,
        "request": {
            "method": "GET",
            "url": "http://testserver/api/articles/how-to-train/comments/1/"
            "?tag=a&page=2&tag=b&empty=",
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Cookie", "value": "theme=dark; theme=light; sessionid=abc"},
                {"name": "Accept", "value": "application/json"},
                {"name": "Referer", "value": "http://example.com:8080/a?b=c"},
            ],
            "queryString": [
                {"name": "tag", "value": "a"},
                {"name": "page", "value": "2"},
                {"name": "tag", "value": "b"},
                {"name": "empty", "value": ""},
            ],
            "cookies": [
                {"name": "theme", "value": "dark"},
                {"name": "theme", "value": "light"},
                {"name": "sessionid", "value": "abc"},
            ],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "X-Trace", "value": "a: b: c"},
                {
                    "name": "Set-Cookie",
                    "value": "sessionid=xyz; HttpOnly; Path=/; SameSite=Lax",
                },
                {
                    "name": "Set-Cookie",
                    "value": witness["response"]["headers"][3]["value"],
                },
            ],
            "cookies": [
                {
                    "name": "sessionid",
                    "value": "xyz",
                    "path": "/",
                    "httpOnly": True,
                    "secure": False,
                    "_sameSite": "Lax",
                },
                {
                    "name": "seen",
                    "value": "1",
                    "path": "/api/",
                    "_maxAge": "60",
                    "httpOnly": False,
                    "secure": False,
                },
            ],
            "content": {"size": 9, "mimeType": "application/json", "text": '{"id": 1}'},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 9,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 12.346, "receive": 0},
        "_akita": {
            "v": 1,
            "route": "api/articles/<slug:slug>/comments/<int:pk>/",
            "service": "django-demo",
            "middleware": "web-1",
            "obfuscated": False,
        },
    }
    assert witness["response"]["headers"][3]["value"].startswith("seen=1; expires=")


def test_json_request_body_and_redirect() -> None:
    request = RequestFactory().post(
        "/api/articles/",
        data='{"title": "Ünïcode"}',
        content_type="application/json",
        secure=True,
        headers={"Host": "api.example.com:8443"},
    )
    response = HttpResponse(status=302, headers={"Location": "/api/articles/x/"})

    witness = _witness(request, response)

    assert witness["request"]["url"] == "https://api.example.com:8443/api/articles/"
    assert witness["request"]["bodySize"] == 22
    assert witness["request"]["postData"] == {
        "mimeType": "application/json",
        "text": '{"title": "Ünïcode"}',
    }
    assert witness["response"]["status"] == 302
    assert witness["response"]["statusText"] == "Found"
    assert witness["response"]["redirectURL"] == "/api/articles/x/"
    assert witness["response"]["content"] == {
        "size": 0,
        "mimeType": "text/html; charset=utf-8",
        "text": "",
    }
    assert "route" not in witness["_akita"]


def test_binary_bodies_are_base64() -> None:
    payload = bytes(range(250, 256)) + b"\x00\x01"
    request = RequestFactory().put(
        "/api/blob", data=payload, content_type="application/octet-stream"
    )
    response = HttpResponse(payload, content_type="image/png")

    witness = _witness(request, response)

    encoded = base64.b64encode(payload).decode("ascii")
    assert witness["request"]["postData"] == {
        "mimeType": "application/octet-stream",
        "text": encoded,
        "encoding": "base64",
    }
    assert witness["response"]["content"] == {
        "size": 8,
        "mimeType": "image/png",
        "text": encoded,
        "encoding": "base64",
    }
    assert "truncated" not in witness["_akita"]


def test_bodies_over_the_limit_are_cut_and_marked() -> None:
    request = RequestFactory().post(
        "/api/notes", data="é" * 10, content_type="text/plain"
    )
    response = HttpResponse("x" * 30, content_type="text/plain")

    witness = _witness(request, response, limit=7)

    # Seven bytes end inside the fourth "é": the cut keeps three whole ones.
    assert witness["request"]["postData"] == {"mimeType": "text/plain", "text": "ééé"}
    assert witness["request"]["bodySize"] == 20
    assert witness["response"]["content"] == {
        "size": 30,
        "mimeType": "text/plain",
        "text": "xxxxxxx",
    }
    assert witness["_akita"]["truncated"] is True


def test_body_read_by_the_view_is_absent_not_an_error() -> None:
    upload = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    request = RequestFactory().post("/api/upload", data={"file": upload})
    assert request.FILES["file"].read() == b"hello"

    witness = _witness(request, HttpResponse(status=201))

    assert witness["request"]["bodySize"] == -1
    assert witness["request"]["postData"]["mimeType"].startswith(
        "multipart/form-data; boundary="
    )
    assert "text" not in witness["request"]["postData"]


def test_streaming_responses_are_not_consumed() -> None:
    request = RequestFactory().get("/api/export")
    streamed = StreamingHttpResponse(iter([b"a", b"b"]), content_type="text/csv")
    file_response = FileResponse(BytesIO(b"%PDF-1.4"), filename="x.pdf")

    streamed_witness = _witness(request, streamed)
    file_witness = _witness(request, file_response)

    assert streamed_witness["response"]["content"] == {
        "size": -1,
        "mimeType": "text/csv",
    }
    assert streamed_witness["response"]["bodySize"] == -1
    assert b"".join(streamed.streaming_content) == b"ab"
    assert file_witness["response"]["content"] == {
        "size": 8,
        "mimeType": "application/pdf",
    }
    assert b"".join(file_response.streaming_content) == b"%PDF-1.4"


def test_disallowed_host_is_recorded_not_raised() -> None:
    request = RequestFactory().get("/api/health/", headers={"Host": "evil.test:81"})

    witness = _witness(request, JsonResponse({"status": "ok"}))

    assert witness["request"]["url"] == "http://evil.test:81/api/health/"


def test_only_the_meta_entries_a_witness_reads_are_kept() -> None:
    stream = BytesIO(b"")
    many = {
        "HTTP_HOST": "a.test",
        "wsgi.input": stream,
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "text/plain",
    }

    layout, values = _kept_meta(many)
    assert (layout.keys, values) == (
        ("HTTP_HOST", "SERVER_PORT", "CONTENT_TYPE"),
        ("a.test", "80", "text/plain"),
    )
    assert layout.headers == ((0, "Host"), (2, "Content-Type"))
    assert layout.get(values, "SERVER_PORT") == "80"
    assert layout.get(values, "QUERY_STRING") == ""
    layout, values = _kept_meta({"HTTP_HOST": "b.test", "wsgi.input": stream})
    assert (layout.keys, values) == (("HTTP_HOST",), ("b.test",))
    layout, values = _kept_meta({"wsgi.input": stream})
    assert (layout.keys, values) == ((), ())
