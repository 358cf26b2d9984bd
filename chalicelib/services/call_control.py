"""The hotline's call control (Stringee's webhooks, chalicelib/web/routes_telephony.py): what to do with a
call offered to us, the next operator when one did not take it, what its events tell, its voicemail.

- answer: verify the signature (else Forbidden → 403, nothing stored), plan the route from the hours,
  the holidays and the roster (one GetItem; reference data is cached per container) and record the
  call (one transaction). Anything failing after the signature → the SAFE answer (a message and
  voicemail), logged without the phone: Stringee never gets a 5xx and the caller is never dropped.
- on_fail (an operator did not take the call): the next operator on the plan, else the queue message and
  voicemail. One UpdateItem (+ the live marker).
- event: one conditional UpdateItem per call and status; once the call has ended its follow-ups (log,
  live marker, callback task) in one transaction: at most 3 AWS calls. A call back's end reads the task
  it answers first (a GetItem instead of the call's second read): answered with talk time closes it.
- voicemail (also the whole-call recording): the link on the call.

The desk's work with calls (screen-pop, call log, tasks, click-to-call) is chalicelib/services/telephony.py.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import urlencode

from chalicelib.domain import call_stats
from chalicelib.domain import calls as rules
from chalicelib.domain.errors import Conflict, Forbidden, ValidationFailed
from chalicelib.observability import logger
from chalicelib.store import calls as store

ANSWER_PATH = "/webhooks/stringee/answer"
EVENT_PATH = "/webhooks/stringee/event"
NEXT_PATH = "/webhooks/stringee/next"
VOICEMAIL_PATH = "/webhooks/stringee/voicemail"
VOICEMAIL_SECONDS = 120


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _signing_secret() -> str:
    from chalicelib.secrets import secret

    return secret("stringee_signing_secret")


def hotline_number() -> str:
    from chalicelib.config import settings

    return settings().stringee_hotline_number


def _phone(raw: str) -> str | None:
    """The caller as E.164, or None (a withheld number, an app user, a foreign number)."""
    from chalicelib.domain.phones import normalise_phone

    if not raw:
        return None
    try:
        return normalise_phone(raw)
    except ValidationFailed:
        return None


def _keep_until(now: datetime) -> datetime:
    from chalicelib.store.reference import load_reference

    return now + timedelta(days=load_reference().telephony.keep_days)


def _url(webhook_base: str, path: str, **query: Any) -> str:
    return f"{webhook_base.rstrip('/')}{path}?{urlencode(query)}"


# --- the webhooks ---------------------------------------------------------------------------------

def safe_answer(webhook_base: str, call_id: str = "") -> list[dict[str, Any]]:
    """What Stringee gets when anything went wrong: an apology and voicemail (never a 5xx)."""
    from chalicelib.channels import stringee

    return [stringee.talk(rules.FALLBACK_MESSAGE),
            stringee.record_message(_url(webhook_base, VOICEMAIL_PATH, call=call_id), VOICEMAIL_SECONDS)]


def _operator_actions(ring: rules.Ring, tried: int, call_id: str, webhook_base: str) -> list[dict[str, Any]]:
    """Ring `ring` (the `tried`+1-th operator); on failure Stringee asks /next; if that fails too,
    the queue message and voicemail that follow run."""
    from chalicelib.channels import stringee
    from chalicelib.store.reference import load_reference

    telephony = load_reference().telephony
    hotline = hotline_number()
    return [stringee.connect(ring.kind, ring.target, hotline.lstrip("+"), "Tổng đài 1022", telephony.ring_seconds,
                             _url(webhook_base, NEXT_PATH, call=call_id, **{"try": tried + 1}), call_id),
            *_voicemail_actions(rules.QUEUE_MESSAGE, call_id, webhook_base)]


def _voicemail_actions(message: str, call_id: str, webhook_base: str) -> list[dict[str, Any]]:
    from chalicelib.channels import stringee

    return [stringee.talk(message),
            stringee.record_message(_url(webhook_base, VOICEMAIL_PATH, call=call_id), VOICEMAIL_SECONDS)]


def scco(plan: rules.RoutePlan, call_id: str, webhook_base: str) -> list[dict[str, Any]]:
    """The SCCO for a planned call: record (if set) and ring the first operator, or the message and voicemail."""
    from chalicelib.channels import stringee

    if plan.route != rules.ROUTE_OPERATORS:
        return _voicemail_actions(plan.message, call_id, webhook_base)
    recording = [stringee.record(_url(webhook_base, VOICEMAIL_PATH, call=call_id, kind="recording"))] \
        if plan.record else []
    return [*recording, *_operator_actions(plan.rings[0], 0, call_id, webhook_base)]


def answer(query: Mapping[str, str], signature: str | None, request_base: str, webhook_base: str,
           now: datetime | None = None) -> list[dict[str, Any]]:
    """The SCCO for an offered call. Raises Forbidden when the signature does not verify (nothing is
    stored); any other failure gives safe_answer. Two AWS calls: the roster, the call's transaction."""
    from chalicelib.channels import stringee
    from chalicelib.config import settings

    try:
        secret = _signing_secret()
    except Exception as exc:  # no secret to check with: nothing is stored, the caller still gets voicemail
        logger().error("stringee answer: no signing secret", extra={"error_type": type(exc).__name__})
        return safe_answer(webhook_base)
    prefix = stringee.public_prefix(settings().stringee_public_path, request_base)
    if not stringee.verify_get(stringee.request_uri_candidates(prefix, ANSWER_PATH, query), signature, secret):
        raise Forbidden()
    call_id = ""
    try:
        offer = stringee.parse_offer(query)
        call_id = offer.call_id
        return _answer(offer, webhook_base, _now(now))
    except Exception as exc:  # never a 5xx to the PBX: the caller hears a message and may leave one
        logger().error("stringee answer failed, safe answer given",
                       extra={"call": call_id, "error_type": type(exc).__name__})
        return safe_answer(webhook_base, call_id)


