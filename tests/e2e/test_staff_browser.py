"""Staff work in a real browser (Debian's Chromium via Playwright) against `python -m devstack`
(at / and under /api/): sign in -> inbox -> ticket -> reply, note, re-categorise, assign, resolve
-> sign out, with the session cookies scoped to the console's path; phone intake with caller
history; an admin adds an account whose first sign-in sets a new password, a response template
and an Open311 key; an agency officer cannot open another agency's ticket by URL; stored XSS
payloads never run."""
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


def _sign_in(browser: Any, base_url: str, email: str, width: int = 1280, password: str = DEMO_PASSWORD) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="vi-VN")
    page.goto(base_url + "/staff/inbox")
    assert page.url.startswith(base_url + "/staff/sign-in")
    if width > 1000:
        shot(page, "staff-sign-in.png")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    if password == DEMO_PASSWORD:
        page.wait_for_url(base_url + "/staff/inbox")
    return page


def _flash(page: Any) -> str:
    return page.locator("#flash").inner_text()


def _wait_routed(page: Any, base_url: str, code: str) -> None:
    for _ in range(30):  # the in-process consumer routes within seconds
        page.goto(f"{base_url}/staff/tickets/{code}")
        if page.locator("#ticket-status").inner_text() != "Đã tiếp nhận":
            return
        page.wait_for_timeout(500)
    pytest.fail(f"{code} was never routed")


def test_an_operator_signs_in_finds_a_ticket_replies_and_resolves_it(browser: Any, local_stack: dict[str, str]
                                                                     ) -> None:
    base_url = local_stack["base_url"]
    code = _report(base_url, description="Cống thoát nước đường Trưng Nữ Vương bị tắc, nước tràn lên mặt đường.",
                   category="ngap-ung", area="tan-ninh", phone=unique_phone(), name="Hồ Văn Lợi")
    page = _sign_in(browser, base_url, "tongdai@demo.1022.vn")
    assert "Lê Thị Mai" in page.locator("#who").inner_text()
    # the session rides in cookies the browser sends to the console's pages only
    session = {c["name"]: c for c in page.context.cookies() if c["name"].startswith("hl_")}
    assert {"hl_id", "hl_csrf", "hl_refresh"} <= set(session)
    assert {c["path"] for c in session.values()} == {local_stack["base_path"] + "/staff"}
    assert all(c["httpOnly"] and c["secure"] and c["sameSite"] == "Strict" for c in session.values())
    _wait_routed(page, base_url, code)
    page.goto(base_url + "/staff/inbox")
    shot(page, "staff-inbox.png")
    page.get_by_label("Tìm theo mã phản ánh hoặc số điện thoại").fill(code)
    page.get_by_role("button", name="Tìm").click()
    page.wait_for_url(f"{base_url}/staff/tickets/{code}")
    assert page.locator("#ticket-status").inner_text() == "Đã chuyển cơ quan xử lý"
    assert "Hồ Văn Lợi" in page.locator("#reporter").inner_text()
    page.get_by_role("button", name="Đã chuyển cơ quan").click()  # a response template, filled in
    assert code in page.get_by_label("Tin nhắn (gửi qua kênh của phản ánh)").input_value()
    page.get_by_label("Tin nhắn (gửi qua kênh của phản ánh)").fill("Chào anh Lợi, Sở Xây dựng đã nhận phản ánh.")
    page.get_by_label("Gửi cả SMS cho người dân").check()   # SMS only when ticked (the status page always)
    page.get_by_role("button", name="Gửi tin nhắn").click()
    assert page.locator("#flash").inner_text() == "Đã gửi tin nhắn cho người dân."
    page.locator("summary", has_text="Ghi chú nội bộ").click()
    page.get_by_label("Ghi chú (người dân không thấy)").fill("Đã gọi Sở Xây dựng, hẹn xử lý trong tuần.")
    page.get_by_role("button", name="Lưu ghi chú").click()
    assert _flash(page) == "Đã lưu ghi chú nội bộ."
    page.locator("summary", has_text="Phân loại lại").click()
    page.locator("#cat").select_option("giao-thong")
    page.get_by_role("button", name="Phân loại và chuyển").click()
    assert _flash(page).startswith("Đã phân loại")
    page.locator("summary", has_text="Giao / chuyển cơ quan").click()
    page.get_by_label("Cơ quan xử lý").select_option("ubnd-tan-ninh")
    page.get_by_label("Ghi chú (không bắt buộc)").fill("Thuộc thẩm quyền phường.")
    page.get_by_role("button", name="Giao", exact=True).click()
    assert _flash(page) == "Đã giao cho UBND Phường Tân Ninh."
    assert page.locator("#ticket-agency").inner_text() == "UBND Phường Tân Ninh"
    page.get_by_label("Nội dung trả lời").fill("Đã nạo vét cống ngày 28/11, nước đã rút.")
    page.get_by_role("button", name="Trả lời và kết thúc").click()
    assert page.locator("#ticket-status").inner_text() == "Đã trả lời"
    assert page.locator("#ticket-answer").inner_text() == "Đã nạo vét cống ngày 28/11, nước đã rút."
    timeline = page.locator("#timeline").inner_text()
    assert "Nhắn người dân" in timeline and "Trả lời" in timeline and "Lê Thị Mai" in timeline
    assert "Ghi chú nội bộ" in timeline and "Chuyển cơ quan" in timeline
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(base_url + "/staff/sign-in")
    assert not [c for c in page.context.cookies() if c["name"] in ("hl_id", "hl_refresh")]
    page.goto(f"{base_url}/staff/tickets/{code}")
    assert page.url.startswith(base_url + "/staff/sign-in")  # signed out for real
    # signing in again returns to the page asked for, under the same base path
    page.get_by_label("Email").fill("tongdai@demo.1022.vn")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base_url}/staff/tickets/{code}")


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


