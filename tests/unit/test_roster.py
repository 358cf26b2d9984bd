"""The duty roster's rules: who is on duty at a moment (days, hours, away), in a rotating order."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.roster import (EXTERNAL, INTERNAL, Entry, Roster, entry_for_target, on_duty, parse_entry,
                                      with_entry, without_entry)

VN = timezone(timedelta(hours=7))
WEEKDAYS = frozenset(range(5))


def _entry(staff: str, days: frozenset[int] = WEEKDAYS, start: str = "07:00", end: str = "20:00",
           kind: str = INTERNAL, target: str | None = None) -> Entry:
    return Entry(staff, staff.split("@")[0], kind, target or staff.split("@")[0], days,
                 time.fromisoformat(start), time.fromisoformat(end))


ROSTER = Roster(3, (_entry("an@x.vn"), _entry("binh@x.vn"),
                    _entry("chi@x.vn", days=frozenset({5, 6}), start="08:00", end="12:00"),
                    _entry("dung@x.vn", kind=EXTERNAL, target="+84909000111")))


def _staff(entries: list[Entry]) -> set[str]:
    return {e.staff for e in entries}


def test_on_a_weekday_within_hours_the_weekday_operators_are_on_duty() -> None:
    monday_9 = datetime(2026, 11, 30, 9, 0, tzinfo=VN)
    assert _staff(on_duty(ROSTER, monday_9)) == {"an@x.vn", "binh@x.vn", "dung@x.vn"}


def test_hours_are_vietnam_time_and_the_end_is_excluded() -> None:
    # 12:59 UTC is 19:59 in Vietnam: still on; 13:00 UTC is 20:00: over.
    assert _staff(on_duty(ROSTER, datetime(2026, 11, 30, 12, 59, tzinfo=timezone.utc))) == {
        "an@x.vn", "binh@x.vn", "dung@x.vn"}
    assert on_duty(ROSTER, datetime(2026, 11, 30, 13, 0, tzinfo=timezone.utc)) == []
    assert on_duty(ROSTER, datetime(2026, 11, 30, 6, 59, tzinfo=VN)) == []


def test_at_the_weekend_only_the_weekend_entry_answers_in_its_hours() -> None:
    saturday = datetime(2026, 12, 5, 10, 30, tzinfo=VN)
    assert _staff(on_duty(ROSTER, saturday)) == {"chi@x.vn"}
    assert on_duty(ROSTER, saturday.replace(hour=12)) == []


def test_an_away_operator_is_not_rung() -> None:
    roster = Roster(3, ROSTER.entries, frozenset({"binh@x.vn"}))
    assert _staff(on_duty(roster, datetime(2026, 11, 30, 9, 0, tzinfo=VN))) == {"an@x.vn", "dung@x.vn"}


def test_the_first_ring_rotates_with_the_minute_and_is_repeatable() -> None:
    firsts = [on_duty(ROSTER, datetime(2026, 11, 30, 9, m, tzinfo=VN))[0].staff for m in range(3)]
    assert sorted(firsts) == ["an@x.vn", "binh@x.vn", "dung@x.vn"]
    again = on_duty(ROSTER, datetime(2026, 11, 30, 9, 1, 40, tzinfo=VN))
    assert again == on_duty(ROSTER, datetime(2026, 11, 30, 9, 1, tzinfo=VN))
    assert _staff(again) == {"an@x.vn", "binh@x.vn", "dung@x.vn"}  # a rotation, nobody dropped


def test_someone_with_two_overlapping_entries_is_rung_once() -> None:
    roster = Roster(1, (_entry("an@x.vn"), _entry("an@x.vn", start="08:00", end="09:00", kind=EXTERNAL,
                                                     target="+84909000222")))
    found = on_duty(roster, datetime(2026, 11, 30, 8, 30, tzinfo=VN))
    assert [(e.staff, e.kind) for e in found] == [("an@x.vn", INTERNAL)]


def test_a_target_is_found_by_its_number_in_any_spelling() -> None:
    assert entry_for_target(ROSTER, EXTERNAL, "0909 000 111").staff == "dung@x.vn"
    assert entry_for_target(ROSTER, INTERNAL, "an").staff == "an@x.vn"
    assert entry_for_target(ROSTER, INTERNAL, "+84909000111") is None
    assert entry_for_target(ROSTER, EXTERNAL, "not a phone") is None


def test_a_form_entry_is_validated_and_normalised() -> None:
    entry = parse_entry({"staff": " Dung@X.vn ", "name": "Dũng", "kind": "external", "target": "0909.000.111",
                         "days": ["0", "2"], "start": "07:00", "end": "20:00"})
    assert (entry.staff, entry.target, entry.days) == ("dung@x.vn", "+84909000111", frozenset({0, 2}))
    with pytest.raises(ValidationFailed) as failed:
        parse_entry({"staff": "nobody", "kind": "external", "target": "12", "days": [], "start": "9h",
                     "end": "08:00"})
    assert {e.field for e in failed.value.errors} == {"staff", "target", "days", "start"}
    with pytest.raises(ValidationFailed) as failed:
        parse_entry({"staff": "a@x.vn", "kind": "internal", "target": "a", "days": ["1"], "start": "10:00",
                     "end": "09:00"})
    assert [e.field for e in failed.value.errors] == ["end"]


def test_entries_are_added_replaced_and_removed_by_position() -> None:
    added = with_entry(ROSTER, _entry("em@x.vn"), None)
    assert added.entries[-1].staff == "em@x.vn" and len(added.entries) == 5
    edited = with_entry(added, _entry("em@x.vn", start="13:00"), 4)
    assert edited.entries[4].start == time(13, 0)
    assert [e.staff for e in without_entry(edited, 0).entries][0] == "binh@x.vn"
    with pytest.raises(ValidationFailed):
        without_entry(ROSTER, 9)
