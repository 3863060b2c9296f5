"""Parse one HAR entry into a ``Witness``.

A witness is one HTTP request and its response. ``parse_entry`` turns a HAR
1.2 entry (already decoded from JSON) into a ``Witness``, or raises
``EntryError`` with one of the stable reasons in ``REASONS`` so that the
reader can skip the entry, count it and go on.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, NoReturn, cast
from urllib.parse import parse_qsl

import orjson

from akita_model.errors import EntryError
from akita_model.shapes import text_shape

# The reasons an entry is skipped for, by their stable names.
REASONS: Final[dict[str, str]] = {
    "not-json": "the line is not JSON",
    "truncated": "the line or file is cut off",
    "not-an-entry": "the JSON value is not a HAR entry object",
    "missing-field": "a required HAR field is missing",
    "bad-field": "a HAR field has a value of the wrong type",
    "bad-url": "the request URL cannot be parsed",
    "bad-base64": "a base64 body does not decode",
    "bad-json-body": "a body said to be JSON is not JSON",
    "unknown-version": "the _akita.v version is not one this reader knows",
}

KNOWN_AKITA_VERSIONS: Final = frozenset({1})

# A marker for "no parsed JSON", since JSON itself can be null.
NOT_JSON: Final[Any] = type("NotJson", (), {"__repr__": lambda self: "NOT_JSON"})()

Pairs = tuple[tuple[str, str], ...]

# An absolute URL (scheme://host/path?query#fragment) or an absolute path.
_URL: Final = re.compile(
    r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>[^/?#\s]*))?"
    r"(?P<path>/[^?#\s]*)?(?:\?(?P<query>[^#]*))?(?:#.*)?",
    re.DOTALL,
)
UrlGroups = tuple[str | None, str | None, str | None, str | None]


def _url_groups_by_pattern(url: str) -> UrlGroups | None:
    match = _URL.fullmatch(url)
    if match is None:
        return None
    scheme, host, path, query = match.group("scheme", "host", "path", "query")
    return (scheme, host, path, query)


def _first_of(text: str, start: int, chars: str) -> int:
    # Where the first of some characters is, from start on; len(text) if none.
    end = len(text)
    for char in chars:
        found = text.find(char, start, end)
        if found >= 0:
            end = found
    return end


def split_url(url: str) -> UrlGroups | None:
    """Return what ``_URL`` matches in a URL: scheme, host, path and query.

    None when the URL does not match; a part that is not there is None, as
    the pattern's groups give them. The URLs of most traces (ASCII, no white
    space, an alphanumeric scheme or none) are cut with string searches,
    which give the pattern's groups at a fraction of its cost (in C, with
    the package's extension); others are matched with the pattern itself.
    """
    groups = _split_plain_url(url)
    if groups is not None:
        return cast(UrlGroups, groups)
    if not (url.isascii() and url.isprintable()) or " " in url:
        # Not ASCII, or white space: the pattern tells (its \s is Unicode's).
        return _url_groups_by_pattern(url)
    scheme: str | None = None
    host: str | None = None
    position = 0
    if not url.startswith("/"):
        mark = url.find("://")
        if mark <= 0 or not url[0].isalpha() or not url[:mark].isalnum():
            return _url_groups_by_pattern(url)
        scheme = url[:mark]
        position = _first_of(url, mark + 3, "/?#")
        host = url[mark + 3 : position]
    length = len(url)
    path: str | None = None
    if position < length and url[position] == "/":
        end = _first_of(url, position, "?#")
        path = url[position:end]
        position = end
    query: str | None = None
    if position < length and url[position] == "?":
        end = url.find("#", position + 1)
        if end < 0:
            end = length
        query = url[position + 1 : end]
    # What is left is empty or a fragment, which the pattern takes whole.
    return (scheme, host, path, query)


# userinfo@, then a name or an [IPv6] literal, then an optional :port.
_HOST: Final = re.compile(r"(?:[^@/]*@)?(?:\[[0-9A-Fa-f:.]+\]|[^:@\[\]]+)(?::\d{0,5})?")
_MULTIPART_FIELD: Final = re.compile(
    r'^content-disposition:\s*form-data;\s*name="(?P<name>[^"]*)"'
    r'(?:;\s*filename="(?P<file>[^"]*)")?',
    re.IGNORECASE | re.MULTILINE,
)


# Witness and Body are plain classes with written-out constructors, not
# dataclasses: a reader makes one of each for every entry, and the compiled
# module builds these in a third of the time a dataclass's generated
# __init__ takes. Their attributes are Final: nothing changes a witness.
class Body:
    """A request or response body.

    ``media_type`` is lowercase, without parameters (``application/json``).
    ``text`` is the body as text, ``data`` the bytes of a base64 body, and
    ``json`` the value of a JSON body (``NOT_JSON`` otherwise). ``form``
    holds the fields of a form body, as HAR's ``postData.params`` gives
    them: ``(name, value, file_name)``.

    A JSON body's text is read for the shape key of its value
    (``shapes.text_shape``), which checks that it is JSON, and parsed only
    when its value is asked for: ``shape_key`` is then that key, and -1
    for a body parsed when it was read, or not JSON.
    """

    __slots__ = (
        "media_type",
        "text",
        "data",
        "_json",
        "form",
        "is_truncated",
        "shape_key",
    )

    def __init__(
        self,
        media_type: str,
        text: str | None = None,
        data: bytes | None = None,
        json: Any = NOT_JSON,
        form: tuple[tuple[str, str, str | None], ...] = (),
        is_truncated: bool = False,
        shape_key: int = -1,
    ) -> None:
        self.media_type: Final = media_type
        self.text: Final = text
        self.data: Final = data
        self._json: Final = json
        self.form: Final = form
        self.is_truncated: Final = is_truncated
        self.shape_key: Final = shape_key

    def __repr__(self) -> str:
        return f"Body({self.media_type!r}, {len(self.text or '')} characters)"

    @property
    def json(self) -> Any:
        """The value of a JSON body, parsed now if it was only read."""
        if self.shape_key >= 0 and self.text is not None:
            return orjson.loads(self.text)
        return self._json

    @property
    def has_json(self) -> bool:
        """Tell whether the body holds a JSON value."""
        return self.shape_key >= 0 or self._json is not NOT_JSON


class Witness:
    """One HTTP request and its response, as read from a trace."""

    __slots__ = (
        "method",
        "url",
        "scheme",
        "host",
        "path",
        "query",
        "request_headers",
        "cookies",
        "request_body",
        "status",
        "response_headers",
        "response_body",
        "started",
        "elapsed_ms",
        "route",
        "service",
        "middleware",
        "trace",
        "is_obfuscated",
        "is_truncated",
    )

    def __init__(
        self,
        method: str,
        url: str,
        scheme: str,
        host: str,
        path: str,
        query: Pairs,
        request_headers: Pairs,
        cookies: Pairs,
        request_body: Body | None,
        status: int,
        response_headers: Pairs,
        response_body: Body | None,
        started: datetime,
        elapsed_ms: float | None,
        route: str | None = None,
        service: str | None = None,
        middleware: str | None = None,
        trace: str | None = None,
        is_obfuscated: bool = False,
        is_truncated: bool = False,
    ) -> None:
        self.method: Final = method
        self.url: Final = url
        self.scheme: Final = scheme
        self.host: Final = host
        self.path: Final = path
        self.query: Final = query
        self.request_headers: Final = request_headers
        self.cookies: Final = cookies
        self.request_body: Final = request_body
        self.status: Final = status
        self.response_headers: Final = response_headers
        self.response_body: Final = response_body
        self.started: Final = started
        self.elapsed_ms: Final = elapsed_ms
        self.route: Final = route
        self.service: Final = service
        self.middleware: Final = middleware
        self.trace: Final = trace
        self.is_obfuscated: Final = is_obfuscated
        self.is_truncated: Final = is_truncated

    def __repr__(self) -> str:
        return f"Witness({self.method} {self.url} -> {self.status})"


_FIELD_PATHS: Final = {
    "method": "request.method",
    "url": "request.url",
    "status": "response.status",
    "startedDateTime": "startedDateTime",
}


def _missing(request: Any, response: Any) -> NoReturn:
    for name, value in (("request", request), ("response", response)):
        if value is None:
            raise EntryError("missing-field", f"The entry has no {name} field.")
        if type(value) is not dict:
            raise EntryError(
                "not-an-entry", f"The entry's {name} is not a JSON object."
            )
    raise EntryError("not-an-entry", "The entry is not a HAR entry.")


def _pairs(items: Any, where: str) -> Pairs:
    if not items:
        return ()
    if type(items) is tuple:
        # Made by decode_entry's reader: the pairs themselves.
        return items
    if type(items) is list:
        # What HAR writers write: objects whose name and value are strings,
        # read in one pass; anything else is read as below.
        pairs: list[tuple[str, str]] = []
        for item in items:
            if type(item) is not dict:
                break
            name = item.get("name")
            value = item.get("value")
            if type(name) is not str or type(value) is not str:
                break
            pairs.append((name, value))
        else:
            return tuple(pairs)
    return _other_pairs(items, where)


def _other_pairs(items: Any, where: str) -> Pairs:
    try:
        pairs = tuple([(item["name"], item["value"]) for item in items])
    except (KeyError, TypeError):
        raise EntryError(
            "bad-field", f"An item of the entry's {where} lacks a name or a value."
        ) from None
    for name, value in pairs:
        if type(name) is not str or type(value) is not str:
            return tuple((str(name), str(value)) for name, value in pairs)
    return pairs


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def is_json_media_type(media_type: str) -> bool:
    """Tell whether a media type holds JSON (``application/json``, ``+json``)."""
    return media_type == "application/json" or media_type.endswith("+json")


def _parse_cookie_header(value: str) -> list[tuple[str, str]]:
    cookies = []
    for part in value.split(";"):
        name, sep, cookie_value = part.partition("=")
        name = name.strip()
        if name and sep:
            cookies.append((name, cookie_value.strip()))
    return cookies


def _header(headers: Pairs, lower_name: str) -> str | None:
    for name, value in headers:
        if name.lower() == lower_name:
            return value
    return None


def _parse_body(
    content: Any, headers: Pairs, where: str, is_truncated: bool
) -> Body | None:
    if not isinstance(content, dict):
        return None

    media_type = _media_type(str(content.get("mimeType") or ""))
    if not media_type:
        media_type = _media_type(_header(headers, "content-type") or "")
    text = content.get("text")
    params = content.get("params")
    if not text and not params:
        return None
    if text is not None and not isinstance(text, str):
        raise EntryError("bad-field", f"The {where} text is not a string.")
    if not media_type:
        media_type = "application/octet-stream"

    data = None
    if text is not None and content.get("encoding") == "base64":
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise EntryError(
                "bad-base64", f"The {where} is marked base64 but does not decode."
            ) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None

    json_value = NOT_JSON
    shape_key = -1
    if text and is_json_media_type(media_type) and not is_truncated:
        # Most bodies' shapes were seen before, and need not be parsed.
        key = text_shape(text)
        if key is not None:
            shape_key = key
        else:
            try:
                json_value = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise EntryError(
                    "bad-json-body",
                    f"The {where} has media type {media_type!r} but is not JSON.",
                ) from None

    form: tuple[tuple[str, str, str | None], ...] = ()
    if isinstance(params, list):
        form = tuple(
            (str(p["name"]), str(p.get("value", "")), p.get("fileName"))
            for p in params
            if isinstance(p, dict) and "name" in p
        )
    elif text and media_type == "application/x-www-form-urlencoded":
        form = tuple(
            (name, value, None)
            for name, value in parse_qsl(text, keep_blank_values=True)
        )
    elif text and media_type == "multipart/form-data":
        form = tuple(
            (match["name"], "", match["file"])
            for match in _MULTIPART_FIELD.finditer(text)
        )
    return Body(media_type, text, data, json_value, form, is_truncated, shape_key)


def _parse_started(value: Any) -> datetime:
    if not isinstance(value, str):
        raise EntryError("bad-field", "The entry's startedDateTime is not a string.")
    try:
        started = datetime.fromisoformat(value)
    except ValueError:
        raise EntryError(
            "bad-field", f"The entry's startedDateTime {value!r} is not ISO 8601."
        ) from None
    if started.tzinfo is None:
        return started.replace(tzinfo=UTC)
    return started


def _parse_akita(entry: dict[str, Any]) -> dict[str, Any]:
    akita = entry.get("_akita")
    if akita is None:
        return {}
    if not isinstance(akita, dict):
        raise EntryError("bad-field", "The entry's _akita field is not an object.")
    version = akita.get("v", 1)
    if type(version) is not int or version not in KNOWN_AKITA_VERSIONS:
        raise EntryError(
            "unknown-version",
            f"The entry's _akita.v is {version!r}; this reader knows version 1.",
        )
    return akita


def _route(value: Any) -> str | None:
    # Django's route of the root URL is the empty string: still a route.
    return value if isinstance(value, str) else None


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# A trace's URLs name a few hosts, each checked once. Bounded: a trace of
# made-up host names clears it now and then.
_MAX_HOSTS: Final = 256
_hosts: Final[dict[str, bool]] = {}


def _is_host(host: str) -> bool:
    known = _hosts.get(host)
    if known is not None:
        return known
    if len(_hosts) >= _MAX_HOSTS:
        _hosts.clear()
    is_host = _hosts[host] = _HOST.fullmatch(host) is not None
    return is_host


def parse_entry(entry: Any) -> Witness:
    """Turn a decoded HAR entry into a ``Witness``.

    Raises:
        EntryError: the entry is not a usable witness; its ``reason`` says why.
    """
    if not isinstance(entry, dict):
        raise EntryError("not-an-entry", "The JSON value is not an object.")

    akita = _parse_akita(entry)
    request: Any = entry.get("request")
    response: Any = entry.get("response")
    if type(request) is not dict or type(response) is not dict:
        _missing(request, response)
    try:
        method = request["method"]
        url = request["url"]
        status = response["status"]
        started = _parse_started(entry["startedDateTime"])
    except KeyError as missing:
        where = _FIELD_PATHS.get(missing.args[0], missing.args[0])
        raise EntryError("missing-field", f"The entry has no {where} field.") from None
    if not isinstance(method, str) or not method:
        raise EntryError("bad-field", f"The request method {method!r} is not a name.")
    if (
        not isinstance(status, int)
        or isinstance(status, bool)
        or not 100 <= status <= 599
    ):
        raise EntryError(
            "bad-field", f"The response status {status!r} is not an HTTP status code."
        )
    if not isinstance(url, str):
        raise EntryError("bad-url", f"The request URL {url!r} is not a string.")

    groups = split_url(url)
    scheme, host, path, query_text = groups or (None, None, None, None)
    if not (path or host):
        raise EntryError(
            "bad-url", f"The request URL {url!r} is neither absolute nor a path."
        )
    if host and not _is_host(host):
        raise EntryError("bad-url", f"The request URL {url!r} has a bad host {host!r}.")

    elapsed = entry.get("time")
    elapsed_ms = (
        float(elapsed)
        if isinstance(elapsed, int | float)
        and not isinstance(elapsed, bool)
        and elapsed >= 0
        else None
    )

    query = _pairs(request.get("queryString"), "request.queryString")
    if not query and query_text:
        query = tuple(parse_qsl(query_text, keep_blank_values=True))
    request_headers = _pairs(request.get("headers"), "request.headers")
    cookies = _pairs(request.get("cookies"), "request.cookies")
    if not cookies:
        cookie_header = _header(request_headers, "cookie")
        if cookie_header:
            cookies = tuple(_parse_cookie_header(cookie_header))
    response_headers = _pairs(response.get("headers"), "response.headers")

    is_truncated = akita.get("truncated") is True
    request_body = _parse_body(
        request.get("postData"), request_headers, "request body", is_truncated
    )
    response_body = _parse_body(
        response.get("content"), response_headers, "response body", is_truncated
    )

    # Positional, in field order: a call with twenty keywords costs twice as
    # much, once per witness.
    return Witness(
        method.upper(),
        url,
        scheme or "",
        host or "",
        path or "/",
        query,
        request_headers,
        cookies,
        request_body,
        status,
        response_headers,
        response_body,
        started,
        elapsed_ms,
        _route(akita.get("route")) if akita else None,
        _optional_str(akita.get("service")) if akita else None,
        _optional_str(akita.get("middleware")) if akita else None,
        _optional_str(akita.get("trace")) if akita else None,
        akita.get("obfuscated") is True,
        is_truncated,
    )


def _no_scan(text: bytes) -> Any:
    return None


def _no_split(url: str) -> Any:
    return None


# The reader of entries' fields in C (akita_model/_entries_c.c), when the
# package was built with its extensions; without it, every entry is parsed
# with orjson.
_scan_entry: Callable[[bytes], Any] = _no_scan
_split_plain_url: Callable[[str], Any] = _no_split
try:
    from akita_model import _entries_c
except ImportError:
    pass
else:
    _scan_entry = _entries_c.scan_entry
    _split_plain_url = _entries_c.split_url


def decode_entry(text: bytes) -> Any:
    """Decode the JSON text of a HAR entry for ``parse_entry``.

    The C reader makes only the fields that ``parse_entry`` reads, with each
    name-value list as the tuple of pairs that ``parse_entry`` would make
    of it; a text it does not vouch for is parsed with orjson, which gives
    the whole entry. Either way ``parse_entry`` gives the same witness.

    Raises:
        orjson.JSONDecodeError: the text is not JSON.
    """
    entry = _scan_entry(text)
    if entry is None:
        return orjson.loads(text)
    return entry
