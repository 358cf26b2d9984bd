"""Staff work in a real browser (Debian's Chromium via Playwright) against `python -m devstack`:
sign in -> inbox -> ticket -> reply -> resolve; phone intake with caller history; an agency
officer cannot open another agency's ticket by URL; stored XSS payloads never run."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from devstack.seed import DEMO_PASSWORD
from tests.conftest import unique_phone
from tests.e2e.conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _report(base_url: str, **fields: Any) -> str:
    response = requests.post(base_url + "/api/v1/reports", json=fields, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["tracking_code"]


def _sign_in(browser: Any, base_url: str, email: str, width: int = 1280) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="vi-VN")
    page.goto(base_url + "/staff/inbox")
    assert page.url.startswith(base_url + "/staff/sign-in")
    if width > 1000:
        shot(page, "staff-sign-in.png")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/staff/inbox")
    return page


def _wait_routed(page: Any, base_url: str, code: str) -> None:
    for _ in range(30):  # the in-process consumer routes within seconds
        page.goto(f"{base_url}/staff/tickets/{code}")
        if page.locator("#ticket-status").inner_text() != "Đã tiếp nhận":
            return
        page.wait_for_timeout(500)
    pytest.fail(f"{code} was never routed")


def test_an_operator_signs_in_finds_a_ticket_replies_and_resolves_it(browser: Any, base_url: str) -> None:
    code = _report(base_url, description="Cống thoát nước đường Trưng Nữ Vương bị tắc, nước tràn lên mặt đường.",
                   category="ngap-ung", area="tan-ninh", phone=unique_phone(), name="Hồ Văn Lợi")
    page = _sign_in(browser, base_url, "tongdai@demo.1022.vn")
    assert "Lê Thị Mai" in page.locator("#who").inner_text()
    _wait_routed(page, base_url, code)
    page.goto(base_url + "/staff/inbox")
    shot(page, "staff-inbox.png")
    page.get_by_label("Tìm theo mã phản ánh hoặc số điện thoại").fill(code)
    page.get_by_role("button", name="Tìm").click()
    page.wait_for_url(f"{base_url}/staff/tickets/{code}")
    assert page.locator("#ticket-status").inner_text() == "Đã chuyển cơ quan xử lý"
    assert "Hồ Văn Lợi" in page.locator("#reporter").inner_text()
    page.get_by_role("link", name="Đã chuyển cơ quan").click()  # a response template, filled in
    assert code in page.get_by_label("Tin nhắn (gửi qua kênh của phản ánh)").input_value()
    page.get_by_label("Tin nhắn (gửi qua kênh của phản ánh)").fill("Chào anh Lợi, Sở Xây dựng đã nhận phản ánh.")
    page.get_by_role("button", name="Gửi tin nhắn").click()
    assert page.locator("#flash").inner_text() == "Đã gửi tin nhắn cho người dân."
    page.get_by_label("Nội dung trả lời").fill("Đã nạo vét cống ngày 28/11, nước đã rút.")
    shot(page, "staff-ticket.png")
    page.get_by_role("button", name="Trả lời và kết thúc").click()
    assert page.locator("#ticket-status").inner_text() == "Đã trả lời"
    assert page.locator("#ticket-answer").inner_text() == "Đã nạo vét cống ngày 28/11, nước đã rút."
    timeline = page.locator("#timeline").inner_text()
    assert "Nhắn người dân" in timeline and "Trả lời" in timeline and "staff:tongdai@demo.1022.vn" in timeline
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(base_url + "/staff/sign-in")
    page.goto(f"{base_url}/staff/tickets/{code}")
    assert page.url.startswith(base_url + "/staff/sign-in")  # signed out for real


def test_phone_intake_shows_the_callers_history_first(browser: Any, base_url: str) -> None:
    phone = unique_phone()
    earlier = _report(base_url, description="Hỏi thủ tục cấp lại căn cước", category="thu-tuc-hanh-chinh",
                      phone=phone)
    page = _sign_in(browser, base_url, "tongdai@demo.1022.vn")
    page.get_by_role("link", name="Tiếp nhận cuộc gọi").click()
    page.locator("#lookup-phone").fill(phone)
    page.get_by_role("button", name="Xem lịch sử").click()
    assert earlier in page.locator("#caller-history").inner_text()
    page.get_by_label("Họ tên (nếu người gọi cho biết)").fill("Bà Năm")
    page.get_by_label("Lĩnh vực").select_option("thu-tuc-hanh-chinh")
    page.get_by_label("Nội dung cuộc gọi").fill("Gọi hỏi tiếp: đã nộp hồ sơ cấp lại căn cước 10 ngày chưa có kết quả.")
    shot(page, "staff-intake.png")
    page.get_by_role("button", name="Tạo phản ánh").click()
    flash = page.locator("#flash").inner_text()
    assert flash.startswith("Đã tạo phản ánh TN-")
    code = page.locator("#ticket-code").inner_text()
    assert code != earlier and code in flash
    assert "Điện thoại" in page.content() and "tongdai@demo.1022.vn" in page.content()


def test_an_agency_officer_cannot_reach_another_agencys_ticket_by_url(browser: Any, base_url: str) -> None:
    ours = _report(base_url, description="Ngập sâu đường 30/4 sau mưa", category="ngap-ung", area="tan-ninh",
                   phone=unique_phone())
    theirs = _report(base_url, description="Trạm y tế thiếu thuốc hạ sốt", category="y-te", area="tan-ninh",
                     phone=unique_phone())
    operator = _sign_in(browser, base_url, "tongdai@demo.1022.vn")
    _wait_routed(operator, base_url, ours)
    _wait_routed(operator, base_url, theirs)
    officer = _sign_in(browser, base_url, "soxaydung@demo.1022.vn", width=360)
    assert officer.evaluate("document.documentElement.scrollWidth") <= 380
    response = officer.goto(f"{base_url}/staff/tickets/{theirs}")
    assert response is not None and response.status == 404
    assert officer.locator("#error-message").inner_text() == "Không tìm thấy phản ánh."
    assert "thiếu thuốc" not in officer.content()
    response = officer.goto(f"{base_url}/staff/tickets/{ours}")
    assert response is not None and response.status == 200


def test_stored_xss_payloads_do_not_execute_on_staff_pages(browser: Any, base_url: str) -> None:
    from chalicelib.channels.zalo import signature
    from devstack.fakes import LOCAL_SECRETS as S

    payloads = ['<script>window.__xss=1;alert(1)</script>', '<img src=x onerror="window.__xss=2;alert(2)">',
                '<a href="javascript:window.__xss=3;alert(3)">bấm vào đây</a>', '"><svg onload=alert(4)>']
    code = _report(base_url, description="Phản ánh " + " ".join(payloads), phone=unique_phone(),
                   name='<b onmouseover="alert(5)">Tên</b>"><script>alert(6)</script>',
                   address='<iframe src="javascript:alert(7)"></iframe>')
    stamp = str(int(time.time() * 1000))
    zalo_user = "9" + uuid.uuid4().hex[:15]
    body = json.dumps({"app_id": S["zalo_app_id"], "event_name": "user_send_image", "timestamp": stamp,
                       "sender": {"id": zalo_user}, "recipient": {"id": "388613280878808645"},
                       "message": {"msg_id": uuid.uuid4().hex, "text": "<img src=x onerror=alert(8)> ảnh ổ gà",
                                   "attachments": [{"type": "image", "payload": {
                                       "url": "javascript:alert(9)", "name": '<img src=x onerror=alert(10)>.jpg'}}]}},
                      ensure_ascii=False).encode()
    mac = signature(S["zalo_app_id"], body, stamp, S["zalo_oa_secret_key"])
    assert requests.post(base_url + "/webhooks/zalo", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"}).status_code == 200
    page = _sign_in(browser, base_url, "tongdai@demo.1022.vn")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _wait_routed(page, base_url, code)
    page.goto(f"{base_url}/staff/tickets/{code}")
    assert "<script>window.__xss=1" in page.locator("#ticket-text").inner_text()  # shown as text …
    page.hover("#reporter")
    assert page.get_by_role("link", name="bấm vào đây").count() == 0
    assert page.evaluate("window.__xss === undefined")
    zalo_code = None
    for _ in range(30):
        page.goto(f"{base_url}/staff/inbox?channel=zalo")
        links = page.locator("table a.code").all_inner_texts()
        for candidate in links:
            page.goto(f"{base_url}/staff/tickets/{candidate}")
            if "ảnh ổ gà" in page.locator("#ticket-text").inner_text():
                zalo_code = candidate
                break
        if zalo_code:
            break
        page.wait_for_timeout(500)
    assert zalo_code, "the Zalo report never showed up"
    assert "<img src=x onerror=alert(10)>.jpg" in page.content().replace("&lt;", "<").replace("&gt;", ">")
    assert page.locator("a[href^='javascript:']").count() == 0
    page.goto(base_url + "/staff/inbox")
    assert dialogs == [] and page.evaluate("window.__xss === undefined")  # … and never run
