"""String formats, and the placeholders that keep them."""

from __future__ import annotations

import pytest

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
        ("2026-12-03T21:10:08,5Z", None),
        ("2026-02-30T21:10:08Z", None),
        ("2026-12-03T21:10:08 ", None),
        ("\u0662026-12-03T21:10:08Z", None),
        ("2026-12-03T21:10:08.\u0661Z", None),
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
