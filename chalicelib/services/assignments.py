"""Who works on a ticket, and which tickets wait for staff: claim ("Nhận xử lý"), release ("Trả lại"),
reassign to a colleague, and the "Có tin mới" flag that staff clear by acting on the ticket.

One rule for taking tickets: anyone claims a free ticket and gives back their own; the hotline's
roles also give a free ticket or their own to a colleague; taking a ticket off someone else
(reassigning or releasing it) is for supervisors and admins (permission "take_over").

The flag: a citizen's message on an existing ticket marks it (chalicelib.store.tickets.append_message);
any staff action recorded on the ticket's timeline clears it — reply, note, status change, claim,
callback, extension... — except handing it over (release, reassign: the next person should still
see it), and so does "Đã xem" (the message needs nothing). Opening the ticket alone does not: a
glance is not an answer. A message that arrives while staff act keeps the flag (the marker is
removed only if it is no newer than the ticket staff acted on).

These are console actions (chalicelib.services.console.act loads the ticket, version-checked, and
calls them); each handler has the console's Handler signature.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from chalicelib.domain.errors import DomainError, FieldError, ValidationFailed
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.permissions import ADMIN, AGENCY_OFFICER, OPERATOR, SUPERVISOR, StaffUser, allowed
from chalicelib.domain.reference import ReferenceData
from chalicelib.observability import logger
from chalicelib.store import tickets, worklists
from chalicelib.store.models import TicketModel

_DESK_ROLES = {OPERATOR, SUPERVISOR, ADMIN}


def _event(user: StaffUser, kind: str, now: datetime, ticket: TicketModel, **detail: Any) -> Any:
    return tickets.event_item(ticket.tracking_code, tickets.NewEvent(
        kind=kind, actor=user.actor, at=now, detail={k: v for k, v in detail.items() if v} or None), ticket.status)


def _mine(user: StaffUser, ticket: TicketModel) -> bool:
    return bool(ticket.assignee) and ticket.assignee.lower() == user.email.lower()


def may_release(user: StaffUser, ticket: TicketModel) -> bool:
    """Whether the user may give the ticket back: their own, or anyone's for supervisors and admins."""
    return bool(ticket.assignee) and (_mine(user, ticket) or allowed(user, "take_over"))


def may_reassign(user: StaffUser, ticket: TicketModel) -> bool:
    """Whether the user may give the ticket to a colleague: a free ticket or their own (the hotline's
    roles), a colleague's only for supervisors and admins."""
    return allowed(user, "reassign") and (not ticket.assignee or _mine(user, ticket) or allowed(user, "take_over"))


def _taken(ticket: TicketModel, doing: str) -> ValidationFailed:
    return ValidationFailed([FieldError("assignee", f"{ticket.assignee_name or ticket.assignee} đang xử lý phản ánh "
                                        f"này; chỉ giám sát hoặc quản trị mới {doing} được phản ánh của người khác.",
                                        "A colleague has this ticket; only a supervisor or an admin can take it "
                                        "off them.")])


def _scope(user_roles: Any, agency: str | None) -> str | None:
    """The agency an assignee is bound to: an agency officer's (they see only its tickets), None for
    the hotline's roles. A transfer elsewhere takes the ticket off an officer (store.tickets)."""
    return None if set(user_roles) & _DESK_ROLES else agency


def _still_open(ticket: TicketModel) -> None:
    if not is_open(Status(ticket.status)):
        raise ValidationFailed([FieldError("assignee", "Phản ánh đã đóng: không cần người nhận xử lý.",
                                           "The ticket is closed; nobody needs to take it.")])


