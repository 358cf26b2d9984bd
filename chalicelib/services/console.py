"""Use cases of the staff console: the inbox, the ticket page and every action staff take on a
ticket, phone intake with caller history, response templates and staff accounts.

Every function takes the signed-in StaffUser and asks chalicelib.domain.permissions first.
Every change is version-checked against the copy the staff member saw (form field `version`):
a stale copy raises Conflict (409) and the first change stays. Every change appends a timeline
event with the actor (the audit trail; events are never updated or deleted).
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from chalicelib import queues
from chalicelib.config import settings
from chalicelib.domain import replies, staff_forms
from chalicelib.domain.bounds import load_json
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import (
    Conflict,
    FieldError,
    Missing,
    NotFound,
    TicketNotFound,
    ValidationFailed,
)
from chalicelib.domain.lifecycle import LABELS_VI, TRANSITIONS, Status, check_transition, is_open
from chalicelib.domain.permissions import StaffUser, allowed, check_visible, may_see_reporter, require
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.reports import validate_submission
from chalicelib.domain.sms import fits_one_segment
from chalicelib.domain.tracking import parse_code
from chalicelib.observability import logger
from chalicelib.services import assignments, deadlines, intake, lookup, model_training, routing
from chalicelib.store import audit, callbacks, outbound, ratings, templates, tickets
from chalicelib.store.models import OutboundModel, TicketModel
from chalicelib.store.reference import load_reference


def _stop_watching(ticket: TicketModel) -> dict[str, object]:
    """The changes that end the deadline watch: the ticket goes on the retention watch."""
    from chalicelib.domain import retention

    return retention.purge_watch(ticket.tracking_code, retention.first_check(load_reference().retention,
                                                                             ticket.created_at))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


# Reading


def load(user: StaffUser, code_text: str, expected_version: int | None = None) -> TicketModel:
    """Returns the ticket if `user` may see it; raises TicketNotFound (also for another agency's
    ticket) and Conflict when `expected_version` is no longer current."""
    code = parse_code(code_text, settings().tracking_prefix)
    if code is None:
        raise TicketNotFound()
    try:
        ticket = tickets.get_ticket(code)
    except NotFound:
        raise TicketNotFound() from None
    check_visible(user, ticket.agency)
    if expected_version is not None and ticket.version != expected_version:
        raise Conflict()
    return ticket


def summary(ticket: TicketModel, ref: ReferenceData, now: datetime) -> dict[str, Any]:
    """One inbox row: no reporter identity, only what triage needs."""
    status = Status(ticket.status)
    category = ref.categories.get(ticket.category or "")
    area = ref.areas.get(ticket.area or "")
    agency = ref.agencies.get(ticket.agency or "")
    return {"code": ticket.tracking_code, "status": status.value, "status_label": LABELS_VI[status],
            "category": category.name if category else None, "area": area.name if area else None,
            "agency": agency.name if agency else None, "channel": ticket.channel,
            "created": local_text(ticket.created_at), "due": local_text(ticket.due_at) if ticket.due_at else None,
            "overdue": bool(ticket.due_at and is_open(status) and ticket.due_at < now),
            "needs_callback": bool(ticket.needs_callback), "held": bool(ticket.held), "excerpt": ticket.text[:140],
            "question": ticket.kind == "question"}


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


_BAD_PAGE = FieldError("after", "Trang không hợp lệ; hãy quay lại trang đầu.", "Invalid page; go back to the first page.")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = load_json(base64.urlsafe_b64decode(cursor.encode()))  # bounded: a cursor is ours or refused
    except (binascii.Error, ValueError):
        key = None
    # A DynamoDB start key: a few string attributes, each {"S": "..."}; anything else is refused here.
    if not isinstance(key, dict) or not 0 < len(key) <= 6 or not all(
            isinstance(value, dict) and list(value) == ["S"] and isinstance(value["S"], str) for value in key.values()):
        raise ValidationFailed([_BAD_PAGE])
    return key


def inbox(user: StaffUser, raw: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """Returns one inbox page {tickets, next, filters} for the filters in `raw` (chalicelib.services.inbox)."""
    from chalicelib.services import inbox as inbox_service

    return inbox_service.listing(user, raw, now)


def search(user: StaffUser, query_text: str, now: datetime | None = None, by_phone: bool = True,
           after: str | None = None) -> dict[str, Any]:
    """Finds by tracking code ({'code': ...} when visible); when `by_phone` (the query came in a
    request body, never a URL): by the reporter's phone for the hotline's roles ({'tickets': [...]},
    newest first), else by free text ({'results': chalicelib.services.search.search(...)}, from
    `after`). Raises TicketNotFound / ValidationFailed."""
    from chalicelib.domain.search import looks_like_phone

    require(user, "inbox")
    text = (query_text or "").strip()
    code = parse_code(text, settings().tracking_prefix)
    if code is not None:
        return {"code": load(user, code).tracking_code}
    if not by_phone and text:
        raise ValidationFailed([FieldError("q", "Tìm theo số điện thoại, họ tên, địa chỉ hay nội dung bằng ô tìm kiếm "
                                           "của trang (chúng không được nằm trong địa chỉ trang).",
                                           "A phone, a name or words go in a request body, never in a URL: POST "
                                           "/api/v1/staff/callers (a phone) or POST /api/v1/staff/search.")])
    if looks_like_phone(text):
        if not allowed(user, "caller_history"):
            raise ValidationFailed([FieldError("q", "Tìm theo số điện thoại chỉ dành cho tổng đài; hãy nhập mã phản "
                                               "ánh, họ tên, địa chỉ hoặc nội dung.",
                                               "Only the hotline's roles look phones up; enter a code or words.")])
        return {"tickets": caller_history(user, text, now)}
    from chalicelib.services import search as text_search

    return {"results": text_search.search(user, text, after, now)}


def caller_history(user: StaffUser, phone_text: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The caller's earlier tickets, newest first (hotline roles only). Raises ValidationFailed."""
    require(user, "caller_history")
    phone = normalise_phone(phone_text)
    ref, now = load_reference(), _now(now)
    return [summary(t, ref, now) for t in tickets.by_phone(phone, limit=20)]


