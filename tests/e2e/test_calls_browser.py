"""The screen-pop in a real browser (Chromium via Playwright) against `python -m devstack` (at / and
under /api/): the fake Stringee places an in-hours call that rings the operator on duty; the call pops up
on their console (at 1280 and 360 px) with the caller's open ticket, and "Tạo phản ánh từ cuộc gọi" turns it
into a ticket with the number filled in and the call on its timeline. The supervisor's roster page and
call log show the same call."""
from __future__ import annotations

import re
import time
from typing import Any, Iterator

import pytest
import requests

from tests.conftest import unique_phone
from tests.e2e.conftest import shot
from tests.e2e.test_privacy import Staff
from tests.e2e.test_staff_browser import _report, _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
OPERATOR, HOME_OPERATOR = "tongdai@demo.1022.vn", "tongdai2@demo.1022.vn"
ADMIN, SUPERVISOR = "quantri@demo.1022.vn", "giamsat@demo.1022.vn"


def _roster_version(supervisor: Staff) -> str:
    found = re.search(r'id="roster-form".*?name="version" value="(\d+)"', supervisor.get("/staff/truc").text, re.S)
    assert found
    return found.group(1)


@pytest.fixture
def in_hours(local_stack: dict[str, Any]) -> Iterator[Staff]:
    """Whatever the time of the run: the hotline open all day, the demo operator on duty all day and
    their colleague (answering from home) away, so the call rings the operator first. Put back after."""
    base_url = local_stack["base_url"]
    admin, supervisor, home = Staff(base_url, ADMIN), Staff(base_url, SUPERVISOR), Staff(base_url, HOME_OPERATOR)
    current = admin.api("GET", "/api/v1/admin/reference").json()
    hours = current["document"]["hotline_hours"]

    def put_hours(value: dict[str, str]) -> None:
        now = admin.api("GET", "/api/v1/admin/reference").json()
        put = requests.put(base_url + "/api/v1/admin/reference", timeout=20,
                           json={**now["document"], "version": now["version"] + 1, "hotline_hours": value},
                           headers={"Authorization": f"Bearer {admin.token}", "If-Match": str(now["version"])})
        assert put.status_code == 200, put.text

    put_hours({"opens": "00:00", "closes": "23:59"})
    form = [("csrf", supervisor.csrf), ("version", _roster_version(supervisor)), ("action", "add"),
            ("staff", OPERATOR), ("name", "Lê Thị Mai (cả ngày)"), ("kind", "internal"), ("target", "tongdai"),
            *[("days", str(day)) for day in range(7)], ("start", "00:00"), ("end", "24:00")]
    added = requests.post(base_url + "/staff/truc", data=form, headers=supervisor._cookie(), allow_redirects=False,
                          timeout=20)
    assert added.status_code == 303, added.text[:300]
    assert home.post("/staff/truc/trang-thai", away="1").status_code == 303
    try:
        yield supervisor
    finally:
        home.post("/staff/truc/trang-thai", away="0")
        page = supervisor.get("/staff/truc").text
        index = re.search(r'<strong>Lê Thị Mai \(cả ngày\)</strong>.*?id="remove-(\d+)"', page, re.S)
        if index:
            supervisor.post("/staff/truc", version=_roster_version(supervisor), action="remove", index=index.group(1))
        put_hours(hours)


