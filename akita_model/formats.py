"""Detect the data format of a string value.

A format names what a string holds (a UUID, an email address, a timestamp),
as OpenAPI's ``format`` keyword does. Schema inference calls a string field
by a format only when every sample of it matches; the daemon's obfuscation
replaces a value by a placeholder of the same format, so that both keep the
same model.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime
from typing import Final

# Final: the compiled module reads these as constants, not from its globals.
_UUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z0-9-]{2,}")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*")
_INTEGER: Final = re.compile(r"-?(0|[1-9]\d{0,18})")

# A placeholder for each format: detect_format(PLACEHOLDERS[f]) == f.
PLACEHOLDERS: dict[str, str] = {
    "uuid": "00000000-0000-4000-8000-000000000000",
    "email": "user@example.com",
    "date-time": "2000-01-01T00:00:00Z",
    "date": "2000-01-01",
    "uri": "https://example.com/",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "integer": "0",
}


# Bound once: looking the methods up on their classes costs a call's worth.
_date_from_text: Final = date.fromisoformat
_date_time_from_text: Final = datetime.fromisoformat


def _is_date(value: str) -> bool:
    try:
        _date_from_text(value)
    except ValueError:
        return False
    return True


# Characters by their code points: the compiled module reads ord(value[i])
# without making a one-character string.
_ZERO: Final = ord("0")
_NINE: Final = ord("9")
_DASH: Final = ord("-")
_PLUS: Final = ord("+")
_COLON: Final = ord(":")
_DOT: Final = ord(".")
_UPPER_T: Final = ord("T")
_LOWER_T: Final = ord("t")
_SPACE: Final = ord(" ")
_UPPER_Z: Final = ord("Z")
_LOWER_Z: Final = ord("z")


def _is_digit(value: str, index: int) -> bool:
    # An ASCII digit, as RFC 3339 has them (str.isdigit takes others too).
    code = ord(value[index])
    return _ZERO <= code <= _NINE


def _is_numeric_offset(value: str, start: int, length: int) -> bool:
    # +hh:mm (6 characters) or +hhmm (5), from start to the end; with a
    # colon, fromisoformat would also read +hh.mm and other forms.
    sign = ord(value[start])
    minutes = start + length - 2
    return (
        (sign == _PLUS or sign == _DASH)
        and _is_digit(value, start + 1)
        and _is_digit(value, start + 2)
        and (length == 5 or ord(value[start + 3]) == _COLON)
        and _is_digit(value, minutes)
        and _is_digit(value, minutes + 1)
    )


def _is_date_time(value: str) -> bool:
    """Tell whether a string is an RFC 3339 date-time of a real instant.

    The form is ``YYYY-MM-DD``, ``T`` (or ``t`` or a space), ``hh:mm:ss``,
    an optional fraction and an optional offset (``Z``, ``z``, ``+hh:mm``
    or ``+hhmm``). ``looks_like_date_time(value)`` must hold. The digits
    of the date and the time and the ranges of the fields are
    datetime.fromisoformat's to check: it takes ASCII digits only there,
    and knows each month's days.
    """
    separator = ord(value[10])
    if separator != _UPPER_T and separator != _LOWER_T and separator != _SPACE:
        return False
    offset = 19
    length = len(value)
    if offset < length and ord(value[offset]) == _DOT:
        offset += 1
        while offset < length and _is_digit(value, offset):
            offset += 1
        if offset == 20:
            return False
    zone = length - offset
    if zone == 1:
        letter = ord(value[offset])
        if letter == _LOWER_Z:
            # fromisoformat reads a final "Z" since Python 3.11, but not "z".
            value = value[:-1] + "Z"
        elif letter != _UPPER_Z:
            return False
    elif zone == 5 or zone == 6:
        if not _is_numeric_offset(value, offset, zone):
            return False
    elif zone != 0:
        return False
    try:
        _date_time_from_text(value)
    except ValueError:
        return False
    return True


def _is_ip(value: str, version: int) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.version == version


def looks_like_date_time(value: str) -> bool:
    """Tell whether a string has a date-time's separators where RFC 3339 puts them.

    A cheap test that only says whether ``detect_format`` may find the
    ``date-time`` format: timestamps are common in bodies, and most are
    unique.
    """
    return (
        len(value) >= 19
        and ord(value[4]) == _DASH
        and ord(value[7]) == _DASH
        and ord(value[13]) == _COLON
        and ord(value[16]) == _COLON
    )


def detect_format(value: str) -> str | None:
    """Return the OpenAPI format of ``value``, or None when it has none.

    The formats are ``uuid``, ``email``, ``date-time``, ``date``, ``uri``,
    ``ipv4``, ``ipv6`` and ``integer`` (an integer written as a string).
    """
    if not value or len(value) > 2048:
        return None

    first = value[0]
    length = len(value)
    if looks_like_date_time(value):
        # No integer or date has these separators; other formats may.
        if _is_date_time(value):
            return "date-time"
    elif first.isdigit() or first == "-":
        # The length rules out patterns cheaply: an integer has at most 20
        # characters and a date 10.
        if length <= 20 and _INTEGER.fullmatch(value):
            return "integer"
        if length == 10 and _DATE.fullmatch(value) and _is_date(value):
            return "date"
    if length == 36 and _UUID.fullmatch(value):
        return "uuid"
    if "@" in value and _EMAIL.fullmatch(value):
        return "email"
    if "://" in value and _URI.fullmatch(value):
        return "uri"
    if value.count(".") == 3 and first.isdigit() and _is_ip(value, 4):
        return "ipv4"
    if ":" in value and _is_ip(value, 6):
        return "ipv6"
    return None
