"""Ticket persistence: the only code that reads or writes tickets and their timelines.

AWS/PynamoDB errors become domain errors through chalicelib.store.errors.translate.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from pynamodb.exceptions import QueryError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import (
    AlreadyExists,
    Conflict,
    FieldError,
    NotFound,
    TooManyRequests,
    ValidationFailed,
)
from chalicelib.domain.inbox import InboxQuery
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain import stats as stat_rules
from chalicelib.store import pages, people, stats, worklists
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import (
    BODY_FIELDS, BODY_SK, NO_DUE, TICKET_SK, DedupModel, dedup_pk, EventModel, OutboundModel, PersonMarkerModel, RateModel,
    TicketBodyModel, TicketModel, ticket_pk,
)

DEDUP_TTL = timedelta(days=30)
OPEN_QUEUE = "OPEN"
FILTERED_PAGE = 500  # index entries read per request when a filter drops some (1 MB still caps a page)
_BAD_PAGE = FieldError("after", "Trang không hợp lệ; hãy quay lại trang đầu.", "Invalid page; go back to the first page.")


@dataclass(frozen=True)
class NewEvent:
    """A timeline entry to append: who did what, and what the public may read of it."""

    kind: str
    actor: str
    at: datetime
    public_text: str | None = None
    detail: dict[str, Any] | None = None


def event_item(code: str, event: NewEvent, status: str | None = None) -> EventModel:
    """The timeline item of `event`; a public one also goes into the day's update feed (Open311)
    with the ticket's status after it."""
    # The random suffix keeps two events in the same microsecond apart and append-only.
    at = event.at.astimezone(timezone.utc)
    public = event.public_text is not None
    return EventModel(
        pk=ticket_pk(code), sk=f"EVENT#{at.isoformat()}#{secrets.token_hex(3)}",
        kind=event.kind, actor=event.actor, public=public,
        public_text=event.public_text, detail=event.detail, at=event.at,
        update_day=at.date().isoformat() if public else None, status_after=status if public else None,
    )


def place_key(status: Status, category: str | None, area: str | None) -> str | None:
    """The duplicate-suggestion key: set while the ticket is open and both are known."""
    return f"{category}#{area}" if is_open(status) and category and area else None


def _due_sort(due_at: datetime | None) -> str:
    return due_at.astimezone(timezone.utc).isoformat() if due_at else NO_DUE


def _marker(dedup_key: str, code: str, at: datetime) -> DedupModel:
    return DedupModel(pk=dedup_pk(dedup_key), tracking_code=code, expires_at=at + DEDUP_TTL)


def create_ticket(fields: dict[str, Any], first_event: NewEvent, dedup_key: str | None = None,
                  outbound: list[OutboundModel] | None = None, limits: list[tuple[str, int]] | None = None,
                  also: list[Any] | None = None) -> None:
    """Writes a new ticket and its first timeline event in one transaction.

    With `dedup_key`, a marker is written in the same transaction, so the same submission or
    provider message can never make two tickets; `outbound` messages (an acknowledgement) are
    stored with it, so a reply can't be lost between the two. `limits` are (counter, cap) rate
    limits (the counter's name includes its window), counted in the same transaction (no extra call);
    `also`, items that exist only with the ticket (its status link), saved if absent. Raises AlreadyExists when
    the tracking code or the marker is taken (see `deduplicated` to tell which), TooManyRequests
    when a limit is reached (nothing is written).
    """
    connection = bind()
    code = fields["tracking_code"]
    status = Status(fields["status"])
    fields = {**fields, **stat_rules.first_action_change(None, first_event.kind, first_event.actor, first_event.at)}
    said = {name: fields[name] for name in BODY_FIELDS if fields.get(name) is not None}
    ticket = TicketModel(pk=ticket_pk(code), sk=TICKET_SK, due_sort=_due_sort(fields.get("due_at")),
                         open_queue=OPEN_QUEUE if is_open(status) else None,
                         place_open=place_key(status, fields.get("category"), fields.get("area")),
                         created_month=fields["created_at"].astimezone(timezone.utc).strftime("%Y-%m"),
                         stats_kinds={"created"},
                         **{name: value for name, value in fields.items() if name not in BODY_FIELDS})
    body = TicketBodyModel(pk=ticket_pk(code), sk=BODY_SK, **said)
    limits = limits or []
    try:
        _create_transaction(connection, ticket, body, code, fields, first_event, dedup_key, outbound, limits, also)
    except TransactWriteError as exc:
        # PynamoDB lists the reasons puts first, updates last: the counters are the last ones.
        # The statistics counters come after the limits (chalicelib.store.stats, added last).
        reasons = list(exc.cancellation_reasons or [])
        counters = len(stats.items_of(stat_rules.on_creation(fields, first_event.actor, first_event.at)))
        reasons = reasons[:len(reasons) - counters]
        if limits and any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons[-len(limits):]):
            raise TooManyRequests() from exc
        with translate(AlreadyExists):
            raise


