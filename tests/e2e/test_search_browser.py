"""Staff search in a real browser (Debian's Chromium via Playwright) against `python -m devstack`, at
/ and under /api/: an operator at a desk (1280 px) types a street and a name without diacritics in the
inbox's search box and gets the newest ticket first with the words marked, a word's beginning finds
it too, a too-short query says why; an agency officer on a phone (360 px) finds their agency's ticket
and not the other agency's, with nothing sticking out sideways. The tickets are seconds old: the
search matches them before the indexer's first run."""
from __future__ import annotations

import random
import time
from typing import Any

import pytest
import requests

from tests.conftest import unique_phone
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _report(base_url: str, **fields: Any) -> str:
    response = requests.post(base_url + "/api/v1/reports", json={"phone": unique_phone(), **fields}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["tracking_code"]


def _search_from_inbox(page: Any, base_url: str, text: str) -> None:
    page.goto(base_url + "/staff/inbox")
    page.locator("form[role=search] input[name=q]").fill(text)
    page.locator("form[role=search] button[type=submit]").click()
    page.wait_for_load_state()


def _cards(page: Any) -> list[str]:
    return page.locator("#results li.result").evaluate_all("items => items.map(item => item.dataset.code)")


def _until_found(page: Any, base_url: str, text: str, *codes: str) -> None:
    """Searches from the inbox until `codes` show (the in-process consumer routes them within seconds)."""
    deadline = time.monotonic() + 30
    while True:
        _search_from_inbox(page, base_url, text)
        if set(codes) <= set(_cards(page)) or time.monotonic() > deadline:
            assert set(codes) <= set(_cards(page)), f"{codes} never showed for {text!r}"
            return
        page.wait_for_timeout(500)


@pytest.fixture(scope="module")
def street(local_stack: dict[str, Any]) -> dict[str, str]:
    base_url = local_stack["base_url"]
    word = "Hẻm " + "".join(random.choice("bcdghklmnpqrstvx") for _ in range(3)) + random.choice("aeiou") + "nh"
    older = _report(base_url, description=f"Cống thoát nước {word} đường Nguyễn Trãi bị tắc, nước tràn vào nhà.",
                    category="ngap-ung", area="tan-ninh", name="Trương Văn Bảy", address=f"số 7 {word}")
    other = _report(base_url, description=f"Trạm y tế gần {word} Nguyễn Trãi thiếu thuốc.", category="y-te",
                    area="tan-ninh")
    newer = _report(base_url, description=f"Mặt đường Nguyễn Trãi đoạn {word} lún sâu, xe máy dễ ngã.",
                    category="giao-thong", area="tan-ninh")
    return {"word": word, "folded": word.replace("ẻ", "e").lower(), "older": older, "other": other, "newer": newer}


def test_an_operator_finds_tickets_by_street_and_name_without_diacritics(browser: Any, base_url: str,
                                                                         street: dict[str, str]) -> None:
    page = sign_in(browser, base_url, "tongdai@demo.1022.vn", 1280)
    _until_found(page, base_url, f"nguyen trai {street['folded']}", street["older"])
    assert _cards(page) == [street["newer"], street["other"], street["older"]]   # newest first
    first = page.locator("#results li.result").first
    assert [m.lower() for m in first.locator("mark").all_inner_texts()] == \
        ["nguyễn", "trãi", street["word"].split()[0].lower(), street["word"].split()[1].lower()]
    assert "Phường Tân Ninh" in first.inner_text()
    shot(page, "staff-search.png")
    # the reporter's name, typed without diacritics, and a word's beginning
    page.get_by_label("Mã phản ánh, số điện thoại, họ tên, địa chỉ, xã/phường hoặc nội dung").fill(
        f"truong van bay {street['folded']}")
    page.get_by_role("button", name="Tìm", exact=True).click()
    assert _cards(page) == [street["older"]]
    assert page.locator("#results li.result .reporter mark").all_inner_texts() == ["Trương", "Văn", "Bảy"]
    page.locator("#search-q").fill(f"truo* {street['folded']}")
    page.get_by_role("button", name="Tìm", exact=True).click()
    assert _cards(page) == [street["older"]]
    # a code still goes straight to its ticket
    page.locator("#search-q").fill(street["newer"].lower())
    page.get_by_role("button", name="Tìm", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/tickets/{street['newer']}")
    # too short: the page says why, the query stays in the box
    page.goto(base_url + "/staff/search")
    page.locator("#search-q").fill("a")
    page.get_by_role("button", name="Tìm", exact=True).click()
    assert "ít nhất 2 chữ cái hoặc chữ số" in page.locator("#search-error").inner_text()
    assert page.locator("#search-q").input_value() == "a"
    page.close()


def test_an_agency_officer_on_a_phone_finds_only_their_agencys_tickets(browser: Any, base_url: str,
                                                                       street: dict[str, str]) -> None:
    page = sign_in(browser, base_url, "soxaydung@demo.1022.vn", 360)
    _until_found(page, base_url, f"{street['folded']} nguyen trai", street["older"], street["newer"])
    assert _cards(page) == [street["newer"], street["older"]]   # not the health department's
    assert "của cơ quan bạn" in page.locator("#results-scope").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "staff-search-360.png")
    page.close()