def _answer(offer: Any, webhook_base: str, now: datetime) -> list[dict[str, Any]]:
    from chalicelib.domain.roster import on_duty
    from chalicelib.store import roster as rosters
    from chalicelib.store.reference import load_reference

    ref = load_reference()
    duty = on_duty(rosters.current(), now)
    plan = rules.plan(now, ref.hotline_opens, ref.hotline_closes, ref.calendar, duty, ref.telephony)
    caller = _phone(offer.caller)
    store.record_offer(store.Offer(
        call_id=offer.call_id, direction=rules.IN, caller=caller, caller_raw=None if caller else (offer.caller or None),
        route=plan.route, rings=[r.document() for r in plan.rings], record=plan.record, at=now,
        keep_until=now + timedelta(days=ref.telephony.keep_days),
        ringing_to=plan.rings[0].staff if plan.rings else None))
    logger().info("call offered", extra={"call": offer.call_id, "route": plan.route, "operators": len(plan.rings)})
    return scco(plan, offer.call_id, webhook_base)


def _verify_post(body: bytes, signature: str | None) -> None:
    from chalicelib.channels import stringee

    if not stringee.verify_post(body, signature, _signing_secret()):
        raise Forbidden()


def _fail_cause(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return str(data.get("endCallCause") or data.get("reason") or data.get("call_status") or "")[:200]


def on_fail(body: bytes, signature: str | None, call_id: str, tried_text: str, webhook_base: str,
            now: datetime | None = None) -> list[dict[str, Any]]:
    """The SCCO after the `tried`-th operator did not take the call: the next operator on the plan, else
    the queue message and voicemail. Raises Forbidden for a bad signature; never fails otherwise."""
    _verify_post(body, signature)
    try:
        tried = int(tried_text)
        call = store.record_fail(call_id, tried, _fail_cause(body))
        if call is None:
            return _voicemail_actions(rules.QUEUE_MESSAGE, call_id, webhook_base)
        ring = rules.next_ring(call.get("rings") or [], tried)
        if ring is None:
            store.live_update(call_id, ringing_to="-")
            return _voicemail_actions(rules.QUEUE_MESSAGE, call_id, webhook_base)
        store.live_update(call_id, ringing_to=ring.staff)
        return _operator_actions(ring, tried, call_id, webhook_base)
    except Exception as exc:
        logger().error("stringee next failed, voicemail given", extra={"call": call_id,
                                                                       "error_type": type(exc).__name__})
        return safe_answer(webhook_base, call_id)


def event(body: bytes, signature: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Applies one event_url POST to its call; returns {"call", "status", "new", "outcome"}.
    Raises Forbidden (bad signature) or ValidationFailed (unreadable body)."""
    from chalicelib.channels import stringee

    _verify_post(body, signature)
    parsed = stringee.parse_event(body)
    at = datetime.fromtimestamp(parsed.timestamp_ms / 1000, timezone.utc) if parsed.timestamp_ms else _now(now)
    change = rules.event_facts(parsed.status, at, parsed.to_number, parsed.duration_s, parsed.answer_duration_s,
                               parsed.end_cause, parsed.ended_by)
    call, new = store.apply_event(parsed.call_id, parsed.status, change.facts, at, _keep_until(at),
                                  caller=_event_caller(parsed))
    if new and parsed.status == "answered" and call.get("direction") != rules.OUT:
        if call.get("finalised"):  # its end came first: the log learns who answered now
            store.relabel(call, call["finalised"], answered_by=rules.answered_by(call))
        else:
            store.live_update(parsed.call_id, state="answered", answered_by=rules.answered_by(call) or "-")
    outcome = _finish(call, _now(now))
    return {"call": parsed.call_id, "status": parsed.status, "new": new, "outcome": outcome}


def _event_caller(parsed: Any) -> str | None:
    """Who called, as an event names it (a phone calling in; never the hotline's own number)."""
    if parsed.from_type != "external":
        return None
    caller, hotline = _phone(parsed.from_number), _phone(hotline_number())
    return caller if caller and caller != hotline else None


def voicemail(body: bytes, signature: str | None, call_id: str, kind: str, now: datetime | None = None
              ) -> dict[str, Any]:
    """Stores a voicemail's (or, kind "recording", the whole call's) link on the call; a voicemail
    that comes after the call was finished relabels it. Raises Forbidden / ValidationFailed."""
    from chalicelib.channels import stringee

    _verify_post(body, signature)
    recording = _recording(stringee, body, call_id)
    if kind == "recording":
        store.set_recording(recording.call_id, recording.url)
        return {"call": recording.call_id, "new": True}
    moment = _now(now)
    call, new = store.set_voicemail(recording.call_id, recording.url, recording.duration_s, _keep_until(moment))
    if new and call.get("finalised") and call["finalised"] != rules.VOICEMAIL:
        store.relabel(call, rules.VOICEMAIL, figures=call_stats.on_relabel(call, call["finalised"], rules.VOICEMAIL))
    elif new:
        _finish(call, moment)
    return {"call": recording.call_id, "new": new}


def _recording(stringee: Any, body: bytes, call_id: str) -> Any:
    """The recording in `body`; the call id from the URL we gave when the body carries none."""
    try:
        return stringee.parse_recording(body)
    except ValidationFailed:
        if not call_id:
            raise
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise
        return stringee.parse_recording(json.dumps({**data, "call_id": call_id}).encode("utf-8"))


def _finish(call: dict[str, Any], now: datetime) -> str | None:
    """Writes a finished call's follow-ups once (a task when nobody answered); returns its outcome."""
    for _ in range(3):
        outcome = rules.outcome(call)
        if outcome is None or call.get("finalised"):
            return outcome
        log = _log_fields(call)
        try:
            store.finalise(call, outcome, log, _task_change(call, outcome, now), _callback_result(call, outcome, now),
                           call_stats.on_call_end(call, outcome, log["wait_s"], log["talk_s"]))
            logger().info("call finished", extra={"call": call.get("call_id"), "outcome": outcome})
            return outcome
        except Conflict:  # finalised by a parallel event, or a voicemail came: read it again
            call = store.get(call["call_id"]) or call
    return rules.outcome(call)


def _log_fields(call: Mapping[str, Any]) -> dict[str, Any]:
    return {"wait_s": rules.wait_seconds(call), "talk_s": rules.talk_seconds(call), "answered_by": rules.answered_by(call)}


def _task_change(call: Mapping[str, Any], outcome: str, now: datetime) -> store.TaskChange | None:
    from chalicelib.store.reference import load_reference

    if outcome not in rules.NEEDS_CALLBACK or not call.get("caller") or call.get("direction") == rules.OUT:
        return None
    ref = load_reference()
    ended = call.get("ended_at") or now
    called = call.get("created_at") or ended  # due from when they called (an offer after 20:00: 07:00 next)
    return store.TaskChange(phone=call["caller"], call_id=call["call_id"], at=called,
                            due=rules.task_due(called, ref.hotline_opens, ref.hotline_closes, ref.calendar),
                            outcome=outcome, remind_email=remind_email(ref),
                            keep_until=ended + timedelta(days=ref.telephony.keep_days))


def _callback_result(call: Mapping[str, Any], outcome: str, now: datetime) -> store.CallbackResult | None:
    """A finished call back's effect on the task it answers (one GetItem): answered with talk time closes
    it, anything else leaves it open with the attempt noted as not answered. None: no open task."""
    if call.get("direction") != rules.OUT or not call.get("task"):
        return None
    found = store.task(call["task"])
    if found is None:
        return None
    reached = outcome == rules.ANSWERED and (rules.talk_seconds(call) or 0) > 0
    if not reached and found.attempt_call != call.get("call_id"):
        return None  # a later "Gọi lại" is under way: its own call tells
    from chalicelib.services.call_stats import closing_figures

    actor = f"staff:{call['staff']}" if call.get("staff") else store.TASK_OPERATOR
    at = call.get("ended_at") or now
    return store.CallbackResult(found, reached, actor, at, closing_figures(found, store.CALLED_BACK, at))


def remind_email(ref: Any) -> str:
    """Who is reminded of call tasks: reference data telephony.callback_email, else the hotline supervisor."""
    return ref.telephony.callback_email or ref.hotline_supervisor_email
