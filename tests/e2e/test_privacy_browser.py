"""The admin's personal-data page in a real browser (Debian's Chromium via Playwright) against
`python -m devstack`: look a number up, download the CSV for Excel, erase after the confirmation
step, read the report — the number never appears in the address bar."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.seed import DEMO_PASSWORD
from tests.conftest import unique_phone
from tests.e2e.conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_an_admin_answers_what_do_you_hold_and_delete_it_in_the_browser(browser: Any, base_url: str,
                                                                        tmp_path: Path) -> None:
    phone = unique_phone()
    created = requests.post(base_url + "/api/v1/reports", timeout=10, json={
        "description": "Xe tải chở vật liệu đổ trộm xà bần ven đường Điện Biên Phủ ban đêm.", "category": "moi-truong",
        "area": "tan-ninh", "phone": phone, "name": "Đoàn Minh Khôi"})
    assert created.status_code == 201, created.text
    code = created.json()["tracking_code"]
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN", accept_downloads=True)
    page.goto(base_url + "/staff/inbox")
    page.get_by_label("Email").fill("quantri@demo.1022.vn")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/staff/inbox")

    page.get_by_role("link", name="Dữ liệu cá nhân").click()
    page.get_by_label("Số điện thoại hoặc mã người dùng Zalo").fill(f"{phone[:4]}.{phone[4:7]}.{phone[7:]}")
    page.get_by_role("button", name="Tra cứu").click()
    assert code in page.locator("#held-tickets").inner_text()
    assert "Đoàn Minh Khôi" in page.locator("#records").inner_text()
    assert phone[1:] not in page.url
    shot(page, "staff-privacy.png")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Tải tệp CSV (Excel)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("du-lieu-ca-nhan-") and phone[1:] not in download.suggested_filename
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "Đoàn Minh Khôi" in {row[6] for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))}

    page.get_by_label("Người hoặc cơ quan yêu cầu").fill("Chính chủ, đơn ngày 30/11/2026")
    page.get_by_label("Lý do, căn cứ").fill("Yêu cầu xoá dữ liệu cá nhân")
    page.get_by_label("Người phê duyệt").fill("Nguyễn Văn Phúc, Chánh Văn phòng")
    page.get_by_role("button", name="Xem lại trước khi xoá").click()
    assert code in page.locator("#review-list").inner_text()
    shot(page, "staff-privacy-confirm.png")
    page.get_by_label("Tôi đã kiểm tra yêu cầu và có phê duyệt; xoá dữ liệu cá nhân này.").check()
    page.get_by_role("button", name="Xoá dữ liệu cá nhân").click()
    assert code in page.locator("#report-anonymised").inner_text()
    assert phone[1:] not in page.url

    with page.expect_navigation():  # the ticket's page, not the report still on screen
        page.get_by_role("link", name=code).click()
    assert page.locator("#anonymised").is_visible()
    assert "Đoàn Minh Khôi" not in page.content()
    page.get_by_role("link", name="Nhật ký").click()
    trail = page.locator("#audit").inner_text()
    assert "Xuất dữ liệu cá nhân" in trail and "Chính chủ, đơn ngày 30/11/2026" in trail
    assert phone[1:] not in page.content()
