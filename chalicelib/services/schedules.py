"""The scheduled workers: callback reminders, the deadline watch and the agencies' daily digest.
Staff are told by e-mail; the only staff SMS is an escalation, to supervisors who opted in.

Each one reads index queries (open callbacks by time, the watch index, each agency's open
tickets), never a table scan, and takes `now` so tests can drive the clock. Every notification is an
outbound item with a deterministic key, written only if absent, so running a schedule twice
never sends the same reminder twice.

Each run does a bounded page of work and the next run continues, so a backlog never makes one run
outlast its timeout:
- reminders and the watch read what is due in index order, and handling an item moves it out of
  what is due (the callback to its next reminder's partition, the ticket's mark to its deadline or
  off the index), so the next run's first page is what is still due: nothing is skipped, and an
  item that failed stays due and is tried again;
- the digest walks the agencies in id order with a cursor saved after each run (store/cursors.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

from chalicelib import queues
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import AlreadyExists, Conflict
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.retention import first_check, purge_watch
from chalicelib.domain.working_time import within_hours
from chalicelib.notify import staff
from chalicelib.observability import logger
from chalicelib.services.routing import WATCH_SHARDS
from chalicelib.store import callbacks, cursors, outbound, tickets
from chalicelib.store.models import CallbackModel, OutboundModel, TicketModel
from chalicelib.store.reference import load_reference

T = TypeVar("T")
REMIND_AHEAD = timedelta(minutes=15)
REMINDERS_PER_RUN = 100        # every 5 minutes
WATCH_PER_SHARD = 50           # x 4 shards, every 15 minutes
DIGEST_AGENCIES_PER_RUN = 30   # the digest runs every 10 minutes from 07:00 to 08:50
DIGEST_MAX_TICKETS = 500       # per agency: five pages of 100; more shows as "500+"


class PageIncomplete(RuntimeError):
    """Some items of a run failed (each is logged); the others were done. The failed ones are
    still due, so the next run tries them again; the run itself fails so that it is seen."""


def _each(items: list[T], handle: Callable[[T], None], job: str) -> None:
    failures = 0
    for item in items:
        try:
            handle(item)
        except Conflict:
            continue  # changed meanwhile (or done by a parallel run): the next run sees it fresh
        except Exception as exc:  # one bad item must not hold back the rest of the page
            failures += 1
            logger().error("scheduled item failed", extra={"job": job, "error_type": type(exc).__name__})
    if failures:
        raise PageIncomplete(f"{job}: {failures} of {len(items)} items failed")


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


def callback_reminders(now: datetime | None = None, page: int = REMINDERS_PER_RUN) -> int:
    """Reminds operators of callbacks due within 15 minutes ('soon') or overdue, once per stage,
    at most `page` callbacks per run. Outside hotline hours nothing is sent: the reminders wait for
    the next opening. Raises PageIncomplete after the page when some callbacks failed."""
    now = now or datetime.now(timezone.utc)
    ref = load_reference()
    if not within_hours(now, ref.hotline_opens, ref.hotline_closes):
        return 0
    sent = 0

    def remind(callback: CallbackModel) -> None:
        nonlocal sent
        stage = "overdue" if callback.due_at <= now else "soon"
        if callback.pk.startswith("CALLTASK#"):  # a missed call's task (no ticket yet): one reminder, when due
            if not callback.reminded:
                key = f"OUTBOX#calltask#{callback.pk.removeprefix('CALLTASK#')}#{callback.created_at:%Y%m%d%H%M%S}"
                sent += _store_once(_keyed(_call_task_reminder(callback, ref, now), callback.sk), pk=key)
            callbacks.mark_reminded(callback, "overdue")
            return
        if stage not in (callback.reminded or set()):  # else sent by a run that stopped before moving it on
            when = local_text(callback.due_at)
            subject = (f"[1022] Quá hạn gọi lại {callback.tracking_code}" if stage == "overdue"
                       else f"[1022] Sắp đến giờ gọi lại {callback.tracking_code}")
            # The operator works in the console: an e-mail, never an SMS.
            items = staff.messages(f"callback_{stage}", staff.Contact(email=callback.operator_email or ""),
                                   subject, f"Bạn đã hẹn gọi lại công dân lúc {when}. Lý do: {callback.reason}",
                                   "", now, t=_callback_facts(callback, ref))
            sent += _store_once(_keyed(items, f"{callback.sk}#{stage}"), pk_code=callback.tracking_code)
        callbacks.mark_reminded(callback, stage)

    _each(callbacks.due_for_reminder(now, REMIND_AHEAD, page), remind, "callback_reminders")
    return sent


def _call_task_reminder(task: CallbackModel, ref: ReferenceData, now: datetime) -> list[OutboundModel]:
    """The e-mail reminding the hotline of a missed caller to call back (to telephony.callback_email,
    else the hotline supervisor): the task's own facts (calls, times, the last outcome), the number
    shortened, a link to the call tasks page."""
    from chalicelib.config import settings
    from chalicelib.domain.calls import OUTCOME_LABELS_VI

    facts = {"calls": int(task.calls or 0), "first": local_text(task.first_at) if task.first_at else None,
             "last": local_text(task.last_at) if task.last_at else None, "due": local_text(task.due_at),
             "outcome": OUTCOME_LABELS_VI.get(task.last_outcome or "", ""),
             "caller": f"…{(task.caller or '')[-4:]}" if task.caller else "số ẩn",
             "link": settings().public_url("/staff/goi-lai")}
    subject = f"[1022] Cần gọi lại người dân đã gọi nhỡ (số {facts['caller']})"
    intro = (f"Người dân (số {facts['caller']}) đã gọi tổng đài {facts['calls']} lần mà chưa được nghe máy; "
             f"cần gọi lại trước {facts['due']}.")
    email = ref.telephony.callback_email or ref.hotline_supervisor_email
    return staff.messages("callback_soon", staff.Contact(email=email), subject, intro, "", now,
                          template="call_task", t=facts)


def _callback_facts(callback: CallbackModel, ref: ReferenceData) -> dict[str, Any]:
    """A reminder's facts: the ticket's (category, commune, agency, answer deadline) and the
    callback's own time and reason, shown as such."""
    from chalicelib.domain.errors import NotFound

    try:
        ticket = tickets.get_ticket(callback.tracking_code)
    except NotFound:
        ticket = TicketModel(tracking_code=callback.tracking_code, text="")
    return staff.ticket_facts(ticket, ref, callback_at=callback.due_at, callback_reason=callback.reason)


