"""Find secrets in free text and replace them.

Obfuscation replaces every value of a witness by a placeholder, but keeps
some text as it is: header names, JSON keys, the literal segments of a path,
a few harmless header values. A secret can hide there too (an API key pasted
into a URL, a token used as a key), so every string that is kept goes
through :func:`redact_secrets`, which replaces what matches a well-known
secret pattern:

- JSON Web Tokens, by a fixed placeholder JWT, so that "this is a JWT"
  survives;
- bearer tokens after the word ``Bearer``;
- AWS access key ids (``AKIA...``, ``ASIA...``);
- PEM private key blocks;
- GitHub, Slack and Stripe tokens;
- card numbers (13 to 19 digits, spaces or dashes allowed) that pass the
  Luhn check.
"""

from __future__ import annotations

import re

from akita_daemon.memo import Memo

# A JWT whose header says HS256 and whose payload is {"sub": "0"}, signed with
# nothing worth knowing: it has the shape of a JWT and carries no secret.
PLACEHOLDER_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIwIn0"
    ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

REDACTED = "REDACTED"

_JWT = r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"
_BEARER = r"(?i:bearer)\s+[A-Za-z0-9._~+/-]{8,}=*"
_AWS = r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"
_PRIVATE_KEY = (
    r"-----BEGIN[A-Z ]* PRIVATE KEY-----.*?(?:-----END[A-Z ]* PRIVATE KEY-----|\Z)"
)
_TOKENS = (
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|[sr]k_(?:live|test)_[A-Za-z0-9]{10,})"
)
_CARD = r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])"

_SECRET = re.compile(
    f"(?P<jwt>{_JWT})|(?P<bearer>{_BEARER})|(?P<aws>{_AWS})"
    f"|(?P<key>{_PRIVATE_KEY})|(?P<token>{_TOKENS})|(?P<card>{_CARD})",
    re.DOTALL,
)

# No pattern above matches fewer characters (a card number has 13 digits).
_SHORTEST_SECRET = 13

# What every match of _SECRET holds: a literal piece of its pattern, or for a
# card number a run of 13 digits, spaces and dashes. Looking for these is
# several times faster than running _SECRET, which most text does not match.
_LITERALS = ("eyJ", "_", "xox", "-----BEGIN", "AKIA", "ASIA", "AGPA", "AIDA", "AROA")
_DIGIT_RUN = re.compile(r"[0-9][0-9 -]{12}")

# Strings kept as they are repeat a lot (header names, JSON keys): remember
# them, but only short ones, so memory stays small.
_CACHED_LENGTH = 200
_memo: Memo[str, str] = Memo()


def passes_luhn(digits: str) -> bool:
    """Tell whether a string of digits passes the Luhn check of card numbers."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _replacement(match: re.Match[str]) -> str:
    kind = match.lastgroup
    text = match.group()
    if kind == "jwt":
        return PLACEHOLDER_JWT
    if kind == "bearer":
        return text.split(None, 1)[0] + " " + REDACTED
    if kind == "card":
        digits = text.replace(" ", "").replace("-", "")
        return REDACTED if passes_luhn(digits) else text
    return REDACTED


def _may_hold_secret(text: str) -> bool:
    for literal in _LITERALS:
        if literal in text:
            return True
    return "bearer" in text.lower() or _DIGIT_RUN.search(text) is not None


def _redact(text: str) -> str:
    if not _may_hold_secret(text):
        return text
    return _SECRET.sub(_replacement, text)


def redact_secrets(text: str) -> str:
    """Return ``text`` with every well-known secret in it replaced."""
    if len(text) < _SHORTEST_SECRET:
        return text

    known = _memo.get(text)
    if known is not None:
        return known

    redacted = _redact(text)
    if len(text) <= _CACHED_LENGTH:
        _memo.remember(text, redacted)
    return redacted


def contains_secret(text: str) -> bool:
    """Tell whether ``text`` holds something :func:`redact_secrets` replaces."""
    return redact_secrets(text) != text