def reporter_of(user: StaffUser, ticket: TicketModel, ref: ReferenceData) -> dict[str, Any]:
    """The reporter's identity, or {'hidden': True} where the category keeps it from this user."""
    category = ref.categories.get(ticket.category or "")
    if not may_see_reporter(user, bool(category and category.confidential)):
        return {"hidden": True}
    return {"hidden": False, "name": ticket.reporter_name, "phone": ticket.reporter_phone,
            "email": ticket.reporter_email, "zalo_id": ticket.reporter_zalo_id}


def related_of(user: StaffUser, ticket: TicketModel, ref: ReferenceData) -> str | None:
    """The sender's other ticket this one continues or was split from (threading), or None: also
    when the link would tell `user` who filed a confidential report, i.e. when they may not see the
    reporter of either ticket (an agency officer linking a denunciation to a signed pothole report)."""
    if not ticket.related_to or may_see_reporter(user, True):
        return ticket.related_to
    try:
        other = tickets.get_ticket(ticket.related_to)
    except NotFound:
        return None
    hidden = (ref.categories.get(t.category or "") for t in (ticket, other))
    return None if any(category and category.confidential for category in hidden) else ticket.related_to


def _without_related(timeline: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    """The timeline with no trace of the hidden related ticket `code`: its link and the reason
    naming it dropped from the events, the code masked in messages (the acknowledgement names it)."""
    def mask(value: Any) -> Any:
        return value.replace(code, "[đã ẩn]") if isinstance(value, str) else value

    shown = []
    for entry in timeline:
        entry = {key: mask(value) for key, value in entry.items()}
        if isinstance(entry.get("detail"), dict):
            entry["detail"] = {key: mask(value) for key, value in entry["detail"].items()
                               if not (key in ("related_to", "reason") and code in str(value))}
        shown.append(entry)
    return shown


def template_values(ticket: TicketModel, ref: ReferenceData, reporter: Mapping[str, Any]) -> dict[str, str]:
    """Placeholder values. {ten} stays empty for confidential categories: what staff send is on the
    timeline the agency officer reads, so the name must not ride in on a template."""
    agency = ref.agencies.get(ticket.agency or "")
    category = ref.categories.get(ticket.category or "")
    if category and category.confidential:
        reporter = {}
    return {"ma": ticket.tracking_code, "co_quan": agency.name if agency else "",
            "han": local_text(ticket.due_at) if ticket.due_at else "",
            "linh_vuc": category.name if category else "", "ten": str(reporter.get("name") or "")}


def ticket_page(user: StaffUser, code: str, template_id: str | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Everything the ticket page shows: the ticket, the reporter (or hidden), the whole timeline
    with delivery states, callbacks, the templates of its category (one filled in when asked),
    and which actions this user may take."""
    require(user, "view")
    now = _now(now)
    ticket = load(user, code)
    ref = load_reference()
    reporter = reporter_of(user, ticket, ref)
    usable = [t for t in templates.all_templates() if t.category in (None, ticket.category)]
    values = template_values(ticket, ref, reporter)
    filled = {t.sk: staff_forms.fill(t.body, values) for t in usable}
    status = Status(ticket.status)
    related = related_of(user, ticket, ref)
    history = lookup.staff_timeline(ticket.tracking_code)
    if ticket.related_to and related is None:
        history = _without_related(history, ticket.related_to)
    return {"ticket": ticket, "summary": summary(ticket, ref, now), "reporter": reporter,
            "timeline": history, "related_to": related,
            "callbacks": callbacks.of_ticket(ticket.tracking_code),
            "templates": usable, "filled": filled,  # each template filled in for this ticket
            "reply_text": filled.get(template_id or "", ""),
            "can": {action: allowed(user, _PERMISSION.get(action, action)) for action in ACTIONS},
            "open": is_open(status), "status": status, "ref": ref,
            "public_preview": _public_preview(ticket) if ticket.consent_publish else None,
            "public_answer_preview": _public_answer_preview(ticket) if ticket.consent_publish else None,
            "photos": _photo_links(ticket), "rating": ratings.of_ticket(ticket.tracking_code) if ticket.survey_sent else None,
            "reachable": _route(ticket) is not None,
            "texting": (_route(ticket) or ("",))[0] == "sms"}


def _photo_links(ticket: TicketModel) -> list[dict[str, str]]:
    """Short-lived links to the ticket's uploaded photos (staff only; the bucket is private)."""
    from chalicelib.store import photos

    return [{"url": photos.view_url(a.key), "content_type": a.content_type, "name": a.filename}
            for a in ticket.attachments or [] if photos.is_photo_key(a.key)]


def _public_answer_preview(ticket: TicketModel) -> str:
    from chalicelib.services.publication import public_answer

    return ticket.public_answer or public_answer(ticket)


def _public_preview(ticket: TicketModel) -> str:
    from chalicelib.services.publication import public_question

    return ticket.public_question or public_question(ticket)


# Acting


def _route(ticket: TicketModel) -> tuple[str, str, str, str | None] | None:
    """Where a message to the reporter goes: (channel, provider, recipient, SMSSync device), or None."""
    if ticket.channel in ("zalo", "facebook") and ticket.reporter_zalo_id:  # a Zalo id, a Messenger PSID
        return ticket.channel, ticket.channel, ticket.reporter_zalo_id, None
    if ticket.reporter_phone:
        provider, device = settings().sms_provider, None
        if ticket.channel == "sms" and ticket.reply_via:
            provider, _, device = ticket.reply_via.partition(":")
            device = (device or "default") if provider == "smssync" else None
        return "sms", provider, ticket.reporter_phone, device
    if ticket.reporter_email:
        return "email", "ses", ticket.reporter_email, None
    return None


def _message(route: tuple[str, str, str, str | None], code: str, kind: str, reply: replies.Reply,
             now: datetime, reporter: bool = True) -> OutboundModel:
    """The message to one recipient. An SMS longer than one segment goes as a one-segment notice
    with the code and, to the ticket's reporter, the status page's link (where the whole text is
    on the timeline); a follower cannot open the reporter's status page, so theirs names the hotline."""
    channel, provider, recipient, device = route
    text = reply.sms if channel == "sms" else reply.zalo
    if channel == "sms" and kind != "survey" and not fits_one_segment(text):  # the survey is its own short text
        from chalicelib.services.lookup import lookup_url

        text = replies.long_message_notice(code, lookup_url(code) if reporter else None, settings().hotline)
    item = outbound.new_outbound(kind, channel, provider, recipient, text, now, automated=False)
    item.tracking_code = code
    if device:
        item.provider_ref = device
    if channel == "email":
        item.subject = f"[1022] Phản ánh {code}"
    if not reporter:  # Messenger's HUMAN_AGENT tag is for a reply to the person's own request, not this notice
        item.follower = True
    return item


def _to_reporter(ticket: TicketModel, kind: str, reply: replies.Reply, now: datetime,
                 followers: bool = False) -> list[OutboundModel]:
    """The message to the reporter (and to everyone following the ticket when `followers`).
    Followers are not the reporter (citizens who proved only their own number, reporters of merged
    tickets): they get a notice of the new status with the code and the hotline, and the answer only
    once staff published it (its redacted public form) — never what staff wrote, even redacted."""
    messages = []
    route = _route(ticket)
    if route is not None:
        messages.append(_message(route, ticket.tracking_code, kind, reply, now))
    if followers and ticket.followers:
        status = {"answer": Status.ANSWERED, "rejected": Status.REJECTED, "redirected": Status.REDIRECTED}.get(
            kind, Status(ticket.status))
        published = ticket.public_answer if ticket.public_shard else None
        notice = replies.for_follower(ticket.tracking_code, LABELS_VI[status], settings().hotline, published)
        for follower in ticket.followers:
            route = (follower.channel, follower.provider, follower.recipient, follower.device)
            messages.append(_message(route, follower.tracking_code, kind, notice, now, reporter=False))
    return messages


def _sms_note(messages: list[OutboundModel], reply: replies.Reply, now: datetime) -> tickets.NewEvent | None:
    """The timeline note for SMS that went as a short notice instead of `reply` (None: none did;
    an answer with the survey prompt after it still carries the whole text)."""
    short = [m for m in messages if m.channel == "sms" and m.kind != "survey" and not m.text.startswith(reply.sms)
             and m.text.startswith(replies.NOTICE_PREFIX)]  # a follower's status notice is not one
    if not short:
        return None
    return tickets.NewEvent("sms_notice", "system:notify", now, detail={"text": replies.LONG_MESSAGE_NOTE,
                                                                         "messages": len(short)})


def _open_callbacks(ticket: TicketModel) -> list[Any]:
    return [c for c in callbacks.of_ticket(ticket.tracking_code) if c.status is not None]


def _send(messages: list[OutboundModel]) -> None:
    """Queues stored messages; if SQS fails they are pending and the sweeper sends them."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not messages:
        return
    try:
        queues.send_notifications([(m.pk, m.sk) for m in messages])
    except (BotoCoreError, ClientError):
        logger().warning("notification not queued; sweeper will retry")


def _event(user: StaffUser, kind: str, now: datetime, public_text: str | None = None,
           **detail: Any) -> tickets.NewEvent:
    return tickets.NewEvent(kind=kind, actor=user.actor, at=now, public_text=public_text,
                            detail={key: value for key, value in detail.items() if value is not None} or None)


def _move(ticket: TicketModel, target: Status, details: dict[str, str] | None = None) -> None:
    check_transition(Status(ticket.status), target, details)


Handler = Callable[[StaffUser, TicketModel, Mapping[str, str], ReferenceData, datetime], str]


def _categorise(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData,
                now: datetime) -> str:
    category = (form.get("category") or "").strip() or None
    area = (form.get("area") or "").strip() or None
    errors = []
    if category is not None and category not in ref.categories:
        errors.append(FieldError("category", "Lĩnh vực không có trong danh mục.", "Unknown category."))
    if area is not None and area not in ref.areas:
        errors.append(FieldError("area", "Xã/phường không có trong danh mục.", "Unknown commune or ward."))
    if errors:
        raise ValidationFailed(errors)
    result = routing.recategorise(ticket.tracking_code, category, area, user.actor, now, ticket=ticket,
                                  role=model_training.role_of(user.roles))
    return "Đã phân loại và chuyển cơ quan xử lý." if result == "assigned" else "Đã phân loại; chưa xác định cơ quan."


def _assign(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    agency_id = (form.get("agency") or "").strip()
    if agency_id not in ref.agencies:
        raise ValidationFailed([FieldError("agency", "Vui lòng chọn cơ quan xử lý.", "Choose an agency.")])
    reason = staff_forms.text(form, "reason", staff_forms.MAX_REASON, required=False)
    if ticket.status != Status.ASSIGNED.value:  # assigned -> assigned is a transfer to another agency
        _move(ticket, Status.ASSIGNED)
    changes: dict[str, Any] = {}
    if ticket.due_at is None:
        changes.update(routing.deadline_changes(ticket, ref, ticket.category))
    agency = ref.agencies[agency_id]
    from chalicelib.notify import staff as staff_notices

    facts = staff_notices.ticket_facts(ticket, ref, agency_id=agency_id, due_at=changes.get("due_at"),
                                       previous_agency=ticket.agency if ticket.agency != agency_id else None)
    notices, _ = routing.assignment_messages(ticket, ref, agency_id, now, facts)
    kind = "transferred" if ticket.agency else "assigned"
    event = _event(user, kind, now, f"Đã chuyển đến {agency.name} để xử lý.", agency=agency_id,
                   previous=ticket.agency, reason=reason or None)
    said = model_training.decided(ticket)
    tickets.transition(ticket, Status.ASSIGNED, event, now, agency=agency_id, changes=changes, outbound=notices)
    model_training.record_correction(ticket, said, {**said, "agency": agency_id}, ref,
                                     model_training.role_of(user.roles), now)
    _send(notices)
    return f"Đã giao cho {agency.name}."


def _return(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    reason = staff_forms.text(form, "reason", staff_forms.MAX_REASON)
    _move(ticket, Status.TRIAGE)
    event = _event(user, "returned", now, "Tổng đài viên đang phân loại lại phản ánh.", reason=reason,
                   agency=ticket.agency)
    tickets.transition(ticket, Status.TRIAGE, event, now, changes={"agency": None})
    return "Đã trả phản ánh về tổng đài để phân loại lại."


def _start(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    _move(ticket, Status.IN_PROGRESS)
    tickets.transition(ticket, Status.IN_PROGRESS, _event(user, "started", now, "Cơ quan đang xử lý."), now)
    return "Đã chuyển sang đang xử lý."


def _reply(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    body = staff_forms.text(form, "text", staff_forms.MAX_REPLY)
    reply = replies.staff_message(ticket.tracking_code, body)
    route = _route(ticket)
    if route is None:
        raise ValidationFailed([FieldError("text", "Người dân không để lại số điện thoại, Zalo hay email: hãy gọi lại "
                                           "hoặc ghi chú.", "The reporter left no phone, Zalo or email.")])
    # An SMS is paid per message, and the reporter gets the answer by SMS anyway: a reply goes by SMS
    # only when staff tick "send SMS" (the reply is public on the status page either way). Zalo
    # (free within the window) and e-mail always carry it.
    used = _kb_used(form)
    if route[0] == "sms" and (form.get("sms") or "").strip().lower() not in ("1", "on", "true", "yes"):
        tickets.update(ticket, _event(user, "reply", now, body, channel="status_page", **used), now, {})
        _kb_count(user, ticket, used, now)
        return "Đã đăng tin nhắn lên trang tra cứu (không gửi SMS)."
    messages = _to_reporter(ticket, "staff_reply", reply, now)
    event = _event(user, "reply", now, body, channel=messages[0].channel, **used)
    tickets.update(ticket, event, now, {}, outbound=messages, note=_sms_note(messages, reply, now))
    _kb_count(user, ticket, used, now)
    _send(messages)
    return "Đã gửi tin nhắn cho người dân."


def _kb_used(form: Mapping[str, str]) -> dict[str, Any]:
    """The Q&A article a reply was written from ("Dùng bài này": `kb_article` = "<id>:<version>"), as
    the reply's event details; nothing when none was used or the article is no longer published and valid."""
    import re

    from chalicelib.domain.errors import NotFound
    from chalicelib.domain.kb import ArticleNotFound
    from chalicelib.services import kb

    used = re.fullmatch(r"([A-Za-z0-9_.-]{1,80}):([0-9]{1,6})", (form.get("kb_article") or "").strip())
    if used is None:
        return {}
    try:
        article = kb.article(used.group(1))  # the published article the page suggested (any agency's)
    except (NotFound, ArticleNotFound):
        return {}
    except Exception as exc:  # noqa: BLE001 - the index unreadable: the reply goes, without the article
        from chalicelib.observability import logger

        logger().warning("knowledge base article not checked", extra={"error_type": type(exc).__name__})
        return {}
    return {"kb_article": used.group(1), "kb_version": int(used.group(2)),
            "kb_title": str(article.get("title") or "")[:200]}


def _kb_count(user: StaffUser, ticket: TicketModel, used: Mapping[str, Any], now: datetime) -> None:
    """Counts the article's use (its statistics); the reply is already saved, so a failure here is only logged."""
    if not used:
        return
    from chalicelib.services import kb

    try:
        kb.record_use(used["kb_article"], used["kb_version"], ticket.tracking_code, user.actor, now)
    except Exception as exc:  # noqa: BLE001 - the citizen's reply matters more than the counter
        logger().warning("knowledge base use not counted", extra={"error_type": type(exc).__name__})


def _note(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    body = staff_forms.text(form, "text", staff_forms.MAX_NOTE)
    tickets.update(ticket, _event(user, "note", now, text=body), now, {})
    return "Đã lưu ghi chú nội bộ."


def _mark_kind(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData,
               now: datetime) -> str:
    """Corrects whether the citizen asks ("question") or complains ("complaint", chalicelib.domain.questions), until
    the ticket is first answered: the statistics count each answer under the kind it had then."""
    kind = (form.get("kind") or "").strip()
    if kind not in ("question", "complaint"):
        raise ValidationFailed([FieldError("kind", "Chọn câu hỏi hoặc phản ánh.", "kind: question or complaint.")])
    if ticket.answered_at is not None:
        raise ValidationFailed([FieldError("kind", "Phản ánh đã được trả lời: không đổi loại được nữa.",
                                           "An answered ticket keeps its kind.")])
    if ticket.kind != kind:
        tickets.update(ticket, _event(user, f"marked_{kind}", now), now, {"kind": kind})
    return "Đã đánh dấu là câu hỏi." if kind == "question" else "Đã đánh dấu là phản ánh."


def _callback(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    due = staff_forms.local_datetime(form, "due", now)
    reason = staff_forms.text(form, "reason", staff_forms.MAX_REASON)
    waiting = Status.AWAITING_CALLBACK
    status = waiting.value if waiting in TRANSITIONS[Status(ticket.status)] else None
    callback = callbacks.new_callback(ticket.tracking_code, due, reason, user.actor, user.email or None, now)
    event = _event(user, "callback_scheduled", now, f"Tổng đài sẽ gọi lại lúc {local_text(due)}.",
                   due=due.isoformat(), reason=reason)
    callbacks.schedule_on_ticket(ticket, callback, event, now, status)
    return f"Đã hẹn gọi lại lúc {local_text(due)}."


def _callback_done(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData,
                   now: datetime) -> str:
    outcome = staff_forms.text(form, "outcome", staff_forms.MAX_REASON)
    callback = next((c for c in callbacks.of_ticket(ticket.tracking_code) if c.sk == form.get("callback")), None)
    if callback is None or callback.status is None:
        raise Missing()
    still_open = [c for c in callbacks.of_ticket(ticket.tracking_code) if c.status is not None and c.sk != callback.sk]
    status = (Status.IN_PROGRESS.value if Status(ticket.status) == Status.AWAITING_CALLBACK and not still_open
              else None)
    event = _event(user, "callback_done", now, "Tổng đài đã gọi lại cho người dân.", outcome=outcome,
                   callback=callback.sk)
    callbacks.close_on_ticket(ticket, callback, outcome, event, now, status, last=not still_open)
    return "Đã ghi kết quả gọi lại."


def _extend(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    days = staff_forms.working_days(form)
    reason = staff_forms.text(form, "reason", staff_forms.MAX_REASON)
    due = deadlines.extend(ticket.tracking_code, days, reason, approver=user.email, actor=user.actor, now=now,
                           ticket=ticket)
    return f"Đã gia hạn đến {local_text(due)}."


def _delay_reason(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData,
                  now: datetime) -> str:
    reason = staff_forms.text(form, "reason", staff_forms.MAX_REASON)
    if not is_open(Status(ticket.status)):
        raise ValidationFailed([FieldError("reason", "Chỉ ghi lý do chậm cho phản ánh đang xử lý.",
                                           "Only an open ticket can be late.")])
    tickets.update(ticket, _event(user, "delay_reason", now, reason=reason), now, {})
    return "Đã ghi lý do chậm; báo cáo tháng nêu lý do này bên phản ánh quá hạn."


def _resolve(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    answer = staff_forms.text(form, "answer", staff_forms.MAX_REPLY)
    _move(ticket, Status.ANSWERED)
    reply = replies.answer(ticket.tracking_code, answer)
    messages = _to_reporter(ticket, "answer", reply, now, followers=True)
    on_time = ticket.due_at is None or now <= ticket.due_at
    changes: dict[str, Any] = {"answer": answer, "answered_at": now, "answered_on_time": on_time,
                               "needs_callback": False, **_stop_watching(ticket)}
    route = _route(ticket)
    if route is not None and not ticket.survey_sent:
        # Exactly one satisfaction survey per ticket, to the reporter, on their channel: a digit reply
        # for Zalo and SMS reporters, a link for the others (a reopened and re-answered ticket gets none).
        # By SMS it is folded into the answer's one message (one segment): no SMS of its own.
        import secrets

        from chalicelib.domain.satisfaction import answer_sms, survey
        from chalicelib.services.satisfaction import survey_link

        token = secrets.token_urlsafe(12)
        link = None if ticket.channel in ("zalo", "sms") else survey_link(ticket.tracking_code, token)
        if route[0] == "sms":
            from chalicelib.services.lookup import lookup_url

            messages[0].text = answer_sms(ticket.tracking_code, reply.sms, lookup_url(ticket.tracking_code), link,
                                          settings().hotline)
        else:
            messages.append(_message(route, ticket.tracking_code, "survey", survey(ticket.tracking_code, link), now))
        changes.update(survey_sent=True, survey_token=token)
    used = _kb_used(form)
    event = _event(user, "answered", now, f"Trả lời: {answer}", on_time=on_time, agency=ticket.agency, **used)
    tickets.transition(ticket, Status.ANSWERED, event, now, changes=changes, outbound=messages,
                       close_callbacks=_open_callbacks(ticket), note=_sms_note(messages, reply, now))
    _kb_count(user, ticket, used, now)
    _send(messages)
    return "Đã trả lời và gửi cho người dân." if messages else "Đã lưu trả lời (người dân không có kênh nhận tin)."


def _reject(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    reason = staff_forms.text(form, "reason", staff_forms.MAX_REASON)
    _move(ticket, Status.REJECTED, {"reason": reason})
    reply = replies.rejected(ticket.tracking_code, reason)
    messages = _to_reporter(ticket, "rejected", reply, now, followers=True)
    event = _event(user, "rejected", now, f"Không tiếp nhận: {reason}", reason=reason)
    tickets.transition(ticket, Status.REJECTED, event, now, changes=_stop_watching(ticket), outbound=messages,
                       close_callbacks=_open_callbacks(ticket), note=_sms_note(messages, reply, now))
    _send(messages)
    return "Đã từ chối tiếp nhận và báo người dân."


def _redirect(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    reason = staff_forms.text(form, "reason", staff_forms.MAX_REASON)
    where = staff_forms.text(form, "redirected_to", 200)
    _move(ticket, Status.REDIRECTED, {"reason": reason, "redirected_to": where})
    reply = replies.redirected(ticket.tracking_code, where, reason)
    messages = _to_reporter(ticket, "redirected", reply, now, followers=True)
    event = _event(user, "redirected", now, f"Hướng dẫn gửi đến {where}: {reason}", reason=reason,
                   redirected_to=where)
    tickets.transition(ticket, Status.REDIRECTED, event, now, changes=_stop_watching(ticket), outbound=messages,
                       close_callbacks=_open_callbacks(ticket), note=_sms_note(messages, reply, now))
    _send(messages)
    return "Đã hướng dẫn người dân gửi đến nơi có thẩm quyền."


def _merge(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    original = load(user, form.get("merged_into") or "")
    if original.tracking_code == ticket.tracking_code or not is_open(Status(original.status)):
        raise ValidationFailed([FieldError("merged_into", "Chỉ gộp vào một phản ánh khác đang mở.",
                                           "Merge into another open ticket.")])
    _move(ticket, Status.MERGED, {"merged_into": original.tracking_code})
    # The reporter (and whoever already followed this ticket) now follow the original.
    route = _route(ticket)
    followers = [{"tracking_code": ticket.tracking_code, "channel": route[0], "provider": route[1],
                  "recipient": route[2], "device": route[3]}] if route else []
    followers += [{"tracking_code": f.tracking_code, "channel": f.channel, "provider": f.provider,
                   "recipient": f.recipient, "device": f.device} for f in ticket.followers or []]
    from chalicelib.services.intake import MAX_FOLLOWERS

    if len(original.followers or []) + len(followers) > MAX_FOLLOWERS:
        raise ValidationFailed([FieldError("merged_into", "Phản ánh gốc đã có quá nhiều người theo dõi.",
                                           "The original has too many followers already.")])
    messages = _to_reporter(ticket, "merged", replies.merged(ticket.tracking_code, original.tracking_code), now)
    from chalicelib.store import people

    # Everyone moved follows the original now: its FOLLOW# markers let an erasure or retention find them there.
    marks = tuple(people.marker(r, "FOLLOW", original.tracking_code, now) for r in {f["recipient"] for f in followers})
    also = tickets.AlsoUpdate(original, _event(user, "merged_from", now, merged_from=ticket.tracking_code), followers,
                              markers=marks)
    event = _event(user, "merged", now, f"Đã gộp vào phản ánh {original.tracking_code}.",
                   merged_into=original.tracking_code)
    tickets.transition(ticket, Status.MERGED, event, now, changes={"merged_into": original.tracking_code,
                                                                     **_stop_watching(ticket)},
                       outbound=messages, also=also, close_callbacks=_open_callbacks(ticket))
    _send(messages)
    return f"Đã gộp vào {original.tracking_code}; người phản ánh sẽ nhận trả lời của phản ánh đó."


def _reopen(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    reason = staff_forms.text(form, "reason", staff_forms.MAX_REASON)
    _move(ticket, Status.REOPENED, {"reason": reason})
    event = _event(user, "reopened", now, "Phản ánh được mở lại để xử lý tiếp.", reason=reason)
    also = None
    if ticket.status == Status.MERGED.value and ticket.merged_into:
        # Reopened on its own: its reporter stops following the original (version-checked on both).
        original = tickets.get_ticket(ticket.merged_into)
        keep = [f.attribute_values for f in original.followers or [] if f.tracking_code != ticket.tracking_code]
        from chalicelib.store import people

        left = {f.recipient for f in original.followers or []} - {f["recipient"] for f in keep}
        also = tickets.AlsoUpdate(original, _event(user, "follower_removed", now, unmerged=ticket.tracking_code),
                                  keep, replace_followers=True,
                                  unmarked=tuple(people.marker(r, "FOLLOW", original.tracking_code, now) for r in left))
    # A reopened ticket gets the category's whole allowed time again, from now, and is watched again.
    changes: dict[str, Any] = {"merged_into": None, "overdue": False,
                               **routing.deadline_changes(ticket, ref, ticket.category, start=now)}
    tickets.transition(ticket, Status.REOPENED, event, now, changes=changes, also=also)
    return "Đã mở lại phản ánh."


def _close(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    _move(ticket, Status.CLOSED)
    tickets.transition(ticket, Status.CLOSED, _event(user, "closed", now, "Đã đóng phản ánh."), now)
    return "Đã đóng phản ánh."


def _publish(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    from chalicelib.services import publication

    question = staff_forms.text(form, "public_question", staff_forms.MAX_NOTE, required=False)
    answer = staff_forms.text(form, "public_answer", staff_forms.MAX_REPLY, required=False)
    publication.publish(user, ticket, question or None, now, answer or None)
    return "Đã công khai câu hỏi (đã ẩn thông tin cá nhân) và câu trả lời."


def _unpublish(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData,
               now: datetime) -> str:
    from chalicelib.services import publication

    publication.unpublish(user, ticket, now)
    return "Đã gỡ khỏi danh sách công khai."


ACTIONS: dict[str, Handler] = {
    "categorise": _categorise, "assign": _assign, "return": _return, "start": _start, "reply": _reply,
    "note": _note, "callback": _callback, "callback_done": _callback_done, "extend": _extend,
    "delay_reason": _delay_reason,
    "resolve": _resolve, "reject": _reject, "redirect": _redirect, "merge": _merge, "reopen": _reopen,
    "close": _close, "publish": _publish, "unpublish": _unpublish, "mark_kind": _mark_kind,
}
ACTIONS.update(assignments.ACTIONS)  # claim, release, reassign, seen
_PERMISSION = {"callback_done": "callback", "unpublish": "publish", "mark_kind": "categorise",
               **assignments.PERMISSIONS}


def act(user: StaffUser, code: str, action: str, form: Mapping[str, str], now: datetime | None = None) -> str:
    """Applies one staff action to the ticket; returns the confirmation to show.

    Raises Forbidden (role), TicketNotFound (unknown or another agency's), Conflict (someone saved
    the ticket since this user loaded it), IllegalTransition, ValidationFailed.
    """
    handler = ACTIONS.get(action)
    if handler is None:
        raise ValidationFailed([FieldError("action", "Thao tác không hợp lệ.", "Unknown action.")])
    require(user, _PERMISSION.get(action, action))
    now = _now(now)
    ticket = load(user, code, staff_forms.version(form))
    result = handler(user, ticket, form, load_reference(), now)
    assignments.after_action(ticket, action)
    logger().info("staff action", extra={"ticket": ticket.tracking_code, "action": action, "staff": user.sub})
    return result


# Phone intake


def phone_intake(user: StaffUser, form: Mapping[str, str]) -> dict[str, Any]:
    """Opens a ticket from a call (channel 'phone', entered_by = the operator); returns the receipt.
    One form token per rendered form: a double submit makes one ticket."""
    require(user, "phone_intake")
    submission = replace(validate_submission(form, load_reference(), channel="phone"), entered_by=user.actor)
    return intake.submit(submission, form_token=form.get("form_token") or None)


# Response templates


def template_list(user: StaffUser) -> list[Any]:
    require(user, "view")
    return templates.all_templates()


def save_template(user: StaffUser, form: Mapping[str, str], now: datetime | None = None) -> str:
    """Creates (no id) or edits (id + version) a response template; admins only."""
    require(user, "edit_templates")
    now = _now(now)
    category = (form.get("category") or "").strip() or None
    if category is not None and category not in load_reference().categories:
        raise ValidationFailed([FieldError("category", "Lĩnh vực không có trong danh mục.", "Unknown category.")])
    title = staff_forms.text(form, "title", 120)
    body = staff_forms.text(form, "body", staff_forms.MAX_REPLY)
    template_id = (form.get("id") or "").strip()
    if not template_id:
        template_id = templates.create_template(category, title, body, user.actor, now).sk
        audit.record("template_created", user.actor, now, template=template_id, title=title)
        return template_id
    templates.update_template(template_id, staff_forms.version(form), category, title, body, user.actor, now)
    audit.record("template_edited", user.actor, now, template=template_id, title=title)
    return template_id


def delete_template(user: StaffUser, form: Mapping[str, str]) -> None:
    require(user, "edit_templates")
    template_id = (form.get("id") or "").strip()
    templates.delete_template(template_id, staff_forms.version(form))
    audit.record("template_deleted", user.actor, datetime.now(timezone.utc), template=template_id)


# Staff accounts


def staff_accounts(user: StaffUser) -> dict[str, list[dict[str, Any]]]:
    require(user, "manage_staff")
    from chalicelib import identity

    return identity.staff_by_role()


def add_staff(user: StaffUser, form: Mapping[str, str]) -> tuple[str, str]:
    """Creates an account; returns (email, temporary password shown once to the admin)."""
    require(user, "manage_staff")
    from chalicelib import identity
    from chalicelib.services import staff_directory

    email, name, role, agency = staff_forms.new_staff(form, load_reference())
    password = identity.create_staff(email, name, role, agency)
    staff_directory.forget()
    audit.record("staff_created", user.actor, datetime.now(timezone.utc), email=email, role=role, agency=agency)
    logger().info("staff account created", extra={"role": role, "by": user.sub})
    return email, password


def set_staff_enabled(user: StaffUser, email: str, enabled: bool) -> None:
    """Disables (and signs out everywhere) or re-enables an account; admins only, never themselves."""
    require(user, "manage_staff")
    from chalicelib import identity
    from chalicelib.services import staff_directory

    if email.strip().lower() == user.email.lower():
        raise ValidationFailed([FieldError("email", "Không thể tự khoá tài khoản của mình.",
                                           "You cannot disable your own account.")])
    identity.set_enabled(email, enabled)
    staff_directory.forget()
    audit.record("staff_enabled" if enabled else "staff_disabled", user.actor, datetime.now(timezone.utc), email=email)
