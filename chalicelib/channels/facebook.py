"""Facebook Messenger (a fanpage) webhooks (reference/messenger.md §1–2).

GET: the verification handshake (hub.mode=subscribe, hub.verify_token, hub.challenge).
POST: X-Hub-Signature-256 = 'sha256=' + hex HMAC-SHA256(app secret, raw body). The older SHA-1
X-Hub-Signature alone is not enough. One POST may carry several entries, each several messaging
items: each message becomes one InboundMessage, threaded by the page-scoped id (PSID). A postback
(a tapped button) is a message whose text is the button's title; the "Get Started" button is a
follow (the welcome, as Zalo's follow event). Delivery and read receipts become receipt
InboundMessages (kind "delivered" / "read", no text of the person's) that mark our own sent
messages. Echoes of the page's own messages and reactions are ignored; so are `standby` items
(another app, or Meta's inbox, holds the thread) and entries for another page, which are counted.
Meta signs no time: a redelivery is caught by the `mid` dedup marker, and an item older than
MAX_AGE (a replayed signed body, past that marker's 30 days too) is dropped.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, json_object, same
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.messages import InboundMessage

PROVIDER = "facebook"
_KINDS = {"image", "video", "audio", "file", "fallback"}
MAX_AGE = timedelta(days=7)
# The payloads a page's "Get Started" button is usually given (it is the page's own choice: set it to one of these).
GET_STARTED = {"GET_STARTED", "GET_STARTED_PAYLOAD", "get_started"}
FETCH_TIMEOUT_S = 8
# All of one message's image copies together: the inbound consumer handles up to 10 messages in its 30 s, and
# an image not copied in time keeps its link (a consumer timing out would send the whole batch round again).
COPY_BUDGET_S = 2.0


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
    return InboundMessage(channel="facebook", provider=PROVIDER, provider_message_id=_id(message.get("mid"), "mid"),
                          sender=sender, text=text, received_at=_stamp(item),
                          attachments=attachments, location=location, reply_via=PROVIDER)


def _stamp(item: dict[str, Any]) -> datetime:
    stamp = item.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        raise PayloadInvalid("facebook: timestamp is not a number")
    return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc)


def _postback(item: dict[str, Any]) -> InboundMessage:
    """A tapped button: its title is what the person said; "Get Started" is a follow (the welcome).
    Idempotent on the postback's mid, or on sender and time when Meta gives none."""
    postback = _object(item["postback"], "postback")
    sender = _id(_object(item["sender"], "sender").get("id"), "sender.id")
    received = _stamp(item)
    payload = _text(postback.get("payload"), "postback payload")
    title = _text(postback.get("title"), "postback title")
    ident = _id(postback["mid"], "postback mid") if postback.get("mid") else f"postback:{sender}:{item['timestamp']}"
    started = payload in GET_STARTED or title.strip().lower() in ("get started", "bắt đầu") or not (title + payload).strip()
    return InboundMessage(channel="facebook", provider=PROVIDER, provider_message_id=ident, sender=sender,
                          kind="follow" if started else "message", text="" if started else (title or payload),
                          received_at=received, reply_via=PROVIDER)


def _receipt(item: dict[str, Any], kind: str) -> InboundMessage:
    """A delivery or read receipt for the page's messages to this person (kind "delivered" / "read"):
    every message sent to them at or before `watermark` (epoch ms) got there; a delivery may name
    the `mids` too, carried space-separated as the receipt's text (message ids, no words of theirs)."""
    event = _object(item["delivery" if kind == "delivered" else "read"], kind)
    sender = _id(_object(item["sender"], "sender").get("id"), "sender.id")
    watermark = event.get("watermark")
    if isinstance(watermark, bool) or not isinstance(watermark, int) or watermark < 0:
        raise PayloadInvalid("facebook: watermark is not a number")
    mids = [_id(mid, "delivery mid") for mid in _list(event.get("mids"), "mids")] if kind == "delivered" else []
    return InboundMessage(channel="facebook", provider=PROVIDER, provider_message_id=f"{kind}:{sender}:{watermark}",
                          sender=sender, kind=kind, text=" ".join(mids),
                          received_at=datetime.fromtimestamp(watermark / 1000, tz=timezone.utc), reply_via=PROVIDER)


