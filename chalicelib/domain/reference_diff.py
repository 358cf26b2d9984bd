"""What changed between two reference documents, section by section, in words an admin reads:
entries added, removed and changed (with each changed field's before → after).

Pure: two JSON documents in, a list of sections out. The history page shows it, the version
item keeps its one-line summary, and the API returns it as JSON.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Callable, Iterable

from chalicelib.domain.text import nfc


@dataclass(frozen=True)
class Entry:
    """One changed entry: its name and each field's change ('Thời hạn: 5 → 4 ngày làm việc')."""

    label: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[Entry, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


SECTION_TITLES = {
    "categories": "Lĩnh vực", "areas": "Xã, phường", "agencies": "Cơ quan xử lý",
    "routing_rules": "Quy tắc chuyển cơ quan", "calendar": "Lịch làm việc", "hotline_hours": "Giờ trực tổng đài",
    "abbreviations": "Từ viết tắt", "routing": "Ngưỡng phân loại tự động", "retention": "Thời hạn lưu trữ",
    "telephony": "Tổng đài (cuộc gọi)",
    "general": "Thông tin chung",
}
_CATEGORY_FIELDS = {"name": "Tên", "sla_working_days": "Thời hạn (ngày làm việc)",
                    "confidential": "Bảo mật người phản ánh", "agency": "Cơ quan xử lý"}
_AREA_FIELDS = {"name": "Tên", "kind": "Loại", "agency": "Cơ quan xử lý"}
_AGENCY_FIELDS = {"name": "Tên", "email": "Email", "phone": "Điện thoại", "supervisor_email": "Email lãnh đạo",
                  "supervisor_phone": "Điện thoại lãnh đạo",
                  "supervisor_sms_escalations": "SMS cho lãnh đạo khi quá hạn", "on_duty": "Giờ làm việc"}
_GENERAL_FIELDS = {"province": "Tỉnh", "admin_email": "Email quản trị",
                   "hotline_supervisor_email": "Email giám sát tổng đài",
                   "hotline_supervisor_phone": "Điện thoại giám sát tổng đài",
                   "hotline_supervisor_sms_escalations": "SMS cho giám sát tổng đài khi quá hạn",
                   "threading": "Tin nhắn tiếp theo của người dân (số ngày mở lại, liên kết)",
                   "monthly_report_emails": "Email nhận báo cáo tháng"}
_KINDS = {"xa": "xã", "phuong": "phường"}
_COVERED = {"version", "categories", "areas", "agencies", "routing_rules", "calendar", "hotline_hours",
            "abbreviations", "routing", "retention", "telephony", *_GENERAL_FIELDS}
_TELEPHONY_FIELDS = {"record_calls": "Ghi âm cuộc gọi", "website": "Trang web nêu trong lời chào ngoài giờ",
                     "zalo": "Zalo nêu trong lời chào ngoài giờ", "callback_email": "E-mail nhận nhắc gọi lại",
                     "ring_seconds": "Số giây đổ chuông mỗi tổng đài viên",
                     "max_operators": "Số tổng đài viên đổ chuông lần lượt",
                     "keep_days": "Số ngày giữ số điện thoại và ghi âm", "note": "Ghi chú"}


def _text(value: Any) -> str:
    """A value as the page shows it: có/không, '—' for nothing, lists joined."""
    if value is True:
        return "có"
    if value is False:
        return "không"
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)


def _change(label: str, before: Any, after: Any) -> str:
    return f"{label}: {_text(before)} → {_text(after)}"


def _day(text: str) -> str:
    try:
        return f"{date.fromisoformat(text):%d/%m/%Y}"
    except (TypeError, ValueError):
        return str(text)


def _by_id(items: Any) -> dict[str, dict[str, Any]]:
    return {str(i.get("id")): i for i in items if isinstance(i, dict)} if isinstance(items, list) else {}


