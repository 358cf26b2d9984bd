"""Staff work lists beside the tickets, each a partition of marker items (no index of their own):

    INBOX#UNREAD / <code>       a citizen wrote since staff last acted on the ticket ("Có tin mới")
    MINE#<staff digest> / <code> the ticket is assigned to that staff member ("Việc của tôi")
    PRESENCE#<code> / <staff digest> who has the ticket open now (TTL'd; read within 90 s)
    INBOX#COUNTS / COUNTS        the inbox counts per view and agency, rebuilt at most every 20 s

Staff are named in keys by a digest of their e-mail, as people are (chalicelib.store.people).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, NamedTuple

from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import CountsModel, TicketModel, WorkMarkerModel

UNREAD_PK = "INBOX#UNREAD"
PRESENCE_TTL = timedelta(minutes=5)
MAX_UNREAD = 2000   # markers read for the "Có tin mới" list and counts (each ~150 bytes: one or two Query pages)
MAX_MINE = 300      # one person's assigned tickets listed


def staff_digest(email: str) -> str:
    return hashlib.sha256(f"staff:{email.strip().lower()}".encode("utf-8")).hexdigest()[:32]


def mine_pk(email: str) -> str:
    return f"MINE#{staff_digest(email)}"


# "Có tin mới": a citizen's message since staff last acted


def mark_unread(transaction: TransactWrite, ticket: TicketModel, now: datetime) -> None:
    """Adds to `transaction` the ticket's unread marker: created at the first unread message
    (`first_at`), its `at` moved to `now` by every later one, with the ticket's scope copied."""
    marker = WorkMarkerModel(pk=UNREAD_PK, sk=ticket.tracking_code)
    actions: list[Any] = [WorkMarkerModel.at.set(now), WorkMarkerModel.first_at.set(WorkMarkerModel.first_at | now)]
    for name in ("agency", "category", "channel"):
        value = getattr(ticket, name)
        attribute = getattr(WorkMarkerModel, name)
        actions.append(attribute.set(value) if value else attribute.remove())
    transaction.update(marker, actions=actions)


def clear_unread(code: str, seen_up_to: datetime) -> bool:
    """Removes the ticket's unread marker unless a message newer than `seen_up_to` (the newest
    message of the ticket staff acted on) arrived meanwhile; True when one was removed."""
    bind()
    try:
        with translate():
            WorkMarkerModel(pk=UNREAD_PK, sk=code).delete(condition=WorkMarkerModel.at <= seen_up_to)
    except Conflict:
        return False  # none, or a newer message came in: it stays flagged
    return True


def unread_of(code: str) -> WorkMarkerModel | None:
    bind()
    with translate():
        try:
            return WorkMarkerModel.get(UNREAD_PK, code)
        except WorkMarkerModel.DoesNotExist:
            return None


def unread(limit: int = MAX_UNREAD) -> list[WorkMarkerModel]:
    """Every unread marker (up to `limit`), in code order; callers sort and scope them."""
    bind()
    with translate():
        return list(WorkMarkerModel.query(UNREAD_PK, limit=limit))


# "Việc của tôi": tickets assigned to a person


class Assignee(NamedTuple):
    """Who a ticket is given to: e-mail, display name, and the agency an agency officer is bound to
    (None for the hotline's roles, who see every agency)."""

    email: str
    name: str
    agency: str | None = None


def mine_marker(email: str, ticket: TicketModel, now: datetime) -> WorkMarkerModel:
    return WorkMarkerModel(pk=mine_pk(email), sk=ticket.tracking_code, at=now, agency=ticket.agency,
                           category=ticket.category, channel=ticket.channel)


def assign(ticket: TicketModel, assignee: Assignee | None, event: Any, now: datetime) -> None:
    """Gives the ticket to `assignee` or to nobody (None), with its timeline `event` (an EventModel)
    and the MINE# markers moved, atomically and version-checked: Conflict when the ticket changed
    since it was read."""
    connection = bind()
    actions: list[Any] = [TicketModel.updated_at.set(now)]
    if assignee is None:
        actions += [TicketModel.assignee.remove(), TicketModel.assignee_name.remove(),
                    TicketModel.assignee_agency.remove()]
    else:
        actions += [TicketModel.assignee.set(assignee.email), TicketModel.assignee_name.set(assignee.name),
                    TicketModel.assignee_agency.set(assignee.agency) if assignee.agency
                    else TicketModel.assignee_agency.remove()]
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=actions)
            transaction.save(event, condition=type(event).pk.does_not_exist())
            if ticket.assignee and (assignee is None or assignee.email.lower() != ticket.assignee.lower()):
                transaction.delete(WorkMarkerModel(pk=mine_pk(ticket.assignee), sk=ticket.tracking_code))
            if assignee is not None:
                transaction.save(mine_marker(assignee.email, ticket, now))


