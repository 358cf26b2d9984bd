"""Calls to the hotline (tổng đài): when it is open, how a call is routed, what became of it, and when
a call nobody answered must be returned. Pure rules: no AWS, no Chalice, no provider format.

- Open: within the hotline hours (reference data `hotline_hours`, every day of the week) and not on a
  public holiday of the working calendar (`calendar.holidays`). Holidays are closed.
- Route: open and someone on duty → ring the operators on duty one after another (at most
  `Telephony.max_operators`), then a queue message and voicemail; closed or nobody on duty → a
  spoken message with the hours and the website/Zalo, then voicemail.
- Facts: every provider event sets only its own facts (its status, its time, durations, who
  answered), so events in any order, or twice, give the same call; the outcome is derived from them.
- A call nobody answered, from a known number, becomes a callback task due in the hotline's hours:
  about half an hour after the call while open, else at the next opening.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from chalicelib.domain.clock import VN_TZ

if TYPE_CHECKING:
    from chalicelib.domain.working_time import WorkCalendar

# Outcomes of a call (the call log's filter; Vietnamese labels for pages below).
ANSWERED, MISSED, ABANDONED, BUSY, AFTER_HOURS, VOICEMAIL = (
    "answered", "missed", "abandoned", "busy", "after_hours", "voicemail")
OUTCOMES = (ANSWERED, MISSED, ABANDONED, BUSY, AFTER_HOURS, VOICEMAIL)
OUTCOME_LABELS_VI = {ANSWERED: "Đã nghe máy", MISSED: "Nhỡ (không ai nghe)", ABANDONED: "Người gọi gác máy khi chờ",
                     BUSY: "Máy bận", AFTER_HOURS: "Ngoài giờ", VOICEMAIL: "Để lại lời nhắn"}
IN_PROGRESS_LABEL_VI = "Đang diễn ra"
# Outcomes that leave someone to call back (a task), when the caller's number is known.
NEEDS_CALLBACK = frozenset({MISSED, ABANDONED, BUSY, AFTER_HOURS, VOICEMAIL})
# Routes chosen at answer time.
ROUTE_OPERATORS, ROUTE_CLOSED, ROUTE_NOBODY, ROUTE_FALLBACK, ROUTE_OUT = (
    "operators", "closed", "nobody", "fallback", "out")
IN, OUT = "in", "out"
# Task outcomes an operator records (chalicelib.services.telephony.task_outcome).
TASK_OUTCOMES = {"reached": "Đã gọi lại, đã trao đổi", "no_answer": "Gọi lại không ai nghe",
                 "wrong_number": "Sai số / không liên lạc được", "not_needed": "Không cần gọi lại"}
# A task's outcome when its call back was answered and talked (chalicelib.services.call_control).
CALLED_BACK = "called_back"
# A task's outcome when the only call in it turned out answered (an operator's late answered event).
ANSWERED_LATER = "answered_later"
TASK_CLOSED_LABELS = {**TASK_OUTCOMES, CALLED_BACK: "Đã gọi lại được",
                      ANSWERED_LATER: "Cuộc gọi hoá ra đã có người nghe (ghi nhận muộn)"}
# What a "Gọi lại" came to on its task (attempt_result): nobody answered, or Stringee refused the callout.
ATTEMPT_NO_ANSWER, ATTEMPT_FAILED = "no_answer", "failed"
# A call back's id: ours, made before Stringee's callout and carried back in its events' custom data.
CALLBACK_ID = re.compile(r"cb-[0-9a-f]{16,32}")
CALLBACK_SOON = timedelta(minutes=30)


def attempt_label(result: str | None) -> str:
    """What a task's last "Gọi lại" came to, for the tasks page (after "Đã gọi lúc …")."""
    if result == ATTEMPT_FAILED:
        return "tổng đài chưa gọi được (nhà cung cấp từ chối)"
    return "không ai nghe máy" if result == ATTEMPT_NO_ANSWER else "đang chờ kết quả"


def event_call_key(call_id: str, custom: str | None) -> str:
    """The call an event belongs to: a call back's own id when the event carries it (Stringee names the
    callout by its own id, which we learn only once the callout returns; its events may come first),
    else the provider's call id."""
    return custom if custom and CALLBACK_ID.fullmatch(custom) else call_id


