"""The staff inbox and work lists in a real browser (Chromium via Playwright) against `python -m devstack`,
at / and under /api/: on a 360 px phone the inbox is cards with no sideways scrolling and tells of a new
ticket without a reload; at 1280 px the first page puts triage first, a ticket is claimed into "Việc của
tôi", and a colleague opening the same ticket is shown on both pages."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.seed import DEMO_PASSWORD
from tests.conftest import unique_phone
from tests.e2e.conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _report(base_url: str, description: str, **fields: Any) -> str:
    response = requests.post(base_url + "/api/v1/reports", json={"description": description, "phone": unique_phone(),
                                                                 **fields}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["tracking_code"]


def _sign_in(browser: Any, base_url: str, email: str, width: int) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 800}, locale="vi-VN")
    page.clock.install()  # the page's polls run when the test moves the clock on
    page.goto(base_url + "/staff/inbox")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/staff/inbox")
    return page


def _routed(page: Any, base_url: str, code: str) -> None:
    for _ in range(40):  # the local stack's consumer routes within seconds
        page.goto(f"{base_url}/staff/tickets/{code}")
        if page.locator("#ticket-status").inner_text() != "Đã tiếp nhận":
            return
        page.wait_for_timeout(250)
    pytest.fail(f"{code} was never routed")


def test_on_a_phone_the_inbox_is_cards_and_says_when_new_tickets_arrive(browser: Any, base_url: str) -> None:
    _report(base_url, "Ống nước vỡ tràn ra đường Nguyễn Trãi phường Tân Ninh", category="dien-nuoc", area="tan-ninh")
    page = _sign_in(browser, base_url, "tongdai@demo.1022.vn", 360)
    # Cards, not a table wider than the phone: nothing scrolls sideways, every row is a card
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row = page.locator("tr.ticket-row").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    assert row.locator("td[data-label='Hạn']").count() == 1
    assert page.locator("#tab-new .count").is_visible() and page.locator("#nav-mine .count").is_visible()
    news = page.locator("#live-news")
    assert news.is_hidden() and page.locator("#reload").is_visible()  # without JS: the reload link
    # A ticket comes in while the operator looks at the inbox: the page says so at its next poll
    _report(base_url, "Cây đổ chắn ngang đường Trần Hưng Đạo", category="giao-thong", area="tan-ninh")
    page.clock.fast_forward(26_000)
    news.wait_for(state="visible", timeout=10_000)
    assert "phản ánh mới — tải lại" in news.inner_text()
    shot(page, "staff-inbox-mobile.png")
    news.click()
    page.wait_for_load_state()
    assert news.is_hidden()
    page.close()


def test_triage_first_claim_into_my_list_and_who_else_has_the_ticket_open(browser: Any, base_url: str) -> None:
    triage = _report(base_url, "Xin hỏi một việc chưa rõ thuộc cơ quan nào giải quyết", category="khac")
    code = _report(base_url, "Biển báo giao thông bị đổ ở ngã ba Long Hoa", category="giao-thong", area="long-hoa")
    operator = _sign_in(browser, base_url, "tongdai@demo.1022.vn", 1280)
    _routed(operator, base_url, triage)
    _routed(operator, base_url, code)
    # The first page (one category) shows triage above everything else
    operator.goto(base_url + "/staff/inbox?category=khac")
    assert triage in operator.locator("#section-triage").inner_text()
    assert operator.locator("#section-triage").bounding_box()["y"] < operator.locator("#list").bounding_box()["y"]
    operator.goto(base_url + "/staff/inbox")
    shot(operator, "staff-inbox.png")
    # The operator takes the ticket: it is theirs, and in "Việc của tôi"
    operator.goto(f"{base_url}/staff/tickets/{code}")
    operator.locator("#claim-button").click()
    assert "Việc của tôi" in operator.locator("#flash").inner_text()
    assert "(bạn)" in operator.locator("#assignee").inner_text()
    operator.locator("#nav-mine").click()
    assert code in operator.locator("#list").inner_text()
    assert "Bạn đang xử lý" in operator.locator(f"tr[data-code='{code}']").inner_text()
    # The supervisor opens the same ticket: each sees the other
    operator.goto(f"{base_url}/staff/tickets/{code}")
    supervisor = _sign_in(browser, base_url, "giamsat@demo.1022.vn", 1280)
    supervisor.goto(f"{base_url}/staff/tickets/{code}")
    assert "Lê Thị Mai" in supervisor.locator("#presence").inner_text()
    assert "Lê Thị Mai" in supervisor.locator("#assignee").inner_text()
    operator.clock.fast_forward(31_000)  # the operator's page beats, and learns who else is there
    operator.locator("#presence").wait_for(state="visible", timeout=10_000)
    assert "Đặng Quốc Việt" in operator.locator("#presence-names").inner_text()
    shot(operator, "staff-ticket-presence.png")
    supervisor.close()
    operator.close()
