"""Facebook Messenger Send API (POST <graph>/me/messages) for the fanpage channel.

Which kind of message a reply may be is the delivery's decision (chalicelib.services.delivery, where
Zalo's window is decided too): within 24 h of the person's last message a RESPONSE, from 24 h to 7
days only a staff reply tagged HUMAN_AGENT, later nothing (SMS or a call instead). This module only
sends what it is told and sorts Meta's refusals: outside the window and "person not available" are
final for this channel (another one must carry the message), throttling and Meta's own hiccups are
retried with backoff, anything else is logged and given up.

The page access token is long-lived: it is read once per container from SSM (chalicelib.secrets). It goes
in the Authorization header, never in the URL (URLs end up in logs), with `appsecret_proof` (the token's
HMAC-SHA256 keyed by the app secret) as Meta recommends: a stolen token alone can't send. Meta refusing
the token (code 190: revoked, expired, password changed) is an outage of the channel, not of one message:
it is retried like one (the message stays, then lies dead for operators) and counted for its alarm.

A text longer than Messenger's 2,000 characters goes as several messages cut at sentence (else word)
boundaries; `on_part` records each part as it goes, so a retry sends only the parts not yet sent.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable

from chalicelib.notify.base import DeliveryFailed, OutsideWindow, http_json
from chalicelib.observability import count, logger
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
_TOKEN_REFUSED = 190                       # invalid or expired access token (OAuthException)
# Where a long text may be cut: after a sentence's end or a line break, else at a space.
_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+|\n+")


def _number(value: object) -> int:
    """Meta's error code as an int; -1 when it is missing, null or not a number."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return -1


def graph_url() -> str:
    """FACEBOOK_GRAPH_URL, default the real Graph API of the version we were written against."""
    return (os.environ.get("FACEBOOK_GRAPH_URL", "").strip() or GRAPH_URL).rstrip("/")


def appsecret_proof(token: str, app_secret: str) -> str:
    """Meta's proof that a call comes from the app's server: hex HMAC-SHA256 of the token keyed by the app secret."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """`text` in parts of at most `limit` characters, cut after the last sentence end (or line break) that
    fits, else at the last space, else hard; every part is non-empty. A text that fits is one part."""
    parts: list[str] = []
    rest = text.strip() or text
    while len(rest) > limit:
        window = rest[:limit + 1]
        cut = max((m.start() for m in _SENTENCE_END.finditer(window) if 0 < m.start() <= limit), default=0)
        if cut < limit // 2:  # no sentence end in the second half: a word boundary keeps parts full
            cut = max(cut, window.rfind(" ", 0, limit + 1))
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*parts, rest] if rest or not parts else parts


class FacebookSender:
    """Sends a text to a page-scoped id (PSID): a RESPONSE, or with `tag` a MESSAGE_TAG message."""

    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None,
             reply_to: str | None = None, tag: str | None = None, parts_sent: int = 0,
             on_part: Callable[[int, str], None] | None = None) -> str:
        """Sends `text` (in parts when it is long), skipping the first `parts_sent` parts (sent by an
        earlier attempt); calls `on_part(number, message id)` after each part of a text of several.
        Returns Meta's id of the last part. Raises OutsideWindow, DeliveryFailed."""
        parts = split_text(text)
        reference = ""
        for number, part in enumerate(parts[parts_sent:], start=parts_sent + 1):
            reference = self._send_one(recipient, part, tag)
            if on_part is not None and len(parts) > 1:
                on_part(number, reference)
        return reference

    def _send_one(self, recipient: str, text: str, tag: str | None) -> str:
        payload: dict[str, object] = {"recipient": {"id": recipient}, "message": {"text": text}}
        payload["messaging_type"] = "MESSAGE_TAG" if tag else "RESPONSE"
        if tag:
            payload["tag"] = tag
        token = secret("facebook_page_token")
        url = f"{graph_url()}/me/messages?appsecret_proof={appsecret_proof(token, secret('facebook_app_secret'))}"
        status, answer = http_json(url, json.dumps(payload).encode(),
                                   {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
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
        if code == _TOKEN_REFUSED:  # every reply fails until an admin puts a new token in SSM
            logger().error("facebook page token refused", extra={"status": status, "subcode": subcode})
            count("FacebookTokenRejected")
            raise DeliveryFailed(reason, transient=True)
        if code in _THROTTLED or code in _TEMPORARY or status == 429 or status >= 500:
            raise DeliveryFailed(reason, transient=True)
        logger().error("facebook send refused", extra={"status": status, "code": code, "subcode": subcode})
        raise DeliveryFailed(reason, transient=False)
