"""Use cases for admins: reference data (validated whole, versioned), contact health, quarantine.
Callers are staff in the Cognito group `admin` (checked by the web layer before any call here)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.reference import parse_reference
from chalicelib.store import callbacks, outbound
from chalicelib.store.reference import current_document, save_reference


def reference(now: datetime | None = None) -> dict[str, Any]:
    """Returns the reference document in use, its version, and what admins should fix."""
    now = now or datetime.now(timezone.utc)
    document, version = current_document()
    calendar = parse_reference(document).calendar
    return {"version": version, "document": document,
            "warnings": calendar.warnings(now.date()) if calendar else ["Chưa có lịch làm việc / No calendar"]}


def replace_reference(document: dict[str, Any], if_match: str | None) -> dict[str, Any]:
    """Stores a new reference document if it is valid and the If-Match version is still current.
    Raises ValidationFailed (400, nothing changes) or Conflict (409)."""
    expected = (if_match or "").strip().removeprefix("W/").strip('"')
    if expected and not expected.isdigit():
        raise ValidationFailed([FieldError("If-Match", "If-Match phải là số phiên bản hiện tại.",
                                           "If-Match must be the current version number.")])
    data = save_reference(document, int(expected) if expected else None)
    return {"version": data.version}


def contact_problems() -> list[dict[str, Any]]:
    return [{"address": c.sk, "bounces": c.bounces, "complaints": c.complaints, "last_type": c.last_type,
             "last_at": c.last_at.isoformat() if c.last_at else None} for c in callbacks.contact_problems()]


def quarantine() -> list[dict[str, Any]]:
    return [{"id": q.sk, "provider": q.provider, "reason": q.reason, "received_at": q.received_at.isoformat(),
             "raw": q.raw} for q in outbound.quarantined()]


def record_ses_notification(message: dict[str, Any], now: datetime | None = None) -> int:
    """Records an SES bounce or complaint notification against each address; returns how many."""
    now = now or datetime.now(timezone.utc)
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
