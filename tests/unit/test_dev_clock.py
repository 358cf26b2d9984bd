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


def test_an_event_time_far_from_the_real_time_is_refused() -> None:
    from chalicelib.domain.clock import scheduled_now

    real = datetime(2026, 12, 4, 3, 15, tzinfo=timezone.utc)
    # EventBridge's own time, a few seconds late: the job's now
    assert scheduled_now("2026-12-04T03:14:30Z", real, 300) == (datetime(2026, 12, 4, 3, 14, 30, tzinfo=timezone.utc),
                                                                  False)
    # A hand-made invoke ten years on (it would anonymise every ticket): refused, the real time instead
    assert scheduled_now("2036-12-04T03:15:00Z", real, 300) == (real, True)
    assert scheduled_now("2026-12-04T02:00:00Z", real, 300) == (real, True)
    # No time or an unreadable one: the real time, nothing to warn about
    assert scheduled_now(None, real, 300) == (real, False)
    # The local stack's movable clock configures a large skew: three days on is taken
    assert scheduled_now("2026-12-07T03:15:00Z", real, 10 * 366 * 86400)[0] == datetime(2026, 12, 7, 3, 15,
                                                                                        tzinfo=timezone.utc)


def test_the_schedules_take_the_skew_from_the_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    import app
    from chalicelib.config import settings
    from chalicelib.domain.clock import event_time

    class Event:
        time = "2036-12-04T03:15:00Z"

    for variable in ("TICKETS_TABLE", "IDEMPOTENCY_TABLE", "ROUTING_QUEUE_URL"):
        monkeypatch.setenv(variable, "x")
    monkeypatch.delenv("SCHEDULE_CLOCK_SKEW_S", raising=False)
    settings.cache_clear()
    try:
        before = datetime.now(timezone.utc)
        assert before <= app._scheduled_at(Event()) <= datetime.now(timezone.utc)  # default: five minutes
        monkeypatch.setenv("SCHEDULE_CLOCK_SKEW_S", str(20 * 366 * 86400))
        settings.cache_clear()
        assert app._scheduled_at(Event()) == event_time(Event.time)
    finally:
        settings.cache_clear()
