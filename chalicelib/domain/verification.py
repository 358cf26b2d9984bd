"""One-time codes that prove a phone number (a follower's): six digits sent by SMS, stored only as a
salted hash, good for VALID_FOR and MAX_ATTEMPTS wrong guesses."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

DIGITS = 6
VALID_FOR = timedelta(minutes=15)
MAX_ATTEMPTS = 5


def new_secret() -> str:
    """A fresh code of DIGITS digits (leading zeros kept)."""
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def secret_hash(secret: str, salt: str | None = None) -> str:
    """What is stored of `secret`: "<salt>$<sha256 of salt and code>" (a fresh salt unless given)."""
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.sha256(f'{salt}:{secret}'.encode()).hexdigest()}"


def matches(stored: str, guess: str) -> bool:
    """True when `guess` (spaces and dashes forgiven) is the code `stored` was made from; compared
    in constant time."""
    salt, _, _ = stored.partition("$")
    cleaned = "".join(c for c in guess or "" if not c.isspace() and c != "-")
    if len(cleaned) != DIGITS or not (cleaned.isascii() and cleaned.isdigit()):
        return False
    return hmac.compare_digest(secret_hash(cleaned, salt), stored)