def test_an_in_hours_call_pops_up_on_the_operators_screen_and_becomes_a_ticket(
        browser: Any, local_stack: dict[str, Any], in_hours: Staff) -> None:
    base_url = local_stack["base_url"]
    phone = unique_phone()
    earlier = _report(base_url, description="Đèn tín hiệu giao thông ngã tư Bời Lời không hoạt động.",
                      category="giao-thong", area="tan-ninh", phone=phone)
    page = _sign_in(browser, base_url, OPERATOR)
    assert page.locator("#duty-state").inner_text() == "Sẵn sàng"
    # When the fake Stringee places a call that rings for a few seconds before the operator answers
    started = time.monotonic()
    placed = requests.post(base_url + "/dev/goi-thu", data={"script": "answered", "caller": phone, "ring_s": "4",
                                                             "talk_s": "25"}, allow_redirects=False, timeout=10)
    assert placed.status_code == 303
    # Then within one poll (3 s) and one request the call pops up on the operator's screen
    display = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    pop = page.locator("#call-pop")
    pop.locator("#call-new-ticket").wait_for(timeout=8000)
    print(f"screen-pop shown {time.monotonic() - started:.1f} s after the call was placed")
    assert display in pop.locator("#call-pop-title").inner_text()
    assert earlier in pop.inner_text() and f"Thêm vào phản ánh {earlier}" in pop.inner_text()
    shot(page, "staff-call-pop.png")
    page.set_viewport_size({"width": 360, "height": 800})  # on a phone-sized window: no sideways scrolling
    assert pop.locator("#call-new-ticket").is_visible() and page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "staff-call-pop-360.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    # One click: the phone intake with the caller's number filled in (no number in any URL)
    pop.locator("#call-new-ticket").click()
    page.wait_for_url(re.compile(re.escape(base_url) + r"/staff/intake\?call=call-vn-"))
    assert phone[1:] in page.locator("#phone").input_value() and page.locator("#from-call").is_visible()
    assert earlier in page.locator("#caller-history").inner_text()
    page.get_by_label("Nội dung cuộc gọi").fill("Người gọi báo đèn tín hiệu vẫn hỏng, xe cộ ùn tắc giờ tan tầm.")
    page.get_by_role("button", name="Tạo phản ánh").click()
    page.wait_for_url(re.compile(re.escape(base_url) + r"/staff/tickets/"))
    code = page.url.rsplit("/", 1)[-1]
    assert "Đã tạo phản ánh" in page.locator("#flash").inner_text()
    assert phone[1:] in page.locator("#reporter").inner_text()
    assert "Cuộc gọi" in page.locator("ol.timeline").inner_text()
    # The supervisor's call log lists the call with its ticket; the roster shows who answers when
    boss = _sign_in(browser, base_url, SUPERVISOR)
    boss.goto(base_url + "/staff/cuoc-goi")
    assert display in boss.locator("#call-log").inner_text() and code in boss.locator("#call-log").inner_text()
    shot(boss, "staff-call-log.png")
    boss.goto(base_url + "/staff/truc")
    assert "Hồ Văn Nam" in boss.locator("#roster").inner_text() and "Tạm vắng" in boss.locator("#roster").inner_text()
    shot(boss, "staff-roster.png")
    boss.set_viewport_size({"width": 360, "height": 800})
    assert boss.evaluate("document.documentElement.scrollWidth") <= 360
    shot(boss, "staff-roster-360.png")


def test_a_missed_callers_task_is_called_back_from_the_tasks_page_and_closes_when_answered(
        browser: Any, local_stack: dict[str, Any], in_hours: Staff) -> None:
    base_url = local_stack["base_url"]
    phone = unique_phone()
    display = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    # Given a caller every operator missed, who left a voicemail
    placed = requests.post(base_url + "/dev/goi-thu", data={"script": "missed_busy", "caller": phone},
                           headers={"Accept": "application/json"}, timeout=30)
    assert placed.status_code == 200 and placed.json()["outcome"] == "voicemail", placed.text[:300]
    # When the operator opens the call tasks: one task for the number, with the voicemail to listen to
    page = _sign_in(browser, base_url, OPERATOR)
    page.goto(base_url + "/staff/goi-lai")
    task = page.locator("section.call-task", has_text=display)
    assert "1 cuộc gọi" in task.inner_text() and task.get_by_role("link", name="nghe lời nhắn 1").is_visible()
    shot(page, "staff-call-tasks.png")
    page.set_viewport_size({"width": 360, "height": 800})
    assert task.get_by_role("button", name="Gọi lại").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "staff-call-tasks-360.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    # And calls back: the click records the attempt; the citizen answers (the fake's callout) and the task closes
    task.get_by_role("button", name="Gọi lại").click()
    assert "Việc tự đóng khi người dân nghe máy" in page.locator("#flash").inner_text()
    deadline = time.monotonic() + 10
    while display in page.locator("main").inner_text() and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    assert display not in page.locator("main").inner_text()
