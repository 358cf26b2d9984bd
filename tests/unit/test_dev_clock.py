"""The local stack's clock (devstack/clock.py) and the scheduled jobs' `now`, which comes from the
event's time as EventBridge sends it (so the local stack can send a moved one)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.domain.clock import VN_TZ, event_time
from chalicelib.domain.reference import parse_reference
from chalicelib.store.reference import seed_document
from devstack.clock import Clock
from devstack.worker import scheduled_event

CALENDAR = parse_reference(seed_document()).calendar


def test_a_scheduled_job_takes_its_time_from_the_event() -> None:
    at = datetime(2026, 12, 4, 3, 15, tzinfo=timezone.utc)
    assert event_time(scheduled_event("deadline_watch", at)["time"]) == at
    assert event_time("2026-12-01T00:00:00Z") == datetime(2026, 12, 1, tzinfo=timezone.utc)
    for unreadable in (None, "", "yesterday", "2026-12-01T00:00:00"):  # no zone: not guessed
        assert event_time(unreadable) is None


def test_the_clock_moves_by_an_hour_a_working_day_three_days_and_back() -> None:
    friday_morning = datetime(2026, 12, 4, 10, 0, tzinfo=VN_TZ)
    clock = Clock(real=lambda: friday_morning, calendar=lambda: CALENDAR)
    clock.advance("1wd")  # the weekend is no working time: Monday, same hour
    assert clock.now() == datetime(2026, 12, 7, 10, 0, tzinfo=VN_TZ)
    clock.advance("1h")
    clock.advance("3d")
    assert clock.now() == datetime(2026, 12, 10, 11, 0, tzinfo=VN_TZ)
    clock.advance("reset")
    assert clock.now() == friday_morning and not clock.offset
    with pytest.raises(ValueError):
        clock.advance("-1d")  # only forward: a job's marks never move back
