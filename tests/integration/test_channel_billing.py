"""Channels as the providers bill them: Zalo replies quote the citizen's message (an unquoted one
is a paid proactive message), the Zalo token is read once per container, the SMS sender settings
come from the stage, and an answer too long for one SMS goes as a one-segment notice with the
status page's link. Plus the two metrics the alarms watch."""
from __future__ import annotations

import contextlib
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.domain.sms import fits_one_segment
from chalicelib.notify import zalo
from chalicelib.notify.base import DeliveryFailed
from chalicelib.services import delivery, intake
from chalicelib.store import outbound, tickets
from devstack.fakes import seed_provider_secrets
from tests.conftest import drain, unique_phone
from tests.integration.test_channels import _zalo_ticket_with_phone, pump, sns_sms, zalo_post
from tests.integration.test_followers import sent_code
from tests.integration.test_staff_console import _act, _report


@pytest.fixture(autouse=True)
def _quiet_queues(stack: Any, providers: Any, sqs: Any) -> None:
    for url in (settings().inbound_queue_url, settings().routing_queue_url, settings().notifications_queue_url):
        drain(sqs, url)


@pytest.fixture
def stage(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets stage variables for one test (settings are read once, so they are read again)."""
    def apply(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        settings.cache_clear()

    yield apply
    settings.cache_clear()  # monkeypatch puts the old values back next; they are read afresh


@contextlib.contextmanager
def calls(service: str, operation: str) -> Iterator[list[dict[str, Any]]]:
    """The parameters of each `operation` call the app's shared `service` client makes."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    events = aws.client(service).meta.events
    events.register(f"before-parameter-build.{service}.{operation}", record)
    try:
        yield seen
    finally:
        events.unregister(f"before-parameter-build.{service}.{operation}", record)


def metrics(out: str) -> list[tuple[str, str, list[list[str]]]]:
    """(namespace, metric name, dimension sets) of each EMF line printed."""
    found = []
    for line in out.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []) if isinstance(record, dict) else []:
            found += [(directive["Namespace"], m["Name"], directive["Dimensions"]) for m in directive["Metrics"]]
    return found


def _zalo_user() -> str:
    return f"z{uuid.uuid4().int % 10**18}"


# Zalo: quoting the citizen's message


def test_zalo_replies_quote_the_citizens_latest_message(client: Any, providers: Any, staff: dict[str, str]) -> None:
    # Given a citizen's Zalo message, acknowledged
    user, first, second = _zalo_user(), uuid.uuid4().hex, uuid.uuid4().hex
    assert zalo_post(client, user, "Đèn đường ấp Bàu Tép hỏng cả dãy", msg_id=first).status_code == 200
    pump()
    (ack,) = [m for m in providers.state.outbox if m["to"] == user]
    # Then the acknowledgement quoted that message (a reply, not a proactive message)
    assert ack["quote"] == first
    # When the citizen adds to it and an operator replies from the console
    assert zalo_post(client, user, "Bổ sung: hỏng từ tối hôm qua", msg_id=second).status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(user)
    assert ticket.last_inbound_ref == second
    assert _act(client, staff["operator"], ticket.tracking_code, "reply",
                text="Tổng đài đã chuyển cho điện lực xử lý.").status_code == 200
    pump()
    # Then the reply quotes the citizen's latest message
    reply = [m for m in providers.state.outbox if m["to"] == user][-1]
    assert "điện lực" in reply["text"] and reply["quote"] == second


def test_a_follow_welcome_quotes_nothing(client: Any, providers: Any) -> None:
    from chalicelib.channels.zalo import signature
    from devstack.fakes import LOCAL_SECRETS as S

    user = _zalo_user()
    stamp = str(int(time.time() * 1000))
    body = json.dumps({"app_id": S["zalo_app_id"], "event_name": "follow", "timestamp": stamp,
                       "follower": {"id": user}, "oa_id": "388613280878808645", "source": "oa_profile"}).encode()
    mac = signature(S["zalo_app_id"], body, stamp, S["zalo_oa_secret_key"])
    assert client.http.post("/webhooks/zalo", headers={"Content-Type": "application/json",
                                                       "X-ZEvent-Signature": f"mac={mac}"}, body=body).status_code == 200
    pump()
    (welcome,) = [m for m in providers.state.outbox if m["to"] == user]
    assert welcome["quote"] is None


# Zalo: the access token, cached per container


def _token_reads(seen: list[dict[str, Any]]) -> int:
    return sum(1 for params in seen if params["Name"].endswith("/zalo/token"))


