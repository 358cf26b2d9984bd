"""Tracking codes (mã tra cứu) that survive being read aloud on the phone.

The alphabet leaves out 0/O and 1/I/L, which callers and operators confuse.
Uniqueness is not decided here: the store creates the ticket with a conditional
put on the code and the caller draws again on a collision.
"""
from __future__ import annotations

import re
import secrets
from typing import Callable

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 6
_BODY = re.compile("^[" + ALPHABET + "]{" + str(LENGTH) + "}$")


def new_code(prefix: str, choice: Callable[[str], str] = secrets.choice) -> str:
    """Returns a fresh code such as 'TN-7KXQ4M'."""
    return f"{prefix}-" + "".join(choice(ALPHABET) for _ in range(LENGTH))


def parse_code(text: str, prefix: str) -> str | None:
    """Returns the canonical code for what a citizen typed ('tn 7kxq4m' -> 'TN-7KXQ4M'), else None."""
    compact = re.sub(r"[\s.\-_]", "", text or "").upper()
    if not compact.startswith(prefix.upper()):
        return None
    body = compact[len(prefix):]
    return f"{prefix.upper()}-{body}" if _BODY.match(body) else None
