"""Personal status links: /s/<token>, where a reporter or a follower sees the ticket's public
status without its code or a phone's last four digits (Zalo-only and e-mail-only reporters have
none to give, followers not the reporter's).

The token is 128 random bits (22 URL-safe characters), drawn for each link and unrelated to the
tracking code; only its SHA-256 is stored, so neither the table nor a backup can rebuild a link.
"""
from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 16  # 128 bits
PATH = "/s/"
REPORTER, FOLLOWER = "reporter", "follower"
_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")


def new_token() -> str:
    """A fresh random token (22 characters of [A-Za-z0-9_-])."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """The token's SHA-256 (hex): the only form of it that is stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(text: str) -> bool:
    """Whether `text` can be a token (anything else is not looked up)."""
    return bool(_SHAPE.fullmatch(text or ""))


TOKEN_MASK = "******"
# A link in a message's text: the path and a whole token (not a longer run of token characters)
_IN_TEXT = re.compile(r"(?<=/s/)[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")


def without_token(text: str) -> str:
    """`text` with the token of every status link in it masked ('…/s/******'): how a message that
    carried a link is kept once it is out, and how staff see any message (the link is the reporter's)."""
    return _IN_TEXT.sub(TOKEN_MASK, text)


# What a follower's link shows of the timeline: the steps the system words itself. What staff wrote
# to the reporter (replies, the answer, a refusal's reason, a callback) stays the reporter's: a
# follower gets the answer only as staff published it, as their SMS notices do.
FOLLOWER_EVENT_KINDS = frozenset({"created", "routed", "assigned", "transferred", "returned", "started",
                                  "deadline_extended", "clock_paused", "clock_resumed", "merged", "reopened",
                                  "closed"})


def shown_events(who: str, events: list[dict[str, object]]) -> list[dict[str, object]]:
    """The timeline entries a link of `who` shows: all the public ones to the reporter (as the
    status page shows them), the system's own steps to a follower."""
    return events if who == REPORTER else [e for e in events if e.get("kind") in FOLLOWER_EVENT_KINDS]
