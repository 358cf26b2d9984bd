"""Calls to the hotline against the emulator: Stringee's signed webhooks through the app (answer_url's
route decisions, the continueOnFail chain, events in any order and twice), the AWS calls each costs, the
callback tasks missed calls become (merged per caller, due in the hotline's hours, reminded, closed by a
call back) and a scripted call from the fake Stringee over real HTTP."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import threading
from datetime import datetime, time, timedelta
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from chalicelib import aws
from chalicelib.channels import stringee
from chalicelib.domain import calls as rules
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.permissions import OPERATOR, SUPERVISOR, StaffUser
from chalicelib.domain.roster import EXTERNAL, INTERNAL, Entry, Roster
from chalicelib.services import call_control, schedules, telephony
from chalicelib.store import calls as store
from chalicelib.store import outbound, roster
from chalicelib.store.reference import load_reference
from devstack.fakes import LOCAL_SECRETS
from tests.conftest import ROOT, unique_phone

SECRET = LOCAL_SECRETS["stringee_signing_secret"]
ANSWER = "/webhooks/stringee/answer"
OPERATORS = ("op-lan@1022.vn", "op-minh@1022.vn")
DESK = StaffUser("sub-op", OPERATORS[0], "Lan", frozenset({OPERATOR}))
BOSS = StaffUser("sub-sup", "sup@1022.vn", "Giám sát", frozenset({SUPERVISOR}))


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


IN_HOURS = vn("2026-12-01T10:00")  # a Tuesday


@pytest.fixture(scope="module", autouse=True)
def on_duty(stack: Any, providers: Any) -> Iterator[None]:
    """Two operators on duty every day 07:00-20:00 (softphones op_lan, op_minh); the signing secret in SSM."""
    load_reference()
    current = roster.current(consistent=True)
    entries = tuple(Entry(email, email, INTERNAL, email.split("@")[0].replace("-", "_"), frozenset(range(7)),
                          time(7), time(20)) for email in OPERATORS)
    roster.save(Roster(current.version, entries), current.version, "staff:test", IN_HOURS)
    for email in OPERATORS:
        roster.set_away(email, False, IN_HOURS)
    yield


@contextlib.contextmanager
def aws_calls() -> Iterator[list[str]]:
    """The DynamoDB calls the app's client makes inside the block (PynamoDB's too)."""
    made: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        made.append(event_name.rsplit(".", 1)[-1])

    events = aws.client("dynamodb").meta.events
    events.register("before-call.dynamodb", count)
    try:
        yield made
    finally:
        events.unregister("before-call.dynamodb", count)


def new_call_id() -> str:
    import secrets

    return f"call-vn-1-{secrets.token_hex(5).upper()}"


def offer(call_id: str, caller: str, now: datetime, signature: str | None = None) -> Any:
    """The answer_url GET as the service gets it (query decoded), signed like Stringee."""
    query = {"from": caller, "to": "842763661022", "fromInternal": "false", "uuid": call_id}
    uri = ANSWER + "?" + urlencode(query, safe="")
    return call_control.answer(query, signature if signature is not None else stringee.signature(uri, SECRET), "",
                               "https://hotline.example", now=now)


def signed(payload: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, stringee.signature(body, SECRET)


def event(call_id: str, status: str, at: datetime, **extra: Any) -> dict[str, Any]:
    body, signature = signed({"call_status": status, "call_id": call_id, "timestamp_ms": int(at.timestamp() * 1000),
                              "from": {"number": "84909982888", "type": "external"}, **extra})
    return call_control.event(body, signature)


def end(call_id: str, at: datetime, answered_s: int = 0, cause: str = "16 Normal Clearing",
        **extra: Any) -> dict[str, Any]:
    return event(call_id, "ended", at, endCallCause=cause, endedBy="EXTERNAL", duration=answered_s + 10,
                 answerDuration=answered_s, **extra)


def fail(call_id: str, tried: int, cause: str = "486 Busy Here") -> list[dict[str, Any]]:
    body, signature = signed({"call_status": "ended", "call_id": call_id, "endCallCause": cause})
    return call_control.on_fail(body, signature, call_id, str(tried), "https://hotline.example",
                                token=stringee.query_token(SECRET, call_id, str(tried)))


def leave_voicemail(call_id: str) -> dict[str, Any]:
    body, signature = signed({"call_id": call_id, "recording_url": f"https://rec.example/{call_id}.wav", "duration": 12})
    return call_control.voicemail(body, signature, call_id, "voicemail",
                                  token=stringee.query_token(SECRET, call_id, "", "voicemail"))


def metrics(capsys: Any) -> list[dict[str, Any]]:
    """The EMF metric lines printed so far (chalicelib.observability.count)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"CloudWatchMetrics"' in line]


# --- answer_url: the route of a call ----------------------------------------------------------------

def test_in_hours_the_call_rings_the_first_operator_with_two_aws_calls(stack: Any) -> None:
    offer(new_call_id(), unique_phone(), IN_HOURS)  # warm: reference data and the secret are cached per container
    call_id, phone = new_call_id(), unique_phone()
    with aws_calls() as made:
        actions = offer(call_id, phone, IN_HOURS)
    assert made == ["GetItem", "TransactWriteItems"]  # the roster; the call, its day entry, live marker, person marker
    connect = actions[0]
    assert connect["action"] == "connect" and connect["to"]["type"] == "internal" and connect["continueOnFail"]
    assert connect["to"]["number"] in ("op_lan", "op_minh")
    query = dict(parse_qsl(urlsplit(connect["onFailEventUrl"]).query))
    assert query == {"call": call_id, "try": "1", "t": stringee.query_token(SECRET, call_id, "1")}
    assert phone not in json.dumps(actions)  # no phone in any URL we hand out
    assert [a["action"] for a in actions[1:]] == ["talk", "recordMessage"]
    assert "Các tổng đài viên đang bận" in actions[1]["text"]
    live = {c["call_id"]: c for c in telephony.live_calls(DESK, IN_HOURS)}
    assert live[call_id]["status"] == "ringing" and live[call_id]["caller_display"].startswith(phone[:4])


