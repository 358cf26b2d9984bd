"""Staff console pages (Jinja2, autoescaped, no JavaScript needed). Each view: session ->
one use case in chalicelib.services.console -> a page, or a redirect after a change (POST ->
303 -> GET, with a one-minute flash cookie)."""
from __future__ import annotations

import functools
import secrets
from typing import Any, Callable, Mapping
from urllib.parse import quote, urlencode

from chalice import Response

from chalicelib.config import settings
from chalicelib.domain import staff_forms
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import DomainError, Unauthenticated, ValidationFailed
from chalicelib.domain.lifecycle import LABELS_VI
from chalicelib.domain.permissions import ROLE_LABELS_VI, ROLES, allowed
from chalicelib.web import session as sessions
from chalicelib.web.http import request_id, status_for
from chalicelib.web.pages import render
from chalicelib.web.urls import staff_target, url

EVENT_LABELS = {
    "created": "Tiếp nhận", "routed": "Phân loại tự động", "message_in": "Tin nhắn của người dân",
    "reply": "Nhắn người dân", "note": "Ghi chú nội bộ", "assigned": "Giao cơ quan", "transferred": "Chuyển cơ quan",
    "returned": "Cơ quan trả về tổng đài", "started": "Bắt đầu xử lý", "callback_scheduled": "Hẹn gọi lại",
    "callback_done": "Đã gọi lại", "callback_needed": "Cần gọi lại", "deadline_extended": "Gia hạn",
    "delay_reason": "Lý do chậm",
    "deadline_warning": "Cảnh báo sắp hết hạn", "escalated": "Quá hạn – báo lãnh đạo", "answered": "Trả lời",
    "rejected": "Không tiếp nhận", "redirected": "Hướng dẫn nơi khác", "merged": "Gộp vào phản ánh khác",
    "merged_from": "Nhận phản ánh gộp", "reopened": "Mở lại", "closed": "Đóng", "watch_stopped": "Ngừng theo dõi hạn",
    "clock_paused": "Tạm dừng thời hạn", "clock_resumed": "Tiếp tục thời hạn", "published": "Công khai",
    "unpublished": "Gỡ công khai", "held": "Giữ lại chờ kiểm tra", "rated": "Người dân đánh giá",
    "follower_added": "Có người theo dõi thêm", "survey": "Gửi phiếu đánh giá",
    "sms_notice": "Tin SMS rút gọn (nội dung dài)",
    "legal_hold_set": "Giữ dữ liệu (lý do pháp lý)", "legal_hold_lifted": "Bỏ giữ dữ liệu",
    "anonymised": "Ẩn danh dữ liệu cá nhân", "photos_removed": "Xoá ảnh (hết thời hạn lưu)",
    "follower_removed": "Bỏ người theo dõi", "recategorised": "Phân loại lại (thủ công)",
    "claimed": "Nhận xử lý", "released": "Trả lại việc", "reassigned": "Giao lại cho người khác",
    "kb_auto_answer": "Tự động trả lời bằng bài hỏi đáp",
    "marked_question": "Đánh dấu là câu hỏi", "marked_complaint": "Đánh dấu là phản ánh",
    "call": "Cuộc gọi",
}
DELIVERY_LABELS = {"pending": "chờ gửi", "sending": "đang gửi", "sent": "đã gửi", "fallback": "chuyển sang SMS",
                   "callback": "không gửi được – cần gọi lại", "dead": "gửi thất bại", "suppressed": "không gửi (giới hạn)",
                   "device_queued": "chờ điện thoại gửi", "device_handed": "điện thoại đang gửi"}
CITIZEN_KINDS = {"ack", "status", "welcome", "staff_reply", "kb_answer", "answer", "rejected", "redirected", "merged"}
CHANNEL_LABELS = {"web": "Web", "sms": "SMS", "zalo": "Zalo", "facebook": "Facebook",
                  "phone": "Điện thoại", "open311": "Open311",
                  "email": "Email"}


def _common(session: sessions.PageSession, **context: Any) -> dict[str, Any]:
    user = session.user
    return {"province": settings().province_name, "hotline": settings().hotline, "prefix": settings().tracking_prefix,
            "user": user, "roles": ", ".join(ROLE_LABELS_VI[r] for r in ROLES if r in user.roles) or "chưa có vai trò",
            "csrf": session.csrf, "flash": session.flash, "may": lambda action: allowed(user, action),
            "local": local_text, "labels": LABELS_VI, "event_labels": EVENT_LABELS, "delivery_labels": DELIVERY_LABELS,
            "channel_labels": CHANNEL_LABELS, "citizen_kinds": CITIZEN_KINDS, "nav_counts": _nav_counts(user),
            "notices": _announcements(), "duty": _duty(user), **context}


