"""The privacy notice and consents: /rieng-tu says in Vietnamese what is collected, why, who sees it,
how long and how to ask for deletion; the form, the SMS acknowledgement (while it fits one segment),
the Zalo acknowledgement and welcome point to it, the JSON API's and Open311's answers link it; every
ticket records the consents and the notice version it was made under — where the notice was shown or
linked, none where it was not (an SMS acknowledgement too long to carry the link); messages sent
outside any ticket expire with their person marker; the queues and the photo bucket keep nothing longer than needed."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.config import settings
from chalicelib.domain.notice import notice_version
from chalicelib.domain.sms import fits_one_segment
from chalicelib.store import outbound, people, tickets
from chalicelib.store.reference import load_reference
from tests.conftest import bearer, unique_phone
from tests.integration.test_channels import gateway_post, pump, sent_to, zalo_follow, zalo_post

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}
SITE = "https://1022.tayninh.gov.vn"


@pytest.fixture
def site_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets the site's public address (PUBLIC_BASE_URL) for this test."""
    def apply(base: str) -> None:
        monkeypatch.setenv("PUBLIC_BASE_URL", base)
        settings.cache_clear()

    yield apply
    monkeypatch.undo()
    settings.cache_clear()


def _code(html: str) -> str:
    return re.search(r'id="tracking-code">([^<]+)<', html).group(1)


def test_the_notice_says_what_how_long_and_how_to_ask_and_every_citizen_page_links_it(client: Any,
                                                                                      stack: Any) -> None:
    page = client.http.get("/rieng-tu")
    html = page.body.decode()
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for heading in ("Chúng tôi thu thập gì", "Để làm gì", "Ai được xem", "Lưu bao lâu", "Quyền của bạn"):
        assert heading in html, heading
    version = notice_version(load_reference())
    assert f'id="notice-version">{version}<' in html
    assert re.search(r'id="keep-closed">\d+ tháng', html) and "tối đa 35 ngày" in html  # PITR's window
    assert settings().hotline in html and "xoá" in html and "91/2025/QH15" in html
    # The form explains both consents next to the link; its confirmation links it again
    form = client.http.get("/").body.decode()
    assert 'id="notice-link"' in form and 'href="/rieng-tu"' in form
    assert 'name="consent_contact"' in form and 'name="consent_publish"' in form
    assert "checked" not in re.search(r'<input[^>]+id="consent_contact"[^>]*>', form).group(0)  # never pre-ticked
    sent = client.http.post("/", headers=FORM, body=urlencode({
        "description": "Hỏi thủ tục đăng ký kinh doanh hộ cá thể", "phone": unique_phone(), "confirm_new": "1"}).encode())
    assert sent.status_code == 200 and 'href="/rieng-tu"' in sent.body.decode()


def test_every_channel_records_the_notice_version_and_the_consents(client: Any, staff: dict[str, str],
                                                                   providers: Any, site_at: Any) -> None:
    from chalicelib.domain.permissions import user_from_claims
    from chalicelib.services import open311

    site_at(SITE)
    version = notice_version(load_reference())
    # The web form, both boxes ticked
    page = client.http.post("/", headers=FORM, body=urlencode({
        "description": "Cây xanh ngã chắn đường ấp 3", "phone": unique_phone(), "confirm_new": "1",
        "consent_publish": "1", "consent_contact": "1"}).encode())
    by_form = tickets.get_ticket(_code(page.body.decode()))
    # The JSON API, "be contacted" only
    created = client.http.post("/api/v1/reports", headers=JSON_TYPE, body=json.dumps(
        {"description": "Đèn tín hiệu giao thông hỏng", "phone": unique_phone(), "consent_contact": True}).encode())
    by_api = tickets.get_ticket(created.json_body["tracking_code"])
    assert created.json_body["privacy_notice"] == f"{SITE}/rieng-tu"  # the version is recorded: it is linked
    # A call the operator entered, the caller agreeing to a call back
    called = client.http.post("/api/v1/staff/intake", headers=bearer(staff["operator"], **JSON_TYPE), body=json.dumps(
        {"phone": unique_phone(), "description": "Người gọi báo mất nước", "consent_contact": "1"}).encode())
    by_phone = tickets.get_ticket(called.json_body["tracking_code"])
    # An Open311 integrator's request
    admin = user_from_claims({"sub": "s", "email": "quantri@demo.1022.vn", "cognito:groups": ["admin"]})
    key = open311.add_integrator(admin, "Ứng dụng thử")["api_key"]
    request = client.http.post("/open311/v2/requests.json", headers=FORM, body=urlencode({
        "api_key": key, "service_code": "ngap-ung", "lat": "11.31", "long": "106.1", "attribute[area]": "tan-ninh",
        "description": "Ngập trước cổng chợ", "phone": unique_phone()}).encode())
    by_open311 = tickets.get_ticket(request.json_body[0]["service_request_id"])
    assert request.json_body[0]["service_notice"].endswith(f"{SITE}/rieng-tu")
    # An SMS and a Zalo message
    phone, user = unique_phone(), f"z{uuid.uuid4().int % 10**18}"
    assert gateway_post(client, phone, "Rác ùn ứ đầu hẻm 7 chưa ai dọn").status_code == 200
    assert zalo_post(client, user, "Đường ấp 2 có ổ gà lớn").status_code == 200
    pump()
    (by_sms,) = tickets.by_phone("+84" + phone[1:])
    (by_zalo,) = tickets.by_zalo(user)
    recorded = [(t.channel, t.notice_version, t.consent_publish, t.consent_contact)
                for t in (by_form, by_api, by_phone, by_open311, by_sms, by_zalo)]
    assert recorded == [("web", version, True, True), ("web", version, False, True), ("phone", version, False, True),
                        ("open311", version, False, False), ("sms", version, False, False),
                        ("zalo", version, False, False)]
    # Staff see what the citizen agreed to, on the ticket page and in the staff API
    view = client.http.get(f"/api/v1/staff/tickets/{by_api.tracking_code}", headers=bearer(staff["operator"]))
    assert view.json_body["consents"] == {"publish": False, "contact": True, "notice_version": version}
    page = client.http.get(f"/staff/tickets/{by_form.tracking_code}", headers={"Cookie": f"hl_id={staff['operator']}"})
    assert "Đồng ý công khai: có · Đồng ý được liên hệ lại: có" in page.body.decode()


