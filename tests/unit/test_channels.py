"""Provider adapters with real-format payloads and signatures computed per the providers' specs."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest

from chalicelib.channels import android_gateway, esms, smssync, zalo
from chalicelib.channels.base import PayloadInvalid, SignatureInvalid

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
NOW_MS = str(int(NOW.timestamp() * 1000))


def test_zalo_signature_matches_the_documented_construction() -> None:
    # The check value from reference/channels.md §1.3 (sha256 of app_id + body + timestamp + OA secret)
    body = b'{"app_id":"123","event_name":"user_send_text","timestamp":"1700000000000"}'
    assert zalo.signature("123", body, "1700000000000", "s3cr3t") == \
        "e9bf8587674423c50637b1682d4ec080fe4ce64549879ac750caffd9919608b9"


def _zalo_body(**message: object) -> bytes:
    return json.dumps({"app_id": "42", "user_id_by_app": "552177279717587730", "event_name": "user_send_text",
                       "timestamp": NOW_MS, "sender": {"id": "246845883529197922"},
                       "recipient": {"id": "388613280878808645"},
                       "message": {"msg_id": "96d3cdf3af150460909", "text": "Đèn đường hỏng", **message}}).encode()


@pytest.mark.parametrize("prefix", ["", "mac=", "mac= ", "MAC="])
def test_zalo_accepts_the_header_with_or_without_mac_prefix(prefix: str) -> None:
    raw = _zalo_body()
    header = prefix + zalo.signature("42", raw, NOW_MS, "oa-secret")
    message = zalo.parse(zalo.verify(raw, header, "42", "oa-secret", NOW))
    assert message is not None and message.sender == "246845883529197922"
    assert message.provider_message_id == "96d3cdf3af150460909" and message.text == "Đèn đường hỏng"


@pytest.mark.parametrize("case", ["missing", "wrong secret", "app secret instead", "body changed", "stale",
                                  "hmac instead of sha256"])
def test_zalo_refuses_bad_signatures(case: str) -> None:
    raw = _zalo_body()
    header = {
        "missing": None,
        "wrong secret": zalo.signature("42", raw, NOW_MS, "other"),
        "app secret instead": zalo.signature("42", raw, NOW_MS, "app-secret"),
        "body changed": zalo.signature("42", raw + b" ", NOW_MS, "oa-secret"),
        "stale": zalo.signature("42", raw, NOW_MS, "oa-secret"),
        "hmac instead of sha256": hmac.new(b"oa-secret", raw, hashlib.sha256).hexdigest(),
    }[case]
    now = NOW.replace(hour=12) if case == "stale" else NOW
    with pytest.raises(SignatureInvalid):
        zalo.verify(raw, header, "42", "oa-secret", now)


def test_zalo_image_location_and_follow_events() -> None:
    image = json.loads(_zalo_body())
    image.update(event_name="user_send_image")
    image["message"]["attachments"] = [{"type": "image", "payload": {"url": "https://zalo/img.jpg", "thumbnail": "t"}}]
    parsed = zalo.parse(image)
    assert parsed is not None and parsed.attachments[0]["url"] == "https://zalo/img.jpg"
    location = json.loads(_zalo_body())
    location.update(event_name="user_send_location")
    location["message"]["attachments"] = [{"type": "location", "payload": {
        "coordinates": {"latitude": "11.3101", "longitude": "106.0983"}}}]
    assert zalo.parse(location).location == (11.3101, 106.0983)
    follow = {"event_name": "follow", "timestamp": NOW_MS, "app_id": "42", "oa_id": "1",
              "follower": {"id": "246845883529197922"}, "source": "oa_profile"}
    assert zalo.parse(follow).kind == "follow"
    assert zalo.parse({"event_name": "oa_send_text", "timestamp": NOW_MS}) is None  # our own echo: ignored
    with pytest.raises(PayloadInvalid):
        zalo.parse({"event_name": "user_send_text", "timestamp": NOW_MS, "sender": {}})


def _gateway_body(phone: str = "0912345678") -> bytes:
    return json.dumps({"deviceId": "dev-1", "event": "sms:received", "id": "Ey6ECgOkVVFjz3CL48B8C",
                       "webhookId": "w1", "payload": {"messageId": "abc123", "message": "MOI den hong",
                                                      "phoneNumber": phone, "simNumber": 1,
                                                      "receivedAt": "2026-11-28T16:59:00.000+07:00"}}).encode()


def test_android_gateway_hmac_over_body_and_timestamp() -> None:
    raw, ts = _gateway_body(), str(int(NOW.timestamp()))
    good = hmac.new(b"key", raw + ts.encode(), hashlib.sha256).hexdigest()
    android_gateway.verify(raw, good, ts, "key", NOW)
    message = android_gateway.parse(raw)
    assert message is not None and message.sender == "+84912345678" and message.reply_via == "android_gateway:dev-1"
    for header, stamp in ((good.upper()[:-1] + "0", ts), (None, ts), (good, None), (good, str(int(ts) - 301)),
                          (hmac.new(b"key", raw, hashlib.sha256).hexdigest(), ts)):
        with pytest.raises(SignatureInvalid):
            android_gateway.verify(raw, header, stamp, "key", NOW)


def test_android_gateway_unreadable_payloads_are_invalid_not_dropped() -> None:
    with pytest.raises(PayloadInvalid):
        android_gateway.parse(_gateway_body(phone="not-a-phone"))
    with pytest.raises(PayloadInvalid):
        android_gateway.parse(b"{not json")
    assert android_gateway.parse(b'{"event":"system:ping"}') is None


def test_smssync_shared_secret_form_and_replies() -> None:
    fields = {"from": "+84987654321", "message": "TT TN-7KXQ4M", "message_id": "m-1", "sent_to": "0276",
              "secret": "s", "device_id": "phone-2", "sent_timestamp": "1795850000000"}
    smssync.verify("s", "s")
    with pytest.raises(SignatureInvalid):
        smssync.verify("S", "s")
    with pytest.raises(SignatureInvalid):
        smssync.verify(None, "s")
    message = smssync.parse(fields, NOW)
    assert message.sender == "+84987654321" and message.reply_via == "smssync:phone-2"
    assert message.received_at.year == 2026
    assert smssync.accepted() == {"payload": {"success": True, "error": None}}
    task = smssync.task_send("s", [("u1", "+84987654321", "hi")])
    assert task == {"payload": {"task": "send", "secret": "s",
                                "messages": [{"uuid": "u1", "to": "+84987654321", "message": "hi"}]}}
    with pytest.raises(PayloadInvalid):
        smssync.parse({**fields, "message_id": ""}, NOW)


def test_esms_signature_hex_or_base64_and_xml_reply() -> None:
    params = {"sender": "84912345678", "content": "Đèn hỏng", "serviceNumber": "8041", "keyword": "Den",
              "cpid": "cp1", "smsid": "s-99", "receiverTime": "20261128170000"}
    digest = hashlib.md5(b"cp1" + b"s-99" + "Đèn hỏng".encode() + b"20261128170000" + b"pk").digest()
    for sign in (digest.hex(), base64.b64encode(digest).decode()):
        esms.verify({**params, "sign": sign}, "pk", "cp1", NOW)
    for bad in ({**params, "sign": "x"}, {**params, "sign": digest.hex(), "cpid": "cp2"}, params):
        with pytest.raises(SignatureInvalid):
            esms.verify(bad, "pk", "cp1", NOW)
    message = esms.parse(params)
    assert message.sender == "+84912345678" and message.received_at.hour == 17 and message.reply_via == "esms:8041"
    assert esms.reply("s-99", "84912345678", "A & B") == \
        "<ClientResponse><Message>A &amp; B</Message><Smsid>s-99</Smsid><Receiver>84912345678</Receiver></ClientResponse>"
