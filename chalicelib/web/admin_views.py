"""Admin pages (role admin): reference data a section at a time — categories with a routing preview
of the unsaved edit, communes/wards, agencies and contacts, the working calendar and the hotline's
hours — its history with a diff per version and rollback, and the audit trail with filters.

Like every console page: no JavaScript needed, POST -> 303 -> GET with a flash, the session's CSRF
token on every form, and on an error the same form again with what was typed and the message next
to its field (400), or, when another admin saved first, a 409 that keeps the typing too.
"""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote, urlencode

from chalice import Response

from chalicelib.domain import reference_edit
from chalicelib.domain.errors import Missing, ValidationFailed
from chalicelib.domain.permissions import ROLE_LABELS_VI, require
from chalicelib.web import session as sessions
from chalicelib.web.staff_views import _page, redirect

# URL slug -> (section of the document, page title, template)
SECTIONS: dict[str, tuple[str, str, str]] = {
    "linh-vuc": ("categories", "Lĩnh vực", "staff/admin_categories.html"),
    "dia-ban": ("areas", "Xã, phường", "staff/admin_areas.html"),
    "co-quan": ("agencies", "Cơ quan xử lý", "staff/admin_agencies.html"),
    "lich": ("calendar", "Lịch làm việc và giờ trực", "staff/admin_calendar.html"),
}
KIND_LABELS = {"xa": "Xã", "phuong": "Phường"}
SYSTEM_ACTORS = {"system:seed": "Hệ thống (dữ liệu ban đầu)",
                 "system:unknown": "Không rõ (lưu trước khi có lịch sử)"}


def _session(headers: Mapping[str, str], action: str = "edit_reference") -> sessions.PageSession:
    session = sessions.page_session(headers)
    require(session.user, action)
    return session


def _names() -> dict[str, str]:
    """Who an actor is, as pages show it: 'Ngô Thanh Hà (quantri@…)' for 'staff:quantri@…'."""
    from chalicelib.services import staff_directory

    return {**SYSTEM_ACTORS, **{f"staff:{person['email']}": _shown(person) for person in staff_directory.people()}}


def _shown(person: Mapping[str, Any]) -> str:
    return f"{person['name']} ({person['email']})" if person.get("name") else str(person["email"])


def actor_name(actor: str, names: Mapping[str, str]) -> str:
    if actor in names:
        return names[actor]
    if actor.startswith("staff:"):
        return actor.removeprefix("staff:")
    return "Hệ thống" if actor.startswith("system:") else actor


# Values a form shows: what is stored, or what was typed


def _stored_values(section: str, document: dict[str, Any], entry_id: str) -> dict[str, str] | None:
    item = next((i for i in document.get(section, []) if i.get("id") == entry_id), None)
    if item is None:
        return None
    values = {key: "" if value is None else str(value) for key, value in item.items() if key != "keywords"}
    for flag in ("confidential", "supervisor_sms_escalations"):
        values[flag] = "1" if item.get(flag) else ""
    if section == "categories":
        values["keywords"] = reference_edit.keyword_lines(item.get("keywords"))
    return values


def _calendar_values(document: dict[str, Any]) -> dict[str, str]:
    calendar = document.get("calendar") or {}
    hours = document.get("hotline_hours") or {"opens": "07:00", "closes": "20:00"}
    return {"office_hours": reference_edit.period_lines(calendar.get("office_hours")),
            "holidays": reference_edit.holiday_lines(calendar.get("holidays")),
            "makeup_saturdays": reference_edit.day_lines(calendar.get("makeup_saturdays")),
            "opens": str(hours.get("opens", "")), "closes": str(hours.get("closes", ""))}


def _typed(form: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in form.items() if key != "csrf"}


# Pages


def home(headers: Mapping[str, str]) -> Response:
    from chalicelib.services import admin

    session = _session(headers)
    current = admin.reference()
    document = current["document"]
    counts = {slug: len(document.get(section, [])) for slug, (section, _, _) in SECTIONS.items()
              if section != "calendar"}
    recent = admin.versions(session.user, limit=5)
    from chalicelib.store.reference import load_reference

    return _page(session, "staff/admin_home.html", current=current, counts=counts, recent=recent["versions"],
                 names=_names(), actor_name=actor_name, sections=SECTIONS, active="",
                 telephony=load_reference().telephony)


