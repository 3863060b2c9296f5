"""Replace every value of a witness by a placeholder of the same kind.

Obfuscation runs on every witness before the daemon writes it or sends it
anywhere. It keeps what the model is made of (methods, path templates, keys,
structure, JSON types, data formats, status codes, media types, timings,
sizes, the names and schemes of credentials) and drops what identifies
people or opens doors (the values):

- a string becomes the placeholder of its format (``akita_model.formats``):
  a UUID the fixed UUID, an email address ``user@example.com``, a timestamp
  a fixed one, an integer written as a string ``"0"``; any other non-empty
  string becomes ``"string"``; numbers become zero (``0`` or ``0.0``),
  booleans and null are kept;
- JSON bodies and form bodies are rewritten value by value; other bodies are
  replaced whole;
- query values, header values and cookie values become placeholders, but
  ``Authorization`` keeps its scheme (``Bearer``, ``Basic``, ``Token``...),
  a JWT becomes a fixed placeholder JWT, and a few harmless headers such as
  ``Content-Type`` keep their values;
- path segments that are parameters become placeholders: when the witness
  carries its framework route (``_akita.route``), the route says which
  segments are parameters and each gets a placeholder of its converter's
  kind; without a route, segments with a data format are replaced, so that
  path templating by heuristics sees the same template;
- every string kept as it is goes through :func:`redact.redact_secrets`.

Anything this module does not know is obfuscated value by value, so a new
field of the format is safe by default. The result carries
``_akita.obfuscated: true``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from akita_daemon.redact import PLACEHOLDER_JWT, redact_secrets
from akita_daemon.routes import replace_path_parameters
from akita_model.formats import PLACEHOLDERS, detect_format

PLACEHOLDER_STRING = "string"
PLACEHOLDER_TOKEN = "token"
PLACEHOLDER_BASIC = "dXNlcjpwYXNzd29yZA=="  # base64 of "user:password"
PLACEHOLDER_FILE_NAME = "file"
PLACEHOLDER_BASE64_BODY = "c3RyaW5n"  # base64 of "string"

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

_LONG_DIGITS = re.compile(r"[0-9]{19}")


def is_jwt(value: str) -> bool:
    """Tell whether ``value`` has the shape of a JSON Web Token."""
    parts = value.split(".")
    return (
        len(parts) == 3
        and value.startswith("eyJ")
        and parts[1].startswith("eyJ")
        and all(part.replace("-", "").replace("_", "").isalnum() for part in parts[:2])
    )


def placeholder_string(value: str) -> str:
    """Return the placeholder of a string: same format, no content."""
    if not value:
        return value

    data_format = detect_format(value)
    if data_format is not None:
        return PLACEHOLDERS[data_format]
    if is_jwt(value):
        return PLACEHOLDER_JWT
    return PLACEHOLDER_STRING


def obfuscate_value(value: Any) -> Any:
    """Return a JSON value with every leaf replaced; keys and shape are kept."""
    if isinstance(value, str):
        return placeholder_string(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0
    if isinstance(value, dict):
        return {redact_secrets(str(k)): obfuscate_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [obfuscate_value(item) for item in value]
    return PLACEHOLDER_STRING


def _parse_json(text: str) -> tuple[bool, Any]:
    # orjson reads integers wider than 64 bits as floats, which would turn an
    # integer into a number; the standard library keeps them integers.
    if _LONG_DIGITS.search(text) is None:
        try:
            return True, orjson.loads(text)
        except orjson.JSONDecodeError:
            pass

    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _obfuscate_form(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(redact_secrets(k), placeholder_string(v)) for k, v in pairs])


def obfuscate_body(text: str, mime_type: str, encoding: str | None) -> str:
    """Return a body's text with its values replaced, as its media type allows.

    A JSON body (by media type, or because it starts like a JSON document)
    is rewritten value by value, a form body pair by pair; any other body,
    and a base64 one, is replaced whole.
    """
    if not text:
        return text

    if encoding == "base64":
        return PLACEHOLDER_BASE64_BODY

    mime = mime_type.lower()
    if "json" in mime or text.lstrip()[:1] in _JSON_FIRST_CHARS:
        is_json, document = _parse_json(text)
        if is_json:
            return orjson.dumps(obfuscate_value(document)).decode()
    if "x-www-form-urlencoded" in mime:
        return _obfuscate_form(text)
    return PLACEHOLDER_STRING


def obfuscate_authorization(value: str) -> str:
    """Keep an ``Authorization`` value's scheme and drop its credential."""
    scheme, _, credential = value.strip().partition(" ")
    if not credential:
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
        pairs.append(
            f"{name}={placeholder_string(cookie_value)}" if has_value else name
        )
    return "; ".join(pairs)