def _create_transaction(connection: Any, ticket: TicketModel, body: TicketBodyModel, code: str, fields: dict[str, Any],
                        first_event: NewEvent, dedup_key: str | None, outbound: list[OutboundModel] | None,
                        limits: list[tuple[str, int]], also: list[Any] | None = None) -> None:
    with TransactWrite(connection=connection) as transaction:
        for counter, cap in limits:  # the counter's name carries its window (hour, day)
            transaction.update(RateModel(pk=f"RATE#{counter}", sk="N"), actions=[
                RateModel.n.add(1), RateModel.expires_at.set(first_event.at + timedelta(days=2))],
                condition=RateModel.n.does_not_exist() | (RateModel.n < cap))
        transaction.save(ticket, condition=TicketModel.pk.does_not_exist())
        transaction.save(body, condition=TicketBodyModel.pk.does_not_exist())
        transaction.save(event_item(code, first_event, fields["status"]), condition=EventModel.pk.does_not_exist())
        if dedup_key is not None:
            transaction.save(_marker(dedup_key, code, first_event.at), condition=DedupModel.pk.does_not_exist())
        for message in outbound or []:
            message.pk, message.tracking_code = ticket_pk(code), code
            transaction.save(message, condition=OutboundModel.pk.does_not_exist())
        for item in also or []:
            transaction.save(item, condition=type(item).pk.does_not_exist())
        stats.add(transaction, stat_rules.on_creation(fields, first_event.actor, first_event.at))


def _counted(ticket: TicketModel, target: Status | None, changes: dict[str, Any], event: NewEvent,
             now: datetime) -> list[stat_rules.Increment]:
    """The statistics counters a change adds to (chalicelib.domain.stats), and the ticket's first
    staff action recorded in `changes` (so it is counted once)."""
    from chalicelib.store.reference import load_reference

    increments = stat_rules.on_change(ticket, target.value if target else None, changes, event.kind, event.actor,
                                      now, load_reference().calendar)
    changes.update(stat_rules.first_action_change(ticket, event.kind, event.actor, now))
    return increments


