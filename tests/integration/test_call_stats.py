"""Call-centre figures on /staff/thong-ke: a scripted day of calls from the fake Stringee through the app's
webhook routes (answered, missed, abandoned, voicemail while every operator is busy, an after-hours
voicemail), a task called back through the fake's callout and one closed by hand; the "Tổng đài" section's
figures equal a recount from the call log and the closed tasks, and nothing logged names a caller."""
from __future__ import annotations

import logging
import re
import threading
import time as clock
from collections import Counter
from datetime import datetime, time
from html import unescape
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Iterator

import pytest

from chalicelib.domain import calls as rules
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.permissions import OPERATOR, SUPERVISOR, StaffUser
from chalicelib.domain.roster import INTERNAL, Entry, Roster
from chalicelib.services import call_control, call_stats, telephony
from chalicelib.store import calls as store
from chalicelib.store import roster
from devstack.stringee import FakeStringee, start_fake_stringee
from tests.conftest import unique_phone

DAY = datetime(2027, 3, 17, tzinfo=VN_TZ)  # a Wednesday no other test uses
OPERATORS = ("stats-op-a@1022.vn", "stats-op-b@1022.vn")
DESK = StaffUser("sub-stats-op", OPERATORS[0], "An", frozenset({OPERATOR}))
BOSS = StaffUser("sub-stats-sup", "sup@1022.vn", "Giám sát", frozenset({SUPERVISOR}))


