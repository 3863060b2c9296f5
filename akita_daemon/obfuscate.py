"""Replace every value of a witness by a placeholder of the same kind.

Obfuscation runs on every witness before the daemon writes it or sends it
anywhere. It keeps what the model is made of (methods, path templates, keys,
structure, JSON types, data formats, status codes, media types, timings,
sizes, the names and schemes of credentials) and drops what identifies
people or opens doors (the values). It reads a witness the way the model
builder does, so that the model of an obfuscated trace is the model of the
raw one:

- a string becomes the placeholder of its format (``akita_model.formats``):
  a UUID the fixed UUID, an email address ``user@example.com``, a timestamp
  a fixed one, an integer written as a string ``"0"``, a number written as a
  string ``"0.0"``; ``"true"`` and ``"false"`` stay; any other non-empty
  string becomes ``"string"``; JSON numbers become ``0`` or ``0.0``,
  booleans and null are kept;
- JSON bodies and form bodies are rewritten value by value, multipart bodies
  keep their field names and which fields are files; other bodies are
  replaced whole; a base64 body is decoded, obfuscated and encoded again, and
  a binary one stays binary;
- query values, header values and cookie values become placeholders, but
  ``Authorization`` keeps its scheme (``Bearer``, ``Basic``, ``Token``...),
  a JWT becomes a fixed placeholder JWT, and a few harmless headers such as
  ``Content-Type`` keep their values;
- path parameters become placeholders (see :mod:`akita_daemon.routes`);
- every string kept as it is goes through :func:`redact.redact_secrets`.

Anything this module does not know is obfuscated value by value, so a new
field of the format is safe by default. The result carries
``_akita.obfuscated: true``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache, partial
from typing import Any
from urllib.parse import (
    parse_qsl,
    quote_plus,
    unquote_plus,
    urlencode,
    urlsplit,
    urlunsplit,
)

import orjson

from akita_daemon.memo import Memo
from akita_daemon.redact import PLACEHOLDER_JWT, redact_secrets
from akita_daemon.routes import replace_path_parameters
from akita_model.auth import is_jwt
from akita_model.formats import PLACEHOLDERS, detect_format

PLACEHOLDER_STRING = "string"
PLACEHOLDER_NUMBER = "0.0"
PLACEHOLDER_TOKEN = "token"
PLACEHOLDER_BASIC = "dXNlcjpwYXNzd29yZA=="  # base64 of "user:password"
PLACEHOLDER_FILE_NAME = "file"
PLACEHOLDER_BINARY_BODY = "/w=="  # base64 of one byte that is not UTF-8
PLACEHOLDER_BAD_BASE64 = "!"

# Headers whose values describe the message, not a person or a secret; the
# model reads some of them (media types), so they are kept.
_KEPT_HEADERS = frozenset(
    (
        "accept accept-encoding accept-ranges access-control-allow-credentials "
        "access-control-allow-headers access-control-allow-methods "
        "access-control-max-age allow cache-control connection content-encoding "
        "content-language content-length content-type cross-origin-opener-policy "
        "cross-origin-resource-policy expect keep-alive pragma referrer-policy "
        "sec-fetch-dest sec-fetch-mode sec-fetch-site sec-fetch-user "
        "strict-transport-security te transfer-encoding upgrade-insecure-requests "
        "vary x-content-type-options x-frame-options x-xss-protection"
    ).split()
)

_AUTHORIZATION_HEADERS = frozenset(("authorization", "proxy-authorization"))

_JSON_FIRST_CHARS = frozenset("{[")

# A number written as text, as the model builder tells numbers from strings.
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")

_MULTIPART_FIELD = re.compile(
    r'^content-disposition:\s*form-data;\s*name="(?P<name>[^"]*)"'
    r'(?:;\s*filename="(?P<file>[^"]*)")?',
    re.IGNORECASE | re.MULTILINE,
)
_BOUNDARY = re.compile(r'boundary="?(?P<boundary>[^";]+)"?', re.IGNORECASE)


# Short values repeat (header values, enums, flags): remember their
# placeholders.
_CACHED_LENGTH = 64
_placeholders: Memo[str, str] = Memo()


def placeholder_string(value: str) -> str:
    """Return the placeholder of a string: same format, no content."""
    known = _placeholders.get(value)
    if known is not None:
        return known
    if not value:
        return value

    placeholder = _placeholder(value)
    if len(value) <= _CACHED_LENGTH:
        _placeholders.remember(value, placeholder)
    return placeholder


def _placeholder(value: str) -> str:
    data_format = detect_format(value)
    if data_format is not None:
        return PLACEHOLDERS[data_format]
    if value == "true" or value == "false":
        return value
    first = value[0]
    if (first.isdigit() or first == "-") and _NUMBER.fullmatch(value):
        return PLACEHOLDER_NUMBER
    if first == "e" and is_jwt(value):
        return PLACEHOLDER_JWT
    return PLACEHOLDER_STRING


def obfuscate_value(value: Any) -> Any:
    """Return a JSON value with every leaf replaced; keys and shape are kept."""
    kind = type(value)
    if kind is str:
        return _placeholders.get(value) or placeholder_string(value)
    if kind is dict:
        return _obfuscate_object(value)
    if kind is list:
        return [obfuscate_value(item) for item in value]
    if kind is int:
        return 0
    if kind is float:
        return 0.0
    if kind is bool or value is None:
        return value
    return PLACEHOLDER_STRING


# Text kept once checked for secrets (object keys, methods, media types):
# it repeats most of all.
_kept_text: Memo[str, str] = Memo()


def _kept(value: Any) -> str:
    """Return text checked for secrets, remembering it if it is short."""
    text = value if type(value) is str else str(value)
    kept = redact_secrets(text)
    if len(text) <= _CACHED_LENGTH:
        _kept_text.remember(text, kept)
    return kept


def _obfuscate_object(value: dict[Any, Any]) -> dict[str, Any]:
    new: dict[str, Any] = {}
    for key, item in value.items():
        key = _kept_text.get(key) or _kept(key)
        # The common leaves here, the rest through obfuscate_value.
        kind = type(item)
        if kind is str:
            new[key] = _placeholders.get(item) or placeholder_string(item)
        elif kind is int:
            new[key] = 0
        else:
            new[key] = obfuscate_value(item)
    return new


def _parse_json(text: str) -> tuple[bool, Any]:
    # Parse as the model builder does (orjson, which reads integers wider
    # than 64 bits as floats), so both see the same types.
    try:
        return True, orjson.loads(text)
    except orjson.JSONDecodeError:
        return False, None


def _obfuscate_form(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(redact_secrets(k), placeholder_string(v)) for k, v in pairs])


def _obfuscate_multipart(text: str, mime_type: str) -> str:
    """Keep a multipart body's field names and whether each is a file."""
    found = _BOUNDARY.search(mime_type)
    boundary = found.group("boundary") if found else "boundary"
    parts = []
    for field in _MULTIPART_FIELD.finditer(text):
        disposition = f'Content-Disposition: form-data; name="{field["name"]}"'
        if field["file"] is not None:
            file_name = PLACEHOLDER_FILE_NAME if field["file"] else ""
            disposition += f'; filename="{file_name}"'
        parts.append(f"--{boundary}\r\n{redact_secrets(disposition)}\r\n\r\n\r\n")
    return "".join(parts) + f"--{boundary}--\r\n"