def deadline_watch(now: datetime | None = None, per_shard: int = WATCH_PER_SHARD) -> dict[str, int]:
    """At 80 % of the allowed time warns the agency; at the deadline escalates to the agency's
    supervisor and the hotline supervisor and flags the ticket overdue. At most `per_shard` tickets
    of each watch shard per run. Raises PageIncomplete after the page when some tickets failed."""
    now = now or datetime.now(timezone.utc)
    ref = load_reference()
    counts = {"warned": 0, "escalated": 0}

    def watch(ticket: TicketModel) -> None:
        outcome = _watch_one(ticket, ref, now)
        if outcome:
            counts[outcome] += 1

    due = [ticket for shard in range(WATCH_SHARDS) for ticket in tickets.watch_due(f"W#{shard}", now, per_shard)]
    _each(due, watch, "deadline_watch")
    return counts


def _stop_watching(ticket: TicketModel, ref: ReferenceData) -> dict[str, object]:
    """The changes that end the deadline watch: the ticket goes on the retention watch."""
    return purge_watch(ticket.tracking_code, first_check(ref.retention, ticket.created_at))


def _watch_one(ticket: TicketModel, ref: ReferenceData, now: datetime) -> str | None:
    stage = ticket.watch_stage
    if not is_open(Status(ticket.status)) or ticket.paused_at is not None or ticket.due_at is None:
        tickets.update(ticket, tickets.NewEvent("watch_stopped", "system:deadlines", now), now,
                       _stop_watching(ticket, ref), condition=TicketModel.watch_stage == stage)
        return None
    facts = staff.ticket_facts(ticket, ref)
    if stage == "warn":
        items = staff.messages("deadline_warning", staff.agency_contact(ref, ticket.agency),
                               f"[1022] Sắp đến hạn {ticket.tracking_code}",
                               "Phản ánh sau đã dùng 80% thời gian xử lý cho phép:", "", now, t=facts)
        changes = {"watch_at": ticket.due_at.astimezone(timezone.utc).isoformat(), "watch_stage": "due"}
        event = tickets.NewEvent("deadline_warning", "system:deadlines", now, detail={"due": facts["due"]})
        tickets.update(ticket, event, now, changes, condition=TicketModel.watch_stage == "warn",
                       outbound=_keyed(items, f"warn#{ticket.tracking_code}#{ticket.watch_at}"))
        queues.send_notifications([(m.pk, m.sk) for m in items])
        return "warned"
    # The one staff SMS: to the supervisors who opted in to SMS on escalation (e-mail to the others).
    supervisors = [staff.agency_contact(ref, ticket.agency, supervisor=True), staff.hotline_supervisor_contact(ref)]
    items = [m for contact in supervisors for m in staff.messages(
        "escalation", contact, f"[1022] QUÁ HẠN {ticket.tracking_code}", "Phản ánh sau đã quá hạn trả lời:",
        f"1022: QUA HAN phan anh {ticket.tracking_code} (han {facts['due']}). Xem tren he thong.", now, t=facts)]
    event = tickets.NewEvent("escalated", "system:deadlines", now, detail={"due": facts["due"]})
    tickets.update(ticket, event, now, {"overdue": True, **_stop_watching(ticket, ref)},
                   condition=TicketModel.watch_stage == "due",
                   outbound=_keyed(items, f"due#{ticket.tracking_code}#{ticket.watch_at}"))
    queues.send_notifications([(m.pk, m.sk) for m in items])
    logger().info("ticket overdue, escalated", extra={"ticket": ticket.tracking_code})
    return "escalated"


