"""Correctly signed webhook requests over any body: the providers' schemes (channels/*.py) with the
local stack's secrets (devstack/fakes.py LOCAL_SECRETS, which `make run` and the `providers`
fixture store in the emulator's SSM)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from chalicelib.channels import android_gateway, esms, facebook, zalo
from devstack.fakes import LOCAL_SECRETS as S

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Signed:
    method: str
    path: str          # the route path, query string included
    headers: dict[str, str]
    body: bytes


def now_ms() -> str:
    return str(int(time.time() * 1000))


def zalo_event(event: dict[str, Any] | bytes, timestamp: str | None = None) -> Signed:
    """A Zalo event signed as Zalo signs it: sha256(app_id + raw body + body's timestamp + OA key).
    A dict gets a fresh `timestamp` unless it has one; raw bytes are signed with `timestamp`."""
    if isinstance(event, dict):
        event = {"timestamp": now_ms(), **event}
        raw = json.dumps(event, ensure_ascii=False).encode()
        timestamp = str(event["timestamp"])
    else:
        raw = event
    mac = zalo.signature(S["zalo_app_id"], raw, timestamp or "", S["zalo_oa_secret_key"])
    return Signed("POST", "/webhooks/zalo", {**JSON, "X-ZEvent-Signature": f"mac={mac}"}, raw)


def facebook_event(raw: bytes) -> Signed:
    """A Messenger POST signed as Meta signs it: X-Hub-Signature-256 = sha256=<HMAC-SHA256(app secret, body)>."""
    return Signed("POST", "/webhooks/facebook",
                  {**JSON, "X-Hub-Signature-256": facebook.signature(raw, S["facebook_app_secret"])}, raw)


def android_gateway_event(raw: bytes) -> Signed:
    stamp = str(int(time.time()))
    signature = android_gateway.signature(raw, stamp, S["android_gateway_signing_key"])
    return Signed("POST", "/webhooks/sms/android-gateway", {**JSON, "X-Timestamp": stamp, "X-Signature": signature},
                  raw)


def smssync_message(fields: dict[str, str]) -> Signed:
    return Signed("POST", "/webhooks/sms/smssync", FORM,
                  urlencode({**fields, "secret": S["smssync_secret"]}).encode())


def smssync_sent(raw: bytes) -> Signed:
    return Signed("POST", "/webhooks/sms/smssync?" + urlencode({"task": "sent", "secret": S["smssync_secret"]}),
                  JSON, raw)


def esms_mo(params: dict[str, str]) -> Signed:
    """An eSMS MO with cpid and a valid hex sign over whatever the other parameters are."""
    signed = {**params, "cpid": S["esms_cpid"]}
    signed["sign"] = esms.signatures(signed, S["esms_private_key"])[0]
    return Signed("GET", "/webhooks/sms/esms?" + urlencode(signed), {}, b"")
