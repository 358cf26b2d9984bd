"""The scheduled workers: callback reminders, the deadline watch and the agencies' daily digest.

Each one reads index queries (open callbacks by time, the watch index, each agency's open
tickets), never a table scan, and takes `now` so tests can drive the clock. Every notification is an
outbound item with a deterministic key, written only if absent, so running a schedule twice
never sends the same reminder twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib import queues
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import AlreadyExists, Conflict
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.working_time import within_hours
from chalicelib.notify import staff
from chalicelib.observability import logger
from chalicelib.services.routing import WATCH_SHARDS
from chalicelib.store import callbacks, outbound, tickets
from chalicelib.store.models import OutboundModel, TicketModel
from chalicelib.store.reference import load_reference

REMIND_AHEAD = timedelta(minutes=15)


def _keyed(items: list[OutboundModel], key: str) -> list[OutboundModel]:
    """Gives each message a deterministic sort key, so a second run finds it already there."""
    for index, item in enumerate(items):
        item.sk = f"OUT#{key}#{index}"
    return items


def _store_once(items: list[OutboundModel], pk_code: str | None = None, pk: str | None = None) -> int:
    stored = []
    for item in items:
        try:
            if pk_code:
                outbound.add_outbound(item, pk_code)
            else:
                outbound.add_unattached(item, pk or "")
            stored.append(item)
        except AlreadyExists:
            continue
    if stored:
        queues.send_notifications([(m.pk, m.sk) for m in stored])
    return len(stored)


def callback_reminders(now: datetime | None = None) -> int:
    """Reminds operators of callbacks due within 15 minutes ('soon') or overdue, once per stage.
    Outside hotline hours nothing is sent: the reminders wait for the next opening."""
    now = now or datetime.now(timezone.utc)
    ref = load_reference()
    if not within_hours(now, ref.hotline_opens, ref.hotline_closes):
        return 0
    sent = 0
    for callback in callbacks.due_by(now + REMIND_AHEAD):
        stage = "overdue" if callback.due_at <= now else "soon"
        if stage in (callback.reminded or set()):
            continue
        when = local_text(callback.due_at)
        subject = (f"[1022] Quá hạn gọi lại {callback.tracking_code}" if stage == "overdue"
                   else f"[1022] Sắp đến giờ gọi lại {callback.tracking_code}")
        items = staff.messages(f"callback_{stage}",
                               staff.Contact(callback.operator_email or "", callback.operator_phone or ""),
                               subject, f"Bạn đã hẹn gọi lại công dân lúc {when}. Lý do: {callback.reason}",
                               f"1022: {'QUA HAN' if stage == 'overdue' else 'Sap den gio'} goi lai "
                               f"{callback.tracking_code} luc {when}.", now,
                               t={"code": callback.tracking_code, "due": when})
        sent += _store_once(_keyed(items, f"{callback.sk}#{stage}"), pk_code=callback.tracking_code)
        callbacks.mark_reminded(callback, stage)
    return sent


def deadline_watch(now: datetime | None = None) -> dict[str, int]:
    """At 80 % of the allowed time warns the agency; at the deadline escalates to the agency's
    supervisor and the hotline supervisor and flags the ticket overdue."""
    now = now or datetime.now(timezone.utc)
    ref = load_reference()
    counts = {"warned": 0, "escalated": 0}
    for shard in range(WATCH_SHARDS):
        for ticket in tickets.watch_due(f"W#{shard}", now):
            try:
                outcome = _watch_one(ticket, ref, now)
            except Conflict:
                continue  # changed meanwhile (or done by a parallel run): the next run sees it fresh
            if outcome:
                counts[outcome] += 1
    return counts


def _stop_watching() -> dict[str, object]:
    return {"watch_shard": None, "watch_at": None, "watch_stage": None}


def _watch_one(ticket: TicketModel, ref: ReferenceData, now: datetime) -> str | None:
    stage = ticket.watch_stage
    if not is_open(Status(ticket.status)) or ticket.paused_at is not None or ticket.due_at is None:
        tickets.update(ticket, tickets.NewEvent("watch_stopped", "system:deadlines", now), now, _stop_watching(),
                       condition=TicketModel.watch_stage == stage)
        return None
    facts = staff.ticket_facts(ticket, ref)
    if stage == "warn":
        items = staff.messages("deadline_warning", staff.agency_contact(ref, ticket.agency),
                               f"[1022] Sắp đến hạn {ticket.tracking_code}",
                               "Phản ánh sau đã dùng 80% thời gian xử lý cho phép:",
                               f"1022: Phan anh {ticket.tracking_code} sap den han ({facts['due']}).", now, t=facts)
        changes = {"watch_at": ticket.due_at.astimezone(timezone.utc).isoformat(), "watch_stage": "due"}
        event = tickets.NewEvent("deadline_warning", "system:deadlines", now, detail={"due": facts["due"]})
        tickets.update(ticket, event, now, changes, condition=TicketModel.watch_stage == "warn",
                       outbound=_keyed(items, f"warn#{ticket.tracking_code}#{ticket.watch_at}"))
        queues.send_notifications([(m.pk, m.sk) for m in items])
        return "warned"
    supervisors = [staff.agency_contact(ref, ticket.agency, supervisor=True),
                   staff.Contact(email=ref.hotline_supervisor_email)]
    items = [m for contact in supervisors for m in staff.messages(
        "escalation", contact, f"[1022] QUÁ HẠN {ticket.tracking_code}", "Phản ánh sau đã quá hạn trả lời:",
        "", now, t=facts)]
    event = tickets.NewEvent("escalated", "system:deadlines", now, detail={"due": facts["due"]})
    tickets.update(ticket, event, now, {"overdue": True, **_stop_watching()},
                   condition=TicketModel.watch_stage == "due",
                   outbound=_keyed(items, f"due#{ticket.tracking_code}#{ticket.watch_at}"))
    queues.send_notifications([(m.pk, m.sk) for m in items])
    logger().info("ticket overdue, escalated", extra={"ticket": ticket.tracking_code})
    return "escalated"


def daily_digest(now: datetime | None = None) -> int:
    """07:00 local: each agency with open tickets gets one email — open, due today, overdue."""
    now = now or datetime.now(timezone.utc)
    ref = load_reference()
    today = local_text(now)[:10]
    sent = 0
    for agency in ref.agencies.values():
        if not agency.email:
            continue
        open_tickets, start = [], None
        while True:
            page, start = tickets.open_by_agency(agency.id, limit=100, start=start)
            open_tickets += page
            if start is None:
                break
        if not open_tickets:
            continue
        overdue = [t for t in open_tickets if t.due_at and t.due_at <= now]
        due_today = [t for t in open_tickets if t.due_at and t.due_at > now and local_text(t.due_at)[:10] == today]
        items = [{"code": t.tracking_code, "category": ref.categories[t.category].name if t.category in
                  ref.categories else "", "due": local_text(t.due_at) if t.due_at else "",
                  "state": "Quá hạn" if t in overdue else ("Đến hạn hôm nay" if t in due_today else "Đang xử lý")}
                 for t in open_tickets[:50]]
        messages = staff.messages("digest", staff.Contact(email=agency.email),
                                  f"[1022] Tổng hợp ngày {today}: {len(open_tickets)} phản ánh đang mở", "", "",
                                  now, template="digest", agency=agency.name, day=today, open=len(open_tickets),
                                  due_today=len(due_today), overdue=len(overdue), items=items)
        sent += _store_once(_keyed(messages, "digest"), pk=f"OUTBOX#digest#{today}#{agency.id}")
    return sent
