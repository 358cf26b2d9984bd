"""Use cases: the reporter rates the answer once (a reply to the survey, or the web page), and
the ratings feed monthly statistics per category."""
from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.config import settings
from chalicelib.domain.errors import AlreadyExists, FieldError, NotFound, ValidationFailed
from chalicelib.domain.lifecycle import Status
from chalicelib.domain.text import nfc
from chalicelib.domain.tracking import parse_code
from chalicelib.store import ratings, tickets
from chalicelib.store.models import TicketModel
from chalicelib.store.reference import load_reference

REPLY_WINDOW = timedelta(days=30)
_RATED = {Status.ANSWERED.value, Status.CLOSED.value}


def survey_link(code: str, token: str) -> str | None:
    """The web survey's link, or None when the site's address is not configured (a relative link
    in an SMS would be useless; the reporter can still reply with a digit)."""
    return settings().public_url(f"/danh-gia/{code}?t={token}")


def rate_by_reply(history: list[TicketModel], rating: int, channel: str, now: datetime, dedup_key: str,
                  reply: Any) -> str | None:
    """Records a digit reply against the sender's most recently answered, surveyed, unrated ticket,
    with the thank-you `reply` and the message's marker in the same transaction. Returns the code,
    'duplicate' for a message handled before, or None when no survey is waiting (the message is
    then handled as usual)."""
    waiting = sorted((t for t in history if t.survey_sent and t.status in _RATED and now - t.updated_at <= REPLY_WINDOW),
                     key=lambda t: t.updated_at, reverse=True)
    for ticket in waiting:
        try:
            ratings.record(ticket.tracking_code, ticket.category, rating, None, channel, now, dedup_key, reply,
                           ticket=ticket)
        except AlreadyExists:
            if tickets.deduplicated(dedup_key) is not None:
                return "duplicate"
            continue  # rated before: the next waiting survey, if any
        return ticket.tracking_code
    return None


def _surveyed(code_text: str, token: str) -> TicketModel:
    code = parse_code(code_text, settings().tracking_prefix)
    try:
        ticket = tickets.get_ticket(code or "")
    except NotFound:
        ticket = None
    if ticket is None or not ticket.survey_token or not hmac.compare_digest(
            ticket.survey_token.encode(), (token or "").encode("utf-8", "replace")):
        raise NotFound()
    return ticket


def page(code_text: str, token: str) -> dict[str, Any]:
    """The web survey: which ticket, its answer (the link in the answer's one SMS leads here, so the
    page shows it in full) and whether it was rated already. Raises NotFound (wrong link)."""
    ticket = _surveyed(code_text, token)
    return {"code": ticket.tracking_code, "answer": ticket.answer, "rated": ratings.of_ticket(ticket.tracking_code)}


def rate_on_web(code_text: str, token: str, rating_text: str, comment: str, now: datetime | None = None) -> str:
    """Stores the web rating once; returns the code. Raises NotFound, ValidationFailed, AlreadyExists."""
    ticket = _surveyed(code_text, token)
    if not re.fullmatch(r"[1-5]", (rating_text or "").strip()):
        raise ValidationFailed([FieldError("rating", "Vui lòng chọn mức từ 1 đến 5.", "Choose a rating from 1 to 5.")])
    comment = nfc(comment or "")
    if len(comment) > 1000:
        raise ValidationFailed([FieldError("comment", "Góp ý tối đa 1.000 ký tự.", "At most 1,000 characters.")])
    ratings.record(ticket.tracking_code, ticket.category, int(rating_text), comment or None, "web",
                   now or datetime.now(timezone.utc), ticket=ticket)
    return ticket.tracking_code


def statistics(month: str) -> dict[str, Any]:
    """Ratings of one month (YYYY-MM) per category: count and average."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or ""):
        raise ValidationFailed([FieldError("month", "Tháng dạng YYYY-MM.", "Month as YYYY-MM.")])
    ref = load_reference()
    rows = []
    for item in ratings.month_stats(month):
        category = item.sk.rsplit("#", 1)[1]
        rows.append({"category": category, "name": ref.categories[category].name if category in ref.categories
                     else category, "ratings": int(item.n), "average": round(item.total / item.n, 2) if item.n else None})
    total = sum(r["ratings"] for r in rows)
    overall = sum((r["average"] or 0) * r["ratings"] for r in rows) / total if total else None
    return {"month": month, "ratings": total, "average": round(overall, 2) if overall else None, "categories": rows}
