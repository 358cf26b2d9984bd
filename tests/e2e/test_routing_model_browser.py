"""Routing that learns, in a real browser (Debian's Chromium via Playwright) against `python -m devstack`, at /
and under /api/: an admin on a phone (360 px) asks for a training run; the retrain schedule's next run (started
from the local schedules page) trains the first model; at a desk (1280 px) the admin sees it in use with its
figures and confusion table, then turns it off. Nothing sticks out sideways at 360 px."""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import fits, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_an_admin_retrains_sees_the_model_and_its_figures_and_turns_it_off(browser: Any, base_url: str) -> None:
    # Given an admin on a phone, on the routing page from the console's menu: no model yet
    phone = sign_in(browser, base_url, "quantri@demo.1022.vn", 360)
    phone.locator("#nav-routing").click()
    phone.wait_for_url(base_url + "/staff/quan-tri/dinh-tuyen")
    assert "Chưa có mô hình" in phone.locator("#active-version").inner_text()
    # When they ask for a training run
    phone.locator("#retrain").click()
    phone.wait_for_load_state()
    assert "Đã yêu cầu huấn luyện lại" in phone.locator("#flash").inner_text()
    assert phone.locator("#retrain-pending").is_visible()
    assert fits(phone)
    shot(phone, "routing-model-requested-360.png")
    # and the retrain schedule runs (here started by hand from the local schedules page)
    phone.goto(base_url + "/dev/lich")
    phone.get_by_role("button", name="Chạy ngay retrain_routing").click()
    phone.wait_for_load_state()
    assert "'trained': True" in phone.locator("#dev-result").inner_text()
    phone.close()

    # Then at a desk the first model is in use, with its figures on the fixed holdout and its history row
    desk = sign_in(browser, base_url, "quantri@demo.1022.vn", 1280)
    desk.goto(base_url + "/staff/quan-tri/dinh-tuyen")
    version = desk.locator("#active-version").inner_text()
    assert version and "Chưa có" not in version
    assert desk.locator("#retrain-pending").count() == 0
    row = desk.locator(f"#model-history tr[data-version='{version}']")
    assert "Đã dùng" in row.inner_text() and "chỉ từ khoá" in row.inner_text()
    assert desk.locator("#confusion").is_visible()
    shot(desk, "routing-model-1280.png")
    # And turning the model off goes back to the keywords alone
    desk.locator("#keywords-only").click()
    desk.wait_for_load_state()
    assert "chỉ theo từ khoá" in desk.locator("#flash").inner_text()
    assert "Chưa có mô hình" in desk.locator("#active-version").inner_text()
    assert desk.locator(f"#model-history tr[data-version='{version}'] button").count() == 1  # it can be used again
    desk.close()