def test_answer_url_client_calls_of_every_service_on_a_cold_and_a_warm_container(stack: Any, monkeypatch: Any) -> None:
    from botocore.client import BaseClient

    from chalicelib import secrets
    from chalicelib.store import reference

    made: list[str] = []
    real = BaseClient._make_api_call

    def counted(client: Any, operation: str, params: Any) -> Any:
        made.append(f"{client.meta.service_model.service_name}.{operation}")
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    monkeypatch.setattr(secrets, "_cache", {})  # a new container: no secret, no reference data cached
    monkeypatch.setattr(reference, "_cache", None)
    offer(new_call_id(), unique_phone(), IN_HOURS)
    cold, made[:] = list(made), []
    offer(new_call_id(), unique_phone(), IN_HOURS)
    # cold: the signing secret (SSM), the reference data and the roster (one BatchGetItem), the call
    assert cold == ["ssm.GetParameter", "dynamodb.BatchGetItem", "dynamodb.TransactWriteItems"]
    assert made == ["dynamodb.GetItem", "dynamodb.TransactWriteItems"]  # warm: the roster, the call


@pytest.mark.parametrize("when, holiday", [("2026-12-01T20:05", False), ("2026-12-02T06:30", False),
                                           ("2027-01-01T10:00", True)])
def test_outside_hours_and_on_holidays_the_caller_hears_the_hours_then_voicemail(stack: Any, when: str,
                                                                                  holiday: bool) -> None:
    actions = offer(new_call_id(), unique_phone(), vn(when))
    assert [a["action"] for a in actions] == ["talk", "recordMessage"]
    assert "7 giờ đến 20 giờ" in actions[0]["text"] and ("nghỉ lễ" in actions[0]["text"]) is holiday
    assert urlsplit(actions[1]["eventUrl"]).path == "/webhooks/stringee/voicemail"


def test_in_hours_with_everyone_away_the_caller_goes_to_voicemail(stack: Any) -> None:
    for email in OPERATORS:
        roster.set_away(email, True, IN_HOURS)
    try:
        actions = offer(new_call_id(), unique_phone(), IN_HOURS)
    finally:
        for email in OPERATORS:
            roster.set_away(email, False, IN_HOURS)
    assert [a["action"] for a in actions] == ["talk", "recordMessage"]
    assert "chưa có tổng đài viên trực" in actions[0]["text"]


def test_a_failed_operator_passes_the_call_on_then_the_queue_message_and_voicemail(stack: Any) -> None:
    call_id = new_call_id()
    first = offer(call_id, unique_phone(), IN_HOURS)[0]["to"]["number"]
    with aws_calls() as made:
        second = fail(call_id, 1)
    assert len(made) <= 2
    assert second[0]["action"] == "connect" and second[0]["to"]["number"] != first
    assert dict(parse_qsl(urlsplit(second[0]["onFailEventUrl"]).query))["try"] == "2"
    assert fail(call_id, 1) == second  # Stringee repeating its POST gets the same answer
    last = fail(call_id, 2)
    assert [a["action"] for a in last] == ["talk", "recordMessage"] and "đang bận" in last[0]["text"]


def test_an_unverified_offer_gets_the_safe_answer_a_forged_post_is_refused_nothing_stored_and_both_counted(
        stack: Any, client: Any, capsys: Any) -> None:
    call_id = new_call_id()
    query = urlencode({"from": "0909982888", "to": "842763661022", "uuid": call_id})
    capsys.readouterr()
    response = client.http.get(f"{ANSWER}?{query}", headers={stringee.SIGNATURE_HEADER: "Zm9yZ2Vk"})
    # a Request-URI we rebuild unlike Stringee's must not be an outage: message and voicemail, no operator
    assert response.status_code == 200
    actions = json.loads(response.body)
    assert [a["action"] for a in actions] == ["talk", "recordMessage"] and "connect" not in response.body.decode()
    assert actions[0]["text"] == rules.FALLBACK_MESSAGE
    body = json.dumps({"call_status": "answered", "call_id": call_id}).encode()
    response = client.http.post("/webhooks/stringee/event", body=body,
                                headers={"Content-Type": "application/json", stringee.SIGNATURE_HEADER: "Zm9yZ2Vk"})
    assert response.status_code == 403
    assert store.get(call_id) is None
    assert call_id not in {c["call_id"] for c in telephony.live_calls(DESK, IN_HOURS)}
    counted = [(m["provider"], m["reason"]) for m in metrics(capsys) if "WebhookRejected" in m]
    assert counted == [("stringee", "signature"), ("stringee", "signature")]
    # the voicemail it offers is kept once Stringee's own signed POST brings it
    url = urlsplit(actions[1]["eventUrl"])
    recording = json.dumps({"call_id": call_id, "recording_url": "https://rec.example/x.wav"}).encode()
    response = client.http.post(f"{url.path}?{url.query}", body=recording, headers={
        "Content-Type": "application/json", stringee.SIGNATURE_HEADER: stringee.signature(recording, SECRET)})
    assert response.status_code == 200 and store.get(call_id)["voicemail_url"] == "https://rec.example/x.wav"