def loses_assignee(ticket: TicketModel, agency: str | None) -> bool:
    """Whether moving the ticket to `agency` (None: back to the hotline) takes it off its assignee:
    an agency officer no longer sees a ticket of another agency."""
    return bool(ticket.assignee and ticket.assignee_agency and ticket.assignee_agency != agency)


def keep_mine(transaction: TransactWrite, ticket: TicketModel, was_open: bool, still_open: bool, now: datetime,
              dropped: bool = False, scope: dict[str, str | None] | None = None) -> None:
    """In a status or agency change's `transaction`, the assignee's list follows the ticket: it leaves
    the list when it closes or its assignee is taken off (`dropped`, see loses_assignee), comes back
    when it reopens, and the marker's copy of its scope (`scope`: the new agency and category) follows
    a move while it stays open."""
    if not ticket.assignee:
        return
    marker = WorkMarkerModel(pk=mine_pk(ticket.assignee), sk=ticket.tracking_code)
    if dropped or not still_open:
        if was_open or dropped:
            transaction.delete(marker)
        return
    if not was_open:
        fresh = mine_marker(ticket.assignee, ticket, now)
        for name, value in (scope or {}).items():
            setattr(fresh, name, value)
        transaction.save(fresh)
    elif scope:
        actions: list[Any] = [WorkMarkerModel.at.set(WorkMarkerModel.at | now)]
        actions += [getattr(WorkMarkerModel, name).set(value) if value else getattr(WorkMarkerModel, name).remove()
                    for name, value in scope.items()]
        transaction.update(marker, actions=actions)


def mine(email: str, limit: int = MAX_MINE) -> list[WorkMarkerModel]:
    bind()
    with translate():
        return list(WorkMarkerModel.query(mine_pk(email), limit=limit))


def mine_count(email: str) -> int:
    """How many tickets are on the person's list (one Query, Select=COUNT)."""
    bind()
    with translate():
        return WorkMarkerModel.count(mine_pk(email))


def drop_mine(email: str, code: str) -> None:
    """Takes a ticket off a person's list (found closed, gone, given away or out of their sight when
    the list was read)."""
    bind()
    with translate():
        WorkMarkerModel(pk=mine_pk(email), sk=code).delete()


# Presence: who has a ticket open


def seen(code: str, email: str, name: str, now: datetime) -> None:
    """Records that the staff member has the ticket open now (one PutItem, expiring)."""
    bind()
    with translate():
        WorkMarkerModel(pk=f"PRESENCE#{code}", sk=staff_digest(email), at=now, name=name,
                        expires_at=now + PRESENCE_TTL).save()


def present(code: str, since: datetime) -> list[WorkMarkerModel]:
    """Who was seen on the ticket at or after `since`, newest first (TTL deletes lag: filtered)."""
    bind()
    with translate():
        found = list(WorkMarkerModel.query(f"PRESENCE#{code}", filter_condition=WorkMarkerModel.at >= since))
    return sorted(found, key=lambda marker: marker.at, reverse=True)


# Counts


def cached_counts() -> CountsModel | None:
    bind()
    with translate():
        try:
            return CountsModel.get("INBOX#COUNTS", "COUNTS")
        except CountsModel.DoesNotExist:
            return None


def claim_recount(now: datetime, hold: timedelta) -> bool:
    """True when this caller may rebuild the counts (nobody else holds the claim); one UpdateItem."""
    bind()
    moment = now.timestamp()
    try:
        with translate():
            CountsModel().update(actions=[CountsModel.claimed_until.set(int(moment + hold.total_seconds()))],
                                 condition=CountsModel.claimed_until.does_not_exist()
                                 | (CountsModel.claimed_until < int(moment)))
    except Conflict:
        return False
    return True


def save_counts(counts: dict[str, Any], now: datetime) -> None:
    """Stores rebuilt counts and lets the next rebuild claim at once when they grow stale."""
    bind()
    with translate():
        CountsModel().update(actions=[CountsModel.counts.set(counts), CountsModel.computed_at.set(now),
                                      CountsModel.claimed_until.set(0),
                                      CountsModel.expires_at.set(now + timedelta(days=1))])


OPEN_FIELDS = ["status", "due_sort", "agency", "held", "needs_callback"]


def open_entries() -> Iterator[TicketModel]:
    """Every open ticket's index entry (by_open; only the fields the counts need), page by page."""
    bind()
    from chalicelib.store.tickets import OPEN_QUEUE

    with translate():
        yield from TicketModel.by_open.query(OPEN_QUEUE, attributes_to_get=OPEN_FIELDS)


def arrived(since: datetime, now: datetime, agency: str | None = None) -> int:
    """How many tickets were created after `since` (of `agency` when given): a Select=COUNT Query
    of by_month per calendar month since then (one, or two across a month's turn)."""
    bind()
    months = sorted({moment.astimezone(timezone.utc).strftime("%Y-%m") for moment in (since, now)})
    condition = TicketModel.agency == agency if agency else None
    with translate():
        return sum(TicketModel.count(month, TicketModel.created_at > since, filter_condition=condition,
                                     index_name="by_month") for month in months)
