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
MetaPicker = Callable[[Mapping[str, Any]], tuple[Any, ...]]
# The second of the last timestamp formatted, and its text up to the second.
_last_second: list[Any] = [None, ""]


@dataclass(frozen=True, slots=True)
class MetaLayout:
    """Where the META entries that a witness reads sit, for one set of keys.

    A server sends the same few sets of META keys again and again: which of
    them to keep, the header each one names and a function that picks their
    values (in C) are worked out once for each set.
    """

    keys: tuple[str, ...]
    headers: tuple[tuple[int, str], ...]
    positions: Mapping[str, int]
    pick: MetaPicker

    def get(self, values: tuple[Any, ...], key: str) -> str:
        """Return the value of ``key`` among ``values``, or ""."""
        position = self.positions.get(key)
        return "" if position is None else str(values[position])


_layouts: dict[tuple[str, ...], MetaLayout] = {}
_escaped_paths: dict[str, str] = {}


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
    meta_layout: MetaLayout
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

    def to_witness(self, akita: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return the witness, with more ``_akita`` fields if given."""
        # The sender thread builds witnesses by the hundred: this and the
        # helpers below test for the common empty cases inline rather than
        # call a function that finds nothing to do.
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
            "request": _request_entry(self),
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
    if key.startswith("HTTP_"):
        return key[5:].replace("_", "-").title()
    if key in _UNPREFIXED_HEADERS:
        return key.replace("_", "-").title()
    return ""


def _escaped_path(path: str) -> str:
    # Most traffic asks for the same paths again and again.
    escaped = _escaped_paths.get(path)
    if escaped is None:
        escaped = escape_uri_path(path)
        if len(_escaped_paths) >= 4096:
            _escaped_paths.clear()
        _escaped_paths[path] = escaped
    return escaped


def _url(exchange: Exchange) -> str:
    """Return the URL the client asked for, as ``get_full_path`` writes it."""
    scheme = exchange.scheme
    query = exchange.meta_layout.get(exchange.meta_values, "QUERY_STRING")
    url = f"{scheme}://{_raw_host(exchange)}{_escaped_path(exchange.path)}"
    return f"{url}?{iri_to_uri(query)}" if query else url


def _request_entry(exchange: Exchange) -> dict[str, Any]:
    layout, values = exchange.meta_layout, exchange.meta_values
    get = layout.get
    query, cookie = get(values, "QUERY_STRING"), get(values, "HTTP_COOKIE")
    # What request.headers gives, built straight from META: going through
    # its Mapping interface costs several times more.
    headers = [
        {"name": name, "value": str(values[position])}
        for position, name in layout.headers
    ]
    entry: dict[str, Any] = {
        "method": exchange.method,
        "url": _url(exchange),
        "httpVersion": get(values, "SERVER_PROTOCOL") or "HTTP/1.1",
        "headers": headers,
        "queryString": _query_string(query) if query else [],
        "cookies": _request_cookies(cookie) if cookie else [],
        "headersSize": -1,
        "bodySize": exchange.body_size,
    }
    body = exchange.body
    if body is None:
        entry["postData"] = {"mimeType": get(values, "CONTENT_TYPE")}
    elif body:
        is_cut = exchange.body_size > len(body)
        entry["postData"] = {
            "mimeType": get(values, "CONTENT_TYPE"),
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
    cookies = exchange.cookies
    if cookies:
        headers.extend(
            {"name": "Set-Cookie", "value": morsel.OutputString()} for morsel in cookies
        )
    content: dict[str, Any] = {"size": exchange.content_size, "mimeType": mime_type}
    data = exchange.content
    if data:
        is_cut = exchange.content_size > len(data)
        content.update(_text_fields(data, is_cut))
    elif data is not None:
        content["text"] = ""
    return {
        "status": exchange.status,
        "statusText": exchange.reason,
        "httpVersion": "HTTP/1.1",
        "headers": headers,
        "cookies": [_response_cookie(morsel) for morsel in cookies] if cookies else [],
        "content": content,
        "redirectURL": location,
        "headersSize": -1,
        "bodySize": exchange.content_size,
    }


def _raw_host(exchange: Exchange) -> str:
    # request.get_host() raises DisallowedHost for hosts outside
    # ALLOWED_HOSTS; a witness records what the client sent regardless.
    get, values = exchange.meta_layout.get, exchange.meta_values
    host = get(values, "HTTP_X_FORWARDED_HOST") if exchange.use_forwarded_host else ""
    host = host or get(values, "HTTP_HOST")
    if host:
        return host
    name, port = get(values, "SERVER_NAME"), get(values, "SERVER_PORT")
    default_port = "443" if exchange.scheme == "https" else "80"
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


def _meta_layout(keys: tuple[str, ...]) -> MetaLayout:
    kept = tuple(key for key in keys if key[:5] == "HTTP_" or key in _KEPT_META)
    names = [_header_name(key) for key in kept]
    return MetaLayout(
        keys=kept,
        headers=tuple((position, name) for position, name in enumerate(names) if name),
        positions={key: position for position, key in enumerate(kept)},
        pick=_meta_picker(kept),
    )


def _kept_meta(meta: Mapping[str, Any]) -> tuple[MetaLayout, tuple[Any, ...]]:
    """Return the layout and values of the part of META a witness reads.

    The rest (the input stream, the socket, the server's objects) would
    outlive the request in the queue and age into the garbage collector's
    older generations.
    """
    keys = tuple(meta)
    layout = _layouts.get(keys)
    if layout is None:
        layout = _meta_layout(keys)
        # The bound only guards against clients that vary their headers.
        if len(_layouts) < 1024:
            _layouts[keys] = layout
    return layout, layout.pick(meta)


def capture_exchange(
    request: HttpRequest,
    response: HttpResponseBase,
    *,
    started: float,
    elapsed_ms: float,
    max_body_bytes: int,
    use_forwarded_host: bool = False,
    has_proxy_ssl_header: bool = True,
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
        has_proxy_ssl_header: whether ``SECURE_PROXY_SSL_HEADER`` is set;
            when it is not, the scheme is the server's, and reading the
            setting (as ``request.scheme`` does) is skipped.
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
    meta_layout, meta_values = _kept_meta(request.META)
    # Positional: keywords cost the request's thread twice as much here.
    return Exchange(
        started,
        elapsed_ms,
        request.method or "GET",
        # A lookup in Django's settings costs more than most of this
        # function; request.scheme makes one on every call.
        request.scheme if has_proxy_ssl_header else request._get_scheme(),
        request.path,
        meta_layout,
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