def test_a_replayed_body_steered_to_another_call_is_refused_and_our_url_names_the_call(stack: Any,
                                                                                       client: Any) -> None:
    victim, mine = new_call_id(), new_call_id()
    offer(victim, unique_phone(), IN_HOURS)
    voicemail_url = urlsplit(offer(mine, unique_phone(), IN_HOURS)[2]["eventUrl"])
    genuine = json.dumps({"recording_url": "https://rec.example/mine.wav", "duration": 3}).encode()
    headers = {"Content-Type": "application/json", stringee.SIGNATURE_HEADER: stringee.signature(genuine, SECRET)}
    steered = voicemail_url.query.replace(f"call={mine}", f"call={victim}")
    assert client.http.post(f"{voicemail_url.path}?{steered}", body=genuine, headers=headers).status_code == 403
    body, signature = signed({"call_status": "ended", "call_id": mine, "endCallCause": "486 Busy Here"})
    for tried, token in (("2", stringee.query_token(SECRET, mine, "1")), ("1", None)):
        with pytest.raises(Forbidden):  # a changed ?try=, or no token: not our URL
            call_control.on_fail(body, signature, mine, tried, "https://hotline.example", token=token)
    assert "voicemail_url" not in store.get(victim) and not store.get(mine).get("fails")
    # Stringee's onFail body may name the failed leg's own call id: our signed URL names the call, the
    # next operator is rung (the chain must not stop on it)
    leg, leg_signature = signed({"call_status": "ended", "call_id": "leg-" + mine, "endCallCause": "486 Busy Here"})
    nxt = call_control.on_fail(leg, leg_signature, mine, "1", "https://hotline.example",
                               token=stringee.query_token(SECRET, mine, "1"))
    assert nxt[0]["action"] == "connect" and store.get(mine)["fails"] == {"1"}
    # a body naming another call, posted to the URL we signed for `mine`: it is `mine`'s, never the other's
    other = json.dumps({"call_id": victim, "recording_url": "https://rec.example/mine.wav"}).encode()
    assert client.http.post(f"{voicemail_url.path}?{voicemail_url.query}", body=other, headers={
        "Content-Type": "application/json", stringee.SIGNATURE_HEADER: stringee.signature(other, SECRET)}
    ).status_code == 200
    assert "voicemail_url" not in store.get(victim)
    assert store.get(mine)["voicemail_url"] == "https://rec.example/mine.wav"


def test_the_answer_route_serves_a_json_scco_and_never_a_5xx(stack: Any, client: Any, monkeypatch: Any) -> None:
    call_id = new_call_id()
    query = {"from": "0909982888", "to": "842763661022", "fromInternal": "false", "uuid": call_id}
    uri = f"{ANSWER}?{urlencode(query)}"
    headers = {stringee.SIGNATURE_HEADER: stringee.signature(uri, SECRET)}
    response = client.http.get(uri, headers=headers)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert isinstance(json.loads(response.body), list)

    def broken(*_: Any) -> Any:
        raise RuntimeError("the table is gone")

    monkeypatch.setattr(store, "record_offer", broken)
    response = client.http.get(uri, headers=headers)
    assert response.status_code == 200
    actions = json.loads(response.body)
    assert [a["action"] for a in actions] == ["talk", "recordMessage"]  # the safe answer


# --- events ----------------------------------------------------------------------------------------

def test_events_out_of_order_and_repeated_make_one_answered_call_with_at_most_three_aws_calls(stack: Any) -> None:
    call_id, phone = new_call_id(), unique_phone()
    target = offer(call_id, phone, IN_HOURS)[0]["to"]["number"]
    start = IN_HOURS
    counts = []
    for status, at, extra in [("ended", start + timedelta(seconds=100), {"endCallCause": "200 OK", "duration": 100,
                                                                           "answerDuration": 88}),
                              ("answered", start + timedelta(seconds=12), {"to": {"number": target, "type": "internal"}}),
                              ("answered", start + timedelta(seconds=12), {"to": {"number": target, "type": "internal"}}),
                              ("ringing", start + timedelta(seconds=1), {})]:
        with aws_calls() as made:
            event(call_id, status, at, **extra)
        counts.append(len(made))
    assert max(counts) <= 3
    call = store.get(call_id)
    assert call["statuses"] == {"ended", "answered", "ringing"}
    assert call["finalised"] == rules.ANSWERED and rules.answered_by(call) == f"{target.replace('_', '-')}@1022.vn"
    assert rules.wait_seconds(call) == 12 and rules.talk_seconds(call) == 88
    assert call_id not in {c["call_id"] for c in telephony.live_calls(DESK, IN_HOURS)}
    assert store.task(store.task_key(phone)) is None  # an answered call leaves nothing to do
    log = telephony.call_log(BOSS, IN_HOURS.date(), rules.ANSWERED)
    row = next(r for r in log["calls"] if r["call_id"] == call_id)
    assert row["outcome_label"] == "Đã nghe máy" and row["wait_s"] == 12


@contextlib.contextmanager
def roster_of(*entries: Entry) -> Iterator[None]:
    """The roster replaced by `entries` inside the block (the two softphones again after it)."""
    before = roster.current(consistent=True)
    roster.save(Roster(before.version, entries), before.version, "staff:test", IN_HOURS)
    try:
        yield
    finally:
        now = roster.current(consistent=True)
        roster.save(Roster(now.version, before.entries), now.version, "staff:test", IN_HOURS)


