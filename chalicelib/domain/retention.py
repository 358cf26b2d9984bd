"""The retention schedule (how long personal data is kept, reference data an admin edits) and the
pure rules that apply it to one ticket: when its photos, the texts of its messages and finally the
person behind it are removed, and when a legal hold keeps everything.

A ticket's personal data is kept for `closed_months` after its last activity once it is no longer
open (or its category's own period), `inactive_open_months` when it is still open but nobody has
touched it; photos for `photos_months`, texts of messages sent for `outbound_text_days`. The facts
statistics need (category, area, agency, channel, dates, on time, rating score) are kept without
the person. Counting starts from the last activity, so a ticket worked on again starts again.

Retention rides on the deadline-watch index (by_watch): a ticket no longer watched for its deadline
(`W#0..3`) is watched for its personal data (`P#0..3`, stage `purge`, `watch_at` = the next moment
something of it may be due). That moment only has to be early enough: the job checks the ticket
against the schedule in force then and moves the mark later when nothing is due yet.
"""
from __future__ import annotations

import re
import zlib
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

PURGE_SHARDS = 4
PURGE_STAGE = "purge"
# A held ticket is looked at again this often: a hold lifted, or a category taken off the hold
# list, then takes effect within a month even when nobody touches the ticket.
HOLD_RECHECK = timedelta(days=30)
# CloudWatch Logs' retention settings (a log group takes only these); infra/alarms.json LogRetentionDays.
LOG_RETENTION_CHOICES = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                         2557, 2922, 3288, 3653)
MAX_MONTHS = 240
_NOTICE_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,19}$")


@dataclass(frozen=True)
class Retention:
    """The schedule (chalicelib/data/reference.json, "retention"); the defaults apply to a stored
    reference document from before it had one."""

    closed_months: int = 24
    category_months: Mapping[str, int] = field(default_factory=dict)
    inactive_open_months: int = 36
    photos_months: int = 12
    outbound_text_days: int = 90
    quarantine_days: int = 30
    log_days: int = 90
    legal_hold_categories: frozenset[str] = frozenset()
    notice_version: str = "2026-12"

    def months_for(self, category: str | None) -> int:
        """How long a no-longer-open ticket of `category` keeps its personal data, in months."""
        return self.category_months.get(category or "", self.closed_months)


