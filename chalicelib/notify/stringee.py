"""Outbound calls through Stringee's REST API (reference/telephony.md §5): POST /v1/call2/callout,
authorised by a short-lived HS256 JWT made from the project's API key (X-STRINGEE-AUTH).

A click-to-call is one callout: Stringee rings `to` (the operator's softphone or phone) from the
hotline's number and, once answered, runs `actions` (an SCCO: `connect` to the citizen).
"""
from __future__ import annotations

import json
import time

from chalicelib.notify.base import DeliveryFailed, http_json, raise_for_http
from chalicelib.secrets import MissingSecret, secret

CALLOUT_PATH = "/v1/call2/callout"
TOKEN_LIFETIME_S = 3600
JWT_CONTENT_TYPE = "stringee-api;v=1"


def api_token(key_sid: str, key_secret: str, now: float | None = None) -> str:
    """Returns the REST API JWT: HS256 under the API key secret, header cty 'stringee-api;v=1',
    payload {jti, iss = the key's SID, exp, rest_api: true}."""
    import jwt  # lazy: only the click-to-call path pays for it

    issued = int(time.time() if now is None else now)
    payload = {"jti": f"{key_sid}-{issued}", "iss": key_sid, "exp": issued + TOKEN_LIFETIME_S, "rest_api": True}
    return jwt.encode(payload, key_secret, algorithm="HS256", headers={"typ": "JWT", "cty": JWT_CONTENT_TYPE})


def callout(from_number: str, to: list[tuple[str, str]], actions: list[dict], custom: str) -> str:
    """Places a call from `from_number` (the hotline's DID, E.164 or as Stringee knows it) to each
    (type, number) of `to` ('internal': a Stringee user id, 'external': a phone number), running
    `actions` once answered; `custom` comes back in every event of the call (clientCustomData).

    Returns Stringee's call id, or `custom` when the answer carries none. Raises DeliveryFailed:
    transient for network errors, HTTP 429 and 5xx; not for refusals (r != 0, other HTTP errors).
    """
    from chalicelib.config import settings

    if not to:
        raise ValueError("a callout needs at least one callee")
    body = {
        "from": {"type": "external", "number": from_number.lstrip("+"), "alias": from_number.lstrip("+")},
        "to": [{"type": kind, "number": number.lstrip("+") if kind == "external" else number,
                "alias": number.lstrip("+") if kind == "external" else number} for kind, number in to],
        "actions": actions,
        "customData": custom,
    }
    try:
        token = api_token(secret("stringee_api_key_sid"), secret("stringee_api_key_secret"))
    except MissingSecret as missing:  # a deployment error: the call back is refused, with the reason logged
        from chalicelib.observability import logger

        logger().error("stringee callout: API key not configured", extra={"secret": str(missing)})
        raise DeliveryFailed("stringee API key not configured", transient=False) from None
    status, answer = http_json(settings().stringee_api_url + CALLOUT_PATH,
                               json.dumps(body, ensure_ascii=False).encode("utf-8"),
                               {"Content-Type": "application/json", "X-STRINGEE-AUTH": token})
    code = answer.get("r") if isinstance(answer, dict) else None
    if status >= 400 and code is not None:
        # a refusal Stringee explains (bad token, no such number): not worth retrying unless it is busy
        reason = f"stringee HTTP {status} r={code}"
        raise DeliveryFailed(reason, transient=status == 429 or status >= 500)
    raise_for_http(status, "stringee")
    if code != 0:
        raise DeliveryFailed(f"stringee r={code if code is not None else 'missing'}", transient=False)
    call_id = answer.get("call_id") or answer.get("callId")
    return str(call_id) if call_id else custom
