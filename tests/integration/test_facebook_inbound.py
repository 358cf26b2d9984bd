"""The fanpage's inbound side on the emulator, through the real route and consumers: Meta's
verification handshake, X-Hub-Signature-256 on the raw body, batched entries, echoes, redeliveries
of one `mid`, threading by PSID and `TT <code>` answered to the PSID that reported it."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.channels import facebook
from chalicelib.config import settings
from chalicelib.domain.messages import InboundMessage
from chalicelib.services import conversations
from chalicelib.store import outbound, tickets
from devstack.fakes import LOCAL_SECRETS as S
from tests.conftest import drain
from tests.integration.test_channels import pump
from tests.integration.test_replays import _items, _rejections, nothing_stored  # noqa: F401 - the fixture

JSON = {"Content-Type": "application/json"}
PAGE = "104857600000001"


@pytest.fixture(autouse=True)
def _empty_queues(stack: Any, providers: Any, sqs: Any) -> None:
    for url in (settings().inbound_queue_url, settings().routing_queue_url, settings().notifications_queue_url):
        drain(sqs, url)


def psid() -> str:
    return str(uuid.uuid4().int % 10**16)


def item(sender: str, text: str = "", mid: str | None = None, **message: Any) -> dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": PAGE}, "timestamp": int(time.time() * 1000),
            "message": {"mid": mid or f"m_{uuid.uuid4().hex}", **({"text": text} if text else {}), **message}}


def body(*entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": PAGE, "time": int(time.time() * 1000), "messaging": m}
                                                   for m in entries]}, ensure_ascii=False).encode()


def post(client: Any, raw: bytes, **headers: str) -> Any:
    if not headers:
        headers = {"X-Hub-Signature-256": facebook.signature(raw, S["facebook_app_secret"])}
    return client.http.post("/webhooks/facebook", headers={**JSON, **headers}, body=raw)


def sent_to(providers: Any, recipient: str) -> list[str]:
    return [m["text"] for m in providers.state.outbox if m["to"] == recipient]


def test_the_handshake_echoes_the_challenge_only_for_our_verify_token(client: Any,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": S["facebook_verify_token"], "hub.challenge": "1158201444"}
    answer = client.http.get("/webhooks/facebook?" + urlencode(query))
    assert answer.status_code == 200 and answer.body == b"1158201444"
    capsys.readouterr()
    for wrong in ({**query, "hub.verify_token": "guess"}, {k: v for k, v in query.items() if k != "hub.verify_token"},
                  {**query, "hub.mode": "unsubscribe"}):
        refused = client.http.get("/webhooks/facebook?" + urlencode(wrong))
        assert refused.status_code == 403 and b"1158201444" not in refused.body
    assert _rejections(capsys) == [("facebook", "verify_token")] * 3


def test_unsigned_wrongly_signed_sha1_only_or_altered_posts_are_refused_with_nothing_stored(
        client: Any, nothing_stored: None, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811 - the imported fixture
    raw = body([item(psid(), "Cống bị tắc ở ngõ 5")])
    secret = S["facebook_app_secret"].encode()
    good = facebook.signature(raw, S["facebook_app_secret"])
    capsys.readouterr()
    cases = [
        {},                                                                    # missing
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},                          # wrong
        {"X-Hub-Signature-256": facebook.signature(raw, "another-app-secret")},  # another app's secret
        {"X-Hub-Signature": "sha1=" + hmac.new(secret, raw, hashlib.sha1).hexdigest()},  # SHA-1 only
        {"X-Hub-Signature-256": good[len("sha256="):]},                         # no 'sha256=' prefix
    ]
    for headers in cases:
        assert client.http.post("/webhooks/facebook", headers={**JSON, **headers}, body=raw).status_code == 401
    altered = raw.replace("ngõ 5".encode(), "ngõ 6".encode())
    assert post(client, altered, **{"X-Hub-Signature-256": good}).status_code == 401
    assert _rejections(capsys) == [("facebook", "signature")] * (len(cases) + 1)


def test_a_batched_post_makes_one_ticket_per_sender_and_skips_echoes_and_receipts(client: Any,
                                                                                  providers: Any) -> None:
    first, second, third = psid(), psid(), psid()
    echo = {"sender": {"id": PAGE}, "recipient": {"id": first}, "timestamp": int(time.time() * 1000),
            "message": {"mid": f"m_{uuid.uuid4().hex}", "is_echo": True, "text": "Trang đã trả lời"}}
    receipt = {"sender": {"id": first}, "recipient": {"id": PAGE}, "timestamp": int(time.time() * 1000),
               "delivery": {"mids": ["m_x"], "watermark": 1}}
    photo = {"attachments": [{"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/a.jpg"}}]}
    place = {"attachments": [{"type": "location", "payload": {"coordinates": {"lat": 10.36, "long": 106.36}}}]}
    raw = body([item(first, "Đèn đường ấp 3 tắt cả tuần", **photo), echo, receipt],
               [item(second, "Sạt lở bờ kênh", **place), item(third, "Hỏi thủ tục cấp phép xây dựng",
                                                              quick_reply={"payload": "HOI_DAP"})])
    assert post(client, raw).status_code == 200
    pump()
    (one,), (two,), (three,) = tickets.by_zalo(first), tickets.by_zalo(second), tickets.by_zalo(third)
    assert [t.channel for t in (one, two, three)] == ["facebook"] * 3
    assert one.text == "Đèn đường ấp 3 tắt cả tuần" and "Trang đã trả lời" not in one.text
    assert [a["key"] for a in one.attachments] == ["https://scontent.xx.fbcdn.net/v/a.jpg"]
    assert (two.lat, two.lon) == (10.36, 106.36)
    assert tickets.by_zalo(PAGE) == []  # the page's own echo opened nothing
    for person, ticket in ((first, one), (second, two), (third, three)):
        assert ticket.tracking_code in "".join(sent_to(providers, person))  # acknowledged in Messenger


def test_fifty_redeliveries_of_one_mid_make_one_ticket_and_one_acknowledgement(client: Any, providers: Any) -> None:
    person, mid = psid(), f"m_{uuid.uuid4().hex}"
    message = item(person, "Cây đổ chắn đường liên xã", mid=mid)
    for round_ in range(50):  # Meta redelivers, sometimes inside a batch with another page event
        read = {"sender": {"id": person}, "recipient": {"id": PAGE}, "timestamp": 1, "read": {"watermark": round_}}
        raw = body([message]) if round_ % 2 else body([message], [read])
        assert post(client, raw).status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(person)
    # past SQS's five-minute deduplication, the consumer's own marker still holds
    again = InboundMessage(channel="facebook", provider="facebook", provider_message_id=mid, sender=person,
                           text="Cây đổ chắn đường liên xã", received_at=ticket.created_at, reply_via="facebook")
    assert conversations.receive(again) == "duplicate"
    pump()
    assert [m.kind for m in outbound.of_ticket(ticket.tracking_code)].count("ack") == 1
    assert len(sent_to(providers, person)) == 1


def test_a_second_message_threads_by_psid_and_tt_code_is_answered_only_to_its_reporter(
        client: Any, providers: Any) -> None:
    person, stranger = psid(), psid()
    assert post(client, body([item(person, "Nước sinh hoạt có mùi lạ ở khu phố 2")])).status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(person)
    assert post(client, body([item(person, "Bổ sung: từ sáng nay")])).status_code == 200
    assert post(client, body([item(person, f"TT {ticket.tracking_code}"), item(stranger, f"TT {ticket.tracking_code}")
                              ])).status_code == 200
    pump()
    assert [t.tracking_code for t in tickets.by_zalo(person)] == [ticket.tracking_code]  # appended, not a new one
    assert tickets.by_zalo(stranger) == []
    status = sent_to(providers, person)[-1]
    assert ticket.tracking_code in status and "Nước sinh hoạt" not in status
    (refusal,) = sent_to(providers, stranger)
    assert ticket.tracking_code not in refusal  # a stranger learns nothing about someone else's ticket


def test_an_unreadable_item_is_quarantined_alone_and_the_batchs_good_message_is_queued(client: Any, sqs: Any) -> None:
    before = len(outbound.quarantined(limit=500))
    good = item(psid(), "Đèn đường hỏng")
    raw = body([{"sender": {"id": ["not", "an", "id"]}, "recipient": {"id": PAGE}, "timestamp": 1,
                 "message": {"mid": "m_bad", "text": "x"}}, good])
    assert post(client, raw).status_code == 200  # a 400 would make Meta redeliver the good one forever
    kept = outbound.quarantined(limit=500)
    assert len(kept) == before + 1 and "m_bad" in kept[0].raw and good["message"]["mid"] not in kept[0].raw
    queued = drain(sqs, settings().inbound_queue_url)
    assert len(queued) == 1 and good["message"]["mid"] in json.dumps(queued, ensure_ascii=False)


def test_a_200_kb_signed_batch_is_accepted(client: Any, sqs: Any) -> None:
    text = "Nước ngập sâu ở phường Bến Nghé, xin cử người đến xử lý gấp. " * 32  # ~2,000 letters
    messages = [item(psid(), text[:2000]) for _ in range(42)]
    raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": messages}]}).encode()
    assert 180_000 < len(raw) < 512 * 1024  # Meta escapes every Vietnamese letter as \uXXXX
    assert post(client, raw).status_code == 200
    assert len(drain(sqs, settings().inbound_queue_url)) == 42


def test_the_signers_sample_requests_are_taken_as_meta_would_send_them(client: Any, providers: Any) -> None:
    from devstack.sign import messenger_requests

    person = psid()
    for request in messenger_requests("http://local", person, "Đường ngập sâu sau mưa"):
        assert client.http.post("/webhooks/facebook", headers=request.headers, body=request.body).status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(person)  # text, image, echo, batch, redelivery, Get Started, read: one conversation
    assert "Trang đã nhận" not in ticket.text
    (ack,) = [m for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack"]
    assert any("Gửi phản ánh" in text for text in sent_to(providers, person))  # Get Started: the welcome
    assert len(tickets.by_zalo(person + "1")) == 1
