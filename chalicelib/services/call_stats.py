"""Call-centre figures for the statistics page (/staff/thong-ke, "Tổng đài"): read from the hour counters
the calls and callback tasks write as they finish (chalicelib.domain.call_stats says what counts), one
Query per month of the period; and the counts a callback task's close adds.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain import call_stats as rules
from chalicelib.domain.permissions import StaffUser, allowed


def closing_figures(task: Any, outcome: str, closed_at: datetime) -> dict[str, int]:
    """What closing `task` (a CallbackModel, as read) with `outcome` at `closed_at` adds: the time to callback
    counts from its first call, or from the next opening when that call came while the hotline was closed."""
    from chalicelib.domain.calls import next_opening
    from chalicelib.store.reference import load_reference

    ref = load_reference()
    first = task.first_at or task.created_at or closed_at
    opened = next_opening(first, ref.hotline_opens, ref.hotline_closes, ref.calendar)
    return rules.on_task_closed(outcome, rules.callback_minutes(first, closed_at, opened))


def _months(start: date, end: date) -> list[tuple[str, int, int]]:
    """(yyyy-mm, first day, last day) covering start..end."""
    out = []
    day = start
    while day <= end:
        following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        last = min(end, following - timedelta(days=1))
        out.append((f"{day:%Y-%m}", day.day, last.day))
        day = following
    return out


def figures(user: StaffUser, start: date, end: date) -> dict[str, Any] | None:
    """The call-centre figures of the VN-local days start..end (chalicelib.domain.call_stats.summarise), or
    None for whoever may not see the call log (only supervisors and admins see them)."""
    from chalicelib.store import stats as store

    if not allowed(user, "call_log"):
        return None
    items: list[dict[str, Any]] = []
    for month, first, last in _months(start, end):
        items += store.call_figures(month, first, last)
    return rules.summarise(items)
