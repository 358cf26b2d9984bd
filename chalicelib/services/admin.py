"""Use cases for admins: reference data (edited a section at a time or replaced whole, each save a
new version with its history, diff and rollback), a routing preview of unsaved edits, staff roles
and agencies, the audit trail with filters, contact health, quarantine.

Every use case that changes something checks the caller's role itself (`require`), so the console
pages and the JSON API cannot disagree about who may do what.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from chalicelib.domain import reference_edit
from chalicelib.domain.classify import classify
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import FieldError, Missing, ValidationFailed, collector
from chalicelib.domain.permissions import ADMIN, AGENCY_OFFICER, ROLE_LABELS_VI, ROLES, StaffUser, require
from chalicelib.domain.reference import ReferenceData, parse_reference
from chalicelib.domain.reference_diff import diff, summary
from chalicelib.domain.working_time import due_at
from chalicelib.store import audit, callbacks, outbound
from chalicelib.store import reference as store
from chalicelib.store.reference import ReferenceConflict, current_document, save_reference


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


# Reference data: the whole document (JSON API)


def reference(now: datetime | None = None) -> dict[str, Any]:
    """Returns the reference document in use, its version, and what admins should fix."""
    from chalicelib.domain.working_time import NO_CALENDAR

    document, version = current_document()
    calendar = parse_reference(document).calendar
    found = calendar.warnings(_now(now).date()) if calendar else [NO_CALENDAR]
    return {"version": version, "document": document,
            "warnings": [{"message": w.vi, "message_en": w.en} for w in found]}


def replace_reference(user: StaffUser, document: dict[str, Any], if_match: str | None,
                      now: datetime | None = None) -> dict[str, Any]:
    """Stores a new reference document if it is valid and the If-Match version is still current, as a
    new version in the history (audited). Raises ValidationFailed (400, nothing changes) or Conflict (409)."""
    require(user, "edit_reference")
    expected = (if_match or "").strip().removeprefix("W/").strip('"')
    if expected and not expected.isdigit():
        raise ValidationFailed([FieldError("If-Match", "If-Match phải là số phiên bản hiện tại.",
                                           "If-Match must be the current version number.")])
    previous, _ = current_document()
    parse_reference(document)  # a bad document is refused before it is compared
    data = save_reference(document, int(expected) if expected else None, actor=user.actor,
                          summary=summary(diff(previous, document)), now=now)
    return {"version": data.version}


# Reference data: a section at a time (console pages)

EDITORS: dict[str, Callable[[dict[str, Any], Mapping[str, str]], Any]] = {
    "categories": reference_edit.edit_category, "areas": reference_edit.edit_area,
    "agencies": reference_edit.edit_agency, "calendar": reference_edit.edit_calendar,
    "hotline_hours": reference_edit.edit_hours,
}


@dataclass(frozen=True)
class Edited:
    """A section's form applied to the current document (not stored)."""

    base: int | None            # the version the admin started from
    current: int | None         # the version stored now
    before: dict[str, Any]
    after: dict[str, Any]
    entry: str | None           # the category, commune/ward or agency edited

    @property
    def stale(self) -> bool:
        return self.base != self.current