def test_an_operator_answering_from_home_is_rung_without_plus_and_named_as_who_answered(stack: Any) -> None:
    home = Entry(OPERATORS[1], "Minh", EXTERNAL, "+84912000111", frozenset(range(7)), time(7), time(20))
    call_id = new_call_id()
    with roster_of(home):
        connect = offer(call_id, unique_phone(), IN_HOURS)[0]
    assert connect["to"] == {"type": "external", "number": "84912000111", "alias": "84912000111"}
    # Stringee names the answering phone its own way (no "+"): still the operator on the roster
    event(call_id, "answered", IN_HOURS + timedelta(seconds=9), to={"number": "84912000111", "type": "external"})
    popped = {c["call_id"]: c for c in telephony.live_calls(DESK, IN_HOURS)}[call_id]
    assert popped["status"] == "answered" and popped["answered_by"] == OPERATORS[1]
    assert end(call_id, IN_HOURS + timedelta(minutes=2), answered_s=100)["outcome"] == rules.ANSWERED
    row = next(r for r in telephony.call_log(BOSS, IN_HOURS.date(), rules.ANSWERED)["calls"] if r["call_id"] == call_id)
    assert row["answered_by"] == OPERATORS[1] and row["talk_s"] == 100


def test_a_recorded_call_abandoned_while_ringing_is_abandoned_until_an_operator_answers(stack: Any,
                                                                                      monkeypatch: Any) -> None:
    import time as clock

    from chalicelib.store import reference

    ref = load_reference()
    recorded = dataclasses.replace(ref, telephony=dataclasses.replace(ref.telephony, record_calls=True))
    monkeypatch.setattr(reference, "_cache", (clock.monotonic(), recorded))
    waited, taken = new_call_id(), new_call_id()
    for call_id in (waited, taken):
        assert offer(call_id, unique_phone(), IN_HOURS)[0]["action"] == "record"
    # `record` answers the caller's leg at once: 25 s of "answerDuration" were ringing, nobody took it
    assert end(waited, IN_HOURS + timedelta(seconds=30), answered_s=25)["outcome"] == rules.ABANDONED
    assert store.task(store.task_key(store.get(waited)["caller"])) is not None
    # the same end before an operator's answer event: abandoned, then answered when the answer comes
    assert end(taken, IN_HOURS + timedelta(minutes=3), answered_s=170)["outcome"] == rules.ABANDONED
    taken_phone = store.get(taken)["caller"]
    assert store.task(store.task_key(taken_phone)).call_ids == {taken}
    event(taken, "answered", IN_HOURS + timedelta(seconds=12), to={"number": "op_lan", "type": "internal"})
    call = store.get(taken)
    assert call["finalised"] == rules.ANSWERED and rules.answered_by(call) == OPERATORS[0]
    row = next(r for r in telephony.call_log(BOSS, IN_HOURS.date(), rules.ANSWERED)["calls"] if r["call_id"] == taken)
    assert row["answered_by"] == OPERATORS[0] and row["wait_s"] == 12
    # the task it opened held only this call: closed with it, as answered later
    assert store.task(store.task_key(taken_phone)) is None
    [closed] = [t for t in store.tasks_of(taken_phone) if t.sk.startswith("DONE#")]
    assert (closed.outcome, closed.closed_by) == (rules.ANSWERED_LATER, store.TASK_OPERATOR)
    # a caller with an earlier missed call keeps the task for it; the call answered late leaves it
    phone = unique_phone()
    missed, late = new_call_id(), new_call_id()
    offer(missed, phone, IN_HOURS)
    end(missed, IN_HOURS + timedelta(seconds=20))
    offer(late, phone, IN_HOURS + timedelta(minutes=5))
    end(late, IN_HOURS + timedelta(minutes=8), answered_s=170)
    key = store.task_key("+84" + phone[1:])
    assert store.task(key).call_ids == {missed, late}
    event(late, "answered", IN_HOURS + timedelta(minutes=5, seconds=9), to={"number": "op_lan", "type": "internal"})
    kept = store.task(key)
    assert kept.call_ids == {missed} and kept.calls == 1 and store.get(late)["finalised"] == rules.ANSWERED


def test_an_end_read_before_the_offer_landed_never_makes_a_second_log_entry(stack: Any) -> None:
    call_id, phone = new_call_id(), unique_phone()
    # the `ended` event reads the call first (its offer's transaction still in flight) ...
    stale, _ = store.apply_event(call_id, "ended", {"ended_at": IN_HOURS + timedelta(seconds=40), "answer_duration_s": 0},
                                 IN_HOURS + timedelta(seconds=40), IN_HOURS + timedelta(days=365))
    assert "day_sk" not in stale
    offer(call_id, phone, IN_HOURS)  # ... then the answer_url's write lands
    assert call_control._finish(stale, IN_HOURS + timedelta(minutes=1)) == rules.ABANDONED  # read again, once
    entries, _ = store.day_log(IN_HOURS.date(), None, None, limit=500)
    assert [e.call_id for e in entries].count(call_id) == 1
    assert store.get(call_id)["day_sk"].endswith(call_id)