def _obfuscate_base64(text: str, mime_type: str) -> str:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return PLACEHOLDER_BAD_BASE64
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return PLACEHOLDER_BINARY_BODY
    return base64.b64encode(obfuscate_body(decoded, mime_type, None).encode()).decode()


def obfuscate_body(text: str, mime_type: str, encoding: str | None) -> str:
    """Return a body's text with its values replaced, as its media type allows.

    A JSON body (by media type, or because it starts like a JSON document)
    is rewritten value by value, a form body pair by pair, a multipart body
    keeps its field names; any other body is replaced whole. A base64 body
    is decoded, obfuscated and encoded again; a binary one stays binary.
    """
    if not text:
        return text

    if encoding == "base64":
        return _obfuscate_base64(text, mime_type)

    mime = mime_type.lower()
    if "json" in mime or text.lstrip()[:1] in _JSON_FIRST_CHARS:
        is_json, document = _parse_json(text)
        if is_json:
            return orjson.dumps(obfuscate_value(document)).decode()
    if "x-www-form-urlencoded" in mime:
        return _obfuscate_form(text)
    if "multipart/form-data" in mime:
        return _obfuscate_multipart(text, mime_type)
    return PLACEHOLDER_STRING


def obfuscate_authorization(value: str) -> str:
    """Keep an ``Authorization`` value's scheme and drop its credential."""
    scheme, _, credential = value.strip().partition(" ")
    if not credential:
        if scheme.lower() in ("basic", "bearer"):
            return scheme
        return PLACEHOLDER_JWT if is_jwt(scheme) else PLACEHOLDER_TOKEN

    scheme = redact_secrets(scheme)
    if scheme.lower() == "basic":
        return f"{scheme} {PLACEHOLDER_BASIC}"
    if is_jwt(credential.strip()):
        return f"{scheme} {PLACEHOLDER_JWT}"
    return f"{scheme} {PLACEHOLDER_TOKEN}"


