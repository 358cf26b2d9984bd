"""Prints ready-to-run curl commands, one per provider, correctly signed for the local stack
(`make run`). Usage: python -m devstack.sign [BASE_URL] [PHONE]"""
from __future__ import annotations

import json
import shlex
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from chalicelib.channels import android_gateway, esms, zalo
from devstack.fakes import LOCAL_SECRETS as S

VN = timezone(timedelta(hours=7))  # eSMS dates its MO in Vietnamese local time, whatever this machine's zone


@dataclass(frozen=True)
class SignedRequest:
    provider: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def curl(self) -> str:
        q = shlex.quote
        parts = ["curl -s", q(self.url)] + [f"-H {q(f'{k}: {v}')}" for k, v in self.headers.items()]
        if self.body:
            parts.append(f"--data-binary {q(self.body.decode())}")
        return " ".join(parts)


def signed_requests(base: str, phone: str, text: str, zalo_user: str = "246845883529197922") -> list[SignedRequest]:
    """One correctly signed request per provider, carrying `text` from `phone` (or `zalo_user`)."""
    now_ms = str(int(time.time() * 1000))
    zalo_body = json.dumps({"app_id": S["zalo_app_id"], "user_id_by_app": "552177279717587730",
                            "event_name": "user_send_text", "timestamp": now_ms,
                            "sender": {"id": zalo_user}, "recipient": {"id": "388613280878808645"},
                            "message": {"msg_id": uuid.uuid4().hex, "text": text}}, ensure_ascii=False).encode()
    zalo_mac = zalo.signature(S["zalo_app_id"], zalo_body, now_ms, S["zalo_oa_secret_key"])
    seconds = str(int(time.time()))
    gateway_body = json.dumps({"deviceId": "phone-1", "event": "sms:received", "id": uuid.uuid4().hex,
                               "webhookId": "local", "payload": {
                                   "messageId": uuid.uuid4().hex[:8], "message": text, "phoneNumber": phone,
                                   "simNumber": 1, "receivedAt": datetime.now(VN).isoformat(timespec="milliseconds")}},
                              ensure_ascii=False).encode()
    gateway_sig = android_gateway.signature(gateway_body, seconds, S["android_gateway_signing_key"])
    smssync_form = urlencode({"from": phone, "message": text, "message_id": uuid.uuid4().hex,
                              "sent_to": "0276xxxxxxx", "secret": S["smssync_secret"], "device_id": "phone-2",
                              "sent_timestamp": str(int(time.time() * 1000))}).encode()
    mo = {"sender": "84" + phone.lstrip("0+").removeprefix("84"), "content": text, "serviceNumber": "8041",
          "keyword": text.split()[0] if text.split() else "", "cpid": S["esms_cpid"], "smsid": uuid.uuid4().hex,
          "receiverTime": datetime.now(VN).strftime("%Y%m%d%H%M%S")}
    mo["sign"] = esms.signatures(mo, S["esms_private_key"])[0]
    json_type = {"Content-Type": "application/json"}
    return [
        SignedRequest("zalo", "POST", f"{base}/webhooks/zalo", {**json_type, "X-ZEvent-Signature": f"mac={zalo_mac}"},
                      zalo_body),
        SignedRequest("android_gateway", "POST", f"{base}/webhooks/sms/android-gateway",
                      {**json_type, "X-Timestamp": seconds, "X-Signature": gateway_sig}, gateway_body),
        SignedRequest("smssync", "POST", f"{base}/webhooks/sms/smssync",
                      {"Content-Type": "application/x-www-form-urlencoded"}, smssync_form),
        SignedRequest("esms", "GET", f"{base}/webhooks/sms/esms?{urlencode(mo)}", {}, b""),
    ]


if __name__ == "__main__":
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    sender = sys.argv[2] if len(sys.argv) > 2 else "0912345678"
    for request in signed_requests(base_url, sender, "Duong Tran Hung Dao bi ngap sau, xe chet may nhieu"):
        print(f"# {request.provider}\n{request.curl()}\n")
