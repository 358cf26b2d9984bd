"""A citizen's personal status link in Chromium: the form's confirmation page gives it, and it opens
the report's status with no code and no phone digits, at 360 px (no sideways scrolling, labelled,
no axe-core violation) and at 1280 px; an unknown link is our Vietnamese 404."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import unique_phone
from tests.e2e.conftest import shot
from tests.e2e.test_citizen_browser import check_page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_the_confirmation_s_link_opens_the_status_at_both_widths(browser: Any, base_url: str) -> None:
    # Given a citizen who sends the form from their phone
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="vi-VN", bypass_csp=True)
    page = context.new_page()
    page.goto(base_url + "/")
    page.get_by_label("Nội dung phản ánh (bắt buộc)").fill("Nắp cống trước số 18 Hoàng Lê Kha bị vỡ, rất nguy hiểm")
    page.get_by_label("Số điện thoại (bắt buộc)").fill(unique_phone())
    page.get_by_role("button", name="Gửi phản ánh").click()
    code = page.locator("#tracking-code").inner_text()
    # When they follow their status link
    link = page.locator("#status-link")
    assert "/s/" in link.get_attribute("href")
    link.click()
    # Then their report's status shows, with nothing to type
    assert page.locator("#tracking-code").inner_text() == code
    assert page.locator("#status-label").inner_text() in ("Đã tiếp nhận", "Đã chuyển cơ quan xử lý", "Chờ phân loại")
    check_page(page)
    shot(page, "status-link-mobile.png")
    page.set_viewport_size({"width": 1280, "height": 800})
    assert page.locator("#timeline li").count() >= 1
    shot(page, "status-link.png")
    # ... and a link that does not exist is a page in Vietnamese, not an error
    missing = page.goto(base_url + "/s/" + "Z" * 22)
    assert missing.status == 404 and page.locator("#not-found-title").inner_text() == "Không tìm thấy phản ánh"
    context.close()
