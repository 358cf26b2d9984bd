"""The desk's work with calls (chalicelib/web/call_views.py): the calls ringing now and the screen-pop
card, attaching a call to a ticket or making one from it, the call log, callback tasks and click-to-call.
What Stringee asks and tells (the webhooks) is chalicelib/services/call_control.py.
"""
from __future__ import annotations

import secrets as random_ids
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

from chalicelib.domain import calls as rules
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from chalicelib.domain.permissions import StaffUser, allowed, check_visible, require
from chalicelib.observability import logger
from chalicelib.services.call_control import hotline_number
from chalicelib.store import calls as store
from chalicelib.store.tickets import NewEvent

CALL_EVENT = "call"   # the timeline event of a call attached to a ticket, or made from it


class CallNotFound(NotFound):
    message_vi = "Không tìm thấy cuộc gọi."
    message_en = "No such call."


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


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


def recording_link(user: StaffUser, call_id: str, kind: str = "voicemail") -> str:
    """The provider's link of a call's voicemail (or, kind "recording", of the whole call), for the staff
    route that redirects to it (chalicelib/web/routes_calls.py): pages link to our route, never to the
    provider, so where the audio lives stays in one place and no link carries a phone. Raises NotFound
    (no such call, or no such audio)."""
    require(user, "calls")
    url = _load(call_id).get("recording_url" if kind == "recording" else "voicemail_url") or ""
    if not url.startswith(("https://", "http://")):
        raise CallNotFound()
    return url


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
            "voicemail_calls": [i for i in ids if calls_by_id.get(i, {}).get("voicemail_url")],
            "status": "open" if task.sk == store.OPEN_SK else "closed", "outcome": task.outcome,
            "outcome_label": rules.TASK_CLOSED_LABELS.get(task.outcome or "", ""),
            "attempt_at": _when(task.attempt_at), "attempt_result": task.attempt_result,
            "attempt_label": rules.attempt_label(task.attempt_result) if task.attempt_at else ""}


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
    from chalicelib.services.call_stats import closing_figures

    moment = _now(now)
    closed = store.close_task(task, outcome, (note or "").strip()[:500], user.actor, moment,
                              figures=closing_figures(task, outcome, moment))
    logger().info("call task closed", extra={"outcome": outcome, "calls": int(task.calls or 0)})
    return _task_row(closed, {})


def call_back(user: StaffUser, phone: str | None, code: str | None = None, task: str | None = None,
              now: datetime | None = None) -> dict[str, Any]:
    """Click-to-call: Stringee rings the operator's roster line first (the one on duty now, else their first
    line), then connects the citizen. For a task (`task`, its key) the number is the task's caller, read
    from the stored task — `phone` is then ignored, so a posted number can never be dialled in a task's
    name; otherwise `phone` (the caller read it on the server: a ticket's reporter).

    The call is stored under our own id (logged, direction out; on ticket `code`'s timeline; the task's
    attempt) BEFORE Stringee is asked to place it, so its events — which may come before the callout's
    answer — always find it (they carry our id as custom data). Its end closes the task when the citizen
    answered and talked (chalicelib.services.call_control), else leaves it open with the attempt not
    answered; a callout Stringee refuses ends the call at once with the attempt failed.
    Raises ValidationFailed (bad phone / the operator is on no roster line), CallNotFound (no such open
    task), TicketNotFound, chalicelib.notify.base.DeliveryFailed (the provider refused)."""
    from chalicelib.channels import stringee
    from chalicelib.domain.phones import normalise_phone
    from chalicelib.domain.roster import callback_line
    from chalicelib.notify import stringee as callouts
    from chalicelib.notify.base import DeliveryFailed
    from chalicelib.services.call_control import callout_refused
    from chalicelib.store import roster as rosters
    from chalicelib.store.reference import load_reference

    require(user, "calls")
    moment = _now(now)
    task_found = store.task(task) if task else None
    if task and (task_found is None or not task_found.caller):
        raise CallNotFound()
    citizen = task_found.caller if task_found is not None else normalise_phone(phone or "")
    ticket = _ticket_for(user, code) if code else None
    line = callback_line(rosters.current(), user.email, moment)
    if line is None:
        raise ValidationFailed([FieldError("phone", "Bạn chưa có trong lịch trực nên tổng đài chưa biết gọi vào máy "
                                           "nào của bạn. Nhờ giám sát thêm bạn vào lịch trực.",
                                           "You are on no duty-roster line: the hotline does not know where to ring you.")])
    if task_found is None:
        task_found = store.task(store.task_key(citizen))
    hotline = hotline_number()
    call_id = f"cb-{random_ids.token_hex(12)}"  # ours; Stringee's events carry it back as custom data
    ref = load_reference()
    offer = store.Offer(call_id=call_id, direction=rules.OUT, caller=citizen, caller_raw=None, route=rules.ROUTE_OUT,
                        rings=[{"kind": line.kind, "target": line.target, "staff": user.email.lower()}],
                        record=False, at=moment, keep_until=moment + timedelta(days=ref.telephony.keep_days),
                        ringing_to=user.email.lower(), staff=user.email.lower(),
                        task=task_found.pk.removeprefix(store.TASK_PREFIX) if task_found else None,
                        ticket=ticket.tracking_code if ticket else None)
    event = NewEvent(CALL_EVENT, user.actor, moment, detail={"call_id": call_id, "how": "called_back",
                                                             "direction": rules.OUT, "at": local_text(moment)})
    store.record_offer(offer, event if ticket else None)
    attempted = task_found is not None and store.record_attempt(offer.task or "", call_id, user.actor, moment)
    actions = [stringee.connect("external", citizen.lstrip("+"), hotline.lstrip("+"), "Tổng đài 1022", 45, None,
                                call_id)]
    try:
        provider_id = callouts.callout(hotline, [(line.kind, line.target)], actions, call_id)
    except DeliveryFailed as refused:
        callout_refused(call_id, moment)
        logger().warning("call back refused by the provider", extra={"call": call_id, "transient": refused.transient})
        raise
    logger().info("call back placed", extra={"call": call_id, "provider_call": provider_id,
                                             "ticket": ticket.tracking_code if ticket else None,
                                             "task_attempt": attempted})
    return {"call_id": call_id, "task_attempt": attempted}
