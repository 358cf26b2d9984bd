"""Validation of what staff type into the console, and response templates' placeholders.
Every error names its field, Vietnamese first, English too."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Mapping

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import FieldError, ValidationFailed, collector
from chalicelib.domain.permissions import AGENCY_OFFICER, ROLES
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.text import nfc

MAX_REPLY = 2000
MAX_NOTE = 4000
MAX_REASON = 500
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PLACEHOLDER = re.compile(r"\{(ma|co_quan|han|linh_vuc|ten)\}")
PLACEHOLDERS_VI = {"ma": "mã phản ánh", "co_quan": "cơ quan xử lý", "han": "hạn trả lời", "linh_vuc": "lĩnh vực",
                   "ten": "tên người phản ánh"}


def version(raw: Mapping[str, str]) -> int:
    """Returns the ticket version the form was rendered from; raises ValidationFailed."""
    value = (raw.get("version") or "").strip()
    if not (value.isascii() and value.isdecimal()):
        raise ValidationFailed([FieldError("version", "Thiếu phiên bản phản ánh; hãy tải lại trang.",
                                           "Missing ticket version; reload the page.")])
    return int(value)


def text(raw: Mapping[str, str], name: str, limit: int, required: bool = True) -> str:
    """Returns the field, NFC-normalised and stripped; raises ValidationFailed when required and
    blank or when longer than `limit`."""
    value = nfc(raw.get(name) or "").strip()
    if required and not value:
        raise ValidationFailed([FieldError(name, "Vui lòng nhập thông tin này.", "This field is required.")])
    if len(value) > limit:
        raise ValidationFailed([FieldError(name, f"Tối đa {limit} ký tự (hiện có {len(value)}).",
                                           f"At most {limit} characters (got {len(value)}).")])
    return value


def local_datetime(raw: Mapping[str, str], name: str, now: datetime) -> datetime:
    """Returns a `datetime-local` field ('2026-11-28T15:30', Vietnam time) as an aware time in the
    future; raises ValidationFailed."""
    value = (raw.get(name) or "").strip()
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=VN_TZ)
    except ValueError:
        raise ValidationFailed([FieldError(name, "Thời gian không hợp lệ (ngày và giờ).",
                                           "Invalid date and time.")]) from None
    if moment <= now:
        raise ValidationFailed([FieldError(name, "Thời gian gọi lại phải ở tương lai.",
                                           "The callback time must be in the future.")])
    return moment


def working_days(raw: Mapping[str, str], name: str = "working_days") -> float:
    value = (raw.get(name) or "").strip().replace(",", ".")
    try:
        days = float(value)
    except ValueError:
        days = 0
    if not 0 < days <= 60:
        raise ValidationFailed([FieldError(name, "Số ngày làm việc gia hạn từ 0,5 đến 60.",
                                           "Extend by 0.5 to 60 working days.")])
    return days


def fill(body: str, values: Mapping[str, str]) -> str:
    """Fills a response template's known placeholders ({ma}, {co_quan}, {han}, {linh_vuc}, {ten});
    anything else in braces is left as written."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1)) or match.group(0), body)


def new_staff(raw: Mapping[str, str], ref: ReferenceData) -> tuple[str, str, str, str | None]:
    """Returns (email, name, role, agency) of a staff account to create; raises ValidationFailed.
    An agency officer needs an agency from the reference data."""
    errors = collector()
    email = (raw.get("email") or "").strip().lower()
    name = nfc(raw.get("name") or "").strip()
    role = (raw.get("role") or "").strip()
    agency = (raw.get("agency") or "").strip() or None
    if not _EMAIL.match(email):
        errors.add("email", "Email không hợp lệ.", "Invalid email address.")
    if not name or len(name) > 100:
        errors.add("name", "Vui lòng nhập họ tên (tối đa 100 ký tự).", "A name (at most 100 characters) is needed.")
    if role not in ROLES:
        errors.add("role", "Vai trò không hợp lệ.", "Unknown role.")
    if role == AGENCY_OFFICER and agency is None:
        errors.add("agency", "Cán bộ cơ quan cần có cơ quan.", "An agency officer needs an agency.")
    if agency is not None and agency not in ref.agencies:
        errors.add("agency", "Cơ quan không có trong danh mục.", "Unknown agency.")
    errors.raise_if_any()
    return email, name, role, agency
