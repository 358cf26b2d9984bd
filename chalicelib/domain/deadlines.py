"""Deadlines (due_at). Counts whole working days, Monday to Friday.

The routing issue replaces this with office hours, lunch breaks and the holiday calendar;
callers already pass `now`, so that change stays inside this module.
"""
from __future__ import annotations

from datetime import datetime, timedelta


def add_working_days(start: datetime, days: int) -> datetime:
    """Returns `start` moved forward by `days` Monday-to-Friday days (same time of day)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