def parse_retention(block: Any, categories: Iterable[str], bad: Callable[[str, str, str], None]) -> Retention:
    """Returns the schedule in the reference document's "retention" block (the defaults when it has
    none), calling `bad(field, vi, en)` for every problem: whole numbers in range, known
    categories, photos and message texts kept no longer than the ticket itself."""
    if block is None:
        return Retention()
    if not isinstance(block, dict):
        bad("retention", "Lịch lưu trữ phải là một đối tượng JSON.", "The retention block must be a JSON object.")
        return Retention()
    known = set(categories)
    default = Retention()

    def whole(name: str, low: int, high: int) -> int:
        value = block.get(name, getattr(default, name))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bad(f"retention.{name}", f"Phải là số nguyên từ {low} đến {high}.",
                f"Must be a whole number from {low} to {high}.")
            return int(getattr(default, name))
        return value

    closed = whole("closed_months", 1, MAX_MONTHS)
    inactive = whole("inactive_open_months", 1, MAX_MONTHS)
    photos = whole("photos_months", 1, MAX_MONTHS)
    texts = whole("outbound_text_days", 1, 3650)
    quarantine = whole("quarantine_days", 1, 365)
    logs = whole("log_days", 1, 3653)
    if logs not in LOG_RETENTION_CHOICES:
        bad("retention.log_days", "Số ngày lưu nhật ký phải là một giá trị CloudWatch Logs nhận "
            f"({', '.join(map(str, LOG_RETENTION_CHOICES[:12]))}…).",
            "CloudWatch Logs accepts only some retention periods (1, 3, 5, 7, 14, 30, 60, 90, …).")
    months: dict[str, int] = {}
    raw_months = block.get("category_months", {})
    if not isinstance(raw_months, dict):
        bad("retention.category_months", "Phải là bảng mã lĩnh vực → số tháng.",
            "Must map category ids to months.")
        raw_months = {}
    for category, value in raw_months.items():
        where = f"retention.category_months.{category}"
        if category not in known:
            bad(where, "Lĩnh vực không có trong danh mục.", "Unknown category.")
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MONTHS:
            bad(where, f"Phải là số nguyên từ 1 đến {MAX_MONTHS}.", f"Must be a whole number from 1 to {MAX_MONTHS}.")
        else:
            months[category] = value
    holds = block.get("legal_hold_categories", [])
    if not isinstance(holds, list) or not all(isinstance(c, str) for c in holds):
        bad("retention.legal_hold_categories", "Phải là danh sách mã lĩnh vực.", "Must be a list of category ids.")
        holds = []
    for category in holds:
        if category not in known:
            bad(f"retention.legal_hold_categories.{category}", "Lĩnh vực không có trong danh mục.", "Unknown category.")
    shortest = min([closed, inactive, *months.values()])
    if photos > shortest:
        bad("retention.photos_months", "Ảnh không được giữ lâu hơn chính phản ánh "
            f"(ngắn nhất {shortest} tháng).", f"Photos cannot outlive the ticket itself (shortest: {shortest} months).")
    if texts > shortest * 28:
        bad("retention.outbound_text_days", "Nội dung tin đã gửi không được giữ lâu hơn chính phản ánh.",
            "Texts of messages sent cannot outlive the ticket itself.")
    notice = block.get("notice_version", default.notice_version)
    if not isinstance(notice, str) or not _NOTICE_VERSION.match(notice):
        bad("retention.notice_version", "Phiên bản thông báo: chữ, số, dấu chấm, gạch ngang, tối đa 20 ký tự "
            "(ví dụ 2026-12).", "Notice version: letters, digits, dots and dashes, at most 20 (e.g. 2026-12).")
        notice = default.notice_version
    return Retention(closed, months, inactive, photos, texts, quarantine, logs, frozenset(holds), notice)


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months (31 January + 1 month = 28 or 29 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def purge_shard(code: str) -> str:
    """The retention watch's partition of a ticket (stable per ticket, beside the deadline's W#)."""
    return f"P#{zlib.crc32(code.encode()) % PURGE_SHARDS}"


def purge_watch(code: str, at: datetime) -> dict[str, object]:
    """The ticket changes that put it on the retention watch, due at `at`."""
    return {"watch_shard": purge_shard(code), "watch_at": at.astimezone(timezone.utc).isoformat(),
            "watch_stage": PURGE_STAGE}


def first_check(retention: Retention, created_at: datetime) -> datetime:
    """When anything of a ticket created at `created_at` can first be due: the text of its first
    message sent (its acknowledgement). Every later deadline is later than this, so the watch may
    start here whatever happens to the ticket."""
    return created_at + timedelta(days=retention.outbound_text_days)


def hold_reason(retention: Retention, legal_hold: str | None, category: str | None,
                category_name: str | None = None) -> str | None:
    """Why the ticket must be kept whole (shown to the admin, kept on the timeline), or None."""
    if legal_hold:
        return f"Tạm giữ theo yêu cầu: {legal_hold}"
    if category and category in retention.legal_hold_categories:
        return f"Lĩnh vực “{category_name or category}” được lưu giữ theo quy định (danh mục lưu trữ)."
    return None


@dataclass(frozen=True)
class TicketFacts:
    """What the schedule needs to know about one ticket."""

    open: bool
    category: str | None
    last_activity: datetime
    kept_because: str | None = None
    has_photos: bool = False
    texts_sent: tuple[datetime, ...] = ()   # when each message whose text is still held was sent


@dataclass(frozen=True)
class Plan:
    """What to do with a ticket now, and when to look at it again (None: never, it is anonymised)."""

    next_check: datetime | None
    kept_because: str | None = None
    anonymise: bool = False
    remove_photos: bool = False
    clear_texts_sent_by: datetime | None = None   # clear the texts of messages sent at or before this


def plan(retention: Retention, facts: TicketFacts, now: datetime) -> Plan:
    """Returns what the schedule asks of the ticket at `now`."""
    if facts.kept_because:
        return Plan(now + HOLD_RECHECK, kept_because=facts.kept_because)
    months = retention.inactive_open_months if facts.open else retention.months_for(facts.category)
    data_expires = add_months(facts.last_activity, months)
    if data_expires <= now:
        return Plan(None, anonymise=True)
    photos_expire = add_months(facts.last_activity, retention.photos_months)
    remove_photos = facts.has_photos and photos_expire <= now
    text_days = timedelta(days=retention.outbound_text_days)
    cutoff = now - text_days
    expired_texts = [sent for sent in facts.texts_sent if sent <= cutoff]
    later = [data_expires, *(sent + text_days for sent in facts.texts_sent if sent > cutoff)]
    if facts.has_photos and not remove_photos:
        later.append(photos_expire)
    return Plan(min(later), remove_photos=remove_photos, clear_texts_sent_by=cutoff if expired_texts else None)


# Keys of a timeline event's detail that hold the person's data outright (attachments' links and
# names, a precise location, a rating's comment): removed, never redacted.
DROPPED_DETAIL = frozenset({"attachments", "location", "lat", "lon", "comment"})


def scrub(value: Any, names: list[str]) -> Any:
    """Returns `value` (an event's detail) with every text redacted (phones, e-mails, `names`)
    and DROPPED_DETAIL keys removed; numbers, flags and structure stay."""
    from chalicelib.domain.redact import redact

    if isinstance(value, str):
        return redact(value, names)
    if isinstance(value, list):
        return [scrub(item, names) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item, names) for key, item in value.items() if key not in DROPPED_DETAIL}
    return value
