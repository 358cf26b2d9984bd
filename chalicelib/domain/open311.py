"""Open311 GeoReport v2 (reference/channels.md §3): our categories as services, tickets as
service requests, the statuses of the mySociety update extension, the spec's parameters and
errors. Pure: no AWS, no HTTP."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from chalicelib.domain.dates import filter_moment
from chalicelib.domain.errors import DomainError, ValidationFailed
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.reports import Submission
from chalicelib.domain.text import nfc

SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_DESCRIPTION = 4000
MAX_RANGE = timedelta(days=90)
MAX_ROWS = 1000
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

# Our lifecycle in the mySociety extended statuses (lower case in GET output).
EXTENDED_STATUS = {
    Status.RECEIVED: "for_triage", Status.TRIAGE: "for_triage", Status.ASSIGNED: "action_scheduled",
    Status.IN_PROGRESS: "in_progress", Status.AWAITING_CALLBACK: "investigating", Status.ANSWERED: "fixed",
    Status.CLOSED: "closed", Status.REJECTED: "no_further_action", Status.REDIRECTED: "not_councils_responsibility",
    Status.MERGED: "duplicate", Status.REOPENED: "reopen",
}


class Open311Error(DomainError):
    """An error in the spec's shape: HTTP status and a list of (code, description)."""

    def __init__(self, status: int, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(code for code, _ in errors))
        self.status = status
        self.errors = errors
        self.message_vi = errors[0][1]
        self.message_en = errors[0][1]


def bad_request(code: str, description: str) -> Open311Error:
    return Open311Error(400, [(code, description)])


def iso(moment: datetime | None) -> str | None:
    """W3C date-time with its offset, in Vietnam time (the spec wants a timezone)."""
    from chalicelib.domain.clock import VN_TZ

    return moment.astimezone(VN_TZ).isoformat(timespec="seconds") if moment else None


def services(ref: ReferenceData) -> list[dict[str, Any]]:
    """Every category as a service; `group` is the agency that answers it by default."""
    return [{"service_code": c.id, "service_name": c.name,
             "description": f"{c.name} — thời hạn trả lời {c.sla_working_days} ngày làm việc",
             "metadata": True, "type": "realtime",
             "keywords": ", ".join(phrase for phrase, _ in c.keywords[:12]) or None,
             "group": ref.agencies[c.agency].name if c.agency in ref.agencies else "Tổng đài 1022"}
            for c in ref.categories.values()]


def service_definition(ref: ReferenceData, code: str) -> dict[str, Any]:
    """The one attribute every service has: the commune or ward. Raises Open311Error (404)."""
    if code not in ref.categories:
        raise Open311Error(404, [("404", f"Service code {code} not found / Không có lĩnh vực {code}")])
    return {"service_code": code, "attributes": [{
        "variable": True, "code": "area", "datatype": "singlevaluelist", "required": False, "order": 1,
        "datatype_description": "Mã xã/phường / commune or ward code", "description": "Xã, phường nơi xảy ra sự việc",
        "values": [{"key": a.id, "name": a.name} for a in ref.areas.values()]}]}


