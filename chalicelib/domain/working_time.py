"""Deadlines in working time: office hours with a lunch break, Monday to Friday, minus public
holidays (solar and lunar) plus the government's make-up working Saturdays. All of it is data
(reference.json `calendar`), so next year's decision is an edit, not a deploy.

Times are counted in the province's local time (UTC+7, no DST).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import FieldError, ValidationFailed


@dataclass(frozen=True)
class WorkCalendar:
    periods: tuple[tuple[time, time], ...]     # e.g. 07:30–11:30 and 13:30–17:00
    holidays: frozenset[date]
    makeup_saturdays: frozenset[date]
    years: frozenset[int]                      # years whose holiday list has been entered

    @property
    def day_seconds(self) -> int:
        return sum(_seconds(end) - _seconds(start) for start, end in self.periods)

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_saturdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def warnings(self, today: date) -> list["CalendarWarning"]:
        """Returns what admins must fix: a missing holiday list for this or next year."""
        return [CalendarWarning(f"Chưa có danh sách ngày nghỉ lễ năm {year}.", f"No holiday list for {year}.")
                for year in (today.year, today.year + 1) if year not in self.years]


@dataclass(frozen=True)
class CalendarWarning:
    """Something an admin should fix: `vi` for pages, `en` for the JSON API's message_en."""

    vi: str
    en: str


NO_CALENDAR = CalendarWarning("Chưa có lịch làm việc.", "No working calendar.")


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def parse_calendar(doc: dict[str, Any]) -> WorkCalendar:
    """Returns the calendar in `doc`; raises ValidationFailed naming what is wrong."""
    try:
        periods = tuple(sorted((time.fromisoformat(p[0]), time.fromisoformat(p[1])) for p in doc["office_hours"]))
        holidays = frozenset(date.fromisoformat(d) for year in doc["holidays"].values() for d in year)
        makeup = frozenset(date.fromisoformat(d) for d in doc.get("makeup_saturdays", []))
        years = frozenset(int(year) for year in doc["holidays"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed([FieldError("calendar", f"Lịch làm việc sai định dạng ({exc}).",
                                           f"Malformed working calendar ({exc}).")]) from exc
    if not periods or any(start >= end for start, end in periods) or any(
            a[1] > b[0] for a, b in zip(periods, periods[1:])):
        raise ValidationFailed([FieldError("calendar.office_hours", "Giờ làm việc không hợp lệ.",
                                           "Office hours must be increasing, non-overlapping periods.")])
    return WorkCalendar(periods, holidays, makeup, years)


def _periods_of(calendar: WorkCalendar, day: date) -> Iterable[tuple[datetime, datetime]]:
    if calendar.is_working_day(day):
        for start, end in calendar.periods:
            yield datetime.combine(day, start, VN_TZ), datetime.combine(day, end, VN_TZ)


def add_working_seconds(calendar: WorkCalendar, start: datetime, seconds: float) -> datetime:
    """Returns the moment `seconds` of working time after `start` (which may be outside hours)."""
    moment = start.astimezone(VN_TZ)
    remaining = seconds
    day = moment.date()
    for _ in range(3660):  # ten years of days: a bound, never reached with sane data
        for begin, end in _periods_of(calendar, day):
            if end <= moment:
                continue
            begin = max(begin, moment)
            available = (end - begin).total_seconds()
            if remaining <= available:
                return begin + timedelta(seconds=remaining)
            remaining -= available
        day += timedelta(days=1)
    raise ValueError("no working time found: check the calendar")


def working_seconds_between(calendar: WorkCalendar, start: datetime, end: datetime) -> float:
    """Returns the working time between two moments (0 if end is not after start)."""
    start, end = start.astimezone(VN_TZ), end.astimezone(VN_TZ)
    total, day = 0.0, start.date()
    while day <= end.date():
        for begin, finish in _periods_of(calendar, day):
            overlap = (min(finish, end) - max(begin, start)).total_seconds()
            total += max(overlap, 0)
        day += timedelta(days=1)
    return total


def due_at(calendar: WorkCalendar, start: datetime, working_days: float) -> datetime:
    """Returns the deadline `working_days` working days (of office hours) after `start`."""
    return add_working_seconds(calendar, start, working_days * calendar.day_seconds)


def warn_at(calendar: WorkCalendar, start: datetime, due: datetime, share: float = 0.8) -> datetime:
    """Returns the moment `share` of the allowed working time has passed (the agency's warning)."""
    return add_working_seconds(calendar, start, share * working_seconds_between(calendar, start, due))


def resume(calendar: WorkCalendar, due: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
    """Returns the deadline after the clock stood still while waiting on the citizen."""
    return add_working_seconds(calendar, due, working_seconds_between(calendar, paused_at, resumed_at))


def within_hours(moment: datetime, opens: time, closes: time) -> bool:
    """True when `moment` (any tz) falls in [opens, closes) local time (the hotline's hours)."""
    local = moment.astimezone(VN_TZ).time()
    return opens <= local < closes


def next_opening(moment: datetime, opens: time, closes: time) -> datetime:
    """Returns `moment` if the hotline is open then, else when it next opens (local time)."""
    local = moment.astimezone(VN_TZ)
    if within_hours(local, opens, closes):
        return moment
    day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
    return datetime.combine(day, opens, VN_TZ)
