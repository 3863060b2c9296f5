"""String formats, and the placeholders that keep them."""

from __future__ import annotations

import pytest

from akita_model.formats import PLACEHOLDERS, detect_format


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
