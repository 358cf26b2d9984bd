"""A real browser (Debian's Chromium driven by Playwright) submits a report and tracks it."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import unique_phone
from tests.e2e.conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_submit_in_a_phone_sized_browser_then_find_it_on_the_status_page(browser: Any, base_url: str) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 780}, locale="vi-VN")
    page.goto(base_url + "/")
    # nothing sticks out sideways on a 360 px phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "form.png")
    phone = unique_phone()
    page.get_by_label("Nội dung phản ánh (bắt buộc)").fill("Đèn đường trước trường tiểu học tắt 3 đêm nay.")
    page.get_by_label("Lĩnh vực").select_option("chieu-sang")
    page.get_by_label("Xã, phường").select_option("hoa-thanh")
    page.get_by_label("Họ và tên").fill("Đặng Thị Mai")
    page.get_by_label("Số điện thoại (bắt buộc)").fill(phone)
    page.get_by_label("Đồng ý công khai", exact=False).check()
    page.get_by_role("button", name="Gửi phản ánh").click()
    code = page.locator("#tracking-code").inner_text()
    assert code.startswith("TN-") and len(code) == 9
    shot(page, "confirmation.png")

    page.get_by_role("link", name="Tra cứu phản ánh").click()
    assert page.get_by_label("Mã tra cứu").input_value() == code
    page.get_by_label("4 số cuối điện thoại").fill(phone[-4:])
    page.get_by_role("button", name="Tra cứu").click()
    page.wait_for_selector("#status-label")
    for _ in range(20):  # the in-process consumer routes it within seconds
        if page.locator("#status-label").inner_text() == "Đã chuyển cơ quan xử lý":
            break
        page.wait_for_timeout(500)
        page.reload()
    assert page.locator("#status-label").inner_text() == "Đã chuyển cơ quan xử lý"
    assert "Đặng Thị Mai" not in page.content() and phone not in page.content()
    shot(page, "status.png")


def test_the_form_keeps_input_and_explains_errors_in_the_browser(browser: Any, base_url: str) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 780})
    page.goto(base_url + "/")
    page.get_by_label("Họ và tên").fill("Ngô Văn Tư")
    page.get_by_label("Số điện thoại (bắt buộc)").fill("123")
    page.get_by_role("button", name="Gửi phản ánh").click()
    assert page.locator("#description-error").inner_text() == "Vui lòng nhập nội dung phản ánh."
    assert "Số điện thoại không hợp lệ" in page.locator("#phone-error").inner_text()
    assert page.get_by_label("Họ và tên").input_value() == "Ngô Văn Tư"
    shot(page, "form-errors.png")
