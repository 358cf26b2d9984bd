"""Use case: a provider calls a webhook. Verify, parse into one InboundMessage, queue it, answer
fast (Zalo wants 200 within 2 s); the inbound consumer does the work. A bad signature stores
nothing and counts a metric; an unreadable payload from an authenticated provider is quarantined."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, TypeVar

from chalicelib import queues
from chalicelib.channels import android_gateway, esms, smssync, zalo
from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, check_size, json_object
from chalicelib.domain.errors import Conflict
from chalicelib.domain.messages import InboundMessage
from chalicelib.observability import count
from chalicelib.secrets import secret
from chalicelib.store import outbound

T = TypeVar("T")


def _verified(provider: str, verify: Callable[[], T]) -> T:
    try:
        return verify()
    except SignatureInvalid:
        count("WebhookSignatureRejected", provider=provider)
        raise


def _parsed(provider: str, raw: bytes, parse: Callable[[], T], now: datetime) -> T:
    try:
        return parse()
    except PayloadInvalid as invalid:
        invalid.quarantine_id = outbound.quarantine(provider, invalid.reason, raw, now)
        count("WebhookPayloadQuarantined", provider=provider)
        raise


def _queue(message: InboundMessage | None) -> None:
    if message is not None:
        queues.send_inbound(message)


def zalo_event(raw: bytes, headers: Mapping[str, str], now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    check_size(raw)
    retries = int(headers.get("num_retry") or 0) if str(headers.get("num_retry") or "0").isdigit() else 0
    body = _verified("zalo", lambda: zalo.verify(raw, headers.get("x-zevent-signature"), secret("zalo_app_id"),
                                                 secret("zalo_oa_secret_key"), now, retries))
    _queue(_parsed("zalo", raw, lambda: zalo.parse(body), now))


def android_gateway_event(raw: bytes, headers: Mapping[str, str], now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    check_size(raw)
    _verified("android_gateway", lambda: android_gateway.verify(
        raw, headers.get("x-signature"), headers.get("x-timestamp"), secret("android_gateway_signing_key"), now))
    _queue(_parsed("android_gateway", raw, lambda: android_gateway.parse(raw), now))


def smssync_message(raw: bytes, fields: dict[str, str], now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    check_size(raw)
    _verified("smssync", lambda: smssync.verify(fields.get("secret"), secret("smssync_secret")))
    _queue(_parsed("smssync", raw, lambda: smssync.parse(fields, now), now))
    return smssync.accepted()


def smssync_task_send(query: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """The phone polls for SMS to send: hand over its queue (each message moves out of it once)."""
    now = now or datetime.now(timezone.utc)
    shared = secret("smssync_secret")
    _verified("smssync", lambda: smssync.verify(query.get("secret"), shared))
    device = query.get("device_id") or "default"
    handed = []
    for message in outbound.queued(outbound.device_queue(device)):
        try:
            # stays indexed until the phone confirms, so an unconfirmed one can be offered again
            outbound.move(message, "device_queued", "device_handed", now, queue=outbound.HANDED,
                          queue_at=now + outbound.HANDED_TIMEOUT)
        except Conflict:  # another poll took it first
            continue
        handed.append((outbound.device_uuid(message), message.recipient, message.text))
    return smssync.task_send(shared, handed)


def smssync_task_sent(raw: bytes, query: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """The phone reports what it sent (uuids are our outbound sort keys)."""
    now = now or datetime.now(timezone.utc)
    _verified("smssync", lambda: smssync.verify(query.get("secret"), secret("smssync_secret")))
    uuids = _parsed("smssync", raw, lambda: smssync.sent_uuids(json_object(raw)), now)
    return smssync.task_sent(outbound.confirm_device_sent(uuids, now))


def esms_mo(params: dict[str, str], now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    check_size("&".join(params.values()).encode())
    _verified("esms", lambda: esms.verify(params, secret("esms_private_key"), secret("esms_cpid")))
    raw = json.dumps(params, ensure_ascii=False).encode()
    message = _parsed("esms", raw, lambda: esms.parse(params), now)
    _queue(message)
    return esms.reply(message.provider_message_id, params.get("sender", ""))