def _announcements() -> list[dict[str, Any]]:
    """The valid announcements, shown at the top of every console page (the cached index: no table read)."""
    from chalicelib.web.kb_console import announcements

    return announcements()



def _duty(user: Any) -> Callable[[], dict[str, Any] | None]:
    from chalicelib.web.call_views import duty_state

    return duty_state(user)


def _nav_counts(user: Any) -> Callable[[], dict[str, int]]:
    from chalicelib.services.inbox import nav_counts

    return nav_counts(user)


def _page(session: sessions.PageSession, template: str, status: int = 200, allow: dict[str, str] | None = None,
          **context: Any) -> Response:
    response = render(template, status=status, allow=allow, **_common(session, **context))
    if session.set_cookies:
        response.headers["Set-Cookie"] = list(session.set_cookies)  # type: ignore[assignment]
    return response


def redirect(path: str, cookies: list[str] | None = None) -> Response:
    """A 303 to the app's route `path` (under the request's base path)."""
    headers: dict[str, Any] = {"Location": url(path), "Cache-Control": "no-store"}
    if cookies:
        headers["Set-Cookie"] = cookies
    return Response(body="", status_code=303, headers=headers)


def _sign_in_location(path: str) -> str:
    target = staff_target(path, default="")
    return "/staff/sign-in?" + urlencode({"next": target}) if target else "/staff/sign-in"


def _error_page(headers_of: Callable[[], Mapping[str, str]] | None, status: int, **context: Any) -> Response:
    """Our error page with the console's header: the signed-in person's name and navigation when the
    request carries a valid session, the sign-in link otherwise."""
    try:
        session = sessions.page_session(headers_of() if headers_of else {})
        return render("staff/error.html", status=status, **_common(session, **context))
    except Exception:  # no session, or none that can be read now: the header without a person
        return render("staff/error.html", status=status, user=None, province=settings().province_name,
                      hotline=settings().hotline, **context)


