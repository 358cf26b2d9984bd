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

from chalicelib.channels import android_gateway, esms, facebook, zalo
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


def messenger_body(items: list[list[dict[str, object]]], page: str = "104857600000001") -> bytes:
    """A Messenger webhook body: one entry per list of messaging items (Meta batches them so)."""
    stamp = int(time.time() * 1000)
    return json.dumps({"object": "page", "entry": [{"id": page, "time": stamp, "messaging": entry} for entry in items]},
                      ensure_ascii=False).encode()


def messenger_item(psid: str, text: str = "", page: str = "104857600000001", mid: str | None = None,
                   echo: bool = False, **message: object) -> dict[str, object]:
    """A citizen's message to the page (or, with `echo`, the page's own message echoed back)."""
    people = {"sender": {"id": page}, "recipient": {"id": psid}} if echo else {"sender": {"id": psid},
                                                                            "recipient": {"id": page}}
    return {**people, "timestamp": int(time.time() * 1000),
            "message": {"mid": mid or f"m_{uuid.uuid4().hex}", **({"text": text} if text else {}),
                        **({"is_echo": True} if echo else {}), **message}}


def messenger_requests(base: str, psid: str, text: str) -> list[SignedRequest]:
    """Signed Messenger POSTs: a text, an image, an echo, a batch of two entries, a redelivery of the text, the
    "Get Started" button (the welcome) and a read receipt (our messages to `psid` so far are read)."""
    def signed(name: str, raw: bytes) -> SignedRequest:
        return SignedRequest(name, "POST", f"{base}/webhooks/facebook", {
            "Content-Type": "application/json", "X-Hub-Signature-256": facebook.signature(raw, S["facebook_app_secret"])},
            raw)

    first = messenger_body([[messenger_item(psid, text)]])
    people, now_ms = {"sender": {"id": psid}, "recipient": {"id": "104857600000001"}}, int(time.time() * 1000)
    photo = {"attachments": [{"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/local.jpg"}}]}
    return [signed("facebook", first),
            signed("facebook image", messenger_body([[messenger_item(psid, **photo)]])),
            signed("facebook echo", messenger_body([[messenger_item(psid, "Trang đã nhận", echo=True)]])),
            signed("facebook batch", messenger_body([[messenger_item(psid, "Bổ sung: ở gần chợ")],
                                                     [messenger_item(psid + "1", text)]])),
            signed("facebook redelivery", first),
            signed("facebook get started", messenger_body([[{**people, "timestamp": now_ms, "postback": {
                "title": "Get Started", "payload": "GET_STARTED", "mid": f"m_{uuid.uuid4().hex}"}}]])),
            signed("facebook read", messenger_body([[{**people, "timestamp": now_ms, "read": {"watermark": now_ms}}]]))]


def signed_requests(base: str, phone: str, text: str, zalo_user: str = "246845883529197922") -> list[SignedRequest]:
    """One correctly signed request per provider, carrying `text` from `phone` (or `zalo_user`);
    Messenger's come from messenger_requests."""
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
    sample = "Duong Tran Hung Dao bi ngap sau, xe chet may nhieu"
    for request in signed_requests(base_url, sender, sample) + messenger_requests(base_url, "6543210987654321",
                                                                                  sample):
        print(f"# {request.provider}\n{request.curl()}\n")
    print("# facebook handshake\ncurl -s '" + base_url + "/webhooks/facebook?hub.mode=subscribe&hub.verify_token="
          + S["facebook_verify_token"] + "&hub.challenge=42'")
