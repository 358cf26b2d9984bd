"""The local stack's schedules page (/dev/lich, `make run` only) in Chromium: a citizen's report is
routed, the clock moves three working days, the deadline watch runs twice — the agency's 80 %
warning, then the escalation to the supervisors, each in the local mail outbox and on the staff
ticket page's timeline — and the daily digest runs at the moved date. An operator's callback: the
clock moves past its time, into the hotline's hours, and the reminder reaches the operator's
mailbox. The command (python -m devstack.clock) puts the clock back."""
from __future__ import annotations

import html
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from chalicelib.domain.clock import VN_TZ, local_text
from chalicelib.web.staff_views import EVENT_LABELS
from devstack.seed import DEMO_PASSWORD
from tests.conftest import ROOT, unique_phone
from tests.e2e.conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _outbox_has(outbox: str, pattern: str, wait_s: float = 20) -> str:
    """The first outbox row matching `pattern` (the notification consumer sends within seconds)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = re.search(pattern, html.unescape(requests.get(outbox, timeout=10).text))
        if found or time.monotonic() > deadline:
            assert found, f"nothing like {pattern!r} in the local outbox"
            return found.group(0)
        time.sleep(0.3)


def _sign_in(browser: Any, base_url: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page.goto(base_url + "/staff/inbox")
    page.get_by_label("Email").fill("tongdai@demo.1022.vn")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/staff/inbox")
    return page


def _run(page: Any, schedule: str, count: str) -> int:
    """Clicks the schedule's "Chạy ngay"; returns the `count` its run reported on the page."""
    page.get_by_role("button", name=f"Chạy ngay {schedule}").click()
    said = page.locator("#dev-result").inner_text()
    assert said.startswith(f"Đã chạy {schedule}"), said
    return int(re.search(rf"'{count}': (\d+)", said).group(1))


def test_moving_the_clock_shows_the_warning_the_escalation_and_the_digest(browser: Any,
                                                                          local_stack: dict[str, str]) -> None:
    base_url, outbox = local_stack["base_url"], local_stack["outbox"]
    # Given a street-light report (three working days allowed), routed to the ward
    created = requests.post(base_url + "/api/v1/reports", timeout=10, json={
        "description": "Đèn đường hẻm 3 Cách Mạng Tháng Tám tắt cả tuần", "category": "chieu-sang",
        "area": "tan-ninh", "phone": unique_phone()})
    assert created.status_code == 201, created.text
    code = created.json()["tracking_code"]
    page = _sign_in(browser, base_url)
    for _ in range(30):
        page.goto(f"{base_url}/staff/tickets/{code}")
        if page.locator("#ticket-status").inner_text() != "Đã tiếp nhận":
            break
        page.wait_for_timeout(500)
    try:
        # When the developer opens the schedules page and moves their clock three working days on
        page.goto(base_url + "/dev/lich")
        assert page.locator("#offset").inner_text().startswith("đúng giờ thật")
        for _ in range(3):
            page.get_by_role("button", name="+1 ngày làm việc").click()
        assert "nhanh hơn giờ thật" in page.locator("#offset").inner_text()
        moved = page.locator("#clock").inner_text()
        # ... and runs the deadline watch: the 80 % mark has passed, so the ward is warned
        assert _run(page, "deadline_watch", "warned") >= 1
        _outbox_has(outbox, rf"<td>ses</td><td>ubnd\.tan-ninh@example\.gov\.vn</td><td>\[1022\] Sắp đến hạn {code}")
        # ... and runs it again: the deadline has passed too, so the supervisors are told
        assert _run(page, "deadline_watch", "escalated") >= 1
        _outbox_has(outbox, rf"<td>ses</td><td>chutich\.tan-ninh@example\.gov\.vn</td><td>\[1022\] QUÁ HẠN {code}")
        shot(page, "dev-clock.png")
        # Then the ticket's timeline on the staff page shows both, at the moved time
        page.goto(f"{base_url}/staff/tickets/{code}")
        timeline = page.locator("#timeline").inner_text()
        assert EVENT_LABELS["deadline_warning"] in timeline and EVENT_LABELS["escalated"] in timeline
        assert moved[:10] in timeline  # dd/mm/yyyy of the moved clock
        # When the daily digest runs at the moved date, the ward gets the day's summary
        page.goto(base_url + "/dev/lich")
        assert _run(page, "daily_digest", "sent") >= 1
        _outbox_has(outbox, rf"<td>ses</td><td>ubnd\.tan-ninh@example\.gov\.vn</td><td>\[1022\] Tổng hợp ngày {moved[:10]}")
        assert page.locator("#schedule-daily_digest .last-run").inner_text().startswith(moved[:10])
        # At 360 px the page needs no sideways scrolling
        page.set_viewport_size({"width": 360, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        # The command puts the clock back for the tests after this one
        reset = subprocess.run([sys.executable, "-m", "devstack.clock", "--url", base_url, "reset"], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0 and '"offset_seconds": 0' in reset.stdout, reset.stderr
    page.goto(base_url + "/dev/lich")
    assert page.locator("#clock").inner_text()[:10] == local_text(datetime.now(timezone.utc))[:10]


def _reset(base_url: str) -> None:
    reset = subprocess.run([sys.executable, "-m", "devstack.clock", "--url", base_url, "reset"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0 and '"offset_seconds": 0' in reset.stdout, reset.stderr


def test_moving_the_clock_past_a_callback_reminds_the_operator(browser: Any, local_stack: dict[str, str]) -> None:
    base_url, outbox = local_stack["base_url"], local_stack["outbox"]
    created = requests.post(base_url + "/api/v1/reports", timeout=10, json={
        "description": "Người dân hỏi lịch cắt điện khu phố 4, xin gọi lại", "phone": unique_phone()})
    assert created.status_code == 201, created.text
    code = created.json()["tracking_code"]
    # Given an operator who promises to call the citizen back in an hour
    page = _sign_in(browser, base_url)
    page.goto(f"{base_url}/staff/tickets/{code}")
    page.locator("summary", has_text="Hẹn gọi lại").click()
    page.locator("#callback-due").fill((datetime.now(VN_TZ) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#callback-reason").fill("Hỏi lại lịch cắt điện")
    page.get_by_role("button", name="Hẹn gọi lại").click()
    page.locator("#callbacks-title").wait_for()  # the page again, with the callback listed
    try:
        # When the schedules' clock moves past that time and into the hotline's hours (07:00-20:00)
        page.goto(base_url + "/dev/lich")
        for step in range(30):
            hour = int(page.locator("#clock").inner_text()[11:13])
            if step >= 2 and 7 <= hour < 19:
                break
            page.get_by_role("button", name="+1 giờ").click()
        # ... and the callback reminders run: the operator's mailbox has the overdue reminder
        assert _run(page, "callback_reminders", "sent") >= 1
        _outbox_has(outbox, rf"<td>ses</td><td>tongdai@demo\.1022\.vn</td><td>\[1022\] Quá hạn gọi lại {code}")
    finally:
        _reset(base_url)
