"""The telephony pages of the staff console: the duty roster (/staff/truc), the call log
(/staff/cuoc-goi), the call tasks (/staff/goi-lai), the screen-pop's poll and card, "Gọi lại" on a
ticket, and the available / away switch in the header.

Every view: session -> one use case (chalicelib.services.telephony, chalicelib.store.roster) -> a
page, or a 303 after a change with a flash. Call ids ride in URLs, phone numbers never do: a number
travels in a POST body or is looked up on the server from a call, a task or a ticket.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, quote, urlencode

from chalice import Response

from chalicelib.domain import roster as rosters
from chalicelib.domain.calls import OUTCOME_LABELS_VI as OUTCOME_LABELS
from chalicelib.domain.calls import TASK_OUTCOMES
from chalicelib.domain.clock import VN_TZ, local_text
from chalicelib.domain.errors import Conflict, FieldError, NotFound, Unavailable, ValidationFailed
from chalicelib.domain.permissions import StaffUser, allowed, require
from chalicelib.web import session as sessions
from chalicelib.web.http import JSON_UTF8
from chalicelib.web.pages import render
from chalicelib.web.staff_views import _errors, _page, redirect
from chalicelib.web.urls import staff_target

CALL_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")
DAY = re.compile(r"\d{4}-\d\d-\d\d")
STATUS_LABELS = {"ringing": "Đang đổ chuông", "answered": "Đang nghe"}
PRIVATE = {"Cache-Control": "no-store"}


def call_id_of(text: str) -> str:
    """A call id from a URL; raises NotFound for anything that cannot be one."""
    if not CALL_ID.fullmatch(text or ""):
        raise NotFound()
    return text


def when(value: Any) -> str:
    """A moment (datetime or ISO text) as people read it in Vietnam time; '' for none."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return local_text(value)


def seconds(value: Any) -> str:
    """A duration in seconds as '1:05' (minutes:seconds); '' for none."""
    if value is None or value == "":
        return ""
    total = int(float(value))
    return f"{total // 60}:{total % 60:02d}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _names() -> Callable[[str | None], str]:
    """A staff member's name for an e-mail (the e-mail itself for someone unknown)."""
    from chalicelib.services import staff_directory

    known = staff_directory.names()
    return lambda email: known.get(email or "", email or "")


def _show(session: sessions.PageSession, template: str, status: int = 200, **context: Any) -> Response:
    response = _page(session, template, status=status, outcome_labels=OUTCOME_LABELS, status_labels=STATUS_LABELS,
                     when=when, seconds=seconds, name_of=_names(), **context)
    response.headers.update(PRIVATE)
    return response


def _back(session: sessions.PageSession, path: str, message: str) -> Response:
    return redirect(path, [*session.set_cookies, sessions.flash_cookie(message)])


def multi_fields(raw_body: bytes | None) -> dict[str, Any]:
    """A form body keeping every value of a repeated field (the weekday boxes) as a list; other fields
    their last value."""
    parsed = parse_qs((raw_body or b"").decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values if name == "days" else values[-1] for name, values in parsed.items()}


# The available / away switch (header of every desk page)


def duty_state(user: StaffUser) -> Callable[[], dict[str, Any] | None]:
    """For the header: whether `user` is away, read (one GetItem) only when a page shows the switch.
    Operators always have the switch; a supervisor or admin only when they are on the roster."""
    def read() -> dict[str, Any] | None:
        if not allowed(user, "roster"):
            return None
        from chalicelib.domain.permissions import OPERATOR
        from chalicelib.store import roster
        from chalicelib.web.routes_common import current_request

        current = roster.current()
        if OPERATOR not in user.roles and not (rosters.entries_of(current, user.email) or current.is_away(user.email)):
            return None
        request = current_request()
        path = request.path.format(**(request.uri_params or {})) if request is not None else "/staff/inbox"
        return {"away": current.is_away(user.email), "back": path}
    return read