def test_an_admin_adds_an_account_a_response_template_and_an_open311_key(browser: Any, base_url: str) -> None:
    admin = _sign_in(browser, base_url, "quantri@demo.1022.vn")
    admin.get_by_role("link", name="Nhân sự").click()
    email = f"canbo-{uuid.uuid4().hex[:8]}@demo.1022.vn"
    admin.get_by_label("Email").fill(email)
    admin.get_by_label("Họ tên").fill("Trần Văn Bình")
    admin.get_by_label("Vai trò", exact=True).select_option("operator")
    admin.get_by_role("button", name="Tạo tài khoản").click()
    temporary = admin.locator("#temporary-password").inner_text()
    assert email in admin.locator("#created").inner_text()
    # the new colleague's first sign-in asks for a password of their own, then opens the inbox
    newcomer = _sign_in(browser, base_url, email, password=temporary)
    newcomer.locator("#new_password").fill("Binh-Tongdai-2026")
    newcomer.locator("#confirm").fill("Binh-Tongdai-2026")
    newcomer.get_by_role("button", name="Lưu mật khẩu và vào làm việc").click()
    newcomer.wait_for_url(base_url + "/staff/inbox")
    assert "Trần Văn Bình" in newcomer.locator("#who").inner_text()

    admin.get_by_role("link", name="Mẫu trả lời").click()
    title = f"Đã tiếp nhận {uuid.uuid4().hex[:6]}"
    admin.locator("#new-title").fill(title)
    admin.locator("#new-body").fill("Cơ quan đã tiếp nhận phản ánh {code}.")
    admin.get_by_role("button", name="Thêm mẫu").click()
    assert _flash(admin) == "Đã lưu mẫu trả lời." and title in admin.locator("table").inner_text()

    admin.get_by_role("link", name="Open311").click()
    admin.get_by_label("Tên đơn vị / ứng dụng").fill("Ứng dụng Tây Ninh Smart")
    admin.get_by_role("button", name="Cấp api_key").click()
    assert admin.locator("#api-key").inner_text()
    admin.get_by_role("button", name="Thu hồi").first.click()
    assert _flash(admin) == "Đã thu hồi api_key."
