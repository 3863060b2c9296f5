"""String formats, and the placeholders that keep them."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from akita_model.formats import PLACEHOLDERS, detect_format, looks_like_date_time


@pytest.mark.parametrize("name", sorted(PLACEHOLDERS))
def test_each_placeholder_has_its_own_format(name: str) -> None:
    assert detect_format(PLACEHOLDERS[name]) == name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", "integer"),
        ("-7", "integer"),
        ("007", None),
        ("2026-02-30", None),
        ("2026-12-03T21:10:08.123456+00:00", "date-time"),
        ("2026-12-03 21:10:08", "date-time"),
        ("2026-12-03t21:10:08.5z", "date-time"),
        ("2026-12-03T21:10:08+0100", "date-time"),
        ("2026-12-03T21:10:08+01", None),
        ("2026-12-03T21:10:08.1234567-05.0", None),
        ("2026-12-03T21:10:08-05.00", None),
        ("2026-12-03T21:10:08+0\u0661:00", None),
        ("2026-12-03T21:10:08+01:0\u0661", None),
        ("2026-12-03T21:10:08+01\u00b200", None),
        ("2026-12-03T21:10:08,5Z", None),
        ("2026-02-30T21:10:08Z", None),
        ("2026-12-03T21:10:08 ", None),
        ("\u0662026-12-03T21:10:08Z", None),
        ("2026-12-03T21:10:08.\u0661Z", None),
        ("2026-12-03T21:10:08.123456\u0661Z", None),
        ("2026-W48-4T21:10:08", None),
        ("1234-56-78T90:12:34@example.com", "email"),
        ("2026-12-03T21:10:08Z/a", None),
        ("ada@example.com", "email"),
        ("ftp://files.example.com/a", "uri"),
        ("::1", "ipv6"),
        ("256.1.1.1", None),
        ("", None),
        ("x" * 3000, None),
    ],
)
def test_detects_formats(value: str, expected: str | None) -> None:
    assert detect_format(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-03T21:10:08", True),
        ("2026-12-03 21:10", False),
        ("2026/12/03T21:10:08", False),
        ("xxxx-xx-xxTxx:xx:xx", True),
        ("", False),
    ],
)
def test_looks_like_date_time_checks_the_separators(value: str, expected: bool) -> None:
    assert looks_like_date_time(value) is expected


# The date-time rule as a pattern: detect_format checks it by hand, faster.
# Its digits are ASCII ones, as RFC 3339's are.
_DATE_TIME = re.compile(
    r"(?a)\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?"
)


def _is_date_time(value: str) -> bool:
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value[:-1] + "Z" if value.endswith("z") else value)
    except ValueError:
        return False
    return True


_STAMPS = [
    "2026-12-03T21:10:08",
    "2026-12-03 21:10:08.123456Z",
    "2026-12-03t21:10:08.5z",
    "2026-12-03T21:10:08+01:00",
    "2026-12-03T21:10:08.1234567-0530",
]
_NEAR_MISSES = "0123456789-:.,+ TtZzW\u0661\u00b2a"


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(_STAMPS), st.data())
def test_date_time_is_the_pattern_and_a_real_instant(
    stamp: str, data: st.DataObject
) -> None:
    value = stamp
    for _ in range(data.draw(st.integers(0, 3))):
        where = data.draw(st.integers(0, len(value)))
        char = data.draw(st.sampled_from(_NEAR_MISSES))
        edit = data.draw(st.sampled_from(["put", "insert", "delete"]))
        if edit == "put":
            value = value[:where] + char + value[where + 1 :]
        elif edit == "insert":
            value = value[:where] + char + value[where:]
        else:
            value = value[:where] + value[where + 1 :]

    expected = "date-time" if _is_date_time(value) else None
    found = detect_format(value)
    assert (found if found == "date-time" else None) == expected