def test_without_a_signing_secret_the_caller_hears_where_else_to_report_and_posts_answer_503(
        stack: Any, client: Any, monkeypatch: Any, capsys: Any) -> None:
    from chalicelib import secrets
    from chalicelib.notify import stringee as callouts  # imported first: it binds `secret` at import

    def missing(name: str) -> str:
        raise secrets.MissingSecret(name)

    monkeypatch.setattr(secrets, "secret", missing)
    monkeypatch.setattr(callouts, "secret", missing)
    capsys.readouterr()
    call_id = new_call_id()
    actions = offer(call_id, unique_phone(), IN_HOURS)
    assert [a["action"] for a in actions] == ["talk"] and "tiếng bíp" not in actions[0]["text"]
    assert "gọi lại từ 7 giờ đến 20 giờ" in actions[0]["text"] and load_reference().telephony.website in actions[0]["text"]
    assert store.get(call_id) is None
    body, signature = signed({"call_status": "ended", "call_id": call_id})
    for path in ("/webhooks/stringee/event", f"/webhooks/stringee/voicemail?call={call_id}&kind=voicemail&t=x"):
        response = client.http.post(path, body=body, headers={"Content-Type": "application/json",
                                                               stringee.SIGNATURE_HEADER: signature})
        assert response.status_code == 503 and "stringee_signing_secret" in response.body.decode()
    assert [m["reason"] for m in metrics(capsys) if "WebhookRejected" in m] == ["no_secret"] * 3
    # "Gọi lại" without the API key: refused like a provider refusal, not an error page
    from chalicelib.notify.base import DeliveryFailed

    with pytest.raises(DeliveryFailed):
        telephony.call_back(DESK, unique_phone(), None, None, IN_HOURS)


def test_the_calls_of_a_foreign_number_are_found_and_erased_by_it(stack: Any) -> None:
    from chalicelib.services import privacy

    call_id, raw = new_call_id(), f"1415555{unique_phone()[-4:]}"
    offer(call_id, raw, IN_HOURS)
    end(call_id, IN_HOURS + timedelta(minutes=1))
    typed = f"+1 415-555-{raw[-4:]}"
    assert privacy.person_of(typed) == ("caller", "+" + raw)
    calls = [r for r in privacy.find_person(typed).records if r["kind"] == "call"]
    assert [r["key"] for r in calls] == [f"CALL#{call_id}|CALL"]
    privacy.erase_person(typed, requester="Chính chủ", reason="Yêu cầu xoá", approver="Chánh văn phòng",
                         actor="staff:admin@1022.vn", now=IN_HOURS + timedelta(hours=1))
    assert store.get(call_id) is None and not privacy.find_person(typed).records


def test_the_call_log_pages_through_a_day_newest_first_and_an_operator_sees_their_own(stack: Any) -> None:
    day = vn("2026-12-05T09:00")
    ids = [new_call_id() for _ in range(3)]
    for minute, call_id in enumerate(ids):
        offer(call_id, unique_phone(), day + timedelta(minutes=minute))
    event(ids[0], "answered", day + timedelta(seconds=5), to={"number": "op_lan", "type": "internal"})
    end(ids[0], day + timedelta(minutes=3), answered_s=120)
    first = telephony.call_log(BOSS, day.date())
    assert [r["call_id"] for r in first["calls"]] == ids[::-1] and first["next"] is None
    entries, after = store.day_log(day.date(), None, None, limit=2)
    rest, end_key = store.day_log(day.date(), None, after, limit=2)
    assert [e.call_id for e in entries + rest] == ids[::-1] and end_key is None
    assert [r["call_id"] for r in telephony.call_log(DESK, day.date())["calls"]] == [ids[0]]  # answered by op-lan


# --- callback tasks -------------------------------------------------------------------------------

def test_two_missed_calls_from_one_number_make_one_task_that_an_answered_call_back_closes(stack: Any,
                                                                                         monkeypatch: Any) -> None:
    phone = unique_phone()
    first, second = new_call_id(), new_call_id()
    for call_id, minute in ((first, 0), (second, 20)):
        at = IN_HOURS + timedelta(minutes=minute)
        offer(call_id, phone, at)
        fail(call_id, 1, "480 Temporarily Unavailable")  # rang out
        fail(call_id, 2, "480 Temporarily Unavailable")
        end(call_id, at + timedelta(minutes=1))
    e164 = "+84" + phone[1:]
    task = store.task(store.task_key(e164))
    assert task is not None and task.calls == 2 and task.call_ids == {first, second}
    assert task.due_at == IN_HOURS + timedelta(minutes=30)  # half an hour after the first call, in hours
    listed = next(t for t in telephony.open_tasks(DESK)["tasks"] if t["key"] == store.task_key(e164))
    assert listed["calls"] == 2 and listed["caller"] == e164 and listed["last_outcome"] == rules.MISSED

    placed: list[Any] = []
    stringee_1, stringee_2 = new_call_id(), new_call_id()  # Stringee's ids: the calls are stored under ours
    ids = iter((stringee_1, stringee_2))
    monkeypatch.setattr("chalicelib.notify.stringee.callout",
                        lambda hotline, to, actions, custom: placed.append((to, actions, custom)) or next(ids))
    key = store.task_key(e164)
    # The click only records an attempt: the task stays open, waiting for the call's result
    result = telephony.call_back(DESK, phone, None, None, IN_HOURS + timedelta(minutes=40))
    out_1 = result["call_id"]
    assert rules.CALLBACK_ID.fullmatch(out_1) and result["task_attempt"] is True
    (to, actions, custom), = placed
    assert custom == out_1 and actions[0]["customData"] == out_1
    assert to == [(INTERNAL, "op_lan")] and actions[0]["to"]["number"] == e164.lstrip("+")  # the operator first
    assert store.get(out_1)["direction"] == rules.OUT
    assert out_1 not in {c["call_id"] for c in telephony.live_calls(DESK, IN_HOURS)}  # no screen-pop of one's own call
    waiting = telephony.task_detail(DESK, key)
    assert waiting["attempt_at"] == "01/12/2026 10:40" and waiting["attempt_label"] == "đang chờ kết quả"
    # Nobody answers: the task stays open, its attempt not answered
    event(stringee_1, "ringing", IN_HOURS + timedelta(minutes=40, seconds=2), clientCustomData=out_1)
    assert end(stringee_1, IN_HOURS + timedelta(minutes=41), clientCustomData=out_1)["outcome"] == rules.MISSED
    assert store.get(out_1)["provider_call_id"] == stringee_1 and store.get(stringee_1) is None
    unanswered = telephony.task_detail(DESK, key)
    assert unanswered["status"] == "open" and unanswered["attempt_label"] == "không ai nghe máy"
    # Called back again, answered and talked: the call's end closes the task as called back
    second = telephony.call_back(DESK, phone, None, key, IN_HOURS + timedelta(minutes=50))
    out_2 = second["call_id"]
    assert second["task_attempt"] is True
    assert telephony.task_detail(DESK, key)["attempt_label"] == "đang chờ kết quả"
    event(stringee_2, "answered", IN_HOURS + timedelta(minutes=50, seconds=9), clientCustomData=out_2)
    with aws_calls() as made:
        assert end(stringee_2, IN_HOURS + timedelta(minutes=52), answered_s=110,
                   clientCustomData=out_2)["outcome"] == rules.ANSWERED
    assert made == ["UpdateItem", "GetItem", "TransactWriteItems"]  # the event, the task, the follow-ups
    assert store.task(key) is None
    closed = [t for t in store.tasks_of(e164) if t.sk.startswith("DONE#")]
    assert [(t.outcome, t.closed_by) for t in closed] == [("called_back", "staff:" + OPERATORS[0])]
    assert rules.TASK_CLOSED_LABELS[closed[0].outcome] == "Đã gọi lại được"
    # a later missed call opens a new task
    third = new_call_id()
    offer(third, phone, IN_HOURS + timedelta(hours=2))
    end(third, IN_HOURS + timedelta(hours=2, minutes=1))
    assert store.task(store.task_key(e164)).call_ids == {third}


