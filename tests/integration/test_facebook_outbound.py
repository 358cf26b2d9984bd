"""The fanpage's outbound side on the emulator: the real notifier through the fake Graph API, and
Messenger's windows (RESPONSE within 24 h, HUMAN_AGENT-tagged staff replies up to 7 days, then SMS or a
call), its final refusals and its throttling."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.store import outbound, tickets
from tests.conftest import unique_phone


def _ticket(last_inbound: timedelta, phone: str | None = None) -> str:
    from chalicelib.services.intake import store_new_ticket

    now = datetime.now(timezone.utc)
    fields = {"channel": "facebook", "reporter_phone": phone, "text": "Hỏi", "status": "received",
              "created_at": now, "updated_at": now, "last_inbound_at": now - last_inbound}
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


def test_the_survey_after_24_hours_is_not_sent_as_a_human_agent_message(stack: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    psid = f"psid{uuid.uuid4().int % 10**15}"
    code = _ticket(timedelta(days=2))
    survey = _staff_reply(code, psid, "Mời đánh giá", kind="survey")
    assert delivery.deliver(survey.pk, survey.sk) == "callback"  # no phone: flagged for a call instead
    assert _sent_to(providers, psid) == []
    answer = _staff_reply(code, psid, "Đã xử lý", kind="answer")
    assert delivery.deliver(answer.pk, answer.sk) == "sent"
    assert [m["tag"] for m in _sent_to(providers, psid)] == ["HUMAN_AGENT"]


def test_after_seven_days_messenger_is_not_tried_sms_goes_or_the_ticket_is_flagged_for_a_call(
        stack: Any, providers: Any) -> None:
    from chalicelib.services import delivery

    psid = f"psid{uuid.uuid4().int % 10**15}"
    phone = unique_phone()
    with_phone, without = _ticket(timedelta(days=8), "+84" + phone[1:]), _ticket(timedelta(days=8))
    first, second = _staff_reply(with_phone, psid, "Trả lời"), _staff_reply(without, psid, "Trả lời")
    assert delivery.deliver(first.pk, first.sk) == "fallback"
    assert delivery.deliver(second.pk, second.sk) == "callback"
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


def test_a_wrong_page_token_is_given_up_not_retried(stack: Any, providers: Any, monkeypatch: Any) -> None:
    from chalicelib.notify.base import DeliveryFailed
    from chalicelib.notify.facebook import FacebookSender

    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "revoked")
    with pytest.raises(DeliveryFailed) as failed:
        FacebookSender().send(f"psid{uuid.uuid4().int % 10**15}", "Trả lời")
    assert failed.value.transient is False and "190" in failed.value.reason


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