@dataclass(frozen=True)
class Telephony:
    """Reference data "telephony" (all optional): whether calls are recorded, what the closed-hours
    message names, who is reminded of call tasks (default: the hotline supervisor), how long operators
    ring, and how long a call's phone number and recording links are kept."""

    record_calls: bool = False
    website: str = "1022.tayninh.gov.vn"
    zalo: str = "Zalo “Tổng đài 1022 Tây Ninh”"
    callback_email: str = ""
    ring_seconds: int = 20
    max_operators: int = 3
    keep_days: int = 365


def parse_telephony(block: Any, bad: Callable[[str, str, str], None]) -> Telephony:
    """The "telephony" block of the reference document (the defaults when absent); calls
    `bad(field, vi, en)` for each problem."""
    if block is None:
        return Telephony()
    if not isinstance(block, dict):
        bad("telephony", "Mục telephony phải là một đối tượng JSON.", "The telephony block must be a JSON object.")
        return Telephony()
    default = Telephony()
    values: dict[str, Any] = {}
    record = block.get("record_calls", False)
    if not isinstance(record, bool):
        bad("telephony.record_calls", "Giá trị phải là true hoặc false.", "Must be true or false.")
        record = False
    values["record_calls"] = record
    for name in ("website", "zalo", "callback_email"):
        value = block.get(name, getattr(default, name))
        if not isinstance(value, str) or len(value) > 200 or (name == "callback_email" and value and "@" not in value):
            bad(f"telephony.{name}", "Giá trị không hợp lệ.", "Invalid value.")
            value = getattr(default, name)
        values[name] = value.strip()
    for name, low, high in (("ring_seconds", 5, 120), ("max_operators", 1, 10), ("keep_days", 1, 3650)):
        value = block.get(name, getattr(default, name))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bad(f"telephony.{name}", f"Phải là số nguyên từ {low} đến {high}.",
                f"Must be a whole number from {low} to {high}.")
            value = getattr(default, name)
        values[name] = value
    return Telephony(**values)


# --- open or closed -------------------------------------------------------------------------------

def _holidays(calendar: "WorkCalendar | None") -> frozenset:
    return calendar.holidays if calendar is not None else frozenset()


def is_open(moment: datetime, opens: time, closes: time, calendar: "WorkCalendar | None") -> bool:
    """True when the hotline answers at `moment` (any tz): within [opens, closes) Vietnam time, on
    a day that is not a public holiday."""
    local = moment.astimezone(VN_TZ)
    return local.date() not in _holidays(calendar) and opens <= local.time().replace(tzinfo=None) < closes


def next_opening(moment: datetime, opens: time, closes: time, calendar: "WorkCalendar | None") -> datetime:
    """`moment` itself when the hotline is open then, else when it next opens (skipping holidays)."""
    if is_open(moment, opens, closes, calendar):
        return moment
    local = moment.astimezone(VN_TZ)
    day = local.date() if local.time().replace(tzinfo=None) < opens else local.date() + timedelta(days=1)
    holidays = _holidays(calendar)
    for _ in range(400):
        if day not in holidays:
            return datetime.combine(day, opens, VN_TZ)
        day += timedelta(days=1)
    raise ValueError("no opening day within a year: check the calendar")


def hours_text(opens: time, closes: time) -> str:
    """'7 giờ đến 20 giờ' (minutes only when not whole hours), read out by the text-to-speech."""
    def spoken(moment: time) -> str:
        return f"{moment.hour} giờ" + (f" {moment.minute} phút" if moment.minute else "")
    return f"{spoken(opens)} đến {spoken(closes)}"


def closed_message(opens: time, closes: time, telephony: Telephony, holiday: bool) -> str:
    """What a caller hears when the hotline is closed (or nobody is on duty), before the beep."""
    why = "Hôm nay là ngày nghỉ lễ. " if holiday else ""
    return (f"Cảm ơn quý vị đã gọi Tổng đài 1022. {why}Tổng đài tiếp nhận cuộc gọi từ {hours_text(opens, closes)} "
            f"hằng ngày, trừ ngày lễ. Quý vị có thể gửi phản ánh tại trang {telephony.website} hoặc qua "
            f"{telephony.zalo}. Xin để lại lời nhắn sau tiếng bíp, chúng tôi sẽ gọi lại trong giờ làm việc.")


NOBODY_MESSAGE = ("Cảm ơn quý vị đã gọi Tổng đài 1022. Hiện chưa có tổng đài viên trực. Xin để lại lời nhắn "
                  "sau tiếng bíp, chúng tôi sẽ gọi lại sớm nhất.")
QUEUE_MESSAGE = ("Các tổng đài viên đang bận. Xin quý vị để lại lời nhắn sau tiếng bíp, "
                 "tổng đài viên sẽ gọi lại cho quý vị sớm nhất.")
