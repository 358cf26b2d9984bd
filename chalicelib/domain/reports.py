"""Citizen reports (phản ánh): validating a submission and shaping what the public may see."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from chalicelib.domain.errors import ValidationFailed, collector
from chalicelib.domain.lifecycle import LABELS_VI, Status
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.text import nfc
from chalicelib.domain.working_time import due_at

MAX_DESCRIPTION = 5000
MAX_NAME = 100
MAX_ADDRESS = 300
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_TRUE = {"1", "true", "on", "yes", "co", "có"}


@dataclass(frozen=True)
class Submission:
    """A validated report, whatever channel it came from."""

    channel: str
    description: str
    phone: str
    category: str | None = None
    area: str | None = None
    address: str = ""
    name: str = ""
    email: str = ""
    consent_publish: bool = False
    consent_contact: bool = False  # staff may call or write back to clarify (the notice's "be contacted")
    lat: float | None = None
    lon: float | None = None
    entered_by: str | None = None
    attachments: list[dict[str, str]] = field(default_factory=list)


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if value is None:
        return ""
    return nfc(value) if isinstance(value, str) else nfc(str(value))


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().casefold() in _TRUE)


def _coordinate(raw: Mapping[str, Any], name: str, limit: float, errors: Any) -> float | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond a double
        number = None
    if number is None or not -limit <= number <= limit:
        errors.add(name, "Tọa độ không hợp lệ.", "Invalid coordinate.")
        return None
    return number


def location(raw: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The (lat, lon) in `raw` — a query string, form fields — or (None, None) unless both are given.
    Raises ValidationFailed naming a coordinate that is not a number in range."""
    errors = collector()
    lat, lon = _coordinate(raw, "lat", 90, errors), _coordinate(raw, "lon", 180, errors)
    errors.raise_if_any()
    return (lat, lon) if lat is not None and lon is not None else (None, None)


def validate_submission(raw: Mapping[str, Any], ref: ReferenceData, channel: str = "web") -> Submission:
    """Returns the Submission in `raw` (a JSON object or form fields).

    Raises ValidationFailed naming every bad field, so a form can show all messages at once.
    """
    errors = collector()
    description = _text(raw, "description")
    if not description:
        errors.add("description", "Vui lòng nhập nội dung phản ánh.", "Please describe the problem.")
    elif len(description) > MAX_DESCRIPTION:
        errors.add("description", f"Nội dung tối đa {MAX_DESCRIPTION} ký tự (hiện có {len(description)}).",
                   f"At most {MAX_DESCRIPTION} characters (got {len(description)}).")
    category = _text(raw, "category") or None
    if category is not None and category not in ref.categories:
        errors.add("category", "Lĩnh vực không có trong danh mục.", "Unknown category.")
    area = _text(raw, "area") or None
    if area is not None and area not in ref.areas:
        errors.add("area", "Xã/phường không có trong danh mục.", "Unknown commune or ward.")
    name = _text(raw, "name")
    if len(name) > MAX_NAME:
        errors.add("name", f"Họ tên tối đa {MAX_NAME} ký tự.", f"Name: at most {MAX_NAME} characters.")
    address = _text(raw, "address")
    if len(address) > MAX_ADDRESS:
        errors.add("address", f"Địa chỉ tối đa {MAX_ADDRESS} ký tự.", f"Address: at most {MAX_ADDRESS} characters.")
    email = _text(raw, "email")
    if email and not _EMAIL.match(email):
        errors.add("email", "Địa chỉ email không hợp lệ.", "Invalid email address.")
    phone = ""
    raw_phone = _text(raw, "phone")
    if not raw_phone:
        errors.add("phone", "Vui lòng nhập số điện thoại để nhận trả lời và tra cứu.",
                   "A phone number is needed for the answer and for looking the report up.")
    else:
        try:
            phone = normalise_phone(raw_phone)
        except ValidationFailed as exc:
            errors.errors.extend(exc.errors)
    lat = _coordinate(raw, "lat", 90, errors)
    lon = _coordinate(raw, "lon", 180, errors)
    attachments = _photos(raw.get("photos"), errors)
    errors.raise_if_any()
    return Submission(
        channel=channel, description=description, phone=phone, category=category, area=area,
        address=address, name=name, email=email, consent_publish=_flag(raw.get("consent_publish")),
        consent_contact=_flag(raw.get("consent_contact")), lat=lat, lon=lon, attachments=attachments,
    )