class Relay:
    """The app itself over HTTP (its Stringee webhook routes, through chalice's test client), with call
    control's clock at a scripted `now` (the hour of the call): the fake Stringee calls it as it would
    call API Gateway."""

    def __init__(self, client: Any) -> None:
        self.now = DAY

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() in ("host", "content-type", "x-stringee-signature")}
                answer = client.http.post(self.path, headers=headers, body=body) if method == "POST" \
                    else client.http.get(self.path, headers=headers)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def do_GET(self) -> None:  # noqa: N802
                self._forward("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._forward("POST")

        self.server = HTTPServer(("127.0.0.1", 0), Handler)  # one request at a time, as the test client wants
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def day_of_calls(stack: Any, providers: Any, client: Any) -> Iterator[dict[str, Any]]:
    """Two operators on duty 07:00-20:00; the fake Stringee calling the app and taking callouts."""
    import os

    from chalicelib.config import settings

    current = roster.current(consistent=True)
    entries = tuple(Entry(email, email, INTERNAL, email.split("@")[0].replace("-", "_"), frozenset(range(7)),
                          time(7), time(20)) for email in OPERATORS)
    roster.save(Roster(current.version, entries), current.version, "staff:test", DAY)
    relay = Relay(client)
    moved = pytest.MonkeyPatch()
    moved.setattr(call_control, "_now", lambda now=None: now or relay.now)
    fake = start_fake_stringee(event_url=relay.url + "/webhooks/stringee/event")
    fake.state.callout_step_s = 0.05
    before = os.environ.get("STRINGEE_API_URL")
    os.environ["STRINGEE_API_URL"] = fake.base
    settings.cache_clear()
    yield {"relay": relay, "fake": fake}
    fake.stop()
    moved.undo()
    relay.server.shutdown()
    relay.server.server_close()
    os.environ.pop("STRINGEE_API_URL") if before is None else os.environ.update(STRINGEE_API_URL=before)
    settings.cache_clear()


def _call(fake: FakeStringee, relay: Relay, script: str, caller: str, at: datetime) -> Any:
    relay.now = at
    result = fake.place_call(relay.url, script, caller, start_ms=int(at.timestamp() * 1000))
    assert {e["http"] for e in result.events} == {200}, result
    return result


def _recount(day: datetime, phones: list[str]) -> dict[str, Any]:
    """The figures counted again from the day's call log entries and the callers' closed tasks."""
    entries, after = store.day_log(day.date(), None, None, limit=200)
    assert after is None
    inbound = [e for e in entries if e.direction == rules.IN]
    outcomes = Counter(e.outcome for e in inbound)
    answered = [e for e in inbound if e.outcome == rules.ANSWERED]
    in_hours = [e for e in inbound if e.route != rules.ROUTE_CLOSED]
    per_hour = [0] * 24
    for e in inbound:
        per_hour[e.at.astimezone(VN_TZ).hour] += 1
    closed = [t for p in phones for t in store.tasks_of(p) if t.sk.startswith("DONE#")]
    return {"calls": len(inbound), "outcomes": {o: outcomes.get(o, 0) for o in rules.OUTCOMES},
            "in_hours": len(in_hours), "wait": sum(int(e.wait_s or 0) for e in answered),
            "talk": sum(int(e.talk_s or 0) for e in answered), "per_hour": per_hour,
            "cb_closed": len(closed), "cb_done": sum(t.outcome in ("called_back", "reached") for t in closed)}


class Kept(logging.Handler):
    """Every record the app logs (message and extra keys), as text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__} {record.exc_text or ''}")


def test_the_switchboard_figures_equal_a_recount_of_the_days_calls(day_of_calls: dict[str, Any], client: Any,
                                                                   staff: dict[str, str]) -> None:
    relay, fake = day_of_calls["relay"], day_of_calls["fake"]
    phones = [unique_phone() for _ in range(5)]
    kept = Kept()
    logging.getLogger("hotline").addHandler(kept)  # the app's logger (chalicelib.observability)
    try:
        _a_day_of_calls(relay, fake, phones)
    finally:
        logging.getLogger("hotline").removeHandler(kept)
    # Nothing logged on the way names a caller (their number arrives in answer_url's query string)
    assert len(kept.lines) >= 10
    for phone in phones:
        assert not [line for line in kept.lines if phone in line or "84" + phone[1:] in line]
    _the_figures_equal_a_recount(phones, client, staff)


def _a_day_of_calls(relay: Relay, fake: FakeStringee, phones: list[str]) -> None:
    e164 = ["+84" + p[1:] for p in phones]
    e164 = ["+84" + p[1:] for p in phones]
    # Given a day: answered, voicemail while every operator is busy, abandoned, missed, after-hours voicemail
    assert _call(fake, relay, "answered", phones[0], DAY.replace(hour=9)).outcome == "answered"
    assert _call(fake, relay, "missed_busy", phones[1], DAY.replace(hour=9, minute=30)).outcome == "voicemail"
    assert _call(fake, relay, "abandoned", phones[2], DAY.replace(hour=10, minute=5)).outcome == "abandoned"
    assert _call(fake, relay, "missed", phones[3], DAY.replace(hour=10, minute=20)).outcome == "hung_up"
    assert _call(fake, relay, "after_hours_voicemail", phones[4], DAY.replace(hour=21, minute=10)).outcome == "voicemail"
    finals = [store.get(c["call_id"])["finalised"] for c in fake.state.calls[-5:]]
    assert finals == [rules.ANSWERED, rules.VOICEMAIL, rules.ABANDONED, rules.MISSED, rules.VOICEMAIL]
    # And the busy caller called back at 10:40 through the fake's callout (answered, 120 s talked)
    fake.state.callout_answers, fake.state.callout_start_ms = True, int(DAY.replace(hour=10, minute=40).timestamp() * 1000)
    telephony.call_back(DESK, phones[1], None, store.task_key(e164[1]), DAY.replace(hour=10, minute=40))
    deadline = clock.monotonic() + 5
    while store.task(store.task_key(e164[1])) is not None and clock.monotonic() < deadline:
        clock.sleep(0.05)
    assert store.task(store.task_key(e164[1])) is None
    # And the abandoned caller's task closed by hand: not needed
    telephony.task_outcome(DESK, store.task_key(e164[2]), "not_needed", "", DAY.replace(hour=11))


def _the_figures_equal_a_recount(phones: list[str], client: Any, staff: dict[str, str]) -> None:
    e164 = ["+84" + p[1:] for p in phones]
    # When the supervisor reads the day's figures
    figures = call_stats.figures(BOSS, DAY.date(), DAY.date())
    assert call_stats.figures(DESK, DAY.date(), DAY.date()) is None  # operators: not theirs to see
    recount = _recount(DAY, e164)

    # Then they equal the recount, and say what the day was
    totals = figures["totals"]
    assert totals["calls"] == recount["calls"] == 5
    assert {o: totals[o] for o in rules.OUTCOMES} == recount["outcomes"]
    assert recount["outcomes"] == {"answered": 1, "missed": 1, "abandoned": 1, "busy": 0, "after_hours": 0,
                                   "voicemail": 2}
    assert totals["in_hours"] == recount["in_hours"] == 4
    assert (totals["wait_answered_s"], totals["talk_s"]) == (recount["wait"], recount["talk"]) == (12, 95)
    assert figures["per_hour"] == recount["per_hour"]
    assert [figures["per_hour"][h] for h in (9, 10, 21)] == [2, 2, 1]
    assert figures["answered_pct"] == 25.0 and figures["abandon_pct"] == 25.0 and figures["asa_s"] == 12
    assert (figures["callbacks_closed"], figures["callbacks_done"]) == (recount["cb_closed"], recount["cb_done"]) == (2, 1)
    # called back 1 h 12 min after the first call (09:30 → 10:42 when the callout ended)
    assert figures["callback_median"] == "≤ 2 giờ"

    # And the statistics page shows them to the supervisor
    page = client.http.get("/staff/thong-ke?from=2027-03-17&to=2027-03-17",
                           headers={"Cookie": f"hl_id={staff['supervisor']}; hl_csrf=t"})
    html = unescape(page.body.decode())
    assert page.status_code == 200 and 'id="call-stats"' in html
    assert 'data-outcomes="1,1,1,0,0,2"' in html and "25,0%" in html and "12 giây" in html
    hourly = dict(re.findall(r'<tr data-hour="(\d+)"><th scope="row">[^<]+</th><td class="num">(\d+)</td>', html))
    assert {h: int(n) for h, n in hourly.items() if int(n)} == {"9": 2, "10": 2, "21": 1}
    assert "Cuộc gọi đến theo giờ trong ngày" in html and "<svg" in html.split('id="call-stats"')[1]
    operator_page = client.http.get("/staff/thong-ke?from=2027-03-17&to=2027-03-17",
                                    headers={"Cookie": f"hl_id={staff['operator']}; hl_csrf=t"})
    assert operator_page.status_code == 200 and 'id="call-stats"' not in operator_page.body.decode()
