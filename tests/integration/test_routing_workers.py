"""Routing, deadlines and staff notifications on the emulator: the consumers and schedules Chalice
deploys, SES and SNS read back from the emulator, faults injected as botocore ClientErrors."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.domain.reports import validate_submission
from chalicelib.services import deadlines, intake, routing, schedules
from chalicelib.store import callbacks, outbound, tickets
from chalicelib.store.reference import current_document, load_reference
from tests.conftest import bearer, drain, unique_phone
from tests.integration.test_channels import pump

VN = timezone(timedelta(hours=7))


def _ses(recipient: str) -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sent_messages
            if recipient in m.destinations.get("ToAddresses", [])]


def _sns(phone: str) -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return [text for number, text, *_ in sns_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sms_messages.values()
            if number == phone]


def _report(text: str, **extra: Any) -> str:
    raw = {"description": text, "phone": unique_phone(), **extra}
    return intake.submit(validate_submission(raw, load_reference()))["tracking_code"]


@pytest.fixture(autouse=True)
def _clean(stack: Any, providers: Any, sqs: Any) -> None:
    for url in (settings().inbound_queue_url, settings().routing_queue_url, settings().notifications_queue_url):
        drain(sqs, url)


def _sns_about(code: str) -> list[tuple[str, str]]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return [(number, text) for number, text, *_ in
            sns_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sms_messages.values() if code in text]


def test_a_web_report_is_classified_routed_and_the_agency_gets_an_email_and_no_sms(stack: Any) -> None:
    code = _report("Kính gửi tổng đài, cống thoát nước ở khu phố 2 phường Khánh Hậu bị tắc, mưa là ngập.")
    pump()
    ticket = tickets.get_ticket(code)
    assert (ticket.category, ticket.area, ticket.agency, ticket.status) == ("ngap-ung", "khanh-hau", "so-xay-dung",
                                                                            "assigned")
    assert ticket.due_at is not None and ticket.warn_at < ticket.due_at
    (mail,) = _ses("soxaydung@example.gov.vn")[-1:]
    assert code in mail.subject and "Ngập úng" in mail.body and "<html" in mail.body
    assert _sns_about(code) == []                            # the agency's phone gets no SMS
    assert [(m.channel, m.state) for m in outbound.of_ticket(code)] == [("email", "sent")]


def test_unclear_reports_go_to_triage_and_recategorising_reroutes(stack: Any) -> None:
    code = _report("Xin chào, cho tôi hỏi một chuyện ở xã Bến Cầu")
    pump()
    ticket = tickets.get_ticket(code)
    assert (ticket.status, ticket.area, ticket.agency) == ("triage", "ben-cau", None)
    assert routing.recategorise(code, "chieu-sang", None, actor="operator:lan") == "assigned"
    ticket = tickets.get_ticket(code)
    assert (ticket.category, ticket.agency) == ("chieu-sang", "ubnd-ben-cau")  # category x area rule
    assert [e.actor for e in tickets.timeline(code)][-1] == "operator:lan"


def test_ses_throttling_never_loses_a_notification(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services import delivery

    real = aws.client("ses")
    calls = {"n": 0}

    class Throttled:
        def send_email(self, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] <= 2:
                raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded"}},
                                  "SendEmail")
            return real.send_email(**kwargs)

    original = aws.client
    monkeypatch.setattr(aws, "client", lambda name: Throttled() if name == "ses" else original(name))
    code = _report("Đèn đường hẻm 9 phường Tân Ninh tắt hết")
    pump()
    email = next(m for m in outbound.of_ticket(code) if m.channel == "email")
    assert (email.state, email.last_error) == ("pending", "ses Throttling")
    with pytest.raises(delivery.RetryLater):
        delivery.deliver(email.pk, email.sk)
    assert delivery.deliver(email.pk, email.sk) == "sent"
    assert _ses("ubnd.tan-ninh@example.gov.vn")[-1].subject.endswith(code)


def test_a_rejected_sns_number_is_recorded_not_retried_forever(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing:
        def publish(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "InvalidParameter", "Message": "bad number"}}, "Publish")

    original = aws.client
    monkeypatch.setattr(aws, "client", lambda name: Refusing() if name == "sns" else original(name))
    code = _report("Mất điện cả khu phố 4 từ sáng")
    pump()
    ticket = tickets.get_ticket(code)
    schedules.deadline_watch(ticket.warn_at + timedelta(minutes=1))
    # the hotline supervisor's SMS; the watch does a bounded page per run and other tests' tickets are due too
    for _ in range(40):
        schedules.deadline_watch(ticket.due_at + timedelta(minutes=1))
        if any(m.channel == "sms" for m in outbound.of_ticket(code)):
            break
    for _ in range(10):  # the watch also queued other tests' overdue notices ahead of ours
        pump()
        sms = next(m for m in outbound.of_ticket(code) if m.channel == "sms")
        if sms.state != "pending":
            break
    assert (sms.state, sms.last_error) == ("dead", "sns InvalidParameter")


def test_an_agency_without_contact_still_gets_the_ticket_and_admins_are_alerted(stack: Any) -> None:
    from chalicelib.store.reference import save_reference

    document, version = current_document()
    changed = json.loads(json.dumps(document))
    changed["version"] = (version or document["version"]) + 1
    for agency in changed["agencies"]:
        if agency["id"] == "so-giao-duc":
            agency.update(email="", phone="")
    save_reference(changed, version)
    try:
        code = _report("Trường tiểu học thu thêm tiền học phí ngoài quy định")
        pump()
        assert tickets.get_ticket(code).agency == "so-giao-duc"
        assert any(code in m.body for m in _ses("quantri.1022@example.gov.vn"))
    finally:
        restored = {**document, "version": changed["version"] + 1}
        save_reference(restored, changed["version"])


def test_callback_reminders_once_per_stage_and_only_in_hotline_hours(stack: Any) -> None:
    code = _report("Xin gọi lại giúp tôi về hồ sơ đất")
    email = f"op-{uuid.uuid4().hex[:6]}@example.gov.vn"
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=VN)
    callbacks.add(code, noon + timedelta(minutes=10), "Hỏi thêm thông tin thửa đất", "operator:mai", email,
                  "0912345678", noon)
    assert schedules.callback_reminders(noon) >= 1
    assert schedules.callback_reminders(noon) == 0            # the same run again: nothing new
    pump()
    assert len(_ses(email)) == 1 and "Sắp đến giờ gọi lại" in _ses(email)[0].subject
    assert schedules.callback_reminders(noon + timedelta(minutes=11)) >= 1   # now overdue: second stage
    pump()
    assert len(_ses(email)) == 2 and "Quá hạn gọi lại" in _ses(email)[1].subject
    assert _sns_about(code) == []                             # reminders are e-mails, never SMS
    late = f"late-{uuid.uuid4().hex[:6]}@example.gov.vn"
    night = datetime(2026, 12, 1, 21, 0, tzinfo=VN)
    callbacks.add(code, night + timedelta(minutes=5), "Gọi lại", "operator:mai", late, None, night)
    assert schedules.callback_reminders(night) == 0           # 21:00 is after hours: wait
    pump()
    assert _ses(late) == []
    schedules.callback_reminders(datetime(2026, 12, 2, 7, 0, tzinfo=VN))
    pump()
    assert len(_ses(late)) == 1                               # sent at the next opening, as overdue


def test_deadline_watch_warns_at_80_percent_then_escalates_once_by_sms_only_to_who_opted_in(stack: Any) -> None:
    code = _report("Rác thải tồn đọng ở chợ xã Tân Biên nhiều ngày")
    pump()
    ticket = tickets.get_ticket(code)
    assert ticket.watch_stage == "warn"
    # (other tests' tickets share the table, so the checks follow this ticket, not the counts)
    schedules.deadline_watch(ticket.warn_at - timedelta(minutes=1))
    assert tickets.get_ticket(code).watch_stage == "warn"
    schedules.deadline_watch(ticket.warn_at + timedelta(minutes=1))
    assert tickets.get_ticket(code).watch_stage == "due"
    schedules.deadline_watch(ticket.warn_at + timedelta(minutes=2))   # running again sends nothing new
    pump()
    agency = load_reference().agencies[ticket.agency]
    warnings = [m for m in _ses(agency.email) if "Sắp đến hạn" in m.subject and code in m.subject]
    assert len(warnings) == 1
    after_due = ticket.due_at + timedelta(minutes=1)
    schedules.deadline_watch(after_due)
    schedules.deadline_watch(after_due)
    pump()
    flagged = tickets.get_ticket(code)
    assert flagged.overdue is True and flagged.watch_stage == "purge"  # off the deadline watch, on retention's
    assert len([m for m in _ses(agency.supervisor_email) if code in m.subject]) == 1
    assert any(code in m.subject for m in _ses("giamsat.1022@example.gov.vn"))
    # The 80 % warning was an e-mail; the agency's supervisor did not opt in to SMS, the hotline's did.
    assert not agency.supervisor_sms_escalations
    ((number, text),) = _sns_about(code)
    assert number == "+84901022000" and text.startswith(f"1022: QUA HAN phan anh {code}")
    assert [e.kind for e in tickets.timeline(code)][-2:] == ["deadline_warning", "escalated"]


def test_an_opted_in_agency_supervisor_gets_one_sms_on_escalation(stack: Any) -> None:
    code = _report("Cống thoát nước phường Khánh Hậu bị tắc, mưa là ngập cả con đường")
    pump()
    ticket = tickets.get_ticket(code)
    supervisor = load_reference().agencies[ticket.agency]
    assert supervisor.supervisor_sms_escalations                    # Sở Xây dựng's supervisor opted in
    schedules.deadline_watch(ticket.warn_at + timedelta(minutes=1))
    pump()
    assert _sns_about(code) == []                                     # the 80 % warning: e-mail only
    schedules.deadline_watch(ticket.due_at + timedelta(minutes=1))
    schedules.deadline_watch(ticket.due_at + timedelta(minutes=2))
    pump()
    assert sorted(number for number, _ in _sns_about(code)) == ["+84901022000", supervisor.supervisor_phone]


def test_extensions_need_reason_and_approver_and_the_paused_clock_moves_the_deadline(stack: Any) -> None:
    from chalicelib.domain.errors import ValidationFailed

    code = _report("Đường liên ấp xã Đức Hòa xuống cấp, nhiều ổ gà")
    pump()
    due = tickets.get_ticket(code).due_at
    with pytest.raises(ValidationFailed) as failed:
        deadlines.extend(code, 2, reason=" ", approver="", actor="operator:mai")
    assert {e.field for e in failed.value.errors} == {"reason", "approver"}
    extended = deadlines.extend(code, 2, "Cần khảo sát hiện trường", "pgd.soxaydung", actor="officer:binh")
    assert extended > due and tickets.get_ticket(code).due_at == extended
    assert "gia hạn" in [e.public_text for e in tickets.timeline(code)][-1]
    paused_at = datetime.now(timezone.utc)
    deadlines.pause(code, "officer:binh", "Chờ người dân gửi ảnh", now=paused_at)
    resumed = deadlines.resume_clock(code, "officer:binh", now=paused_at + timedelta(days=7))
    assert resumed is not None and resumed > extended


def test_the_daily_digest_goes_once_per_agency_and_day(stack: Any) -> None:
    _report("Đèn chiếu sáng công cộng ở phường Kiến Tường hỏng nhiều bóng")
    pump()
    seven = datetime(2026, 12, 3, 7, 0, tzinfo=VN)
    assert schedules.daily_digest(seven) >= 1
    assert schedules.daily_digest(seven) == 0
    pump()
    (digest,) = [m for m in _ses("ubnd.kien-tuong@example.gov.vn") if "Tổng hợp ngày 03/12/2026" in m.subject]
    assert "đang mở" in digest.body


def test_ses_bounces_and_complaints_are_recorded_and_shown_to_admins(client: Any, staff: dict[str, str]) -> None:
    address = f"bounce-{uuid.uuid4().hex[:6]}@example.gov.vn"
    notice = {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent",
                                                       "bouncedRecipients": [{"emailAddress": address}]}}
    result = client.lambda_.invoke("ses_events", client.events.generate_sns_event(message=json.dumps(notice)))
    assert result.payload == {"recorded": 1}
    token = bearer(staff["admin"])
    assert client.http.get("/api/v1/admin/contacts", headers=bearer(staff["operator"])).status_code == 403
    listed = client.http.get("/api/v1/admin/contacts", headers=token).json_body["contacts"]
    assert {"address": address, "bounces": 1, "complaints": 0} == {k: v for k, v in
                                                                   next(c for c in listed if c["address"] == address).items()
                                                                   if k in ("address", "bounces", "complaints")}
    assert client.http.get("/api/v1/admin/contacts").status_code == 401


def test_admins_edit_reference_data_and_bad_edits_change_nothing(client: Any, staff: dict[str, str]) -> None:
    token = bearer(staff["admin"], **{"Content-Type": "application/json"})
    as_supervisor = bearer(staff["supervisor"], **{"Content-Type": "application/json"})
    assert client.http.get("/api/v1/admin/reference", headers=as_supervisor).status_code == 403
    current = client.http.get("/api/v1/admin/reference", headers=token).json_body
    document, version = current["document"], current["version"]
    broken = {**document, "version": version + 1, "categories": [{**document["categories"][0], "agency": "nobody"},
                                                                  *document["categories"][1:]]}
    refused = client.http.put("/api/v1/admin/reference", headers={**token, "If-Match": str(version)},
                              body=json.dumps(broken).encode())
    assert refused.status_code == 400 and "categories.giao-thong.agency" in refused.json_body["error"]["fields"]
    assert client.http.get("/api/v1/admin/reference", headers=token).json_body["version"] == version
    renamed = json.loads(json.dumps(document))
    renamed["version"] = version + 1
    renamed["categories"][0]["sla_working_days"] = 4
    ok = client.http.put("/api/v1/admin/reference", headers={**token, "If-Match": str(version)},
                         body=json.dumps(renamed, ensure_ascii=False).encode())
    assert ok.status_code == 200 and ok.json_body == {"version": version + 1}
    stale = client.http.put("/api/v1/admin/reference", headers={**token, "If-Match": str(version)},
                            body=json.dumps({**renamed, "version": version + 2}, ensure_ascii=False).encode())
    assert stale.status_code == 409
    assert client.http.put("/api/v1/admin/reference", body=b"{}").status_code == 401
    quoted = client.http.put("/api/v1/admin/reference", headers={**token, "If-Match": '"abc"'},
                             body=json.dumps(renamed, ensure_ascii=False).encode())
    assert quoted.status_code == 400 and "If-Match" in quoted.json_body["error"]["fields"]


def test_an_extension_after_the_warning_restarts_the_watch_and_escalation_still_comes(stack: Any) -> None:
    code = _report("Đường vào chợ xã Cần Đước có nhiều ổ gà sâu")
    pump()
    ticket = tickets.get_ticket(code)
    schedules.deadline_watch(ticket.warn_at + timedelta(minutes=1))
    assert tickets.get_ticket(code).watch_stage == "due"
    extended = deadlines.extend(code, 3, "Chờ nhà thầu khảo sát", "pgd.soxaydung", actor="officer:binh",
                                now=ticket.warn_at + timedelta(minutes=2))
    assert tickets.get_ticket(code).watch_stage == "warn"
    later = tickets.get_ticket(code)
    schedules.deadline_watch(later.warn_at + timedelta(minutes=1))
    assert tickets.get_ticket(code).watch_stage == "due"        # warned again for the new deadline
    schedules.deadline_watch(extended + timedelta(minutes=1))
    assert tickets.get_ticket(code).overdue is True             # and escalated after it
