"""Facebook Messenger (a fanpage) webhooks (reference/messenger.md §1–2).

GET: the verification handshake (hub.mode=subscribe, hub.verify_token, hub.challenge).
POST: X-Hub-Signature-256 = 'sha256=' + hex HMAC-SHA256(app secret, raw body). The older SHA-1
X-Hub-Signature alone is not enough. One POST may carry several entries, each several messaging
items: each message becomes one InboundMessage, threaded by the page-scoped id (PSID).
Echoes of the page's own messages, postbacks, reactions and delivery/read receipts are ignored
(as Zalo's receipts are). Meta signs no time: a redelivery is caught by the `mid` dedup marker.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any

from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, json_object, same
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.messages import InboundMessage

PROVIDER = "facebook"
_KINDS = {"image", "video", "audio", "file", "fallback"}


class HandshakeRefused(Forbidden):
    """The subscribe request did not carry our verify token: 403, as Meta expects."""

    reason = "verify_token"


def signature(raw: bytes, app_secret: str) -> str:
    """Returns the X-Hub-Signature-256 value Meta sends ('sha256=<hex>')."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def handshake(query: dict[str, str], verify_token: str) -> str:
    """Returns the challenge to echo when Meta's subscribe request carries our verify token;
    raises HandshakeRefused otherwise."""
    challenge = query.get("hub.challenge") or ""
    if (query.get("hub.mode") != "subscribe" or not verify_token or not challenge or len(challenge) > 256
            or not same(verify_token, query.get("hub.verify_token"))):
        raise HandshakeRefused()
    return challenge


def verify(raw: bytes, header: str | None, app_secret: str) -> None:
    """Raises SignatureInvalid unless X-Hub-Signature-256 matches the raw bytes (constant time)."""
    given = (header or "").strip()
    if not app_secret or not given.lower().startswith("sha256=") or not same(signature(raw, app_secret),
                                                                             "sha256=" + given[7:].lower()):
        raise SignatureInvalid()


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadInvalid(f"facebook: {where} is not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadInvalid(f"facebook: {where} is not a list")
    return value


def _id(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip() or len(str(value)) > 256:
        raise PayloadInvalid(f"facebook: {where} is not an id")
    return str(value)


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"facebook: {where} is not text")
    return value


def _degrees(value: Any, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -limit <= value <= limit:
        raise PayloadInvalid("facebook: coordinate out of range")
    return float(value)


def _message(item: dict[str, Any]) -> InboundMessage:
    message = _object(item["message"], "message")
    sender = _id(_object(item["sender"], "sender").get("id"), "sender.id")
    attachments, location = [], None
    for attachment in _list(message.get("attachments"), "attachments"):
        attachment = _object(attachment, "attachment")
        payload = {} if attachment.get("payload") is None else _object(attachment["payload"], "attachment payload")
        kind = _text(attachment.get("type"), "attachment type")
        if kind == "location" and payload.get("coordinates") is not None:
            coordinates = _object(payload["coordinates"], "coordinates")
            location = _degrees(coordinates.get("lat"), 90), _degrees(coordinates.get("long"), 180)
        elif kind in _KINDS and payload.get("url"):
            attachments.append({"type": kind, "url": _text(payload.get("url"), "attachment url"),
                                "name": _text(attachment.get("title") or payload.get("title"), "attachment name")})
    text = _text(message.get("text"), "message text")
    if not text and message.get("quick_reply") is not None:  # a tapped quick reply always carries its title as text
        text = _text(_object(message["quick_reply"], "quick_reply").get("payload"), "quick reply payload")
    stamp = item.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        raise PayloadInvalid("facebook: timestamp is not a number")
    return InboundMessage(channel="facebook", provider=PROVIDER, provider_message_id=_id(message.get("mid"), "mid"),
                          sender=sender, text=text, received_at=datetime.fromtimestamp(stamp / 1000, tz=timezone.utc),
                          attachments=attachments, location=location, reply_via=PROVIDER)


def parse(raw: bytes, unreadable: list[tuple[str, Any]] | None = None) -> list[InboundMessage]:
    """Returns one InboundMessage per citizen message in a verified (possibly batched) body, in
    order; echoes and other items are skipped. Raises PayloadInvalid for a body we can't read, and
    for a message we can't read unless `unreadable` is given: then (reason, item) is added to it
    and the batch's other messages are still returned (Meta would redeliver the whole batch)."""
    body = json_object(raw)
    if body.get("object") != "page":
        return []
    found = []
    try:
        for entry in _list(body.get("entry"), "entry"):
            for item in _list(_object(entry, "entry").get("messaging"), "messaging"):
                try:
                    item = _object(item, "messaging item")
                    message = item.get("message")
                    if message is None or (isinstance(message, dict) and message.get("is_echo")):
                        continue  # delivery, read, postback, reaction; or the page's own message
                    found.append(_message(item))
                except (PayloadInvalid, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
                    if unreadable is None:
                        raise
                    reason = exc.reason if isinstance(exc, PayloadInvalid) else f"facebook: {type(exc).__name__}"
                    unreadable.append((reason, item))
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise PayloadInvalid(f"facebook: {type(exc).__name__}") from exc
    return found
