"""The pure statistics rules: what a ticket's change adds, the duration buckets, percentiles read
back from histograms, the period's buckets and the query's validation."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from chalicelib.domain import stats as rules
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.working_time import parse_calendar
from chalicelib.services import stats as service

CALENDAR = parse_calendar({"office_hours": [["07:30", "11:30"], ["13:30", "17:00"]],
                           "holidays": {"2026": ["2026-09-01", "2026-09-02"]}})


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def ticket(**fields: object) -> SimpleNamespace:
    base = {"channel": "web", "category": "giao-thong", "agency": "so-xay-dung", "area": "tan-ninh",
            "created_at": at("2026-08-31T16:00"), "due_at": at("2026-09-08T16:00"), "first_action_at": None}
    return SimpleNamespace(**{**base, **fields})


def test_buckets_are_log_scale_and_the_last_one_is_open_ended() -> None:
    assert [rules.bucket(m) for m in (0, 1, 1.5, 60, 61, 10**7)] == [0, 0, 1, 6, 7, len(rules.BUCKET_UPPER) - 1]


def test_percentiles_are_the_upper_bound_of_the_bucket_holding_them() -> None:
    histogram = [0] * len(rules.BUCKET_UPPER)
    histogram[rules.bucket(3)] = 6      # six answers in 2–5 min
    histogram[rules.bucket(500)] = 4    # four in 480–960 min
    assert rules.percentile(histogram, 0.5) == 5.0
    assert rules.percentile(histogram, 0.9) == 960.0
    assert rules.percentile([0] * len(rules.BUCKET_UPPER), 0.5) is None


def test_an_answer_counts_on_its_local_day_under_the_ticket_and_in_working_minutes_past_a_holiday() -> None:
    answered = at("2026-09-03T00:30")  # 2 September 17:30 UTC: the 3rd in Vietnam
    out = rules.on_change(ticket(), "answered", {"answered_on_time": True}, "answered", "staff:a@x.vn",
                          answered.astimezone(VN_TZ), CALENDAR)
    counts = next(inc for inc in out if inc.operator is None and "answered" in inc.counts)
    assert counts.day == date(2026, 9, 3) and counts.key == "web|giao-thong|so-xay-dung|tan-ninh"
    assert counts.counts["on_time"] == 1
    # 60 working minutes on 31/8 (16:00–17:00), none on the holidays or the night of the 3rd: the 60-min bucket
    assert counts.counts[f"an_w_{rules.bucket(60)}"] == 1
    assert counts.counts[f"an_c_{rules.bucket(60 * 56.5)}"] == 1
    assert counts.counts[f"fa_w_{rules.bucket(60)}"] == 1  # also the first staff action
    work = next(inc for inc in out if inc.operator == "a@x.vn")
    assert work.counts == {"handled": 1, "answered": 1}


def test_on_time_means_at_or_before_the_deadline_in_force() -> None:
    due = at("2026-09-08T16:00")
    on_time = rules.on_change(ticket(first_action_at=due), "answered", {}, "answered", "staff:a@x.vn", due,
                              CALENDAR)
    late = rules.on_change(ticket(first_action_at=due), "answered", {}, "answered", "staff:a@x.vn",
                           due + timedelta(seconds=1),
                           CALENDAR)
    assert any(i.counts.get("on_time") for i in on_time) and any(i.counts.get("late") for i in late)


def test_a_transfer_moves_the_received_count_to_the_new_agency_on_the_creation_day() -> None:
    out = rules.on_change(ticket(first_action_at=at("2026-09-03T08:00")), "assigned", {"agency": "cong-an-tinh"},
                          "transferred", "staff:a@x.vn", at("2026-09-04T08:00"), CALENDAR)
    moved = {(inc.day, inc.key): inc.counts for inc in out if "received" in inc.counts}
    assert moved == {(date(2026, 8, 31), "web|giao-thong|so-xay-dung|tan-ninh"): {"received": -1},
                     (date(2026, 8, 31), "web|giao-thong|cong-an-tinh|tan-ninh"): {"received": 1}}


def test_the_first_staff_action_is_counted_once_and_system_moves_not_at_all() -> None:
    first = rules.on_change(ticket(), None, {}, "note", "staff:a@x.vn", at("2026-09-03T08:00"), CALENDAR)
    again = rules.on_change(ticket(first_action_at=at("2026-09-03T08:00")), None, {}, "note", "staff:a@x.vn",
                            at("2026-09-03T09:00"), CALENDAR)
    system = rules.on_change(ticket(), "assigned", {}, "routed", "system:routing", at("2026-09-03T09:00"), CALENDAR)
    assert any(k.startswith("fa_w_") for i in first for k in i.counts)
    assert not any(k.startswith("fa_") for i in again for k in i.counts)
    assert system == []


@pytest.mark.parametrize("kind", ["merged_from", "follower_added", "follower_removed", "claimed", "released",
                                  "reassigned", "published", "anonymised", "legal_hold_set", "sms_notice"])
def test_a_staff_event_that_is_not_work_counts_neither_as_workload_nor_as_first_action(kind: str) -> None:
    when = at("2026-09-03T08:00")
    assert not rules.is_work(kind, "staff:a@x.vn")
    assert rules.on_change(ticket(), None, {}, kind, "staff:a@x.vn", when, CALENDAR) == []
    assert rules.first_action_change(ticket(), kind, "staff:a@x.vn", when) == {}
    event = SimpleNamespace(kind=kind, actor="staff:a@x.vn", at=when, detail=None)
    created = SimpleNamespace(kind="created", actor="citizen:web", at=at("2026-08-31T16:00"), detail=None)
    replayed = rules.replay(ticket(), [created, event], [], CALENDAR, date(2026, 8, 1), date(2026, 9, 30))
    assert [inc.counts for inc in replayed] == [{"received": 1}]
    assert rules.is_work("note", "staff:a@x.vn") and not rules.is_work("note", "citizen:web")


def test_increments_on_the_same_item_are_merged_and_zeros_dropped() -> None:
    day = date(2026, 9, 3)
    merged = rules.merge([rules.Increment(day, "k", {"received": 1}), rules.Increment(day, "k", {"received": -1}),
                          rules.Increment(day, "k", {"answered": 1})])
    assert [(m.key, m.counts) for m in merged] == [("k", {"received": 0, "answered": 1})]


def test_callbacks_count_on_their_due_day_and_within_thirty_minutes() -> None:
    due = at("2026-08-25T10:00")
    assert rules.on_callback(ticket(), due, None)[0].counts == {"callbacks_due": 1}
    assert rules.on_callback(ticket(), due, due + timedelta(minutes=30))[0].counts == {"callbacks_done": 1,
                                                                                      "callbacks_within_30": 1}
    assert rules.on_callback(ticket(), due, due + timedelta(minutes=31))[0].counts == {"callbacks_done": 1}


@pytest.mark.parametrize("day,grain,label", [("2026-11-30", "week", "2026-W49"), ("2026-11-30", "quarter", "2026-Q4"),
                                             ("2026-01-01", "month", "2026-01"), ("2026-01-01", "year", "2026")])
def test_series_buckets(day: str, grain: str, label: str) -> None:
    assert service.bucket_of(date.fromisoformat(day), grain) == label


REF = SimpleNamespace(categories={"giao-thong": 1}, agencies={"so-xay-dung": 1}, areas={"tan-ninh": 1})


def test_the_query_defaults_to_this_month_and_refuses_bad_input() -> None:
    query = service.parse_query({}, REF, at("2026-11-30T23:30"))
    assert (query.start, query.end, query.grain) == (date(2026, 11, 1), date(2026, 11, 30), "day")
    year = service.parse_query({"from": "2026-01-01", "to": "2026-12-31"}, REF, at("2026-11-30T10:00"))
    assert year.grain == "month"
    for raw in ({"from": "2026-13-01"}, {"from": "2026-11-02", "to": "2026-11-01"}, {"grain": "hour"},
                {"agency": "khong-co"}, {"from": "2020-01-01", "to": "2026-01-01"}):
        with pytest.raises(ValidationFailed) as refused:
            service.parse_query(raw, REF, at("2026-11-30T10:00"))
        assert refused.value.errors[0].vi and refused.value.errors[0].en
