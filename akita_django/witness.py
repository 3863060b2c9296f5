"""Turn a Django request and its response into a witness (a HAR 1.2 entry).

The middleware and the recording test client share this one converter, so
that a trace from production and a trace from tests say the same thing in
the same words. It works in two steps: ``capture_exchange`` takes what a
witness needs from the request and response (references, in the request's
thread), and ``Exchange.to_witness`` builds the HAR entry (later, in bulk,
in the middleware's sender thread). Whatever can wait for the second step
waits: a request's thread competes for the GIL with the server's other
threads, and the same work costs it about twice what it costs the sender,
which does it for a whole batch at once. Neither step raises on what the
application did: a body that can no longer be read, or a response that
streams, is recorded as absent.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.cookies import Morsel
from operator import itemgetter
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.encoding import escape_uri_path, iri_to_uri

WITNESS_VERSION = 1
_UNPREFIXED_HEADERS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
# What a witness reads of META besides the HTTP_ headers.
_KEPT_META = _UNPREFIXED_HEADERS | {
    "SERVER_PROTOCOL",
    "QUERY_STRING",
    "SERVER_NAME",
    "SERVER_PORT",
}
_header_names: dict[str, str] = {}
MetaPicker = Callable[[Mapping[str, Any]], tuple[Any, ...]]
_meta_pickers: dict[tuple[str, ...], tuple[tuple[str, ...], MetaPicker]] = {}
# The second of the last timestamp formatted, and its text up to the second.
_last_second: list[Any] = [None, ""]


# Not frozen: a frozen dataclass sets each field through object.__setattr__,
# which the request thread would pay for on every captured request.
@dataclass(slots=True)
class Exchange:
    """What a witness needs of one request and its response."""

    started: float
    elapsed_ms: float
    method: str
    scheme: str
    path: str
    meta_keys: tuple[str, ...]
    meta_values: tuple[Any, ...]
    body: bytes | None
    body_size: int
    route: str | None
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    cookies: tuple[Morsel[str], ...]
    content: bytes | None
    content_size: int
    use_forwarded_host: bool

    @property
    def is_truncated(self) -> bool:
        """Whether a body is longer than what was kept of it."""
        return (self.body is not None and self.body_size > len(self.body)) or (
            self.content is not None and self.content_size > len(self.content)
        )

    @property
    def meta(self) -> dict[str, Any]:
        """Return the entries of the request's META that a witness reads."""
        return dict(zip(self.meta_keys, self.meta_values, strict=True))

    def to_witness(self, akita: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return the witness, with more ``_akita`` fields if given."""
        elapsed = round(self.elapsed_ms, 3)
        extra: dict[str, Any] = {"v": WITNESS_VERSION}
        if self.route:
            extra["route"] = self.route
        if akita:
            extra.update(akita)
        if "obfuscated" not in extra:
            extra["obfuscated"] = False
        if self.is_truncated:
            extra["truncated"] = True

        return {
            "startedDateTime": _iso_timestamp(self.started),
            "time": elapsed,
            "request": _request_entry(self, self.meta),
            "response": _response_entry(self),
            "cache": {},
            "timings": {"send": 0, "wait": elapsed, "receive": 0},
            "_akita": extra,
        }


def _iso_timestamp(started: float) -> str:
    """Return what ``datetime.fromtimestamp(started, UTC).isoformat()`` does.

    Witnesses come many a second: the text up to the second is made once a
    second, and only the microseconds for each witness.
    """
    # Split and rounded as datetime does, so that both give the same text.
    fraction, whole = math.modf(started)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        micros, whole = micros - 1_000_000, whole + 1
    elif micros < 0:
        micros, whole = micros + 1_000_000, whole - 1
    second = int(whole)
    last = _last_second
    if last[0] != second:
        last[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        last[0] = second
    if micros:
        return f"{last[1]}.{micros:06d}+00:00"
    return f"{last[1]}+00:00"


def _text_fields(data: bytes, is_cut: bool) -> dict[str, str]:
    """Return the ``text`` (and ``encoding``) of a body."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError as exc:
        # A cut through a multi-byte character is still text: drop the
        # character's first bytes rather than calling the whole body binary.
        if is_cut and exc.reason == "unexpected end of data":
            try:
                return {"text": data[: exc.start].decode("utf-8")}
            except UnicodeDecodeError:
                pass
    return {"text": base64.b64encode(data).decode("ascii"), "encoding": "base64"}


def _pairs(items: Iterable[tuple[Any, Any]]) -> list[dict[str, str]]:
    return [{"name": str(name), "value": str(value)} for name, value in items]


def _query_string(query: str) -> list[dict[str, str]]:
    if not query:
        return []
    return _pairs(parse_qsl(query, keep_blank_values=True, errors="replace"))


def _request_cookies(header: str) -> list[dict[str, str]]:
    # request.COOKIES is a dict and would drop a repeated name.
    if not header:
        return []
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
    for field in ("path", "domain", "expires"):
        if morsel[field]:
            cookie[field] = str(morsel[field])
    if morsel["max-age"] != "":
        cookie["_maxAge"] = str(morsel["max-age"])
    cookie["httpOnly"] = bool(morsel["httponly"])
    cookie["secure"] = bool(morsel["secure"])
    if morsel["samesite"]:
        cookie["_sameSite"] = str(morsel["samesite"])
    return cookie


def _header_name(key: str) -> str:
    """Return the header name of a META key, or "" when it names none."""
    name = _header_names.get(key)
    if name is not None:
        return name
    if key.startswith("HTTP_"):
        name = key[5:].replace("_", "-").title()
    elif key in _UNPREFIXED_HEADERS:
        name = key.replace("_", "-").title()
    else:
        name = ""
    # Servers send few distinct keys; the bound only guards against abuse.
    if len(_header_names) < 4096:
        _header_names[key] = name
    return name


def _request_headers(meta: Mapping[str, Any]) -> list[dict[str, str]]:
    # What request.headers gives, built straight from META: going through
    # its Mapping interface costs several times more.
    headers = []
    for key, value in meta.items():
        name = _header_names.get(key)
        if name is None:
            name = _header_name(key)
        if name:
            headers.append({"name": name, "value": str(value)})
    return headers


def _url(exchange: Exchange, meta: Mapping[str, Any]) -> str:
    """Return the URL the client asked for, as ``get_full_path`` writes it."""
    scheme, query = exchange.scheme, meta.get("QUERY_STRING", "")
    url = f"{scheme}://{_raw_host(meta, scheme, exchange.use_forwarded_host)}"
    url += escape_uri_path(exchange.path)
    return f"{url}?{iri_to_uri(query)}" if query else url


def _request_entry(exchange: Exchange, meta: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "method": exchange.method,
        "url": _url(exchange, meta),
        "httpVersion": str(meta.get("SERVER_PROTOCOL") or "HTTP/1.1"),
        "headers": _request_headers(meta),
        "queryString": _query_string(str(meta.get("QUERY_STRING", ""))),
        "cookies": _request_cookies(str(meta.get("HTTP_COOKIE", ""))),
        "headersSize": -1,
        "bodySize": exchange.body_size,
    }
    body = exchange.body
    if body is None:
        entry["postData"] = {"mimeType": str(meta.get("CONTENT_TYPE", ""))}
    elif body:
        is_cut = exchange.body_size > len(body)
        entry["postData"] = {
            "mimeType": str(meta.get("CONTENT_TYPE", "")),
            **_text_fields(body, is_cut),
        }
    return entry


def _response_entry(exchange: Exchange) -> dict[str, Any]:
    headers = []
    mime_type = location = ""
    for name, value in exchange.headers:
        headers.append({"name": name, "value": value})
        lowered = name.lower()
        if lowered == "content-type":
            mime_type = value
        elif lowered == "location":
            location = value
    headers.extend(
        {"name": "Set-Cookie", "value": morsel.OutputString()}
        for morsel in exchange.cookies
    )
    content: dict[str, Any] = {"size": exchange.content_size, "mimeType": mime_type}
    if exchange.content is not None:
        is_cut = exchange.content_size > len(exchange.content)
        content.update(_text_fields(exchange.content, is_cut))
    return {
        "status": exchange.status,
        "statusText": exchange.reason,
        "httpVersion": "HTTP/1.1",
        "headers": headers,
        "cookies": [_response_cookie(morsel) for morsel in exchange.cookies],
        "content": content,
        "redirectURL": location,
        "headersSize": -1,
        "bodySize": exchange.content_size,
    }


def _raw_host(meta: Mapping[str, Any], scheme: str, use_forwarded_host: bool) -> str:
    # request.get_host() raises DisallowedHost for hosts outside
    # ALLOWED_HOSTS; a witness records what the client sent regardless.
    host = meta.get("HTTP_X_FORWARDED_HOST") if use_forwarded_host else None
    host = host or meta.get("HTTP_HOST")
    if host:
        return str(host)
    name, port = str(meta.get("SERVER_NAME", "")), str(meta.get("SERVER_PORT", ""))
    default_port = "443" if scheme == "https" else "80"
    return name if port in ("", default_port) else f"{name}:{port}"


def _request_body(request: HttpRequest, limit: int) -> tuple[bytes | None, int]:
    meta = request.META
    has_no_body = (
        not meta.get("CONTENT_LENGTH") or meta.get("CONTENT_LENGTH") == "0"
    ) and "HTTP_TRANSFER_ENCODING" not in meta
    if has_no_body and not hasattr(request, "_body"):
        return b"", 0
    try:
        body = request.body
    except Exception:
        # The view read the stream itself (a multipart upload, say), or the
        # body broke DATA_UPLOAD_MAX_MEMORY_SIZE: its bytes are gone.
        return None, -1
    return body[:limit], len(body)


def _response_headers(response: HttpResponseBase) -> tuple[tuple[str, str], ...]:
    # ResponseHeaders keeps (name, value) pairs by lower-cased name; reading
    # them directly skips the per-key lookups of its Mapping interface.
    store = getattr(response.headers, "_store", None)
    if isinstance(store, dict):
        return tuple(store.values())
    return tuple(response.items())


def _meta_picker(kept: tuple[str, ...]) -> MetaPicker:
    if len(kept) > 1:
        return itemgetter(*kept)
    # itemgetter of one key returns the value itself, and of none is an error.
    return lambda meta: tuple(meta[key] for key in kept)


def _kept_meta(meta: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Return the keys and values of the part of META that a witness reads.

    The rest (the input stream, the socket, the server's objects) would
    outlive the request in the queue and age into the garbage collector's
    older generations. A server sends the same few sets of keys again and
    again: which of them to keep, and a function that picks their values
    (in C), is worked out once for each.
    """
    keys = tuple(meta)
    picked = _meta_pickers.get(keys)
    if picked is None:
        kept = tuple(key for key in keys if key[:5] == "HTTP_" or key in _KEPT_META)
        picked = (kept, _meta_picker(kept))
        # The bound only guards against clients that vary their headers.
        if len(_meta_pickers) < 1024:
            _meta_pickers[keys] = picked
    kept, pick = picked
    return kept, pick(meta)


def capture_exchange(
    request: HttpRequest,
    response: HttpResponseBase,
    *,
    started: float,
    elapsed_ms: float,
    max_body_bytes: int,
    use_forwarded_host: bool = False,
) -> Exchange:
    """Take what the witness of a request and its response needs.

    Args:
        request: the request, after the view ran.
        response: its response; a streaming one is left unread.
        started: when the request began, in seconds since the epoch.
        elapsed_ms: milliseconds from the start of the request to the end
            of the response.
        max_body_bytes: bodies longer than this keep only their first bytes
            and mark the witness ``_akita.truncated``.
        use_forwarded_host: trust ``X-Forwarded-Host``, as Django's
            ``USE_X_FORWARDED_HOST`` does.
    """
    body, body_size = _request_body(request, max_body_bytes)
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None) if match is not None else None
    headers = _response_headers(response)

    content: bytes | None = None
    content_size = -1
    if not response.streaming:
        full: bytes = response.content
        content, content_size = full[:max_body_bytes], len(full)
    else:
        # Reading a streaming response would consume it before the client.
        length = response.get("Content-Length")
        if length is not None and str(length).isdigit():
            content_size = int(length)

    # The URL is put together later, in the sender thread: the scheme (which
    # settings decide) is all it needs of the request besides META.
    meta_keys, meta_values = _kept_meta(request.META)
    # Positional: keywords cost the request's thread twice as much here.
    return Exchange(
        started,
        elapsed_ms,
        request.method or "GET",
        request.scheme,
        request.path,
        meta_keys,
        meta_values,
        body,
        body_size,
        str(route) if route else None,
        response.status_code,
        str(response.reason_phrase),
        headers,
        tuple(response.cookies.values()),
        content,
        content_size,
        use_forwarded_host,
    )


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
    from django.conf import settings

    exchange = capture_exchange(
        request,
        response,
        started=started.timestamp(),
        elapsed_ms=elapsed_ms,
        max_body_bytes=max_body_bytes,
        use_forwarded_host=bool(getattr(settings, "USE_X_FORWARDED_HOST", False)),
    )
    return exchange.to_witness(akita)
