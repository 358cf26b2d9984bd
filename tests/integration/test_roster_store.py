"""The duty roster in the emulator: version-checked saves (audited), away and available."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timezone

import pytest

from chalicelib.domain.roster import INTERNAL, Entry, Roster, on_duty
from chalicelib.store import audit, roster
from chalicelib.store.roster import RosterConflict

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)  # Monday 09:00 in Vietnam


def _entry(staff: str) -> Entry:
    return Entry(staff, staff, INTERNAL, staff.split("@")[0], frozenset(range(7)), time(0, 0), time(23, 0))


def test_two_supervisors_saving_from_one_version_the_second_gets_a_conflict(stack: object) -> None:
    start = roster.current(consistent=True)
    first = roster.save(replace(start, entries=start.entries + (_entry("store-a@x.vn"),)), start.version,
                        "staff:sup1@x.vn", NOW)
    assert first.version == start.version + 1
    with pytest.raises(RosterConflict):
        roster.save(replace(start, entries=(_entry("store-b@x.vn"),)), start.version, "staff:sup2@x.vn", NOW)
    stored = roster.current(consistent=True)
    assert stored.version == first.version and stored.entries[-1].staff == "store-a@x.vn"
    events, _ = audit.search(NOW, NOW.replace(hour=3), kinds=frozenset({"roster_saved"}), actor="staff:sup1@x.vn")
    assert events and events[0].detail["version"] == first.version


def test_away_takes_an_operator_out_of_the_rotation_and_a_save_keeps_it(stack: object) -> None:
    start = roster.current(consistent=True)
    saved = roster.save(replace(start, entries=start.entries + (_entry("store-away@x.vn"),)), start.version,
                        "staff:sup1@x.vn", NOW)
    roster.set_away("Store-Away@x.vn", True, NOW)
    assert "store-away@x.vn" not in {e.staff for e in on_duty(roster.current(consistent=True), NOW)}
    # A supervisor's save made from the version read before does not bring them back.
    roster.save(saved, saved.version, "staff:sup1@x.vn", NOW)
    assert roster.current(consistent=True).is_away("store-away@x.vn")
    roster.set_away("store-away@x.vn", False, NOW)
    roster.set_away("store-away@x.vn", False, NOW)  # twice: still fine
    assert "store-away@x.vn" in {e.staff for e in on_duty(roster.current(consistent=True), NOW)}


def test_away_before_any_roster_is_kept_and_the_first_save_goes_over_it(stack: object) -> None:
    from chalicelib.store.models import RosterModel

    try:
        kept = RosterModel.get("ROSTER", "CURRENT", consistent_read=True)
    except RosterModel.DoesNotExist:
        kept = None
    RosterModel("ROSTER", "CURRENT").delete()
    try:
        # Given no roster stored yet: available is a no-op, away creates the item holding who is away
        roster.set_away("first@x.vn", False, NOW)
        assert roster.current(consistent=True) == Roster()
        roster.set_away("first@x.vn", True, NOW)
        empty = roster.current(consistent=True)
        assert empty.version == 0 and empty.is_away("first@x.vn") and empty.entries == ()
        # When the first roster is saved (from version 0): it is stored, and the operator is still away
        saved = roster.save(replace(empty, entries=(_entry("first@x.vn"),)), 0, "staff:sup1@x.vn", NOW)
        assert saved.version == 1 and roster.current(consistent=True).is_away("first@x.vn")
        assert on_duty(roster.current(consistent=True), NOW) == []
    finally:
        if kept is not None:
            kept.save()
        else:
            RosterModel("ROSTER", "CURRENT").delete()
