"""The server's bearer tokens: read from a file (one per line, `#` comments; several lines let a
token be rotated without downtime) or from the VENTURE_TOKENS environment variable
(comma-separated), and compared in constant time, with every token every time, so a call's
timing tells nothing about how much of a token it guessed.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from pathlib import Path

TOKENS_ENV = "VENTURE_TOKENS"
CLIENT_TOKEN_ENV = "VENTURE_TOKEN"
"""The token the command-line client sends."""


class TokenError(ValueError):
    """The token configuration cannot be used (names the file, never a token)."""


def read_tokens(path: Path) -> tuple[str, ...]:
    """Tokens of a token file: one per line; blank lines and `#` comments skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise TokenError(f"token file {path}: {error.strerror}") from None
    tokens = tuple(t for t in (line.split("#", 1)[0].strip() for line in lines) if t)
    if not tokens:
        raise TokenError(f"token file {path} holds no token")
    return tokens


def parse_tokens(text: str) -> tuple[str, ...]:
    """Tokens of VENTURE_TOKENS: comma-separated."""
    return tuple(t.strip() for t in text.split(",") if t.strip())


def token_matches(given: str, tokens: Iterable[str]) -> bool:
    """Whether `given` is one of `tokens`, comparing with every one in constant time."""
    found = False
    encoded = given.encode("utf-8")
    for token in tokens:
        found |= hmac.compare_digest(encoded, token.encode("utf-8"))
    return found
