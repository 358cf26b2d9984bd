"""Notifications to staff (agencies, operators, supervisors, admins): Vietnamese email with HTML
and text parts (Jinja2, autoescaped HTML); staff work in the console and read e-mail, so an SMS
(one segment, without diacritics) goes only to a supervisor who opted in to SMS on escalation
(`supervisor_sms_escalations` in the reference data): SMS is most of the running cost. Built as
outbound items so they travel the same queue, retries, DLQ and delivery state as citizen replies.
Reporter identity never goes into these messages; the text excerpt is left out for confidential
categories."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from chalicelib.config import settings
from chalicelib.domain.clock import local_text
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.sms import sms_text
from chalicelib.store.models import OutboundModel, TicketModel
from chalicelib.store.outbound import new_outbound

EXCERPT = 300
SMS_LIMIT = 160


@dataclass(frozen=True)
class Contact:
    email: str = ""
    sms: str = ""    # E.164, only for a contact who opted in to SMS; '' = e-mail only


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from chalicelib.web.pages import TEMPLATES

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                       keep_trailing_newline=True)


def render(name: str, **context: Any) -> tuple[str, str]:
    """Returns (html, text) of the email template pair `name`."""
    env = _environment()
    return env.get_template(f"email/{name}.html").render(**context), env.get_template(f"email/{name}.txt").render(
        **context)


def ticket_facts(ticket: TicketModel, ref: ReferenceData, *, agency_id: str | None = None,
                 due_at: datetime | None = None, previous_agency: str | None = None,
                 callback_at: datetime | None = None, callback_reason: str | None = None) -> dict[str, Any]:
    """The facts every staff e-mail shows of `ticket`, by name: category, commune/ward, agency and
    answer deadline. `agency_id` / `due_at` stand for values being written with this notification
    (an assignment's new agency and deadline); `previous_agency` names the agency a transfer comes
    from; `callback_at` / `callback_reason` are a callback's promised time and why (a reminder shows
    that time, never the answer deadline in its place)."""
    category = ref.categories.get(ticket.category or "")
    area = ref.areas.get(ticket.area or "")
    agency = ref.agencies.get(agency_id or ticket.agency or "")
    previous = ref.agencies.get(previous_agency or "")
    due = due_at or ticket.due_at
    confidential = bool(category and category.confidential)
    return {"code": ticket.tracking_code, "category": category.name if category else None,
            "area": area.name if area else None, "agency": agency.name if agency else None,
            "previous_agency": previous.name if previous else None,
            "due": local_text(due) if due else None,
            "callback": local_text(callback_at) if callback_at else None, "callback_reason": callback_reason,
            "excerpt": None if confidential else ticket.text[:EXCERPT],
            "link": settings().public_url(f"/staff/tickets/{ticket.tracking_code}")}


def _sms_fit(text: str) -> str:
    plain = sms_text(text)
    return plain if len(plain) <= SMS_LIMIT else plain[: SMS_LIMIT - 3].rstrip() + "..."


def messages(kind: str, contact: Contact, subject: str, intro: str, sms: str, now: datetime,
             template: str = "ticket", **context: Any) -> list[OutboundModel]:
    """Returns the email and/or SMS outbound items for one staff notification (an SMS only when the
    contact opted in and the notification has an SMS text)."""
    items = []
    if contact.email:
        html, text = render(template, subject=subject, intro=intro, **context)
        email = new_outbound(kind, "email", "ses", contact.email, text, now, automated=False)
        email.subject, email.html = subject, html
        items.append(email)
    if contact.sms and sms:
        items.append(new_outbound(kind, "sms", "sns", contact.sms, _sms_fit(sms), now, automated=False))
    return items


def agency_contact(ref: ReferenceData, agency_id: str | None, supervisor: bool = False) -> Contact:
    """The agency's contact (e-mail only), or its supervisor's (SMS too when opted in)."""
    agency = ref.agencies.get(agency_id or "")
    if agency is None:
        return Contact()
    if not supervisor:
        return Contact(email=agency.email)
    return Contact(email=agency.supervisor_email,
                   sms=agency.supervisor_phone if agency.supervisor_sms_escalations else "")


def hotline_supervisor_contact(ref: ReferenceData) -> Contact:
    return Contact(email=ref.hotline_supervisor_email,
                   sms=ref.hotline_supervisor_phone if ref.hotline_supervisor_sms_escalations else "")
