"""A citizen writes again, through the real inbound path (signed webhooks, the inbound, routing and
notifier consumers on the emulator): soon after the answer the ticket is reopened, long after it a
new ticket is linked to it, and an unrelated complaint becomes a ticket of its own. Each reply says
which ticket has the message."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.config import settings
from chalicelib.store import tickets
from chalicelib.store.models import TicketModel
from tests.conftest import bearer, drain, unique_phone
from tests.integration.test_channels import gateway_post, pump, sent_to, zalo_post
from tests.integration.test_followers import resolve


@pytest.fixture(autouse=True)
def _clean_queues(stack: Any, providers: Any, sqs: Any) -> None:
    for url in (settings().inbound_queue_url, settings().routing_queue_url, settings().notifications_queue_url):
        drain(sqs, url)


def _answered_lights(client: Any, staff: dict[str, str], phone: str) -> TicketModel:
    """Given an SMS about street lights, routed and answered by an operator."""
    gateway_post(client, phone, "Đèn đường hẻm 5 khu phố 3 phường Long Hoa tắt cả tuần, tối om")
    pump()
    (ticket,) = tickets.by_phone("+84" + phone[1:])
    resolve(client, staff, ticket.tracking_code, "Điện lực đã thay bóng đèn hẻm 5.")
    return tickets.get_ticket(ticket.tracking_code)


def test_a_message_soon_after_the_answer_reopens_the_ticket_and_tells_the_citizen(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    phone = unique_phone()
    e164 = "+84" + phone[1:]
    answered = _answered_lights(client, staff, phone)
    assert answered.status == "answered" and answered.open_queue is None
    # When the citizen writes again the next day
    gateway_post(client, phone, "Den sua xong duoc 2 hom lai tat roi")
    pump()
    # Then the same ticket is open again, back in the open queue with a fresh deadline
    (ticket,) = tickets.by_phone(e164)
    assert ticket.tracking_code == answered.tracking_code
    assert ticket.status == "reopened" and ticket.open_queue == "OPEN" and ticket.agency_open == answered.agency
    assert ticket.due_at > datetime.now(timezone.utc)
    events = tickets.timeline(ticket.tracking_code)
    message, reopened = events[-2:]
    assert message.kind == "message_in" and message.detail["text"] == "Den sua xong duoc 2 hom lai tat roi"
    assert reopened.kind == "reopened" and "nhắn tin lại" in reopened.detail["reason"] and reopened.public
    # And the citizen is told, in one SMS, which ticket has their message
    reply = sent_to(providers, e164)[-1]
    assert f"mo lai phan anh {ticket.tracking_code}" in reply and reply.isascii()


def test_a_message_long_after_the_answer_opens_a_new_ticket_linked_to_it(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    phone = unique_phone()
    e164 = "+84" + phone[1:]
    answered = _answered_lights(client, staff, phone)
    # Given the answer was given ten days ago (the reopen window is seven)
    answered.update(actions=[TicketModel.answered_at.set(datetime.now(timezone.utc) - timedelta(days=10))])
    gateway_post(client, phone, "Den hem 5 lai tat nua roi")
    pump()
    new, old = tickets.by_phone(e164)
    assert old.tracking_code == answered.tracking_code and old.status == "answered"
    # a new ticket, linked, sent where the answered one went (its text alone would have left it to the operators)
    assert new.related_to == answered.tracking_code
    assert (new.status, new.category, new.agency) == ("assigned", "chieu-sang", answered.agency)
    created = tickets.timeline(new.tracking_code)[0]
    assert created.detail["related_to"] == answered.tracking_code and answered.tracking_code in created.detail["reason"]
    ack = sent_to(providers, e164)[-1]
    assert new.tracking_code in ack and f"tiep noi phan anh {answered.tracking_code}" in ack
    shown = client.http.get(f"/api/v1/staff/tickets/{new.tracking_code}", headers=bearer(staff["operator"]))
    assert shown.json_body["related_to"] == answered.tracking_code


def test_an_unrelated_complaint_is_a_ticket_of_its_own_and_a_follow_up_still_joins(
        client: Any, providers: Any, staff: dict[str, str]) -> None:
    user = f"z{uuid.uuid4().int % 10**18}"
    zalo_post(client, user, "Đường Nguyễn Chí Thanh phường Tân Ninh có ổ gà rất lớn trước nhà số 120")
    pump()
    (pothole,) = tickets.by_zalo(user)
    # When the same citizen reports burning rubbish in another commune
    zalo_post(client, user, "Có người đốt rác khói mù mịt cả ngày ở ấp 3 xã Bến Cầu")
    pump()
    rubbish, first = tickets.by_zalo(user)
    assert first.tracking_code == pothole.tracking_code
    assert rubbish.related_to == pothole.tracking_code
    assert (rubbish.category, rubbish.area) == ("moi-truong", "ben-cau")
    assert [e.kind for e in tickets.timeline(pothole.tracking_code)] == ["created", "routed"]
    ack = sent_to(providers, user)[-1]
    assert f"Mã tra cứu: {rubbish.tracking_code}" in ack and f"tách riêng với phản ánh {pothole.tracking_code}" in ack
    # the operator sees why on the new ticket's page, with a link to the pothole
    page = client.http.get(f"/staff/tickets/{rubbish.tracking_code}", headers={"Cookie": f"hl_id={staff['operator']}"})
    html = page.body.decode()
    assert page.status_code == 200 and f'href="/staff/tickets/{pothole.tracking_code}"' in html
    assert f"khác với phản ánh {pothole.tracking_code} đang xử lý" in html
    # And a follow-up about the pothole still joins the pothole's ticket, with no new acknowledgement
    zalo_post(client, user, "ổ gà càng ngày càng to, sáng nay lại có người té xe")
    pump()
    assert len(tickets.by_zalo(user)) == 2
    assert tickets.timeline(pothole.tracking_code)[-1].kind == "message_in"
    assert len(sent_to(providers, user)) == 2