def obfuscate_set_cookie(value: str) -> str:
    """Keep a ``Set-Cookie`` header's name and attributes, drop its value."""
    first, *attributes = value.split(";")
    name, _, cookie_value = first.strip().partition("=")
    kept = [f"{redact_secrets(name)}={placeholder_string(cookie_value)}"]
    kept.extend(redact_secrets(attribute.strip()) for attribute in attributes)
    return "; ".join(kept)


def obfuscate_header_value(name: str, value: str) -> str:
    """Return the obfuscated value of one header."""
    lower = name.lower()
    if lower in _AUTHORIZATION_HEADERS:
        return obfuscate_authorization(value)
    if lower == "cookie":
        return obfuscate_cookie_header(value)
    if lower == "set-cookie":
        return obfuscate_set_cookie(value)
    if lower in _KEPT_HEADERS:
        return redact_secrets(value)
    return placeholder_string(value)


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


def _obfuscate_url(url: str, route: str | None) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return placeholder_string(url)

    netloc = parts.netloc
    if "@" in netloc:
        netloc = "user:password@" + netloc.rpartition("@")[2]
    path = replace_path_parameters(parts.path, route)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(redact_secrets(k), placeholder_string(v)) for k, v in pairs]
        )
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
            new[key] = redact_secrets(value)
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
        if isinstance(param, dict) and isinstance(param.get("fileName"), str):
            param["fileName"] = PLACEHOLDER_FILE_NAME
    return result


_KEPT_NUMBERS = ("headersSize", "bodySize", "status")
_KEPT_STRINGS = ("method", "httpVersion", "statusText")


def _obfuscate_message(message: Any, route: str | None) -> Any:
    """Obfuscate ``request`` or ``response``."""
    if not isinstance(message, dict):
        return obfuscate_value(message)

    new: dict[str, Any] = {}
    for key, value in message.items():
        if key in _KEPT_NUMBERS and isinstance(value, int | float):
            new[key] = value
        elif key in _KEPT_STRINGS and isinstance(value, str):
            new[key] = redact_secrets(value)
        elif key == "url" and isinstance(value, str):
            new[key] = _obfuscate_url(value, route)
        elif key == "headers":
            new[key] = _obfuscate_records(value, is_header=True)
        elif key == "queryString":
            new[key] = _obfuscate_records(value)
        elif key == "cookies":
            new[key] = _obfuscate_records(
                value, kept=("path", "domain", "httpOnly", "secure", "sameSite")
            )
        elif key in ("postData", "content"):
            new[key] = _obfuscate_body_record(value)
        elif key == "redirectURL" and isinstance(value, str):
            new[key] = placeholder_string(value)
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
            new[key] = redact_secrets(value)
        else:
            new[key] = obfuscate_value(value)
    new["obfuscated"] = True
    return new


def _route_of(witness: dict[str, Any]) -> str | None:
    fields = witness.get("_akita")
    if not isinstance(fields, dict):
        return None
    route = fields.get("route")
    return route if isinstance(route, str) and route else None


def obfuscate_witness(witness: dict[str, Any]) -> dict[str, Any]:
    """Return an obfuscated copy of one witness (a HAR entry)."""
    route = _route_of(witness)
    new: dict[str, Any] = {}
    for key, value in witness.items():
        if key in ("request", "response"):
            new[key] = _obfuscate_message(value, route)
        elif key == "startedDateTime" and isinstance(value, str):
            is_timestamp = detect_format(value) == "date-time"
            new[key] = value if is_timestamp else PLACEHOLDERS["date-time"]
        elif key == "time" and isinstance(value, int | float):
            new[key] = value
        elif key == "timings" and isinstance(value, dict):
            new[key] = {
                redact_secrets(str(k)): v if isinstance(v, int | float) else None
                for k, v in value.items()
            }
        elif key == "_akita":
            new[key] = _obfuscate_akita(value)
        else:
            new[key] = obfuscate_value(value)
    if "_akita" not in new:
        new["_akita"] = {"v": 1, "obfuscated": True}
    return new
