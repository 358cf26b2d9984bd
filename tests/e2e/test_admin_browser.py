"""An admin edits reference data in a real browser (Debian's Chromium via Playwright) against
`python -m devstack`, on a phone (360 px) and a desk (1280 px): a category's new keyword is tried on a
sample message (the routing it would get, before saving, next to today's), saved as a new version,
read back as a diff in the history, and rolled back; the other sections and the audit trail's filters
fit the screen; a new account is given another role and an agency — without JavaScript doing any of it."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from devstack.seed import DEMO_PASSWORD
from tests.e2e.conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SAMPLE = "Chó thả rông ở phường Long Hoa cắn người đi đường"


def _sign_in(browser: Any, base_url: str, width: int) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="vi-VN")
    page.goto(base_url + "/staff/inbox")
    page.get_by_label("Email").fill("quantri@demo.1022.vn")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/staff/inbox")
    return page


def _fits(page: Any, width: int) -> None:
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{page.url} scrolls sideways"


@pytest.mark.parametrize("width", [360, 1280])
def test_an_admin_previews_a_keyword_saves_it_reads_the_diff_and_rolls_it_back(
        browser: Any, base_url: str, width: int) -> None:
    page = _sign_in(browser, base_url, width)
    page.get_by_role("link", name="Danh mục", exact=True).click()
    page.get_by_role("navigation", name="Quản trị dữ liệu danh mục").get_by_role("link", name="Lĩnh vực").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Môi trường, rác thải").click()
    _fits(page, width)
    keywords = page.get_by_label("Từ khoá (mỗi dòng một cụm từ")
    keywords.fill(keywords.input_value() + "\nchó thả rông = 5")
    page.get_by_label("Tin nhắn mẫu của người dân").fill(SAMPLE)
    page.get_by_role("button", name="Thử tin nhắn").click()
    # The preview: today's data leaves it to the operators; the edit sends it to the ward's committee
    preview = page.locator("#preview")
    assert page.locator("#preview-current-category").inner_text() != "Môi trường, rác thải"
    assert page.locator("#preview-edited-category").inner_text().startswith("Môi trường, rác thải")
    assert page.locator("#preview-edited-area").inner_text() == "Phường Long Hoa"
    assert page.locator("#preview-edited-agency").inner_text().startswith("UBND Phường Long Hoa")
    assert re.match(r"\d\d/\d\d/\d{4} \d\d:\d\d", page.locator("#preview-edited-due").inner_text())
    assert "chó thả rông = 5" in keywords.input_value()  # what was typed is still there, unsaved
    _fits(page, width)
    if width > 1000:
        preview.scroll_into_view_if_needed()
        shot(page, "staff-admin-categories.png")
    page.get_by_role("button", name="Lưu phiên bản mới").click()
    saved = page.locator("#flash").inner_text()
    number = int(re.fullmatch(r"Đã lưu phiên bản (\d+)\.", saved).group(1))
    # The history shows who changed what, in words
    page.get_by_role("link", name="Lịch sử thay đổi", exact=True).click()
    first = page.locator("#history tbody tr").first
    assert first.inner_text().startswith(f"Phiên bản {number}") and "Ngô Thanh Hà" in first.inner_text()
    assert "Lĩnh vực: sửa 1 (Môi trường, rác thải)" in first.inner_text()
    first.get_by_role("link", name=f"Phiên bản {number}", exact=True).click()
    changes = page.locator("#diff-categories").inner_text()
    assert "Môi trường, rác thải" in changes and "Thêm từ khoá: «chó thả rông» (5)" in changes
    _fits(page, width)
    if width > 1000:
        shot(page, "staff-admin-history.png")
    # Rolled back: the version before comes back as a new one, and the keyword is gone
    page.get_by_role("link", name=f"phiên bản {number - 1}", exact=True).click()
    page.get_by_role("button", name=f"Khôi phục phiên bản {number - 1}").click()
    assert page.locator("#flash").inner_text() == \
        f"Đã khôi phục dữ liệu của phiên bản {number - 1} thành phiên bản mới {number + 1}."
    assert "Bỏ từ khoá: «chó thả rông»" in page.locator("#diff-categories").inner_text()
    page.goto(base_url + "/staff/quan-tri/linh-vuc?id=moi-truong")
    assert "chó thả rông" not in page.get_by_label("Từ khoá (mỗi dòng một cụm từ").input_value()
    # The other sections and the audit trail, filtered to reference data, fit the screen too
    for path, shown, picture in (("/staff/quan-tri", "Phiên bản đang dùng", None),
                                 ("/staff/quan-tri/dia-ban?id=long-hoa", "UBND xã, phường", "staff-admin-areas.png"),
                                 ("/staff/quan-tri/co-quan?id=so-xay-dung", "Email lãnh đạo",
                                  "staff-admin-agencies.png"),
                                 ("/staff/quan-tri/lich", "Ngày nghỉ lễ, Tết", "staff-admin-calendar.png")):
        page.goto(base_url + path)
        assert shown in page.locator("main").inner_text()
        _fits(page, width)
        if picture and width > 1000:
            shot(page, picture)
    page.get_by_role("link", name="Nhật ký", exact=True).click()
    page.get_by_label("Loại việc").select_option("reference")
    page.get_by_role("button", name="Lọc").click()
    rows = page.locator("#audit tbody tr")
    assert "Khôi phục dữ liệu danh mục" in rows.first.inner_text() and "Ngô Thanh Hà" in rows.first.inner_text()
    assert "Sửa dữ liệu danh mục" in rows.nth(1).inner_text()
    _fits(page, width)
    if width > 1000:
        shot(page, "staff-audit.png")
    # A new account becomes an agency officer of Sở Y tế
    email = f"doi-vai-tro-{uuid.uuid4().hex[:8]}@demo.1022.vn"
    page.get_by_role("link", name="Nhân sự", exact=True).click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Họ tên", exact=True).fill("Trần Thị Đổi Vai")
    page.get_by_label("Vai trò", exact=True).select_option("operator")
    page.get_by_role("button", name="Tạo tài khoản").click()
    assert email in page.locator("#created").inner_text()
    row = page.locator("table.accounts tr", has_text=email)
    row.locator("summary", has_text="Đổi vai trò, cơ quan").click()
    row.get_by_label("Vai trò của Trần Thị Đổi Vai").select_option("agency_officer")
    row.get_by_label("Cơ quan (bắt buộc với cán bộ cơ quan)").select_option("so-y-te")
    _fits(page, width)
    if width > 1000:
        row.scroll_into_view_if_needed()
        shot(page, "staff-accounts-role.png")
    row.get_by_role("button", name="Lưu thay đổi").click()
    assert page.locator("#flash").inner_text().startswith(f"Đã đổi {email}: ")
    officers = page.locator("section.card").filter(has=page.get_by_role("heading", name="Cán bộ cơ quan xử lý"))
    assert email in officers.inner_text() and "Sở Y tế" in officers.inner_text()
    _fits(page, width)
    page.close()
