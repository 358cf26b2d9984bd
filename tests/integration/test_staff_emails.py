"""Every kind of e-mail staff get, rendered from one fully routed ticket on the emulator (the real
routing consumer, console actions and schedules): each names the ticket's category, commune,
agency and answer deadline as they are; a transfer says where it comes from; a callback reminder
shows the promised time as such, beside the answer deadline; the digest names each row's category
and commune."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain.clock import local_text
from chalicelib.domain.permissions import user_from_claims
from chalicelib.domain.reports import validate_submission
from chalicelib.notify import staff
from chalicelib.services import console, intake, routing, schedules
from chalicelib.store import outbound, tickets
from chalicelib.store.models import OutboundModel
from chalicelib.store.reference import load_reference
from tests.conftest import drain, unique_phone
from tests.integration.test_channels import pump

VN = timezone(timedelta(hours=7))
OPERATOR = user_from_claims({"sub": "op-emails", "email": "tongdai@demo.1022.vn", "name": "Lê Thị Mai",
                             "cognito:groups": ["operator"]})
PLACEHOLDERS = ("Chưa phân loại", "Chưa rõ", "Chưa giao", "Chưa có")


@pytest.fixture(autouse=True)
def _clean(stack: Any, providers: Any, sqs: Any) -> None:
    from chalicelib.config import settings

    for url in (settings().inbound_queue_url, settings().routing_queue_url, settings().notifications_queue_url):
        drain(sqs, url)


def _mails(code: str, kind: str) -> list[OutboundModel]:
    return [m for m in outbound.of_ticket(code) if m.kind == kind and m.channel == "email"]


def _states_the_facts(mail: OutboundModel, category: str, area: str, agency: str, due: str) -> None:
    """The text and the HTML part both carry the facts, by name, and no placeholder for a known one."""
    for part in (mail.text, mail.html or ""):
        assert f"Lĩnh vực: {category}" in part or f"<td>Lĩnh vực</td><td>{category}</td>" in part, part
        assert f"Địa bàn: {area}" in part or f"<td>Địa bàn</td><td>{area}</td>" in part, part
        assert f"Cơ quan xử lý: {agency}" in part or f"<td>Cơ quan xử lý</td><td>{agency}</td>" in part, part
        assert f"Hạn trả lời: {due}" in part or f"<td>Hạn trả lời</td><td>{due}</td>" in part, part
        assert not [p for p in PLACEHOLDERS if p in part], part


def test_each_staff_email_kind_carries_the_routed_tickets_facts(stack: Any) -> None:
    # Given a web report the router classified, placed in its commune and assigned to Sở Xây dựng
    code = intake.submit(validate_submission({
        "description": "Cống thoát nước ở khu phố 2 phường Khánh Hậu bị tắc, mưa là ngập cả con đường.",
        "phone": unique_phone()}, load_reference()))["tracking_code"]
    pump()
    ref, ticket = load_reference(), tickets.get_ticket(code)
    assert (ticket.category, ticket.area, ticket.agency) == ("ngap-ung", "khanh-hau", "so-xay-dung")
    category, area = ref.categories["ngap-ung"].name, ref.areas["khanh-hau"].name
    due = local_text(ticket.due_at)
    # Then the agency's e-mail names them all
    (assigned,) = _mails(code, "assigned")
    _states_the_facts(assigned, category, area, "Sở Xây dựng", due)

    # When an operator transfers it to the ward: the ward's e-mail says where it comes from
    console.act(OPERATOR, code, "assign", {"version": str(ticket.version), "agency": "ubnd-khanh-hau"})
    transfer = next(m for m in _mails(code, "assigned") if m.recipient == ref.agencies["ubnd-khanh-hau"].email)
    _states_the_facts(transfer, category, area, ref.agencies["ubnd-khanh-hau"].name, due)
    assert "Chuyển từ: Sở Xây dựng" in transfer.text and "Phản ánh chuyển đến" in (transfer.subject or "")
    assert "được chuyển từ Sở Xây dựng đến UBND" in transfer.text

    # When the operator promises a callback, its reminders show the callback's time as such
    ticket = tickets.get_ticket(code)
    promised = (datetime.now(VN) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    console.act(OPERATOR, code, "callback", {"version": str(ticket.version),
                                              "due": promised.strftime("%Y-%m-%dT%H:%M"),
                                              "reason": "Hỏi thêm vị trí cống"})
    schedules.callback_reminders(promised - timedelta(minutes=10))
    schedules.callback_reminders(promised + timedelta(minutes=1))
    reminders = {m.kind: m for m in outbound.of_ticket(code) if m.kind.startswith("callback_")}
    assert set(reminders) == {"callback_soon", "callback_overdue"}
    for reminder in reminders.values():
        _states_the_facts(reminder, category, area, ref.agencies["ubnd-khanh-hau"].name, due)
        assert f"Giờ hẹn gọi lại: {local_text(promised)}" in reminder.text
        assert "Lý do gọi lại: Hỏi thêm vị trí cống" in reminder.text and reminder.recipient == OPERATOR.email
    assert local_text(promised) != due

    # When the deadline watch warns at 80 % and escalates at the deadline
    ticket = tickets.get_ticket(code)
    schedules.deadline_watch(ticket.warn_at + timedelta(minutes=1))
    schedules.deadline_watch(ticket.due_at + timedelta(minutes=1))
    for kind in ("deadline_warning", "escalation"):
        mails = _mails(code, kind)
        assert mails, kind
        for mail in mails:
            _states_the_facts(mail, category, area, ref.agencies["ubnd-khanh-hau"].name, due)

    # An agency without an e-mail address: the admins' alert carries the same facts
    bare = replace(ref, agencies={**ref.agencies, "ubnd-khanh-hau": replace(ref.agencies["ubnd-khanh-hau"], email="")})
    (alert,), _ = routing.assignment_messages(ticket, bare, "ubnd-khanh-hau", datetime.now(timezone.utc),
                                              staff.ticket_facts(ticket, bare))
    assert alert.kind == "admin_alert"
    _states_the_facts(alert, category, area, ref.agencies["ubnd-khanh-hau"].name, due)


def test_the_digest_names_each_rows_category_and_commune(stack: Any) -> None:
    # Given the ward has open tickets (this one among them)
    code = intake.submit(validate_submission({
        "description": "Đèn chiếu sáng công cộng ở phường Khánh Hậu hỏng nhiều bóng",
        "category": "chieu-sang", "area": "khanh-hau", "phone": unique_phone()}, load_reference()))["tracking_code"]
    pump()
    ref = load_reference()
    agency = ref.agencies[tickets.get_ticket(code).agency]
    # When the digest goes on a day of its own
    now = datetime(2031, 1, 6, 7, 0, tzinfo=VN) + timedelta(days=uuid.uuid4().int % 3000)
    today = local_text(now)[:10]
    assert schedules._digest(agency, ref, now, today) == 1
    digest = outbound.get_outbound(f"OUTBOX#digest#{today}#{agency.id}", "OUT#digest#0")
    assert digest is not None
    # Then every row names its ticket's category and commune, as the ticket has them
    rows = [line[2:].split(" | ") for line in digest.text.splitlines() if line.startswith("- ")]
    assert rows
    for row_code, row_category, row_area, *_ in rows:
        row_ticket = tickets.get_ticket(row_code)
        assert row_category == (ref.categories[row_ticket.category].name if row_ticket.category else "Chưa phân loại")
        assert row_area == (ref.areas[row_ticket.area].name if row_ticket.area else "Chưa rõ")