def _float(raw: Mapping[str, str], name: str, limit: float) -> float | None:
    value = (raw.get(name) or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = limit + 1
    if not -limit <= number <= limit:
        raise bad_request(name, f"{name} must be a number within ±{limit:g} / {name} không hợp lệ")
    return number


def submission(raw: Mapping[str, str], ref: ReferenceData) -> Submission:
    """The Submission in a POST requests body (form fields; an empty parameter counts as missing).
    Raises Open311Error: 404 for an unknown service_code, 400 for anything else."""
    code = (raw.get("service_code") or "").strip()
    if not code:
        raise bad_request("service_code", "service_code is required / thiếu service_code")
    if code not in ref.categories:
        raise Open311Error(404, [("service_code", f"Service code {code} not found / Không có lĩnh vực {code}")])
    lat, lon = _float(raw, "lat", 90), _float(raw, "long", 180)
    address = nfc(raw.get("address_string") or "")
    address_id = (raw.get("address_id") or "").strip()
    if (lat is None or lon is None) and not address and not address_id:
        raise bad_request("location", "lat and long, address_string or address_id is required / cần vị trí")
    description = nfc(raw.get("description") or "")
    if not description:
        raise bad_request("description", "description is required / thiếu nội dung")
    if len(description) > MAX_DESCRIPTION:
        raise bad_request("description", f"description is limited to {MAX_DESCRIPTION} characters")
    area = (raw.get("attribute[area]") or "").strip() or None
    if area is not None and area not in ref.areas:
        raise bad_request("attribute[area]", f"Unknown commune or ward {area} / Không có xã, phường {area}")
    email = (raw.get("email") or "").strip()
    if email and not _EMAIL.match(email):
        raise bad_request("email", "Invalid email / Email không hợp lệ")
    phone = ""
    if (raw.get("phone") or "").strip():
        try:
            phone = normalise_phone(raw["phone"])
        except DomainError:
            raise bad_request("phone", "Not a Vietnamese phone number / Số điện thoại không hợp lệ") from None
    name = nfc(" ".join(p for p in (raw.get("first_name") or "", raw.get("last_name") or "") if p.strip()))[:100]
    media = (raw.get("media_url") or "").strip()
    attachments = [{"key": media, "filename": "media_url", "content_type": ""}] if media.startswith("https://") else []
    return Submission(channel="open311", description=description, phone=phone, category=code, area=area,
                      address=(address or address_id)[:300], name=name, email=email, lat=lat, lon=lon,
                      attachments=attachments)


def _moment(raw: str | None, name: str) -> datetime | None:
    """The filter's moment, None when empty (chalicelib/domain/dates.py: a timezone, 2000-01-01..2099-12-31);
    raises Open311Error (400) with the spec's error list, English first as everywhere in Open311."""
    try:
        return filter_moment(raw, name)
    except ValidationFailed as refused:
        error = refused.errors[0]
        raise bad_request(name, f"{name}: {error.en} / {error.vi}") from None


def date_range(raw: Mapping[str, str], now: datetime, default: timedelta = MAX_RANGE) -> tuple[datetime, datetime]:
    """start_date / end_date (at most 90 days apart; the last 90 days by default)."""
    end = _moment(raw.get("end_date"), "end_date") or now
    start = _moment(raw.get("start_date"), "start_date") or end - default
    if start > end:
        raise bad_request("start_date", "start_date is after end_date")
    if end - start > MAX_RANGE:
        raise bad_request("end_date", "start_date and end_date may be at most 90 days apart")
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


@dataclass(frozen=True)
class RequestFilters:
    ids: list[str]
    service_codes: list[str]
    statuses: set[str]


def request_filters(raw: Mapping[str, str]) -> RequestFilters:
    def listed(name: str) -> list[str]:
        return [part.strip() for part in (raw.get(name) or "").split(",") if part.strip()]

    statuses = set(listed("status"))
    if statuses - {"open", "closed"}:
        raise bad_request("status", "status must be open, closed or both")
    return RequestFilters(listed("service_request_id")[:100], listed("service_code"), statuses)


def is_listed(ticket: Mapping[str, Any], ref: ReferenceData) -> bool:
    """Confidential categories (denunciations) are never listed, not even that they exist."""
    category = ref.categories.get(ticket.get("category") or "")
    return not (category and category.confidential)


def request(ticket: Mapping[str, Any], ref: ReferenceData, media_url: str | None = None) -> dict[str, Any]:
    """A ticket as a service request. Only published tickets show their (redacted) question,
    address and position; reporter data never appears."""
    status = Status(ticket["status"])
    category = ref.categories.get(ticket.get("category") or "")
    agency = ref.agencies.get(ticket.get("agency") or "")
    published = bool(ticket.get("public_shard"))
    # Answers are published only with the reporter's consent and staff approval, and redacted then.
    notes = ticket.get("public_answer") if published else None
    return {
        "service_request_id": ticket["tracking_code"],
        "status": "open" if is_open(status) else "closed",
        "status_notes": notes,
        "service_name": category.name if category else None,
        "service_code": category.id if category else "khac",
        "description": ticket.get("public_question") if published else None,
        "agency_responsible": agency.name if agency else None,
        "service_notice": None,
        "requested_datetime": iso(ticket["created_at"]),
        "updated_datetime": iso(ticket.get("updated_at")),
        "expected_datetime": iso(ticket.get("due_at")),
        # A street address can be the reporter's home, and a browser position is exact: neither is
        # published; a published request's position is rounded to about 100 m.
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": round(ticket["lat"], 3) if published and ticket.get("lat") is not None else None,
        "long": round(ticket["lon"], 3) if published and ticket.get("lon") is not None else None,
        "media_url": media_url,
    }


def update(event: Mapping[str, Any]) -> dict[str, Any]:
    """A public timeline event as a mySociety `servicerequestupdates` entry. The description is the
    status label only: what staff wrote to the reporter is theirs, not the public's."""
    from chalicelib.domain.lifecycle import LABELS_VI

    status = Status(event["status_after"]) if event.get("status_after") else Status.RECEIVED
    return {"update_id": event["update_id"], "service_request_id": event["tracking_code"],
            "status": EXTENDED_STATUS[status], "updated_datetime": iso(event["at"]),
            "description": LABELS_VI[status], "media_url": ""}


def service_notice(code: str, notice_link: str | None, status_link: str | None = None) -> str:
    """What a created request's `service_notice` says: the tracking code and, when known, the
    reporter's personal status link and where the privacy notice is (integrators show it to the citizen)."""
    notice = f"Đã tiếp nhận. Mã tra cứu {code}."
    if status_link:
        notice += f" Xem tình trạng phản ánh: {status_link}"
    return f"{notice} Dữ liệu cá nhân được xử lý thế nào: {notice_link}" if notice_link else notice
