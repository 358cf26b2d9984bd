"""Use case: route a new ticket. Minimal rule for now: the category's default agency, else triage.

The routing issue adds text classification, area detection and the category x area table.
Idempotent: a ticket already past `received` is left alone, and the conditional write makes
two consumers racing on the same message end with one transition.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib import queues
from chalicelib.domain.errors import Conflict
from chalicelib.domain.lifecycle import Status
from chalicelib.observability import logger
from chalicelib.store import tickets
from chalicelib.store.reference import load_reference

ROUTER = "system:routing"
STALE_AFTER = timedelta(minutes=2)


def route(code: str, now: datetime | None = None) -> str:
    """Routes the ticket; returns the status it ended in ('assigned', 'triage') or 'skipped'."""
    now = now or datetime.now(timezone.utc)
    ticket = tickets.get_ticket(code)
    if ticket.status != Status.RECEIVED.value:
        return "skipped"
    ref = load_reference()
    category = ref.categories.get(ticket.category or "")
    agency = ref.agencies.get(category.agency) if category and category.agency else None
    if agency is not None:
        target, text = Status.ASSIGNED, f"Đã chuyển đến {agency.name} để xử lý."
    else:
        target, text = Status.TRIAGE, "Tổng đài viên đang phân loại phản ánh."
    event = tickets.NewEvent(kind="routed", actor=ROUTER, at=now, public_text=text,
                             detail={"status": target.value, "agency": agency.id if agency else None})
    try:
        tickets.transition(ticket, target, event, now, agency=agency.id if agency else None)
    except Conflict:
        return "skipped"
    logger().info("ticket routed", extra={"ticket": code, "status": target.value})
    return target.value


def requeue_unrouted(now: datetime | None = None, page_size: int = 100) -> int:
    """Re-sends routing messages for tickets still `received` after STALE_AFTER; returns how many.

    Covers an SQS outage at intake time: the ticket was stored, its message was not.
    """
    now = now or datetime.now(timezone.utc)
    count, start = 0, None
    while True:
        page, start = tickets.by_status(Status.RECEIVED, limit=page_size, start=start)
        for ticket in page:
            if ticket.created_at <= now - STALE_AFTER:
                queues.send_routing(ticket.tracking_code)
                count += 1
        if start is None:
            return count