def set_duty(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    """Marks the signed-in person away or available (themselves only: the form names no one)."""
    from chalicelib.store import roster

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    require(session.user, "roster")
    away = form.get("away") == "1"
    roster.set_away(session.user.email, away, _now())
    message = ("Đã chuyển sang Tạm vắng: tổng đài không đổ chuông cho bạn." if away
               else "Đã chuyển sang Sẵn sàng: tổng đài đổ chuông cho bạn trong giờ trực.")
    return _back(session, staff_target(form.get("back"), default="/staff/inbox"), message)


# The duty roster (/staff/truc)


def roster_page(headers: Mapping[str, str], query: Mapping[str, str], form: Mapping[str, Any] | None = None,
                errors: dict[str, Any] | None = None, status: int = 200, message: str | None = None) -> Response:
    from chalicelib.services import staff_directory
    from chalicelib.store import roster

    session = sessions.page_session(headers)
    require(session.user, "roster")
    current = roster.current(consistent=True)
    editing = None
    if form is None and allowed(session.user, "edit_roster") and str(query.get("edit") or "").isdigit():
        index = int(query["edit"])
        if index < len(current.entries):
            editing = index
            form = {**rosters.entry_document(current.entries[index]), "index": str(index)}
    elif form is not None and str(form.get("index") or "").isdigit():
        editing = int(form["index"])
    now = _now()
    people = staff_directory.names() if allowed(session.user, "edit_roster") else {}
    return _show(session, "staff/roster.html", status=status, roster=current, on_duty=rosters.on_duty(current, now),
                 now=now, form=form or {"days": ["0", "1", "2", "3", "4", "5"], "start": "07:00", "end": "20:00",
                                         "kind": rosters.INTERNAL},
                 editing=editing, errors=errors or {}, error=message, people=people,
                 day_labels=rosters.DAY_LABELS_VI, kind_labels=rosters.KIND_LABELS_VI,
                 can_edit=allowed(session.user, "edit_roster"))


def roster_submit(headers: Mapping[str, str], form: Mapping[str, Any]) -> Response:
    """Adds, edits or removes one entry over the version the page showed; 409 when someone saved first."""
    from chalicelib.store import roster
    from chalicelib.store.roster import RosterConflict

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    require(session.user, "edit_roster")
    expected = str(form.get("version") or "")
    if not expected.isdigit():
        raise ValidationFailed([FieldError("version", "Thiếu phiên bản lịch trực; hãy tải lại trang.",
                                           "Missing roster version; reload the page.")])
    current = roster.current(consistent=True)
    action = str(form.get("action") or "")
    index = int(form["index"]) if str(form.get("index") or "").isdigit() else None
    try:
        if action == "remove" and index is not None:
            changed = rosters.without_entry(current, index)
            done = "Đã xoá một dòng khỏi lịch trực."
        else:
            changed = rosters.with_entry(current, rosters.parse_entry(form), index if action == "edit" else None)
            done = "Đã lưu lịch trực."
        if int(expected) != current.version:
            raise RosterConflict()
        roster.save(changed, int(expected), session.user.actor, _now())
    except ValidationFailed as failed:
        return roster_page(headers, {}, form, _errors(failed), status=400, message=failed.message_vi)
    except Conflict as conflict:
        return roster_page(headers, {}, form, {}, status=409, message=conflict.message_vi)
    return _back(session, "/staff/truc", done)


# The screen-pop: the poll, the card, attach


def live(headers: Mapping[str, str]) -> Response:
    """The screen-pop's poll (JSON, session cookie): the live calls and who is asking."""
    from chalicelib.services import telephony

    session = sessions.page_session(headers)
    require(session.user, "calls")
    calls = telephony.live_calls(session.user, _now())
    shown = [{key: (value.isoformat() if isinstance(value, datetime) else value) for key, value in call.items()
              if key != "caller"} for call in calls]  # the card brings what the operator needs; the poll stays lean
    return Response({"me": session.user.email.lower(), "calls": shown}, status_code=200,
                    headers={**JSON_UTF8, **PRIVATE})


def card(headers: Mapping[str, str], call_id: str, bare: bool) -> Response:
    """The screen-pop's card: who is calling, their open tickets, recent calls and messages, and the
    two buttons; an HTML fragment for the script (`bare`), else a page (the call log's link)."""
    from chalicelib.services import telephony

    session = sessions.page_session(headers)
    require(session.user, "calls")
    context = telephony.call_context(session.user, call_id_of(call_id))
    if not bare:
        return _show(session, "staff/call_card_page.html", c=context, call=context.get("call") or {})
    response = render("staff/_call_card.html", c=context, call=context.get("call") or {}, csrf=session.csrf,
                      outcome_labels=OUTCOME_LABELS, status_labels=STATUS_LABELS, when=when, seconds=seconds,
                      may=lambda action: allowed(session.user, action))
    response.headers.update(PRIVATE)
    return response


def recording(headers: Mapping[str, str], call_id: str, kind: str) -> Response:
    """"Nghe" / "Lời nhắn": a redirect to the call's audio where Stringee keeps it (no referrer sent)."""
    from chalicelib.services import telephony

    session = sessions.page_session(headers)
    url = telephony.recording_link(session.user, call_id_of(call_id), "recording" if kind == "cuoc-goi" else "voicemail")
    return Response("", status_code=302, headers={**PRIVATE, "Location": url, "Referrer-Policy": "no-referrer"})


def attach(headers: Mapping[str, str], call_id: str, form: Mapping[str, str]) -> Response:
    """Adds the call to an existing ticket ("Thêm vào phản ánh"), then shows the ticket."""
    from chalicelib.services import telephony

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    require(session.user, "calls")
    code = str(form.get("code") or "").strip().upper()[:40]
    if not code:
        raise ValidationFailed([FieldError("code", "Nhập mã phản ánh.", "Enter a tracking code.")])
    telephony.attach_call(session.user, call_id_of(call_id), code, _now())
    return _back(session, f"/staff/tickets/{quote(code)}", f"Đã thêm cuộc gọi vào phản ánh {code}.")


# The call log (/staff/cuoc-goi)


def _day(text: str | None, today: date) -> date:
    if text and DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return today


def log_page(headers: Mapping[str, str], query: Mapping[str, str]) -> Response:
    """A day's calls (supervisors: everyone's; an operator: their own), by outcome, a page at a time;
    the live calls above them with the screen-pop's buttons (so it all works without JavaScript)."""
    from chalicelib.services import telephony

    session = sessions.page_session(headers)
    require(session.user, "calls")
    now = _now()
    day = _day(query.get("day"), now.astimezone(VN_TZ).date())
    outcome = query.get("outcome") if query.get("outcome") in OUTCOME_LABELS else None
    after = str(query.get("after") or "")[:200] or None
    log = telephony.call_log(session.user, day, outcome, after)
    live_calls = telephony.live_calls(session.user, now)
    kept = {"day": day.isoformat(), **({"outcome": outcome} if outcome else {})}
    more = "?" + urlencode({**kept, "after": log["next"]}) if log.get("next") else None
    return _show(session, "staff/call_log.html", calls=log.get("calls") or [], more=more, day=day,
                 prev_day=(day - timedelta(days=1)).isoformat(), next_day=(day + timedelta(days=1)).isoformat(),
                 outcome=outcome, live_calls=live_calls, everyone=allowed(session.user, "call_log"))


# Call tasks (/staff/goi-lai) and "Gọi lại" on a ticket


def tasks_page(headers: Mapping[str, str], query: Mapping[str, str], status: int = 200,
               message: str | None = None) -> Response:
    from chalicelib.services import telephony

    session = sessions.page_session(headers)
    require(session.user, "calls")
    after = str(query.get("after") or "")[:200] or None
    found = telephony.open_tasks(session.user, after)
    more = "?" + urlencode({"after": found["next"]}) if found.get("next") else None
    return _show(session, "staff/call_tasks.html", status=status, tasks=found.get("tasks") or [], more=more,
                 task_outcomes=TASK_OUTCOMES, error=message, now=_now())


def tasks_submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    """"Gọi lại" (click-to-call the task's caller) or the outcome of a callback."""
    from chalicelib.services import telephony

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    require(session.user, "calls")
    key = str(form.get("task") or "")[:200]
    if not key:
        raise ValidationFailed([FieldError("task", "Thiếu việc gọi lại; hãy tải lại trang.", "Missing task.")])
    now = _now()
    try:
        if form.get("action") == "call":
            _call_back(session.user, None, None, key, now)  # the number is the stored task's, never the form's
            done = ("Đang gọi: máy của bạn đổ chuông trước, nhấc máy để nối với người dân. Việc tự đóng khi "
                    "người dân nghe máy.")
        else:
            outcome = str(form.get("outcome") or "")
            if outcome not in TASK_OUTCOMES:
                raise ValidationFailed([FieldError("outcome", "Chọn kết quả gọi lại.", "Choose an outcome.")])
            telephony.task_outcome(session.user, key, outcome, str(form.get("note") or "")[:500], now)
            done = "Đã ghi kết quả gọi lại."
    except telephony.CallNotFound:
        return tasks_page(headers, {}, status=409, message="Việc gọi lại này đã được đóng hoặc không còn; "
                                                               "danh sách dưới đây là các việc còn mở.")
    except (ValidationFailed, Conflict, CallFailed) as failed:
        status = 400 if isinstance(failed, ValidationFailed) else 503 if isinstance(failed, CallFailed) else 409
        return tasks_page(headers, {}, status=status, message=failed.errors[0].vi
                          if isinstance(failed, ValidationFailed) else failed.message_vi)
    return _back(session, "/staff/goi-lai", done)


class CallFailed(Unavailable):
    """The provider did not place the call back."""

    message_vi = "Tổng đài chưa gọi được (nhà cung cấp từ chối hoặc không trả lời). Vui lòng thử lại sau ít phút."
    message_en = "The provider did not place the call. Try again in a few minutes."


def _call_back(user: StaffUser, phone: str | None, code: str | None, task: str | None, now: datetime) -> None:
    from chalicelib.notify.base import DeliveryFailed
    from chalicelib.services import telephony

    try:
        telephony.call_back(user, phone, code, task, now)
    except DeliveryFailed:
        raise CallFailed() from None


def ticket_call_back(headers: Mapping[str, str], code: str, form: Mapping[str, str]) -> Response:
    """"Gọi lại" on a ticket: click-to-call its reporter (the number read on the server, where this
    person may see it), recorded on the ticket."""
    from chalicelib.services import console
    from chalicelib.store.reference import load_reference

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    require(session.user, "calls")
    ticket = console.load(session.user, code)
    phone = console.reporter_of(session.user, ticket, load_reference()).get("phone")
    if not phone:
        raise ValidationFailed([FieldError("phone", "Phản ánh này không có số điện thoại để gọi lại.",
                                           "This ticket has no phone number to call.")])
    try:
        _call_back(session.user, phone, ticket.tracking_code, None, _now())
    except (ValidationFailed, CallFailed) as refused:  # the ticket page again, saying why
        from chalicelib.web.staff_views import ticket as ticket_page

        shown = refused
        if isinstance(refused, ValidationFailed):
            shown = ValidationFailed(refused.errors)
            shown.message_vi = refused.errors[0].vi  # e.g. "not on the duty roster", not the generic sentence
        return ticket_page(headers, ticket.tracking_code, {}, error=shown,
                           status=400 if isinstance(refused, ValidationFailed) else 503)
    return _back(session, f"/staff/tickets/{quote(ticket.tracking_code)}",
                 "Đang gọi: máy của bạn đổ chuông trước, nhấc máy để nối với người phản ánh.")


# The "Tổng đài" section of the statistics page (/staff/thong-ke)

def _seconds_text(value: int | None) -> str:
    if value is None:
        return "–"
    return f"{value} giây" if value < 120 else f"{value // 60} phút {value % 60:02d} giây"


def stats_section(user: StaffUser, start: str | None, end: str | None) -> dict[str, Any] | None:
    """The call-centre figures of the page's period (yyyy-mm-dd, as the statistics service resolved it) with
    their chart (calls per hour of the day: the hotline's hours and any other hour with calls), or None for
    who may not see them."""
    from chalicelib.services import call_stats
    from chalicelib.store.reference import load_reference
    from chalicelib.web import charts

    if not (start and end and DAY.fullmatch(start) and DAY.fullmatch(end)):
        return None
    found = call_stats.figures(user, date.fromisoformat(start), date.fromisoformat(end))
    if found is None:
        return None
    ref = load_reference()
    per_hour = found["per_hour"]
    busy = [h for h, n in enumerate(per_hour) if n]
    first = min([ref.hotline_opens.hour] + busy)
    last = max([ref.hotline_closes.hour - (1 if ref.hotline_closes.minute == 0 else 0)] + busy)
    hours = [{"label": f"{h:02d}:00–{h + 1:02d}:00", "hour": h, "calls": per_hour[h]} for h in range(first, last + 1)]
    chart = charts.bar_chart("Cuộc gọi đến theo giờ trong ngày", [{"label": r["label"], "value": r["calls"]}
                                                                  for r in hours], css_class="bars calls-hourly")
    return {**found, "hours": hours, "chart": chart, "asa_text": _seconds_text(found["asa_s"]),
            "talk_text": _seconds_text(found["talk_avg_s"])}
