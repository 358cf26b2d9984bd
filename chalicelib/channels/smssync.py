"""Ushahidi SMSSync (reference/channels.md §2.2): form posts with a plaintext shared secret, its
JSON replies, and task polling through which replies leave from the same phone."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, same
from chalicelib.domain.messages import InboundMessage
from chalicelib.domain.phones import normalise_phone

PROVIDER = "smssync"


def verify(secret_given: str | None, secret: str) -> None:
    """Raises SignatureInvalid unless the app's shared secret matches (constant time)."""
    if not same(secret, secret_given):
        raise SignatureInvalid()


def parse(fields: dict[str, str], now: datetime) -> InboundMessage:
    """Returns the InboundMessage of a received SMS; raises PayloadInvalid."""
    try:
        sender = normalise_phone(fields["from"])
        message_id = fields["message_id"].strip()
        if not message_id:
            raise ValueError("empty message_id")
        sent = fields.get("sent_timestamp", "").strip()
        # The docs say Unix time; the app sends milliseconds. Accept both, else the arrival time.
        received = now
        if sent.isdigit():
            seconds = int(sent) / 1000 if len(sent) >= 12 else int(sent)
            received = datetime.fromtimestamp(seconds, tz=timezone.utc)
        device = fields.get("device_id") or fields.get("sent_to") or ""
        return InboundMessage(channel="sms", provider=PROVIDER, provider_message_id=message_id, sender=sender,
                              text=fields.get("message", ""), received_at=received,
                              reply_via=f"{PROVIDER}:{device}")
    except Exception as exc:  # KeyError, ValueError, ValidationFailed (phone)
        raise PayloadInvalid(f"smssync: {type(exc).__name__}") from exc


def accepted(success: bool = True, error: str | None = None) -> dict[str, Any]:
    """The JSON SMSSync expects after a posted message."""
    return {"payload": {"success": success, "error": error}}


def task_send(secret: str, messages: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """The answer to `GET ?task=send`: the queued outgoing (uuid, to, text) for the phone to send."""
    return {"payload": {"task": "send", "secret": secret,
                        "messages": [{"uuid": uuid, "to": to, "message": text} for uuid, to, text in messages]}}


def sent_uuids(body: Any) -> list[str]:
    """Returns the uuids in a `POST ?task=sent` body ({"queued_messages": [...]}); raises PayloadInvalid."""
    queued = body.get("queued_messages") if isinstance(body, dict) else None
    if not isinstance(queued, list) or not all(isinstance(u, str) for u in queued):
        raise PayloadInvalid("smssync task=sent without queued_messages")
    return queued


def task_sent(uuids: list[str]) -> dict[str, Any]:
    """The answer to `POST ?task=sent`: the uuids we marked as sent."""
    return {"message_uuids": uuids}