FALLBACK_MESSAGE = ("Cảm ơn quý vị đã gọi Tổng đài 1022. Hệ thống đang bận. Xin để lại lời nhắn sau tiếng bíp, "
                    "chúng tôi sẽ gọi lại cho quý vị.")


def unattended_message(opens: time | None, closes: time | None, telephony: Telephony | None) -> str:
    """What a caller hears when no message could be kept (the call control is not configured): where
    else to report and when to call again, with no voicemail prompt."""
    hours = f"từ {hours_text(opens, closes)} " if opens and closes else ""
    where = (f"tại trang {telephony.website} hoặc qua {telephony.zalo}" if telephony
             else "trên trang web hoặc Zalo của Tổng đài 1022")
    return (f"Cảm ơn quý vị đã gọi Tổng đài 1022. Tổng đài tạm thời không tiếp nhận được cuộc gọi này. "
            f"Quý vị có thể gửi phản ánh {where}, hoặc gọi lại {hours}hằng ngày. Xin cảm ơn.")


def raw_caller_key(raw: str) -> str:
    """The person-marker value of a caller whose number is not a Vietnamese phone (a foreign number,
    an app user): '+' and its digits for a number in any spelling ('14155550123', '+1 415-555-0123'),
    else the text itself. chalicelib/services/privacy.py looks a typed number up by the same key."""
    text = (raw or "").strip()
    digits = "".join(c for c in text if c.isdigit())
    if digits and all(c.isdigit() or c in "+ -.()" for c in text):
        return "+" + digits
    return text


# --- the route ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ring:
    """One operator to ring: `kind` 'internal' (a softphone user id) or 'external' (a phone), the
    `target` Stringee dials and the staff member's e-mail."""

    kind: str
    target: str
    staff: str

    def document(self) -> dict[str, str]:
        return {"kind": self.kind, "target": self.target, "staff": self.staff}


@dataclass(frozen=True)
class RoutePlan:
    """What to do with an offered call: `route` (ROUTE_*), the operators to ring in order, whether
    to record, and what the caller hears when no operator takes it."""

    route: str
    rings: tuple[Ring, ...] = ()
    record: bool = False
    message: str = ""

    def document(self) -> dict[str, Any]:
        return {"route": self.route, "rings": [r.document() for r in self.rings], "record": self.record}


def plan(moment: datetime, opens: time, closes: time, calendar: "WorkCalendar | None",
         on_duty: Iterable[Any], telephony: Telephony) -> RoutePlan:
    """The route of a call offered at `moment`: `on_duty` is the roster's entries on duty then, in
    ring order (chalicelib.domain.roster.on_duty: objects with kind, target, staff)."""
    if not is_open(moment, opens, closes, calendar):
        holiday = moment.astimezone(VN_TZ).date() in _holidays(calendar)
        return RoutePlan(ROUTE_CLOSED, message=closed_message(opens, closes, telephony, holiday))
    rings = tuple(Ring(e.kind, e.target, e.staff) for e in on_duty)[:telephony.max_operators]
    if not rings:
        return RoutePlan(ROUTE_NOBODY, message=NOBODY_MESSAGE)
    return RoutePlan(ROUTE_OPERATORS, rings, telephony.record_calls, QUEUE_MESSAGE)


def next_ring(rings: Iterable[Mapping[str, str]], tried: int) -> Ring | None:
    """The operator to ring after `tried` operators failed, or None when every one was tried."""
    listed = [Ring(r["kind"], r["target"], r.get("staff", "")) for r in rings]
    return listed[tried] if 0 <= tried < len(listed) else None


# --- facts and outcome ----------------------------------------------------------------------------

@dataclass(frozen=True)
class EventFacts:
    """What one provider event says about its call: only the attributes of its own status, so
    applying events in any order gives the same call."""

    status: str
    at: datetime | None
    facts: dict[str, Any] = field(default_factory=dict)


def event_facts(status: str, at: datetime | None, to_number: str = "", duration_s: int | None = None,
                answer_duration_s: int | None = None, end_cause: str = "", ended_by: str = "") -> EventFacts:
    """The facts a status event sets (attribute name → value; None values are left out):
    ringing → ringing_at; answered → answered_at and the target that answered; ended → ended_at,
    durations, the end cause and who ended it; any other status → only that it was seen."""
    facts: dict[str, Any] = {}
    if status == "ringing":
        facts["ringing_at"] = at
    elif status == "answered":
        facts.update(answered_at=at, answered_target=to_number or None)
    elif status == "ended":
        facts.update(ended_at=at, duration_s=duration_s, answer_duration_s=answer_duration_s,
                     end_cause=end_cause or None, ended_by=ended_by or None)
    elif status == "agentEnded":
        facts["agent_ended_at"] = at
    return EventFacts(status, at, {k: v for k, v in facts.items() if v is not None})


