"""SMS and Zalo end to end on the emulator: signed webhooks through the real app, the inbound,
routing and notifier consumers (the deployed handler objects), and fake provider APIs on loopback."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

import app
from chalicelib.channels import android_gateway, esms, zalo
from chalicelib.config import settings
from chalicelib.store import outbound, tickets
from devstack.fakes import LOCAL_SECRETS as S
from devstack.worker import poll_once
from tests.conftest import drain, unique_phone

JSON = {"Content-Type": "application/json"}
VN = timezone(timedelta(hours=7))


def pump(max_rounds: int = 20) -> None:
    """Runs the consumers until every queue is empty, as Lambda's pollers would."""
    handlers = [(app.handle_inbound, "handle_inbound", settings().inbound_queue_url),
                (app.route_tickets, "route_tickets", settings().routing_queue_url),
                (app.send_notifications, "send_notifications", settings().notifications_queue_url)]
    for _ in range(max_rounds):
        if not sum(poll_once(h, n, url, 10, wait_s=0) for h, n, url in handlers):
            return


def zalo_post(client: Any, user: str, text: str, msg_id: str | None = None, **extra: Any) -> Any:
    stamp = str(int(time.time() * 1000))
    body = json.dumps({"app_id": S["zalo_app_id"], "user_id_by_app": "1", "event_name": "user_send_text",
                       "timestamp": stamp, "sender": {"id": user}, "recipient": {"id": "388613280878808645"},
                       "message": {"msg_id": msg_id or uuid.uuid4().hex, "text": text}, **extra},
                      ensure_ascii=False).encode()
    mac = zalo.signature(S["zalo_app_id"], body, stamp, S["zalo_oa_secret_key"])
    return client.http.post("/webhooks/zalo", headers={**JSON, "X-ZEvent-Signature": f"mac={mac}"}, body=body)


def zalo_follow(client: Any, user: str) -> str:
    """The OA's follow event, signed (the user gets the welcome, a message of no ticket); returns its timestamp."""
    stamp = str(int(time.time() * 1000))
    body = json.dumps({"app_id": S["zalo_app_id"], "event_name": "follow", "timestamp": stamp, "oa_id": "1",
                       "follower": {"id": user}, "source": "oa_profile", "user_id_by_app": "2"}).encode()
    mac = zalo.signature(S["zalo_app_id"], body, stamp, S["zalo_oa_secret_key"])
    assert client.http.post("/webhooks/zalo", body=body, headers={**JSON, "X-ZEvent-Signature": mac}).status_code == 200
    return stamp


