"""The local runner fires each deployed schedule when AWS would (rate and cron, in UTC)."""
from __future__ import annotations

from datetime import datetime, timezone

import app
from devstack.worker import _cron_matches, _period_seconds


def _schedules() -> dict[str, object]:
    return {s.name: s.schedule_expression for s in app.app.event_sources if type(s).__name__ == "ScheduledEventConfig"}


def test_every_schedule_of_the_app_is_understood_by_the_local_runner() -> None:
    schedules = _schedules()
    assert set(schedules) == {"sweep_unrouted", "callback_reminders", "deadline_watch", "daily_digest",
                              "refresh_zalo_token", "anonymise_expired", "index_search",
                              "export_analytics", "reports", "kb_expiry", "retrain_routing"}
    assert _period_seconds(schedules["retrain_routing"]) == 600  # an admin's request waits at most 10 minutes
    assert _period_seconds(schedules["callback_reminders"]) == 300
    assert _period_seconds(schedules["index_search"]) == 300
    assert _period_seconds(schedules["reports"]) == 60
    assert _period_seconds(schedules["deadline_watch"]) == 900
    assert _period_seconds(schedules["refresh_zalo_token"]) == 12 * 3600
    assert _period_seconds(schedules["daily_digest"]) is None  # a cron
    assert _period_seconds(schedules["anonymise_expired"]) is None
    assert _period_seconds(schedules["kb_expiry"]) is None     # a cron: 06:00 in Vietnam
    assert _cron_matches(schedules["kb_expiry"], datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc))
    assert not _cron_matches(schedules["kb_expiry"], datetime(2026, 12, 1, 23, 10, tzinfo=timezone.utc))


def test_the_daily_digest_runs_every_ten_minutes_from_seven_to_nine_vietnam_time_only() -> None:
    digest = _schedules()["daily_digest"]
    assert _cron_matches(digest, datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc))       # 07:00 ICT
    assert _cron_matches(digest, datetime(2026, 12, 1, 1, 50, tzinfo=timezone.utc))      # 08:50 ICT: the last page
    assert not _cron_matches(digest, datetime(2026, 12, 1, 0, 1, tzinfo=timezone.utc))
    assert not _cron_matches(digest, datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc))   # 09:00 ICT
    assert not _cron_matches(digest, datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc))   # 14:00 ICT


def test_the_retention_job_runs_every_ten_minutes_in_the_small_hours_vietnam_time_only() -> None:
    job = _schedules()["anonymise_expired"]
    assert _cron_matches(job, datetime(2026, 12, 1, 19, 0, tzinfo=timezone.utc))       # 02:00 ICT
    assert _cron_matches(job, datetime(2026, 12, 1, 21, 50, tzinfo=timezone.utc))      # 04:50 ICT: the last run
    assert not _cron_matches(job, datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc))   # 05:00 ICT
    assert not _cron_matches(job, datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc))    # 10:00 ICT: office hours


def test_the_analytics_export_runs_once_a_night_at_half_past_one_vietnam_time() -> None:
    job = _schedules()["export_analytics"]
    assert _cron_matches(job, datetime(2026, 12, 1, 18, 30, tzinfo=timezone.utc))      # 01:30 ICT
    assert not _cron_matches(job, datetime(2026, 12, 1, 18, 40, tzinfo=timezone.utc))
    assert not _cron_matches(job, datetime(2026, 12, 1, 1, 30, tzinfo=timezone.utc))   # 08:30 ICT
