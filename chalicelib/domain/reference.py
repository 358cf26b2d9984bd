"""Reference data (categories, areas, agencies) as a validated, versioned document.

It is data, not code: seeded from chalicelib/data/reference.json, stored in DynamoDB, and a
document with errors is refused whole so the data in use stays as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any, Callable

from chalicelib.domain.calls import Telephony, parse_telephony
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.retention import Retention, parse_retention
from chalicelib.domain.text import fold, nfc
from chalicelib.domain.working_time import WorkCalendar, parse_calendar


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    sla_working_days: int
    confidential: bool
    agency: str | None
    keywords: tuple[tuple[str, float], ...] = ()   # folded phrases and their weights
    written: tuple[str, ...] = ()                  # the same phrases lower-cased as written (with diacritics)


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    kind: str
    agency: str | None = None                      # the commune/ward People's Committee


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    email: str
    phone: str
    supervisor_email: str = ""
    on_duty: str = ""
    supervisor_phone: str = ""                     # E.164; SMS only on escalation, only when opted in
    supervisor_sms_escalations: bool = False


@dataclass(frozen=True)
class ThreadRules:
    """How long a citizen's next message may reopen an answered ticket, and how long it is still
    linked to it as a new ticket (days; "threading" in the document)."""

    reopen_days: int = 7
    link_days: int = 60


@dataclass(frozen=True)
class ReferenceData:
    version: int
    categories: dict[str, Category]
    areas: dict[str, Area]
    agencies: dict[str, Agency]
    rules: dict[tuple[str | None, str | None], str] = field(default_factory=dict)
    abbreviations: dict[str, str] = field(default_factory=dict)
    min_score: float = 2.5
    min_margin: float = 1.0
    calendar: WorkCalendar | None = None
    hotline_opens: time = time(7, 0)
    hotline_closes: time = time(20, 0)
    admin_email: str = ""
    hotline_supervisor_email: str = ""
    hotline_supervisor_phone: str = ""
    hotline_supervisor_sms_escalations: bool = False
    retention: Retention = field(default_factory=Retention)
    threading: ThreadRules = field(default_factory=ThreadRules)
    monthly_report_emails: tuple[str, ...] = ()   # who receives the monthly report (leadership)
    telephony: Telephony = field(default_factory=Telephony)  # calls: recording, closed message, task reminders
    routing: dict[str, float] = field(default_factory=dict)  # the "routing" block: classifier thresholds

    def agency_for(self, category: str | None, area: str | None) -> str | None:
        """The routing table: category x area, then the category's agency, then the area's."""
        category_default = self.categories[category].agency if category in self.categories else None
        area_default = self.areas[area].agency if area in self.areas else None
        candidates = (
            self.rules.get((category, area)) if category and area else None,
            self.rules.get((category, None)) or category_default if category else None,
            self.rules.get((None, area)) or area_default if area else None,
        )
        return next((agency for agency in candidates if agency), None)


def parse_reference(doc: dict[str, Any]) -> ReferenceData:
    """Returns the reference data in `doc`; raises ValidationFailed listing every problem."""
    errors: list[FieldError] = []

    def bad(where: str, vi: str, en: str) -> None:
        errors.append(FieldError(where, vi, en))

    try:
        agencies = {a["id"]: Agency(a["id"], a["name"], a.get("email", ""), a.get("phone", ""),
                                    a.get("supervisor_email", ""), a.get("on_duty", ""),
                                    _phone(a.get("supervisor_phone"), f"agencies.{a['id']}.supervisor_phone", bad),
                                    _flag(a.get("supervisor_sms_escalations"),
                                          f"agencies.{a['id']}.supervisor_sms_escalations", bad))
                    for a in doc["agencies"]}
        hotline_phone = _phone(doc.get("hotline_supervisor_phone"), "hotline_supervisor_phone", bad)
        hotline_sms = _flag(doc.get("hotline_supervisor_sms_escalations"), "hotline_supervisor_sms_escalations", bad)
        areas = {a["id"]: Area(a["id"], a["name"], a["kind"], a.get("agency")) for a in doc["areas"]}
        categories = {c["id"]: Category(c["id"], c["name"], int(c["sla_working_days"]),
                                        bool(c.get("confidential", False)), c.get("agency"),
                                        tuple((fold(k), float(w)) for k, w in c.get("keywords", [])),
                                        tuple(" ".join(nfc(str(k)).lower().split()) for k, _ in c.get("keywords", [])))
                      for c in doc["categories"]}
        rules = {(r.get("category"), r.get("area")): r["agency"] for r in doc.get("routing_rules", [])}
        abbreviations = {fold(k): fold(v) for k, v in doc.get("abbreviations", {}).items()}
        routing = doc.get("routing", {})
        hours = doc.get("hotline_hours", {"opens": "07:00", "closes": "20:00"})
        opens, closes = time.fromisoformat(hours["opens"]), time.fromisoformat(hours["closes"])
        version = int(doc["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed([FieldError(
            "reference", f"Tệp dữ liệu danh mục sai cấu trúc ({exc}).",
            f"Malformed reference document ({exc}).")]) from exc
    for name, items in (("agencies", doc["agencies"]), ("areas", doc["areas"]), ("categories", doc["categories"])):
        if len({i["id"] for i in items}) != len(items):
            bad(name, "Mã bị trùng trong danh mục.", "Duplicate ids in the list.")
    for agency in agencies.values():
        if agency.supervisor_sms_escalations and not agency.supervisor_phone:
            bad(f"agencies.{agency.id}.supervisor_phone", "Chọn nhận SMS khi quá hạn thì phải có số điện thoại.",
                "SMS on escalation needs a phone number.")
    if hotline_sms and not hotline_phone:
        bad("hotline_supervisor_phone", "Chọn nhận SMS khi quá hạn thì phải có số điện thoại.",
            "SMS on escalation needs a phone number.")
    for category in categories.values():
        if category.agency is not None and category.agency not in agencies:
            bad(f"categories.{category.id}.agency", "Cơ quan xử lý không có trong danh mục.",
                "The agency is not in the agency list.")
        if category.sla_working_days <= 0:
            bad(f"categories.{category.id}.sla_working_days", "Thời hạn phải lớn hơn 0.",
                "The allowed time must be positive.")
    for (category, area), agency in rules.items():
        if agency not in agencies or (category is not None and category not in categories) or (
                area is not None and area not in areas) or (category is None and area is None):
            bad(f"routing_rules.{category}.{area}", "Quy tắc chuyển tham chiếu mã không tồn tại.",
                "A routing rule names an unknown category, area or agency.")
    for area in areas.values():
        if area.agency is not None and area.agency not in agencies:
            bad(f"areas.{area.id}.agency", "Cơ quan xử lý không có trong danh mục.", "Unknown agency.")
    retention = parse_retention(doc.get("retention"), categories, bad)
    threading = _threading(doc.get("threading"), bad)
    telephony = parse_telephony(doc.get("telephony"), bad)
    calendar = None
    if "calendar" in doc:
        try:
            calendar = parse_calendar(doc["calendar"])
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    report_emails = doc.get("monthly_report_emails", [])
    if not isinstance(report_emails, list) or not all(isinstance(e, str) and "@" in e for e in report_emails):
        bad("monthly_report_emails", "Danh sách email nhận báo cáo tháng phải là các địa chỉ email.",
            "The monthly report's recipients must be a list of e-mail addresses.")
        report_emails = []
    if errors:
        raise ValidationFailed(errors)
    return ReferenceData(version, categories, areas, agencies, rules, abbreviations,
                         float(routing.get("min_score", 2.5)), float(routing.get("min_margin", 1.0)), calendar,
                         opens, closes, doc.get("admin_email", ""), doc.get("hotline_supervisor_email", ""),
                         hotline_phone, hotline_sms, retention, threading, tuple(report_emails), telephony,
                         {k: float(v) for k, v in routing.items() if isinstance(v, (int, float))})


def _threading(block: Any, bad: Callable[[str, str, str], None]) -> ThreadRules:
    """The "threading" block (the defaults when absent): whole days, a link window no shorter than
    the reopen window."""
    if block is None:
        return ThreadRules()
    if not isinstance(block, dict):
        bad("threading", "Mục threading phải là một đối tượng JSON.", "The threading block must be a JSON object.")
        return ThreadRules()
    default = ThreadRules()
    days: dict[str, int] = {}
    for name, high in (("reopen_days", 90), ("link_days", 365)):
        value = block.get(name, getattr(default, name))
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            bad(f"threading.{name}", f"Phải là số ngày nguyên từ 0 đến {high}.",
                f"Must be a whole number of days from 0 to {high}.")
            value = getattr(default, name)
        days[name] = value
    if days["link_days"] < days["reopen_days"]:
        bad("threading.link_days", "Số ngày liên kết không được nhỏ hơn số ngày mở lại.",
            "The link window cannot be shorter than the reopen window.")
    return ThreadRules(**days)


def _phone(value: Any, where: str, bad: Callable[[str, str, str], None]) -> str:
    """A contact's phone as E.164 ('' when absent); a number that is not Vietnamese is an error."""
    if value in (None, ""):
        return ""
    from chalicelib.domain.phones import normalise_phone

    try:
        return normalise_phone(str(value), where)
    except ValidationFailed:
        bad(where, "Số điện thoại không hợp lệ.", "Not a Vietnamese phone number.")
        return ""


def _flag(value: Any, where: str, bad: Callable[[str, str, str], None]) -> bool:
    """An opt-in setting: JSON true or false (absent: false); anything else is an error, never a guess."""
    if value is None or isinstance(value, bool):
        return bool(value)
    bad(where, "Giá trị phải là true hoặc false.", "Must be true or false.")
    return False
