"""The hotline's calls (Stringee): what to do with a call offered to us, what its events tell, and the
desk's work with calls (the screen-pop, the call log, callback tasks, click-to-call).

The webhooks (chalicelib/web/routes_telephony.py) answer Stringee:
- answer: verify the signature (else Forbidden → 403, nothing stored), plan the route from the hours,
  the holidays and the roster (one GetItem; reference data is cached per container) and record the
  call (one transaction). Anything failing after the signature → the SAFE answer (a message and
  voicemail), logged without the phone: Stringee never gets a 5xx and the caller is never dropped.
- next (an operator did not take the call): the next operator on the plan, else the queue message and
  voicemail. One UpdateItem (+ the live marker).
- event: one conditional UpdateItem per call and status; once the call has ended its follow-ups (log,
  live marker, callback task) in one transaction: at most 3 AWS calls.
- voicemail (also the whole-call recording): the link on the call.
"""
from __future__ import annotations

import json
import secrets as random_ids
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import urlencode

from chalicelib.domain import calls as rules
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.permissions import StaffUser, allowed, check_visible, require
from chalicelib.observability import logger
from chalicelib.store import calls as store
from chalicelib.store.tickets import NewEvent

ANSWER_PATH = "/webhooks/stringee/answer"
EVENT_PATH = "/webhooks/stringee/event"
NEXT_PATH = "/webhooks/stringee/next"
VOICEMAIL_PATH = "/webhooks/stringee/voicemail"
VOICEMAIL_SECONDS = 120
CALL_EVENT = "call"   # the timeline event of a call attached to a ticket, or made from it


class CallNotFound(NotFound):
    message_vi = "Không tìm thấy cuộc gọi."
    message_en = "No such call."


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _signing_secret() -> str:
    from chalicelib.secrets import secret

    return secret("stringee_signing_secret")


def _hotline_number() -> str:
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
    hotline = _hotline_number()
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
    caller, hotline = _phone(parsed.from_number), _phone(_hotline_number())
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
        store.relabel(call, rules.VOICEMAIL)
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
        try:
            store.finalise(call, outcome, _log_fields(call), _task_change(call, outcome, now))
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


def remind_email(ref: Any) -> str:
    """Who is reminded of call tasks: reference data telephony.callback_email, else the hotline supervisor."""
    return ref.telephony.callback_email or ref.hotline_supervisor_email


# --- the desk -------------------------------------------------------------------------------------

def display_phone(phone: str | None) -> str:
    """'0909 982 888' for '+84909982888'; '' for none."""
    if not phone:
        return ""
    national = "0" + phone[3:] if phone.startswith("+84") else phone
    return f"{national[:4]} {national[4:7]} {national[7:]}".strip() if len(national) == 10 else national


def _when(moment: datetime | None) -> str | None:
    return local_text(moment) if moment else None


def live_calls(user: StaffUser, now: datetime | None = None) -> list[dict[str, Any]]:
    """The calls ringing or answered now, newest first (one Query): {call_id, status, since, caller,
    caller_display, ringing_to, answered_by}."""
    require(user, "calls")
    found = sorted(store.live(_now(now)), key=lambda m: m.at or datetime.min.replace(tzinfo=timezone.utc),
                   reverse=True)
    return [{"call_id": m.sk, "status": m.state or "ringing", "since": _when(m.at), "caller": m.caller,
             "caller_display": display_phone(m.caller) or "Số ẩn", "direction": m.direction or rules.IN,
             "ringing_to": None if m.ringing_to in (None, "-") else m.ringing_to,
             "answered_by": None if m.answered_by in (None, "-") else m.answered_by} for m in found]


def _call_row(call: Mapping[str, Any]) -> dict[str, Any]:
    outcome = call.get("finalised") or rules.outcome(call)
    return {"call_id": call.get("call_id"), "direction": call.get("direction") or rules.IN,
            "at": _when(call.get("created_at")), "caller": call.get("caller"),
            "caller_display": display_phone(call.get("caller")) or "Số ẩn",
            "outcome": outcome, "outcome_label": rules.OUTCOME_LABELS_VI.get(outcome or "", rules.IN_PROGRESS_LABEL_VI),
            "wait_s": rules.wait_seconds(call), "talk_s": rules.talk_seconds(call),
            "answered_by": rules.answered_by(call) or call.get("staff"), "route": call.get("route"),
            "voicemail": call.get("voicemail_url"), "recording": call.get("recording_url"),
            "tickets": sorted(call.get("tickets") or ())}


def _load(call_id: str) -> dict[str, Any]:
    call = store.get(call_id, consistent=False) if call_id else None
    if call is None:
        raise CallNotFound()
    return call