@dataclass
class Batch:
    """What one verified POST holds: the messages, postbacks and receipts to queue, and what was left
    out: `dropped` counts items by reason ("standby", "too_old"); `unreadable` lists (reason, item)
    for quarantine (an item we can't read, an entry for another page)."""

    messages: list[InboundMessage] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    unreadable: list[tuple[str, Any]] = field(default_factory=list)

    def drop(self, reason: str, n: int = 1) -> None:
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + n


def _item(item: Any, now: datetime) -> InboundMessage | None:
    item = _object(item, "messaging item")
    message = item.get("message")
    if message is not None:
        if isinstance(message, dict) and message.get("is_echo"):
            return None  # the page's own message
        found = _message(item)
    elif item.get("postback") is not None:
        found = _postback(item)
    elif item.get("delivery") is not None:
        found = _receipt(item, "delivered")
    elif item.get("read") is not None:
        found = _receipt(item, "read")
    else:
        return None  # a reaction, an optin, a referral: nothing we act on
    if found.kind not in ("delivered", "read") and found.received_at < now - MAX_AGE:
        raise _TooOld()
    return found


class _TooOld(Exception):
    pass


def batch(raw: bytes, now: datetime, page_id: str = "") -> Batch:
    """Sorts a verified (possibly batched) body into a Batch, in order. Raises PayloadInvalid only
    for a body we can't read at all; a bad item goes to `unreadable` alone, so the batch's other
    messages still go on (Meta would redeliver the whole batch). With `page_id`, an entry for any
    other page is unreadable as a whole."""
    body = json_object(raw)
    found = Batch()
    if body.get("object") != "page":
        return found
    try:
        for entry in _list(body.get("entry"), "entry"):
            entry = _object(entry, "entry")
            if page_id and str(entry.get("id")) != page_id:
                found.unreadable.append(("facebook: entry for another page", entry))
                continue
            found.drop("standby", len(_list(entry.get("standby"), "standby")))
            for item in _list(entry.get("messaging"), "messaging"):
                try:
                    message = _item(item, now)
                except _TooOld:
                    found.drop("too_old")
                    continue
                except (PayloadInvalid, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
                    reason = exc.reason if isinstance(exc, PayloadInvalid) else f"facebook: {type(exc).__name__}"
                    found.unreadable.append((reason, item))
                    continue
                if message is not None:
                    found.messages.append(message)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise PayloadInvalid(f"facebook: {type(exc).__name__}") from exc
    return found


class NotKept(Exception):
    """An attachment we could not copy (gone, too big, not an image): its link stays as it is."""


def fetch_image(url: str, max_bytes: int, hosts: tuple[str, ...], deadline: float | None = None) -> tuple[bytes, str]:
    """Returns (bytes, content type) of an image Meta links in a message (its CDN links expire);
    raises NotKept unless it is an https URL on one of `hosts` (loopback may be plain http, for the
    local stack) answering image/* within `max_bytes`, all of it before `deadline` (time.monotonic())."""
    import time

    def left() -> float:
        if deadline is None:
            return FETCH_TIMEOUT_S
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NotKept("time")
        return min(FETCH_TIMEOUT_S, remaining)

    from urllib.parse import urlsplit

    from chalicelib.domain.links import allowed_host

    def allowed(link: str) -> bool:
        try:
            parts = urlsplit(link)
            host = (parts.hostname or "").lower()
        except ValueError:  # "https://[broken": not a link we fetch (the message keeps it as it is)
            return False
        return allowed_host(host, hosts) and (parts.scheme == "https" or (
            parts.scheme == "http" and host in ("127.0.0.1", "localhost")))

    class _Redirects(urllib.request.HTTPRedirectHandler):  # Meta's lookaside links redirect to its CDN, nowhere else
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
            if not allowed(newurl):
                raise NotKept("redirect")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    if not allowed(url):
        raise NotKept("host")
    try:
        with urllib.request.build_opener(_Redirects).open(url, timeout=left()) as answer:
            content_type = (answer.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if not content_type.startswith("image/"):
                raise NotKept("type")
            if int(answer.headers.get("Content-Length") or 0) > max_bytes:
                raise NotKept("size")
            data = bytearray()
            while len(data) <= max_bytes:  # in pieces, so a trickling answer can't outlast the deadline
                left()
                piece = answer.read(min(256 * 1024, max_bytes + 1 - len(data)))
                if not piece:
                    break
                data += piece
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:  # cut short, bad reply
        raise NotKept(type(exc).__name__) from exc
    if len(data) > max_bytes or not data:
        raise NotKept("size")
    return bytes(data), content_type