def staff_page(context_of: Callable[[], Any], path_of: Callable[[], str],
               headers_of: Callable[[], Mapping[str, str]] | None = None
               ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorates a staff page: no valid session -> the sign-in page; a domain error -> a page with
    its status and message; a crash -> 500 with a request id (logged without request data).
    `headers_of` gives the request's headers, for the error page's header."""
    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            try:
                return view(*args, **kwargs)
            except Unauthenticated:
                return redirect(_sign_in_location(path_of()), sessions.signed_out_cookies())
            except DomainError as error:
                return _error_page(headers_of, status_for(error), title="Không thực hiện được",
                                   message=error.message_vi)
            except Exception as exc:
                from chalicelib.observability import logger

                rid = request_id(context_of())
                logger().exception("unhandled error", extra={"request_id": rid, "error_type": type(exc).__name__})
                return _error_page(headers_of, 500, title="Lỗi hệ thống", request_id=rid,
                                   message="Xin lỗi, hệ thống gặp lỗi. Thao tác có thể chưa được lưu.")
        return wrapper
    return decorate


def _errors(failed: ValidationFailed) -> dict[str, Any]:
    return {e.field: {"message": e.vi, "message_en": e.en} for e in failed.errors}


# Sign-in


def sign_in_page(next_path: str = "", message: str | None = None, status: int = 200, email: str = "") -> Response:
    return render("staff/sign_in.html", status=status, next=staff_target(next_path), message=message, email=email,
                  province=settings().province_name, hotline=settings().hotline)


def sign_in(form: Mapping[str, str]) -> Response:
    from chalicelib import identity
    from chalicelib.domain.errors import WrongCredentials

    email = (form.get("email") or "").strip()
    try:
        result = identity.sign_in(email, form.get("password") or "")
    except WrongCredentials as wrong:
        return sign_in_page(form.get("next", ""), wrong.message_vi, 401, email)
    if result.new_password_session:
        return render("staff/new_password.html", email=email, session=result.new_password_session,
                      next=staff_target(form.get("next")), errors={}, province=settings().province_name,
                      hotline=settings().hotline)
    assert result.id_token is not None
    return redirect(staff_target(form.get("next")), sessions.session_cookies(result.id_token, result.refresh_token))


def new_password(form: Mapping[str, str]) -> Response:
    from chalicelib import identity

    email, challenge = (form.get("email") or "").strip(), form.get("session") or ""
    password, again = form.get("new_password") or "", form.get("confirm") or ""
    context = {"email": email, "session": challenge, "next": staff_target(form.get("next")),
               "province": settings().province_name, "hotline": settings().hotline}
    if password != again:
        return render("staff/new_password.html", status=400, errors={"confirm": {
            "message": "Hai lần nhập mật khẩu không khớp.", "message_en": "The passwords do not match."}}, **context)
    try:
        result = identity.complete_new_password(email, challenge, password)
    except ValidationFailed as failed:
        return render("staff/new_password.html", status=400, errors=_errors(failed), **context)
    except Unauthenticated:
        return sign_in_page(context["next"], "Phiên đổi mật khẩu đã hết hạn, vui lòng đăng nhập lại.", 401, email)
    assert result.id_token is not None
    return redirect(context["next"], sessions.session_cookies(result.id_token, result.refresh_token))


def sign_out(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    from chalicelib import identity

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    identity.sign_out(session.user)
    return redirect("/staff/sign-in", sessions.signed_out_cookies())


# Inbox and ticket


def inbox(headers: Mapping[str, str], query: Mapping[str, str], form: Mapping[str, str] | None = None) -> Response:
    """The inbox; with `q` a search: by GET a tracking code only, by the page's search form (POST,
    `form`) a code, a caller's phone or words too, so that no phone or name ever lands in a URL."""
    from chalicelib.services import console

    session = sessions.page_session(headers)
    if form is not None:
        sessions.check_form_origin(headers, session, form)
    search = ((form if form is not None else query).get("q") or "").strip()
    if form is not None:  # the search box: a code, a phone or words (chalicelib.web.search_views)
        from chalicelib.web import search_views

        return search_views.dispatch(session, search)
    found = None
    if search:
        result = console.search(session.user, search, by_phone=form is not None)
        if "code" in result:
            return redirect(f"/staff/tickets/{quote(result['code'])}", session.set_cookies)
        found = result["tickets"]
    from chalicelib.web.inbox_views import inbox_page

    return inbox_page(session, query, found, search)


def ticket(headers: Mapping[str, str], code: str, query: Mapping[str, str], form: Mapping[str, str] | None = None,
           error: DomainError | None = None, status: int = 200) -> Response:
    """The ticket page. `form` is a form sent back to it: after a failed action (with `error`), or the
    reply form asking for a template without JavaScript (`template`): its typed text is kept and the
    filled template added after it."""
    from chalicelib.services import console, data_requests, staff_directory
    from chalicelib.web import timeline

    session = sessions.page_session(headers)
    form = dict(form or {})
    if not form and query.get("merge_into"):  # a merge candidate chosen without JavaScript: the merge form, filled
        form = {"action": "merge", "merged_into": query["merge_into"][:40]}
    view = console.ticket_page(session.user, code, query.get("template") or form.get("template"))
    if form.get("template"):
        typed = (form.get("text") or "").rstrip()
        form["text"] = "\n\n".join(part for part in (typed, view["reply_text"]) if part)
    from chalicelib.web import kb_console

    kb_hits = kb_console.suggestions(view["ticket"]) if view["can"].get("reply") or view["can"].get("resolve") else []
    if form.get("kb_use"):  # "Dùng bài này" without JavaScript: the typed text kept, the answer after it
        form = kb_console.with_article(form, kb_hits)
    retention = data_requests.retention_of(view["ticket"].category)
    errors = _errors(error) if isinstance(error, ValidationFailed) else {}
    message = None if error is None else error.message_vi
    from chalicelib.domain.links import attachment_views, host_of, image_sources
    from chalicelib.store import photos
    from chalicelib.store.photos import upload_origin

    origin = upload_origin()
    hosts = [*settings().image_hosts, *([host_of(origin)[1]] if origin.startswith("https://") else [])]
    sent = timeline.sent(view["ticket"], view["timeline"], lambda items: attachment_views(items, hosts),
                         lambda key: photos.view_url(key) if photos.is_photo_key(key) else None)
    images = any(f["image"] for g in sent for f in g["files"])
    sources = [origin] if images or any(g["photos"] for g in sent) else []
    if images:
        sources.append(image_sources(settings().image_hosts))
    names = {**staff_directory.names(), session.user.email: session.user.name}
    ref = view["ref"]
    history = timeline.entries(view["timeline"], ref, names, EVENT_LABELS, CITIZEN_KINDS, DELIVERY_LABELS)
    return _page(session, "staff/ticket.html", status=status, allow={"img-src": " ".join(sources)} if sources
                 else None, v=view, t=view["ticket"], sent=sent, history=history, form=form,
                 who=lambda actor: timeline.actor_label(actor, ref, names),
                 errors=errors, error=message, failed_action=form.get("action"),
                 placeholders=staff_forms.PLACEHOLDERS_VI, retention=retention, work=_work(session, view["ticket"]),
                 merge_candidates=_merge_candidates(session, view), kb_hits=kb_hits)


