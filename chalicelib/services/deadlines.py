"""Use cases on a ticket's deadline: extensions (with a reason and an approver, on the timeline)
and the clock pausing while the hotline waits on the citizen."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import FieldError, ValidationFailed, collector
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.working_time import add_working_seconds, resume, warn_at
from chalicelib.services.routing import watch_shard
from chalicelib.store import tickets
from chalicelib.store.reference import load_reference


def _watch(code: str, created: datetime, due: datetime, now: datetime) -> dict[str, object]:
    calendar = load_reference().calendar
    assert calendar is not None
    warning = warn_at(calendar, created, due)
    stage, at = ("warn", warning) if warning > now else ("due", due)
    return {"due_at": due, "warn_at": warning, "watch_shard": watch_shard(code),
            "watch_at": at.astimezone(timezone.utc).isoformat(), "watch_stage": stage, "overdue": False}


def extend(code: str, working_days: float, reason: str, approver: str, actor: str,
           now: datetime | None = None, ticket: Any = None) -> datetime:
    """Moves the deadline `working_days` later; returns it. Needs a reason and an approver, and an
    open ticket (`ticket`: the copy the approver saw, so a change made meanwhile is a Conflict).
    Raises ValidationFailed, NotFound, Conflict (someone changed the ticket meanwhile)."""
    now = now or datetime.now(timezone.utc)
    errors = collector()
    if not (reason or "").strip():
        errors.add("reason", "Cần nêu lý do gia hạn.", "An extension needs a reason.")
    if not (approver or "").strip():
        errors.add("approver", "Cần người phê duyệt gia hạn.", "An extension needs an approver.")
    if working_days <= 0:
        errors.add("working_days", "Số ngày gia hạn phải lớn hơn 0.", "Extend by a positive number of days.")
    errors.raise_if_any()
    ticket = ticket or tickets.get_ticket(code)
    if not is_open(Status(ticket.status)):
        raise ValidationFailed([FieldError("working_days", "Chỉ gia hạn phản ánh đang xử lý.",
                                           "Only open tickets can be extended.")])
    calendar = load_reference().calendar
    if ticket.due_at is None or calendar is None:
        raise ValidationFailed([FieldError("due_at", "Phản ánh chưa có hạn trả lời.", "The ticket has no deadline.")])
    due = add_working_seconds(calendar, ticket.due_at, working_days * calendar.day_seconds)
    event = tickets.NewEvent("deadline_extended", actor, now,
                             public_text=f"Thời hạn trả lời được gia hạn đến {local_text(due)}.",
                             detail={"from": ticket.due_at.isoformat(), "to": due.isoformat(), "reason": reason,
                                     "approver": approver})
    tickets.update(ticket, event, now, _watch(code, ticket.created_at, due, now))
    return due


def pause(code: str, actor: str, reason: str, now: datetime | None = None) -> None:
    """Stops the clock while waiting on the citizen (e.g. missing documents)."""
    now = now or datetime.now(timezone.utc)
    ticket = tickets.get_ticket(code)
    if ticket.paused_at is not None:
        return
    event = tickets.NewEvent("clock_paused", actor, now, public_text="Tạm dừng thời hạn: chờ người dân bổ sung "
                             "thông tin.", detail={"reason": reason})
    tickets.update(ticket, event, now, {"paused_at": now})


def resume_clock(code: str, actor: str, now: datetime | None = None) -> datetime | None:
    """Restarts the clock; the deadline moves by the working time spent waiting. Returns it."""
    now = now or datetime.now(timezone.utc)
    ticket = tickets.get_ticket(code)
    calendar = load_reference().calendar
    if ticket.paused_at is None or calendar is None:
        return ticket.due_at
    changes: dict[str, object] = {"paused_at": None}
    due = ticket.due_at
    if due is not None:
        due = resume(calendar, due, ticket.paused_at, now)
        changes.update(_watch(code, ticket.created_at, due, now))
    event = tickets.NewEvent("clock_resumed", actor, now,
                             public_text=f"Tiếp tục xử lý. Hạn trả lời: {local_text(due)}." if due else None)
    tickets.update(ticket, event, now, changes)
    return due