def append_message(ticket: TicketModel, event: NewEvent, dedup_key: str, now: datetime,
                   counter: str | None = None, quotable_id: str | None = None) -> None:
    """Adds a citizen's message to the ticket's conversation, once per provider message, counting
    it on `counter` (e.g. the same text from the same sender today) in the same transaction, and
    remembers `quotable_id` (a Zalo message id) as the message staff replies will quote. The ticket
    is flagged "Có tin mới" (its INBOX#UNREAD marker) in the same transaction, until staff act on it.

    Raises AlreadyExists when the marker shows it was added before, Conflict when the ticket
    changed since it was read (the caller retries from a fresh read).
    """
    connection = bind()
    try:
        with translate():
            with TransactWrite(connection=connection) as transaction:
                actions = [TicketModel.updated_at.set(now), TicketModel.last_inbound_at.set(now)]
                if quotable_id:
                    actions.append(TicketModel.last_inbound_ref.set(quotable_id))
                transaction.update(ticket, actions=actions)
                transaction.save(event_item(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())
                transaction.save(_marker(dedup_key, ticket.tracking_code, now),
                                 condition=DedupModel.pk.does_not_exist())
                worklists.mark_unread(transaction, ticket, now)
                _count_repeat(transaction, counter, now)
    except Conflict:
        if deduplicated(dedup_key) is not None:
            raise AlreadyExists() from None
        raise


def _count_repeat(transaction: Any, counter: str | None, now: datetime) -> None:
    """Counts a citizen's message on `counter` (the same text from the same sender today), in `transaction`."""
    if counter is not None:
        transaction.update(RateModel(pk=f"RATE#{counter}", sk="N"), actions=[
            RateModel.n.add(1), RateModel.expires_at.set(now + timedelta(days=2))])


def append_and_reopen(ticket: TicketModel, event: NewEvent, reopened: NewEvent, dedup_key: str, now: datetime,
                      changes: dict[str, Any], counter: str | None = None, quotable_id: str | None = None,
                      outbound: list[OutboundModel] | None = None) -> None:
    """Adds a citizen's message to an answered or closed ticket and reopens it (`reopened`, the
    timeline event; `changes`, e.g. the new deadline), with `outbound` (the citizen's reply), in one
    transaction: it joins the open queues again, its unread marker and its assignee's list as well.

    Raises AlreadyExists when that message was added before, Conflict when the ticket changed since
    it was read (the caller decides again from a fresh read)."""
    connection = bind()
    changes = dict(changes)
    counted = _counted(ticket, Status.REOPENED, changes, reopened, now)
    actions = [*_status_actions(ticket, Status.REOPENED, now, dict(changes)), TicketModel.last_inbound_at.set(now)]
    if quotable_id:
        actions.append(TicketModel.last_inbound_ref.set(quotable_id))
    try:
        with translate():
            with TransactWrite(connection=connection) as transaction:
                transaction.update(ticket, actions=actions)
                transaction.save(event_item(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())
                transaction.save(event_item(ticket.tracking_code, reopened, Status.REOPENED.value),
                                 condition=EventModel.pk.does_not_exist())
                transaction.save(_marker(dedup_key, ticket.tracking_code, now), condition=DedupModel.pk.does_not_exist())
                _save_outbound(transaction, ticket.tracking_code, outbound)
                worklists.mark_unread(transaction, ticket, now)
                worklists.keep_mine(transaction, ticket, is_open(Status(ticket.status)), True, now)
                stats.add(transaction, counted)
                _count_repeat(transaction, counter, now)
    except Conflict:
        if deduplicated(dedup_key) is not None:
            raise AlreadyExists() from None
        raise


def store_reply(dedup_key: str, message: OutboundModel, code: str | None, expires_at: datetime | None = None) -> None:
    """Stores an automated reply to one provider message (e.g. a TT status answer), once.

    A reply that belongs to no ticket (a welcome, an answer to an unknown code) is stored under
    OUTBOX#<digest of the dedup key>, expires at `expires_at` (the retention of outbound texts), and leaves a
    person marker for its recipient with the same expiry, so an access or erasure request finds it.
    Raises AlreadyExists when that message was answered before."""
    connection = bind()
    # Keyed by a digest: a provider's message id can carry the sender (a Zalo follow event's does).
    message.pk = ticket_pk(code) if code else f"OUTBOX#{hashlib.sha256(dedup_key.encode()).hexdigest()[:32]}"
    message.tracking_code = code
    with translate(AlreadyExists):
        with TransactWrite(connection=connection) as transaction:
            transaction.save(_marker(dedup_key, code or "", message.created_at),
                             condition=DedupModel.pk.does_not_exist())
            if code is None:
                save_unattached(transaction, message, expires_at)
            else:
                transaction.save(message, condition=OutboundModel.pk.does_not_exist())


def save_unattached(transaction: Any, message: OutboundModel, expires_at: datetime | None) -> None:
    """Saves, in `transaction`, a message that belongs to no ticket (its pk set by the caller), with
    its expiry and its recipient's OUTBOX# person marker expiring with it."""
    message.expires_at = expires_at
    transaction.save(message, condition=OutboundModel.pk.does_not_exist())
    transaction.save(people.marker(message.recipient, "OUTBOX", f"{message.pk}|{message.sk}", message.created_at,
                                   expires_at))


def deduplicated(dedup_key: str) -> str | None:
    """Returns the tracking code a marked submission/message produced, or None if unseen."""
    bind()
    with translate():
        try:
            return DedupModel.get(dedup_pk(dedup_key), "DEDUP", consistent_read=True).tracking_code
        except DedupModel.DoesNotExist:
            return None


def get_ticket(code: str) -> TicketModel:
    """Returns the ticket with its body (one Query of both items); raises NotFound."""
    bind()
    with translate():
        # Consistent: callers decide (route, deliver, transition) from what they read.
        items = list(TicketModel.query(ticket_pk(code), TicketModel.sk.startswith(TICKET_SK), consistent_read=True))
    found = _merged(items)
    if not found:
        raise NotFound()
    return found[0]


def _merged(items: list[TicketModel]) -> list[TicketModel]:
    """The tickets among `items` with their bodies' fields (a ticket stored before bodies had their
    own item keeps its own), in order."""
    bodies = {item.pk: item for item in items if item.sk == BODY_SK}
    tickets = [item for item in items if item.sk == TICKET_SK]
    for ticket in tickets:
        body = bodies.get(ticket.pk)
        if body is not None:
            for name in BODY_FIELDS:
                setattr(ticket, name, getattr(body, name))
    return tickets


def _whole(found: list[TicketModel]) -> list[TicketModel]:
    """The whole tickets, bodies included, behind index entries (one BatchGetItem per 50 tickets)."""
    if not found:
        return []
    keys = list(dict.fromkeys((ticket.pk, sk) for ticket in found for sk in (TICKET_SK, BODY_SK)))
    with translate():
        loaded = {item.pk: item for item in _merged(list(TicketModel.batch_get(keys)))}
    return [loaded[ticket.pk] for ticket in found if ticket.pk in loaded]


def whole(codes: list[str]) -> list[TicketModel]:
    """The tickets with these codes that exist, bodies included, in the order given (BatchGetItem)."""
    bind()
    return _whole([TicketModel(pk=ticket_pk(code), sk=TICKET_SK) for code in dict.fromkeys(codes)])


def timeline(code: str) -> list[EventModel]:
    """Returns the ticket's events, oldest first (paginated by PynamoDB)."""
    bind()
    with translate():
        return list(EventModel.query(ticket_pk(code), EventModel.sk.startswith("EVENT#")))


@dataclass(frozen=True)
class AlsoUpdate:
    """Another ticket changed in the same transaction, version-checked: the original of a merge
    gains `followers` (reporters who receive its answer), with the FOLLOW# person `markers` that
    let an erasure find them there; `unmarked`, markers of people who no longer follow it, go."""

    ticket: TicketModel
    event: NewEvent
    followers: list[dict[str, str]]
    replace_followers: bool = False  # True: `followers` is the whole new list (someone stops following)
    markers: tuple[PersonMarkerModel, ...] = ()
    unmarked: tuple[PersonMarkerModel, ...] = ()


def transition(ticket: TicketModel, target: Status, event: NewEvent, now: datetime,
               agency: str | None = None, changes: dict[str, Any] | None = None,
               outbound: list[OutboundModel] | None = None, also: AlsoUpdate | None = None,
               close_callbacks: list[Any] | None = None, note: NewEvent | None = None) -> None:
    """Moves `ticket` to `target`, applies `changes` (attribute -> value; None removes it), and
    appends `event` (and an internal `note` about it) and any `outbound` messages, atomically.

    The update is conditional on the version the caller read, so a concurrent change raises
    Conflict and nothing is written (no lost update). `agency`, when given, replaces the agency
    (also possible as changes["agency"], where None removes it). A ticket moved out of its
    assignee's sight (an agency officer's, sent to another agency or back to the hotline) leaves
    them in the same transaction: no assignee, off their "Việc của tôi", named on the `event`.
    """
    connection = bind()
    changes = dict(changes or {})
    if agency is not None:
        changes["agency"] = agency
    moved = "agency" in changes and changes["agency"] != ticket.agency
    dropped = moved and worklists.loses_assignee(ticket, changes["agency"])
    if dropped:
        changes.update(assignee=None, assignee_name=None, assignee_agency=None)
        event = NewEvent(event.kind, event.actor, event.at, event.public_text,
                         {**(event.detail or {}), "unassigned": ticket.assignee_name or ticket.assignee})
    scope = {name: changes[name] for name in ("agency", "category") if name in changes
             and changes[name] != getattr(ticket, name)}
    counted = _counted(ticket, target, changes, event, now)
    actions = _status_actions(ticket, target, now, changes)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=actions)
            transaction.save(event_item(ticket.tracking_code, event, target.value),
                             condition=EventModel.pk.does_not_exist())
            _save_note(transaction, ticket.tracking_code, note)
            _save_outbound(transaction, ticket.tracking_code, outbound)
            stats.add(transaction, counted)
            # closes, reopens, moves: its assignee's list follows
            worklists.keep_mine(transaction, ticket, is_open(Status(ticket.status)), is_open(target), now,
                                dropped, scope)
            for callback in close_callbacks or []:  # the ticket is done: nobody should be reminded to call
                transaction.update(callback, actions=[type(callback).outcome.set(f"Không cần gọi: phản ánh {target.value}"),
                                                      type(callback).status.remove(), type(callback).due_sort.remove()],
                                   condition=type(callback).status == callback.status)
            if also is not None:
                actions = [TicketModel.updated_at.set(now)]
                if also.replace_followers:
                    actions.append(TicketModel.followers.set(also.followers) if also.followers
                                   else TicketModel.followers.remove())
                elif also.followers:
                    actions.append(TicketModel.followers.set((TicketModel.followers | []).append(also.followers)))
                transaction.update(also.ticket, actions=actions)
                transaction.save(event_item(also.ticket.tracking_code, also.event),
                                 condition=EventModel.pk.does_not_exist())
                for marker in also.markers:
                    transaction.save(marker)
                for marker in also.unmarked:
                    transaction.delete(marker)


def _status_actions(ticket: TicketModel, target: Status, now: datetime, changes: dict[str, Any]) -> list[Any]:
    """The ticket's update for a move to `target` with `changes`: the status and the index keys
    that follow it (the agency's queue, the open queue, the duplicate-suggestion key)."""
    new_agency = changes["agency"] if "agency" in changes else ticket.agency
    actions = [TicketModel.status.set(target.value), TicketModel.updated_at.set(now)]
    if target.value in stat_rules.LISTED_EVENTS:
        actions.append(TicketModel.stats_kinds.add({target.value}))
    if is_open(target) and new_agency:
        actions.append(TicketModel.agency_open.set(new_agency))
    else:
        actions.append(TicketModel.agency_open.remove())
    actions.append(TicketModel.open_queue.set(OPEN_QUEUE) if is_open(target) else TicketModel.open_queue.remove())
    place = place_key(target, changes.get("category", ticket.category), changes.get("area", ticket.area))
    actions.append(TicketModel.place_open.set(place) if place else TicketModel.place_open.remove())
    return actions + _changes(changes)


def _save_note(transaction: Any, code: str, note: NewEvent | None) -> None:
    if note is not None:
        transaction.save(event_item(code, note), condition=EventModel.pk.does_not_exist())


def _save_outbound(transaction: Any, code: str, outbound: list[OutboundModel] | None) -> None:
    # A message may belong to another ticket (a follower's answer): it keeps its own partition.
    for message in outbound or []:
        message.tracking_code = message.tracking_code or code
        message.pk = ticket_pk(message.tracking_code)
        transaction.save(message, condition=OutboundModel.pk.does_not_exist())


def _changes(changes: dict[str, Any]) -> list[Any]:
    actions = []
    for name, value in changes.items():
        attribute = getattr(TicketModel, name)
        if name == "due_at":
            actions.append(TicketModel.due_sort.set(_due_sort(value)))
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def update(ticket: TicketModel, event: NewEvent, now: datetime, changes: dict[str, Any],
           condition: Any = None, outbound: list[OutboundModel] | None = None, note: NewEvent | None = None) -> None:
    """Applies `changes` without a status change (deadline watch, extensions, pauses), with the
    event (and an internal `note` about it) and messages, atomically. Version-checked; `condition`
    may add a guard (e.g. stage)."""
    connection = bind()
    changes = dict(changes)
    counted = _counted(ticket, None, changes, event, now)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            stats.add(transaction, counted)
            transaction.update(ticket, actions=[TicketModel.updated_at.set(now), *_changes(changes)],
                               condition=condition)
            transaction.save(event_item(ticket.tracking_code, event, ticket.status),
                             condition=EventModel.pk.does_not_exist())
            _save_note(transaction, ticket.tracking_code, note)
            _save_outbound(transaction, ticket.tracking_code, outbound)


def watch_due(shard: str, now: datetime, limit: int) -> list[TicketModel]:
    """Returns up to `limit` tickets of one watch shard whose next mark (80 % or deadline) has come,
    earliest first (one Query). Handling a ticket moves its mark on, so the next call sees the rest."""
    bind()
    with translate():
        found = list(TicketModel.by_watch.query(shard, TicketModel.watch_at <= now.astimezone(timezone.utc).isoformat(),
                                                limit=limit))
    return _whole(found)  # the index holds keys only


def _page(query: Any) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """One page of an index that projects a few small attributes (the inbox filters), with the
    whole tickets behind it (one BatchGetItem)."""
    with translate():
        items = list(query)
    return _whole(items), query.last_evaluated_key


def open_by_agency(agency: str, limit: int = 50, start: dict[str, Any] | None = None
                   ) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """Returns one page of the agency's open tickets, earliest deadline first, and the next-page key."""
    bind()
    return _page(TicketModel.by_agency_due.query(agency, limit=limit, last_evaluated_key=start))


def by_status(status: Status, due_before: str | None = None, limit: int = 50,
              start: dict[str, Any] | None = None) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """Returns one page of tickets in `status`, earliest deadline first (optionally due before a time)."""
    bind()
    condition = TicketModel.due_sort < due_before if due_before else None
    return _page(TicketModel.by_status_due.query(status.value, condition, limit=limit,
                                                 last_evaluated_key=start))


def by_phone(phone: str, limit: int = 20) -> list[TicketModel]:
    """Returns the reporter's tickets, newest first."""
    bind()
    with translate():
        found = list(TicketModel.by_phone.query(phone, scan_index_forward=False, limit=limit))
    return _whole(found)  # the index holds keys only


def by_zalo(user_id: str, limit: int = 20) -> list[TicketModel]:
    """Returns the Zalo user's tickets, newest first."""
    bind()
    with translate():
        found = list(TicketModel.by_zalo.query(user_id, scan_index_forward=False, limit=limit))
    return _whole(found)  # the index holds keys only


def flag_callback(ticket: TicketModel, event: NewEvent, now: datetime) -> None:
    """Marks the ticket "call back" (nobody can reach the citizen in writing) and says why on the
    timeline. Version-checked like every ticket change: Conflict means read again and retry."""
    connection = bind()
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=[TicketModel.needs_callback.set(True), TicketModel.updated_at.set(now)])
            transaction.save(event_item(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())


def inbox(query: InboxQuery, limit: int, start: dict[str, Any] | None = None
          ) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """Returns one page of the staff inbox (one index query, earliest deadline first) and the
    next-page key. PynamoDB keeps reading pages until `limit` tickets pass the filters."""
    bind()
    index = {"status": TicketModel.by_status_due, "agency": TicketModel.by_agency_due,
             "open": TicketModel.by_open}[query.index]
    due = TicketModel.due_sort
    if query.due_from and query.due_before:
        range_condition = due.between(query.due_from, query.due_before)
    elif query.due_before:
        range_condition = due < query.due_before
    elif query.due_from:
        range_condition = due >= query.due_from
    else:
        range_condition = None
    filters = []
    if query.category:
        filters.append(TicketModel.category == query.category)
    if query.channel:
        filters.append(TicketModel.channel == query.channel)
    if query.agency and query.index != "agency":
        filters.append(TicketModel.agency == query.agency)
    if query.held:
        filters.append(TicketModel.held == True)  # noqa: E712
    if query.awaiting_callback:
        filters.append((TicketModel.status == Status.AWAITING_CALLBACK.value) | (TicketModel.needs_callback == True))  # noqa: E712
    condition = None
    for each in filters:
        condition = each if condition is None else condition & each
    try:
        return _page(index.query(query.key, range_condition, filter_condition=condition, limit=limit,
                                 last_evaluated_key=start, page_size=FILTERED_PAGE if condition is not None else limit))
    except QueryError as exc:
        if start is not None:  # a start key that is not one of this query's (tampered or from another filter)
            raise ValidationFailed([FieldError("after", "Trang không hợp lệ; hãy quay lại trang đầu.",
                                               "Invalid page; go back to the first page.")]) from exc
        raise


OPEN311_PAGE = 250  # index entries per Query when listing Open311 requests


def _month_before(month: datetime) -> datetime:
    return datetime(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1, tzinfo=timezone.utc)


def created_between(start: datetime, end: datetime, limit: int, keep: Callable[[TicketModel], bool],
                    after: dict[str, Any] | None = None, max_queries: int = 8
                    ) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """Up to `limit` tickets created in [start, end) that `keep` accepts, newest first, from at
    most `max_queries` Query calls (one calendar month's index partition after another, back from
    `end`), and the key to read on from (None: the range is done). `after` is such a key; one that
    is not this range's raises ValidationFailed."""
    bind()
    first = datetime(start.year, start.month, 1, tzinfo=timezone.utc)
    last_moment = end - timedelta(microseconds=1)
    month = datetime(last_moment.year, last_moment.month, 1, tzinfo=timezone.utc)
    key = None
    if after is not None:
        try:
            month = datetime.strptime(after["created_month"]["S"], "%Y-%m").replace(tzinfo=timezone.utc)
        except (KeyError, TypeError, ValueError):
            month = first - timedelta(days=1)
        if not first <= month <= last_moment:
            raise ValidationFailed([_BAD_PAGE])
        key = after if len(after) > 1 else None  # a bare month: that month from its newest ticket
    items: list[TicketModel] = []
    queries = 0
    while month >= first and queries < max_queries and len(items) < limit:
        query = TicketModel.by_month.query(month.strftime("%Y-%m"), TicketModel.created_at.between(start, end),
                                           scan_index_forward=False, last_evaluated_key=key, page_size=OPEN311_PAGE)
        try:
            page = pages.read(TicketModel.by_month, query, limit - len(items), max_queries - queries,
                              keep=lambda ticket: ticket.created_at < end and keep(ticket))
        except QueryError as exc:
            raise ValidationFailed([_BAD_PAGE]) from exc
        items += page.items
        queries += page.queries
        if page.next_key is not None:
            return items, page.next_key
        month, key = _month_before(month), None
    return items, ({"created_month": {"S": month.strftime("%Y-%m")}} if month >= first else None)


def many(codes: list[str]) -> list[TicketModel]:
    """The tickets with these codes that exist, without their bodies (BODY_FIELDS: the Open311
    listing shows none of them) (BatchGetItem, 100 keys per call)."""
    bind()
    with translate():
        return list(TicketModel.batch_get([(ticket_pk(code), TICKET_SK) for code in dict.fromkeys(codes)]))


def public_updates(day: str, start: datetime, end: datetime) -> list[EventModel]:
    """The public timeline events of one UTC day within [start, end) (the Open311 update feed)."""
    bind()
    with translate():
        return list(EventModel.by_update.query(day, EventModel.at.between(start, end)))


def open_at_place(category: str, area: str, limit: int = 5, whole: bool = False) -> list[TicketModel]:
    """The newest open tickets of a category in a commune (public summary fields only; with
    `whole`, the whole tickets with their bodies, one BatchGetItem more)."""
    bind()
    with translate():
        found = list(TicketModel.by_place.query(f"{category}#{area}", scan_index_forward=False, limit=limit))
    return _whole(found) if whole else found


def add_follower(ticket: TicketModel, follower: dict[str, Any], event: NewEvent, now: datetime,
                 proof: PersonMarkerModel | None = None, max_attempts: int = 0, also: list[Any] | None = None) -> None:
    """Appends a follower (version-checked, so the caller's count of followers holds) with an
    internal event and the follower's FOLLOW#<code> person marker, using up `proof` (the VERIFY#
    marker whose code they gave: deleted only while it is the one they answered and no more than
    `max_attempts` guesses were counted on it); `also`, items that exist only with the follow (the
    follower's status link), saved if absent. Conflict means read again."""
    connection = bind()
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=[TicketModel.updated_at.set(now),
                                                TicketModel.followers.set((TicketModel.followers | []).append([follower]))])
            transaction.save(event_item(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())
            transaction.save(people.marker(follower["recipient"], "FOLLOW", ticket.tracking_code, now))
            if proof is not None:
                transaction.delete(proof, condition=(PersonMarkerModel.secret_hash == proof.secret_hash)
                                   & (PersonMarkerModel.attempts <= max_attempts))
            for item in also or []:
                transaction.save(item, condition=type(item).pk.does_not_exist())
