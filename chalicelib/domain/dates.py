"""Dates in filters (the public answers, Open311's start_date/end_date): parsed in one place and
held between EARLIEST and LATEST, so that the arithmetic after them (a day added, a year taken
off, a shift to UTC) never leaves what Python's datetime can hold: 0001-01-01 or 9999-12-31
would otherwise end in OverflowError, a crash, instead of a 400."""
from __future__ import annotations

from datetime import date, datetime, timezone

from chalicelib.domain.errors import FieldError, ValidationFailed

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
_MAX_CHARS = 40  # the longest ISO date-time with microseconds and an offset is 32


def _refused(name: str, vi: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldError(name, vi, en)])


def _in_range(day: date, name: str) -> None:
    if not EARLIEST <= day <= LATEST:
        raise _refused(name, f"Ngày phải từ {EARLIEST:%d/%m/%Y} đến {LATEST:%d/%m/%Y}.",
                       f"The date must be between {EARLIEST} and {LATEST}.")


def filter_day(raw: str | None, name: str) -> date | None:
    """Returns the day in `raw` (YYYY-MM-DD), None when empty. Raises ValidationFailed naming `name`
    for anything else and for a day outside EARLIEST..LATEST."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if len(text) > _MAX_CHARS:
            raise ValueError(text[:_MAX_CHARS])
        day = date.fromisoformat(text)
    except ValueError:
        raise _refused(name, "Ngày không hợp lệ (YYYY-MM-DD).", "Invalid date (YYYY-MM-DD).") from None
    _in_range(day, name)
    return day


def filter_moment(raw: str | None, name: str) -> datetime | None:
    """Returns the aware moment in `raw` (W3C date-time with a timezone: Z or +07:00), None when
    empty. Raises ValidationFailed naming `name` for a bad format, no timezone, or a moment whose
    day (in its own timezone or in UTC) is outside EARLIEST..LATEST."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if len(text) > _MAX_CHARS:
            raise ValueError(text[:_MAX_CHARS])
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _refused(name, "Thời điểm không hợp lệ (ví dụ 2026-11-28T08:00:00+07:00).",
                       "Must be a W3C date-time, e.g. 2026-11-28T08:00:00+07:00.") from None
    if moment.tzinfo is None:
        raise _refused(name, "Thời điểm cần múi giờ (Z hoặc +07:00).", "A timezone is needed (Z or +07:00).")
    _in_range(moment.date(), name)
    # The local day is in range, so the shift to UTC (at most a day) stays within datetime's limits.
    _in_range(moment.astimezone(timezone.utc).date(), name)
    return moment

