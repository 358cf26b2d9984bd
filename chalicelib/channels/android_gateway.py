"""capcom6 android-sms-gateway `sms:received` webhooks (reference/channels.md §2.3).

X-Signature = hex(HMAC-SHA256(signing key, raw body + X-Timestamp)), X-Timestamp in Unix
seconds, accepted within ±5 minutes.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, check_age, epoch_number, json_object, same
from chalicelib.domain.messages import InboundMessage
from chalicelib.domain.phones import normalise_phone

PROVIDER = "android_gateway"
MAX_AGE = timedelta(minutes=5)  # the window the provider's docs ask receivers to accept (channels.md §2.3)


def signature(raw: bytes, timestamp: str, signing_key: str) -> str:
    return hmac.new(signing_key.encode(), raw + timestamp.encode(), hashlib.sha256).hexdigest()


def verify(raw: bytes, header: str | None, timestamp: str | None, signing_key: str, now: datetime) -> None:
    """Raises SignatureInvalid for a missing or wrong signature ('signature'), or a signed
    X-Timestamp more than MAX_AGE old ('stale') or MAX_AHEAD ahead ('future')."""
    if not timestamp or not same(signature(raw, timestamp.strip(), signing_key), (header or "").lower()):
        raise SignatureInvalid()
    check_age(epoch_number(timestamp) * 1000, now, MAX_AGE)


def parse(raw: bytes) -> InboundMessage | None:
    """Returns the InboundMessage of an `sms:received` event; None for other events (sent, ping…).
    Raises PayloadInvalid for a body we cannot read."""
    body: dict[str, Any] = json_object(raw)
    if body.get("event") != "sms:received":
        return None
    try:
        payload = body["payload"]
        sender = normalise_phone(str(payload["phoneNumber"]))
        # messageId is content-derived and not unique (channels.md): the envelope id identifies the delivery.
        message_id = f"{body['id']}:{payload.get('messageId', '')}"
        received = datetime.fromisoformat(str(payload["receivedAt"]))
        return InboundMessage(channel="sms", provider=PROVIDER, provider_message_id=message_id, sender=sender,
                              text=str(payload.get("message") or ""), received_at=received,
                              reply_via=f"{PROVIDER}:{body.get('deviceId', '')}")
    except Exception as exc:  # KeyError, ValueError, ValidationFailed (phone): all mean unreadable
        raise PayloadInvalid(f"android_gateway: {type(exc).__name__}") from exc