def obfuscate_cookie_header(value: str) -> str:
    """Keep the names of a ``Cookie`` header's cookies and drop their values."""
    pairs = []
    for part in value.split(";"):
        name, has_value, cookie_value = part.strip().partition("=")
        if not name and not has_value:
            continue
        name = redact_secrets(name)
        value_placeholder = placeholder_string(cookie_value.strip())
        pairs.append(f"{name}={value_placeholder}" if has_value else name)
    return "; ".join(pairs)


def obfuscate_set_cookie(value: str) -> str:
    """Keep a ``Set-Cookie`` header's name and attributes, drop its value."""
    first, *attributes = value.split(";")
    name, _, cookie_value = first.strip().partition("=")
    kept = [f"{redact_secrets(name)}={placeholder_string(cookie_value)}"]
    kept.extend(redact_secrets(attribute.strip()) for attribute in attributes)
    return "; ".join(kept)


@lru_cache(maxsize=2048)
def _header_value_handler(name: str) -> Callable[[str], str]:
    lower = name.lower()
    if lower in _AUTHORIZATION_HEADERS:
        return obfuscate_authorization
    if lower == "cookie":
        return obfuscate_cookie_header
    if lower == "set-cookie":
        return obfuscate_set_cookie
    if lower in _KEPT_HEADERS:
        return redact_secrets
    return placeholder_string


_REMEMBERED_HANDLERS: frozenset[Callable[[str], str]] = frozenset(
    (placeholder_string, redact_secrets)
)


def obfuscate_header_value(name: str, value: str) -> str:
    """Return the obfuscated value of one header."""
    return _header_value_handler(name)(value)


_header_pairs: Memo[tuple[str, str], tuple[str, str]] = Memo()


def _header_pair(name: str, value: str) -> tuple[str, str]:
    """Return a header's obfuscated name and value, remembering short ones.

    Credentials and cookies are not remembered: they differ from one user to
    the next, so they would only push out values that repeat, and they are
    better not kept in memory at all.
    """
    pair = (name, value)
    known = _header_pairs.get(pair)
    if known is not None:
        return known

    handler = _header_value_handler(name)
    obfuscated = (redact_secrets(name), handler(value))
    if handler in _REMEMBERED_HANDLERS and len(value) <= _CACHED_LENGTH:
        _header_pairs.remember(pair, obfuscated)
    return obfuscated


