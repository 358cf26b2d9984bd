"""The hotline's call rules (chalicelib/domain/calls.py): open or closed, the route of a call, what its
events say in any order, and when a call nobody answered must be returned."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from itertools import permutations

import pytest

from chalicelib.domain import calls
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.roster import INTERNAL, Entry
from chalicelib.domain.reference import parse_reference
from chalicelib.store.reference import seed_document

REF = parse_reference(seed_document())
OPENS, CLOSES, CALENDAR = REF.hotline_opens, REF.hotline_closes, REF.calendar
ON_DUTY = [Entry(f"op{i}@1022.vn", f"Op {i}", INTERNAL, f"op{i}", frozenset(range(7)), time(7), time(20))
           for i in range(1, 6)]


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def plan(at: str, duty: list[Entry] | None = None) -> calls.RoutePlan:
    return calls.plan(vn(at), OPENS, CLOSES, CALENDAR, ON_DUTY if duty is None else duty, REF.telephony)


def test_in_hours_with_operators_on_duty_rings_at_most_three_then_the_queue_message() -> None:
    route = plan("2026-12-01T10:00")
    assert route.route == calls.ROUTE_OPERATORS
    assert [r.target for r in route.rings] == ["op1", "op2", "op3"]
    assert "Các tổng đài viên đang bận" in route.message
    assert route.record is False  # recording only when reference data says so
    assert calls.next_ring([r.document() for r in route.rings], 1).target == "op2"
    assert calls.next_ring([r.document() for r in route.rings], 3) is None


@pytest.mark.parametrize("at, holiday", [("2026-12-01T20:00", False), ("2026-12-01T06:59", False),
                                         ("2027-01-01T10:00", True)])
def test_after_20_before_7_and_on_a_holiday_the_caller_hears_the_hours_and_the_website(at: str, holiday: bool) -> None:
    route = plan(at)
    assert route.route == calls.ROUTE_CLOSED and not route.rings
    assert "7 giờ đến 20 giờ" in route.message and REF.telephony.website in route.message
    assert ("ngày nghỉ lễ" in route.message) is holiday


def test_in_hours_with_nobody_on_duty_goes_to_voicemail() -> None:
    route = plan("2026-12-01T10:00", duty=[])
    assert route.route == calls.ROUTE_NOBODY and "lời nhắn" in route.message


def test_next_opening_skips_the_night_and_holidays() -> None:
    assert calls.next_opening(vn("2026-12-01T21:30"), OPENS, CLOSES, CALENDAR) == vn("2026-12-02T07:00")
    assert calls.next_opening(vn("2026-12-01T05:00"), OPENS, CLOSES, CALENDAR) == vn("2026-12-01T07:00")
    assert calls.next_opening(vn("2026-12-31T20:30"), OPENS, CLOSES, CALENDAR) == vn("2027-01-02T07:00")
    moment = vn("2026-12-01T12:00")
    assert calls.next_opening(moment, OPENS, CLOSES, CALENDAR) == moment


def test_a_missed_call_is_due_half_an_hour_later_in_hours_else_at_the_next_opening() -> None:
    assert calls.task_due(vn("2026-12-01T10:00"), OPENS, CLOSES, CALENDAR) == vn("2026-12-01T10:30")
    assert calls.task_due(vn("2026-12-01T19:45"), OPENS, CLOSES, CALENDAR) == vn("2026-12-02T07:00")
    assert calls.task_due(vn("2026-12-01T22:10"), OPENS, CLOSES, CALENDAR) == vn("2026-12-02T07:00")
    assert calls.task_due(vn("2026-12-31T22:10"), OPENS, CLOSES, CALENDAR) == vn("2027-01-02T07:00")


def _apply(call: dict, status: str, **kwargs: object) -> None:
    """Applies an event as the store does: once per status, only its own facts."""
    if status in call["statuses"]:
        return
    call["statuses"].add(status)
    call.update(calls.event_facts(status, **kwargs).facts)  # type: ignore[arg-type]


def test_events_in_any_order_and_repeated_give_the_same_answered_call() -> None:
    start = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
    events = [("ringing", {"at": start + timedelta(seconds=2)}),
              ("answered", {"at": start + timedelta(seconds=9), "to_number": "op2"}),
              ("ended", {"at": start + timedelta(seconds=99), "duration_s": 99, "answer_duration_s": 90,
                         "end_cause": "200 OK", "ended_by": "EXTERNAL"})]
    results = []
    for order in permutations(events + events[1:2]):
        call = {"statuses": set(), "direction": calls.IN, "route": calls.ROUTE_OPERATORS, "created_at": start,
                "rings": [{"kind": INTERNAL, "target": t, "staff": f"{t}@1022.vn"} for t in ("op1", "op2")]}
        for status, kwargs in order:
            _apply(call, status, **kwargs)
        results.append((calls.outcome(call), calls.answered_by(call), calls.wait_seconds(call), calls.talk_seconds(call)))
    assert set(results) == {(calls.ANSWERED, "op2@1022.vn", 9, 90)}


def _ended(route: str, tried: int = 0, rings: int = 2, **extra: object) -> dict:
    call = {"statuses": {"ringing", "ended"}, "direction": calls.IN, "route": route, "tried": tried,
            "rings": [{"kind": INTERNAL, "target": f"op{i}", "staff": f"op{i}@x"} for i in range(rings)],
            "end_cause": "16 Normal Clearing"}
    call.update(extra)
    return call


def test_outcomes_derived_from_the_facts() -> None:
    assert calls.outcome({**_ended(calls.ROUTE_OPERATORS), "statuses": {"ringing"}}) is None  # still going on
    assert calls.outcome(_ended(calls.ROUTE_OPERATORS, tried=0)) == calls.ABANDONED
    assert calls.outcome(_ended(calls.ROUTE_OPERATORS, tried=2)) == calls.MISSED
    assert calls.outcome(_ended(calls.ROUTE_OPERATORS, tried=2, last_fail="486 Busy Here")) == calls.BUSY
    assert calls.outcome(_ended(calls.ROUTE_OPERATORS, tried=2, voicemail_url="https://r/1.wav")) == calls.VOICEMAIL
    assert calls.outcome(_ended(calls.ROUTE_CLOSED)) == calls.AFTER_HOURS
    assert calls.outcome(_ended(calls.ROUTE_CLOSED, voicemail_url="https://r/1.wav")) == calls.VOICEMAIL
    assert calls.outcome(_ended(calls.ROUTE_NOBODY)) == calls.MISSED
    assert calls.NEEDS_CALLBACK == set(calls.OUTCOMES) - {calls.ANSWERED}


def test_talk_time_is_an_operators_answer_only_when_no_leg_is_known_and_the_call_was_not_recorded() -> None:
    rang = _ended(calls.ROUTE_OPERATORS, tried=0, answer_duration_s=40)
    assert calls.outcome(rang) == calls.ANSWERED  # the end before the answer event: talk while ringing operators
    assert calls.outcome({**rang, "record": True}) == calls.ABANDONED  # `record` answered the caller's leg at once
    assert calls.outcome({**rang, "answered_target": "842763661022"}) == calls.ABANDONED  # a leg, not an operator's
    assert calls.outcome({**rang, "record": True, "answered_target": "op1"}) == calls.ANSWERED


def test_an_operator_answering_from_home_is_recognised_however_the_number_is_written() -> None:
    rings = [{"kind": "internal", "target": "op1", "staff": "op1@1022.vn"},
             {"kind": "external", "target": "+84912000111", "staff": "home@1022.vn"}]
    for spelled in ("84912000111", "+84912000111", "0912000111", "0912 000 111"):
        assert calls.answered_by({"rings": rings, "answered_target": spelled}) == "home@1022.vn"
    assert calls.answered_by({"rings": rings, "answered_target": "op1"}) == "op1@1022.vn"
    assert calls.answered_by({"rings": rings, "answered_target": "84912000112"}) is None


def test_a_foreign_callers_marker_key_and_the_message_without_voicemail() -> None:
    assert {calls.raw_caller_key(raw) for raw in ("14155550123", "+1 415-555-0123", "+1 (415) 555.0123")} == {
        "+14155550123"}
    assert calls.raw_caller_key(" user_7 ") == "user_7"
    spoken = calls.unattended_message(OPENS, CLOSES, REF.telephony)
    assert "tiếng bíp" not in spoken and REF.telephony.website in spoken and "7 giờ đến 20 giờ" in spoken
    assert "tiếng bíp" not in calls.unattended_message(None, None, None)


def test_the_telephony_block_is_validated() -> None:
    problems: list[str] = []
    parsed = calls.parse_telephony({"record_calls": "yes", "max_operators": 0, "callback_email": "nobody"},
                                   lambda where, vi, en: problems.append(where))
    assert problems == ["telephony.record_calls", "telephony.callback_email", "telephony.max_operators"]
    assert parsed == calls.Telephony()


def test_the_seed_states_the_telephony_defaults_and_a_change_to_them_is_named_in_the_history() -> None:
    import copy
    import json

    from chalicelib.domain.calls import Telephony, parse_telephony
    from chalicelib.domain.reference_diff import diff, summary
    from tests.conftest import ROOT

    seed = json.loads((ROOT / "chalicelib" / "data" / "reference.json").read_text(encoding="utf-8"))
    problems: list[tuple[str, ...]] = []
    assert parse_telephony(seed["telephony"], lambda *bad: problems.append(bad)) == Telephony() and not problems
    changed = copy.deepcopy(seed)
    changed["telephony"]["ring_seconds"] = 25
    assert summary(diff(seed, changed)) == "Tổng đài (cuộc gọi): sửa 1"
    [section] = diff(seed, changed)
    assert section.changed[0].label == "Số giây đổ chuông mỗi tổng đài viên" and section.changed[0].changes == ("20 → 25",)


def test_nothing_in_the_stack_logs_request_paths_or_query_strings() -> None:
    """answer_url brings the caller's number in its query string (Stringee's format): API Gateway must keep no
    access log, no execution log with data, no X-Ray trace (their URLs hold query strings), and the Lambda
    logger must not log whole events (docs/privacy.md)."""
    from tests.conftest import ROOT

    sources = {path.name: path.read_text(encoding="utf-8")
               for path in [*(ROOT / "infra").glob("*.json"), ROOT / ".chalice" / "config.json"]}
    assert "api.json" in sources and "resources.json" in sources
    for name, text in sources.items():
        for setting in ("AccessLogSetting", "AccessLogDestinationArn", "LoggingLevel", "DataTraceEnabled",
                        "TracingEnabled", "POWERTOOLS_LOGGER_LOG_EVENT", '"xray"'):
            assert setting not in text, f"{setting} in {name}"


def test_a_call_backs_events_belong_to_our_id_when_they_carry_it_else_to_stringees() -> None:
    ours = "cb-" + "0a" * 12
    assert calls.event_call_key("call-vn-1-ABC", ours) == ours
    for custom in ("", "call-vn-1-ABC", "try:0", "cb-nothex!", ours + "ff" * 10):
        assert calls.event_call_key("call-vn-1-ABC", custom) == "call-vn-1-ABC"


def test_a_call_back_rings_the_line_on_duty_now_else_the_first_and_ignores_away() -> None:
    from chalicelib.domain.roster import EXTERNAL, Roster, callback_line

    console = Entry("lan@1022.vn", "Lan", INTERNAL, "op_lan", frozenset(range(5)), time(7), time(20))
    home = Entry("lan@1022.vn", "Lan", EXTERNAL, "+84912000777", frozenset({5, 6}), time(7), time(20))
    other = Entry("minh@1022.vn", "Minh", INTERNAL, "op_minh", frozenset(range(7)), time(0), time(23, 59))
    roster = Roster(3, (other, console, home), frozenset({"lan@1022.vn"}))
    assert callback_line(roster, "Lan@1022.vn", vn("2026-12-05T09:00")) == home      # Saturday, away or not
    assert callback_line(roster, "lan@1022.vn", vn("2026-12-01T09:00")) == console   # Tuesday
    assert callback_line(roster, "lan@1022.vn", vn("2026-12-01T22:00")) == console   # off duty: the first line
    assert callback_line(roster, "nobody@1022.vn", vn("2026-12-01T09:00")) is None
