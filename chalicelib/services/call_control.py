"""The hotline's call control (Stringee's webhooks, chalicelib/web/routes_telephony.py): what to do with a
call offered to us, the next operator when one did not take it, what its events tell, its voicemail.

- answer: verify the signature, plan the route from the hours, the holidays and the roster (one
  GetItem; reference data is cached per container) and record the call (one transaction). A signature
  that does not verify, or anything failing → the SAFE answer (a message and voicemail, no operator,
  nothing stored; a bad signature is counted and alarmed); no signing secret → a message without
  voicemail. Stringee never gets an error and the caller is never dropped.
- The URLs we hand Stringee (/next, /voicemail) carry our own token over call|try|kind: Stringee's POST
  signature covers the body only, so a replayed body cannot be steered to another call. The call a
  body names is not compared with the URL's (a failed leg's event may carry the leg's own id): the
  token-checked URL says which call it is.
- on_fail (an operator did not take the call): the next operator on the plan, else the queue message and
  voicemail. One UpdateItem (+ the live marker).
- event: one conditional UpdateItem per call and status; once the call has ended its follow-ups (log,
  live marker, callback task) in one transaction: at most 3 AWS calls. A call back is stored under our
  own id before Stringee is asked to place it, and its events find it by that id (their custom data):
  Stringee's id comes back only with the callout's answer, its events may come first. A call back's end
  reads the task it answers first (a GetItem instead of the call's second read): answered with talk
  time closes it. A callout Stringee refuses ends the stored call at once, its attempt failed.
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
from chalicelib.domain.errors import Conflict, FieldError, Forbidden, Unavailable, ValidationFailed
from chalicelib.observability import logger
from chalicelib.store import calls as store

ANSWER_PATH = "/webhooks/stringee/answer"
EVENT_PATH = "/webhooks/stringee/event"
NEXT_PATH = "/webhooks/stringee/next"
VOICEMAIL_PATH = "/webhooks/stringee/voicemail"
VOICEMAIL_SECONDS = 120


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


class NotConfigured(Unavailable):
    """No signing secret is configured (stringee_signing_secret): nothing Stringee sends can be checked (503)."""

    message_vi = "Tổng đài chưa được cấu hình khoá ký Stringee (stringee_signing_secret): yêu cầu không được xử lý."
    message_en = "The Stringee signing secret (stringee_signing_secret) is not configured: request not processed."


def _rejected(reason: str) -> None:
    """Counts a refused or unverifiable Stringee request (the WebhookRejected metric the other webhooks
    emit; infra/alarms.json StringeeWebhookRejectedAlarm watches provider=stringee)."""
    from chalicelib.observability import count

    count("WebhookRejected", provider="stringee", reason=reason)


def _signing_secret() -> str:
    """The signing secret; NotConfigured (logged and counted) when there is none."""
    from chalicelib.secrets import MissingSecret, secret

    try:
        return secret("stringee_signing_secret")
    except MissingSecret:
        logger().error("stringee: no signing secret configured (stringee_signing_secret)")
        _rejected("no_secret")
        raise NotConfigured() from None


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


def _url(webhook_base: str, path: str, secret: str, call: str, tried: str = "", kind: str = "") -> str:
    """A URL of ours for Stringee to POST to, its query signed with our own token (QUERY_TOKEN)."""
    from chalicelib.channels import stringee

    query = {"call": call, **({"try": tried} if tried else {}), **({"kind": kind} if kind else {}),
             stringee.QUERY_TOKEN: stringee.query_token(secret, call, tried, kind)}
    return f"{webhook_base.rstrip('/')}{path}?{urlencode(query)}"


# --- the webhooks ---------------------------------------------------------------------------------

def safe_answer(webhook_base: str, secret: str, call_id: str = "") -> list[dict[str, Any]]:
    """What Stringee gets when anything went wrong: an apology and voicemail (never a 5xx)."""
    from chalicelib.channels import stringee

    return [stringee.talk(rules.FALLBACK_MESSAGE),
            stringee.record_message(_url(webhook_base, VOICEMAIL_PATH, secret, call_id, kind="voicemail"),
                                    VOICEMAIL_SECONDS)]


def unattended_answer() -> list[dict[str, Any]]:
    """What Stringee gets when no message could be kept (no signing secret): where else to report and
    when to call, with no voicemail prompt (its POST could not be checked, so it would be lost)."""
    from chalicelib.channels import stringee

    try:
        from chalicelib.store.reference import load_reference

        ref = load_reference()
        text = rules.unattended_message(ref.hotline_opens, ref.hotline_closes, ref.telephony)
    except Exception:  # the message must not depend on anything else working
        text = rules.unattended_message(None, None, None)
    return [stringee.talk(text)]


def _operator_actions(ring: rules.Ring, tried: int, call_id: str, webhook_base: str,
                      secret: str) -> list[dict[str, Any]]:
    """Ring `ring` (the `tried`+1-th operator); on failure Stringee asks /next; if that fails too,
    the queue message and voicemail that follow run."""
    from chalicelib.channels import stringee
    from chalicelib.store.reference import load_reference

    telephony = load_reference().telephony
    hotline = hotline_number()
    return [stringee.connect(ring.kind, ring.target, hotline.lstrip("+"), "Tổng đài 1022", telephony.ring_seconds,
                             _url(webhook_base, NEXT_PATH, secret, call_id, tried=str(tried + 1)), call_id),
            *_voicemail_actions(rules.QUEUE_MESSAGE, call_id, webhook_base, secret)]


def _voicemail_actions(message: str, call_id: str, webhook_base: str, secret: str) -> list[dict[str, Any]]:
    from chalicelib.channels import stringee

    return [stringee.talk(message),
            stringee.record_message(_url(webhook_base, VOICEMAIL_PATH, secret, call_id, kind="voicemail"),
                                    VOICEMAIL_SECONDS)]


def scco(plan: rules.RoutePlan, call_id: str, webhook_base: str, secret: str) -> list[dict[str, Any]]:
    """The SCCO for a planned call: record (if set) and ring the first operator, or the message and voicemail."""
    from chalicelib.channels import stringee

    if plan.route != rules.ROUTE_OPERATORS:
        return _voicemail_actions(plan.message, call_id, webhook_base, secret)
    recording = [stringee.record(_url(webhook_base, VOICEMAIL_PATH, secret, call_id, kind="recording"))] \
        if plan.record else []
    return [*recording, *_operator_actions(plan.rings[0], 0, call_id, webhook_base, secret)]


def answer(query: Mapping[str, str], signature: str | None, request_base: str, webhook_base: str,
           now: datetime | None = None) -> list[dict[str, Any]]:
    """The SCCO for an offered call; never raises (a refusal would be a silent outage of the hotline).
    - No signing secret: the unattended message (where else to report, no voicemail prompt), logged and
      counted (WebhookRejected reason no_secret); nothing stored.
    - A signature that does not verify (a forgery, or a Request-URI we rebuild differently from what
      Stringee signed: its GET encoding is unverified): the safe answer (message and voicemail, no
      operator rung), counted (reason signature, alarmed); nothing stored about the call but what the
      signed event and voicemail POSTs bring later.
    - Else the route: two AWS calls when warm (the roster, the call's transaction); any failure after
      the signature gives the safe answer."""
    from chalicelib.channels import stringee
    from chalicelib.config import settings

    try:
        secret = _signing_secret()
    except NotConfigured:
        return unattended_answer()
    call_id = ""
    try:
        prefix = stringee.public_prefix(settings().stringee_public_path, request_base)
        if not stringee.verify_get(stringee.request_uri_candidates(prefix, ANSWER_PATH, query), signature, secret):
            _rejected("signature")
            logger().warning("stringee answer: signature not verified, safe answer given (nothing stored)")
            return safe_answer(webhook_base, secret, _unverified_call_id(stringee, query))
        offer = stringee.parse_offer(query)
        call_id = offer.call_id
        return _answer(offer, webhook_base, _now(now), secret)
    except Exception as exc:  # never a 5xx to the PBX: the caller hears a message and may leave one
        logger().error("stringee answer failed, safe answer given",
                       extra={"call": call_id, "error_type": type(exc).__name__})
        return safe_answer(webhook_base, secret, call_id)


def _unverified_call_id(stringee: Any, query: Mapping[str, str]) -> str:
    """The call id an unverified offer names ('' when unreadable): only for the voicemail URL, whose POST
    must itself be signed by Stringee and name the same call when its body names one."""
    try:
        return stringee.parse_offer(query).call_id
    except ValidationFailed:
        return ""


def _answer(offer: Any, webhook_base: str, now: datetime, secret: str) -> list[dict[str, Any]]:
    from chalicelib.domain.roster import on_duty
    from chalicelib.store import roster as rosters
    from chalicelib.store.models import RosterModel
    from chalicelib.store.reference import NOT_READ, load_reference, load_with

    # a cold container reads the reference data with the roster (one BatchGetItem); a warm one the roster
    item = load_with(RosterModel, *rosters.KEY)
    duty = on_duty(rosters.current() if item is NOT_READ else rosters.of_item(item), now)
    ref = load_reference()
    plan = rules.plan(now, ref.hotline_opens, ref.hotline_closes, ref.calendar, duty, ref.telephony)
    caller = _phone(offer.caller)
    store.record_offer(store.Offer(
        call_id=offer.call_id, direction=rules.IN, caller=caller, caller_raw=None if caller else (offer.caller or None),
        route=plan.route, rings=[r.document() for r in plan.rings], record=plan.record, at=now,
        keep_until=now + timedelta(days=ref.telephony.keep_days),
        ringing_to=plan.rings[0].staff if plan.rings else None))
    logger().info("call offered", extra={"call": offer.call_id, "route": plan.route, "operators": len(plan.rings)})
    return scco(plan, offer.call_id, webhook_base, secret)


def _verify_post(body: bytes, signature: str | None) -> str:
    """Checks Stringee's signature of a POST body; returns the secret. Forbidden (counted) when it does
    not verify; NotConfigured (503) without a secret."""
    from chalicelib.channels import stringee

    secret = _signing_secret()
    if not stringee.verify_post(body, signature, secret):
        _rejected("signature")
        raise Forbidden()
    return secret


def _verify_ours(secret: str, token: str | None, body_call: str | None, call_id: str, tried: str = "",
                 kind: str = "") -> None:
    """Checks the query of one of our URLs (its QUERY_TOKEN): else Forbidden (counted), nothing stored.
    A body naming another call than the URL is not refused (Stringee's onFail body may name the failed
    leg): the token-checked URL names the call; only logged, without ids."""
    from chalicelib.channels import stringee

    if not stringee.query_token_ok(secret, token, call_id, tried, kind):
        _rejected("query")
        raise Forbidden()
    if body_call and call_id and body_call != call_id:
        logger().debug("stringee: the body names another call id than the URL; the URL's is used")


def _body_call_id(body: bytes) -> str | None:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    found = data.get("call_id") or data.get("callId")
    return str(found) if found else None


def _fail_cause(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return str(data.get("endCallCause") or data.get("reason") or data.get("call_status") or "")[:200]


def on_fail(body: bytes, signature: str | None, call_id: str, tried_text: str, webhook_base: str,
            now: datetime | None = None, token: str | None = None) -> list[dict[str, Any]]:
    """The SCCO after the `tried`-th operator did not take the call: the next operator on the plan, else
    the queue message and voicemail. Raises Forbidden for a bad signature or a query not signed by us
    (`token`); NotConfigured without a secret; never fails otherwise."""
    secret = _verify_post(body, signature)
    # the failed leg's event may carry the leg's own id: the URL (its token checked) names the call
    _verify_ours(secret, token, _body_call_id(body), call_id, tried=tried_text)
    try:
        tried = int(tried_text)
        call = store.record_fail(call_id, tried, _fail_cause(body))
        if call is None:
            return _voicemail_actions(rules.QUEUE_MESSAGE, call_id, webhook_base, secret)
        ring = rules.next_ring(call.get("rings") or [], tried)
        if ring is None:
            store.live_update(call_id, ringing_to="-")
            return _voicemail_actions(rules.QUEUE_MESSAGE, call_id, webhook_base, secret)
        store.live_update(call_id, ringing_to=ring.staff)
        return _operator_actions(ring, tried, call_id, webhook_base, secret)
    except Exception as exc:
        logger().error("stringee next failed, voicemail given", extra={"call": call_id,
                                                                       "error_type": type(exc).__name__})
        return safe_answer(webhook_base, secret, call_id)


def event(body: bytes, signature: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Applies one event_url POST to its call; returns {"call", "status", "new", "outcome"}.
    Raises Forbidden (bad signature) or ValidationFailed (unreadable body)."""
    from chalicelib.channels import stringee

    _verify_post(body, signature)
    parsed = stringee.parse_event(body)
    at = datetime.fromtimestamp(parsed.timestamp_ms / 1000, timezone.utc) if parsed.timestamp_ms else _now(now)
    change = rules.event_facts(parsed.status, at, parsed.to_number, parsed.duration_s, parsed.answer_duration_s,
                               parsed.end_cause, parsed.ended_by)
    key = rules.event_call_key(parsed.call_id, parsed.custom)  # a call back: stored under our id
    call, new = store.apply_event(key, parsed.status, change.facts, at, _keep_until(at),
                                  caller=_event_caller(parsed), provider_call_id=parsed.call_id)
    if new and parsed.status == "answered" and call.get("direction") != rules.OUT:
        if call.get("finalised"):  # its end came first: the log learns who answered now
            _answered_late(call, _now(now))
        else:
            store.live_update(key, state="answered", answered_by=rules.answered_by(call) or "-")
    outcome = _finish(call, _now(now))
    return {"call": key, "status": parsed.status, "new": new, "outcome": outcome}


def callout_refused(call_id: str, now: datetime | None = None) -> str | None:
    """Ends a stored call back that Stringee refused to place (chalicelib.services.telephony.call_back):
    not answered, its task's attempt failed. Returns its outcome."""
    moment = _now(now)
    change = rules.event_facts("ended", moment, duration_s=0, answer_duration_s=0, end_cause=CALLOUT_REFUSED,
                               ended_by="system")
    call, _ = store.apply_event(call_id, "ended", change.facts, moment, _keep_until(moment))
    return _finish(call, moment)


CALLOUT_REFUSED = "callout refused"  # the end cause of a call back Stringee would not place


def _answered_late(call: dict[str, Any], now: datetime) -> None:
    """An operator's answer event after the call was finalised: the log names who answered, and a call
    finalised as not answered (its end came first and could not tell: a recorded call) becomes answered,
    with its wait and talk time, in the log and in the call-centre figures; the callback task it opened
    is closed (answered later) when it holds only this call, else the call leaves it — all in one
    transaction (read again and retried when the task or the call changed meanwhile)."""
    for _ in range(3):
        who = rules.answered_by(call)
        if not who or call.get("finalised") in (None, rules.ANSWERED):
            store.relabel(call, call.get("finalised") or rules.ANSWERED, answered_by=who)
            return
        log = _log_fields(call)
        figures = {**call_stats.on_relabel(call, call["finalised"], rules.ANSWERED),
                   "wait_answered_s": int(log["wait_s"] or 0), "talk_s": int(log["talk_s"] or 0)}
        task = store.task(store.task_key(call["caller"])) if call.get("caller") else None
        if task is not None and call["call_id"] not in (task.call_ids or ()):
            task = None
        try:
            store.relabel(call, rules.ANSWERED, answered_by=who, figures=figures, log=log, task=task, now=now)
        except Conflict:
            call = store.get(call["call_id"]) or call
            continue
        logger().info("call relabelled", extra={"call": call.get("call_id"), "outcome": rules.ANSWERED,
                                                "task": "closed" if task is not None and len(task.call_ids or ()) == 1
                                                else "left" if task is not None else "none"})
        return


def _event_caller(parsed: Any) -> str | None:
    """Who called, as an event names it (a phone calling in; never the hotline's own number)."""
    if parsed.from_type != "external":
        return None
    caller, hotline = _phone(parsed.from_number), _phone(hotline_number())
    return caller if caller and caller != hotline else None


def voicemail(body: bytes, signature: str | None, call_id: str, kind: str, now: datetime | None = None,
              token: str | None = None) -> dict[str, Any]:
    """Stores a voicemail's (or, kind "recording", the whole call's) link on the call; a voicemail
    that comes after the call was finished relabels it. Raises Forbidden (bad signature, a query not
    signed by us), ValidationFailed, NotConfigured. The call is the one our URL names."""
    from chalicelib.channels import stringee

    secret = _verify_post(body, signature)
    _verify_ours(secret, token, _body_call_id(body), call_id, kind=kind)
    recording = _recording(stringee, body, call_id)
    target = call_id or recording.call_id  # the call our token-checked URL names; the body's only without one
    if kind == "recording":
        store.set_recording(target, recording.url)
        return {"call": target, "new": True}
    if kind != "voicemail":
        raise ValidationFailed([FieldError("kind", "Loại ghi âm không hợp lệ.", "Unknown recording kind.")])
    moment = _now(now)
    call, new = store.set_voicemail(target, recording.url, recording.duration_s, _keep_until(moment))
    if new and call.get("finalised") and call["finalised"] != rules.VOICEMAIL:
        store.relabel(call, rules.VOICEMAIL, figures=call_stats.on_relabel(call, call["finalised"], rules.VOICEMAIL))
    elif new:
        _finish(call, moment)
    return {"call": target, "new": new}


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
    result = rules.ATTEMPT_FAILED if call.get("end_cause") == CALLOUT_REFUSED else rules.ATTEMPT_NO_ANSWER
    return store.CallbackResult(found, reached, actor, at, closing_figures(found, store.CALLED_BACK, at), result)


def remind_email(ref: Any) -> str:
    """Who is reminded of call tasks: reference data telephony.callback_email, else the hotline supervisor."""
    return ref.telephony.callback_email or ref.hotline_supervisor_email
