"""The fake Stringee (devstack/stringee.py) against a stand-in of the app's webhooks that checks every
request with chalicelib/channels/stringee.py, as the app does: every script's calls verify under a
stage prefix, the SCCOs are played as Stringee plays them, and callouts from chalicelib/notify/stringee.py
pass the fake's JWT checks and come back as signed events."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.channels import stringee
from chalicelib.domain.errors import ValidationFailed
from devstack.fakes import LOCAL_SECRETS
from devstack.stringee import ANSWER, EVENT, NEXT, VOICEMAIL, FakeStringee, start_fake_stringee

SECRET = LOCAL_SECRETS["stringee_signing_secret"]
BASE = "/api"  # the stand-in serves under a stage prefix, as execute-api does
OPERATORS = [("internal", "op_lan"), ("external", "+84912000111")]


@dataclass
class StandIn:
    """What the stand-in app saw; `after_hours` makes its answer a message and voicemail."""

    url: str = ""
    after_hours: bool = False
    events: list[Any] = field(default_factory=list)
    recordings: list[Any] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _stand_in(seen: StandIn) -> ThreadingHTTPServer:
    def voicemail_scco() -> list[dict[str, Any]]:
        return [stringee.talk("Xin để lại lời nhắn sau tiếng bíp."), stringee.record_message(seen.url + VOICEMAIL)]

    def ring(attempt: int) -> list[dict[str, Any]]:
        if attempt >= len(OPERATORS):
            return voicemail_scco()
        kind, target = OPERATORS[attempt]
        return [stringee.connect(kind, target, "842763661022", "1022", 20, seen.url + NEXT, custom=f"try:{attempt}")]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            path, _, raw_query = self.path.partition("?")
            query = dict(parse_qsl(raw_query, keep_blank_values=True))  # decoded, as API Gateway hands it over
            route = path[len(BASE):]
            candidates = stringee.request_uri_candidates(stringee.public_prefix(None, BASE), route, query)
            if route != ANSWER or not stringee.verify_get(candidates, self.headers.get(stringee.SIGNATURE_HEADER), SECRET):
                seen.refused.append("answer")
                return self._reply(401, {"message": "bad signature"})
            stringee.parse_offer(query)
            return self._reply(200, voicemail_scco() if seen.after_hours else ring(0))

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            route = self.path[len(BASE):]
            if not stringee.verify_post(body, self.headers.get(stringee.SIGNATURE_HEADER), SECRET):
                seen.refused.append(route)
                return self._reply(401, {"message": "bad signature"})
            try:
                if route == VOICEMAIL:
                    seen.recordings.append(stringee.parse_recording(body))
                    return self._reply(200, {"ok": True})
                event = stringee.parse_event(body)
            except ValidationFailed:
                return self._reply(400, {"message": "unreadable"})
            if route == NEXT:
                return self._reply(200, ring(int(event.custom.split(":")[1]) + 1))
            seen.events.append(event)
            return self._reply(200, {"ok": True})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStringee]:
    running = start_fake_stringee()
    yield running
    running.stop()


@pytest.fixture
def app() -> Iterator[StandIn]:
    seen = StandIn()
    server = _stand_in(seen)
    seen.url = f"http://127.0.0.1:{server.server_address[1]}{BASE}"
    yield seen
    server.shutdown()
    server.server_close()


def test_an_answered_call_rings_the_first_operator_and_reports_each_state(fake: FakeStringee, app: StandIn) -> None:
    result = fake.place_call(app.url, "answered", "0909982888")
    assert result.answer_status == 200 and result.outcome == "answered" and not app.refused
    assert [e.status for e in app.events] == ["created", "ringing", "answered", "ended"]
    ringing, ended = app.events[1], app.events[3]
    assert (ringing.to_type, ringing.to_number, ringing.custom) == ("internal", "op_lan", "try:0")
    assert ended.from_number == "84909982888" and ended.answer_duration_s == 95 and ended.duration_s == 107
    assert ended.timestamp_ms - app.events[0].timestamp_ms == 107_000


def test_every_operator_busy_leads_to_voicemail_with_a_playable_recording(fake: FakeStringee, app: StandIn) -> None:
    result = fake.place_call(app.url, "missed_busy", "0909982888")
    assert [s["do"] for s in result.steps] == ["answer_url", "connect", "next", "connect", "next", "talk",
                                              "recordMessage"]
    assert [s.get("result") for s in result.steps if s["do"] == "connect"] == ["busy", "busy"]
    assert result.outcome == "voicemail" and len(result.sccos) == 3 and not app.refused
    [recording] = app.recordings
    assert recording.call_id == result.call_id and recording.duration_s == 18
    with urllib.request.urlopen(recording.url, timeout=5) as wav:  # noqa: S310 - the fake on loopback
        assert wav.read(4) == b"RIFF"
    ended = app.events[-1]
    assert ended.status == "ended" and ended.answer_duration_s == 0


def test_after_hours_the_caller_hears_the_message_and_leaves_voicemail(fake: FakeStringee, app: StandIn) -> None:
    app.after_hours = True
    result = fake.place_call(app.url, "after_hours_voicemail", "+84909982888")
    assert [s["do"] for s in result.steps] == ["answer_url", "talk", "recordMessage"]
    assert result.outcome == "voicemail" and len(app.recordings) == 1
    assert [e.status for e in app.events] == ["created", "ended"]


def test_a_caller_who_hangs_up_while_ringing_is_abandoned(fake: FakeStringee, app: StandIn) -> None:
    result = fake.place_call(app.url, "abandoned")
    assert result.outcome == "abandoned"
    assert [e.status for e in app.events] == ["created", "ringing", "ended"]
    assert app.events[-1].answer_duration_s == 0 and app.events[-1].end_cause.startswith("487")


def test_out_of_order_events_arrive_ended_first_and_answered_twice(fake: FakeStringee, app: StandIn) -> None:
    result = fake.place_call(app.url, "out_of_order")
    assert [e["status"] for e in result.events] == ["created", "ended", "answered", "answered", "ringing"]
    assert all(e["http"] == 200 for e in result.events)
    assert [e.status for e in app.events] == ["created", "ended", "answered", "answered", "ringing"]


def test_forged_requests_are_refused(fake: FakeStringee, app: StandIn) -> None:
    result = fake.place_call(app.url, "forged")
    assert result.answer_status == 401 and not result.sccos and result.outcome == "refused"
    assert [s["status"] for s in result.steps] == [401, 401]
    assert [e["http"] for e in result.events] == [401, 401]
    assert app.events == [] and len(app.refused) == 4


@pytest.fixture
def callout_api(stack: Any, providers: Any, fake: FakeStringee, app: StandIn,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStringee]:
    """The app's settings pointing at the fake (secrets from the stack's SSM, as on AWS)."""
    from chalicelib.config import settings

    monkeypatch.setenv("STRINGEE_API_URL", fake.base)
    settings.cache_clear()
    fake.state.event_url = app.url + EVENT
    yield fake
    fake.state.event_url = ""
    monkeypatch.undo()
    settings.cache_clear()


def test_a_callout_passes_the_jwt_check_and_its_events_come_back_signed(callout_api: FakeStringee,
                                                                         app: StandIn) -> None:
    from chalicelib.notify.stringee import callout

    connect = stringee.connect("external", "84909982888", "842763661022", "1022", 30, None, custom="cb:1")
    call_id = callout("+842763661022", [("internal", "op_lan")], [connect], "cb:1")
    accepted = callout_api.state.callouts[-1]
    assert accepted["call_id"] == call_id and call_id.startswith("call-vn-")
    assert accepted["body"]["to"] == [{"type": "internal", "number": "op_lan", "alias": "op_lan"}]
    assert accepted["body"]["from"]["number"] == "842763661022" and accepted["body"]["actions"] == [connect]
    deadline = time.monotonic() + 5
    while len(app.events) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e.status for e in app.events] == ["created", "ringing", "answered", "ended"] and not app.refused
    assert {e.call_id for e in app.events} == {call_id} and {e.custom for e in app.events} == {"cb:1"}


def test_a_callout_with_a_wrong_key_is_refused_for_good(callout_api: FakeStringee,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.notify.base import DeliveryFailed
    from chalicelib.notify.stringee import callout

    monkeypatch.setenv("STRINGEE_API_KEY_SECRET", "a-rotated-secret-the-fake-does-not-know-yet")
    with pytest.raises(DeliveryFailed) as failed:
        callout("+842763661022", [("external", "+84909982888")], [], "cb:2")
    assert failed.value.transient is False and "401" in failed.value.reason
    assert callout_api.state.refused[-1].startswith("invalid token")


@pytest.mark.parametrize("reply, expected", [((200, {"r": 0}), "cb:4"), ((200, {"r": 0, "callId": "c-77"}), "c-77"),
                                             ((200, {"r": 5, "message": "no such number"}), False),
                                             ((503, {"r": 1, "message": "busy"}), True), ((502, {}), True),
                                             ((400, {"r": 1, "message": "bad body"}), False)])
def test_stringees_answers_to_a_callout(callout_api: FakeStringee, reply: tuple[int, dict[str, Any]],
                                        expected: str | bool) -> None:
    """A call id when it gives one (else ours); refusals are final, an overloaded API is worth retrying."""
    from chalicelib.notify.base import DeliveryFailed
    from chalicelib.notify.stringee import callout

    callout_api.state.replies.append(reply)
    if isinstance(expected, str):
        assert callout("+842763661022", [("external", "+84909982888")], [], "cb:4") == expected
        return
    with pytest.raises(DeliveryFailed) as failed:
        callout("+842763661022", [("external", "+84909982888")], [], "cb:4")
    assert failed.value.transient is expected


def test_a_callout_to_an_unreachable_api_is_worth_retrying(stack: Any, providers: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import settings
    from chalicelib.notify.base import DeliveryFailed
    from chalicelib.notify.stringee import callout

    monkeypatch.setenv("STRINGEE_API_URL", "http://127.0.0.1:9")  # nothing listens there
    settings.cache_clear()
    try:
        with pytest.raises(DeliveryFailed) as failed:
            callout("+842763661022", [("external", "+84909982888")], [], "cb:3")
        assert failed.value.transient is True
    finally:
        monkeypatch.undo()
        settings.cache_clear()


def test_the_request_uri_the_fake_signs_is_the_path_it_requests(fake: FakeStringee, app: StandIn) -> None:
    from devstack.stringee import answer_request_uri

    uri = answer_request_uri(app.url, {"from": "0909 982 888", "to": "842763661022"})
    assert uri == urlsplit(app.url).path + ANSWER + "?from=0909%20982%20888&to=842763661022"
