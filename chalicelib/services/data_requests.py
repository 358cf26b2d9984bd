"""A person's requests about their data, as the admin's console and API serve them: what is held about
a phone number or Zalo id (shown, and exported as a file to hand over), erasure on request, a legal hold
on one ticket. Finding, anonymising and holding are
chalicelib.services.privacy's; this module checks who may, validates the request, and records every
look, export and erasure in the audit trail — without the person: no number, id, name, nor a digest of
any (a digest of a phone number is undone by trying the billion numbers there are)."""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

from chalicelib.domain.errors import FieldError, ValidationFailed, collector
from chalicelib.domain.exports import ExportFile, check_format, export_file
from chalicelib.domain.permissions import StaffUser, require
from chalicelib.store import audit

MAX_TEXT = 500
MAX_NAMES = 10  # names the person uses, to mask in texts at erasure
MAX_NAME = 100


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _privacy() -> Any:
    from chalicelib.services import privacy

    return privacy


@contextmanager
def _person_field() -> Iterator[None]:
    """The person is the `person` field of the console's form and the API's body."""
    try:
        yield
    except ValidationFailed as failed:
        raise ValidationFailed([FieldError("person", e.vi, e.en) if e.field == "value" else e
                                for e in failed.errors]) from failed


def _find(person: str) -> Any:
    """find_person's PersonData, with the code of a one-time code SMS and the token of a status link
    in a message not yet sent masked (once sent, the stored text is masked too): what is shown and
    exported never carries a live code or link."""
    from dataclasses import replace

    from chalicelib.domain.replies import without_code
    from chalicelib.domain.status_links import without_token

    with _person_field():
        found = _privacy().find_person(person)
    records = [{**r, "fields": {**r["fields"], "text": without_token(without_code(r["fields"]["text"]))}}
               if r.get("kind") == "outbound" and isinstance((r.get("fields") or {}).get("text"), str) else r
               for r in found.records]
    return replace(found, records=records)


def _reference() -> str:
    """A reference for one look or export, shared by its audit entry and its file's name: it ties the
    two together without naming the person."""
    return secrets.token_hex(6)


def search(user: StaffUser, person: str, now: datetime | None = None) -> Any:
    """Returns everything held about the phone (any spelling) or Zalo id in `person` (a PersonData),
    and records the look in the audit trail (the kind of identifier, counts, a reference).
    Raises Forbidden (admins only), ValidationFailed."""
    require(user, "privacy_search")
    found = _find(person)
    audit.record("person_searched", user.actor, _now(now), reference=_reference(), person_kind=found.kind,
                 tickets=len(found.tickets), records=len(found.records))
    return found


def export(user: StaffUser, person: str, fmt: str, now: datetime | None = None) -> ExportFile:
    """Returns what is held about `person` as a JSON or CSV file, and records the export in the audit
    trail (the kind of identifier, counts, the format and the file's name, which carries the entry's
    reference). Raises Forbidden (admins only), ValidationFailed (the person, or a format other than json/csv)."""
    require(user, "privacy_search")
    fmt, now = check_format(fmt), _now(now)
    found = _find(person)
    reference = _reference()
    file = export_file(found, fmt, now, reference)
    audit.record("person_exported", user.actor, now, reference=reference, person_kind=found.kind, format=fmt,
                 tickets=len(found.tickets), records=len(found.records), file=file.filename)
    return file


def _text(form: Mapping[str, Any], name: str, label_vi: str, label_en: str, errors: Any) -> str:
    value = str(form.get(name) or "").strip()
    if not value:
        errors.add(name, f"Cần ghi {label_vi}.", f"The {label_en} is required.")
    elif len(value) > MAX_TEXT:
        errors.add(name, f"{label_vi.capitalize()} dài quá {MAX_TEXT} ký tự.",
                   f"The {label_en} is longer than {MAX_TEXT} characters.")
    return value


def _names(raw: Any, errors: Any) -> list[str]:
    """The names the person uses (a list, or one text of names separated by commas), trimmed, each
    once; records an error when there are too many or one is too long."""
    given = raw if isinstance(raw, list) else str(raw or "").split(",")
    names = list(dict.fromkeys(n.strip() for n in given if isinstance(n, str) and n.strip()))
    if len(names) > MAX_NAMES or any(len(n) > MAX_NAME for n in names):
        errors.add("names", f"Tối đa {MAX_NAMES} tên, mỗi tên không quá {MAX_NAME} ký tự.",
                   f"At most {MAX_NAMES} names of at most {MAX_NAME} characters each.")
    elif any(len(n) < 2 for n in names):
        errors.add("names", "Mỗi tên cần ít nhất 2 ký tự.", "Each name needs at least 2 characters.")
    return names


def check_erasure(user: StaffUser, form: Mapping[str, Any]) -> dict[str, Any]:
    """Returns the erasure request: requester, reason and approver (trimmed), and `names`, the names
    the person uses (optional; masked in every text at erasure). Raises ValidationFailed naming each
    missing or too long one, or an approver who is the admin doing it (four eyes)."""
    errors = collector()
    request: dict[str, Any] = {
        "requester": _text(form, "requester", "người hoặc cơ quan yêu cầu", "requester", errors),
        "reason": _text(form, "reason", "lý do, căn cứ", "reason", errors),
        "approver": _text(form, "approver", "người phê duyệt", "approver", errors),
        "names": _names(form.get("names"), errors)}
    if request["approver"] and request["approver"].casefold() in {user.email.casefold(), user.name.casefold()}:
        errors.add("approver", "Người phê duyệt phải là người khác, không phải người thực hiện.",
                   "The approver must be someone other than the admin who erases.")
    errors.raise_if_any()
    return request


def erase(user: StaffUser, person: str, form: Mapping[str, Any], now: datetime | None = None) -> Any:
    """Anonymises now everything held about `person` on their request (an ErasureReport: anonymised,
    unfollowed, kept with reasons, markers and counters deleted), masking in every text the names the
    request gives (`names`: how an SMS, Zalo or phone reporter calls themselves — the system knows no
    name for them); the erasure is audited with the requester, reason and approver.
    Raises Forbidden (admins only), ValidationFailed."""
    require(user, "privacy_erase")
    request = check_erasure(user, form)
    with _person_field():
        return _privacy().erase_person(person, requester=request["requester"], reason=request["reason"],
                                       approver=request["approver"], actor=user.actor, now=_now(now),
                                       names=request["names"])


def legal_hold(user: StaffUser, code: str, reason: str | None, now: datetime | None = None) -> str:
    """Sets a legal hold with `reason` on the ticket (its personal data is kept past its retention and
    through erasure requests), or lifts it when `reason` is None. Returns the console's message. Raises
    Forbidden (supervisors and admins only), ValidationFailed (a blank or long reason, a ticket already
    anonymised), TicketNotFound."""
    require(user, "legal_hold")
    _privacy().set_legal_hold(user, code, reason, _now(now))
    return ("Đã giữ dữ liệu của phản ánh: không ẩn danh, không xoá cho đến khi bỏ giữ." if reason is not None
            else "Đã bỏ giữ dữ liệu: phản ánh theo lại thời hạn lưu trữ.")


def retention_of(ticket_category: str | None) -> dict[str, Any]:
    """What the ticket page says about a ticket's retention: whether its category is always held."""
    from chalicelib.store.reference import load_reference

    retention = getattr(load_reference(), "retention", None)
    held = tuple(getattr(retention, "legal_hold_categories", ()) or ())
    return {"category_held": bool(ticket_category) and ticket_category in held}