def section_page(headers: Mapping[str, str], slug: str, query: Mapping[str, str],
                 form: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None, status: int = 200,
                 preview: dict[str, Any] | None = None, conflict: dict[str, Any] | None = None) -> Response:
    """A section's page: its list and, with ?id=<entry> (or ?moi=1 for a new one), the entry's form
    (the calendar page always shows its two forms). `form` is what was typed, shown instead of the
    stored values after an error or a preview."""
    from chalicelib.services import admin
    from chalicelib.store.reference import current_document

    if slug == "lich-su":
        return history_page(headers, query)
    if slug not in SECTIONS:
        raise Missing()
    session = _session(headers)
    section, title, template = SECTIONS[slug]
    document, version = current_document()
    entry_id = ((form or {}).get("id") if form is not None else query.get("id")) or ""
    creating = not entry_id and (form is not None or query.get("moi") == "1")
    values: dict[str, str] | None = None
    if section == "calendar":
        values = {**_calendar_values(document), **_typed(form or {})}
    elif form is not None:
        values = _typed(form)
    elif entry_id:
        values = _stored_values(section, document, entry_id)
        if values is None:
            raise Missing()
    elif creating:
        values = {"sla_working_days": "5"} if section == "categories" else {}
    base = (form or {}).get("version") if form is not None and conflict is None else None
    warnings = admin.reference()["warnings"] if section == "calendar" else []
    return _page(session, template, status=status, title=title, slug=slug, sections=SECTIONS, active=slug,
                 document=document, version=base or version, current_version=version, values=values,
                 editing=entry_id, creating=creating,
                 errors=errors or {}, preview=preview, conflict=conflict, warnings=warnings,
                 agencies={a["id"]: a["name"] for a in document.get("agencies", [])}, kind_labels=KIND_LABELS)


def section_submit(headers: Mapping[str, str], slug: str, form: Mapping[str, str]) -> Response:
    """Saves (step=save) or previews (step=preview, categories) a section's form."""
    from chalicelib.services import admin
    from chalicelib.store.reference import ReferenceConflict, current_document
    from chalicelib.store.reference import version as saved_version

    if slug not in SECTIONS:
        raise Missing()
    session = _session(headers)
    sessions.check_form_origin(headers, session, form)
    section = SECTIONS[slug][0]
    if section == "calendar" and form.get("part") == "hours":
        section = "hotline_hours"
    if form.get("step") == "preview" and section == "categories":
        result = admin.preview(session.user, section, form)
        return section_page(headers, slug, {}, form, result["errors"], 400 if result["errors"] else 200,
                            preview=result)
    try:
        edited = admin.save_edit(session.user, section, form)
    except ValidationFailed as failed:
        return section_page(headers, slug, {}, form, {e.field: e.vi for e in failed.errors}, 400)
    except ReferenceConflict:
        _, current = current_document()
        latest = saved_version(current) if current is not None else None
        conflict = {"version": current, "actor": actor_name(latest.actor, _names()) if latest else "",
                    "at": latest.at if latest else None, "summary": latest.summary if latest else ""}
        return section_page(headers, slug, {}, form, {}, 409, conflict=conflict)
    number = edited.after["version"]
    target = f"/staff/quan-tri/{slug}" + (f"?id={quote(edited.entry)}" if edited.entry else "")
    return redirect(target, [*session.set_cookies, sessions.flash_cookie(f"Đã lưu phiên bản {number}.")])


def history_page(headers: Mapping[str, str], query: Mapping[str, str]) -> Response:
    from chalicelib.services import admin

    session = _session(headers)
    before_text = (query.get("before") or "").strip()
    before = int(before_text) if before_text.isascii() and before_text.isdecimal() else None
    page = admin.versions(session.user, before=before)
    return _page(session, "staff/admin_history.html", title="Lịch sử thay đổi", sections=SECTIONS,
                 active="lich-su", versions=page["versions"], next=page["next"], names=_names(),
                 actor_name=actor_name)


def version_page(headers: Mapping[str, str], number: str, status: int = 200, error: str | None = None,
                 conflict: bool = False) -> Response:
    from chalicelib.services import admin

    session = _session(headers)
    if not (number.isascii() and number.isdecimal()) or len(number) > 9:
        raise Missing()
    changes = admin.version_changes(session.user, int(number))
    return _page(session, "staff/admin_version.html", status=status, title=f"Phiên bản {int(number)}",
                 sections=SECTIONS, active="lich-su", c=changes, v=changes["version"], names=_names(),
                 actor_name=actor_name, error=error, conflict=conflict)


