"""Anonymised ticket facts for analysis outside DynamoDB (Athena, DuckDB): one row per ticket, pure.

A row holds what statistics need and nothing that names or reaches a person: no name, phone,
e-mail, Zalo id, text, address, photo or position (the commune at most), and no tracking code
either — the code opens the ticket's status and, through it, the person; a row needs no id because
each ticket lives in exactly one partition (its creation day), which is rewritten whole
(chalicelib/services/analytics_export.py). Times are UTC ISO strings ('2026-11-03T01:02:03Z', so
they compare as text in any engine); months and days are Vietnam's; durations are whole minutes,
in calendar time and in the reference calendar's working time, so queries need no date arithmetic.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Protocol

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.working_time import WorkCalendar, working_seconds_between

CALLBACK_ON_TIME = timedelta(minutes=30)
# The columns, in order (infra/resources.json AnalyticsTicketsTable lists the same with Athena types).
COLUMNS = (
    "created_at", "created_month", "channel", "category", "agency", "area", "status", "is_open", "due_at",
    "answered_at", "answered_month", "on_time", "first_action_at", "first_action_minutes",
    "first_action_working_minutes", "answer_minutes", "answer_working_minutes", "reopened", "extensions",
    "callbacks_due", "callbacks_done", "callbacks_within_30", "rating", "anonymised", "kind", "route_source",
)
# Timeline events that are not a staff member acting on the ticket (the clock, the system, the citizen).
_NOT_ACTIONS = {"created", "deadline_warning", "escalated", "watch_stopped", "sms_notice", "anonymised",
                "photos_removed", "rated"}


class Event(Protocol):
    kind: str
    actor: str
    at: datetime
    detail: Any


class Callback(Protocol):
    sk: str
    due_at: datetime
    outcome: str | None


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_day(moment: datetime) -> date:
    return moment.astimezone(VN_TZ).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC moments [start, end) of a Vietnam calendar day."""
    start = datetime(day.year, day.month, day.day, tzinfo=VN_TZ).astimezone(timezone.utc)
    return start, start + timedelta(days=1)


def _minutes(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else int((end - start).total_seconds() // 60)


def _working_minutes(calendar: WorkCalendar | None, start: datetime | None, end: datetime | None) -> int | None:
    if calendar is None or start is None or end is None:
        return None
    return int(working_seconds_between(calendar, start, end) // 60)


def first_staff_action(events: Iterable[Event]) -> datetime | None:
    """When a staff member first did something on the ticket (the clock and the system do not count)."""
    moments = [e.at for e in events if e.actor.startswith("staff:") and e.kind not in _NOT_ACTIONS]
    return min(moments) if moments else None


def fact(ticket: Any, events: Iterable[Event], callbacks: Iterable[Callback], rating: int | None,
         calendar: WorkCalendar | None) -> dict[str, Any]:
    """The fact row of one ticket, from the ticket item, its timeline, its callbacks and its rating."""
    events = sorted(events, key=lambda e: e.at)
    callbacks = list(callbacks)
    created, answered = ticket.created_at, ticket.answered_at
    first = first_staff_action(events)
    done_at = {str((e.detail or {}).get("callback")): e.at for e in events if e.kind == "callback_done"}
    within = sum(1 for c in callbacks if c.sk in done_at and abs(done_at[c.sk] - c.due_at) <= CALLBACK_ON_TIME)
    row = {
        "created_at": iso(created),
        "created_month": created.astimezone(VN_TZ).strftime("%Y-%m"),
        "channel": ticket.channel,
        "category": ticket.category,
        "agency": ticket.agency,
        "area": ticket.area,
        "status": ticket.status,
        "is_open": is_open(Status(ticket.status)),
        "due_at": iso(ticket.due_at),
        "answered_at": iso(answered),
        "answered_month": answered.astimezone(VN_TZ).strftime("%Y-%m") if answered else None,
        "on_time": ticket.answered_on_time if answered else None,
        "first_action_at": iso(first),
        "first_action_minutes": _minutes(created, first),
        "first_action_working_minutes": _working_minutes(calendar, created, first),
        "answer_minutes": _minutes(created, answered),
        "answer_working_minutes": _working_minutes(calendar, created, answered),
        "reopened": sum(1 for e in events if e.kind == "reopened"),
        "extensions": sum(1 for e in events if e.kind == "deadline_extended"),
        "callbacks_due": len(callbacks),
        "callbacks_done": sum(1 for c in callbacks if c.outcome is not None),
        "callbacks_within_30": within,
        "rating": rating,
        "anonymised": ticket.anonymised_at is not None,
        # question or complaint, and who routed it (keywords, model, both; None: before routing learnt)
        "kind": ticket.kind,
        "route_source": ticket.route_source,
    }
    return row