_UPLOAD_KEY = re.compile(r"^uploads/[0-9a-f]{32}/photo\.(jpg|png|heic)$")
_BY_EXTENSION = {"jpg": "image/jpeg", "png": "image/png", "heic": "image/heic"}


def _photos(value: Any, errors: Any) -> list[dict[str, str]]:
    """Keys of photos the browser uploaded (a comma-separated field, or a JSON list)."""
    from chalicelib.domain.images import MAX_PHOTOS

    if value in (None, "", []):
        return []
    keys = value if isinstance(value, list) else str(value).split(",")
    keys = [str(k).strip() for k in keys if str(k).strip()]
    if len(keys) > MAX_PHOTOS or not all(_UPLOAD_KEY.match(k) for k in keys):
        errors.add("photos", f"Tối đa {MAX_PHOTOS} ảnh, tải lên qua biểu mẫu.",
                   f"At most {MAX_PHOTOS} photos, uploaded through the form.")
        return []
    return [{"key": k, "filename": f"anh-{n}.{k.rsplit('.', 1)[1]}", "content_type": _BY_EXTENSION[k.rsplit(".", 1)[1]]}
            for n, k in enumerate(dict.fromkeys(keys), start=1)]


def due_at_for(submission: Submission, ref: ReferenceData, now: datetime) -> datetime | None:
    """Returns the deadline from the category's allowed time in the province's working time,
    or None until a category is known (routing sets it then)."""
    if submission.category is None or ref.calendar is None:
        return None
    return due_at(ref.calendar, now, ref.categories[submission.category].sla_working_days)


@dataclass(frozen=True)
class PublicEvent:
    at: datetime
    text: str


@dataclass(frozen=True)
class PublicStatus:
    """What a citizen who proved the phone's last four digits may see. No personal data."""

    tracking_code: str
    status: str
    status_label: str
    category_name: str | None
    area_name: str | None
    agency_name: str | None
    created_at: datetime
    due_at: datetime | None
    timeline: list[PublicEvent]
    answer: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tracking_code": self.tracking_code,
            "status": self.status,
            "status_label": self.status_label,
            "category": self.category_name,
            "area": self.area_name,
            "agency": self.agency_name,
            "created_at": self.created_at.isoformat(),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "timeline": [{"at": e.at.isoformat(), "text": e.text} for e in self.timeline],
            "answer": self.answer,
        }


def public_status(ticket: Mapping[str, Any], events: list[Mapping[str, Any]], ref: ReferenceData) -> PublicStatus:
    """Returns the citizen's view of a ticket: labels instead of ids, public events only."""
    category = ref.categories.get(ticket.get("category") or "")
    area = ref.areas.get(ticket.get("area") or "")
    agency = ref.agencies.get(ticket.get("agency") or "")
    status = Status(ticket["status"])
    return PublicStatus(
        tracking_code=ticket["tracking_code"],
        status=status.value,
        status_label=LABELS_VI[status],
        category_name=category.name if category else None,
        area_name=area.name if area else None,
        agency_name=agency.name if agency else None,
        created_at=ticket["created_at"],
        due_at=ticket.get("due_at"),
        timeline=[PublicEvent(e["at"], e["public_text"]) for e in events if e.get("public")],
        answer=ticket.get("answer") if status in (Status.ANSWERED, Status.CLOSED) else None,
    )
