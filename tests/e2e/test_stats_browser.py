"""The statistics pages in a real browser (Debian's Chromium via Playwright) against `python -m devstack`,
at / and under /api/: a supervisor answers a ticket, opens "Thống kê" from the navigation and sees the
month's on-time % per agency in the chart and its table, follows the agency's "answered" figure to the
ticket; on a phone (360 px) nothing sticks out sideways; the citizen site's footer leads to the public
monthly figures per agency."""
from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from devstack.seed import DEMO_PASSWORD
from tests.conftest import unique_phone
from tests.e2e.conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _report(base_url: str, **fields: Any) -> str:
    response = requests.post(base_url + "/api/v1/reports", json={"phone": unique_phone(), **fields}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["tracking_code"]


def _sideways(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{page.url} scrolls sideways"


def test_a_supervisor_sees_the_months_on_time_share_per_agency(browser: Any, base_url: str) -> None:
    code = _report(base_url, description="Đèn đường trên đường Cách Mạng Tháng Tám tắt cả tuần nay.",
                   category="chieu-sang")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page.goto(base_url + "/staff/inbox")
    page.get_by_label("Email").fill("giamsat@demo.1022.vn")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/staff/inbox")
    for _ in range(30):  # the in-process consumer routes within seconds
        page.goto(f"{base_url}/staff/tickets/{code}")
        if page.locator("#ticket-status").inner_text() != "Đã tiếp nhận":
            break
        page.wait_for_timeout(500)
    page.get_by_label("Nội dung trả lời").fill("Đã thay bóng đèn ngày 29/11.")
    page.get_by_role("button", name="Trả lời và kết thúc").click()
    assert page.locator("#ticket-status").inner_text() == "Đã trả lời"

    page.locator("#nav-stats").click()
    page.wait_for_url(re.compile(r".*/staff/thong-ke$"))
    row = page.locator('#agency-table tr[data-agency="so-xay-dung"]')
    for _ in range(20):  # counters are written as the answer happens; allow the consumer a moment
        if row.count() and int(row.locator("td").nth(1).inner_text().replace(".", "")) >= 1:
            break
        page.wait_for_timeout(500)
        page.reload()
    share = row.locator("td.on-time").inner_text()
    assert re.fullmatch(r"\d{1,3},\d%", share), share
    chart = page.locator("svg.agencies")
    assert chart.get_attribute("role") == "img"
    assert f"Sở Xây dựng: {share.replace(',0%', '%')}" in chart.locator("desc").text_content()
    assert page.locator("#fig-on-time .value").inner_text().endswith("%")
    _sideways(page, 1280)
    shot(page, "staff-stats.png")

    row.locator("td").nth(1).locator("a").click()  # the agency's answered tickets
    assert page.locator("h1").inner_text() == "Đã trả lời"
    assert page.locator(f'tr.ticket-row[data-code="{code}"]').count() == 1

    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(base_url + "/staff/thong-ke")
    assert page.locator('#agency-table tr[data-agency="so-xay-dung"] td.on-time').inner_text() == share
    _sideways(page, 360)
    shot(page, "staff-stats-mobile.png")
    page.close()


def test_the_public_figures_per_agency_from_the_citizen_site(browser: Any, base_url: str) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 800}, locale="vi-VN")
    page.goto(base_url + "/tra-cuu")
    page.locator("#footer-stats").click()
    assert page.locator("h1").inner_text().startswith("Kết quả tiếp nhận, xử lý phản ánh tháng ")
    assert page.locator("#public-agencies tbody tr").count() >= 1
    assert page.locator("svg.agencies").get_attribute("role") == "img"
    _sideways(page, 360)
    shot(page, "public-stats.png")
    page.close()
