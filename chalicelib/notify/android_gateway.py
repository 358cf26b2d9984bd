"""Sends SMS through the capcom6 android-sms-gateway phone that received the citizen's SMS
(local or private-server mode: POST {base}/message, Basic auth)."""
from __future__ import annotations

import base64
import json

from chalicelib.config import settings
from chalicelib.notify.base import DeliveryFailed, http_json, raise_for_http
from chalicelib.secrets import secret


class AndroidGatewaySender:
    def send(self, recipient: str, text: str, subject: str | None = None, html: str | None = None,
             reply_to: str | None = None) -> str:
        base = settings().android_gateway_url
        if not base:
            raise DeliveryFailed("ANDROID_GATEWAY_URL is not configured", transient=False)
        credentials = f"{secret('android_gateway_user')}:{secret('android_gateway_password')}"
        headers = {"Content-Type": "application/json",
                   "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
        body = json.dumps({"textMessage": {"text": text}, "phoneNumbers": [recipient]}).encode()
        status, answer = http_json(f"{base}/message", body, headers)
        raise_for_http(status, "android_gateway")
        return str((answer or {}).get("id", ""))