def _keyword_changes(before: Any, after: Any) -> list[str]:
    """Keywords compared as typed (case aside), so the page says what the admin did."""
    def table(pairs: Any) -> dict[str, tuple[str, float]]:
        found: dict[str, tuple[str, float]] = {}
        for pair in pairs or []:
            try:
                phrase, weight = str(pair[0]), float(pair[1])
            except (TypeError, ValueError, IndexError):
                continue
            found[nfc(phrase).strip().lower()] = (phrase, weight)
        return found

    old, new = table(before), table(after)
    added = [f"«{new[k][0]}» ({_text(new[k][1])})" for k in new if k not in old]
    removed = [f"«{old[k][0]}»" for k in old if k not in new]
    reweighted = [f"«{new[k][0]}» {_text(old[k][1])} → {_text(new[k][1])}" for k in new
                  if k in old and old[k][1] != new[k][1]]
    return ([f"Thêm từ khoá: {', '.join(added)}"] if added else []) + (
        [f"Bỏ từ khoá: {', '.join(removed)}"] if removed else []) + (
        [f"Đổi trọng số: {', '.join(reweighted)}"] if reweighted else [])


def _entries(key: str, old: Any, new: Any, fields: dict[str, str], label: Callable[[dict[str, Any]], str],
             show: Callable[[str, Any], Any], extra: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None
             ) -> Section:
    before, after = _by_id(old), _by_id(new)
    changed = []
    for entry_id, item in after.items():
        if entry_id not in before:
            continue
        was = before[entry_id]
        changes = [_change(name, show(field, was.get(field)), show(field, item.get(field)))
                   for field, name in fields.items() if was.get(field) != item.get(field)]
        changes += extra(was, item) if extra else []
        others = sorted(k for k in set(was) | set(item) if k not in fields and k not in ("id", "keywords")
                        and was.get(k) != item.get(k))
        changes += [_change(k, was.get(k), item.get(k)) for k in others]
        if changes:
            changed.append(Entry(label(item), tuple(changes)))
    return Section(key, SECTION_TITLES[key],
                   added=tuple(label(i) for k, i in after.items() if k not in before),
                   removed=tuple(label(i) for k, i in before.items() if k not in after),
                   changed=tuple(changed))


def _names(doc: dict[str, Any], key: str) -> dict[str, str]:
    return {i: str(item.get("name") or i) for i, item in _by_id(doc.get(key)).items()}


def _periods(calendar: dict[str, Any]) -> str:
    return "; ".join("–".join(map(str, period)) for period in calendar.get("office_hours") or [])


def _calendar(old: Any, new: Any) -> Section:
    old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}

    def days(calendar: dict[str, Any], key: str) -> set[str]:
        value = calendar.get(key)
        if key == "holidays":
            return {str(d) for year in (value or {}).values() if isinstance(year, list) for d in year} \
                if isinstance(value, dict) else set()
        return {str(d) for d in value} if isinstance(value, list) else set()

    added, removed, changed = [], [], []
    for key, word in (("holidays", "Ngày nghỉ lễ"), ("makeup_saturdays", "Thứ Bảy làm bù")):
        before, after = days(old, key), days(new, key)
        added += [f"{word} {_day(d)}" for d in sorted(after - before)]
        removed += [f"{word} {_day(d)}" for d in sorted(before - after)]
    if old.get("office_hours") != new.get("office_hours"):
        changed.append(Entry("Giờ làm việc của cơ quan", (f"{_periods(old) or '—'} → {_periods(new) or '—'}",)))
    return Section("calendar", SECTION_TITLES["calendar"], tuple(added), tuple(removed), tuple(changed))


def _plain(key: str, old: Any, new: Any, labels: dict[str, str] | None = None) -> Section:
    """A flat mapping compared key by key (added, removed, changed values)."""
    old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
    labels = labels or {}

    def name(key: str) -> str:
        return labels.get(key, key)

    return Section(key, SECTION_TITLES[key],
                   added=tuple(f"{name(k)}: {_text(new[k])}" for k in new if k not in old),
                   removed=tuple(f"{name(k)}: {_text(old[k])}" for k in old if k not in new),
                   changed=tuple(Entry(name(k), (f"{_text(old[k])} → {_text(new[k])}",)) for k in new
                                 if k in old and old[k] != new[k]))


