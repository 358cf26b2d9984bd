"""Use case: route a ticket — decide its category and commune/ward, then the responsible agency
from the routing table, set the deadline in working time, and notify the agency (e-mail; staff see it in the console too).
Not sure enough → the operators' triage queue, never a guess.

Idempotent: a ticket already past `received` is left alone, and the write is conditional on the
version read, so two consumers racing on one message end with one transition.
"""
from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib import queues
from chalicelib.domain.classify import classify
from chalicelib.domain.errors import Conflict
from chalicelib.domain.lifecycle import Status, check_transition
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.working_time import due_at, warn_at
from chalicelib.notify import staff
from chalicelib.observability import logger
from chalicelib.services import model_training
from chalicelib.store import routing_model, tickets
from chalicelib.store.models import OutboundModel, TicketModel
from chalicelib.store.reference import load_reference

ROUTER = "system:routing"
STALE_AFTER = timedelta(minutes=2)
ROUTE_READS = 3  # reads of a ticket that changes under the router before SQS's redelivery takes over
WATCH_SHARDS = 4


def watch_shard(code: str) -> str:
    """Spreads the deadline-watch index over a few partitions (stable per ticket)."""
    return f"W#{zlib.crc32(code.encode()) % WATCH_SHARDS}"


def deadline_changes(ticket: TicketModel, ref: ReferenceData, category: str | None,
                     start: datetime | None = None) -> dict[str, object]:
    """Returns due_at / warn_at and the watch-index keys for `category` (nothing without one), the
    allowed time counted from `start` (default: when the ticket was received)."""
    if category is None or ref.calendar is None or category not in ref.categories:
        return {}
    start = start or ticket.created_at
    due = due_at(ref.calendar, start, ref.categories[category].sla_working_days)
    warning = warn_at(ref.calendar, start, due)
    return {"due_at": due, "warn_at": warning, "watch_shard": watch_shard(ticket.tracking_code),
            "watch_at": warning.astimezone(timezone.utc).isoformat(), "watch_stage": "warn"}


def assignment_messages(ticket: TicketModel, ref: ReferenceData, agency_id: str, now: datetime,
                        facts: dict[str, object]) -> tuple[list[OutboundModel], bool]:
    """Returns the agency's e-mail (never an SMS), or an admin alert when the agency has no e-mail.
    A transfer (`facts` name a previous agency) says where the ticket comes from."""
    contact = staff.agency_contact(ref, agency_id)
    code = ticket.tracking_code
    if contact.email:
        if facts.get("previous_agency"):
            return staff.messages("assigned", contact, f"[1022] Phản ánh chuyển đến {code}",
                                  f"Phản ánh sau được chuyển từ {facts['previous_agency']} đến {facts['agency']} "
                                  "để xử lý:", "", now, t=facts), True
        return staff.messages("assigned", contact, f"[1022] Phản ánh mới {code}",
                              "Cơ quan được giao xử lý phản ánh sau:", "", now, t=facts), True
    alert = staff.Contact(email=ref.admin_email)
    return staff.messages("admin_alert", alert, f"[1022] Cơ quan chưa có email: {agency_id}",
                          f"Phản ánh {code} đã giao cho cơ quan chưa có email. Vui lòng cập nhật danh bạ.",
                          "", now, t=facts), False


def route(code: str, now: datetime | None = None) -> str:
    """Routes the ticket; returns the status it ended in ('assigned', 'triage') or 'skipped' when
    it is no longer `received` (routed already, or by staff).

    A ticket that changed between our read and our write (the citizen's next message joined it,
    another copy of this queue message routed it) is read again: it is routed unless it has left
    `received`. Raises Conflict if it keeps changing (SQS redelivers the message).
    """
    now = now or datetime.now(timezone.utc)
    for _ in range(ROUTE_READS - 1):
        try:
            return _route_once(code, now)
        except Conflict:
            continue  # it changed since we read it: read it again
    return _route_once(code, now)


def _route_once(code: str, now: datetime) -> str:
    ticket = tickets.get_ticket(code)
    if ticket.status != Status.RECEIVED.value:
        return "skipped"
    model = routing_model.active_model()  # first: a cold container reads its pointer with the reference data
    status = _assign(ticket, load_reference(), ticket.category, ticket.area, now, actor=ROUTER, model=model)
    if ticket.channel in ("sms", "zalo", "facebook"):
        _auto_answer(code, now)
    return status