def _obfuscate_records(
    records: Any, kept: tuple[str, ...] = (), is_header: bool = False
) -> Any:
    """Obfuscate a list of ``{"name", "value", ...}`` records.

    Names are kept, values replaced (a header's as its name says); the fields
    named in ``kept`` (a cookie's path or flags) are kept once checked for
    secrets; any other field is obfuscated.
    """
    if not isinstance(records, list):
        return obfuscate_value(records)

    result = []
    for record in records:
        if not isinstance(record, dict):
            result.append(obfuscate_value(record))
            continue
        name = record.get("name")
        value = record.get("value")
        if len(record) == 2 and type(name) is str and type(value) is str:
            # The common record, {"name": ..., "value": ...}, the short way.
            if is_header:
                name, value = _header_pair(name, value)
            else:
                name = redact_secrets(name)
                value = _placeholders.get(value) or placeholder_string(value)
            result.append({"name": name, "value": value})
            continue

        new: dict[str, Any] = {}
        for key, value in record.items():
            if not isinstance(value, str):
                new[key] = value if key in kept else obfuscate_value(value)
            elif key == "name" or key in kept:
                new[key] = redact_secrets(value)
            elif key == "value" and is_header and isinstance(name, str):
                new[key] = obfuscate_header_value(name, value)
            else:
                new[key] = placeholder_string(value)
        result.append(new)
    return result


# scheme://authority/path?query#fragment, split the cheap way; what this
# does not match goes through urllib.
_SIMPLE_URL = re.compile(
    r"(?P<origin>[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*)(?P<path>(?:/[^?#]*)?)"
    r"(?:\?(?P<query>[^#]*))?(?:#.*)?",
    re.DOTALL,
)


_query_names: Memo[str, str] = Memo()
_query_values: Memo[str, str] = Memo()


def _query_name(name: str) -> str:
    known = _query_names.get(name)
    if known is not None:
        return known

    known = quote_plus(redact_secrets(unquote_plus(name)))
    if len(name) <= _CACHED_LENGTH:
        _query_names.remember(name, known)
    return known


def _query_value(value: str) -> str:
    known = _query_values.get(value)
    if known is not None:
        return known

    known = quote_plus(placeholder_string(unquote_plus(value)))
    if len(value) <= _CACHED_LENGTH:
        _query_values.remember(value, known)
    return known


def _obfuscate_query(query: str) -> str:
    """Obfuscate a query string as ``urlencode(parse_qsl(query))`` reads it.

    Names and values are each decoded and encoded again only once, as they
    repeat: this is the same text, written pair by pair.
    """
    pairs = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        pairs.append(_query_name(name) + "=" + _query_value(value))
    return "&".join(pairs)


def _obfuscate_url(url: str, route: str | None) -> str:
    simple = _SIMPLE_URL.fullmatch(url)
    if simple is not None:
        origin, path, query = simple.group("origin", "path", "query")
        rebuilt = redact_secrets(origin) + replace_path_parameters(path, route)
        if query:
            rebuilt += "?" + _obfuscate_query(query)
        return rebuilt

    try:
        parts = urlsplit(url)
    except ValueError:
        return placeholder_string(url)

    netloc = parts.netloc
    if "@" in netloc:
        netloc = "user:password@" + netloc.rpartition("@")[2]
    path = replace_path_parameters(parts.path, route)
    query = _obfuscate_query(parts.query) if parts.query else ""
    rebuilt = urlunsplit((parts.scheme, netloc, path, query, ""))
    return redact_secrets(rebuilt)


def _obfuscate_body_record(body: Any) -> Any:
    """Obfuscate ``request.postData`` or ``response.content``."""
    if not isinstance(body, dict):
        return obfuscate_value(body)

    mime_type = body.get("mimeType")
    encoding = body.get("encoding")
    new: dict[str, Any] = {}
    for key, value in body.items():
        if key == "text" and isinstance(value, str):
            new[key] = obfuscate_body(
                value,
                mime_type if isinstance(mime_type, str) else "",
                encoding if isinstance(encoding, str) else None,
            )
        elif key in ("mimeType", "encoding") and isinstance(value, str):
            new[key] = _kept_text.get(value) or _kept(value)
        elif key in ("size", "compression") and isinstance(value, int | float):
            new[key] = value
        elif key == "params":
            new[key] = _obfuscate_form_params(value)
        else:
            new[key] = obfuscate_value(value)
    return new


