"""The hotline's telephony against the local emulator (chalicelib/services/call_control.py, telephony.py):

- answer_url: p50 / p95 of ~200 offered calls (signature check, route plan from the roster, the call's
  transaction) in the hotline's hours, and the AWS calls each made (target <= 2);
- events: the AWS calls of each event_url POST of an answered call and of a missed call that ends in
  voicemail (ringing, answered, ended; the operators' failures, the voicemail link), the most of any one
  event (target <= 3), and per whole call (answer_url + every POST Stringee sends for it);
- a call back's end (the task it answers read first, then the follow-ups);
- the screen-pop's poll (chalicelib.services.telephony.live_calls).

Requests go through the app's webhook routes (chalice's test client, in process), signed as Stringee signs
them, with call control's clock in the hotline's hours, against the moto server on loopback: latencies include
the routes and the HTTP round trips to the emulator, not API Gateway's or Lambda's own time.

`python -m bench.telephony` prints the figures and merges them into bench/results.json with their own
`telephony_measured_at` (`make bench-telephony`, about a minute).
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, time as clock_time, timedelta
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

STACK_NAME = "hotline1022-bench-telephony"
OFFERS = int(os.environ.get("BENCH_TELEPHONY_OFFERS", "200"))
FULL_CALLS = 20
HOST = "hotline.example"
ROOT = Path(__file__).resolve().parent.parent


class Counted:
    """The DynamoDB calls the app's client makes (PynamoDB's too), by operation."""

    def __init__(self) -> None:
        from chalicelib import aws

        self.made: list[str] = []
        aws.client("dynamodb").meta.events.register("before-call.dynamodb", self._count)

    def _count(self, event_name: str, **_: Any) -> None:
        self.made.append(event_name.rsplit(".", 1)[-1])

    def during(self, action: Callable[[], Any]) -> tuple[int, Any]:
        start = len(self.made)
        result = action()
        return len(self.made) - start, result


def _secret() -> str:
    from devstack.fakes import LOCAL_SECRETS

    return LOCAL_SECRETS["stringee_signing_secret"]


class Webhooks:
    """Stringee's requests to the app's webhook routes (chalice's test client, in process), signed as
    Stringee signs them; the last SCCO of each call is kept, for the next-operator and voicemail URLs it names."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.sccos: dict[str, list[dict[str, Any]]] = {}

    def answer(self, call_id: str, caller: str) -> list[dict[str, Any]]:
        from chalicelib.channels import stringee

        query = {"from": caller, "to": "842763661022", "fromInternal": "false", "uuid": call_id}
        uri = "/webhooks/stringee/answer?" + urlencode(query, safe="")
        answer = self.client.http.get(uri, headers={"Host": HOST,
                                                    "X-STRINGEE-SIGNATURE": stringee.signature(uri, _secret())})
        assert answer.status_code == 200, answer.body[:300]
        self.sccos[call_id] = json.loads(answer.body)
        return self.sccos[call_id]

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        from chalicelib.channels import stringee

        body = json.dumps(payload).encode()
        answer = self.client.http.post(path, body=body, headers={
            "Host": HOST, "Content-Type": "application/json", "X-STRINGEE-SIGNATURE": stringee.signature(body, _secret())})
        assert answer.status_code == 200, answer.body[:300]
        return json.loads(answer.body)

    def event(self, call_id: str, status: str, at: datetime, **extra: Any) -> Any:
        return self.post("/webhooks/stringee/event", {
            "call_status": status, "call_id": call_id, "timestamp_ms": int(at.timestamp() * 1000),
            "from": {"number": "84909982888", "type": "external"}, **extra})

    def _url(self, call_id: str, action: str, key: str) -> str:
        found = next(a[key] for a in self.sccos[call_id] if a.get("action") == action)
        parts = urlsplit(found)
        return parts.path + ("?" + parts.query if parts.query else "")

    def fail(self, call_id: str) -> Any:
        """The ringing operator did not answer: Stringee POSTs the connect's onFailEventUrl."""
        scco = self.post(self._url(call_id, "connect", "onFailEventUrl"),
                         {"call_status": "ended", "call_id": call_id, "endCallCause": "486 Busy Here"})
        self.sccos[call_id] = scco
        return scco

    def voicemail(self, call_id: str) -> Any:
        return self.post(self._url(call_id, "recordMessage", "eventUrl"), {
            "call_id": call_id, "recording_url": f"https://rec.example/{call_id}.wav", "duration": 14})


def _answered_call(counted: Counted, hooks: Webhooks, call_id: str, caller: str, at: datetime) -> list[int]:
    steps = [lambda: hooks.answer(call_id, caller),
             lambda: hooks.event(call_id, "created", at),
             lambda: hooks.event(call_id, "ringing", at + timedelta(seconds=1)),
             lambda: hooks.event(call_id, "answered", at + timedelta(seconds=11), to={"number": "op_0", "type": "internal"}),
             lambda: hooks.event(call_id, "ended", at + timedelta(minutes=3), endCallCause="200 OK", endedBy="EXTERNAL",
                                 duration=180, answerDuration=169)]
    return [counted.during(step)[0] for step in steps]


def _voicemail_call(counted: Counted, hooks: Webhooks, call_id: str, caller: str, at: datetime,
                    operators: int) -> list[int]:
    steps = [lambda: hooks.answer(call_id, caller), lambda: hooks.event(call_id, "created", at)]
    steps += [lambda: hooks.fail(call_id) for _ in range(operators)]
    steps += [lambda: hooks.voicemail(call_id),
              lambda: hooks.event(call_id, "ended", at + timedelta(minutes=2), endCallCause="200 OK",
                                  endedBy="EXTERNAL", duration=120, answerDuration=60)]
    return [counted.during(step)[0] for step in steps]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure_here() -> dict[str, Any]:
    from devstack.emulator import bring_up, stage_environment

    local = bring_up(port=0, stack_name=STACK_NAME)
    try:
        stage_environment("dev")
        from devstack.fakes import LOCAL_SECRETS

        os.environ.update({name.upper(): value for name, value in LOCAL_SECRETS.items()})  # as the local stack
        os.environ.setdefault("STRINGEE_HOTLINE_NUMBER", "+842763661022")
        from chalicelib.config import settings
        from chalicelib.domain.clock import VN_TZ
        from chalicelib.domain.permissions import OPERATOR, StaffUser
        from chalicelib.domain.roster import INTERNAL, Entry, Roster
        from chalicelib.services import telephony
        from chalicelib.store import calls as store
        from chalicelib.store import roster
        from chalicelib.store.reference import save_reference, seed_document

        settings.cache_clear()
        save_reference(seed_document(), expected_version=None)
        at = datetime(2026, 12, 1, 10, 0, tzinfo=VN_TZ)  # a Tuesday, in the hotline's hours
        operators = 3
        entries = tuple(Entry(f"op{i}@1022.vn", f"Op {i}", INTERNAL, f"op_{i}", frozenset(range(7)), clock_time(7),
                              clock_time(20)) for i in range(operators))
        roster.save(Roster(0, entries), 0, "staff:bench", at)
        from chalice.test import Client

        import app
        from chalicelib.services import call_control

        clock = {"now": at}
        call_control._now = lambda now=None: now or clock["now"]  # the hotline's hours whatever the time of the run
        client = Client(app.app, stage_name="dev", project_dir=str(ROOT))
        hooks = Webhooks(client)
        counted = Counted()
        hooks.answer("bench-warm", "0909000000")  # the reference data and the roster's first read: once per container
        import logging

        logging.getLogger("hotline").setLevel(logging.WARNING)  # as prod (dev's INFO would print a line per call)

        times, answer_calls = [], []
        for n in range(OFFERS):
            clock["now"] = at + timedelta(seconds=n)
            started = time.perf_counter()
            made, _ = counted.during(lambda: hooks.answer(f"bench-offer-{n}", f"0909{n:06d}"))
            times.append((time.perf_counter() - started) * 1000)
            answer_calls.append(made)

        answered, voicemails = [], []
        for n in range(FULL_CALLS):
            clock["now"] = at + timedelta(minutes=n)
            answered.append(_answered_call(counted, hooks, f"bench-ans-{n}", f"0912{n:06d}", clock["now"]))
            voicemails.append(_voicemail_call(counted, hooks, f"bench-vm-{n}", f"0913{n:06d}", clock["now"],
                                              operators))

        # A call back answered and talked: its end reads the task, then closes it with the call's follow-ups
        desk = StaffUser("bench-op", "op0@1022.vn", "Op 0", frozenset({OPERATOR}))
        import chalicelib.notify.stringee as callouts

        out_ids = iter(f"bench-out-{n}" for n in range(FULL_CALLS))
        callouts.callout = lambda hotline, to, actions, custom: next(out_ids)  # no provider here: the end is measured
        callback_end = []
        for n in range(FULL_CALLS):
            placed = telephony.call_back(desk, f"0913{n:06d}", None, None, at + timedelta(hours=1))
            made, _ = counted.during(lambda: hooks.event(placed["call_id"], "ended", at + timedelta(hours=1, minutes=3),
                                                         endCallCause="200 OK", endedBy="EXTERNAL", duration=90,
                                                         answerDuration=80))
            callback_end.append(made)
        assert store.task(store.task_key(f"+84913{0:06d}")) is None, "the call back did not close its task"

        live = []
        for _ in range(20):
            made, _ = counted.during(lambda: telephony.live_calls(desk, at))
            live.append(made)
        kinds = Counter(counted.made)
    finally:
        local.stop()
    events = [made for call in answered for made in call[1:]] + [made for call in voicemails for made in call[1:]]
    return {
        "telephony_answer_url_offers": OFFERS,
        "telephony_answer_url_p50_ms": round(statistics.median(times), 1),
        "telephony_answer_url_p95_ms": round(_percentile(times, 0.95), 1),
        "telephony_aws_calls_per_answer_url": max(answer_calls),
        "telephony_aws_calls_per_event_max": max(events + callback_end),
        "telephony_aws_calls_per_event_mean": round(statistics.mean(events), 2),
        "telephony_aws_calls_per_answered_call": round(statistics.mean(sum(c) for c in answered), 1),
        "telephony_aws_calls_per_voicemail_call": round(statistics.mean(sum(c) for c in voicemails), 1),
        "telephony_aws_calls_per_callback_end": max(callback_end),
        "telephony_aws_calls_per_screen_pop_poll": max(live),
        "telephony_scan_calls": kinds.get("Scan", 0),
    }


def main(arguments: list[str]) -> None:
    from bench import report

    report.record(measure_here(), "telephony", arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
