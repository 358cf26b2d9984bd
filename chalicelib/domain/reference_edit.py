"""Admin forms applied to the reference document: one category, commune/ward or agency, the
working calendar, or the hotline's hours. Pure: a document and a form in, a new document out
(the input is never changed), or ValidationFailed naming each bad field in Vietnamese.

What the form holds is what the admin typed; the textareas keep one entry a line
('ổ gà = 3', '02/09/2027', '07:30-11:30') so a long list is edited like text.
"""
from __future__ import annotations

import copy
import re
from datetime import date, datetime, time
from typing import Any, Mapping

from chalicelib.domain.errors import FieldError, ValidationFailed, collector
from chalicelib.domain.text import fold, nfc

SECTIONS = ("categories", "areas", "agencies")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHRASE = re.compile(r"^[^\W_]+(?: [^\W_]+)*$")
_KIND_WORDS = {"xa": "Xã", "phuong": "Phường"}
MAX_KEYWORDS = 200


def slug(text: str) -> str:
    """An id from a name: 'Sở Xây dựng' -> 'so-xay-dung'."""
    return "-".join(re.findall(r"[a-z0-9]+", fold(text)))[:40]


def _find(doc: dict[str, Any], section: str, entry_id: str) -> dict[str, Any] | None:
    return next((item for item in doc.get(section, []) if item.get("id") == entry_id), None)


def _entry(doc: dict[str, Any], section: str, form: Mapping[str, str], name: str, errors: Any,
           prefix: str = "") -> tuple[dict[str, Any], str]:
    """The entry the form edits (a copy inside the new document) and its id: `id` names an existing
    one; without it a new one is added under `new_id` (or an id made from the name)."""
    entry_id = (form.get("id") or "").strip()
    if entry_id:
        found = _find(doc, section, entry_id)
        if found is None:
            raise ValidationFailed([FieldError("reference", "Mục này không còn trong danh mục; hãy tải lại trang.",
                                               "No such entry any more; reload the page.")])
        return found, entry_id
    entry_id = (form.get("new_id") or "").strip().lower() or slug(name.removeprefix(prefix).strip() if prefix
                                                                 else name)
    if not _ID.match(entry_id) or len(entry_id) > 40:
        errors.add("new_id", "Mã chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang (tối đa 40 ký tự).",
                   "Lower-case letters, digits and hyphens only (at most 40).")
    elif _find(doc, section, entry_id) is not None:
        errors.add("new_id", f"Mã «{entry_id}» đã có trong danh mục.", "This id is taken.")
    item: dict[str, Any] = {"id": entry_id}
    doc.setdefault(section, []).append(item)
    return item, entry_id


def _name(form: Mapping[str, str], errors: Any, limit: int = 120) -> str:
    name = nfc(form.get("name") or "")
    if not name or len(name) > limit:
        errors.add("name", f"Vui lòng nhập tên (tối đa {limit} ký tự).", f"A name of at most {limit} characters.")
    return name


def _agency(doc: dict[str, Any], form: Mapping[str, str], errors: Any, required: bool = False) -> str | None:
    agency = (form.get("agency") or "").strip() or None
    if agency is None and required:
        errors.add("agency", "Vui lòng chọn cơ quan xử lý.", "Choose an agency.")
    elif agency is not None and _find(doc, "agencies", agency) is None:
        errors.add("agency", "Cơ quan không có trong danh mục.", "Unknown agency.")
    return agency


def _number(text: str) -> float:
    return float(text.strip().replace(",", "."))


def keyword_lines(keywords: Any) -> str:
    """A category's keywords as the form shows them, one 'cụm từ = trọng số' a line."""
    def weight(value: Any) -> str:
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number).replace(".", ",")

    return "\n".join(f"{phrase} = {weight(w)}" for phrase, w in keywords or [])


