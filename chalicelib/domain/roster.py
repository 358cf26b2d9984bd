"""The duty roster (lịch trực): who answers the hotline when, and where their phone rings.

An entry names a staff member, the weekdays and the hours (Vietnam time) they answer, and their
target: a Stringee softphone user id ("internal") or, for someone answering from home, a phone
number in E.164 ("external"). Operators mark themselves away (tạm vắng) and available again; an
away operator is skipped. Pure rules: no AWS, no Chalice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any, Mapping

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.phones import normalise_phone

INTERNAL, EXTERNAL = "internal", "external"
KINDS = (INTERNAL, EXTERNAL)
KIND_LABELS_VI = {INTERNAL: "Tổng đài (phần mềm)", EXTERNAL: "Điện thoại tại nhà"}
DAY_LABELS_VI = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
MAX_ENTRIES = 100
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_USER_ID = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")


@dataclass(frozen=True)
class Entry:
    """One line of the roster: `staff` (e-mail) answers on `days` (0 = Monday) from `start` to `end`
    (Vietnam time, end excluded) at `target`, a Stringee user id or an E.164 phone (`kind`)."""

    staff: str
    name: str
    kind: str
    target: str
    days: frozenset[int]
    start: time
    end: time

    def covers(self, local: datetime) -> bool:
        """Whether this entry is on at the Vietnam-local moment `local`."""
        return local.weekday() in self.days and self.start <= local.time().replace(tzinfo=None) < self.end

    @property
    def days_text(self) -> str:
        return ", ".join(DAY_LABELS_VI[d] for d in sorted(self.days))

    @property
    def hours_text(self) -> str:
        return f"{_clock(self.start)}–{_clock(self.end)}"


@dataclass(frozen=True)
class Roster:
    """The whole roster: its saved version (0: never saved), its entries, who is away."""

    version: int = 0
    entries: tuple[Entry, ...] = ()
    away: frozenset[str] = field(default_factory=frozenset)

    def is_away(self, staff: str) -> bool:
        return staff.lower() in self.away


def on_duty(roster: Roster, moment: datetime) -> list[Entry]:
    """Returns the entries on duty at `moment` (any timezone; judged in Vietnam time), minus those
    whose staff member is away, one entry per staff member, in the order their phones should ring.

    The order rotates with the minute of the day, so successive calls start at a different
    operator (the first ring is spread over everyone on duty) while staying deterministic."""
    local = moment.astimezone(VN_TZ)
    seen: set[str] = set()
    found: list[Entry] = []
    for entry in roster.entries:
        if entry.staff in seen or roster.is_away(entry.staff) or not entry.covers(local):
            continue
        seen.add(entry.staff)
        found.append(entry)
    if not found:
        return []
    shift = (local.hour * 60 + local.minute) % len(found)
    return found[shift:] + found[:shift]


def entry_for_target(roster: Roster, kind: str, target: str) -> Entry | None:
    """The entry ringing at `target` (a user id, or a phone in any spelling for "external"), or None."""
    wanted = target.strip()
    if kind == EXTERNAL:
        try:
            wanted = normalise_phone(wanted)
        except ValidationFailed:
            return None
    for entry in roster.entries:
        if entry.kind == kind and entry.target == wanted:
            return entry
    return None


def entries_of(roster: Roster, staff: str) -> list[Entry]:
    """The entries of one staff member (e-mail, any case)."""
    return [e for e in roster.entries if e.staff == staff.lower()]


def callback_line(roster: Roster, staff: str, moment: datetime) -> Entry | None:
    """The line a call back by `staff` rings them on first: their entry on duty at `moment` (as on_duty
    judges it, whether or not they are marked away: they are the one asking to call), else their first
    line; None when they are on no line."""
    mine = entries_of(roster, staff)
    if not mine:
        return None
    present = Roster(roster.version, tuple(mine), frozenset())
    on = on_duty(present, moment)
    return on[0] if on else mine[0]


def _time(value: str, name: str, label: str) -> time:
    text = (value or "").strip()
    if text == "24:00":
        return time.max
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise ValidationFailed([FieldError(name, f"{label} phải có dạng giờ:phút, ví dụ 07:00.",
                                           f"{name} must be HH:MM.")]) from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def parse_entry(form: Mapping[str, Any]) -> Entry:
    """Builds an entry from a form: staff, name, kind, target, days (a list of "0".."6"), start, end.

    Raises ValidationFailed naming every bad field."""
    errors: list[FieldError] = []
    staff = str(form.get("staff") or "").strip().lower()
    if not _EMAIL.fullmatch(staff):
        errors.append(FieldError("staff", "Nhập e-mail của nhân viên.", "Enter the staff member's e-mail."))
    name = str(form.get("name") or "").strip()[:80] or staff
    kind = str(form.get("kind") or "")
    target = str(form.get("target") or "").strip()
    if kind not in KINDS:
        errors.append(FieldError("kind", "Chọn nơi nghe máy.", "Choose where the phone rings."))
    elif kind == EXTERNAL:
        try:
            target = normalise_phone(target, "target")
        except ValidationFailed:
            errors.append(FieldError("target", "Số điện thoại tại nhà chưa đúng.", "Invalid home phone number."))
    elif not _USER_ID.fullmatch(target):
        errors.append(FieldError("target", "Nhập mã người dùng tổng đài (chữ, số, _ . @ -).",
                                 "Enter the softphone user id."))
    raw_days = form.get("days") or []
    if isinstance(raw_days, str):
        raw_days = [raw_days]
    days = frozenset(int(d) for d in raw_days if str(d).isdigit() and 0 <= int(d) <= 6)
    if not days:
        errors.append(FieldError("days", "Chọn ít nhất một ngày trong tuần.", "Choose at least one weekday."))
    start = end = time(0)
    try:
        start = _time(str(form.get("start") or ""), "start", "Giờ bắt đầu")
        end = _time(str(form.get("end") or ""), "end", "Giờ kết thúc")
        if end <= start:
            errors.append(FieldError("end", "Giờ kết thúc phải sau giờ bắt đầu.", "The end must follow the start."))
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return Entry(staff, name, kind, target, days, start, end)


def with_entry(roster: Roster, entry: Entry, index: int | None) -> Roster:
    """The roster with `entry` added (index None) or replacing the entry at `index`."""
    entries = list(roster.entries)
    if index is None:
        if len(entries) >= MAX_ENTRIES:
            raise ValidationFailed([FieldError("staff", f"Lịch trực có tối đa {MAX_ENTRIES} dòng.",
                                               f"At most {MAX_ENTRIES} entries.")])
        entries.append(entry)
    elif 0 <= index < len(entries):
        entries[index] = entry
    else:
        raise ValidationFailed([FieldError("index", "Dòng này không còn trong lịch trực; hãy tải lại trang.",
                                           "No such entry; reload the page.")])
    return replace(roster, entries=tuple(entries))


def without_entry(roster: Roster, index: int) -> Roster:
    """The roster without the entry at `index`."""
    if not 0 <= index < len(roster.entries):
        raise ValidationFailed([FieldError("index", "Dòng này không còn trong lịch trực; hãy tải lại trang.",
                                           "No such entry; reload the page.")])
    return replace(roster, entries=roster.entries[:index] + roster.entries[index + 1:])


def _clock(value: time) -> str:
    return "24:00" if value == time.max else f"{value:%H:%M}"


def entry_document(entry: Entry) -> dict[str, Any]:
    """An entry as stored (JSON)."""
    return {"staff": entry.staff, "name": entry.name, "kind": entry.kind, "target": entry.target,
            "days": sorted(entry.days), "start": _clock(entry.start), "end": _clock(entry.end)}


def entry_from_document(document: Mapping[str, Any]) -> Entry:
    """An entry as read back (trusted: it was validated when saved)."""
    return Entry(str(document["staff"]), str(document.get("name") or document["staff"]), str(document["kind"]),
                 str(document["target"]), frozenset(int(d) for d in document.get("days") or []),
                 _time(str(document["start"]), "start", ""), _time(str(document["end"]), "end", ""))


def summary(before: Roster, after: Roster) -> str:
    """One line saying what a save changed (for the audit trail; names, never phone numbers)."""
    old = {entry_document(e)["staff"] for e in before.entries}
    new = {entry_document(e)["staff"] for e in after.entries}
    return f"{len(after.entries)} dòng ({len(after.entries) - len(before.entries):+d}); " \
           f"thêm {len(new - old)} người, bớt {len(old - new)} người"
