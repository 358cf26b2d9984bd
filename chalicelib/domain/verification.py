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


def cleaned(guess: str | None) -> str | None:
    """`guess` as a code (spaces and dashes forgiven), or None when it cannot be one (not DIGITS digits)."""
    digits = "".join(c for c in guess or "" if not c.isspace() and c != "-")
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def matches(stored: str, guess: str) -> bool:
    """True when `guess` is the code `stored` was made from; compared in constant time."""
    salt, _, _ = stored.partition("$")
    code = cleaned(guess)
    return code is not None and hmac.compare_digest(secret_hash(code, salt), stored)
