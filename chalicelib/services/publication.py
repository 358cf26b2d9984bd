"""Use cases: publishing answered tickets (staff approve, only with the reporter's consent) and
the public listing of answers. Published questions are redacted (phones, emails, the reporter's
names); photos are published only as metadata-free copies; no reporter data ever."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

from chalicelib.domain.clock import VN_TZ, local_text
from chalicelib.domain.dates import filter_day
from chalicelib.domain.errors import FieldError, ValidationFailed, collector
from chalicelib.domain.images import PUBLISHABLE, NotAnImage, strip_metadata
from chalicelib.domain.lifecycle import Status
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.redact import redact
from chalicelib.store import photos, public, tickets
from chalicelib.store.models import TicketModel
from chalicelib.store.reference import load_reference

PAGE_SIZE = 20
_PUBLISHABLE_STATUS = {Status.ANSWERED.value, Status.CLOSED.value}


def public_question(ticket: TicketModel) -> str:
    """The ticket's text with phone numbers, emails and the reporter's names masked."""
    return redact(ticket.text, [n for n in (ticket.reporter_name,) if n])


def public_answer(ticket: TicketModel) -> str:
    return redact(ticket.answer or "", [n for n in (ticket.reporter_name,) if n])


def _public_photos(ticket: TicketModel) -> list[str]:
    """Metadata-free copies of the ticket's JPEG/PNG photos; returns their keys."""
    keys = []
    for number, attachment in enumerate(ticket.attachments or [], start=1):
        if attachment.content_type not in PUBLISHABLE or not photos.is_photo_key(attachment.key):
            continue
        try:
            clean, content_type = strip_metadata(photos.read(attachment.key))
        except NotAnImage:
            continue
        key = f"public/{ticket.tracking_code}/{number}{'.png' if content_type == 'image/png' else '.jpg'}"
        photos.put_public(key, clean, content_type)
        keys.append(key)
    return keys


def publish(user: StaffUser, ticket: TicketModel, question: str | None, now: datetime,
            answer: str | None = None) -> None:
    """Raises ValidationFailed unless the reporter consented and the ticket is answered."""
    if not ticket.consent_publish:
        raise ValidationFailed([FieldError("public_question", "Người phản ánh không đồng ý công khai.",
                                           "The reporter did not consent to publication.")])
    if ticket.status not in _PUBLISHABLE_STATUS:
        raise ValidationFailed([FieldError("public_question", "Chỉ công khai phản ánh đã có trả lời.",
                                           "Only answered tickets can be published.")])
    # Staff may edit the question, but the names and numbers are masked again whatever they type.
    names = [n for n in (ticket.reporter_name,) if n]
    text = redact(question or ticket.text, names)
    reply = redact(answer or ticket.answer or "", names)  # answers often greet the reporter by name
    event = tickets.NewEvent("published", user.actor, now, detail={"question": text, "answer": reply})
    public.publish(ticket, text, reply, _public_photos(ticket), event, now)


def unpublish(user: StaffUser, ticket: TicketModel, now: datetime) -> None:
    public.unpublish(ticket, tickets.NewEvent("unpublished", user.actor, now), now)


def _day(raw: str, name: str, errors: Any) -> date | None:
    try:
        return filter_day(raw, name)  # 2000-01-01..2099-12-31: the arithmetic below cannot overflow
    except ValidationFailed as refused:
        errors.errors.extend(refused.errors)
        return None


def answers(raw: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """One page of published answers for the filters in `raw` (category, area, from, to, after)."""
    from chalicelib.services.console import decode_cursor, encode_cursor

    now = now or datetime.now(timezone.utc)
    ref = load_reference()
    errors = collector()
    category = (raw.get("category") or "").strip() or None
    area = (raw.get("area") or "").strip() or None
    if category and category not in ref.categories:
        errors.add("category", "Lĩnh vực không có trong danh mục.", "Unknown category.")
    if area and area not in ref.areas:
        errors.add("area", "Xã/phường không có trong danh mục.", "Unknown commune or ward.")
    first = _day((raw.get("from") or "").strip(), "from", errors)
    last = _day((raw.get("to") or "").strip(), "to", errors)
    errors.raise_if_any()
    today = now.astimezone(VN_TZ).date()
    last = last or today
    first = first or last - timedelta(days=366)
    start = datetime.combine(first, time(0, 0), VN_TZ).astimezone(timezone.utc).isoformat()
    end = datetime.combine(last + timedelta(days=1), time(0, 0), VN_TZ).astimezone(timezone.utc).isoformat()
    items, last_key = public.published(start, end, category, area, PAGE_SIZE, decode_cursor(raw.get("after")))
    rows = []
    for ticket in items:
        cat, place = ref.categories.get(ticket.category or ""), ref.areas.get(ticket.area or "")
        agency = ref.agencies.get(ticket.agency or "")
        rows.append({"code": ticket.tracking_code, "category": cat.name if cat else None,
                     "area": place.name if place else None, "agency": agency.name if agency else None,
                     "asked": local_text(ticket.created_at), "answered": local_text(ticket.answered_at)
                     if ticket.answered_at else None, "on_time": ticket.answered_on_time,
                     "question": ticket.public_question, "answer": ticket.public_answer,
                     "photos": [photos.view_url(k) for k in ticket.photos_public or []]})
    return {"answers": rows, "next": encode_cursor(last_key), "filters": {
        "category": category or "", "area": area or "", "from": first.isoformat(), "to": last.isoformat()}}
