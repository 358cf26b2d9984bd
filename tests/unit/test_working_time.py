"""Deadlines in working time: office hours with lunch, weekends, holidays (Tết), make-up Saturdays."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.working_time import (
    add_working_seconds, due_at, next_opening, parse_calendar, resume, warn_at, working_seconds_between,
)

CAL = parse_calendar({
    "office_hours": [["07:30", "11:30"], ["13:30", "17:00"]],
    "holidays": {"2026": ["2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-04-27",
                          "2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02"]},
    "makeup_saturdays": ["2026-05-09"],
})
H = 3600


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def test_a_working_day_is_seven_and_a_half_office_hours() -> None:
    assert CAL.day_seconds == 7.5 * H


def test_lunch_break_and_evening_do_not_count() -> None:
    assert add_working_seconds(CAL, vn(2026, 11, 26, 11, 0), 1 * H) == vn(2026, 11, 26, 14, 0)
    assert add_working_seconds(CAL, vn(2026, 11, 26, 16, 30), 1 * H) == vn(2026, 11, 27, 8, 0)
    assert add_working_seconds(CAL, vn(2026, 11, 26, 12, 15), 0) == vn(2026, 11, 26, 13, 30)


def test_weekends_are_skipped() -> None:
    # Friday 16:00 + 3 working days = Wednesday 16:00
    assert due_at(CAL, vn(2026, 11, 27, 16, 0), 3) == vn(2026, 12, 2, 16, 0)
    # received on Saturday evening: the clock starts Monday 07:30
    assert due_at(CAL, vn(2026, 11, 28, 18, 0), 1) == vn(2026, 11, 30, 17, 0)


def test_tet_holiday_week_is_skipped() -> None:
    # Friday before Tết 2026 at 10:00, 2 working days: Mon 16 – Fri 20 Feb are holidays
    assert due_at(CAL, vn(2026, 2, 13, 10, 0), 2) == vn(2026, 2, 24, 10, 0)


def test_hung_kings_and_reunification_days() -> None:
    assert due_at(CAL, vn(2026, 4, 24, 9, 0), 1) == vn(2026, 4, 28, 9, 0)        # Mon 27/4 (Giỗ Tổ) off
    assert due_at(CAL, vn(2026, 4, 29, 9, 0), 1) == vn(2026, 5, 4, 9, 0)         # 30/4 and 1/5 off


def test_a_make_up_saturday_is_a_working_day() -> None:
    assert CAL.is_working_day(date(2026, 5, 9)) and not CAL.is_working_day(date(2026, 5, 16))
    assert due_at(CAL, vn(2026, 5, 8, 9, 0), 1) == vn(2026, 5, 9, 9, 0)



def test_eighty_percent_mark() -> None:
    start = vn(2026, 11, 30, 7, 30)
    due = due_at(CAL, start, 5)  # Mon 07:30 -> Fri 17:00
    assert due == vn(2026, 12, 4, 17, 0)
    assert warn_at(CAL, start, due) == vn(2026, 12, 3, 17, 0)  # 4 of 5 days


def test_the_clock_pauses_while_waiting_on_the_citizen() -> None:
    due = vn(2026, 12, 2, 16, 0)
    # paused Tuesday 10:00, the citizen answered Thursday 10:00: two working days waited
    assert working_seconds_between(CAL, vn(2026, 12, 1, 10), vn(2026, 12, 3, 10)) == 15 * H
    assert resume(CAL, due, vn(2026, 12, 1, 10), vn(2026, 12, 3, 10)) == vn(2026, 12, 4, 16, 0)


def test_a_missing_holiday_list_is_a_warning() -> None:
    (missing,) = CAL.warnings(date(2026, 11, 28))
    assert (missing.vi, missing.en) == ("Chưa có danh sách ngày nghỉ lễ năm 2027.", "No holiday list for 2027.")
    assert CAL.warnings(date(2025, 6, 1)) and len(CAL.warnings(date(2025, 6, 1))) == 1


def test_bad_calendars_are_refused() -> None:
    for bad in ({"office_hours": [["13:00", "11:00"]], "holidays": {}},
                {"office_hours": [["07:30", "12:00"], ["11:00", "17:00"]], "holidays": {}},
                {"office_hours": [["07:30", "11:30"]], "holidays": {"2026": ["2026-02-30"]}}):
        with pytest.raises(ValidationFailed):
            parse_calendar(bad)


def test_hotline_hours_wait_for_the_next_opening() -> None:
    opens, closes = time(7, 0), time(20, 0)
    assert next_opening(vn(2026, 11, 28, 21, 0), opens, closes) == vn(2026, 11, 29, 7, 0)
    assert next_opening(vn(2026, 11, 28, 6, 0), opens, closes) == vn(2026, 11, 28, 7, 0)
    assert next_opening(vn(2026, 11, 28, 12, 0), opens, closes) == vn(2026, 11, 28, 12, 0)
