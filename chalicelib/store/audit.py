"""The admins' audit trail (templates, staff accounts, integrators): append-only events, one
partition per month. Ticket actions are audited on the ticket's own timeline."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import EventModel
from chalicelib.store.tickets import NewEvent, event_item


def entry(kind: str, actor: str, now: datetime, **detail: Any) -> EventModel:
    """The item of one audit event, for a caller that writes it in its own transaction."""
    item = event_item("x", NewEvent(kind, actor, now, detail=detail or None))
    item.pk = f"AUDIT#{now.astimezone(timezone.utc):%Y-%m}"
    return item


def record(kind: str, actor: str, now: datetime, **detail: Any) -> None:
    """Appends one audit event (never updated, never deleted)."""
    bind()
    item = entry(kind, actor, now, **detail)
    with translate():
        item.save(condition=EventModel.pk.does_not_exist())


_CURSOR = re.compile(r"EVENT#\d{4}-\d\d-\d\dT[0-9:.]+\+00:00#[0-9a-f]{6}")


def valid_cursor(value: str) -> bool:
    return bool(_CURSOR.fullmatch(value))


def _months(start: datetime, end: datetime) -> list[str]:
    """The month partitions from `end` back to `start` (UTC), newest first."""
    first, last = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    index, stop = last.year * 12 + last.month - 1, first.year * 12 + first.month - 1
    return [f"AUDIT#{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index, stop - 1, -1)]


def search(start: datetime, end: datetime, kinds: frozenset[str] | None = None, actor: str | None = None,
           after: str | None = None, limit: int = 50) -> tuple[list[EventModel], str | None]:
    """Returns up to `limit` audit events in [start, end), newest first, of `kinds` (None: any) by
    `actor` (an exact actor, or a prefix ending in ':' such as 'system:'), continuing after the
    cursor `after` (a key this returned); and the cursor of the next page (None: no more).

    One Query per month partition, the dates as the sort key's range, kind and actor as a filter."""
    bind()
    lower = f"EVENT#{start.astimezone(timezone.utc).isoformat()}"
    upper = f"EVENT#{end.astimezone(timezone.utc).isoformat()}"
    if after and valid_cursor(after):
        upper = min(upper, after)
    condition = None
    if kinds is not None:
        condition = EventModel.kind.is_in(*sorted(kinds))
    if actor:
        by_actor = EventModel.actor.startswith(actor) if actor.endswith(":") else EventModel.actor == actor
        condition = by_actor if condition is None else condition & by_actor
    found: list[EventModel] = []
    cursor_month = upper[len("EVENT#"):len("EVENT#") + 7]
    with translate():
        for partition in _months(start, end):
            if partition[len("AUDIT#"):] > cursor_month:
                continue
            for item in EventModel.query(partition, EventModel.sk.between(lower, upper), filter_condition=condition,
                                         scan_index_forward=False, page_size=200):
                if item.sk >= upper:
                    continue  # the cursor's own item, or one exactly at the end
                found.append(item)
                if len(found) > limit:
                    return found[:limit], found[limit - 1].sk
    return found, None
