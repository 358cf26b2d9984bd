"""Personal status links (/s/<token>): every reporter who gets an acknowledgement (the web form's
page, the JSON API's answer, the SMS or Zalo acknowledgement, Open311's notice) and every verified
follower gets one, so a Zalo-only or e-mail-only reporter and a follower can see the status with
no code and no phone digits. A link shows what /tra-cuu shows (a follower's, the system's own
steps and only a published answer), stops working once the ticket is anonymised or the follower is
erased, is never logged, and an unknown one is a Vietnamese 404; views count like /tra-cuu lookups."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.config import settings
from chalicelib.domain.errors import TooManyRequests
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.sms import fits_one_segment, is_gsm7
from chalicelib.services import privacy, status_links
from chalicelib.store import outbound, tickets
from chalicelib.store import status_links as store
from tests.conftest import bearer, unique_phone
from tests.integration.test_channels import gateway_post, pump, zalo_post
from tests.integration.test_followers import report, sent_code

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}
SITE = "https://1022.tayninh.gov.vn"
LINK = re.compile(r"/s/([A-Za-z0-9_-]{22})")
ADMIN = StaffUser("admin-sub", "quantri@demo.1022.vn", "Quản trị", frozenset({"admin"}))


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The site's public address is configured (PUBLIC_BASE_URL), as on AWS and in `make run`."""
    monkeypatch.setenv("PUBLIC_BASE_URL", SITE)
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


def _token(text: str) -> str:
    found = LINK.search(text)
    assert found, f"no status link in {text!r}"
    return found.group(1)


def _open(client: Any, token: str) -> Any:
    return client.http.get(f"/s/{token}")


def _acknowledgement(providers: Any, code: str, recipient: str) -> str:
    """The acknowledgement as the provider was handed it (the kept copy has the token masked once sent)."""
    (ack,) = [m.text for m in outbound.of_ticket(code) if m.kind == "ack"]
    assert not LINK.search(ack) and "/s/******" in ack
    (handed,) = [m["text"] for m in providers.state.outbox if m["to"] == recipient and code in m["text"]]
    return handed


def test_a_web_reporter_sees_the_status_by_the_link_alone(client: Any, providers: Any, site: None) -> None:
    # Given a citizen who reports on the web form
    phone = unique_phone()
    page = client.http.post("/", headers=FORM, body=urlencode({
        "description": "Cây xanh ngã đè lên vỉa hè đường Ba Mươi Tháng Tư", "email": f"{uuid.uuid4().hex[:8]}@gmail.com",
        "phone": phone, "name": "Đặng Thị Lụa", "confirm_new": "1"}).encode()).body.decode()
    # When they follow the link the confirmation page gives them
    token = _token(page)
    assert f'href="{SITE}/s/{token}"' in page
    shown = _open(client, token)
    html = shown.body.decode()
    code = re.search(r'id="tracking-code">([^<]+)<', html).group(1)
    # Then they see the ticket's status, as the status page shows it, and nothing of theirs
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert "noindex" in shown.headers["X-Robots-Tag"] and shown.headers["Referrer-Policy"] == "no-referrer"
    assert 'id="status-label">Đã tiếp nhận<' in html and "Đã tiếp nhận phản ánh." in html
    assert "@gmail.com" not in html and "Cây xanh ngã" not in html and "Lụa" not in html and phone[-4:] not in html
    # ... and only a digest of the token is stored, the link's two items pointing at the ticket
    (entry,) = store.of_ticket(code)
    assert entry.who == "reporter" and token not in entry.sk and entry.sk.startswith("STATUS#")
    assert store.find(token).tracking_code == code


def test_the_json_api_and_open311_give_the_link_and_phone_intake_none(client: Any, staff: dict[str, str],
                                                                      stack: Any) -> None:
    created = client.http.post("/api/v1/reports", headers=JSON_TYPE, body=json.dumps(
        {"description": "Hỏi thủ tục cấp đổi giấy phép lái xe", "phone": unique_phone()}).encode())
    assert created.status_code == 201
    url = created.json_body["status_url"]
    assert url.startswith("http") and _open(client, _token(url)).status_code == 200
    # An operator's phone intake: the caller is read the code (their own phone opens /tra-cuu)
    taken = client.http.post("/api/v1/staff/intake", headers=bearer(staff["operator"], **JSON_TYPE), body=json.dumps(
        {"description": "Người gọi hỏi lịch tiếp công dân", "phone": unique_phone(), "form_token": uuid.uuid4().hex}
    ).encode())
    assert taken.status_code == 201 and "status_url" not in taken.json_body
    assert store.of_ticket(taken.json_body["tracking_code"]) == []


def test_sms_and_zalo_acknowledgements_carry_the_link_within_one_segment(client: Any, providers: Any,
                                                                         site: None) -> None:
    # Given a citizen who reports by SMS and one who reports on Zalo (no phone number known)
    phone, user = unique_phone(), f"zl-{uuid.uuid4().hex[:10]}"
    assert gateway_post(client, phone, "Đèn đường hẻm 9 tắt ba hôm nay").status_code == 200
    assert zalo_post(client, user, "Rác ùn ứ ở chợ Long Hoa mấy ngày chưa thu gom").status_code == 200
    pump()
    (sms_ticket,) = tickets.by_phone("+84" + phone[1:])
    (zalo_ticket,) = tickets.by_zalo(user)
    # Then the SMS acknowledgement links the status and the privacy notice in one GSM-7 segment
    sms = _acknowledgement(providers, sms_ticket.tracking_code, "+84" + phone[1:])
    assert is_gsm7(sms) and fits_one_segment(sms) and f"{SITE}/rieng-tu" in sms and sms_ticket.tracking_code in sms
    # ... the Zalo one too, and each link opens its own ticket
    zalo = _acknowledgement(providers, zalo_ticket.tracking_code, user)
    assert f"Xem tình trạng phản ánh của bạn: {SITE}/s/" in zalo
    for ticket, text in ((sms_ticket, sms), (zalo_ticket, zalo)):
        html = _open(client, _token(text)).body.decode()
        assert f'id="tracking-code">{ticket.tracking_code}<' in html