def _obfuscate_form_params(params: Any) -> Any:
    if not isinstance(params, list):
        return obfuscate_value(params)

    result = _obfuscate_records(params, kept=("contentType",))
    for param in result:
        if isinstance(param, dict) and param.get("fileName"):
            param["fileName"] = PLACEHOLDER_FILE_NAME
    return result


def _keep_number(value: Any) -> Any:
    return value if isinstance(value, int | float) else obfuscate_value(value)


def _keep_string(value: Any) -> Any:
    if type(value) is str:
        return _kept_text.get(value) or _kept(value)
    return redact_secrets(value) if isinstance(value, str) else obfuscate_value(value)


def _url_field(value: Any, route: str | None) -> Any:
    if isinstance(value, str):
        return _obfuscate_url(value, route)
    return obfuscate_value(value)


_COOKIE_ATTRIBUTES = ("path", "domain", "httpOnly", "secure", "sameSite")

# How each field of a request or response but its URL is obfuscated; any
# other field is obfuscated value by value.
_MESSAGE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "method": _keep_string,
    "httpVersion": _keep_string,
    "statusText": _keep_string,
    "status": _keep_number,
    "headersSize": _keep_number,
    "bodySize": _keep_number,
    "headers": partial(_obfuscate_records, is_header=True),
    "queryString": _obfuscate_records,
    "cookies": partial(_obfuscate_records, kept=_COOKIE_ATTRIBUTES),
    "postData": _obfuscate_body_record,
    "content": _obfuscate_body_record,
    "redirectURL": obfuscate_value,
}


def _obfuscate_message(message: Any, route: str | None) -> Any:
    """Obfuscate ``request`` or ``response``."""
    if not isinstance(message, dict):
        return obfuscate_value(message)

    new: dict[str, Any] = {}
    for key, value in message.items():
        handler = _MESSAGE_FIELDS.get(key)
        if handler is not None:
            new[key] = handler(value)
        elif key == "url":
            new[key] = _url_field(value, route)
        else:
            new[key] = obfuscate_value(value)
    return new


def _obfuscate_akita(fields: Any) -> dict[str, Any]:
    if not isinstance(fields, dict):
        return {"obfuscated": True}

    new: dict[str, Any] = {}
    for key, value in fields.items():
        if key in ("v", "truncated") and isinstance(value, int | bool):
            new[key] = value
        elif key in ("route", "service", "middleware", "trace") and isinstance(
            value, str
        ):
            new[key] = _kept_text.get(value) or _kept(value)
        else:
            new[key] = obfuscate_value(value)
    new["obfuscated"] = True
    return new


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _route_of(witness: dict[str, Any]) -> str | None:
    fields = witness.get("_akita")
    if not isinstance(fields, dict):
        return None
    route = fields.get("route")
    return route if isinstance(route, str) and route else None


def _started(value: Any, route: str | None) -> Any:
    if isinstance(value, str):
        return value if _is_timestamp(value) else PLACEHOLDER_STRING
    return obfuscate_value(value)


def _timings(value: Any, route: str | None) -> Any:
    if not isinstance(value, dict):
        return obfuscate_value(value)
    return {
        (_kept_text.get(k) or _kept(k)): v if isinstance(v, int | float) else None
        for k, v in value.items()
    }


# How each top-level field of a witness is obfuscated; any other field is
# obfuscated value by value.
_WITNESS_FIELDS: dict[str, Callable[[Any, str | None], Any]] = {
    "request": _obfuscate_message,
    "response": _obfuscate_message,
    "startedDateTime": _started,
    "time": lambda value, route: _keep_number(value),
    "timings": _timings,
    "_akita": lambda value, route: _obfuscate_akita(value),
}


def obfuscate_witness(witness: dict[str, Any]) -> dict[str, Any]:
    """Return an obfuscated copy of one witness (a HAR entry)."""
    route = _route_of(witness)
    new: dict[str, Any] = {}
    for key, value in witness.items():
        handler = _WITNESS_FIELDS.get(key)
        new[key] = obfuscate_value(value) if handler is None else handler(value, route)
    if "_akita" not in new:
        new["_akita"] = {"v": 1, "obfuscated": True}
    return new