def test_a_call_back_rings_the_operators_line_on_duty_now_even_when_marked_away(stack: Any,
                                                                              monkeypatch: Any) -> None:
    console = Entry(OPERATORS[0], "Lan", INTERNAL, "op_lan", frozenset(range(5)), time(7), time(20))
    home = Entry(OPERATORS[0], "Lan", EXTERNAL, "+84912000777", frozenset({5, 6}), time(7), time(20))
    placed: list[Any] = []
    monkeypatch.setattr("chalicelib.notify.stringee.callout",
                        lambda hotline, to, actions, custom: placed.append(to) or new_call_id())
    saturday, tuesday = vn("2026-12-05T09:00"), IN_HOURS
    with roster_of(console, home):  # the console line listed first
        telephony.call_back(DESK, unique_phone(), None, None, saturday)
        telephony.call_back(DESK, unique_phone(), None, None, tuesday)
        roster.set_away(OPERATORS[0], True, saturday)
        try:  # away stops the hotline ringing them, not their own call back: still the line of the day
            telephony.call_back(DESK, unique_phone(), None, None, saturday)
        finally:
            roster.set_away(OPERATORS[0], False, saturday)
        telephony.call_back(DESK, unique_phone(), None, None, vn("2026-12-01T21:30"))  # off duty: the first line
    assert placed == [[(EXTERNAL, "+84912000777")], [(INTERNAL, "op_lan")], [(EXTERNAL, "+84912000777")],
                      [(INTERNAL, "op_lan")]]


