"""Sends SMS through eSMS.vn's REST API (SendMultipleMessage_V4_post_json; CodeResult 100 = accepted)."""
from __future__ import annotations

import json
import os
import uuid

from chalicelib.config import settings
from chalicelib.notify.base import DeliveryFailed, http_json, raise_for_http
from chalicelib.secrets import secret

_RETRYABLE = {"99", "102"}  # unknown error / system busy: worth another try later


class EsmsSender:
    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None,
             reply_to: str | None = None) -> str:
        base = os.environ.get("ESMS_API_BASE", "https://rest.esms.vn").rstrip("/")
        body = json.dumps({
            "ApiKey": secret("esms_api_key"), "SecretKey": secret("esms_secret_key"),
            "Phone": recipient.lstrip("+"), "Content": text, "SmsType": "2", "IsUnicode": "0",
            "Brandname": settings().esms_brandname, "RequestId": str(uuid.uuid4()),
        }).encode()
        status, answer = http_json(f"{base}/MainService.svc/json/SendMultipleMessage_V4_post_json/", body,
                                   {"Content-Type": "application/json"})
        raise_for_http(status, "esms")
        code = str((answer or {}).get("CodeResult", ""))
        if code != "100":
            raise DeliveryFailed(f"esms CodeResult {code or 'missing'}", transient=code in _RETRYABLE)
        return str(answer.get("SMSID", ""))
