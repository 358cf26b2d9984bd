"""Zalo OA consultation messages (POST /v3.0/oa/message/cs) and the one token refresher.

The refresh token is single-use and rotates on every refresh, so two refreshers racing would burn
it. The token pair lives in an SSM SecureString with a `generation`; a refresher must hold a
DynamoDB lease, and re-reads the parameter after taking it, so a refresh somebody else just did is
used instead of repeated.

Senders keep the access token in memory for the life of the container (not one SSM read per
message): they read SSM again only when the token is about to expire or Zalo rejects it, and then
take whatever newer generation the refresher stored, refreshing themselves only if there is none.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

from chalicelib import aws
from chalicelib.notify.base import DeliveryFailed, OutsideWindow, TokenRejected, http_json
from chalicelib.observability import count, logger
from chalicelib.secrets import secret
from chalicelib.store import leases

LEASE = "zalo-token"
# Longer than the scheduled refresher's 12 h period, so it always renews the 25 h token before it
# expires (every 12-24 h): senders never wait on a refresh, and the refresh chain stays fresh.
REFRESH_BEFORE_S = 13 * 3600
USE_UNTIL_S = 300  # a sender stops using a token this close to its expiry
_OUTSIDE_WINDOW = {-230, -232, -227, -213}
_TOKEN = {-216, -220}
_RATE = {-32}


@dataclass(frozen=True)
class Token:
    access_token: str
    refresh_token: str
    expires_at: float
    generation: int


def _parameter() -> str:
    return os.environ.get("ZALO_TOKEN_PARAMETER") or f"{os.environ.get('SSM_PREFIX', '/hotline1022/prod')}/zalo/token"


def read_token() -> Token:
    """Returns the stored token pair (one SSM call)."""
    value = aws.client("ssm").get_parameter(Name=_parameter(), WithDecryption=True)["Parameter"]["Value"]
    data = json.loads(value)
    return Token(data["access_token"], data["refresh_token"], float(data["expires_at"]), int(data["generation"]))


def write_token(token: Token, attempts: int = 5) -> None:
    """Stores the token pair. Retried with backoff: the refresh token Zalo just rotated is the only
    one that works now, so losing this write would force a human to re-authorise the OA."""
    from botocore.exceptions import BotoCoreError, ClientError

    value = json.dumps({"access_token": token.access_token, "refresh_token": token.refresh_token,
                        "expires_at": token.expires_at, "generation": token.generation})
    for attempt in range(attempts):
        try:
            aws.client("ssm").put_parameter(Name=_parameter(), Type="SecureString", Overwrite=True, Value=value)
            return
        except (BotoCoreError, ClientError):
            if attempt == attempts - 1:
                logger().error("zalo token not stored: re-authorisation may be needed",
                               extra={"generation": token.generation})
                raise
            time.sleep(0.2 * 2 ** attempt)


def refresh(seen_generation: int | None = None, now: datetime | None = None) -> Token:
    """Returns a token at least one generation newer than `seen_generation` (or one not close to
    expiry when None), refreshing through Zalo only as the lease holder.

    Raises DeliveryFailed (transient) when another worker holds the lease and has not finished.
    """
    now = now or datetime.now(timezone.utc)
    current = read_token()
    if _fresh_enough(current, seen_generation, now):
        return current
    holder = str(uuid.uuid4())
    if not leases.acquire(LEASE, holder, now):
        raise DeliveryFailed("zalo token refresh in progress elsewhere", transient=True)
    try:
        current = read_token()  # someone may have refreshed between our read and the lease
        if _fresh_enough(current, seen_generation, now):
            return current
        renewed = _call_refresh(current, now)
        write_token(renewed)
        logger().info("zalo token refreshed", extra={"generation": renewed.generation})
        count("ZaloTokenRefreshed")  # the alarm "token not refreshed for a day" watches this
        return renewed
    finally:
        leases.release(LEASE, holder)


def _fresh_enough(token: Token, seen_generation: int | None, now: datetime) -> bool:
    if seen_generation is not None:
        return token.generation > seen_generation
    return token.expires_at - now.timestamp() > REFRESH_BEFORE_S


def _call_refresh(current: Token, now: datetime) -> Token:
    base = os.environ.get("ZALO_OAUTH_BASE", "https://oauth.zaloapp.com").rstrip("/")
    body = urlencode({"refresh_token": current.refresh_token, "app_id": secret("zalo_app_id"),
                      "grant_type": "refresh_token"}).encode()
    status, answer = http_json(f"{base}/v4/oa/access_token", body, {
        "Content-Type": "application/x-www-form-urlencoded", "secret_key": secret("zalo_app_secret_key")})
    if status != 200 or not isinstance(answer, dict) or "access_token" not in answer:
        # Any refusal other than a rate limit means a human must re-authorise the OA.
        error = (answer or {}).get("error") if isinstance(answer, dict) else None
        raise DeliveryFailed(f"zalo refresh refused ({error or status})", transient=error in _RATE or status >= 500)
    return Token(answer["access_token"], answer["refresh_token"], now.timestamp() + int(answer["expires_in"]),
                 current.generation + 1)


_cached: Token | None = None  # this container's access token (see the module docstring)


def _token_for_sending() -> Token:
    """The cached token while it is good for a while yet; else the stored one (one SSM read),
    refreshed first if it is about to expire too."""
    global _cached
    token = _cached
    if token is None or token.expires_at - time.time() < USE_UNTIL_S:
        token = read_token()
        if token.expires_at - time.time() < USE_UNTIL_S:
            token = refresh()
        _cached = token
    return token


def forget_token() -> None:
    """Drops this container's cached token (the next send reads SSM)."""
    global _cached
    _cached = None


class ZaloSender:
    """Sends a consultation text, quoting the citizen's message it answers; when Zalo rejects the
    token, takes a newer one (or refreshes) once and sends again."""

    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None,
             reply_to: str | None = None) -> str:
        global _cached
        token = _token_for_sending()
        try:
            return self._send(recipient, text, reply_to, token)
        except TokenRejected:
            _cached = refresh(seen_generation=token.generation)  # re-reads SSM first: maybe already renewed
            return self._send(recipient, text, reply_to, _cached)

    def _send(self, recipient: str, text: str, reply_to: str | None, token: Token) -> str:
        base = os.environ.get("ZALO_API_BASE", "https://openapi.zalo.me").rstrip("/")
        message = {"text": text[:2000]}
        if reply_to:
            # Quoting the user's message makes this a reply (free within the window), not a paid
            # proactive message (reference/channels.md §1.4, §1.6).
            message["react_message_id"] = reply_to
        body = json.dumps({"recipient": {"user_id": recipient}, "message": message}).encode()
        status, answer = http_json(f"{base}/v3.0/oa/message/cs", body, {
            "Content-Type": "application/json", "access_token": token.access_token})
        if status >= 500 or status == 429:
            raise DeliveryFailed(f"zalo HTTP {status}", transient=True)
        error = int((answer or {}).get("error", -1)) if isinstance(answer, dict) else -1
        if error == 0:
            return str(answer.get("data", {}).get("message_id", ""))
        reason = f"zalo error {error}"
        if error in _OUTSIDE_WINDOW:
            raise OutsideWindow(reason)
        if error in _TOKEN:
            raise TokenRejected(reason)
        raise DeliveryFailed(reason, transient=error in _RATE)