def version_submit(headers: Mapping[str, str], number: str, form: Mapping[str, str]) -> Response:
    """Rolls back to version `number`: its document saved as a new version (audited)."""
    from chalicelib.services import admin
    from chalicelib.store.reference import ReferenceConflict

    session = _session(headers)
    sessions.check_form_origin(headers, session, form)
    if not (number.isascii() and number.isdecimal()) or len(number) > 9:
        raise Missing()
    try:
        new = admin.restore(session.user, int(number), form)
    except ReferenceConflict:
        return version_page(headers, number, 409, conflict=True)
    except ValidationFailed as failed:
        return version_page(headers, number, 400, error=" ".join(e.vi for e in failed.errors))
    return redirect(f"/staff/quan-tri/lich-su/{new}", [*session.set_cookies, sessions.flash_cookie(
        f"Đã khôi phục dữ liệu của phiên bản {int(number)} thành phiên bản mới {new}.")])


# The audit trail

AUDIT_LABELS = {
    "person_searched": "Tra cứu dữ liệu cá nhân", "person_exported": "Xuất dữ liệu cá nhân",
    "personal_data_erasure_started": "Bắt đầu xoá dữ liệu cá nhân theo yêu cầu",
    "personal_data_erased": "Xoá dữ liệu cá nhân theo yêu cầu",
    "template_created": "Thêm mẫu trả lời", "template_edited": "Sửa mẫu trả lời", "template_deleted": "Xoá mẫu trả lời",
    "staff_created": "Tạo tài khoản", "staff_enabled": "Mở khoá tài khoản", "staff_disabled": "Khoá tài khoản",
    "staff_role_changed": "Đổi vai trò / cơ quan",
    "integrator_added": "Cấp khoá Open311", "integrator_revoked": "Thu hồi khoá Open311",
    "reference_saved": "Sửa dữ liệu danh mục", "reference_restored": "Khôi phục dữ liệu danh mục",
    "export_reporter": "Xuất danh sách thống kê kèm người phản ánh",
    "roster_saved": "Sửa lịch trực tổng đài",
    "routing_model_retrain_requested": "Yêu cầu huấn luyện lại mô hình định tuyến", "routing_model_rollback": "Quay lại mô hình định tuyến cũ",
    "routing_model_keywords_only": "Tắt mô hình định tuyến (chỉ dùng từ khoá)",
}
DETAIL_LABELS = {
    "promoted": "Được dùng", "version": "Phiên bản", "summary": "Thay đổi", "restored_from": "Khôi phục từ phiên bản", "email": "Tài khoản",
    "role": "Vai trò", "role_before": "Vai trò trước", "agency": "Cơ quan", "agency_before": "Cơ quan trước",
    "template": "Mẫu", "title": "Tiêu đề", "integrator": "Khoá", "name": "Tên", "reference": "Số tham chiếu",
    "person_kind": "Loại định danh", "format": "Định dạng", "reason": "Lý do", "requester": "Người yêu cầu",
    "approver": "Người phê duyệt", "tickets": "Phản ánh", "records": "Số mục dữ liệu", "file": "Tệp",
    "anonymised": "Đã ẩn danh", "unfollowed": "Đã bỏ theo dõi", "kept": "Được giữ", "remaining": "Còn lại",
    "markers_deleted": "Dấu vết đã xoá", "counters_deleted": "Bộ đếm đã xoá", "figure": "Số liệu",
    "filters": "Bộ lọc",
}


def audit_page(headers: Mapping[str, str], query: Mapping[str, str]) -> Response:
    """The admins' audit trail: filters (who, what, from–to), newest first, a page at a time."""
    from chalicelib.services import admin

    session = _session(headers, "audit_trail")
    trail = admin.audit_trail(session.user, query)
    filters = {k: v for k, v in trail["filters"].items() if v}
    next_link = "?" + urlencode({**filters, "after": trail["next"]}) if trail["next"] else None
    return _page(session, "staff/audit.html", status=400 if trail["errors"] else 200, trail=trail,
                 errors=trail["errors"], next_link=next_link, audit_labels=AUDIT_LABELS, detail_labels=DETAIL_LABELS,
                 groups=admin.AUDIT_GROUPS, role_labels=ROLE_LABELS_VI,
                 names={**SYSTEM_ACTORS, **{f"staff:{p['email']}": _shown(p) for p in trail["staff"]}},
                 actor_name=actor_name,
                 first_page="?" + urlencode(filters) if query.get("after") else None)