def _base(form: Mapping[str, str]) -> int | None:
    value = (form.get("version") or "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdecimal()):
        raise ValidationFailed([FieldError("reference", "Thiếu phiên bản dữ liệu; hãy tải lại trang.",
                                           "Missing version; reload the page.")])
    return int(value)


def apply_edit(user: StaffUser, section: str, form: Mapping[str, str]) -> Edited:
    """The form applied to the stored document and checked whole. Raises ValidationFailed with
    fields as the form names them (`reference` for the document as a whole)."""
    require(user, "edit_reference")
    base = _base(form)
    before, current = current_document()
    result = EDITORS[section](before, form)
    after, entry = result if isinstance(result, tuple) else (result, None)
    after = {**after, "version": max(current or 0, int(before.get("version") or 0)) + 1}
    try:
        parse_reference(after)
    except ValidationFailed as failed:
        raise ValidationFailed([FieldError(name, message, message) for name, message in
                                reference_edit.field_errors(failed, section, entry).items()]) from None
    return Edited(base, current, before, after, entry)


def save_edit(user: StaffUser, section: str, form: Mapping[str, str], now: datetime | None = None) -> Edited:
    """Saves the form's change as a new version (audited). Raises ValidationFailed, or
    ReferenceConflict when another admin saved after this form was opened (nothing is stored)."""
    edited = apply_edit(user, section, form)
    if edited.stale:
        raise ReferenceConflict()
    save_reference(edited.after, edited.current, actor=user.actor, summary=summary(diff(edited.before, edited.after)),
                   now=now)
    return edited


@dataclass(frozen=True)
class Routed:
    """Where the router would send a message: as the classifier and the routing table decide."""

    category: str | None
    category_name: str | None
    area_name: str | None
    agency_name: str | None
    due: datetime | None
    score: float
    runner_up: str | None

    @property
    def triage(self) -> bool:
        return self.agency_name is None


def route_preview(text: str, ref: ReferenceData, now: datetime) -> Routed:
    """Decides `text` as the router does (chalicelib.services.routing: classify, the routing table,
    the deadline in working time from `now`), without a ticket."""
    decided = classify(text, ref)
    agency = ref.agency_for(decided.category, decided.area) if decided.category else None
    category = ref.categories.get(decided.category or "")
    due = due_at(ref.calendar, now, category.sla_working_days) if category and ref.calendar else None
    runner_up = ref.categories[decided.runner_up].name if decided.runner_up in ref.categories else None
    return Routed(decided.category, category.name if category else None,
                  ref.areas[decided.area].name if decided.area in ref.areas else None,
                  ref.agencies[agency].name if agency in ref.agencies else None, due, decided.category_score,
                  runner_up)


def preview(user: StaffUser, section: str, form: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """Routes the form's sample message with the stored data and with the form's (unsaved) edit.
    Returns {'sample', 'current', 'edited' (None when the edit is invalid), 'errors', 'stale'}."""
    require(user, "edit_reference")
    now = _now(now)
    sample = (form.get("sample") or "").strip()[:2000]
    errors = collector()
    if not sample:
        errors.add("sample", "Nhập một tin nhắn mẫu để thử.", "Type a sample message.")
    before, current = current_document()
    edited_ref, stale = None, False
    try:
        edited = apply_edit(user, section, form)
        edited_ref, stale = parse_reference(edited.after), edited.stale
    except ValidationFailed as failed:
        errors.errors.extend(failed.errors)
    return {"sample": sample, "current": route_preview(sample, parse_reference(before), now) if sample else None,
            "edited": route_preview(sample, edited_ref, now) if sample and edited_ref else None,
            "errors": {e.field: e.vi for e in errors.errors}, "stale": stale, "current_version": current}


# History, diff, rollback


def versions(user: StaffUser, before: int | None = None, limit: int = 20) -> dict[str, Any]:
    """Returns a page of saved versions, newest first: {'versions': [...], 'next': before-of-next-page}."""
    require(user, "edit_reference")
    found, following = store.history(limit, before)
    return {"versions": found, "next": following}


def version_changes(user: StaffUser, number: int) -> dict[str, Any]:
    """Returns a saved version with its document and what changed from the version before it
    ({'version', 'previous', 'sections', 'current', 'restoring': what a rollback to it would change}).
    Raises Missing."""
    require(user, "edit_reference")
    saved = store.version(number)
    earlier = store.predecessor(number)
    document, current = current_document()
    return {"version": saved, "previous": earlier, "current": current,
            "sections": diff(earlier.document if earlier else None, saved.document or {}),
            "restoring": diff(document, saved.document or {}) if number != current else []}


def restore(user: StaffUser, number: int, form: Mapping[str, str], now: datetime | None = None) -> int:
    """Saves version `number`'s document as a new version (audited as a rollback); returns the new
    version. Raises Missing, ValidationFailed (an old document today's rules refuse), ReferenceConflict."""
    require(user, "edit_reference")
    base = _base(form)
    old = store.version(number)
    before, current = current_document()
    if base != current:
        raise ReferenceConflict()
    document = {**(old.document or {}), "version": (current or 0) + 1}
    save_reference(document, current, actor=user.actor, summary=summary(diff(before, document)),
                   restored_from=number, now=now)
    return int(document["version"])


def _version_json(saved: store.Version) -> dict[str, Any]:
    return {"version": saved.version, "at": saved.at.isoformat(), "actor": saved.actor, "summary": saved.summary,
            "restored_from": saved.restored_from}


def version_list(user: StaffUser, before: str | None) -> dict[str, Any]:
    """The JSON API's page of versions, newest first: {'versions': [...], 'next': `before` of the next page}.
    Raises ValidationFailed (a `before` that is not a version number)."""
    text = (before or "").strip()
    if text and not (text.isascii() and text.isdecimal() and len(text) <= 9):
        raise ValidationFailed([FieldError("before", "before phải là một số phiên bản.",
                                           "before must be a version number.")])
    page = versions(user, int(text) if text else None)
    return {"versions": [_version_json(v) for v in page["versions"]], "next": page["next"]}


def version_detail(user: StaffUser, number: str) -> dict[str, Any]:
    """The JSON API's one version: who/when/what, its document, and the changes from the version
    before it, per section. Raises Missing."""
    if not (number.isascii() and number.isdecimal() and len(number) <= 9):
        raise Missing()
    found = version_changes(user, int(number))
    saved = found["version"]
    return {**_version_json(saved), "previous": found["previous"].version if found["previous"] else None,
            "document": saved.document, "changes": [s.as_json() for s in found["sections"]]}


# Staff roles and agencies


def change_staff(user: StaffUser, form: Mapping[str, str], now: datetime | None = None) -> str:
    """Gives an account one role and (for agency officers, required) an agency; audited. Returns the
    page's message. Raises ValidationFailed (unknown role or agency, an admin removing their own
    admin role, no such account)."""
    require(user, "manage_staff")
    from chalicelib import identity
    from chalicelib.services import staff_directory
    from chalicelib.store.reference import load_reference

    email = (form.get("change") or "").strip().lower()
    role = (form.get("role") or "").strip()
    agency = (form.get("agency") or "").strip() or None
    errors = collector()
    if role not in ROLES:
        errors.add("role", "Vai trò không hợp lệ.", "Unknown role.")
    elif email == user.email.lower() and role != ADMIN:
        errors.add("role", "Không thể tự bỏ vai trò quản trị của mình; hãy nhờ một quản trị viên khác.",
                   "You cannot remove your own admin role.")
    if role == AGENCY_OFFICER and agency is None:
        errors.add("agency", "Cán bộ cơ quan cần có cơ quan.", "An agency officer needs an agency.")
    if agency is not None and agency not in load_reference().agencies:
        errors.add("agency", "Cơ quan không có trong danh mục.", "Unknown agency.")
    errors.raise_if_any()
    roles_before, agency_before = identity.set_role_and_agency(email, role, agency)
    staff_directory.forget()
    if roles_before == [role] and agency_before == agency:
        return "Không có gì thay đổi."
    audit.record("staff_role_changed", user.actor, _now(now), email=email, role_before=", ".join(roles_before) or "—",
                 role=role, agency_before=agency_before or "—", agency=agency or "—")
    return f"Đã đổi {email}: {ROLE_LABELS_VI[role]}" + (f", cơ quan {agency}" if agency else "") + \
        ". Người đó đã bị đăng xuất; thay đổi có hiệu lực khi họ đăng nhập lại, chậm nhất sau 15 phút."


# The audit trail

AUDIT_GROUPS: dict[str, tuple[str, frozenset[str]]] = {
    "reference": ("Dữ liệu danh mục", frozenset({"reference_saved", "reference_restored"})),
    "accounts": ("Tài khoản nhân viên", frozenset({"staff_created", "staff_enabled", "staff_disabled",
                                                   "staff_role_changed"})),
    "templates": ("Mẫu trả lời", frozenset({"template_created", "template_edited", "template_deleted"})),
    "open311": ("Khoá Open311", frozenset({"integrator_added", "integrator_revoked"})),
    "roster": ("Lịch trực tổng đài", frozenset({"roster_saved"})),
    "routing": ("Định tuyến tự học", frozenset({"routing_model_retrain_requested", "routing_model_rollback",
                                               "routing_model_keywords_only"})),
    "personal": ("Dữ liệu cá nhân", frozenset({"person_searched", "person_exported", "personal_data_erasure_started",
                                                "personal_data_erased", "export_reporter"})),
}
EARLIEST = date(2024, 1, 1)
MAX_SPAN_DAYS = 3 * 366
PAGE = 50


def _day(value: str, field: str, errors: Any) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(field, "Ngày không hợp lệ (năm-tháng-ngày).", "Invalid date.")
        return None


def audit_trail(user: StaffUser, query: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """Returns a page of the audit trail, newest first, filtered by actor (a staff member's `sub`, or
    'system'), kind of action (a kind or a group), and dates (`from`, `to`, Vietnam time, both
    included; `month`=YYYY-MM is a month's range). Keys: entries, next (cursor), filters, staff,
    errors (by field; entries are empty then)."""
    require(user, "audit_trail")
    from chalicelib.services import staff_directory

    today = _now(now).astimezone(VN_TZ).date()
    errors = collector()
    month = (query.get("month") or "").strip()
    start, end = _day(query.get("from") or "", "from", errors), _day(query.get("to") or "", "to", errors)
    if month:
        try:
            start = date.fromisoformat(month + "-01")
            end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
        except ValueError:
            errors.add("month", "Tháng phải có dạng năm-tháng, ví dụ 2026-12.", "The month must be YYYY-MM.")
    end = end or today
    start = start or max(EARLIEST, end - timedelta(days=365))
    if start > end:
        errors.add("from", "Ngày bắt đầu phải trước ngày kết thúc.", "The start must be before the end.")
    elif (end - start).days > MAX_SPAN_DAYS:
        errors.add("from", "Mỗi lần xem tối đa ba năm.", "At most three years at a time.")
    staff = {p["sub"]: p for p in staff_directory.people() if p.get("sub")}
    actor_key, actor = (query.get("actor") or "").strip(), None
    if actor_key == "system":
        actor = "system:"
    elif actor_key:
        if actor_key not in staff:
            errors.add("actor", "Không có nhân viên này.", "No such staff member.")
        else:
            actor = f"staff:{staff[actor_key]['email']}"
    kind_key, kinds = (query.get("kind") or "").strip(), None
    if kind_key in AUDIT_GROUPS:
        kinds = AUDIT_GROUPS[kind_key][1]
    elif kind_key:
        if not any(kind_key in group for _, group in AUDIT_GROUPS.values()):
            errors.add("kind", "Loại việc không hợp lệ.", "Unknown kind.")
        kinds = frozenset({kind_key})
    after = (query.get("after") or "").strip() or None
    if after and not audit.valid_cursor(after):
        errors.add("after", "Liên kết trang không hợp lệ; hãy xem lại từ đầu.", "Invalid page link.")
    filters = {"from": start.isoformat(), "to": end.isoformat(), "actor": actor_key, "kind": kind_key}
    listing = sorted(staff.values(), key=lambda p: (p.get("name") or p["email"]).lower())
    if errors.errors:
        return {"entries": [], "next": None, "filters": filters, "staff": listing,
                "errors": {e.field: e.vi for e in errors.errors}}
    assert start is not None and end is not None
    found, following = audit.search(datetime.combine(start, datetime.min.time(), VN_TZ),
                                    datetime.combine(end + timedelta(days=1), datetime.min.time(), VN_TZ),
                                    kinds, actor, after, PAGE)
    entries = [{"at": e.at, "kind": e.kind, "actor": e.actor, "detail": dict(e.detail or {})} for e in found]
    return {"entries": entries, "next": following, "filters": filters, "staff": listing, "errors": {}}


# Contact health, quarantine, SES notifications


def contact_problems() -> list[dict[str, Any]]:
    return [{"address": c.sk, "bounces": c.bounces, "complaints": c.complaints, "last_type": c.last_type,
             "last_at": c.last_at.isoformat() if c.last_at else None} for c in callbacks.contact_problems()]


def quarantine() -> list[dict[str, Any]]:
    return [{"id": q.sk, "provider": q.provider, "reason": q.reason, "received_at": q.received_at.isoformat(),
             "raw": q.raw} for q in outbound.quarantined()]


def record_ses_notification(message: dict[str, Any], now: datetime | None = None) -> int:
    """Records an SES bounce or complaint notification against each address; returns how many."""
    now = _now(now)
    kind = message.get("notificationType") or message.get("eventType")
    if kind == "Bounce":
        addresses = [r["emailAddress"] for r in message.get("bounce", {}).get("bouncedRecipients", [])]
    elif kind == "Complaint":
        addresses = [r["emailAddress"] for r in message.get("complaint", {}).get("complainedRecipients", [])]
    else:
        return 0
    for address in addresses:
        callbacks.record_contact_event(address, kind, now)
    return len(addresses)