def test_the_zalo_token_is_read_once_per_container_and_again_only_when_zalo_rejects_it(
        providers: Any, capsys: pytest.CaptureFixture[str]) -> None:
    seed_provider_secrets(providers, settings_prefix(), token_expires_at=time.time() + 25 * 3600)
    zalo.forget_token()  # a fresh container
    user = _zalo_user()
    sender = zalo.ZaloSender()
    # When one container sends three messages
    with calls("ssm", "GetParameter") as seen:
        for n in range(3):
            sender.send(user, f"Tin {n}")
    # Then it read the token from SSM once
    assert _token_reads(seen) == 1
    # When the scheduled refresher (another container) renews it, and Zalo no longer takes the old one
    refreshes = providers.state.refresh_calls
    capsys.readouterr()
    zalo.refresh(seen_generation=zalo.read_token().generation)
    assert ("Hotline1022", "ZaloTokenRefreshed", [["service"]]) in metrics(capsys.readouterr().out)
    assert providers.state.refresh_calls == refreshes + 1
    # Then the next send is rejected once, reads SSM once, takes the renewed token and is delivered
    with calls("ssm", "GetParameter") as seen:
        sender.send(user, "Tin sau khi đổi token")
    assert _token_reads(seen) == 1 and providers.state.refresh_calls == refreshes + 1
    assert [m["text"] for m in providers.state.outbox if m["to"] == user][-1] == "Tin sau khi đổi token"
    # And the renewed token is kept: the following send reads nothing
    with calls("ssm", "GetParameter") as seen:
        sender.send(user, "Tin tiếp")
    assert _token_reads(seen) == 0


def test_a_token_about_to_expire_is_renewed_before_sending(providers: Any) -> None:
    seed_provider_secrets(providers, settings_prefix(), token_expires_at=time.time() + 60)
    zalo.forget_token()
    refreshes = providers.state.refresh_calls
    user = _zalo_user()
    zalo.ZaloSender().send(user, "Xin chào")
    assert providers.state.refresh_calls == refreshes + 1
    assert zalo.read_token().expires_at > time.time() + 24 * 3600


def settings_prefix() -> str:
    import os

    return os.environ["SSM_PREFIX"]


# Metrics the alarms watch


def test_a_message_given_up_counts_outbound_dead(providers: Any, capsys: pytest.CaptureFixture[str]) -> None:
    user = _zalo_user()
    code = _zalo_ticket_with_phone(user, "+84" + unique_phone()[1:])
    providers.state.zalo_errors.append(-201)  # "a parameter is invalid": not worth retrying
    message = outbound.add_outbound(outbound.new_outbound("ack", "zalo", "zalo", user, "Đã tiếp nhận",
                                                          datetime.now(timezone.utc)), code)
    capsys.readouterr()
    assert delivery.deliver(message.pk, message.sk) == "dead"
    assert ("Hotline1022", "OutboundDead", [["service"]]) in metrics(capsys.readouterr().out)


# SMS sender settings from the stage


def test_sns_sms_carry_the_stages_sender_id(stage: Any) -> None:
    from chalicelib.notify.sns import SnsSender

    stage(SMS_SENDER_ID="TAYNINH1022")
    with calls("sns", "Publish") as seen:
        SnsSender().send("+84912000001", "1022: thu")
    attributes = seen[0]["MessageAttributes"]
    assert attributes["AWS.SNS.SMS.SenderID"] == {"DataType": "String", "StringValue": "TAYNINH1022"}
    assert attributes["AWS.SNS.SMS.SMSType"]["StringValue"] == "Transactional"
    stage(SMS_SENDER_ID="")
    with calls("sns", "Publish") as seen:
        SnsSender().send("+84912000001", "1022: thu")
    assert "AWS.SNS.SMS.SenderID" not in seen[0]["MessageAttributes"]


def test_esms_sends_under_the_stages_brandname(providers: Any, stage: Any) -> None:
    from chalicelib.notify.esms import EsmsSender

    stage(ESMS_BRANDNAME="TAYNINH1022")
    phone = "+84" + unique_phone()[1:]
    EsmsSender().send(phone, "1022: thu")
    assert [m["brandname"] for m in providers.state.outbox if m["to"] == phone] == ["TAYNINH1022"]


def test_a_stage_can_send_citizen_sms_through_esms_brandname_instead_of_sns(
        client: Any, providers: Any, staff: dict[str, str], stage: Any) -> None:
    stage(SMS_DEFAULT_PROVIDER="esms", ESMS_BRANDNAME="TAYNINH1022")
    reporter = unique_phone()
    code = _report("Đèn đường trước chợ phường Tân Ninh tắt cả tuần", "chieu-sang", "tan-ninh", phone=reporter)
    assert _act(client, staff["operator"], code, "resolve", answer="Điện lực đã thay bóng đèn.").status_code == 200
    pump()
    phone = "+84" + reporter[1:]
    (sent,) = [m for m in providers.state.outbox if m["to"] == phone]
    assert sent["brandname"] == "TAYNINH1022" and sent["text"].startswith(f"Tra loi phan anh {code}")
    assert sns_sms(phone) == []


