"""Callbacks (gọi lại) promised to citizens, and the SES contact-health records."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.store import pages, stats
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import CallbackModel, ContactHealthModel, EventModel, TicketModel, ticket_pk
from chalicelib.store.tickets import NewEvent, event_item

# Open callbacks live in the status index in the partition of the reminder they wait for, so the
# reminder job reads only callbacks it has to act on, earliest first (no cursor needed):
OPEN = "cb#open"            # no reminder yet: 'soon' 15 minutes before, or 'overdue' when first seen late
SOON = "cb#soon"            # 'soon' sent: waits for 'overdue'
REMINDED = "cb#reminded"    # both sent: nothing more until an operator closes it (still open)


def add(code: str, due: datetime, reason: str, operator: str, operator_email: str | None,
        operator_phone: str | None, now: datetime) -> CallbackModel:
    """Stores a promised callback on the ticket's partition, in the open-callbacks index."""
    bind()
    callback = CallbackModel(pk=ticket_pk(code), sk=f"CALLBACK#{now.isoformat()}#{secrets.token_hex(3)}",
                             tracking_code=code, due_at=due, reason=reason, operator=operator,
                             operator_email=operator_email, operator_phone=operator_phone, status=OPEN,
                             due_sort=due.astimezone(timezone.utc).isoformat(), created_at=now)
    with translate():
        callback.save(condition=CallbackModel.pk.does_not_exist())
    return callback


def new_callback(code: str, due: datetime, reason: str, operator: str, operator_email: str | None,
                 now: datetime) -> CallbackModel:
    """Returns an unsaved open callback on the ticket's partition."""
    return CallbackModel(pk=ticket_pk(code), sk=f"CALLBACK#{now.isoformat()}#{secrets.token_hex(3)}",
                         tracking_code=code, due_at=due, reason=reason, operator=operator,
                         operator_email=operator_email, status=OPEN,
                         due_sort=due.astimezone(timezone.utc).isoformat(), created_at=now)


def _ticket_actions(now: datetime, status: str | None, callback_done: bool) -> list[Any]:
    actions: list[Any] = [TicketModel.updated_at.set(now)]
    if status is not None:
        actions.append(TicketModel.status.set(status))
    if callback_done:
        actions.append(TicketModel.needs_callback.set(False))
    return actions


def _counted(ticket: TicketModel, event: NewEvent, now: datetime, status: str | None, due: datetime,
             done_at: datetime | None) -> tuple[list[Any], list[Any]]:
    """The statistics a callback adds (chalicelib.domain.stats: due on scheduling, done on its
    outcome, on its due day; the staff member's workload; a first staff action) and the ticket's
    first_action_at when it is one."""
    from chalicelib.domain import stats as rules
    from chalicelib.store.reference import load_reference

    counted = rules.on_change(ticket, status, {}, event.kind, event.actor, now, load_reference().calendar)
    counted += rules.on_callback(ticket, due, done_at)
    first = rules.first_action_change(ticket, event.kind, event.actor, now)
    return counted, [TicketModel.first_action_at.set(first["first_action_at"])] if first else []


def schedule_on_ticket(ticket: TicketModel, callback: CallbackModel, event: NewEvent, now: datetime,
                       status: str | None) -> None:
    """Stores the callback and its timeline event, and moves the ticket to `status` (None: keeps it),
    version-checked, atomically. Raises Conflict when the ticket changed since it was read."""
    connection = bind()
    counted, actions = _counted(ticket, event, now, status, callback.due_at, None)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=[*_ticket_actions(now, status, callback_done=False), *actions])
            stats.add(transaction, counted)
            transaction.save(callback, condition=CallbackModel.pk.does_not_exist())
            transaction.save(event_item(ticket.tracking_code, event, status or ticket.status),
                             condition=EventModel.pk.does_not_exist())