def call_context(user: StaffUser, call_id: str, now: datetime | None = None) -> dict[str, Any]:
    """What the operator needs while a call rings: {call, open_tickets [summary rows], recent_calls
    [≤5], recent_messages [≤5]} (tickets only those the user may see)."""
    from chalicelib.domain.lifecycle import Status, is_open
    from chalicelib.domain.permissions import can_see
    from chalicelib.services.console import summary
    from chalicelib.store import tickets
    from chalicelib.store.reference import load_reference

    require(user, "calls")
    call = _load(call_id)
    result: dict[str, Any] = {"call": _call_row(call), "open_tickets": [], "recent_calls": [], "recent_messages": []}
    phone = call.get("caller")
    if not phone:
        return result
    ref, moment = load_reference(), _now(now)
    mine = [t for t in tickets.by_phone(phone, limit=20) if can_see(user, t.agency)]
    result["open_tickets"] = [summary(t, ref, moment) for t in mine if is_open(Status(t.status))]
    result["recent_messages"] = [{"code": t.tracking_code, "channel": t.channel, "at": local_text(t.created_at),
                                  "excerpt": (t.text or "")[:140]} for t in mine[:5]]
    others = [m.ref for m in store.caller_calls(phone, 6) if m.ref != call_id][:5]
    found = store.many(others)
    result["recent_calls"] = [_call_row(found[i]) for i in others if i in found]
    return result


def _ticket_for(user: StaffUser, code: str) -> Any:
    from chalicelib.domain.errors import TicketNotFound
    from chalicelib.store import tickets

    try:
        ticket = tickets.get_ticket(code)
    except NotFound:
        raise TicketNotFound() from None
    check_visible(user, ticket.agency)
    return ticket


def _call_event(user: StaffUser, call: Mapping[str, Any], now: datetime, how: str) -> NewEvent:
    row = _call_row(call)
    return NewEvent(CALL_EVENT, user.actor, now, detail={
        "call_id": call.get("call_id"), "how": how, "direction": row["direction"], "at": row["at"],
        "outcome": row["outcome"], "talk_s": row["talk_s"], "answered_by": row["answered_by"]})


def attach_call(user: StaffUser, call_id: str, code: str, now: datetime | None = None, how: str = "attached") -> None:
    """Links the call to ticket `code` and shows it on the ticket's timeline (`how`: "attached" — added
    to the ticket —, "created" — the ticket was made from it). Raises CallNotFound / TicketNotFound."""
    require(user, "calls")
    call = _load(call_id)
    ticket = _ticket_for(user, code)
    if ticket.tracking_code in (call.get("tickets") or ()):
        return
    try:
        store.attach(call_id, ticket.tracking_code, _call_event(user, call, _now(now), how))
    except Conflict:
        raise CallNotFound() from None


def call_for_intake(user: StaffUser, call_id: str) -> dict[str, Any]:
    """{call_id, phone} to prefill the phone intake with the call's caller (phone None when withheld)."""
    require(user, "phone_intake")
    call = _load(call_id)
    return {"call_id": call_id, "phone": call.get("caller")}


def call_log(user: StaffUser, day: date, outcome: str | None = None, after: str | None = None
             ) -> dict[str, Any]:
    """One page of a day's calls, newest first: every call for supervisors and admins, an operator's own
    (answered or called back) otherwise. {calls [rows], next (the key to continue after, or None)}.
    Raises Forbidden / ValidationFailed (an unknown outcome)."""
    require(user, "calls")
    if outcome and outcome not in rules.OUTCOMES:
        raise ValidationFailed([FieldError("outcome", "Kết quả cuộc gọi không hợp lệ.", "Unknown call outcome.")])
    staff = None if allowed(user, "call_log") else user.email.lower()
    entries, more = store.day_log(day, outcome, after, staff=staff)
    found = store.many(e.call_id for e in entries if e.call_id)
    rows = []
    for entry in entries:
        call = found.get(entry.call_id or "")
        row = _call_row(call) if call else {
            "call_id": entry.call_id, "direction": entry.direction, "at": _when(entry.at), "caller": None,
            "caller_display": "(đã xoá)", "outcome": entry.outcome,
            "outcome_label": rules.OUTCOME_LABELS_VI.get(entry.outcome or "", rules.IN_PROGRESS_LABEL_VI),
            "wait_s": entry.wait_s, "talk_s": entry.talk_s, "answered_by": entry.answered_by or entry.staff,
            "route": entry.route, "voicemail": None, "recording": None, "tickets": []}
        rows.append(row)
    return {"calls": rows, "next": more}


