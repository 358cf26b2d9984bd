"""Where a citizen's message belongs: a status query, an existing conversation, or a new ticket."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.text import fold
from chalicelib.domain.tracking import ALPHABET, parse_code

THREAD_WINDOW = timedelta(days=7)
_STATUS_QUERY = re.compile(r"^\s*tt\b[\s:.\-]*(.*)$", re.IGNORECASE | re.DOTALL)
_FORCE_NEW = re.compile(r"^\s*(moi|mới)\b[\s:.\-]*", re.IGNORECASE)


@dataclass(frozen=True)
class OpenTicket:
    """What threading needs to know of one of the sender's tickets."""

    tracking_code: str
    status: str
    updated_at: datetime


@dataclass(frozen=True)
class Decision:
    kind: str               # "status_query" | "append" | "new"
    tracking_code: str | None
    text: str               # the message text with a MOI/TT keyword removed


def _quoted_codes(text: str, prefix: str) -> list[str]:
    pattern = re.compile(rf"\b{re.escape(prefix)}[\s\-.]?[{ALPHABET}]{{6}}\b", re.IGNORECASE)
    return [code for code in (parse_code(m.group(0), prefix) for m in pattern.finditer(text)) if code]


def decide(text: str, sender_tickets: Sequence[OpenTicket], now: datetime, prefix: str) -> Decision:
    """Returns where the message goes.

    - `TT <code>` (tra cứu) asks for a ticket's status;
    - `MOI`/`MỚI` first forces a new ticket;
    - a quoted tracking code of one of the sender's own tickets appends to it;
    - otherwise the sender's most recently updated open ticket, if updated within 7 days;
    - otherwise a new ticket.
    """
    status = _STATUS_QUERY.match(text)
    code = (parse_code(status.group(1), prefix) or next(iter(_quoted_codes(status.group(1), prefix)), None)
            if status else None)
    if code:  # "tt" alone is also shorthand (thông tin, thị trấn): only with a code is it a query
        return Decision("status_query", code, text.strip())
    forced = _FORCE_NEW.match(text)
    if forced and fold(forced.group(1)) == "moi":
        return Decision("new", None, text[forced.end():].strip())
    own = {t.tracking_code: t for t in sender_tickets}
    for code in _quoted_codes(text, prefix):
        if code in own:
            return Decision("append", code, text.strip())
    recent = [t for t in sender_tickets if is_open(Status(t.status)) and now - t.updated_at <= THREAD_WINDOW]
    if recent:
        return Decision("append", max(recent, key=lambda t: t.updated_at).tracking_code, text.strip())
    return Decision("new", None, text.strip())