@pytest.fixture
def fake_callouts(stack: Any, providers: Any, monkeypatch: Any) -> Iterator[Any]:
    """The fake Stringee as the callout API, its callouts' signed events posted to the app's event service."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from chalicelib.config import settings
    from devstack.stringee import start_fake_stringee

    class Relay(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            call_control.event(body, self.headers.get("X-STRINGEE-SIGNATURE"))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    relay = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    fake = start_fake_stringee(event_url=f"http://127.0.0.1:{relay.server_address[1]}/webhooks/stringee/event")
    fake.state.callout_step_s = 0.05
    monkeypatch.setenv("STRINGEE_API_URL", fake.base)
    settings.cache_clear()
    yield fake
    fake.stop()
    relay.shutdown()
    relay.server_close()
    monkeypatch.undo()
    settings.cache_clear()


def _settled(key: str, done: Any, seconds: float = 5.0) -> Any:
    import time as clock

    deadline = clock.monotonic() + seconds
    while clock.monotonic() < deadline:
        found = store.task(key)
        if done(found):
            return found
        clock.sleep(0.05)
    raise AssertionError("the callout's events did not settle the task")


def test_a_call_back_through_stringee_closes_the_task_only_when_the_citizen_answers(fake_callouts: Any) -> None:
    from datetime import timezone

    phone, now = unique_phone(), datetime.now(timezone.utc)
    missed = new_call_id()
    offer(missed, phone, now - timedelta(minutes=10))
    end(missed, now - timedelta(minutes=9))
    key = store.task_key("+84" + phone[1:])
    # The citizen does not pick up: the callout's events leave the task open, the attempt not answered
    fake_callouts.state.callout_answers = False
    first = telephony.call_back(DESK, phone, None, key)
    assert first["task_attempt"] is True
    found = _settled(key, lambda t: t is not None and t.attempt_result == "no_answer")
    assert found.attempt_call == first["call_id"] and store.get(first["call_id"])["finalised"] == rules.MISSED
    # Called again, answered and talked (120 s): the events close it as called back
    fake_callouts.state.callout_answers = True
    second = telephony.call_back(DESK, phone, None, key)
    _settled(key, lambda t: t is None)
    [closed] = [t for t in store.tasks_of("+84" + phone[1:]) if t.sk.startswith("DONE#")]
    assert closed.outcome == "called_back" and closed.attempt_call == second["call_id"]
    assert store.get(second["call_id"])["finalised"] == rules.ANSWERED


def test_a_call_backs_events_arriving_before_the_callouts_answer_find_it_and_a_refusal_fails_it(
        fake_callouts: Any, client: Any) -> None:
    from chalicelib.notify.base import DeliveryFailed
    from chalicelib.services.lookup import staff_timeline

    phone = unique_phone()
    e164, key = "+84" + phone[1:], store.task_key("+84" + phone[1:])
    response = client.http.post("/api/v1/reports", headers={"Content-Type": "application/json"}, body=json.dumps(
        {"description": "Cống thoát nước trước nhà bị nghẹt", "phone": phone, "category": "chieu-sang",
         "area": "tan-ninh"}).encode())
    code = json.loads(response.body)["tracking_code"]
    missed = new_call_id()
    offer(missed, phone, IN_HOURS)
    end(missed, IN_HOURS + timedelta(minutes=1))
    # an offline softphone: Stringee's events (created … ended) all come before the callout's answer
    fake_callouts.state.callout_step_s, fake_callouts.state.callout_events_first = 0, True
    fake_callouts.state.callout_answers = False
    placed = telephony.call_back(DESK, phone, code, None)
    stringee_id = fake_callouts.state.callouts[-1]["call_id"]
    call = store.get(placed["call_id"])
    assert call["finalised"] == rules.MISSED and call["provider_call_id"] == stringee_id
    assert store.get(stringee_id) is None  # no second item under Stringee's id
    assert placed["task_attempt"] is True and store.task(key).attempt_result == "no_answer"
    assert [e["detail"]["call_id"] for e in staff_timeline(code) if e["kind"] == "call"] == [placed["call_id"]]
    # a callout Stringee refuses: the stored attempt is failed at once, nothing left waiting
    fake_callouts.state.replies.append((400, {"r": 7, "message": "invalid number"}))
    with pytest.raises(DeliveryFailed):
        telephony.call_back(DESK, phone, None, key)
    task = store.task(key)
    refused = store.get(task.attempt_call)
    assert task.attempt_call != placed["call_id"] and refused["finalised"] == rules.MISSED
    assert task.attempt_result == rules.ATTEMPT_FAILED
    assert telephony.task_detail(DESK, key)["attempt_label"] == "tổng đài chưa gọi được (nhà cung cấp từ chối)"
    assert e164 == refused["caller"] and not refused.get("provider_call_id")


def test_an_after_hours_voicemail_is_a_task_due_at_seven_with_the_callers_history(stack: Any) -> None:
    phone = unique_phone()
    e164 = "+84" + phone[1:]
    earlier, call_id = new_call_id(), new_call_id()
    offer(earlier, phone, vn("2026-12-01T15:00"))
    event(earlier, "answered", vn("2026-12-01T15:00:05"), to={"number": "op_lan", "type": "internal"})
    end(earlier, vn("2026-12-01T15:03"), answered_s=170)
    night = vn("2026-12-01T21:10")
    offer(call_id, phone, night)
    # the voicemail's link comes before the call's end: the end still finds it
    assert leave_voicemail(call_id)["new"] is True
    assert leave_voicemail(call_id)["new"] is False
    assert end(call_id, night + timedelta(minutes=1), cause="200 OK")["outcome"] == rules.VOICEMAIL
    task = telephony.task_detail(DESK, store.task_key(e164))
    assert task["due"] == vn("2026-12-02T07:00") and task["voicemails"] == [f"https://rec.example/{call_id}.wav"]
    context = telephony.call_context(DESK, call_id)
    assert [c["call_id"] for c in context["recent_calls"]] == [earlier]
    assert context["recent_calls"][0]["outcome"] == rules.ANSWERED

    # the reminder: one e-mail to the hotline when the task is due (07:00), none again
    sent = schedules.callback_reminders(vn("2026-12-02T07:00"))
    assert sent >= 1
    found = store.task(store.task_key(e164))
    assert found.reminded == {"overdue"}
    key = f"OUTBOX#calltask#{store.task_key(e164)}#{found.created_at:%Y%m%d%H%M%S}"
    mail = outbound.get_outbound(key, "OUT#OPEN#0")
    assert mail is not None and mail.recipient == load_reference().hotline_supervisor_email
    assert e164 not in mail.text and phone[-4:] in mail.text and "2 lần" not in mail.text
    schedules.callback_reminders(vn("2026-12-02T07:05"))
    assert store.task(store.task_key(e164)).reminded == {"overdue"}

    closed = telephony.task_outcome(DESK, store.task_key(e164), "reached", "Đã hướng dẫn gửi phản ánh qua Zalo",
                                    vn("2026-12-02T07:20"))
    assert closed["status"] == "closed" and store.task(store.task_key(e164)) is None


def test_a_call_attached_to_a_ticket_shows_on_its_timeline(stack: Any, client: Any) -> None:
    from chalicelib.services.lookup import staff_timeline
    from chalicelib.web.staff_views import EVENT_LABELS
    from chalicelib.web.timeline import event_entry

    phone = unique_phone()
    response = client.http.post("/api/v1/reports", headers={"Content-Type": "application/json"}, body=json.dumps(
        {"description": "Đèn đường hẻm 5 tắt cả tuần", "phone": phone, "category": "chieu-sang",
         "area": "tan-ninh"}).encode())
    code = json.loads(response.body)["tracking_code"]
    call_id = new_call_id()
    offer(call_id, phone, IN_HOURS)
    event(call_id, "answered", IN_HOURS + timedelta(seconds=8), to={"number": "op_lan", "type": "internal"})
    context = telephony.call_context(DESK, call_id)
    assert code in [t["code"] for t in context["open_tickets"]]
    assert telephony.call_for_intake(DESK, call_id) == {"call_id": call_id, "phone": "+84" + phone[1:]}
    telephony.attach_call(DESK, call_id, code, IN_HOURS)
    telephony.attach_call(DESK, call_id, code, IN_HOURS)  # twice: one timeline entry
    calls_on_it = [e for e in staff_timeline(code) if e["kind"] == "call"]
    assert len(calls_on_it) == 1 and store.get(call_id)["tickets"] == {code}
    shown = event_entry(calls_on_it[0], load_reference(), {}, EVENT_LABELS)
    assert shown["label"] == "Cuộc gọi"
    assert ("Cuộc gọi", "Cuộc gọi được gắn vào phản ánh") in shown["lines"]
    assert ("Chiều", "Người dân gọi đến") in shown["lines"]


def test_a_call_whose_offer_was_not_stored_still_becomes_a_task_and_a_log_entry(stack: Any) -> None:
    phone = unique_phone()
    call_id = new_call_id()  # the answer_url failed before storing it: Stringee played the safe answer
    event(call_id, "ringing", IN_HOURS, **{"from": {"number": "84" + phone[1:], "type": "external"}})
    leave_voicemail(call_id)
    end(call_id, IN_HOURS + timedelta(minutes=2))
    e164 = "+84" + phone[1:]
    assert store.task(store.task_key(e164)).call_ids == {call_id}
    row = next(r for r in telephony.call_log(BOSS, IN_HOURS.date(), rules.VOICEMAIL)["calls"] if r["call_id"] == call_id)
    assert row["caller"] == e164


def test_an_access_request_lists_a_callers_calls_and_tasks_and_an_erasure_removes_them(stack: Any) -> None:
    from chalicelib.services import privacy

    phone = unique_phone()
    call_id = new_call_id()
    offer(call_id, phone, IN_HOURS)
    end(call_id, IN_HOURS + timedelta(minutes=1))
    found = privacy.find_person(phone)
    kinds = {r["kind"]: r for r in found.records}
    assert kinds["call"]["fields"]["caller"] == "+84" + phone[1:] and kinds["call_task"]["fields"]["calls"] == 1
    privacy.erase_person(phone, requester="Chính chủ", reason="Yêu cầu xoá", approver="Chánh văn phòng",
                         actor="staff:admin@1022.vn", now=IN_HOURS + timedelta(hours=1))
    assert store.get(call_id) is None and not store.tasks_of("+84" + phone[1:])
    assert not [r for r in privacy.find_person(phone).records if r["kind"] in ("call", "call_task", "marker")]


# --- the fake Stringee over real HTTP ----------------------------------------------------------------

@pytest.fixture(scope="module")
def site(stack: Any, providers: Any) -> Iterator[str]:
    """The app served over HTTP under /api, as `make run` serves it."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import create_local_server

    import app
    from devstack.gateway import StageRequestHandler

    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="dev")
    server = create_local_server(app.app, config, "127.0.0.1", 0)
    server.server.RequestHandlerClass = functools.partial(StageRequestHandler, app_object=app.app, config=config,
                                                          base_path="/api")
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}/api"
    server.server.shutdown()


