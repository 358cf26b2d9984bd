"""The staff inbox: which index answers a set of filters, and what is filtered on top of it.

Every inbox list is one index query (never a table scan):
    a status given (or view "triage") -> by_status_due (status, earliest deadline first)
    an agency (or an officer)         -> by_agency_due (that agency's open tickets)
    otherwise                         -> by_open (every open ticket)
"overdue" and "due today" narrow the deadline range of that same query; category, channel,
agency (when not the key) and "awaiting callback" are filters on it. Views "new" (a citizen wrote
since staff acted) and "mine" (assigned to me) read their marker partitions instead
(chalicelib.store.worklists).

First things first: the default view's first page shows priority sections above the rest, each
its own small query — triage (held tickets among them), new citizen messages, overdue — and then
the rest from the current moment on (earliest deadline first, tickets without one last). A ticket
shows once on that page, in the first section that has it (`SECTIONS`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Iterable, Mapping

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import collector
from chalicelib.domain.lifecycle import Status
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.reference import ReferenceData

CHANNELS = ("web", "sms", "zalo", "facebook", "phone", "open311")
VIEWS = {"": "Tất cả", "triage": "Cần phân loại", "new": "Có tin mới", "mine": "Việc của tôi",
         "overdue": "Quá hạn", "due_today": "Đến hạn hôm nay", "callback": "Chờ gọi lại",
         "held": "Bị giữ lại (tin trống, lặp lại)"}
MARKER_VIEWS = ("new", "mine")   # read from marker partitions, not from a ticket index
PAGE_SIZE = 25
SECTION_SIZE = 10                # rows per priority section; a link opens the whole view
# The default view's priority sections, in order: (view, heading).
SECTIONS = (("triage", "Cần phân loại (kể cả tin bị giữ lại)"), ("new", "Có tin mới từ người dân"),
            ("overdue", "Quá hạn"))


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    category: str = ""
    agency: str = ""
    channel: str = ""
    view: str = ""

    def as_query(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value}


@dataclass(frozen=True)
class InboxQuery:
    """One index query: `index` ('status' | 'agency' | 'open') and its `key`, an optional
    deadline range [due_from, due_before), and equality filters applied to it."""

    index: str
    key: str
    due_from: str | None = None
    due_before: str | None = None
    category: str | None = None
    channel: str | None = None
    agency: str | None = None
    awaiting_callback: bool = False
    held: bool = False


def parse_filters(raw: Mapping[str, str], ref: ReferenceData) -> InboxFilters:
    """Returns the filters in a query string; raises ValidationFailed naming each bad one."""
    errors = collector()
    values = {name: (raw.get(name) or "").strip() for name in ("status", "category", "agency", "channel", "view")}
    if values["status"] and values["status"] not in {s.value for s in Status}:
        errors.add("status", "Trạng thái không hợp lệ.", "Unknown status.")
    if values["category"] and values["category"] not in ref.categories:
        errors.add("category", "Lĩnh vực không có trong danh mục.", "Unknown category.")
    if values["agency"] and values["agency"] not in ref.agencies:
        errors.add("agency", "Cơ quan không có trong danh mục.", "Unknown agency.")
    if values["channel"] and values["channel"] not in CHANNELS:
        errors.add("channel", "Kênh không hợp lệ.", "Unknown channel.")
    if values["view"] not in VIEWS:
        errors.add("view", "Bộ lọc không hợp lệ.", "Unknown view.")
    errors.raise_if_any()
    return InboxFilters(**values)


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def plan(user: StaffUser, filters: InboxFilters, now: datetime, rest_from: datetime | None = None) -> InboxQuery:
    """Returns the one index query that serves `filters` for `user`. An agency officer's query is
    always bound to their own agency, whatever the filters say. `rest_from`: the default view's
    rest below its priority sections starts at that deadline (the overdue ones are a section)."""
    agency = filters.agency if user.sees_every_agency else (user.agency or "\x00none")
    due_from = due_before = None
    if filters.view == "" and not filters.status and rest_from is not None:
        due_from = _utc(rest_from)
    if filters.view == "overdue":
        due_before = _utc(now)
    elif filters.view == "due_today":
        today = now.astimezone(VN_TZ).date()
        due_from = _utc(datetime.combine(today, time(0, 0), VN_TZ))
        due_before = _utc(datetime.combine(today + timedelta(days=1), time(0, 0), VN_TZ))
    common = {"due_from": due_from, "due_before": due_before, "category": filters.category or None,
              "channel": filters.channel or None, "awaiting_callback": filters.view == "callback", "held": filters.view == "held"}
    if filters.view == "triage":
        return InboxQuery("status", Status.TRIAGE.value, agency=agency or None, **common)
    if filters.status:
        return InboxQuery("status", filters.status, agency=agency or None, **common)
    if agency:
        return InboxQuery("agency", agency, **common)
    return InboxQuery("open", "OPEN", **common)


def with_sections(filters: InboxFilters, first_page: bool) -> bool:
    """Whether the page shows the priority sections: the default view's first page, no status chosen."""
    return first_page and filters.view == "" and not filters.status


# Counts per view, per agency scope ("*": the hotline's roles see every ticket)

COUNTED = ("", "triage", "new", "overdue", "due_today", "callback", "held")


@dataclass(frozen=True)
class OpenEntry:
    """What the counts read of an open ticket's index entry."""

    status: str
    due_sort: str
    agency: str | None
    held: bool
    needs_callback: bool


def count_views(entries: Iterable[OpenEntry], unread_agencies: Iterable[str | None],
                now: datetime) -> dict[str, dict[str, int]]:
    """Returns {scope: {view: n}} for the scope "*" (everything) and each agency, from every open
    ticket's entry and the agency of each unread marker ("mine" is counted per person elsewhere)."""
    today = now.astimezone(VN_TZ).date()
    start = _utc(datetime.combine(today, time(0, 0), VN_TZ))
    end = _utc(datetime.combine(today + timedelta(days=1), time(0, 0), VN_TZ))
    moment = _utc(now)
    counts: dict[str, dict[str, int]] = {"*": dict.fromkeys(COUNTED, 0)}

    def add(agency: str | None, view: str) -> None:
        counts["*"][view] += 1
        if agency:
            counts.setdefault(agency, dict.fromkeys(COUNTED, 0))[view] += 1

    for entry in entries:
        add(entry.agency, "")
        if entry.status == Status.TRIAGE.value:
            add(entry.agency, "triage")
        if entry.held:
            add(entry.agency, "held")
        if entry.due_sort < moment:
            add(entry.agency, "overdue")
        elif start <= entry.due_sort < end:
            add(entry.agency, "due_today")
        if entry.status == Status.AWAITING_CALLBACK.value or entry.needs_callback:
            add(entry.agency, "callback")
    for agency in unread_agencies:
        add(agency, "new")
    return counts


def scope_of(user: StaffUser) -> str:
    """Whose counts a user sees: "*" for the hotline's roles, their agency for an officer."""
    return "*" if user.sees_every_agency else (user.agency or "\x00none")