def claim(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    """The user takes a free ticket ("Nhận xử lý"); refused while a colleague has it (a supervisor or
    an admin reassigns it)."""
    _still_open(ticket)
    if _mine(user, ticket):
        return "Bạn đang xử lý phản ánh này."
    if ticket.assignee:
        raise ValidationFailed([FieldError("assignee", f"{ticket.assignee_name or ticket.assignee} đang xử lý phản "
                                           "ánh này; nhờ giám sát hoặc quản trị giao lại nếu cần.",
                                           "A colleague has this ticket; ask a supervisor or an admin to reassign "
                                           "it.")])
    worklists.assign(ticket, worklists.Assignee(user.email, user.name, _scope(user.roles, user.agency)),
                     _event(user, "claimed", now, ticket, assignee=user.name), now)
    return "Đã nhận xử lý: phản ánh ở trong mục Việc của tôi."


def release(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    """The assignee gives the ticket back ("Trả lại"); a supervisor or admin may take it off anyone."""
    if not ticket.assignee:
        raise ValidationFailed([FieldError("assignee", "Phản ánh chưa có người nhận xử lý.", "Nobody has this ticket.")])
    if not may_release(user, ticket):
        raise _taken(ticket, "trả lại")
    worklists.assign(ticket, None, _event(user, "released", now, ticket, was=ticket.assignee_name), now)
    return "Đã trả lại: phản ánh không còn người nhận xử lý."


def colleagues() -> list[dict[str, Any]]:
    """Enabled staff accounts, once per person (roles merged), by name (the staff directory's copy)."""
    from chalicelib.services import staff_directory

    return [{**p, "name": p["name"] or p["email"]} for p in staff_directory.people() if p.get("enabled", True)]


def may_take(person: Mapping[str, Any], ticket: TicketModel) -> bool:
    """Whether a colleague could work on the ticket: the hotline's roles, or an officer of its agency."""
    roles = set(person.get("roles") or ())
    return bool(roles & _DESK_ROLES) or (AGENCY_OFFICER in roles and bool(ticket.agency)
                                         and person.get("agency") == ticket.agency)


def candidates(ticket: TicketModel) -> list[dict[str, Any]]:
    """The colleagues a ticket can be given to (not its current assignee)."""
    current = (ticket.assignee or "").lower()
    return [p for p in colleagues() if may_take(p, ticket) and p["email"].lower() != current]


def reassign(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    """Gives the ticket to a colleague who may work on it: a free ticket or one's own (the hotline's
    roles), a colleague's (supervisors and admins)."""
    _still_open(ticket)
    if not may_reassign(user, ticket):
        raise _taken(ticket, "giao lại")
    email = (form.get("assignee") or "").strip().lower()
    person = next((p for p in candidates(ticket) if p["email"].lower() == email), None)
    if person is None:
        raise ValidationFailed([FieldError("assignee", "Chọn một đồng nghiệp có thể xử lý phản ánh này.",
                                           "Choose a colleague who can work on this ticket.")])
    event = _event(user, "reassigned", now, ticket, assignee=person["name"], was=ticket.assignee_name)
    worklists.assign(ticket, worklists.Assignee(person["email"], person["name"],
                                                _scope(person["roles"], person.get("agency"))), event, now)
    return f"Đã giao cho {person['name']}."


def seen(user: StaffUser, ticket: TicketModel, form: Mapping[str, str], ref: ReferenceData, now: datetime) -> str:
    """"Đã xem": the citizen's new message needs nothing more; the flag goes (nothing else changes)."""
    if ticket.last_inbound_at is None or not worklists.clear_unread(ticket.tracking_code, ticket.last_inbound_at):
        return "Không có tin mới chưa xem."
    return "Đã đánh dấu đã xem tin mới."


ACTIONS = {"claim": claim, "release": release, "reassign": reassign, "seen": seen}
PERMISSIONS = {"release": "claim", "seen": "claim"}
_KEEP_FLAG = {"release", "reassign", "seen"}  # handing over (or "seen" itself) leaves the flag as it is


def after_action(ticket: TicketModel, action: str) -> None:
    """After a staff action succeeded on `ticket` (as read before it): clears its "Có tin mới" flag
    unless a newer message came in. A failure here never undoes nor hides the action."""
    if action in _KEEP_FLAG or ticket.last_inbound_at is None:
        return
    try:
        worklists.clear_unread(ticket.tracking_code, ticket.last_inbound_at)
    except DomainError:
        logger().warning("new-message flag not cleared", extra={"ticket": ticket.tracking_code})
