"""The store side of retention and erasure: the retention watch (by_watch, shards P#0..3), the
writes that remove a person from a ticket's items, the legal hold, and the rate-limit counters
that carry a person in their key.

Timeline events are append-only everywhere else; here, and only here, they are rewritten, because
the law asks for the person's data to go (docs/architecture.md: event immutability yields to the
law). Every write is conditional: on the version read (tickets), on the item still being there
(events, messages, callbacks), so a run that races another changes nothing twice.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.domain.retention import PURGE_STAGE
from chalicelib.store import people, tickets
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import (
    BODY_SK,
    CallbackModel,
    EventModel,
    OutboundModel,
    RateModel,
    RatingModel,
    TicketBodyModel,
    TicketModel,
    ticket_pk,
)

ERASED = "[đã xoá]"  # a message's recipient or text once removed
# Delivery states in which a message still waits for someone to send it: erasing it cancels it.
WAITING = ("pending", "sending", "device_queued", "device_handed")
CANCELLED = "cancelled"
REPORTER_FIELDS = ("reporter_name", "reporter_phone", "reporter_email", "reporter_zalo_id", "address", "lat", "lon",
                   "last_inbound_ref", "survey_token", "followers", "attachments", "photos_public")


def purge_due(shard: str, now: datetime, limit: int) -> list[TicketModel]:
    """Up to `limit` tickets of one retention shard whose mark has come, earliest first (one Query
    and one BatchGetItem); handling one moves its mark on or off the index."""
    return tickets.watch_due(shard, now, limit)


def move_watch(ticket: TicketModel, at: datetime | None) -> None:
    """Moves the ticket's retention mark to `at` (None: off the watch), without touching
    `updated_at` (the job is no activity on the ticket). Raises Conflict when the ticket changed
    since it was read."""
    bind()
    actions: list[Any] = ([TicketModel.watch_at.set(at.astimezone(timezone.utc).isoformat())] if at else
                          [TicketModel.watch_shard.remove(), TicketModel.watch_at.remove(),
                           TicketModel.watch_stage.remove()])
    with translate():
        ticket.update(actions=actions, condition=TicketModel.watch_stage == PURGE_STAGE)


def claim(ticket: TicketModel, now: datetime) -> None:
    """Marks the ticket as being anonymised (`anonymising_at`, the first claim's time kept), before
    anything of it is removed: only while it is not held, not anonymised and as read (version), so a
    hold or a change that came first stops the removal before it begins, and a hold cannot come after
    (set_hold refuses a claimed ticket). `updated_at` untouched; the object keeps its body's fields.
    Raises Conflict."""
    bind()
    whole = dict(ticket.attribute_values)
    with translate():
        ticket.update(actions=[TicketModel.anonymising_at.set(TicketModel.anonymising_at | now)],
                      condition=TicketModel.legal_hold.does_not_exist() & TicketModel.anonymised_at.does_not_exist())
    ticket.attribute_values = {**whole, **ticket.attribute_values}


def reporter_tickets(kind: str, value: str) -> list[TicketModel]:
    """Every ticket whose reporter has this phone (E.164, kind "phone") or Zalo id ("zalo"), newest
    first, with bodies: every page of the by_phone / by_zalo index."""
    bind()
    index = TicketModel.by_phone if kind == "phone" else TicketModel.by_zalo
    with translate():
        found = list(index.query(value, scan_index_forward=False))
    return tickets._whole(found)


def body(code: str) -> TicketBodyModel | None:
    bind()
    with translate():
        try:
            return TicketBodyModel.get(ticket_pk(code), BODY_SK, consistent_read=True)
        except TicketBodyModel.DoesNotExist:
            return None


def rewrite_event(event: EventModel, public_text: str | None, detail: dict[str, Any] | None) -> None:
    """Replaces an event's texts with their redacted form (the one update an event ever gets)."""
    bind()
    actions = [EventModel.public_text.set(public_text) if public_text is not None else EventModel.public_text.remove(),
               EventModel.detail.set(detail) if detail is not None else EventModel.detail.remove()]
    with translate():
        event.update(actions=actions, condition=EventModel.pk.exists())


def erase_outbound(message: OutboundModel, subject: str | None) -> None:
    """Clears a message's recipient and text (and the e-mail's HTML, the quoted Zalo message); one
    still waiting to be sent is cancelled and leaves the delivery queues, so it never goes out."""
    bind()
    actions: list[Any] = [OutboundModel.recipient.set(ERASED), OutboundModel.text.set(ERASED),
                          OutboundModel.html.remove(), OutboundModel.reply_to.remove(),
                          OutboundModel.subject.set(subject) if subject else OutboundModel.subject.remove()]
    if message.state in WAITING:
        actions += [OutboundModel.state.set(CANCELLED), OutboundModel.status.remove(),
                    OutboundModel.due_sort.remove(), OutboundModel.last_error.set("personal data erased")]
    with translate():
        message.update(actions=actions, condition=OutboundModel.state == message.state)


def clear_text(message: OutboundModel) -> None:
    """Clears the text of a message sent long enough ago (the schedule's outbound_text_days); the
    recipient stays with the ticket until the ticket's own time comes."""
    bind()
    with translate():
        message.update(actions=[OutboundModel.text.set(ERASED), OutboundModel.html.remove()],
                       condition=OutboundModel.state == message.state)


def delete_outbound(pk: str, sk: str) -> bool:
    """Deletes a message stored with no ticket (OUTBOX#…); returns whether it was there."""
    bind()
    with translate():
        try:
            OutboundModel(pk=pk, sk=sk).delete(condition=OutboundModel.pk.exists())
        except Conflict:
            return False
    return True


def redact_callback(callback: CallbackModel, reason: str, outcome: str | None) -> None:
    """Rewrites a callback's texts; an open one is closed (nobody is left to call), so no reminder
    comes for it. Only while its status is the one read: Conflict when staff closed it meanwhile
    (their outcome is then redacted on the next try, not overwritten)."""
    bind()
    same = (CallbackModel.status == callback.status if callback.status is not None
            else CallbackModel.status.does_not_exist())
    with translate():
        callback.update(actions=[CallbackModel.reason.set(reason),
                                 CallbackModel.outcome.set(outcome) if outcome else CallbackModel.outcome.remove(),
                                 CallbackModel.status.remove(), CallbackModel.due_sort.remove()],
                        condition=CallbackModel.pk.exists() & same)


def drop_comment(found: RatingModel) -> None:
    """Removes a rating's comment; its score stays (and stays counted in the statistics)."""
    bind()
    with translate():
        found.update(actions=[RatingModel.comment.remove()], condition=RatingModel.pk.exists())


def strip_body(found: TicketBodyModel, text: str, keep_attachments: list[dict[str, str]] | None,
               reporter: bool) -> None:
    """Rewrites the ticket's body item: `text` (redacted), the attachments still kept, and, with
    `reporter`, without the reporter's name, e-mail and address."""
    bind()
    actions: list[Any] = [TicketBodyModel.text.set(text),
                          TicketBodyModel.attachments.set(keep_attachments) if keep_attachments
                          else TicketBodyModel.attachments.remove()]
    if reporter:
        actions += [TicketBodyModel.reporter_name.remove(), TicketBodyModel.reporter_email.remove(),
                    TicketBodyModel.address.remove()]
    with translate():
        found.update(actions=actions, condition=TicketBodyModel.pk.exists())


def anonymise(ticket: TicketModel, sets: dict[str, Any], event: tickets.NewEvent, off_watch: bool) -> None:
    """The last write of an anonymisation: the reporter's fields (REPORTER_FIELDS) leave the ticket
    and its indexes (by_phone, by_zalo), `sets` replace its texts, `anonymised_at` is in `sets`,
    and the `anonymised` event is appended, atomically. `off_watch` takes it off the retention
    watch (a ticket still watched for its deadline keeps that). Version-checked, and never over a
    legal hold: Conflict means the ticket changed since it was read, and nothing was written."""
    connection = bind()
    actions: list[Any] = [getattr(TicketModel, name).remove() for name in REPORTER_FIELDS]
    actions += [getattr(TicketModel, name).set(value) if value is not None else getattr(TicketModel, name).remove()
                for name, value in sets.items()]
    if off_watch:
        actions += [TicketModel.watch_shard.remove(), TicketModel.watch_at.remove(), TicketModel.watch_stage.remove()]
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=actions, condition=TicketModel.anonymised_at.does_not_exist()
                               & TicketModel.legal_hold.does_not_exist())
            transaction.save(tickets.event_item(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())


def remove_photos(ticket: TicketModel, event: tickets.NewEvent) -> None:
    """Takes the published photos off the ticket (their objects are deleted by the caller) with an
    event saying so, without touching `updated_at`. Version-checked."""
    connection = bind()
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=[TicketModel.photos_public.remove()])
            transaction.save(tickets.event_item(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())


def set_hold(ticket: TicketModel, reason: str | None, event: tickets.NewEvent,
             watch: dict[str, object] | None) -> None:
    """Sets (a reason) or lifts (None) the ticket's legal hold with its timeline event, and with
    `watch` puts it back on the retention watch; `updated_at` stays (a hold is no activity on the
    case). Version-checked; a hold is never set on a ticket being anonymised or anonymised (Conflict)."""
    connection = bind()
    actions: list[Any] = [TicketModel.legal_hold.set(reason) if reason else TicketModel.legal_hold.remove()]
    actions += [getattr(TicketModel, name).set(value) for name, value in (watch or {}).items()]
    condition = (TicketModel.anonymising_at.does_not_exist() & TicketModel.anonymised_at.does_not_exist()
                 if reason else None)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=actions, condition=condition)
            transaction.save(tickets.event_item(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())


def unfollow(ticket: TicketModel, keep: list[dict[str, Any]], event: tickets.NewEvent) -> None:
    """Replaces the ticket's followers with `keep` (someone asked to be erased), with an internal
    event; version-checked, `updated_at` untouched."""
    connection = bind()
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=[TicketModel.followers.set(keep) if keep
                                                else TicketModel.followers.remove()])
            transaction.save(tickets.event_item(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())


def keep_follow_marker(value: str, code: str, now: datetime) -> None:
    """Writes (again) the FOLLOW#<code> marker of a recipient who still follows `code`, so that the
    follow stays findable once the ticket it came from loses its people."""
    bind()
    with translate():
        people.marker(value, "FOLLOW", code, now).save()


def counters(names: list[str]) -> list[RateModel]:
    """The rate-limit counters among `names` (RATE#<name>) that exist (BatchGetItem, 100 keys a call)."""
    bind()
    with translate():
        return list(RateModel.batch_get([(f"RATE#{name}", "N") for name in dict.fromkeys(names)]))


def delete_counter(found: RateModel) -> None:
    bind()
    with translate():
        found.delete()


def of_month(month: str, limit: int, start: dict[str, Any] | None
             ) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """One page of the tickets created in `month` (yyyy-mm, the by_month index) as whole items, and
    the key to read on from (None: the month is done)."""
    bind()
    query = TicketModel.by_month.query(month, limit=limit, last_evaluated_key=start)
    with translate():
        found = list(query)
    return tickets._whole(found), query.last_evaluated_key


def enrol(ticket: TicketModel, watch: dict[str, object]) -> None:
    """Puts a ticket that is on no watch on the retention watch (`updated_at` untouched); Conflict
    when it is watched or anonymised by now, or changed since it was read."""
    bind()
    with translate():
        ticket.update(actions=[getattr(TicketModel, name).set(value) for name, value in watch.items()],
                      condition=TicketModel.watch_stage.does_not_exist() & TicketModel.anonymised_at.does_not_exist())