def parse_keywords(text: str) -> list[list[Any]]:
    """Returns [[phrase, weight], ...] from 'cụm từ = trọng số' lines (weight 1 when left out);
    raises ValidationFailed('keywords') naming each bad line."""
    keywords: list[list[Any]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = nfc(raw)
        if not line:
            continue
        phrase, _, weight_text = line.partition("=")
        phrase = " ".join(phrase.split()).lower()
        try:
            weight = _number(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            weight = -1.0
        if not phrase or len(phrase) > 60 or not _PHRASE.match(phrase):
            problems.append(f"dòng {number}: cụm từ chỉ gồm chữ và số, tối đa 60 ký tự")
        elif not 0 < weight <= 20:
            problems.append(f"dòng {number}: trọng số phải là số lớn hơn 0 và không quá 20")
        elif phrase in seen:
            problems.append(f"dòng {number}: «{phrase}» trùng với dòng {seen[phrase]}")
        else:
            seen[phrase] = number
            keywords.append([phrase, int(weight) if weight.is_integer() else weight])
    if len(keywords) > MAX_KEYWORDS:
        problems.append(f"tối đa {MAX_KEYWORDS} từ khoá (hiện có {len(keywords)})")
    if problems:
        raise ValidationFailed([FieldError("keywords", "Từ khoá chưa đúng: " + "; ".join(problems) + ".",
                                           "Some keyword lines are invalid.")])
    return keywords


def edit_category(document: dict[str, Any], form: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """Returns the document with the form's category (name, allowed time, agency, confidentiality,
    keywords) and the category's id; raises ValidationFailed."""
    doc = copy.deepcopy(document)
    errors = collector()
    name = _name(form, errors)
    item, entry_id = _entry(doc, "categories", form, name, errors)
    try:
        days = int((form.get("sla_working_days") or "").strip())
    except ValueError:
        days = 0
    if not 1 <= days <= 60:
        errors.add("sla_working_days", "Thời hạn trả lời là số ngày làm việc, từ 1 đến 60.",
                   "The allowed time is 1 to 60 working days.")
    agency = _agency(doc, form, errors)
    try:
        keywords = parse_keywords(form.get("keywords") or "")
    except ValidationFailed as failed:
        errors.errors.extend(failed.errors)
        keywords = []
    errors.raise_if_any()
    item.update({"name": name, "sla_working_days": days, "confidential": form.get("confidential") == "1",
                 "agency": agency, "keywords": keywords})
    return doc, entry_id


def edit_area(document: dict[str, Any], form: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """Returns the document with the form's commune/ward (name starting 'Xã' or 'Phường' as its
    kind says, which is how citizens' texts name it) and its id; raises ValidationFailed."""
    doc = copy.deepcopy(document)
    errors = collector()
    name = _name(form, errors, 80)
    kind = (form.get("kind") or "").strip()
    if kind not in _KIND_WORDS:
        errors.add("kind", "Chọn xã hoặc phường.", "Choose commune or ward.")
    elif name and (fold(name).split()[0] != fold(_KIND_WORDS[kind]) or len(name.split()) < 2):
        errors.add("name", f"Tên phải bắt đầu bằng «{_KIND_WORDS[kind]}», ví dụ «{_KIND_WORDS[kind]} Tân Ninh».",
                   "The name must start with its kind.")
    item, entry_id = _entry(doc, "areas", form, name, errors, prefix=_KIND_WORDS.get(kind, ""))
    agency = _agency(doc, form, errors)
    errors.raise_if_any()
    item.update({"name": name, "kind": kind})
    if agency:
        item["agency"] = agency
    else:
        item.pop("agency", None)
    return doc, entry_id


def edit_agency(document: dict[str, Any], form: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """Returns the document with the form's agency and its contacts, and its id; raises ValidationFailed.
    (The supervisor's phone is checked by the whole document's validation.)"""
    doc = copy.deepcopy(document)
    errors = collector()
    name = _name(form, errors)
    item, entry_id = _entry(doc, "agencies", form, name, errors)
    values: dict[str, Any] = {"name": name}
    for field in ("email", "supervisor_email"):
        value = (form.get(field) or "").strip().lower()
        if value and not _EMAIL.match(value):
            errors.add(field, "Email không hợp lệ.", "Invalid email address.")
        values[field] = value
    for field, limit in (("phone", 20), ("supervisor_phone", 20), ("on_duty", 120)):
        value = nfc(form.get(field) or "")
        if len(value) > limit:
            errors.add(field, f"Tối đa {limit} ký tự.", f"At most {limit} characters.")
        values[field] = value
    if values["phone"] and not re.fullmatch(r"[0-9 .+()-]{6,20}", values["phone"]):
        errors.add("phone", "Số điện thoại chỉ gồm chữ số (có thể có dấu cách, chấm, gạch).", "Digits only.")
    values["supervisor_sms_escalations"] = form.get("supervisor_sms_escalations") == "1"
    errors.raise_if_any()
    for field in ("supervisor_email", "supervisor_phone", "on_duty"):
        if not values[field]:
            item.pop(field, None)
            del values[field]
    if not values["supervisor_sms_escalations"]:
        item.pop("supervisor_sms_escalations", None)
        del values["supervisor_sms_escalations"]
    item.update(values)
    return doc, entry_id


def _date(text: str) -> date:
    text = text.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def _dates(form: Mapping[str, str], field: str, errors: Any, saturdays: bool = False) -> list[date]:
    found: list[date] = []
    problems: list[str] = []
    for number, raw in enumerate((form.get(field) or "").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            day = _date(raw)
        except ValueError:
            problems.append(f"dòng {number}: «{raw.strip()[:30]}» không phải ngày (ngày/tháng/năm)")
            continue
        if saturdays and day.weekday() != 5:
            problems.append(f"dòng {number}: {day:%d/%m/%Y} không phải thứ Bảy")
        elif not 2000 <= day.year <= 2100:
            problems.append(f"dòng {number}: năm {day.year} không hợp lệ")
        elif day not in found:
            found.append(day)
    if problems:
        errors.add(field, "Chưa đúng: " + "; ".join(problems) + ".", "Some dates are invalid.")
    return sorted(found)


def day_lines(days: Any) -> str:
    """Dates as the form shows them, one 'dd/mm/yyyy' a line."""
    shown = []
    for value in days or []:
        try:
            shown.append(f"{date.fromisoformat(str(value)):%d/%m/%Y}")
        except ValueError:
            shown.append(str(value))
    return "\n".join(shown)


def holiday_lines(holidays: Any) -> str:
    return day_lines(sorted(str(d) for year in (holidays or {}).values() for d in year))


def period_lines(periods: Any) -> str:
    return "\n".join(f"{start}-{end}" for start, end in periods or [])


def _time(text: str) -> time:
    return time.fromisoformat(text.strip().replace("h", ":").zfill(5))


def edit_calendar(document: dict[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """Returns the document with the form's office hours ('07:30-11:30' a line), public holidays and
    make-up Saturdays (a date a line); raises ValidationFailed."""
    doc = copy.deepcopy(document)
    errors = collector()
    periods: list[list[str]] = []
    for number, raw in enumerate((form.get("office_hours") or "").splitlines(), start=1):
        if not raw.strip():
            continue
        start, _, end = raw.replace("–", "-").partition("-")
        try:
            begin, finish = _time(start), _time(end)
        except ValueError:
            errors.add("office_hours", f"Dòng {number}: viết giờ dạng 07:30-11:30.", "Write periods as 07:30-11:30.")
            break
        periods.append([f"{begin:%H:%M}", f"{finish:%H:%M}"])
    if not errors.errors:
        ordered = sorted(periods)
        if not ordered or any(a >= b for a, b in ordered) or any(x[1] > y[0] for x, y in zip(ordered, ordered[1:])):
            errors.add("office_hours", "Giờ làm việc phải có ít nhất một buổi; mỗi buổi bắt đầu trước khi kết thúc "
                                       "và các buổi không chồng nhau.", "Periods must be increasing, not overlapping.")
        periods = ordered
    holidays = _dates(form, "holidays", errors)
    makeup = _dates(form, "makeup_saturdays", errors, saturdays=True)
    errors.raise_if_any()
    calendar = doc.setdefault("calendar", {})
    years: dict[str, list[str]] = {}
    for day in holidays:
        years.setdefault(str(day.year), []).append(day.isoformat())
    calendar.update({"office_hours": periods, "holidays": years,
                     "makeup_saturdays": [day.isoformat() for day in makeup]})
    return doc


def edit_hours(document: dict[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """Returns the document with the hotline's opening and closing times; raises ValidationFailed."""
    doc = copy.deepcopy(document)
    errors = collector()
    found: dict[str, time] = {}
    for field in ("opens", "closes"):
        try:
            found[field] = _time(form.get(field) or "")
        except ValueError:
            errors.add(field, "Giờ không hợp lệ (giờ:phút, ví dụ 07:00).", "Invalid time (HH:MM).")
    if len(found) == 2 and found["opens"] >= found["closes"]:
        errors.add("closes", "Giờ đóng phải sau giờ mở.", "Closing must be after opening.")
    errors.raise_if_any()
    doc["hotline_hours"] = {"opens": f"{found['opens']:%H:%M}", "closes": f"{found['closes']:%H:%M}"}
    return doc


def field_errors(failed: ValidationFailed, section: str, entry_id: str | None) -> dict[str, str]:
    """The whole document's errors as the form shows them: an error about the edited entry
    ('categories.giao-thong.agency') goes next to its field, any other to the top ('reference')."""
    shown: dict[str, str] = {}
    for error in failed.errors:
        parts = error.field.split(".")
        if entry_id and len(parts) == 3 and parts[0] == section and parts[1] == entry_id:
            name = parts[2]
        elif len(parts) >= 2 and parts[0] == section and section in ("calendar",):
            name = parts[1]
        elif error.field in ("version", "reference") or "." in error.field:
            name = "reference"
        else:
            name = error.field
        if name == "reference" and name in shown:
            shown[name] = f"{shown[name]} {error.vi}"
        else:
            shown.setdefault(name, error.vi)  # a field's first error: the ones after follow from it
    return shown
