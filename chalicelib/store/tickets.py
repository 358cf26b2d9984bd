"""Ticket persistence: the only code that reads or writes tickets and their timelines.

AWS/PynamoDB errors become domain errors through chalicelib.store.errors.translate.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import AlreadyExists, NotFound
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import NO_DUE, TICKET_SK, DedupModel, EventModel, TicketModel, ticket_pk

DEDUP_TTL = timedelta(days=30)


@dataclass(frozen=True)
class NewEvent:
    """A timeline entry to append: who did what, and what the public may read of it."""

    kind: str
    actor: str
    at: datetime
    public_text: str | None = None
    detail: dict[str, Any] | None = None


def _event_model(code: str, event: NewEvent) -> EventModel:
    # The random suffix keeps two events in the same microsecond apart and append-only.
    return EventModel(
        pk=ticket_pk(code), sk=f"EVENT#{event.at.isoformat()}#{secrets.token_hex(3)}",
        kind=event.kind, actor=event.actor, public=event.public_text is not None,
        public_text=event.public_text, detail=event.detail, at=event.at,
    )


def _due_sort(due_at: datetime | None) -> str:
    return due_at.isoformat() if due_at else NO_DUE


def create_ticket(fields: dict[str, Any], first_event: NewEvent, dedup_key: str | None = None) -> None:
    """Writes a new ticket and its first timeline event in one transaction.

    With `dedup_key`, a marker is written in the same transaction, so the same submission
    can never make two tickets. Raises AlreadyExists when the tracking code or the marker is
    taken (see `deduplicated` to tell which).
    """
    connection = bind()
    code = fields["tracking_code"]
    ticket = TicketModel(pk=ticket_pk(code), sk=TICKET_SK, due_sort=_due_sort(fields.get("due_at")), **fields)
    with translate(AlreadyExists):
        with TransactWrite(connection=connection) as transaction:
            transaction.save(ticket, condition=TicketModel.pk.does_not_exist())
            transaction.save(_event_model(code, first_event), condition=EventModel.pk.does_not_exist())
            if dedup_key is not None:
                marker = DedupModel(pk=f"DEDUP#{dedup_key}", tracking_code=code,
                                    expires_at=first_event.at + DEDUP_TTL)
                transaction.save(marker, condition=DedupModel.pk.does_not_exist())


def deduplicated(dedup_key: str) -> str | None:
    """Returns the tracking code a marked submission/message produced, or None if unseen."""
    bind()
    with translate():
        try:
            return DedupModel.get(f"DEDUP#{dedup_key}", "DEDUP").tracking_code
        except DedupModel.DoesNotExist:
            return None


def get_ticket(code: str) -> TicketModel:
    """Returns the ticket; raises NotFound."""
    bind()
    with translate():
        try:
            return TicketModel.get(ticket_pk(code), TICKET_SK)
        except TicketModel.DoesNotExist as exc:
            raise NotFound() from exc


def timeline(code: str) -> list[EventModel]:
    """Returns the ticket's events, oldest first (paginated by PynamoDB)."""
    bind()
    with translate():
        return list(EventModel.query(ticket_pk(code), EventModel.sk.startswith("EVENT#")))


def transition(ticket: TicketModel, target: Status, event: NewEvent, now: datetime,
               agency: str | None = None) -> None:
    """Moves `ticket` to `target` and appends `event`, atomically.

    The update is conditional on the version the caller read, so a concurrent change raises
    Conflict and nothing is written (no lost update). `agency`, when given, replaces the agency.
    """
    connection = bind()
    new_agency = agency if agency is not None else ticket.agency
    actions = [
        TicketModel.status.set(target.value),
        TicketModel.updated_at.set(now),
    ]
    if agency is not None:
        actions.append(TicketModel.agency.set(agency))
    if is_open(target) and new_agency:
        actions.append(TicketModel.agency_open.set(new_agency))
    else:
        actions.append(TicketModel.agency_open.remove())
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(ticket, actions=actions)
            transaction.save(_event_model(ticket.tracking_code, event), condition=EventModel.pk.does_not_exist())


def _page(query: Any, limit: int) -> tuple[list[TicketModel], dict[str, Any] | None]:
    with translate():
        items = list(query)
    return items, query.last_evaluated_key


def open_by_agency(agency: str, limit: int = 50, start: dict[str, Any] | None = None
                   ) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """Returns one page of the agency's open tickets, earliest deadline first, and the next-page key."""
    bind()
    return _page(TicketModel.by_agency_due.query(agency, limit=limit, last_evaluated_key=start), limit)


def by_status(status: Status, due_before: str | None = None, limit: int = 50,
              start: dict[str, Any] | None = None) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """Returns one page of tickets in `status`, earliest deadline first (optionally due before a time)."""
    bind()
    condition = TicketModel.due_sort < due_before if due_before else None
    return _page(TicketModel.by_status_due.query(status.value, condition, limit=limit,
                                                 last_evaluated_key=start), limit)


def by_phone(phone: str, limit: int = 20) -> list[TicketModel]:
    """Returns the reporter's tickets, newest first."""
    bind()
    with translate():
        return list(TicketModel.by_phone.query(phone, scan_index_forward=False, limit=limit))


def by_zalo(user_id: str, limit: int = 20) -> list[TicketModel]:
    """Returns the Zalo user's tickets, newest first."""
    bind()
    with translate():
        return list(TicketModel.by_zalo.query(user_id, scan_index_forward=False, limit=limit))
