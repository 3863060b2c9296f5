"""The secret scan's quick checks skip no text that holds a secret."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from akita_daemon import redact

# Pieces of every secret pattern, and text around them.
_PIECES = st.sampled_from(
    [
        "eyJhbGciOiJIUzI1NiJ9",
        ".eyJzdWIiOiIxIn0",
        ".sig",
        "Bearer ",
        "bEaReR ",
        "abcdefgh1234",
        "AKIA",
        "ASIA",
        "ABCDEFGHIJKLMNOP",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "0123456789",
        "ghp_",
        "github_pat_",
        "xoxb-",
        "sk_live_",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        " ",
        "-",
        "/",
    ]
)
_TEXT = st.lists(_PIECES | st.text(max_size=4), max_size=12).map("".join)


def _full_scan(text: str) -> str:
    return redact._SECRET.sub(redact._replacement, text)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_redact_secrets_matches_the_full_scan(text: str) -> None:
    assert redact.redact_secrets(text) == _full_scan(text)


def test_remembered_text_is_redacted_the_same_way_twice() -> None:
    text = "key AKIAABCDEFGHIJKLMNOP here"

    first = redact.redact_secrets(text)
    second = redact.redact_secrets(text)

    assert first == second == "key REDACTED here"