def daily_digest(now: datetime | None = None, per_run: int = DIGEST_AGENCIES_PER_RUN) -> int:
    """07:00 local: each agency with open tickets gets one email — open, due today, overdue.

    Each run takes the next `per_run` agencies (by id) after the day's cursor, so the runs between
    07:00 and 08:50 cover every agency once; a failure saves the cursor before the failed agency
    and raises, so the next run starts there (what was sent is not sent again)."""
    now = now or datetime.now(timezone.utc)
    ref = load_reference()
    today = local_text(now)[:10]
    cursor = cursors.read("daily_digest")
    day, _, done_up_to = (cursor.value or "").partition("|")
    after = done_up_to if day == today else ""
    page = [a for a in sorted(ref.agencies.values(), key=lambda a: a.id) if a.email and a.id > after][:per_run]
    sent, last = 0, after
    try:
        for agency in page:
            sent += _digest(agency, ref, now, today)
            last = agency.id
    finally:
        if last != after:
            cursors.save(cursor, f"{today}|{last}", now)
    return sent


def _at_least(count: int, complete: bool) -> int | str:
    return count if complete else f"{count}+"


def _digest(agency: Any, ref: ReferenceData, now: datetime, today: str) -> int:
    """Stores and queues one agency's digest (once per day); returns how many messages that took."""
    open_tickets: list[TicketModel] = []
    start = None
    while len(open_tickets) < DIGEST_MAX_TICKETS:
        page, start = tickets.open_by_agency(agency.id, limit=100, start=start)
        open_tickets += page
        if start is None:
            break
    if not open_tickets:
        return 0
    # Earliest deadline first: overdue ones are read before due-today ones, both before the rest.
    complete = start is None
    last_due = open_tickets[-1].due_at
    overdue = [t for t in open_tickets if t.due_at and t.due_at <= now]
    due_today = [t for t in open_tickets if t.due_at and t.due_at > now and local_text(t.due_at)[:10] == today]
    open_count = _at_least(len(open_tickets), complete)
    items = [{"code": t.tracking_code, "category": ref.categories[t.category].name if t.category in
              ref.categories else "", "area": ref.areas[t.area].name if t.area in ref.areas else "",
              "due": local_text(t.due_at) if t.due_at else "",
              "state": "Quá hạn" if t in overdue else ("Đến hạn hôm nay" if t in due_today else "Đang xử lý")}
             for t in open_tickets[:50]]
    messages = staff.messages("digest", staff.Contact(email=agency.email),
                              f"[1022] Tổng hợp ngày {today}: {open_count} phản ánh đang mở", "", "",
                              now, template="digest", agency=agency.name, day=today, open=open_count,
                              due_today=_at_least(len(due_today), complete or bool(
                                  last_due and local_text(last_due)[:10] > today)),
                              overdue=_at_least(len(overdue), complete or bool(last_due and last_due > now)),
                              items=items)
    return _store_once(_keyed(messages, "digest"), pk=f"OUTBOX#digest#{today}#{agency.id}")