def _merge_candidates(session: sessions.PageSession, view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The merge form's ranked candidates (staff/_merge_candidates.html), for one who may merge an open ticket."""
    from chalicelib.services.duplicates import merge_candidates

    return merge_candidates(session.user, view["ticket"]) if view["open"] and view["can"].get("merge") else []


def _work(session: sessions.PageSession, ticket: Any) -> dict[str, Any]:
    """The ticket page's work block (staff/_presence.html): assignee, new message, who else has it open."""
    from chalicelib.services.inbox import ticket_work

    return ticket_work(session.user, ticket)


def ticket_action(headers: Mapping[str, str], code: str, form: Mapping[str, str]) -> Response:
    from chalicelib.services import console

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    action = form.get("action") or ""
    if action == "reply" and (form.get("template") or form.get("kb_use")):  # without JavaScript: nothing is sent
        return ticket(headers, code, {}, form)
    if action == "kb_gap":  # "Không có bài phù hợp": the question goes to the supervisors' gaps list
        from chalicelib.web import kb_console

        message = kb_console.add_gap(session.user, code)
        return redirect(f"/staff/tickets/{quote(code)}", [*session.set_cookies, sessions.flash_cookie(message)])
    try:
        if action in ("legal_hold", "legal_hold_lift"):
            from chalicelib.services import data_requests

            message = data_requests.legal_hold(session.user, code, form.get("reason") or ""
                                               if action == "legal_hold" else None)
        else:
            message = console.act(session.user, code, action, form)
    except DomainError as error:
        if status_for(error) not in (400, 409):  # 401/403/404 go to the guard's pages
            raise
        return ticket(headers, code, {}, form, error, status=status_for(error))
    return redirect(f"/staff/tickets/{quote(code)}", [*session.set_cookies, sessions.flash_cookie(message)])


# Phone intake


def intake_page(headers: Mapping[str, str], query: Mapping[str, str], form: Mapping[str, str] | None = None,
                errors: dict[str, Any] | None = None, status: int = 200) -> Response:
    from chalicelib.services import console
    from chalicelib.store.reference import load_reference

    session = sessions.page_session(headers)
    from chalicelib.domain.permissions import require

    require(session.user, "phone_intake")
    values = dict(form or {})
    if not form and query.get("call"):  # "Tạo phản ánh từ cuộc gọi": the number comes from the call, not the URL
        from chalicelib.services import telephony
        from chalicelib.web.call_views import call_id_of

        values.update(telephony.call_for_intake(session.user, call_id_of(query["call"])))
    phone = (values.get("phone") or "").strip()  # from the history form or the intake form: a POST body
    values["phone"] = phone
    history, history_error = None, None
    if phone:
        try:
            history = console.caller_history(session.user, phone)
        except ValidationFailed as failed:
            history_error = failed.errors[0].vi
    ref = load_reference()
    return _page(session, "staff/intake.html", status=status, values=values, errors=errors or {}, history=history,
                 history_error=history_error, form_token=values.get("form_token") or secrets.token_urlsafe(16),
                 categories=list(ref.categories.values()), areas=list(ref.areas.values()))


def intake_submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    from chalicelib.services import console

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    if form.get("lookup"):  # the caller-history form: the phone rides in the body, never in the URL
        return intake_page(headers, {}, {"phone": form.get("phone") or "", "call_id": form.get("call_id") or ""})
    try:
        receipt = console.phone_intake(session.user, form)
    except ValidationFailed as failed:
        return intake_page(headers, {}, form, _errors(failed), status=400)
    code = receipt["tracking_code"]
    if form.get("call_id"):  # the ticket was made from a call: the call goes on its timeline
        from datetime import datetime, timezone

        from chalicelib.services import telephony
        from chalicelib.web.call_views import call_id_of

        try:
            telephony.attach_call(session.user, call_id_of(str(form["call_id"])), code, datetime.now(timezone.utc),
                                  how="created")
        except DomainError:  # the ticket stands; the call can still be added from the call log
            pass
    return redirect(f"/staff/tickets/{quote(code)}", [*session.set_cookies, sessions.flash_cookie(
        f"Đã tạo phản ánh {code} từ cuộc gọi. Đọc mã này cho người gọi để tra cứu.")])


# Response templates and staff accounts (admins)


def templates_page(headers: Mapping[str, str], form: Mapping[str, str] | None = None,
                   errors: dict[str, Any] | None = None, status: int = 200, message: str | None = None) -> Response:
    from chalicelib.services import console
    from chalicelib.store.reference import load_reference

    session = sessions.page_session(headers)
    items = console.template_list(session.user)
    ref = load_reference()
    return _page(session, "staff/templates.html", status=status, items=items, categories=ref.categories,
                 form=form or {}, errors=errors or {}, error=message, placeholders=staff_forms.PLACEHOLDERS_VI)


def templates_submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    from chalicelib.services import console

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    try:
        if form.get("delete"):
            console.delete_template(session.user, form)
            message = "Đã xoá mẫu trả lời."
        else:
            console.save_template(session.user, form)
            message = "Đã lưu mẫu trả lời."
    except ValidationFailed as failed:
        return templates_page(headers, form, _errors(failed), status=400)
    except DomainError as error:
        if status_for(error) != 409:
            raise
        return templates_page(headers, form, status=409, message=error.message_vi)
    return redirect("/staff/templates", [*session.set_cookies, sessions.flash_cookie(message)])


def accounts_page(headers: Mapping[str, str], form: Mapping[str, str] | None = None,
                  errors: dict[str, Any] | None = None, status: int = 200, created: tuple[str, str] | None = None
                  ) -> Response:
    from chalicelib.services import console
    from chalicelib.store.reference import load_reference

    session = sessions.page_session(headers)
    people = console.staff_accounts(session.user)
    return _page(session, "staff/accounts.html", status=status, people=people, role_labels=ROLE_LABELS_VI,
                 agencies=load_reference().agencies, form=form or {}, errors=errors or {}, created=created)


def accounts_submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    from chalicelib.services import console

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    if form.get("change"):  # one account's role and agency (chalicelib.services.admin)
        from chalicelib.services import admin

        try:
            message = admin.change_staff(session.user, form)
        except ValidationFailed as failed:
            return accounts_page(headers, form, _errors(failed), status=400)
        return redirect("/staff/accounts", [*session.set_cookies, sessions.flash_cookie(message)])
    if form.get("disable") or form.get("enable"):
        email = form.get("disable") or form.get("enable") or ""
        try:
            console.set_staff_enabled(session.user, email, enabled=bool(form.get("enable")))
        except ValidationFailed as failed:
            return accounts_page(headers, {}, _errors(failed), status=400)
        message = "Đã mở khoá tài khoản." if form.get("enable") else "Đã khoá tài khoản và đăng xuất mọi nơi."
        return redirect("/staff/accounts", [*session.set_cookies, sessions.flash_cookie(message)])
    try:
        created = console.add_staff(session.user, form)
    except ValidationFailed as failed:
        return accounts_page(headers, form, _errors(failed), status=400)
    # The temporary password is shown once, on this response only (never stored, never logged).
    response = accounts_page(headers, created=created)
    response.headers["Cache-Control"] = "no-store"
    return response


def integrators_page(headers: Mapping[str, str], created: dict[str, str] | None = None,
                     errors: dict[str, Any] | None = None, status: int = 200) -> Response:
    from chalicelib.services import open311

    session = sessions.page_session(headers)
    return _page(session, "staff/integrators.html", status=status, items=open311.integrator_list(session.user),
                 created=created, errors=errors or {})


def integrators_submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    from chalicelib.services import open311

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    if form.get("revoke"):
        open311.revoke_integrator(session.user, form["revoke"])
        return redirect("/staff/integrators", [*session.set_cookies, sessions.flash_cookie("Đã thu hồi api_key.")])
    try:
        created = open311.add_integrator(session.user, form.get("name") or "")
    except ValidationFailed as failed:
        return integrators_page(headers, errors=_errors(failed), status=400)
    response = integrators_page(headers, created=created)
    response.headers["Cache-Control"] = "no-store"  # the key is shown once, on this response only
    return response


# Personal data (admins): what is held about a person, its export, erasure on request

PRIVATE = {"Cache-Control": "no-store"}  # pages and files with a person's data stay out of every cache


def _private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


def _local_iso(value: Any) -> str:
    """An ISO time as staff read it (Vietnam time), or the text as it is."""
    from datetime import datetime

    try:
        return local_text(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value or "—")


def _held_view(found: Any) -> dict[str, Any]:
    """The search result as the page shows it: tickets with labels, records grouped by ticket, and what
    an erasure would keep."""
    from chalicelib.domain.exports import KIND_LABELS_VI, text_of
    from chalicelib.store.reference import load_reference

    ref = load_reference()
    tickets = [{**t, "status_label": LABELS_VI.get(t.get("status"), t.get("status")),  # type: ignore[call-overload]
                "created": _local_iso(t.get("created_at")),
                "category_name": ref.categories[t["category"]].name if t.get("category") in ref.categories
                else (t.get("category") or "—")} for t in found.tickets]
    records = [{"ticket": r.get("ticket"), "kind": r.get("kind"), "label": KIND_LABELS_VI.get(str(r.get("kind")),
                                                                                              str(r.get("kind"))),
                "key": r.get("key"), "at": _local_iso(r["at"]) if r.get("at") else None,
                "fields": [(str(name), text_of(value)) for name, value in (r.get("fields") or {}).items()]}
               for r in found.records]
    return {"kind": found.kind, "label": found.account_label, "value": found.value, "tickets": tickets, "records": records,
            "kept": [t for t in tickets if t.get("kept_because") and not t.get("anonymised")],
            "erasable": [t for t in tickets if not t.get("kept_because") and not t.get("anonymised")]}


def privacy_page(headers: Mapping[str, str], form: Mapping[str, str] | None = None,
                 errors: dict[str, Any] | None = None, status: int = 200, found: Any = None) -> Response:
    """The personal-data page: a search by phone or Zalo id (posted, never in the URL) and, after a
    search, everything held with its export buttons and the erasure form."""
    from chalicelib.domain.permissions import require

    session = sessions.page_session(headers)
    require(session.user, "privacy_search")
    return _private(_page(session, "staff/privacy.html", status=status, form=form or {}, errors=errors or {},
                          held=_held_view(found) if found is not None else None))


def privacy_submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    """One step of the page's forms: `search`, `export` (a download), `review` (the erasure's
    confirmation page) or `erase` (then its report)."""
    from chalicelib.services import data_requests

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    step, person = form.get("step") or "search", (form.get("person") or "").strip()
    try:
        if step == "export":
            file = data_requests.export(session.user, person, form.get("format") or "")
            return Response(body=file.body, status_code=200, headers={
                "Content-Type": file.content_type, "X-Content-Type-Options": "nosniff", **PRIVATE,
                "Content-Disposition": f'attachment; filename="{file.filename}"'})
        if step == "erase" and form.get("confirm") == "1":
            report = data_requests.erase(session.user, person, form)
            return _private(_page(session, "staff/privacy_report.html", report=report, form=form))
        found = data_requests.search(session.user, person)
    except ValidationFailed as failed:
        return privacy_page(headers, form, _errors(failed), status=400)
    if step not in ("review", "erase"):
        return privacy_page(headers, form, found=found)
    try:
        data_requests.check_erasure(session.user, form)
    except ValidationFailed as failed:
        return privacy_page(headers, form, _errors(failed), status=400, found=found)
    unconfirmed = {"confirm": {"message": "Hãy đánh dấu ô xác nhận trước khi xoá.",
                               "message_en": "Tick the confirmation box before erasing."}} if step == "erase" else {}
    return _private(_page(session, "staff/privacy_confirm.html", status=400 if unconfirmed else 200, form=form,
                          errors=unconfirmed, held=_held_view(found)))

