"""The duty roster in DynamoDB: one item (pk=ROSTER, sk=CURRENT) holding the entries, their version
and who is away, so the answer_url knows who to ring with one GetItem.

A supervisor's save rewrites the entries over the version they started from, with its audit entry,
in one transaction: of two supervisors saving at once the second gets RosterConflict. Away and
available are one UpdateItem of the staff member's own key in the `away` map, so an operator going
away never collides with a supervisor's save (and neither overwrites the other).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.domain.roster import Roster, entry_document, entry_from_document, summary
from chalicelib.store import audit
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import EventModel, RosterModel

_PK, _SK = "ROSTER", "CURRENT"


class RosterConflict(Conflict):
    """Another supervisor saved the roster after this one opened it."""

    message_vi = "Lịch trực vừa được người khác lưu trước. Hãy tải lại trang rồi sửa lại."
    message_en = "Someone else saved the duty roster first. Reload and edit again."


def _roster(item: RosterModel) -> Roster:
    away = item.away.as_dict() if item.away is not None else {}
    return Roster(int(item.version or 0), tuple(entry_from_document(e) for e in item.entries or []),
                  frozenset(str(k).lower() for k in away))


KEY = (_PK, _SK)


def of_item(item: RosterModel | None) -> Roster:
    """The roster of a stored item read elsewhere (chalicelib.store.reference.load_with); None: none saved."""
    return _roster(item) if item is not None else Roster()


def current(consistent: bool = False) -> Roster:
    """Returns the roster (one GetItem); an empty roster of version 0 when none was ever saved."""
    bind()
    with translate():
        try:
            item = RosterModel.get(_PK, _SK, consistent_read=consistent)
        except RosterModel.DoesNotExist:
            return Roster()
    return _roster(item)


def save(roster: Roster, expected_version: int, actor: str, now: datetime) -> Roster:
    """Stores `roster`'s entries as version `expected_version + 1`, if the stored version is still
    `expected_version` (0: none stored yet), with a `roster_saved` audit entry in the same transaction.
    Who is away is kept as stored. Returns the saved roster; raises RosterConflict."""
    connection = bind()
    before = current(consistent=True)
    item = RosterModel(_PK, _SK)
    # Version 0: nothing saved yet, though an operator going away may have created the item.
    condition = ((RosterModel.pk.does_not_exist() | (RosterModel.version == 0)) if expected_version == 0
                 else RosterModel.version == expected_version)
    version = expected_version + 1
    actions = [RosterModel.version.set(version),
               RosterModel.entries.set([entry_document(e) for e in roster.entries]),
               RosterModel.away.set(RosterModel.away | {}),
               RosterModel.updated_by.set(actor),
               RosterModel.updated_at.set(now.astimezone(timezone.utc))]
    with translate(RosterConflict):
        with TransactWrite(connection=connection) as transaction:
            transaction.update(item, actions=actions, condition=condition)
            transaction.save(audit.entry("roster_saved", actor, now, version=version, summary=summary(before, roster)),
                             condition=EventModel.pk.does_not_exist())
    return Roster(version, roster.entries, before.away)


def _update(actions: list[Any], condition: Any) -> bool:
    """One conditional UpdateItem of the roster item; False when its condition failed."""
    try:
        with translate():
            RosterModel(_PK, _SK).update(actions=actions, condition=condition)
    except Conflict:
        return False
    return True


def set_away(staff: str, away: bool, now: datetime) -> None:
    """Marks `staff` (e-mail) away (not rung) or available again: one UpdateItem of their own key.

    Marking someone available when nothing is stored is a no-op; marking them away then creates the
    (empty, version 0) roster item holding the away map."""
    bind()
    key = staff.strip().lower()
    since = now.astimezone(timezone.utc).isoformat()
    if not away:
        _update([RosterModel.away[key].remove()], RosterModel.away.exists())
        return
    if _update([RosterModel.away[key].set(since)], RosterModel.away.exists()):
        return
    # No roster item yet (or one without the map): create the map holding this one key; if someone
    # created it in between, the first form applies now.
    if not _update([RosterModel.away.set({key: since}), RosterModel.version.set(RosterModel.version | 0)],
                   RosterModel.away.does_not_exist()):
        _update([RosterModel.away[key].set(since)], RosterModel.away.exists())
