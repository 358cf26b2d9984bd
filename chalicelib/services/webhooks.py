"""Use case: a provider calls a webhook. Check the source, verify, parse into one InboundMessage,
queue it, answer fast (Zalo wants 200 within 2 s); the inbound consumer does the work.

A request from outside the provider's allowlist (403), with a bad signature, or signed too long
ago or dated ahead of our clock (401) stores nothing, queues nothing and counts a
`WebhookRejected` metric by provider and reason. Within a provider's window a replay is queued
and the consumer finds the message's dedup marker (30 days, longer than any window): no effect.
An unreadable payload from an authenticated provider is quarantined.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, TypeVar

from chalicelib import queues
from chalicelib.channels import android_gateway, esms, facebook, smssync, zalo
from chalicelib.channels.base import (PayloadInvalid, SignatureInvalid, SourceNotAllowed, check_size, check_source,
                                      json_object)
from chalicelib.config import settings
from chalicelib.domain import bounds
from chalicelib.domain.errors import Conflict
from chalicelib.domain.messages import InboundMessage
from chalicelib.observability import count, logger
from chalicelib.secrets import secret
from chalicelib.store import outbound

T = TypeVar("T")


def _verified(provider: str, source_ip: str | None, verify: Callable[[], T]) -> T:
    """Returns what `verify` returns once the source is allowed; counts and re-raises a refusal."""
    try:
        check_source(source_ip, settings().source_cidrs.get(provider, ""))
        return verify()
    except SourceNotAllowed:
        count("WebhookRejected", provider=provider, reason=SourceNotAllowed.reason)
        raise
    except SignatureInvalid as refused:
        count("WebhookRejected", provider=provider, reason=refused.reason)
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


def zalo_event(raw: bytes, headers: Mapping[str, str], source_ip: str | None = None,
               now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    check_size(raw)
    # Unsigned: claiming a retry widens the window to zalo.MAX_RETRY_AGE, never further.
    retried = (headers.get("num_retry") or "0").strip() not in ("", "0")
    body = _verified("zalo", source_ip, lambda: zalo.verify(
        raw, headers.get("x-zevent-signature"), secret("zalo_app_id"), secret("zalo_oa_secret_key"), now, retried))
    _queue(_parsed("zalo", raw, lambda: zalo.parse(body), now))


def facebook_handshake(query: Mapping[str, str]) -> str:
    """Meta's one-off GET when the webhook is configured: the challenge back, or 403."""
    try:
        return facebook.handshake(dict(query), secret("facebook_verify_token"))
    except facebook.HandshakeRefused:
        count("WebhookRejected", provider="facebook", reason=facebook.HandshakeRefused.reason)
        raise


def facebook_event(raw: bytes, headers: Mapping[str, str], source_ip: str | None = None,
                   now: datetime | None = None) -> int:
    """A (possibly batched) Messenger POST: each citizen message queued on its own; returns how many."""
    now = now or datetime.now(timezone.utc)
    check_size(raw, bounds.MAX_BODY_BYTES)  # Meta batches and \u-escapes non-ASCII: far over one message's 64 KB
    _verified("facebook", source_ip, lambda: facebook.verify(
        raw, headers.get("x-hub-signature-256"), secret("facebook_app_secret")))
    found = _parsed("facebook", raw, lambda: facebook.batch(raw, now, settings().facebook_page_id), now)
    for reason, item in found.unreadable:  # only the bad item is kept for review; the batch's others go on
        outbound.quarantine("facebook", reason, json.dumps(item, ensure_ascii=False).encode(), now)
        count("WebhookPayloadQuarantined", provider="facebook")
        if reason == "facebook: entry for another page":
            count("WebhookDropped", provider="facebook", reason="other_page")
            logger().warning("messenger entry for another page quarantined")
    for reason, n in found.dropped.items():  # standby (another app holds the thread), too old (a replay)
        for _ in range(n):
            count("WebhookDropped", provider="facebook", reason=reason)
        logger().info("messenger items dropped", extra={"reason": reason, "items": n})
    for message in found.messages:
        _queue(message)
    return len(found.messages)


def android_gateway_event(raw: bytes, headers: Mapping[str, str], source_ip: str | None = None,
                          now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    check_size(raw)
    _verified("android_gateway", source_ip, lambda: android_gateway.verify(
        raw, headers.get("x-signature"), headers.get("x-timestamp"), secret("android_gateway_signing_key"), now))
    _queue(_parsed("android_gateway", raw, lambda: android_gateway.parse(raw), now))


def smssync_message(raw: bytes, fields: dict[str, str], source_ip: str | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    check_size(raw)

    def verify() -> None:
        smssync.verify(fields.get("secret"), secret("smssync_secret"))
        smssync.check_fresh(fields, now)

    _verified("smssync", source_ip, verify)
    _queue(_parsed("smssync", raw, lambda: smssync.parse(fields, now), now))
    return smssync.accepted()


def smssync_task_send(query: Mapping[str, str], source_ip: str | None = None,
                      now: datetime | None = None) -> dict[str, Any]:
    """The phone polls for SMS to send: hand over its queue (each message moves out of it once)."""
    now = now or datetime.now(timezone.utc)
    shared = secret("smssync_secret")
    _verified("smssync", source_ip, lambda: smssync.verify(query.get("secret"), shared))
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


def smssync_task_sent(raw: bytes, query: Mapping[str, str], source_ip: str | None = None,
                      now: datetime | None = None) -> dict[str, Any]:
    """The phone reports what it sent (uuids are our outbound sort keys)."""
    now = now or datetime.now(timezone.utc)
    _verified("smssync", source_ip, lambda: smssync.verify(query.get("secret"), secret("smssync_secret")))
    uuids = _parsed("smssync", raw, lambda: smssync.sent_uuids(json_object(raw)), now)
    return smssync.task_sent(outbound.confirm_device_sent(uuids, now))


def esms_mo(params: dict[str, str], source_ip: str | None = None, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    check_size("&".join(params.values()).encode())
    _verified("esms", source_ip, lambda: esms.verify(params, secret("esms_private_key"), secret("esms_cpid"), now))
    raw = json.dumps(params, ensure_ascii=False).encode()
    message = _parsed("esms", raw, lambda: esms.parse(params), now)
    _queue(message)
    return esms.reply(message.provider_message_id, params.get("sender", ""))