def test_zalo_acknowledgement_and_welcome_link_the_notice_and_the_welcome_expires(client: Any, providers: Any,
                                                                                  site_at: Any) -> None:
    site_at(SITE)
    user = f"z{uuid.uuid4().int % 10**18}"
    assert zalo_post(client, user, "Cống bể trước nhà văn hoá ấp 1").status_code == 200
    zalo_follow(client, user)
    pump()
    ack, welcome = sorted(sent_to(providers, user), key=lambda text: "Chào bạn" in text)
    assert "đã tiếp nhận phản ánh" in ack and f"{SITE}/rieng-tu" in ack
    assert welcome.startswith("Chào bạn") and f"{SITE}/rieng-tu" in welcome
    # The welcome belongs to no ticket: it expires with the retention of outbound texts, and so does
    # the person marker that lets an access or erasure request find it (a digest, never the id)
    (marker,) = [m for m in people.markers(user) if m.kind == "OUTBOX"]
    assert user not in marker.pk and user not in marker.ref
    pk, sk = marker.ref.split("|")
    item = outbound.get_outbound(pk, sk)
    assert item is not None and item.kind == "welcome" and item.recipient == user
    assert item.expires_at == marker.expires_at
    assert timedelta(days=90, seconds=-1) < item.expires_at - item.created_at <= timedelta(days=90)


@pytest.mark.parametrize("base,linked", [(SITE, True),
                                         ("https://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com/api", False)])
def test_the_sms_acknowledgement_links_the_notice_only_while_it_stays_one_segment(
        client: Any, providers: Any, site_at: Any, base: str, linked: bool) -> None:
    site_at(base)
    phone = unique_phone()
    assert gateway_post(client, phone, "Đèn đường hẻm 12 tắt ba hôm nay").status_code == 200
    pump()
    (ticket,) = tickets.by_phone("+84" + phone[1:])
    (ack,) = [m.text for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack"]
    assert fits_one_segment(ack) and ticket.tracking_code in ack
    assert (f"{base}/rieng-tu" in ack) is linked
    # the ticket records the notice's version only when the acknowledgement linked it
    assert ticket.notice_version == (notice_version(load_reference()) if linked else None)


def test_a_report_by_the_api_links_the_notice_at_the_address_it_was_called(client: Any, stack: Any) -> None:
    created = client.http.post("/api/v1/reports", headers=JSON_TYPE, body=json.dumps(
        {"description": "Hố ga mất nắp trước trường học", "phone": unique_phone()}).encode())
    assert created.status_code == 201 and created.json_body["privacy_notice"].endswith("/rieng-tu")
    assert created.json_body["privacy_notice"].startswith(("http://", "https://"))


def test_queues_and_the_photo_bucket_keep_nothing_longer_than_needed(stack: Any) -> None:
    """Queues as the local stack created them from infra/resources.json; the bucket as the template has it."""
    import boto3

    sqs = boto3.client("sqs")

    def retention(logical_id: str) -> int:
        url = sqs.get_queue_url(QueueName=stack.resources[logical_id].rsplit("/", 1)[-1])["QueueUrl"]
        return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])
                   ["Attributes"]["MessageRetentionPeriod"])

    day = 24 * 3600
    assert retention("RoutingQueue") == retention("NotificationsQueue") == day  # the sweeper re-queues
    assert retention("InboundQueue") == 2 * day  # the citizen's message exists nowhere else yet
    assert retention("RoutingDLQ") == retention("InboundDLQ") == retention("NotificationsDLQ") == 14 * day
    # The emulator's CloudFormation leaves a bucket's versioning and lifecycle out: read what AWS applies
    from tests.conftest import ROOT

    bucket = json.loads((ROOT / "infra" / "resources.json").read_text())["Resources"]["AttachmentsBucket"]
    assert bucket["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    (deleted,) = [r for r in rules if "NoncurrentVersionExpiration" in r]
    assert deleted["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1 and deleted["Status"] == "Enabled"
    assert not deleted.get("Prefix") and not (deleted.get("Filter") or {}).get("Prefix")  # the whole bucket
