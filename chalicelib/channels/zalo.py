"""Zalo Official Account webhooks (reference/channels.md §1.2–1.3).

X-ZEvent-Signature = sha256(app_id + raw body + timestamp + OA secret key), hex, optionally
prefixed 'mac='. Plain SHA-256, not HMAC; the timestamp is the body's own `timestamp` field.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.channels.base import PayloadInvalid, SignatureInvalid, check_age, epoch_number, json_object, same
from chalicelib.domain.messages import InboundMessage

PROVIDER = "zalo"
# A first delivery comes within seconds of the event. Zalo retries the same signed body after 30 s,
# 5, 15, 30 and 60 min (channels.md §1.1), the last about 1 h 51 min after the event; a retry
# (unsigned `num_retry` header) may therefore be up to MAX_RETRY_AGE old, whatever number it claims.
MAX_AGE = timedelta(minutes=15)
MAX_RETRY_AGE = timedelta(hours=2)
_HANDLED = {"user_send_text", "user_send_image", "user_send_location", "user_send_file", "user_send_link",
            "user_send_sticker", "user_send_gif", "user_send_audio", "user_send_video", "follow", "unfollow"}


def signature(app_id: str, raw: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Returns the signature Zalo puts in X-ZEvent-Signature (hex, without 'mac=')."""
    return hashlib.sha256(app_id.encode() + raw + timestamp.encode() + oa_secret_key.encode()).hexdigest()


def verify(raw: bytes, header: str | None, app_id: str, oa_secret_key: str, now: datetime,
           retried: bool = False) -> dict[str, Any]:
    """Returns the parsed body if the signature holds and its signed `timestamp` is within
    MAX_AGE of `now` (MAX_RETRY_AGE for a `retried` delivery) and not ahead of it by more
    than MAX_AHEAD; raises SignatureInvalid with the reason.

    A body that is not JSON cannot be verified either (the timestamp is inside it): 401.
    """
    try:
        body = json_object(raw)
    except PayloadInvalid as exc:
        raise SignatureInvalid() from exc
    timestamp = str(body.get("timestamp", ""))
    given = (header or "").strip()
    given = given[4:] if given.lower().startswith("mac=") else given
    if not timestamp or not same(signature(app_id, raw, timestamp, oa_secret_key), given.lower()):
        raise SignatureInvalid()
    check_age(epoch_number(timestamp), now, MAX_RETRY_AGE if retried else MAX_AGE)
    return body


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadInvalid(f"zalo: {where} is not an object")
    return value


def _id(value: Any, where: str) -> str:
    """Zalo's ids are strings of digits; a number is tolerated, anything else is unreadable."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip() or len(str(value)) > 128:
        raise PayloadInvalid(f"zalo: {where} is not an id")
    return str(value)


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"zalo: {where} is not text")
    return value


def _degrees(value: Any, limit: float) -> float:
    """A coordinate as Zalo sends it (a string, sometimes a number), within ±limit."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or len(str(value)) > 32:
        raise PayloadInvalid("zalo: coordinate is not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise PayloadInvalid("zalo: coordinate is not a number") from None
    if not -limit <= number <= limit:  # also false for NaN and infinities
        raise PayloadInvalid("zalo: coordinate out of range")
    return number


def _attachments(message: dict[str, Any]) -> list[dict[str, Any]]:
    listed = message.get("attachments")
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise PayloadInvalid("zalo: attachments is not a list")
    return [_object(attachment, "attachment") for attachment in listed]


def _payload(attachment: dict[str, Any]) -> dict[str, Any]:
    return {} if attachment.get("payload") is None else _object(attachment["payload"], "attachment payload")


def _location(message: dict[str, Any]) -> tuple[float, float] | None:
    # Three shapes are seen in the wild (channels.md §1.2); accept each.
    for attachment in _attachments(message):
        found = _payload(attachment).get("coordinates")
        coordinates = {} if found is None else _object(found, "coordinates")
        lat = coordinates.get("latitude", coordinates.get("lat"))
        lon = coordinates.get("longitude", coordinates.get("long"))
        if lat is not None and lon is not None:
            return _degrees(lat, 90), _degrees(lon, 180)
    location = {} if message.get("location") is None else _object(message["location"], "location")
    if "latitude" in location and "longitude" in location:
        return _degrees(location["latitude"], 90), _degrees(location["longitude"], 180)
    return None


def parse(body: dict[str, Any]) -> InboundMessage | None:
    """Returns the InboundMessage for a verified event, or None for events we ignore (echoes of
    the OA's own messages, read receipts). Raises PayloadInvalid for a handled event we can't read:
    a missing field, or one of another type than Zalo documents (an object where an id belongs,
    a list of strings for attachments, a coordinate that is not a number within range)."""
    event = body.get("event_name")
    if not isinstance(event, str) or event not in _HANDLED:  # a list or an object is no event we know
        return None
    try:
        received = datetime.fromtimestamp(int(body["timestamp"]) / 1000, tz=timezone.utc)
        if event in ("follow", "unfollow"):
            follower = _id(_object(body["follower"], "follower").get("id"), "follower.id")
            return InboundMessage(channel="zalo", provider=PROVIDER, kind=event, sender=follower, text="",
                                  provider_message_id=f"{event}:{follower}:{body['timestamp']}",
                                  received_at=received, reply_via=PROVIDER)
        message = _object(body["message"], "message")
        attachments = [
            {"type": _text(a.get("type"), "attachment type"), "url": _text(_payload(a).get("url"), "attachment url"),
             "name": _text(_payload(a).get("name"), "attachment name")}
            for a in _attachments(message) if a.get("type") != "location"
        ]
        return InboundMessage(channel="zalo", provider=PROVIDER,
                              provider_message_id=_id(message.get("msg_id"), "msg_id"),
                              sender=_id(_object(body["sender"], "sender").get("id"), "sender.id"),
                              text=_text(message.get("text"), "message text"), received_at=received,
                              attachments=attachments, location=_location(message), reply_via=PROVIDER)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise PayloadInvalid(f"zalo {event}: {type(exc).__name__}") from exc
