"""The one interface every outbound sender implements, its errors, and a small HTTP client
(urllib: nothing extra to ship, and a timeout on every call so a slow provider can't hang a worker)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Protocol

TIMEOUT_S = 8


class DeliveryFailed(Exception):
    """The provider did not take the message. `transient` ones are retried with backoff."""

    def __init__(self, reason: str, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class OutsideWindow(DeliveryFailed):
    """Zalo refuses: the user has not interacted for 7 days. Another channel must carry it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, transient=False)


class TokenRejected(DeliveryFailed):
    """Zalo says the access token is invalid or expired: refresh once, then retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, transient=True)


class Sender(Protocol):
    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None,
             reply_to: str | None = None) -> str:
        """Sends `text` (email: with `subject` and an `html` part); returns the provider's message
        id. `reply_to` is the provider's id of the citizen message this one answers (Zalo quotes
        it: a quoted reply is a free consultation message, not a paid proactive one); the other
        providers ignore it. Raises DeliveryFailed."""


def http_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POSTs `body`; returns (status, parsed JSON or None). Network errors are transient failures."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - configured https URLs
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise DeliveryFailed(f"network: {type(exc).__name__}", transient=True) from exc
    try:
        return status, json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return status, None


def raise_for_http(status: int, provider: str) -> None:
    """Raises DeliveryFailed for a non-2xx status: 429 and 5xx are worth retrying, others are not."""
    if 200 <= status < 300:
        return
    raise DeliveryFailed(f"{provider} HTTP {status}", transient=status == 429 or status >= 500)