def test_without_a_gateway_url_the_android_gateway_is_off(stage: Any) -> None:
    from chalicelib.notify.android_gateway import AndroidGatewaySender

    stage(ANDROID_GATEWAY_URL="")
    with pytest.raises(DeliveryFailed) as failed:
        AndroidGatewaySender().send("+84912000001", "1022: thu")
    assert failed.value.transient is False and "ANDROID_GATEWAY_URL" in failed.value.reason


# An answer longer than one SMS


SITE = "https://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com/api"
LONG_ANSWER = ("Sở Xây dựng đã kiểm tra hiện trường, lập biên bản và giao đơn vị thi công sửa chữa mặt đường "
               "trong tuần này. Trong thời gian thi công, người dân lưu ý đi đường vòng qua ấp 3.")


def test_a_long_answer_by_sms_goes_as_a_notice_with_the_status_link_and_the_timeline_says_so(
        client: Any, providers: Any, staff: dict[str, str], stage: Any) -> None:
    stage(PUBLIC_BASE_URL=SITE)
    reporter, follower = unique_phone(), unique_phone()
    code = _report("Mặt đường trước chợ xã Tân Biên sụt lún, xe máy ngã", "giao-thong", "tan-ninh", phone=reporter)
    assert intake.follow(code, follower) == code
    assert intake.follow_confirmed(code, follower, sent_code(providers, follower, code))["tracking_code"] == code
    # When an operator answers at a length no single SMS can carry
    assert _act(client, staff["operator"], code, "resolve", answer=LONG_ANSWER).status_code == 200
    pump()
    # Then the reporter gets one SMS of one segment: the code and the link of the page that shows the
    # answer in full and takes the rating (not a dead message, no survey SMS of its own)
    answer_sms = [m for m in outbound.of_ticket(code) if m.kind == "answer"]
    assert {m.state for m in answer_sms} == {"sent"}
    (to_reporter,) = sns_sms("+84" + reporter[1:])
    assert fits_one_segment(to_reporter) and code in to_reporter
    link = to_reporter[to_reporter.index(SITE):]
    assert link.startswith(f"{SITE}/danh-gia/{code}?t=")
    page = client.http.get(link[len(SITE):]).body.decode()
    assert "Rất hài lòng" in page and LONG_ANSWER in page
    # And the follower, who cannot open the reporter's status page, is told the status and the hotline
    (to_follower,) = [t for t in sns_sms("+84" + follower[1:]) if "Ma xac nhan" not in t]  # after its code
    assert fits_one_segment(to_follower) and code in to_follower and settings().hotline in to_follower
    assert "Da tra loi" in to_follower and "thi cong" not in to_follower  # never what staff wrote
    # And the timeline says the full answer is on the status page, where the reporter reads it
    notes = [e for e in tickets.timeline(code) if e.kind == "sms_notice"]
    assert len(notes) == 1 and "trang tra cứu" in notes[0].detail["text"] and notes[0].detail["messages"] == 1
    status = client.http.get(f"/api/v1/reports/{code}?phone_last4={reporter[-4:]}")
    assert LONG_ANSWER in json.dumps(status.json_body, ensure_ascii=False)


def test_a_short_answer_by_sms_is_sent_whole(client: Any, providers: Any, staff: dict[str, str]) -> None:
    reporter = unique_phone()
    code = _report("Đèn đường trước trường học tắt", "chieu-sang", "tan-ninh", phone=reporter)
    assert _act(client, staff["operator"], code, "resolve", answer="Điện lực đã thay bóng đèn.").status_code == 200
    pump()
    (sms,) = sns_sms("+84" + reporter[1:])     # the answer and the survey's prompt, in one segment
    assert sms.startswith(f"Tra loi phan anh {code}: Dien luc da thay bong den. ") and fits_one_segment(sms)
    assert "Danh gia" in sms or "danh gia" in sms
    assert "sms_notice" not in [e.kind for e in tickets.timeline(code)]


def test_a_long_zalo_message_falling_back_to_sms_goes_as_the_notice(providers: Any, stage: Any) -> None:
    stage(PUBLIC_BASE_URL=SITE)
    user, phone = _zalo_user(), "+84" + unique_phone()[1:]
    code = _zalo_ticket_with_phone(user, phone)
    providers.state.zalo_errors.append(-230)  # Zalo: outside the 7-day window
    message = outbound.add_outbound(outbound.new_outbound("answer", "zalo", "zalo", user, f"Trả lời: {LONG_ANSWER}",
                                                          datetime.now(timezone.utc), automated=False), code)
    assert delivery.deliver(message.pk, message.sk) == "fallback"
    pump()
    (sms,) = sns_sms(phone)
    assert fits_one_segment(sms) and f"{SITE}/tra-cuu?code={code}" in sms
    assert "sms_notice" in [e.kind for e in tickets.timeline(code)]
