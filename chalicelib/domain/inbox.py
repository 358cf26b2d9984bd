"""The staff inbox: which index answers a set of filters, and what is filtered on top of it.

Every inbox page is one index query (never a table scan):
    a status given           -> by_status_due (status, earliest deadline first)
    an agency (or an officer) -> by_agency_due (that agency's open tickets)
    otherwise                -> by_open (every open ticket)
"overdue" and "due today" narrow the deadline range of that same query; category, channel,
agency (when not the key) and "awaiting callback" are filters on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Mapping

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import collector
from chalicelib.domain.lifecycle import Status
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.reference import ReferenceData

CHANNELS = ("web", "sms", "zalo", "phone", "open311")
VIEWS = {"": "Tất cả", "overdue": "Quá hạn", "due_today": "Đến hạn hôm nay", "callback": "Chờ gọi lại",
         "held": "Bị giữ lại (tin trống, lặp lại)"}
PAGE_SIZE = 25


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


def plan(user: StaffUser, filters: InboxFilters, now: datetime) -> InboxQuery:
    """Returns the one index query that serves `filters` for `user`. An agency officer's query is
    always bound to their own agency, whatever the filters say."""
    agency = filters.agency if user.sees_every_agency else (user.agency or "\x00none")
    due_from = due_before = None
    if filters.view == "overdue":
        due_before = _utc(now)
    elif filters.view == "due_today":
        today = now.astimezone(VN_TZ).date()
        due_from = _utc(datetime.combine(today, time(0, 0), VN_TZ))
        due_before = _utc(datetime.combine(today + timedelta(days=1), time(0, 0), VN_TZ))
    common = {"due_from": due_from, "due_before": due_before, "category": filters.category or None,
              "channel": filters.channel or None, "awaiting_callback": filters.view == "callback", "held": filters.view == "held"}
    if filters.status:
        return InboxQuery("status", filters.status, agency=agency or None, **common)
    if agency:
        return InboxQuery("agency", agency, **common)
    return InboxQuery("open", "OPEN", **common)