def _target_key(target: str) -> str:
    """A ring target as compared: a phone (an operator answering from home) as E.164 whatever its
    spelling ('+8491…' on the roster, '8491…' in Stringee's events); a softphone user id as it is."""
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.domain.phones import normalise_phone

    text = (target or "").strip()
    if not text or not any(c.isdigit() for c in text) or any(c.isalpha() or c == "_" for c in text):
        return text
    try:
        return normalise_phone(text if text.startswith(("+", "0")) else "+" + text)
    except ValidationFailed:
        return text


def answered_by(call: Mapping[str, Any]) -> str | None:
    """The staff e-mail of the operator who answered (from the ring list), or None."""
    target = call.get("answered_target")
    if not target:
        return None
    wanted = _target_key(str(target))
    for ring in call.get("rings") or []:
        if ring.get("target") == target or _target_key(str(ring.get("target") or "")) == wanted:
            return ring.get("staff") or None
    return None


def operator_answered(call: Mapping[str, Any]) -> bool:
    """Whether an operator took the call: the answering target is one of the operators rung. Only
    while no answering leg is known yet (the end came before the answer event) is talk time while
    operators were still being tried taken for an operator's answer, and never when the call was
    recorded: the `record` action answers the caller's leg at once, so its answerDuration counts the
    ringing too (a caller who hung up while waiting would look answered). The answer event, when it
    comes, relabels the call (chalicelib/services/call_control.py)."""
    if answered_by(call):
        return True
    if call.get("answered_target") or call.get("record"):
        return False
    tried, rings = int(call.get("tried") or 0), len(call.get("rings") or [])
    return call.get("route") == ROUTE_OPERATORS and tried < rings and (call.get("answer_duration_s") or 0) > 0


def _busy(cause: str | None) -> bool:
    text = (cause or "").lower()
    return "486" in text or "busy" in text


def outcome(call: Mapping[str, Any]) -> str | None:
    """The call's outcome from its facts, or None while it is still going on:
    answered (an operator, or the citizen on a call-back, picked up), voicemail (a message was left),
    after_hours (closed, no message), busy (the last operator tried was busy), abandoned (the caller
    hung up while operators were still being tried), missed (every operator rang out, or nobody was
    on duty)."""
    if "ended" not in (call.get("statuses") or ()):
        return None
    if call.get("direction") == OUT:
        return ANSWERED if (call.get("answer_duration_s") or 0) > 0 or call.get("answered_at") else MISSED
    if operator_answered(call):
        return ANSWERED
    if call.get("voicemail_url"):
        return VOICEMAIL
    route = call.get("route")
    if route == ROUTE_CLOSED:
        return AFTER_HOURS
    if route in (ROUTE_NOBODY, ROUTE_FALLBACK):
        return MISSED
    tried, rings = int(call.get("tried") or 0), len(call.get("rings") or [])
    if tried < rings:
        return ABANDONED
    return BUSY if _busy(call.get("last_fail")) or _busy(call.get("end_cause")) else MISSED


def wait_seconds(call: Mapping[str, Any]) -> int | None:
    """Seconds from the offer to an operator's answer (or to the end, when unanswered)."""
    start, end = call.get("created_at"), call.get("answered_at") or call.get("ended_at")
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds()))


def talk_seconds(call: Mapping[str, Any]) -> int | None:
    """Seconds an operator and the citizen talked (the provider's answerDuration; None: not known)."""
    if not operator_answered(call) and call.get("direction") != OUT:
        return 0 if "ended" in (call.get("statuses") or ()) else None
    value = call.get("answer_duration_s")
    return int(value) if value is not None else None


def task_due(ended: datetime, opens: time, closes: time, calendar: "WorkCalendar | None") -> datetime:
    """When a call nobody answered should be returned: half an hour after it while the hotline is
    still open then, else at the next opening (07:00 the next day after 20:00, after a holiday)."""
    soon = ended + CALLBACK_SOON
    if is_open(ended, opens, closes, calendar) and is_open(soon, opens, closes, calendar):
        return soon
    return next_opening(soon, opens, closes, calendar)
