"""Cursors of the scheduled jobs: where a run stopped, so the next one carries on from there.

A job reads its cursor, processes one bounded page after it, and saves the new position only
over the version it read: of two overlapping runs one saves and the other's (idempotent) work
is simply done twice, never skipped."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.errors import Conflict
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import CursorModel


@dataclass(frozen=True)
class Cursor:
    name: str
    value: str | None   # None: start from the beginning
    version: int        # writes so far (0: never saved)


def read(name: str) -> Cursor:
    """Returns the job's cursor (one consistent GetItem)."""
    bind()
    with translate():
        try:
            item = CursorModel.get(f"CURSOR#{name}", "CURSOR", consistent_read=True)
        except CursorModel.DoesNotExist:
            return Cursor(name, None, 0)
    return Cursor(name, item.value, int(item.n))


def save(cursor: Cursor, value: str | None, now: datetime) -> bool:
    """Moves the cursor to `value` if nobody moved it since `cursor` was read; returns whether it did."""
    bind()
    item = CursorModel(pk=f"CURSOR#{cursor.name}", value=value, n=cursor.version + 1, updated_at=now)
    condition = CursorModel.pk.does_not_exist() if cursor.version == 0 else CursorModel.n == cursor.version
    try:
        with translate():
            item.save(condition=condition)
    except Conflict:
        return False
    return True
