"""Facebook Messenger Send API (POST <graph>/me/messages) for the fanpage channel.

Which kind of message a reply may be is the delivery's decision (chalicelib.services.delivery, where
Zalo's window is decided too): within 24 h of the person's last message a RESPONSE, from 24 h to 7
days only a staff reply tagged HUMAN_AGENT, later nothing (SMS or a call instead). This module only
sends what it is told and sorts Meta's refusals: outside the window and "person not available" are
final for this channel (another one must carry the message), throttling and Meta's own hiccups are
retried with backoff, anything else is logged and given up.

The page access token is long-lived: it is read once per container from SSM (chalicelib.secrets).
"""
from __future__ import annotations

import json
import os
from urllib.parse import quote

from chalicelib.notify.base import DeliveryFailed, OutsideWindow, http_json
from chalicelib.observability import logger
from chalicelib.secrets import secret

GRAPH_URL = "https://graph.facebook.com/v19.0"
HUMAN_AGENT = "HUMAN_AGENT"
MAX_CHARS = 2000
# Meta's documented error codes (reference/messenger.md §3; the exact set is not verified, so
# unknown codes are logged with their number, and given up). Pairs are (code, error_subcode).
_OUTSIDE_WINDOW = {(10, 2018278), (10, 2018065), (100, 2018001), (100, 2018109)}
_UNAVAILABLE = {551}                       # "This person isn't available right now" (blocked the page)
_THROTTLED = {4, 17, 32, 613, 80006}       # application, user, page and Messenger rate limits
_TEMPORARY = {1, 2}                        # unknown / temporary service problem
_TAG_REFUSED = {10, 200}                   # permission denied: e.g. HUMAN_AGENT not approved for the app


def _number(value: object) -> int:
    """Meta's error code as an int; -1 when it is missing, null or not a number."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return -1


def graph_url() -> str:
    """FACEBOOK_GRAPH_URL, default the real Graph API of the version we were written against."""
    return (os.environ.get("FACEBOOK_GRAPH_URL", "").strip() or GRAPH_URL).rstrip("/")


class FacebookSender:
    """Sends a text to a page-scoped id (PSID): a RESPONSE, or with `tag` a MESSAGE_TAG message."""

    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None,
             reply_to: str | None = None, tag: str | None = None) -> str:
        payload: dict[str, object] = {"recipient": {"id": recipient}, "message": {"text": text[:MAX_CHARS]}}
        payload["messaging_type"] = "MESSAGE_TAG" if tag else "RESPONSE"
        if tag:
            payload["tag"] = tag
        url = f"{graph_url()}/me/messages?access_token={quote(secret('facebook_page_token'), safe='')}"
        status, answer = http_json(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
        if status == 200 and isinstance(answer, dict) and answer.get("message_id"):
            return str(answer["message_id"])
        error = (answer or {}).get("error") if isinstance(answer, dict) else None
        code = _number(error.get("code")) if isinstance(error, dict) else -1
        subcode = _number(error.get("error_subcode")) if isinstance(error, dict) else -1
        reason = f"facebook HTTP {status} error {code}/{subcode}"
        # A tagged message refused for permission (10, 200: the tag not granted to the app yet) can't go
        # this way either: the same fallback as outside the window, not a silent drop.
        if (code, subcode) in _OUTSIDE_WINDOW or code in _UNAVAILABLE or (tag and code in _TAG_REFUSED):
            raise OutsideWindow(reason)
        if code in _THROTTLED or code in _TEMPORARY or status == 429 or status >= 500:
            raise DeliveryFailed(reason, transient=True)
        logger().error("facebook send refused", extra={"status": status, "code": code, "subcode": subcode})
        raise DeliveryFailed(reason, transient=False)