def gateway_post(client: Any, phone: str, text: str, envelope_id: str | None = None,
                 signature: str | None = None) -> Any:
    body = json.dumps({"deviceId": "phone-1", "event": "sms:received", "id": envelope_id or uuid.uuid4().hex,
                       "webhookId": "w", "payload": {"messageId": "m1", "message": text, "phoneNumber": phone,
                                                     "simNumber": 1, "receivedAt": datetime.now(VN).isoformat(timespec="milliseconds")}},
                      ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    sig = signature or android_gateway.signature(body, stamp, S["android_gateway_signing_key"])
    return client.http.post("/webhooks/sms/android-gateway", body=body,
                            headers={**JSON, "X-Timestamp": stamp, "X-Signature": sig})


def sns_sms(phone: str) -> list[str]:
    """SMS the emulator's SNS accepted for `phone` (the moto server runs in this process)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return [text for number, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sms_messages.values()
            if number == phone]


def sent_to(providers: Any, recipient: str) -> list[str]:
    return [m["text"] for m in providers.state.outbox if m["to"] == recipient]


@pytest.fixture(autouse=True)
def _clean_queues(stack: Any, providers: Any, sqs: Any) -> None:
    for url in (settings().inbound_queue_url, settings().routing_queue_url, settings().notifications_queue_url):
        drain(sqs, url)


def test_an_sms_makes_a_ticket_routed_and_acknowledged_once_on_the_same_gateway(client: Any, providers: Any) -> None:
    phone = unique_phone()
    e164 = "+84" + phone[1:]
    response = gateway_post(client, phone, "Đèn đường hẻm 5 tắt, khu phố 2")
    assert response.status_code == 200
    pump()
    (ticket,) = tickets.by_phone(e164)
    assert ticket.channel == "sms" and ticket.reply_via == "android_gateway:phone-1"
    (ack,) = sent_to(providers, e164)
    assert ticket.tracking_code in ack and ack.isascii()
    # a second message the same day threads into the same ticket, with no second acknowledgement
    gateway_post(client, phone, "Bo sung: den so 3 cung tat")
    pump()
    assert len(tickets.by_phone(e164)) == 1
    last = tickets.timeline(ticket.tracking_code)[-1]
    assert last.kind == "message_in" and last.detail["text"] == "Bo sung: den so 3 cung tat"
    assert len(sent_to(providers, e164)) == 1


def test_fifty_deliveries_of_one_message_make_one_ticket(client: Any, providers: Any) -> None:
    phone, envelope = unique_phone(), uuid.uuid4().hex
    for _ in range(50):
        assert gateway_post(client, phone, "Nuoc sinh hoat bi cup 3 ngay", envelope_id=envelope).status_code == 200
    pump(max_rounds=40)
    (ticket,) = tickets.by_phone("+84" + phone[1:])
    assert [e.kind for e in tickets.timeline(ticket.tracking_code)] == ["created", "routed"]
    assert len(sent_to(providers, "+84" + phone[1:])) == 1


def test_moi_forces_a_new_ticket_and_tt_answers_only_the_reporter(client: Any, providers: Any) -> None:
    phone, stranger = unique_phone(), unique_phone()
    gateway_post(client, phone, "Rac ton dong o cho")
    pump()
    gateway_post(client, phone, "MOI Cong thoat nuoc bi vo")
    pump()
    mine = tickets.by_phone("+84" + phone[1:])
    assert len(mine) == 2 and mine[0].text == "Cong thoat nuoc bi vo"
    code = mine[0].tracking_code
    gateway_post(client, phone, f"TT {code}")
    gateway_post(client, stranger, f"TT {code}")
    pump()
    answer = sent_to(providers, "+84" + phone[1:])[-1]
    # the classifier routed "cong thoat nuoc bi vo" (drainage) to the Department of Construction
    assert answer == f"Phan anh {code}: Da chuyen co quan xu ly. Co quan xu ly: So Xay dung."
    (refusal,) = sent_to(providers, "+84" + stranger[1:])
    assert code not in refusal and refusal.startswith("Khong tim thay")
    assert tickets.by_phone("+84" + stranger[1:]) == []  # a status query opens no ticket


def test_auto_replies_are_capped_per_sender_per_hour(client: Any, providers: Any, sqs: Any) -> None:
    phone = unique_phone()
    for n in range(5):
        gateway_post(client, phone, f"TT TN-ZZZZZ{n + 2}")
    pump()
    assert len(sent_to(providers, "+84" + phone[1:])) == settings().auto_reply_cap_per_hour == 3
    # the two over the cap are settled as suppressed, not left failing and retrying
    attributes = sqs.get_queue_attributes(QueueUrl=settings().notifications_queue_url,
                                          AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_zalo_message_ack_keeps_diacritics_and_replies_through_the_oa_api(client: Any, providers: Any) -> None:
    user = f"z{uuid.uuid4().int % 10**18}"
    assert zalo_post(client, user, "Đường Lê Lợi có ổ gà lớn").status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(user)
    (ack,) = sent_to(providers, user)
    assert "đã tiếp nhận" in ack and ticket.tracking_code in ack
    states = [m.state for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack"]
    assert states == ["sent"]


def test_outside_the_zalo_window_a_known_phone_gets_sms_and_otherwise_a_callback_flag(
        client: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    user = f"z{uuid.uuid4().int % 10**18}"
    zalo_post(client, user, "Hỏi về hồ sơ đất đai")
    pump()
    (ticket,) = tickets.by_zalo(user)
    # Given Zalo now refuses (user silent for over 7 days) a later message to this user
    providers.state.zalo_errors.append(-230)
    notice = outbound.add_outbound(outbound.new_outbound("reply", "zalo", "zalo", user, "Trả lời: hồ sơ đã xong",
                                                         datetime.now(timezone.utc)), ticket.tracking_code)
    assert delivery.deliver(notice.pk, notice.sk) == "callback"
    flagged = tickets.get_ticket(ticket.tracking_code)
    assert flagged.needs_callback is True
    assert "callback_needed" in [e.kind for e in tickets.timeline(ticket.tracking_code)]
    # And when the reporter's phone is known, the same refusal falls back to SMS without diacritics
    phone = unique_phone()
    with_phone = _zalo_ticket_with_phone(user + "p", "+84" + phone[1:])
    providers.state.zalo_errors.append(-230)
    notice = outbound.add_outbound(outbound.new_outbound("reply", "zalo", "zalo", user + "p", "Trả lời: đã xử lý",
                                                         datetime.now(timezone.utc)), with_phone)
    assert delivery.deliver(notice.pk, notice.sk) == "fallback"
    pump()
    assert sns_sms("+84" + phone[1:]) == ["Tra loi: da xu ly"]  # the stage's SMS provider is SNS
    assert [m.state for m in outbound.of_ticket(with_phone)][-2:] == ["fallback", "sent"]


def _zalo_ticket_with_phone(user: str, phone: str, last_inbound: datetime | None = None) -> str:
    from chalicelib.services.intake import store_new_ticket

    now = datetime.now(timezone.utc)
    fields = {"channel": "zalo", "reporter_zalo_id": user, "reporter_phone": phone, "text": "Hỏi",
              "status": "received", "created_at": now, "updated_at": now,
              "last_inbound_at": last_inbound or now - timedelta(days=1)}
    code, _ = store_new_ticket(fields, tickets.NewEvent("created", "citizen:zalo", now), None)
    return code


def _quarantine_count() -> int:
    return len(outbound.quarantined(limit=500))


def test_bad_signatures_are_401_store_nothing_and_count_a_metric(client: Any, providers: Any, sqs: Any,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    phone = unique_phone()
    wrong = gateway_post(client, phone, "hello", signature="0" * 64)
    stale_body = b'{"event":"sms:received"}'
    old = str(int(time.time()) - 600)
    stale = client.http.post("/webhooks/sms/android-gateway", body=stale_body, headers={
        **JSON, "X-Timestamp": old,
        "X-Signature": android_gateway.signature(stale_body, old, S["android_gateway_signing_key"])})
    unsigned_zalo = client.http.post("/webhooks/zalo", headers=JSON, body=b'{"timestamp":"1"}')
    smssync_bad = client.http.post("/webhooks/sms/smssync",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"},
                                   body=urlencode({"from": phone, "message": "x", "message_id": "1",
                                                   "secret": "guess"}).encode())
    esms_bad = client.http.get("/webhooks/sms/esms?" + urlencode({"sender": "84" + phone[1:], "content": "x",
                                                                  "cpid": S["esms_cpid"], "smsid": "1",
                                                                  "receiverTime": "20261128100000", "sign": "abc"}))
    for response in (wrong, stale, unsigned_zalo, smssync_bad, esms_bad):
        assert response.status_code == 401
        assert response.json_body["error"]["code"] == "unauthorized"
    assert drain(sqs, settings().inbound_queue_url) == []
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"CloudWatchMetrics"' in line]
    rejected = [m for m in metrics if "WebhookRejected" in m]
    assert sorted(m["provider"] for m in rejected) == ["android_gateway", "android_gateway", "esms", "smssync", "zalo"]


def test_a_malformed_payload_from_a_signed_gateway_is_400_and_quarantined(client: Any, sqs: Any) -> None:
    before = _quarantine_count()
    body = json.dumps({"event": "sms:received", "id": "x", "payload": {"message": "hi", "phoneNumber": "garbage",
                                                                         "receivedAt": "yesterday"}}).encode()
    stamp = str(int(time.time()))
    response = client.http.post("/webhooks/sms/android-gateway", body=body, headers={
        **JSON, "X-Timestamp": stamp,
        "X-Signature": android_gateway.signature(body, stamp, S["android_gateway_signing_key"])})
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "malformed_payload" and error["quarantine_id"]
    kept = outbound.quarantined(limit=500)
    assert len(kept) == before + 1 and kept[0].raw == body.decode() and kept[0].provider == "android_gateway"
    assert drain(sqs, settings().inbound_queue_url) == []


def test_oversized_bodies_are_refused(client: Any) -> None:
    response = client.http.post("/webhooks/zalo", headers=JSON, body=b"{" + b" " * 70_000 + b"}")
    assert response.status_code == 413


def test_smssync_posts_then_the_phone_polls_its_reply_and_confirms_it(client: Any, providers: Any) -> None:
    phone = unique_phone()
    form = {"from": phone, "message": "Hoi thu tuc cap so do", "message_id": uuid.uuid4().hex,
            "sent_to": "0276", "secret": S["smssync_secret"], "device_id": "phone-9",
            "sent_timestamp": str(int(time.time() * 1000))}
    posted = client.http.post("/webhooks/sms/smssync", body=urlencode(form).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert posted.json_body == {"payload": {"success": True, "error": None}}
    pump()
    (ticket,) = tickets.by_phone("+84" + phone[1:])
    assert [m.state for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack"] == ["device_queued"]
    wrong = client.http.get("/webhooks/sms/smssync?task=send&secret=nope&device_id=phone-9")
    assert wrong.status_code == 401
    task = client.http.get(f"/webhooks/sms/smssync?task=send&secret={S['smssync_secret']}&device_id=phone-9")
    (queued,) = task.json_body["payload"]["messages"]
    assert queued["to"] == "+84" + phone[1:] and ticket.tracking_code in queued["message"]
    again = client.http.get(f"/webhooks/sms/smssync?task=send&secret={S['smssync_secret']}&device_id=phone-9")
    assert again.json_body["payload"]["messages"] == []  # handed over once
    sent = client.http.post(f"/webhooks/sms/smssync?task=sent&secret={S['smssync_secret']}", headers=JSON,
                            body=json.dumps({"queued_messages": [queued["uuid"]]}).encode())
    assert sent.json_body == {"message_uuids": [queued["uuid"]]}
    assert [m.state for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack"] == ["sent"]


def test_esms_mo_by_get_and_post_with_its_xml_reply(client: Any, providers: Any) -> None:
    phone = unique_phone()
    params = {"sender": "84" + phone[1:], "content": "Den duong hong", "serviceNumber": "8041", "keyword": "Den",
              "cpid": S["esms_cpid"], "smsid": uuid.uuid4().hex, "receiverTime": datetime.now(VN).strftime("%Y%m%d%H%M%S")}
    params["sign"] = esms.signatures(params, S["esms_private_key"])[1]  # the Base64 form
    response = client.http.get("/webhooks/sms/esms?" + urlencode(params))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/xml")
    assert f"<Smsid>{params['smsid']}</Smsid>" in response.body.decode()
    posted = client.http.post("/webhooks/sms/esms", body=urlencode(params).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert posted.status_code == 200
    pump()
    (ticket,) = tickets.by_phone("+84" + phone[1:])  # GET and POST of one smsid: one ticket
    assert ticket.reply_via == "esms:8041"
    (ack,) = sent_to(providers, "+84" + phone[1:])
    assert ticket.tracking_code in ack


def test_a_gateway_outage_retries_with_backoff_and_never_loses_the_reply(client: Any, providers: Any,
                                                                         sqs: Any) -> None:
    from chalicelib.services import delivery

    phone = unique_phone()
    providers.state.http_errors.extend([503, 500])
    gateway_post(client, phone, "Cay do chan duong")
    pump()
    (ticket,) = tickets.by_phone("+84" + phone[1:])
    (ack,) = [m for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack"]
    assert (ack.state, ack.attempts, ack.last_error) == ("pending", 1, "android_gateway HTTP 503")
    assert sent_to(providers, "+84" + phone[1:]) == []
    # The worker set that one message's visibility to the backoff, so SQS holds it back
    attributes = sqs.get_queue_attributes(QueueUrl=settings().notifications_queue_url,
                                          AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    # When SQS redelivers it: the gateway's second answer is still an outage, then it is back
    with pytest.raises(delivery.RetryLater) as retry:
        delivery.deliver(ack.pk, ack.sk)
    assert retry.value.delay_s == 90 and delivery.backoff_seconds(10) == 3600
    assert delivery.deliver(ack.pk, ack.sk) == "sent"
    (ack,) = [m for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack"]
    assert (ack.state, ack.attempts) == ("sent", 3)
    assert len(sent_to(providers, "+84" + phone[1:])) == 1
    assert delivery.deliver(ack.pk, ack.sk) == "skipped"  # a late duplicate delivery sends nothing


def test_the_staff_timeline_shows_messages_in_and_out_with_delivery_state(client: Any, providers: Any) -> None:
    from chalicelib.services.lookup import staff_timeline

    phone = unique_phone()
    providers.state.http_errors.append(503)
    gateway_post(client, phone, "Xin hoi lich tiem chung")
    pump()
    (ticket,) = tickets.by_phone("+84" + phone[1:])
    entries = staff_timeline(ticket.tracking_code)
    assert [(e["type"], e["kind"]) for e in entries] == [
        ("event", "created"), ("message_out", "ack"), ("event", "routed"),
        ("message_out", "assigned")]  # the agency's e-mail (staff get no SMS on assignment)
    ack = entries[1]
    assert (ack["delivery"], ack["attempts"], ack["last_error"]) == ("pending", 1, "android_gateway HTTP 503")
    assert [(e["channel"], e["delivery"]) for e in entries[3:]] == [("email", "sent")]
    assert tickets.get_ticket(ticket.tracking_code).status == "assigned"  # a failed ack never touches the status


def test_a_zalo_follow_gets_the_usage_message_once_and_no_ticket(client: Any, providers: Any) -> None:
    user = f"z{uuid.uuid4().int % 10**18}"
    stamp = str(int(time.time() * 1000))
    body = json.dumps({"app_id": S["zalo_app_id"], "event_name": "follow", "timestamp": stamp, "oa_id": "1",
                       "follower": {"id": user}, "source": "oa_profile", "user_id_by_app": "2"}).encode()
    mac = zalo.signature(S["zalo_app_id"], body, stamp, S["zalo_oa_secret_key"])
    for _ in range(2):
        assert client.http.post("/webhooks/zalo", body=body,
                                headers={**JSON, "X-ZEvent-Signature": mac}).status_code == 200
    pump()
    (welcome,) = sent_to(providers, user)
    assert "TT" in welcome and "MỚI" in welcome
    assert tickets.by_zalo(user) == []


def test_known_silence_over_seven_days_skips_zalo_and_uses_sms(client: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    phone = unique_phone()
    code = _zalo_ticket_with_phone(f"z{uuid.uuid4().int % 10**12}", "+84" + phone[1:],
                                   last_inbound=datetime.now(timezone.utc) - timedelta(days=8))
    sent_before = len(providers.state.outbox)
    # a staff reply (not an automated answer to a message that just came in)
    notice = outbound.add_outbound(outbound.new_outbound("reply", "zalo", "zalo", "z-user", "Đã có kết quả",
                                                         datetime.now(timezone.utc), automated=False), code)
    assert delivery.deliver(notice.pk, notice.sk) == "fallback"
    assert len(providers.state.outbox) == sent_before  # Zalo was not even tried


def test_two_copies_of_one_notification_at_once_send_one_sms(client: Any, providers: Any) -> None:
    import threading

    from chalicelib.services import delivery

    phone = "+84" + unique_phone()[1:]
    message = outbound.add_outbound(outbound.new_outbound("reply", "sms", "android_gateway", phone, "Tra loi",
                                                          datetime.now(timezone.utc), automated=False),
                                    _zalo_ticket_with_phone(f"z{uuid.uuid4().int % 10**12}", phone))
    providers.state.gateway_delay_s = 0.5
    results: list[str] = []
    try:
        workers = [threading.Thread(target=lambda: results.append(delivery.deliver(message.pk, message.sk)))
                   for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        providers.state.gateway_delay_s = 0.0
    assert sorted(results) == ["sent", "skipped"]
    assert sent_to(providers, phone) == ["Tra loi"]


def test_a_claim_left_by_a_crashed_worker_expires_and_the_message_is_sent(providers: Any) -> None:
    from chalicelib.services import delivery

    phone = "+84" + unique_phone()[1:]
    start = datetime.now(timezone.utc)
    message = outbound.add_outbound(outbound.new_outbound("reply", "sms", "android_gateway", phone, "Da xu ly",
                                                          start, automated=False),
                                    _zalo_ticket_with_phone(f"z{uuid.uuid4().int % 10**12}", phone))
    outbound.claim(message, start, start + delivery.CLAIM)
    assert delivery.deliver(message.pk, message.sk, now=start + timedelta(minutes=1)) == "skipped"
    assert delivery.deliver(message.pk, message.sk, now=start + timedelta(minutes=3)) == "sent"
    assert sent_to(providers, phone) == ["Da xu ly"]


def test_a_claim_is_taken_once_and_leaves_the_message_where_the_sweeper_finds_it(providers: Any) -> None:
    from chalicelib.domain.errors import Conflict
    from chalicelib.services import delivery

    phone = "+84" + unique_phone()[1:]
    start = datetime.now(timezone.utc) - timedelta(minutes=30)
    message = outbound.add_outbound(outbound.new_outbound("reply", "sms", "android_gateway", phone, "Da xu ly",
                                                          start, automated=False),
                                    _zalo_ticket_with_phone(f"z{uuid.uuid4().int % 10**12}", phone))
    other_worker = outbound.get_outbound(message.pk, message.sk)
    outbound.claim(message, start, start + delivery.CLAIM)
    with pytest.raises(Conflict):  # the second copy of the queue message finds it claimed
        outbound.claim(other_worker, start, start + delivery.CLAIM)
    claimed = outbound.get_outbound(message.pk, message.sk)
    assert (claimed.state, claimed.status, claimed.due_sort) == ("sending", outbound.PENDING, other_worker.due_sort)
    # the worker died: the sweeper still sees it in the pending queue, and its claim has run out
    stale = outbound.queued(outbound.PENDING, before=(start + timedelta(seconds=1)).isoformat(), limit=500)
    assert (message.pk, message.sk) in [(m.pk, m.sk) for m in stale]
    assert delivery.deliver(message.pk, message.sk) == "sent"
    assert sent_to(providers, phone) == ["Da xu ly"]


def test_an_sms_the_smssync_phone_never_confirmed_is_offered_again(client: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    phone = unique_phone()
    form = {"from": phone, "message": "Hoi ve tro cap", "message_id": uuid.uuid4().hex, "sent_to": "0276",
            "secret": S["smssync_secret"], "device_id": "phone-7", "sent_timestamp": str(int(time.time() * 1000))}
    client.http.post("/webhooks/sms/smssync", body=urlencode(form).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    pump()
    poll = f"/webhooks/sms/smssync?task=send&secret={S['smssync_secret']}&device_id=phone-7"
    (first,) = client.http.get(poll).json_body["payload"]["messages"]
    # the phone never confirms; half an hour later the sweeper offers it again
    delivery.requeue_stale(datetime.now(timezone.utc) + timedelta(minutes=31))
    (again,) = client.http.get(poll).json_body["payload"]["messages"]
    assert again["uuid"] == first["uuid"]


def test_the_inbound_queue_keeps_one_senders_messages_in_order_and_drops_quick_redeliveries(
        client: Any, sqs: Any) -> None:
    attributes = sqs.get_queue_attributes(QueueUrl=settings().inbound_queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    phone, envelope = unique_phone(), uuid.uuid4().hex
    for text in ("Nuoc yeu", "Nuoc yeu"):
        gateway_post(client, phone, text, envelope_id=envelope)      # a redelivery seconds later
    gateway_post(client, phone, "Bo sung: tu 3 ngay nay")
    bodies = drain(sqs, settings().inbound_queue_url)
    assert [b["text"] for b in bodies] == ["Nuoc yeu", "Bo sung: tu 3 ngay nay"]
