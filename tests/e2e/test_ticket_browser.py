"""The staff ticket page in a real browser (Chromium via Playwright, against `python -m devstack`),
on a phone (360 px) and at a desk (1280 px): nothing scrolls sideways, the actions come before the
history, each history entry is one line that opens on a click (an e-mail to an agency is not
printed whole), people are named, the place a web reporter's browser sent links to a map, and a
response template goes in at the cursor without losing what the operator typed."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import unique_phone
from tests.e2e.conftest import shot
from tests.e2e.test_staff_browser import _report, _sign_in, _wait_routed

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.mark.parametrize("width", [360, 1280])
def test_the_ticket_page_at_phone_and_desk_width(browser: Any, local_stack: dict[str, str], width: int) -> None:
    base_url = local_stack["base_url"]
    # Given a web report with the place the reporter's browser sent, routed to its agency (who got an e-mail)
    code = _report(base_url, description="Cống thoát nước đường Trưng Nữ Vương bị tắc, nước tràn lên mặt đường.",
                   category="ngap-ung", area="tan-ninh", phone=unique_phone(), name="Hồ Văn Lợi",
                   lat=11.30541, lon=106.10012)
    page = _sign_in(browser, base_url, "tongdai@demo.1022.vn", width=width)
    _wait_routed(page, base_url, code)
    # and an operator's internal note
    page.locator("summary", has_text="Ghi chú nội bộ").click()
    page.get_by_label("Ghi chú (người dân không thấy)").fill("Đã gọi Sở Xây dựng, hẹn xử lý trong tuần.")
    page.get_by_role("button", name="Lưu ghi chú").click()
    assert page.locator("#flash").inner_text() == "Đã lưu ghi chú nội bộ."

    # Then nothing scrolls sideways, and the actions come before the history
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 20
    reply, history = page.locator("#reply").bounding_box(), page.locator("#timeline").bounding_box()
    assert reply and history
    if width < 800:
        assert reply["y"] < history["y"]                       # one column: the reply box above the history
        jump = page.get_by_role("navigation", name="Đi nhanh trong trang")
        assert jump.is_visible()
        jump.get_by_role("link", name="Thao tác").click()
        assert page.locator("#actions").bounding_box()["y"] < 900  # type: ignore[index]
    else:
        assert reply["x"] > history["x"] and reply["y"] < 900    # beside the history, on the first screen

    # Each history entry is one line; the agency's e-mail shows only when opened, and by its subject first
    heights = page.locator("#timeline > li").evaluate_all("items => items.map(i => i.getBoundingClientRect().height)")
    assert len(heights) >= 4 and max(heights) < 40, heights
    history_text = page.locator("#timeline").inner_text()
    assert "Thư giao xử lý" in history_text and "Cơ quan được giao xử lý phản ánh sau" not in history_text
    assert "Lê Thị Mai" in history_text and "Người dân (Web)" in history_text and "Hệ thống" in history_text
    assert not [raw for raw in ("staff:", "citizen:", "system:", "so-xay-dung", "(ack)", "assigned")
                if raw in history_text]
    letter = page.locator("#timeline summary", has_text="Thư giao xử lý")
    letter.click()
    assert "Cơ quan được giao xử lý phản ánh sau" in page.locator("#timeline").inner_text()
    letter.click()                                             # and folds back to its line
    assert "Cơ quan được giao xử lý phản ánh sau" not in page.locator("#timeline").inner_text()

    # The browser's location links to the place on a map
    assert page.locator("a.map-link").get_attribute("href") == (
        "https://www.openstreetmap.org/?mlat=11.305410&mlon=106.100120#map=18/11.305410/106.100120")

    # A template goes in at the cursor, keeping what was typed, without reloading the page
    box = page.get_by_label("Tin nhắn (gửi qua kênh của phản ánh)")
    box.fill("Chào anh Lợi,")
    page.evaluate("window.__samePage = true")
    page.get_by_role("button", name="Đã chuyển cơ quan").click()
    typed_and_template = box.input_value()
    assert typed_and_template.startswith("Chào anh Lợi,\n\nPhản ánh " + code + " đã được chuyển đến")
    box.press("End")
    box.type(" Trân trọng.")
    assert box.input_value() == typed_and_template + " Trân trọng."
    assert page.evaluate("window.__samePage === true")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "staff-ticket-mobile.png" if width < 800 else "staff-ticket.png")