def _auto_answer(code: str, now: datetime) -> None:
    """An SMS/Zalo question one knowledge-base article answers with confidence, in a category where
    supervisors allow it, gets that answer at once (chalicelib/services/kb_auto.py); never fails the routing."""
    try:
        from chalicelib.services import kb_auto

        kb_auto.after_routing(code, now)
    except Exception as exc:  # noqa: BLE001 - the ticket is routed; operators answer it as always
        logger().warning("automatic answer skipped", extra={"ticket": code, "error_type": type(exc).__name__})


def recategorise(code: str, category: str | None, area: str | None, actor: str, now: datetime | None = None,
                 ticket: TicketModel | None = None, role: str | None = None) -> str:
    """An operator (re)sets category and/or area: the ticket is routed again from them (`ticket`:
    the copy the operator saw, so a change made meanwhile is a Conflict, not overwritten). A change of
    what was decided before is recorded as a training example (`role`: the operator's, never a name).
    Raises Conflict on a concurrent change, IllegalTransition for closed tickets."""
    now = now or datetime.now(timezone.utc)
    ticket = ticket or tickets.get_ticket(code)
    model = None if category else routing_model.active_model()
    return _assign(ticket, load_reference(), category, area, now, actor=actor, role=role, model=model)


def _assign(ticket: TicketModel, ref: ReferenceData, category: str | None, area: str | None, now: datetime,
            actor: str, role: str | None = None, model: Any = None) -> str:
    decided = classify(ticket.text, ref, category, area, model=model)
    agency_id = ref.agency_for(decided.category, decided.area) if decided.category else None
    changes: dict[str, object] = {"category": decided.category, "area": decided.area, "agency": agency_id,
                                  "route_source": decided.source, **deadline_changes(ticket, ref, decided.category)}
    if actor == ROUTER or ticket.kind is None:  # re-categorising keeps what an operator marked (console)
        changes["kind"] = "question" if decided.question else "complaint"  # chalicelib.domain.questions
    if agency_id is None:
        target, text, outbound = Status.TRIAGE, "Tổng đài viên đang phân loại phản ánh.", []
    else:
        target = Status.ASSIGNED
        text = f"Đã chuyển đến {ref.agencies[agency_id].name} để xử lý."
        probe = TicketModel(tracking_code=ticket.tracking_code, text=ticket.text, category=decided.category,
                            area=decided.area, agency=agency_id, due_at=changes.get("due_at"))
        previous = ticket.agency if ticket.agency and ticket.agency != agency_id else None
        outbound, _ = assignment_messages(ticket, ref, agency_id, now,
                                          staff.ticket_facts(probe, ref, previous_agency=previous))
    if Status(ticket.status) != target:
        check_transition(Status(ticket.status), target)
    # An operator's choice is recorded as such: the router's own decision is "routed".
    event = tickets.NewEvent(kind="routed" if actor == ROUTER else "recategorised", actor=actor, at=now,
                             public_text=text,
                             detail={"status": target.value, "agency": agency_id, "category": decided.category,
                                     "area": decided.area, "score": decided.category_score
                                     if decided.category_score != float("inf") else None})
    before = model_training.decided(ticket)
    tickets.transition(ticket, target, event, now, changes=changes, outbound=outbound)
    if actor != ROUTER:
        model_training.record_correction(ticket, before, {"category": decided.category, "area": decided.area,
                                                          "agency": agency_id}, ref, role, now)
    if outbound:
        queues.send_notifications([(m.pk, m.sk) for m in outbound])
    logger().info("ticket routed", extra={"ticket": ticket.tracking_code, "status": target.value,
                                          "category": decided.category, "agency": agency_id})
    return target.value


def requeue_unrouted(now: datetime | None = None, page_size: int = 100) -> int:
    """Re-sends routing messages for tickets still `received` after STALE_AFTER, one index page per
    run; returns how many.

    Covers an SQS outage at intake time: the ticket was stored, its message was not. A ticket that
    cannot be routed stays `received`, so the pages go round the whole status with a cursor (saved
    only over the version read) rather than restarting at the front: a stuck page never hides the
    tickets behind it.
    """
    import json

    from chalicelib.store import cursors

    now = now or datetime.now(timezone.utc)
    cursor = cursors.read("requeue_unrouted")
    start = json.loads(cursor.value) if cursor.value else None
    page, after = tickets.by_status(Status.RECEIVED, limit=page_size, start=start)
    count = 0
    for ticket in page:
        if ticket.created_at <= now - STALE_AFTER:
            queues.send_routing(ticket.tracking_code)
            count += 1
    value = json.dumps(after, sort_keys=True) if after else None  # None: the next run starts again at the front
    if value != cursor.value:
        cursors.save(cursor, value, now)
    return count