def close_on_ticket(ticket: TicketModel, callback: CallbackModel, outcome: str, event: NewEvent, now: datetime,
                    status: str | None, last: bool = True) -> None:
    """Records a callback's outcome with its event, clears the ticket's call-back flag when it was
    the `last` open one, and moves it to `status`, atomically. Raises Conflict when the callback was closed already or the ticket
    changed since it was read."""
    connection = bind()
    counted, actions = _counted(ticket, event, now, status, callback.due_at, now)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(callback, actions=[CallbackModel.outcome.set(outcome), CallbackModel.status.remove(),
                                                  CallbackModel.due_sort.remove()],
                               condition=CallbackModel.status.exists())
            transaction.update(ticket, actions=[*_ticket_actions(now, status, callback_done=last), *actions])
            stats.add(transaction, counted)
            transaction.save(event_item(ticket.tracking_code, event, status or ticket.status),
                             condition=EventModel.pk.does_not_exist())


def of_ticket(code: str) -> list[CallbackModel]:
    """Returns the ticket's callbacks, oldest first."""
    bind()
    with translate():
        return list(CallbackModel.query(ticket_pk(code), CallbackModel.sk.startswith("CALLBACK#")))


def open_times() -> dict[str, datetime]:
    """Each ticket's earliest open callback time, by tracking code: the open-callback partitions of the
    status index (three Queries, keys only: the ticket is in the key, the time in due_sort)."""
    bind()
    earliest: dict[str, datetime] = {}
    with translate():
        for status in (OPEN, SOON, REMINDED):
            for callback in CallbackModel.by_status_due.query(status, attributes_to_get=["pk", "due_sort"]):
                code, due = callback.pk.removeprefix("TICKET#"), datetime.fromisoformat(callback.due_sort)
                if code not in earliest or due < earliest[code]:
                    earliest[code] = due
    return earliest


def due_for_reminder(now: datetime, ahead: timedelta, limit: int) -> list[CallbackModel]:
    """Returns up to `limit` open callbacks that owe a reminder, earliest first: those reminded
    'soon' and now due, then those not reminded yet and due within `ahead` (one Query each)."""
    bind()
    moment = now.astimezone(timezone.utc)
    with translate():
        found = list(CallbackModel.by_status_due.query(SOON, CallbackModel.due_sort <= moment.isoformat(),
                                                       limit=limit))
        if len(found) < limit:
            found += CallbackModel.by_status_due.query(OPEN, CallbackModel.due_sort <= (moment + ahead).isoformat(),
                                                       limit=limit - len(found))
    return pages.full(CallbackModel, found)  # the index holds keys and a few small attributes


def mark_reminded(callback: CallbackModel, stage: str) -> bool:
    """Records that `stage` ('soon' or 'overdue') was reminded and moves the callback on to the next
    reminder it waits for; False if it was closed or moved meanwhile (nothing changes then)."""
    bind()
    try:
        with translate():
            callback.update(actions=[CallbackModel.reminded.add({stage}),
                                     CallbackModel.status.set(SOON if stage == "soon" else REMINDED)],
                            condition=CallbackModel.status == callback.status)
    except Conflict:
        return False
    return True


def close(callback: CallbackModel, outcome: str) -> None:
    """Records the outcome and takes the callback out of the status index; raises Conflict when it
    was closed already."""
    bind()
    with translate():
        callback.update(actions=[CallbackModel.outcome.set(outcome), CallbackModel.status.remove(),
                                 CallbackModel.due_sort.remove()], condition=CallbackModel.status.exists())


def record_contact_event(address: str, kind: str, now: datetime) -> None:
    """Counts a bounce or complaint against a staff address (one atomic ADD)."""
    bind()
    counter = ContactHealthModel.bounces if kind == "Bounce" else ContactHealthModel.complaints
    with translate():
        ContactHealthModel(sk=address.lower()).update(actions=[
            counter.add(1), ContactHealthModel.last_type.set(kind), ContactHealthModel.last_at.set(now)])


def contact_problems(limit: int = 200) -> list[ContactHealthModel]:
    """Returns the staff addresses SES reported bounces or complaints for."""
    bind()
    with translate():
        return list(ContactHealthModel.query("CONTACT_HEALTH", limit=limit))