def _rules(old_doc: dict[str, Any], new_doc: dict[str, Any]) -> Section:
    categories = {**_names(old_doc, "categories"), **_names(new_doc, "categories")}
    areas = {**_names(old_doc, "areas"), **_names(new_doc, "areas")}
    agencies = {**_names(old_doc, "agencies"), **_names(new_doc, "agencies")}

    def table(doc: dict[str, Any]) -> dict[tuple[Any, Any], Any]:
        rules = doc.get("routing_rules")
        return {(r.get("category"), r.get("area")): r.get("agency") for r in rules if isinstance(r, dict)} \
            if isinstance(rules, list) else {}

    def label(key: tuple[Any, Any]) -> str:
        category, area = key
        return " · ".join(part for part in (f"Lĩnh vực {categories.get(category, category)}" if category else "",
                                            f"{areas.get(area, area)}" if area else "") if part) or "—"

    before, after = table(old_doc), table(new_doc)
    return Section("routing_rules", SECTION_TITLES["routing_rules"],
                   added=tuple(f"{label(k)} → {agencies.get(v, v)}" for k, v in after.items() if k not in before),
                   removed=tuple(f"{label(k)} → {agencies.get(v, v)}" for k, v in before.items() if k not in after),
                   changed=tuple(Entry(label(k), (f"{agencies.get(before[k], before[k])} → {agencies.get(v, v)}",))
                                 for k, v in after.items() if k in before and before[k] != v))


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Section]:
    """Returns the sections that differ between `old` (None: nothing before) and `new`, in the
    order the admin pages list them; an unchanged section is left out."""
    old = old or {}
    agencies = {**_names(old, "agencies"), **_names(new, "agencies")}

    def shown(field: str, value: Any) -> Any:
        if field == "agency":
            return agencies.get(value, value) if value else None
        if field == "kind":
            return _KINDS.get(value, value)
        return value

    def keywords(was: dict[str, Any], now: dict[str, Any]) -> list[str]:
        return _keyword_changes(was.get("keywords"), now.get("keywords"))

    def named(item: dict[str, Any]) -> str:
        return str(item.get("name") or item.get("id"))

    general_old = {k: old.get(k) for k in _GENERAL_FIELDS if k in old}
    general_new = {k: new.get(k) for k in _GENERAL_FIELDS if k in new}
    for key in sorted((set(old) | set(new)) - _COVERED):
        if key in old:
            general_old[key] = old[key]
        if key in new:
            general_new[key] = new[key]
    sections = [
        _entries("categories", old.get("categories"), new.get("categories"), _CATEGORY_FIELDS, named, shown, keywords),
        _entries("areas", old.get("areas"), new.get("areas"), _AREA_FIELDS, named, shown),
        _entries("agencies", old.get("agencies"), new.get("agencies"), _AGENCY_FIELDS, named, shown),
        _rules(old, new),
        _calendar(old.get("calendar"), new.get("calendar")),
        _plain("hotline_hours", old.get("hotline_hours"), new.get("hotline_hours"), {"opens": "Mở", "closes": "Đóng"}),
        _plain("abbreviations", old.get("abbreviations"), new.get("abbreviations")),
        _plain("routing", old.get("routing"), new.get("routing"),
               {"min_score": "Điểm tối thiểu", "min_margin": "Cách biệt tối thiểu",
                "model_alone": "Mô hình tự quyết từ xác suất", "model_agree": "Xác suất tối thiểu khi đồng ý",
                "model_veto": "Mô hình bác từ khoá từ xác suất", "keyword_floor": "Xác suất tối thiểu cho từ khoá",
                "keyword_strong": "Điểm từ khoá đủ mạnh", "keyword_rank": "Từ khoá trong N lựa chọn đầu của mô hình"}),
        _plain("retention", old.get("retention"), new.get("retention")),
        _plain("telephony", old.get("telephony"), new.get("telephony"), _TELEPHONY_FIELDS),
        _plain("general", general_old, general_new, _GENERAL_FIELDS),
    ]
    return [s for s in sections if s.added or s.removed or s.changed]


def _count(section: Section) -> str:
    parts = [f"thêm {len(section.added)}" if section.added else "", f"bỏ {len(section.removed)}" if section.removed
             else "", f"sửa {len(section.changed)}" if section.changed else ""]
    named = [e.label for e in section.changed][:2] if section.key in ("categories", "areas", "agencies") else []
    return f"{section.title}: {', '.join(p for p in parts if p)}" + (f" ({', '.join(named)})" if named else "")


def summary(sections: Iterable[Section]) -> str:
    """One line for the history list and the audit trail: 'Lĩnh vực: sửa 1 (Giao thông, đường sá)'."""
    text = "; ".join(_count(s) for s in sections)
    return text if len(text) <= 400 else text[:399] + "…"
