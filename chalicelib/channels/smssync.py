"""Ushahidi SMSSync (reference/channels.md §2.2): form posts with a plaintext shared secret, its
JSON replies, and task polling through which replies leave from the same phone.

Nothing is signed: whoever holds the secret can post anything, any date included. The age bound
below only stops a captured request from being replayed verbatim after MAX_AGE; within it,
the message_id dedup makes a verbatim replay a no-op.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, check_age, epoch_number, same
from chalicelib.domain.messages import InboundMessage
from chalicelib.domain.phones import normalise_phone

PROVIDER = "smssync"
# The phone keeps what it could not post and tries again when it is back online: a phone off the
# network over a weekend must still deliver on Monday.
MAX_AGE = timedelta(hours=72)


def verify(secret_given: str | None, secret: str) -> None:
    """Raises SignatureInvalid unless the app's shared secret matches (constant time)."""
    if not same(secret, secret_given):
        raise SignatureInvalid()


def _sent_ms(sent: str) -> int:
    # The docs say Unix time; the app sends milliseconds. Accept both.
    value = epoch_number(sent)
    return value if len(sent.strip()) >= 12 else value * 1000


def check_fresh(fields: dict[str, str], now: datetime) -> None:
    """Raises SignatureInvalid when `sent_timestamp` is missing ('undated'), more than MAX_AGE
    before `now` ('stale') or more than MAX_AHEAD after it ('future')."""
    check_age(_sent_ms(fields.get("sent_timestamp", "")), now, MAX_AGE)


def parse(fields: dict[str, str], now: datetime) -> InboundMessage:
    """Returns the InboundMessage of a received SMS; raises PayloadInvalid."""
    try:
        sender = normalise_phone(fields["from"])
        message_id = fields["message_id"].strip()
        if not message_id:
            raise ValueError("empty message_id")
        sent = fields.get("sent_timestamp", "").strip()
        received = now  # checked by check_fresh before a message is queued; parsing alone is lenient
        if sent.isascii() and sent.isdigit() and len(sent) <= 16:
            received = datetime.fromtimestamp(_sent_ms(sent) / 1000, tz=timezone.utc)
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
