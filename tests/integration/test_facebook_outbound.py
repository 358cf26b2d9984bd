"""The fanpage's outbound side on the emulator: the real notifier through the fake Graph API, and
Messenger's windows (RESPONSE within 24 h of the person's latest message on any of their tickets,
HUMAN_AGENT-tagged staff replies up to 7 days, then SMS or a call; a survey is dropped instead of a call),
its final refusals, its throttling, the page token (header and app secret proof, a refused token keeps the
reply) and long texts sent in parts."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import json

import pytest

from chalicelib.store import outbound, tickets
from tests.conftest import unique_phone
from tests.integration.test_channel_billing import metrics


def _ticket(last_inbound: timedelta, phone: str | None = None, psid: str | None = None,
            created_ago: timedelta = timedelta(0)) -> str:
    from chalicelib.services.intake import store_new_ticket

    now = datetime.now(timezone.utc)
    fields = {"channel": "facebook", "reporter_phone": phone, "text": "Hỏi", "status": "received",
              "created_at": now - created_ago, "updated_at": now, "last_inbound_at": now - last_inbound,
              "reporter_zalo_id": psid}
    code, _ = store_new_ticket(fields, tickets.NewEvent("created", "citizen:facebook", now), None)
    return code


def _staff_reply(code: str, psid: str, text: str, kind: str = "staff_reply") -> Any:
    return outbound.add_outbound(outbound.new_outbound(kind, "facebook", "facebook", psid, text,
                                                       datetime.now(timezone.utc), automated=False), code)


def _sent_to(providers: Any, psid: str) -> list[dict[str, Any]]:
    return [m for m in providers.state.outbox if m["provider"] == "facebook" and m["to"] == psid]


def test_a_staff_reply_is_a_response_within_a_day_and_a_human_agent_message_until_seven_days(
        stack: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    psid = f"psid{uuid.uuid4().int % 10**15}"
    # Given the person wrote 2 hours ago, then another person 3 days ago
    recent, older = _ticket(timedelta(hours=2)), _ticket(timedelta(days=3))
    # When staff answer both
    first, second = _staff_reply(recent, psid, "Đã tiếp nhận"), _staff_reply(older, psid, "Đã xử lý xong")
    assert delivery.deliver(first.pk, first.sk) == "sent"
    assert delivery.deliver(second.pk, second.sk) == "sent"
    # Then the first is an ordinary response and the second carries the human-agent tag, with Meta's id kept
    sent = _sent_to(providers, psid)
    assert [(m["text"], m["messaging_type"], m["tag"]) for m in sent] == [
        ("Đã tiếp nhận", "RESPONSE", None), ("Đã xử lý xong", "MESSAGE_TAG", "HUMAN_AGENT")]
    assert outbound.of_ticket(older)[-1].provider_ref == sent[1]["id"]


def test_the_survey_after_24_hours_is_dropped_not_flagged_for_a_call_while_a_staff_reply_still_goes(
        stack: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    psid = f"psid{uuid.uuid4().int % 10**15}"
    # Given a person with no phone known last wrote 2 days ago
    code = _ticket(timedelta(days=2))
    # When the survey is due, Messenger can't carry it (not a person's reply) and no SMS can
    survey = _staff_reply(code, psid, "Mời đánh giá", kind="survey")
    assert delivery.deliver(survey.pk, survey.sk) == "suppressed"
    # Then it is dropped: nothing sent, nobody asked to call just for a survey
    assert _sent_to(providers, psid) == []
    assert not tickets.get_ticket(code).needs_callback
    assert outbound.get_outbound(survey.pk, survey.sk).state == "suppressed"
    # while a staff member's answer goes tagged HUMAN_AGENT as before
    answer = _staff_reply(code, psid, "Đã xử lý", kind="answer")
    assert delivery.deliver(answer.pk, answer.sk) == "sent"
    assert [m["tag"] for m in _sent_to(providers, psid)] == ["HUMAN_AGENT"]


def test_a_followers_notice_after_24_hours_is_dropped_while_the_reporters_answer_goes_human_agent(
        stack: Any, providers: Any) -> None:
    from chalicelib.services import console, delivery
    from chalicelib.store.models import FollowerMap

    reporter, follower = f"psid{uuid.uuid4().int % 10**15}", f"psid{uuid.uuid4().int % 10**15}"
    # Given a ticket whose reporter and a follower (their ticket merged into it) both last wrote 2 days ago
    code, theirs = _ticket(timedelta(days=2), psid=reporter), _ticket(timedelta(days=2), psid=follower)
    ticket = tickets.get_ticket(code)
    ticket.followers = [FollowerMap(tracking_code=theirs, channel="facebook", provider="facebook", recipient=follower)]
    # When staff answer it: the answer to the reporter and the status notice to the follower, both kind "answer"
    from chalicelib.domain import replies

    made = console._to_reporter(ticket, "answer", replies.Reply(sms="Đã xử lý", zalo="Đã xử lý"),
                                datetime.now(timezone.utc), followers=True)
    assert [(m.recipient, m.kind, bool(m.follower)) for m in made] == [
        (reporter, "answer", False), (follower, "answer", True)]
    to_reporter = outbound.add_outbound(made[0], code)
    to_follower = outbound.add_outbound(made[1], theirs)
    # Then the reporter's answer goes tagged HUMAN_AGENT, the follower's notice is dropped (no call, nothing sent)
    assert delivery.deliver(to_reporter.pk, to_reporter.sk) == "sent"
    assert delivery.deliver(to_follower.pk, to_follower.sk) == "suppressed"
    assert [m["tag"] for m in _sent_to(providers, reporter)] == ["HUMAN_AGENT"]
    assert _sent_to(providers, follower) == [] and not tickets.get_ticket(theirs).needs_callback


def test_the_survey_to_a_person_with_a_phone_goes_by_sms_after_24_hours(stack: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    phone = "+84" + unique_phone()[1:]
    code = _ticket(timedelta(days=2), phone)
    survey = _staff_reply(code, f"psid{uuid.uuid4().int % 10**15}", "Mời đánh giá", kind="survey")
    assert delivery.deliver(survey.pk, survey.sk) == "fallback"


def test_after_seven_days_messenger_is_not_tried_sms_goes_or_the_ticket_is_flagged_for_a_call(
        stack: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    psid = f"psid{uuid.uuid4().int % 10**15}"
    phone = unique_phone()
    with_phone, without = _ticket(timedelta(days=8), "+84" + phone[1:]), _ticket(timedelta(days=8))
    first, second = _staff_reply(with_phone, psid, "Trả lời"), _staff_reply(without, psid, "Trả lời")
    assert delivery.deliver(first.pk, first.sk) == "fallback"
    assert delivery.deliver(second.pk, second.sk) == "callback"  # a staff reply still asks for a call
    assert _sent_to(providers, psid) == []
    assert tickets.get_ticket(without).needs_callback is True


@pytest.mark.parametrize("refusal", [(400, 10, 2018278), (400, 551, 1545041)], ids=["outside-window", "unavailable"])
def test_metas_final_refusals_are_not_retried_the_ticket_is_flagged_for_a_call(
        stack: Any, providers: Any, refusal: tuple[int, int, int]) -> None:
    from chalicelib.services import delivery

    code = _ticket(timedelta(hours=1))
    reply = _staff_reply(code, f"psid{uuid.uuid4().int % 10**15}", "Trả lời")
    providers.state.graph_errors.append(refusal)
    assert delivery.deliver(reply.pk, reply.sk) == "callback"
    assert providers.state.graph_errors == []  # asked once, no retry
    assert tickets.get_ticket(code).needs_callback is True


def test_throttling_is_retried_with_backoff_and_the_reply_then_goes_once(stack: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    psid = f"psid{uuid.uuid4().int % 10**15}"
    reply = _staff_reply(_ticket(timedelta(hours=1)), psid, "Trả lời")
    providers.state.graph_errors.append((400, 613, -1))
    with pytest.raises(delivery.RetryLater) as later:
        delivery.deliver(reply.pk, reply.sk)
    assert later.value.delay_s == 30
    assert delivery.deliver(reply.pk, reply.sk) == "sent"
    assert [m["text"] for m in _sent_to(providers, psid)] == ["Trả lời"]


def test_a_refused_page_token_keeps_the_reply_for_retry_counts_for_the_alarm_and_it_goes_once_fixed(
        stack: Any, providers: Any, monkeypatch: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib.services import delivery

    psid = f"psid{uuid.uuid4().int % 10**15}"
    reply = _staff_reply(_ticket(timedelta(hours=1)), psid, "Trả lời")
    # Given the page token was revoked (Meta: code 190)
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "revoked")
    capsys.readouterr()
    # When the reply is delivered, it is kept for a retry with backoff, and counted for the alarm
    with pytest.raises(delivery.RetryLater) as later:
        delivery.deliver(reply.pk, reply.sk)
    assert later.value.delay_s == 30
    assert ("Hotline1022", "FacebookTokenRejected", [["service"]]) in metrics(capsys.readouterr().out)
    kept = outbound.get_outbound(reply.pk, reply.sk)
    assert kept.state == "pending" and "190" in (kept.last_error or "")
    # Then once an admin put a valid token in, the retry sends it, once
    monkeypatch.delenv("FACEBOOK_PAGE_TOKEN")
    assert delivery.deliver(reply.pk, reply.sk) == "sent"
    assert [m["text"] for m in _sent_to(providers, psid)] == ["Trả lời"]


def test_the_token_goes_in_a_header_with_its_app_secret_proof_never_in_the_url(
        stack: Any, providers: Any, monkeypatch: Any) -> None:
    from chalicelib.notify import facebook
    from chalicelib.notify.base import DeliveryFailed

    calls: list[tuple[str, dict[str, str]]] = []
    real = facebook.http_json

    def spy(url: str, body: bytes, headers: dict[str, str]) -> Any:
        calls.append((url, headers))
        return real(url, body, headers)

    monkeypatch.setattr(facebook, "http_json", spy)
    facebook.FacebookSender().send(f"psid{uuid.uuid4().int % 10**15}", "Trả lời")
    url, headers = calls[0]
    token = "local-facebook-page-token"
    assert token not in url and "access_token" not in url
    assert headers["Authorization"] == f"Bearer {token}"
    assert f"appsecret_proof={facebook.appsecret_proof(token, 'local-facebook-app-secret')}" in url
    # a proof made with another app's secret is refused by the fake Graph API, as by Meta
    monkeypatch.setenv("FACEBOOK_APP_SECRET", "another-app")
    with pytest.raises(DeliveryFailed) as failed:
        facebook.FacebookSender().send(f"psid{uuid.uuid4().int % 10**15}", "Trả lời")
    assert "error 100/" in failed.value.reason and failed.value.transient is False


def test_the_token_alarm_watches_the_metric_the_sender_counts() -> None:
    from pathlib import Path

    alarms = json.loads((Path(__file__).parents[2] / "infra" / "alarms.json").read_text(encoding="utf-8"))
    watching = [a["Properties"] for a in alarms["Resources"].values() if a.get("Type") == "AWS::CloudWatch::Alarm"
                and a["Properties"].get("MetricName") == "FacebookTokenRejected"]
    assert len(watching) == 1 and watching[0]["Dimensions"] == [{"Name": "service", "Value": "hotline"}]
    assert watching[0]["Threshold"] == 1 and watching[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize("code", [10, 200])
def test_a_tagged_message_refused_for_permission_falls_back_instead_of_being_dropped(
        stack: Any, providers: Any, code: int) -> None:
    from chalicelib.services import delivery

    ticket = _ticket(timedelta(days=2))
    reply = _staff_reply(ticket, f"psid{uuid.uuid4().int % 10**15}", "Trả lời")
    providers.state.graph_errors.append((403, code, -1))
    assert delivery.deliver(reply.pk, reply.sk) == "callback"
    assert tickets.get_ticket(ticket).needs_callback is True


def test_a_null_or_odd_error_code_is_a_refusal_not_a_crash(stack: Any, monkeypatch: Any) -> None:
    from chalicelib.notify import facebook
    from chalicelib.notify.base import DeliveryFailed

    for error in ({"code": None, "error_subcode": None}, {"code": "x"}, {}):
        monkeypatch.setattr(facebook, "http_json", lambda *a, error=error: (400, {"error": error}))
        with pytest.raises(DeliveryFailed) as failed:
            facebook.FacebookSender().send("psid1", "Trả lời", tag="HUMAN_AGENT")
        assert failed.value.transient is False and "error -1/-1" in failed.value.reason


def test_the_window_counts_from_the_persons_latest_message_on_any_of_their_tickets(
        stack: Any, providers: Any) -> None:
    psid = f"psid{uuid.uuid4().int % 10**15}"
    # Given a person's old ticket they last wrote on 10 days ago, and a new message an hour ago on another one
    old = _ticket(timedelta(days=10), psid=psid, created_ago=timedelta(days=12))
    _ticket(timedelta(hours=1), psid=psid)
    # When staff reply on the old ticket (through the notifier's handler: its role must allow the index Query)
    from chalicelib import queues
    from tests.integration.test_channels import pump

    reply = _staff_reply(old, psid, "Trả lời phản ánh cũ")
    queues.send_notifications([(reply.pk, reply.sk)])
    pump()
    assert outbound.get_outbound(reply.pk, reply.sk).state == "sent"
    # Then it goes as an ordinary response: Meta's window runs from the person's latest message to the page
    assert [(m["text"], m["messaging_type"]) for m in _sent_to(providers, psid)] == [("Trả lời phản ánh cũ", "RESPONSE")]
    assert not tickets.get_ticket(old).needs_callback


def test_a_long_reply_goes_in_parts_cut_at_sentences_and_a_retry_sends_only_the_rest(
        stack: Any, providers: Any, monkeypatch: Any) -> None:
    from chalicelib.services import delivery

    psid = f"psid{uuid.uuid4().int % 10**15}"
    sentences = [f"Câu số {n} của câu trả lời dài, có dấu tiếng Việt đầy đủ." for n in range(90)]
    text = " ".join(sentences)  # about 5,000 characters
    reply = _staff_reply(_ticket(timedelta(hours=1)), psid, text)
    # Given Meta throttles the second part on the first attempt
    from chalicelib.notify import facebook

    real, calls = facebook.http_json, []

    def throttle_the_second(url: str, body: bytes, headers: dict[str, str]) -> Any:
        calls.append(url)
        if len(calls) == 2:
            return 400, {"error": {"code": 613, "message": "Calls to this api have exceeded the rate limit."}}
        return real(url, body, headers)

    monkeypatch.setattr(facebook, "http_json", throttle_the_second)
    with pytest.raises(delivery.RetryLater):
        delivery.deliver(reply.pk, reply.sk)
    assert len(_sent_to(providers, psid)) == 1
    # When the retry comes
    assert delivery.deliver(reply.pk, reply.sk) == "sent"
    # Then the person got every part once, in order, each within Messenger's limit and ending a sentence
    parts = [m["text"] for m in _sent_to(providers, psid)]
    assert len(parts) == 3 and all(len(p) <= 2000 and p.endswith(".") for p in parts)
    assert " ".join(parts) == text
    assert outbound.get_outbound(reply.pk, reply.sk).provider_ref == _sent_to(providers, psid)[-1]["id"]