def _task_row(task: Any, calls_by_id: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    ids = sorted(task.call_ids or (), key=lambda i: str(calls_by_id.get(i, {}).get("created_at") or ""))
    return {"key": task.pk.removeprefix(store.TASK_PREFIX), "caller": task.caller,
            "caller_display": display_phone(task.caller), "calls": int(task.calls or 0),
            "call_ids": ids, "first_at": _when(task.first_at), "last_at": _when(task.last_at),
            "due_at": _when(task.due_at), "due": task.due_at, "overdue_reminded": "overdue" in (task.reminded or set()),
            "last_outcome": task.last_outcome,
            "last_outcome_label": rules.OUTCOME_LABELS_VI.get(task.last_outcome or "", ""),
            "voicemails": [calls_by_id[i]["voicemail_url"] for i in ids if calls_by_id.get(i, {}).get("voicemail_url")],
            "status": "open" if task.sk == store.OPEN_SK else "closed", "outcome": task.outcome}


def open_tasks(user: StaffUser, after: str | None = None, limit: int = 50) -> dict[str, Any]:
    """The open callback tasks, earliest due first, `limit` a page from after the task key `after`:
    {tasks [key, caller, caller_display, calls, first_at, last_at, due_at, voicemails, status], next}."""
    require(user, "calls")
    found = store.open_tasks()
    if after:
        keys = [t.pk.removeprefix(store.TASK_PREFIX) for t in found]
        found = found[keys.index(after) + 1:] if after in keys else found
    page, more = found[:limit], len(found) > limit
    calls_by_id = store.many(i for t in page for i in (t.call_ids or ()))
    rows = [_task_row(t, calls_by_id) for t in page]
    return {"tasks": rows, "next": rows[-1]["key"] if more and rows else None}


def task_detail(user: StaffUser, key: str) -> dict[str, Any]:
    """One open task with its calls (rows): the caller's history for the call back. Raises NotFound."""
    require(user, "calls")
    task = store.task(key)
    if task is None:
        raise CallNotFound()
    calls_by_id = store.many(task.call_ids or ())
    row = _task_row(task, calls_by_id)
    row["call_rows"] = [_call_row(calls_by_id[i]) for i in row["call_ids"] if i in calls_by_id]
    return row


def task_outcome(user: StaffUser, key: str, outcome: str, note: str, now: datetime | None = None) -> dict[str, Any]:
    """Closes the caller's open task with `outcome` (rules.TASK_OUTCOMES) and a note. Raises
    ValidationFailed (unknown outcome), CallNotFound (no open task) or Conflict (a call was merged
    meanwhile: look again)."""
    require(user, "calls")
    if outcome not in rules.TASK_OUTCOMES and outcome != "called_back":
        raise ValidationFailed([FieldError("outcome", "Chọn kết quả gọi lại.", "Choose the callback's outcome.")])
    task = store.task(key)
    if task is None:
        raise CallNotFound()
    closed = store.close_task(task, outcome, (note or "").strip()[:500], user.actor, _now(now))
    logger().info("call task closed", extra={"outcome": outcome, "calls": int(task.calls or 0)})
    return _task_row(closed, {})


def call_back(user: StaffUser, phone: str, code: str | None = None, task: str | None = None,
              now: datetime | None = None) -> dict[str, Any]:
    """Click-to-call: Stringee rings the operator's roster target first, then connects the citizen. The call
    is logged (direction out), shown on ticket `code`'s timeline, and closes the caller's open task.
    Raises ValidationFailed (bad phone / the operator is on no roster line), TicketNotFound,
    chalicelib.notify.base.DeliveryFailed (the provider refused)."""
    from chalicelib.channels import stringee
    from chalicelib.domain.phones import normalise_phone
    from chalicelib.domain.roster import entries_of
    from chalicelib.notify import stringee as callouts
    from chalicelib.store import roster as rosters
    from chalicelib.store.reference import load_reference

    require(user, "calls")
    moment = _now(now)
    citizen = normalise_phone(phone)
    ticket = _ticket_for(user, code) if code else None
    mine = entries_of(rosters.current(), user.email)
    if not mine:
        raise ValidationFailed([FieldError("phone", "Bạn chưa có trong lịch trực nên tổng đài chưa biết gọi vào máy "
                                           "nào của bạn. Nhờ giám sát thêm bạn vào lịch trực.",
                                           "You are on no duty-roster line: the hotline does not know where to ring you.")])
    hotline = _hotline_number()
    custom = f"cb-{random_ids.token_hex(8)}"
    actions = [stringee.connect("external", citizen.lstrip("+"), hotline.lstrip("+"), "Tổng đài 1022", 45, None,
                                custom)]
    call_id = callouts.callout(hotline, [(mine[0].kind, mine[0].target)], actions, custom)
    ref = load_reference()
    task_found = store.task(task or store.task_key(citizen))
    offer = store.Offer(call_id=call_id, direction=rules.OUT, caller=citizen, caller_raw=None, route=rules.ROUTE_OUT,
                        rings=[{"kind": mine[0].kind, "target": mine[0].target, "staff": user.email.lower()}],
                        record=False, at=moment, keep_until=moment + timedelta(days=ref.telephony.keep_days),
                        ringing_to=user.email.lower(), staff=user.email.lower(),
                        task=task_found.pk.removeprefix(store.TASK_PREFIX) if task_found else None,
                        ticket=ticket.tracking_code if ticket else None)
    event = NewEvent(CALL_EVENT, user.actor, moment, detail={"call_id": call_id, "how": "called_back",
                                                             "direction": rules.OUT, "at": local_text(moment)})
    store.record_offer(offer, event if ticket else None)
    closed = False
    if task_found is not None:
        try:
            store.close_task(task_found, "called_back", "", user.actor, moment)
            closed = True
        except Conflict:  # another call merged meanwhile: the task stays open with it
            closed = False
    logger().info("call back placed", extra={"call": call_id, "ticket": ticket.tracking_code if ticket else None,
                                             "task_closed": closed})
    return {"call_id": call_id, "task_closed": closed}
