"""Zalo OA consultation messages (POST /v3.0/oa/message/cs) and the one token refresher.

The refresh token is single-use and rotates on every refresh, so two refreshers racing would burn
it. The token pair lives in an SSM SecureString with a `generation`; a refresher must hold a
DynamoDB lease, and re-reads the parameter after taking it, so a refresh somebody else just did is
used instead of repeated.
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
from chalicelib.observability import logger
from chalicelib.secrets import secret
from chalicelib.store import leases

LEASE = "zalo-token"
REFRESH_BEFORE_S = 2 * 3600
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


class ZaloSender:
    """Sends a consultation text; refreshes the token once when Zalo rejects it."""

    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None) -> str:
        token = read_token()
        if token.expires_at - time.time() < 300:
            token = refresh()
        try:
            return self._send(recipient, text, token)
        except TokenRejected:
            return self._send(recipient, text, refresh(seen_generation=token.generation))

    def _send(self, recipient: str, text: str, token: Token) -> str:
        base = os.environ.get("ZALO_API_BASE", "https://openapi.zalo.me").rstrip("/")
        body = json.dumps({"recipient": {"user_id": recipient}, "message": {"text": text[:2000]}}).encode()
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
