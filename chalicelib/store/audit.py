"""The admins' audit trail (templates, staff accounts, integrators): append-only events, one
partition per month. Ticket actions are audited on the ticket's own timeline."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import EventModel
from chalicelib.store.tickets import NewEvent, event_item


def record(kind: str, actor: str, now: datetime, **detail: Any) -> None:
    """Appends one audit event (never updated, never deleted)."""
    bind()
    item = event_item("x", NewEvent(kind, actor, now, detail=detail or None))
    item.pk = f"AUDIT#{now.astimezone(timezone.utc):%Y-%m}"
    with translate():
        item.save(condition=EventModel.pk.does_not_exist())


def month(moment: datetime) -> list[EventModel]:
    bind()
    with translate():
        return list(EventModel.query(f"AUDIT#{moment.astimezone(timezone.utc):%Y-%m}", scan_index_forward=False))
