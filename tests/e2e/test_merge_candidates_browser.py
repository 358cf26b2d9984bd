"""The staff ticket page's merge candidates in Chromium, at 1280 px and 360 px: the open ticket of the
same commune about the same matter, close by, is offered first, and "Chọn để gộp" puts its code into
the merge form without reloading the page; nothing is merged until the operator presses "Gộp"."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import unique_phone
from tests.e2e.conftest import shot
from tests.e2e.test_dev_clock_browser import _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _report(base_url: str, description: str, lat: float, lon: float) -> str:
    created = requests.post(base_url + "/api/v1/reports", timeout=10, json={
        "description": description, "phone": unique_phone(), "category": "ngap-ung", "area": "tan-bien",
        "lat": lat, "lon": lon})
    assert created.status_code == 201, created.text
    return created.json()["tracking_code"]


@pytest.mark.parametrize("width", [1280, 360])
def test_a_candidate_fills_the_merge_form_in_one_click(browser: Any, local_stack: dict[str, str], width: int) -> None:
    base_url, lat = local_stack["base_url"], 11.5401 + (0.03 if width == 360 else 0)  # each run a school of its own
    # Given a flood report, and a second one about the same school gate 40 m away
    first = _report(base_url, "Ngập sâu trước cổng trường tiểu học Tân Biên sau mưa", lat, 106.0301)
    second = _report(base_url, "Cổng trường tiểu học Tân Biên ngập nước, học sinh lội nước", lat + 0.0003, 106.0302)
    page = _sign_in(browser, base_url)
    page.set_viewport_size({"width": width, "height": 900})
    # When an operator opens the second one and its merge form
    page.goto(f"{base_url}/staff/tickets/{second}")
    page.locator("summary", has_text="Gộp").click()
    candidates = page.locator("#merge-candidates .merge-candidate")
    assert candidates.first.locator(".code").inner_text() == first
    assert "cách " in candidates.first.inner_text()
    # ... and picks the first candidate
    candidates.first.get_by_role("link", name=f"Chọn {first} để gộp").click()
    # Then its code is in the merge form, the page was not reloaded, and nothing is merged yet
    assert page.locator("#merge-into").input_value() == first
    assert page.url.endswith(f"/staff/tickets/{second}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"staff-merge-candidates{'-360' if width == 360 else ''}.png")