def test_scripted_calls_from_the_fake_stringee(stack: Any, site: str, monkeypatch: Any) -> None:
    from devstack.stringee import place_call

    monkeypatch.setattr(call_control, "_now", lambda now=None: now or IN_HOURS)
    busy = place_call(site, "missed_busy", caller=unique_phone())
    assert busy.answer_status == 200 and [s["do"] for s in busy.steps].count("connect") == 2, busy.sccos
    assert busy.outcome == "voicemail" and all(e["http"] == 200 for e in busy.events)
    assert store.get(busy.call_id)["finalised"] == rules.VOICEMAIL

    shuffled = place_call(site, "out_of_order", caller=unique_phone())
    assert all(e["http"] == 200 for e in shuffled.events)
    call = store.get(shuffled.call_id)
    assert call["finalised"] == rules.ANSWERED and rules.answered_by(call) in OPERATORS

    # after hours: the message and voicemail, a task due at 07:00 with the caller's history
    caller = unique_phone()
    monkeypatch.setattr(call_control, "_now", lambda now=None: now or vn("2026-12-01T21:10"))
    night = place_call(site, "after_hours_voicemail", caller=caller)
    assert [a["action"] for a in night.sccos[0]] == ["talk", "recordMessage"] and night.outcome == "voicemail"
    monkeypatch.setattr(call_control, "_now", lambda now=None: now or vn("2026-12-02T08:00"))
    place_call(site, "abandoned", caller=caller)
    task = telephony.task_detail(DESK, store.task_key("+84" + caller[1:]))
    assert task["due"] == vn("2026-12-02T07:00") and task["calls"] == 2 and len(task["voicemails"]) == 1
    assert [c["outcome"] for c in task["call_rows"]] == [rules.VOICEMAIL, rules.ABANDONED]

    forged = place_call(site, "forged")  # the offer: the safe answer (no operator); the events: refused
    assert forged.answer_status == 200 and "connect" not in json.dumps(forged.sccos)
    assert {e["http"] for e in forged.events} == {403} and store.get(forged.call_id) is None
