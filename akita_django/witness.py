"""Turn a Django request and its response into a witness (a HAR 1.2 entry).

The middleware and the recording test client share this one converter, so
that a trace from production and a trace from tests say the same thing in
the same words. It never raises on what the application did: a body that
can no longer be read, or a response that streams, is recorded as absent.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from http.cookies import Morsel
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest
from django.http.response import HttpResponseBase

WITNESS_VERSION = 1
_UNPREFIXED_HEADERS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})


def _body_fields(data: bytes, limit: int) -> tuple[dict[str, Any], bool]:
    """Return the ``text`` (and ``encoding``) of a body, and if it was cut."""
    is_truncated = len(data) > limit
    kept = data[:limit] if is_truncated else data
    try:
        return {"text": kept.decode("utf-8")}, is_truncated
    except UnicodeDecodeError as exc:
        # A cut through a multi-byte character is still text: drop the
        # character's first bytes rather than calling the whole body binary.
        if is_truncated and exc.reason == "unexpected end of data":
            try:
                return {"text": kept[: exc.start].decode("utf-8")}, is_truncated
            except UnicodeDecodeError:
                pass
    text = base64.b64encode(kept).decode("ascii")
    return {"text": text, "encoding": "base64"}, is_truncated


def _pairs(items: Any) -> list[dict[str, str]]:
    return [{"name": str(name), "value": str(value)} for name, value in items]


def _request_cookies(header: str) -> list[dict[str, str]]:
    # request.COOKIES is a dict and would drop a repeated name.
    cookies = []
    for chunk in header.split(";"):
        name, has_value, value = chunk.partition("=")
        name, value = name.strip(), value.strip()
        if not has_value and not name:
            continue
        if not has_value:
            # A bare word is a value without a name, as browsers read it.
            name, value = "", name
        cookies.append({"name": name, "value": value})
    return cookies


def _response_cookie(morsel: Morsel[str]) -> dict[str, Any]:
    cookie: dict[str, Any] = {"name": morsel.key, "value": morsel.value}
    for field, attribute in (("path", "path"), ("domain", "domain")):
        if morsel[attribute]:
            cookie[field] = str(morsel[attribute])
    if morsel["expires"]:
        cookie["expires"] = str(morsel["expires"])
    if morsel["max-age"] != "":
        cookie["_maxAge"] = str(morsel["max-age"])
    cookie["httpOnly"] = bool(morsel["httponly"])
    cookie["secure"] = bool(morsel["secure"])
    if morsel["samesite"]:
        cookie["_sameSite"] = str(morsel["samesite"])
    return cookie


def _request_headers(meta: Mapping[str, Any]) -> list[dict[str, str]]:
    # What request.headers gives, built straight from META: going through
    # its Mapping interface costs several times more per request.
    headers = []
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in _UNPREFIXED_HEADERS:
            name = key
        else:
            continue
        headers.append({"name": name.replace("_", "-").title(), "value": str(value)})
    return headers


def _response_headers(response: HttpResponseBase) -> list[dict[str, str]]:
    # ResponseHeaders keeps (name, value) pairs by lower-cased name; reading
    # them directly skips the per-key lookups of its Mapping interface.
    store = getattr(response.headers, "_store", None)
    pairs = store.values() if isinstance(store, dict) else response.items()
    return _pairs(pairs)


def _raw_host(request: HttpRequest) -> str:
    # request.get_host() raises DisallowedHost for hosts outside
    # ALLOWED_HOSTS; a witness records what the client sent regardless.
    meta = request.META
    host = meta.get("HTTP_X_FORWARDED_HOST") if _uses_forwarded_host() else None
    host = host or meta.get("HTTP_HOST")
    if host:
        return str(host)
    name, port = str(meta.get("SERVER_NAME", "")), str(meta.get("SERVER_PORT", ""))
    default_port = "443" if request.scheme == "https" else "80"
    return name if port in ("", default_port) else f"{name}:{port}"


def _uses_forwarded_host() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "USE_X_FORWARDED_HOST", False))


def _request_entry(request: HttpRequest, limit: int) -> tuple[dict[str, Any], bool]:
    meta = request.META
    headers = _request_headers(meta)
    query_string = str(meta.get("QUERY_STRING", ""))
    entry: dict[str, Any] = {
        "method": request.method or "GET",
        "url": f"{request.scheme}://{_raw_host(request)}{request.get_full_path()}",
        "httpVersion": str(meta.get("SERVER_PROTOCOL") or "HTTP/1.1"),
        "headers": headers,
        "queryString": _pairs(
            parse_qsl(query_string, keep_blank_values=True, errors="replace")
        ),
        "cookies": _request_cookies(str(meta.get("HTTP_COOKIE", ""))),
        "headersSize": -1,
        "bodySize": 0,
    }

    try:
        body = request.body
    except Exception:
        # The view read the stream itself (a multipart upload, say), or the
        # body broke DATA_UPLOAD_MAX_MEMORY_SIZE: its bytes are gone.
        body = None
    content_type = str(meta.get("CONTENT_TYPE", ""))
    if body is None:
        entry["bodySize"] = -1
        entry["postData"] = {"mimeType": content_type}
        return entry, False
    if not body:
        return entry, False

    fields, is_truncated = _body_fields(body, limit)
    entry["bodySize"] = len(body)
    entry["postData"] = {"mimeType": content_type, **fields}
    return entry, is_truncated


def _response_entry(
    response: HttpResponseBase, limit: int
) -> tuple[dict[str, Any], bool]:
    headers = _response_headers(response)
    headers.extend(
        {"name": "Set-Cookie", "value": morsel.OutputString()}
        for morsel in response.cookies.values()
    )
    mime_type = str(response.get("Content-Type", ""))
    entry: dict[str, Any] = {
        "status": response.status_code,
        "statusText": str(response.reason_phrase),
        "httpVersion": "HTTP/1.1",
        "headers": headers,
        "cookies": [_response_cookie(m) for m in response.cookies.values()],
        "content": {"size": -1, "mimeType": mime_type},
        "redirectURL": str(response.get("Location", "")),
        "headersSize": -1,
        "bodySize": -1,
    }

    # Reading a streaming response would consume it before the client does.
    if response.streaming:
        length = response.get("Content-Length")
        if length is not None and length.isdigit():
            entry["content"]["size"] = entry["bodySize"] = int(length)
        return entry, False

    body: bytes = response.content
    fields, is_truncated = _body_fields(body, limit)
    entry["content"] = {"size": len(body), "mimeType": mime_type, **fields}
    entry["bodySize"] = len(body)
    return entry, is_truncated


def build_witness(
    request: HttpRequest,
    response: HttpResponseBase,
    *,
    started: datetime,
    elapsed_ms: float,
    max_body_bytes: int,
    akita: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the witness of one request and its response.

    Args:
        request: the request, after the view ran.
        response: its response; a streaming one is left unread.
        started: when the request began, timezone-aware.
        elapsed_ms: milliseconds from the start of the request to the end
            of the response.
        max_body_bytes: bodies longer than this keep only their first bytes
            and mark the witness ``_akita.truncated``.
        akita: more ``_akita`` fields (``service``, ``middleware``,
            ``trace``).

    Returns:
        The HAR entry, with ``_akita`` fields, as plain JSON-ready values.
    """
    request_entry, is_request_cut = _request_entry(request, max_body_bytes)
    response_entry, is_response_cut = _response_entry(response, max_body_bytes)
    elapsed = round(elapsed_ms, 3)

    extra: dict[str, Any] = {"v": WITNESS_VERSION}
    match = getattr(request, "resolver_match", None)
    if match is not None and getattr(match, "route", None):
        extra["route"] = str(match.route)
    if akita:
        extra.update(akita)
    extra.setdefault("obfuscated", False)
    if is_request_cut or is_response_cut:
        extra["truncated"] = True

    return {
        "startedDateTime": started.isoformat(),
        "time": elapsed,
        "request": request_entry,
        "response": response_entry,
        "cache": {},
        "timings": {"send": 0, "wait": elapsed, "receive": 0},
        "_akita": extra,
    }