def test_a_follower_s_link_shows_the_steps_and_only_what_was_published(client: Any, providers: Any,
                                                                       staff: dict[str, str]) -> None:
    # Given a reporter's open ticket, and a neighbour who follows it with the code the SMS brought
    code = report("Nước cống tràn ngập hẻm 14 Lý Thường Kiệt", "Phan Văn Tèo", unique_phone())
    neighbour = unique_phone()
    asked = client.http.post(f"/api/v1/reports/{code}/followers", headers=JSON_TYPE,
                             body=json.dumps({"phone": neighbour}).encode())
    assert asked.status_code == 202
    done = client.http.post(f"/api/v1/reports/{code}/followers/verify", headers=JSON_TYPE, body=json.dumps(
        {"phone": neighbour, "otp": sent_code(providers, neighbour, code)}).encode())
    follower_token = _token(done.json_body["status_url"])
    reporter_token = status_links.issue(code, "reporter")
    # When staff write to the reporter by name
    version = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(staff["operator"])).json_body["version"]
    replied = client.http.post(f"/api/v1/staff/tickets/{code}/actions/reply", headers=bearer(
        staff["operator"], **JSON_TYPE), body=json.dumps({"version": version, "text": "Chào anh Tèo, đã ghi nhận."},
                                                         ensure_ascii=False).encode())
    assert replied.status_code == 200, replied.body
    # Then the reporter's link shows it, as /tra-cuu would; the follower's shows the routing steps only
    assert "Chào anh Tèo" in _open(client, reporter_token).body.decode()
    followed = _open(client, follower_token).body.decode()
    assert "Chào anh Tèo" not in followed and "Đã chuyển đến" in followed
    assert (store.find(follower_token).who, store.find(reporter_token).who) == ("follower", "reporter")

    # When the follower asks to be erased, their link stops working; the reporter's does not
    privacy.erase_person(neighbour, requester="Người theo dõi", reason="Yêu cầu xoá", approver="Giám đốc",
                         actor=ADMIN.actor, now=datetime.now(timezone.utc))
    assert _open(client, follower_token).status_code == 404
    assert _open(client, reporter_token).status_code == 200

    # When the ticket is anonymised (its retention ran out), every link to it stops working
    privacy.anonymise_ticket(tickets.get_ticket(code), datetime.now(timezone.utc), privacy.SYSTEM, "retention")
    gone = _open(client, reporter_token)
    assert gone.status_code == 404 and "Không tìm thấy phản ánh" in gone.body.decode()
    assert store.of_ticket(code) == [] and store.find(reporter_token) is None


def test_an_unknown_link_is_a_vietnamese_404_and_views_count_like_lookups(client: Any, stack: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for token in ("A" * 22, "short", "x" * 300, "%3Cscript%3E"):
        page = client.http.get(f"/s/{token}")
        html = page.body.decode()
        assert page.status_code == 404 and '<html lang="vi">' in html and 'id="not-found"' in html, token
        assert "/ " not in re.search(r'<p id="not-found">([^<]*)</p>', html).group(1)  # no English after a slash
    # A source that viewed links as often as a day of /tra-cuu lookups allows waits until tomorrow
    monkeypatch.setattr(status_links, "LOOKUPS_PER_SOURCE_PER_DAY", 3)
    code = report("Ổ gà trước cổng chợ Tân Ninh", "Võ Thị Sáu", unique_phone(), category="giao-thong", area="tan-ninh")
    token, source = status_links.issue(code, "reporter"), f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}"
    for _ in range(3):
        assert status_links.status(token, source).tracking_code == code
    with pytest.raises(TooManyRequests):
        status_links.status(token, source)
    assert status_links.status(token, "another-source").tracking_code == code


def test_the_token_is_in_no_log_line(client: Any, providers: Any, site: None) -> None:
    # Given every line the app logs, as CloudWatch would keep it
    import logging

    from chalicelib.observability import logger

    lines: list[str] = []
    keep = logging.Handler()
    keep.setFormatter(logger().registered_formatter)
    keep.emit = lambda record: lines.append(keep.format(record))  # type: ignore[method-assign]
    logger().addHandler(keep)
    try:
        # When a citizen reports by SMS, opens the link of the acknowledgement, and mistypes it once
        phone = unique_phone()
        assert gateway_post(client, phone, "Nước sinh hoạt có mùi lạ ở khu phố 2").status_code == 200
        pump()
        (ticket,) = tickets.by_phone("+84" + phone[1:])
        token = _token(_acknowledgement(providers, ticket.tracking_code, "+84" + phone[1:]))
        assert _open(client, token).status_code == 200
        assert client.http.get(f"/s/{token[:-1]}x").status_code == 404
    finally:
        logger().removeHandler(keep)
    # Then the logs name the ticket, never the token (its path is the link's design: only the access log has it)
    logged = "\n".join(lines)
    assert ticket.tracking_code in logged
    assert token not in logged and token[:-1] not in logged
