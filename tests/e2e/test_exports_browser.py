"""Statistics downloads and the monthly report in a real browser against `python -m devstack`: a supervisor
exports the month's figures to Excel from the statistics page (the file arrives through S3's short-lived
link and opens as a workbook), and opens the monthly report, which fits a phone and prints on A4."""
from __future__ import annotations

import re
import zipfile
from typing import Any

import pytest

from devstack.seed import DEMO_PASSWORD
from tests.e2e.conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_a_supervisor_exports_the_figures_to_excel_and_opens_the_monthly_report(browser: Any, base_url: str,
                                                                                 tmp_path: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN", accept_downloads=True)
    page.goto(base_url + "/staff/thong-ke")
    page.get_by_label("Email").fill("giamsat@demo.1022.vn")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r".*/staff/thong-ke"))
    with page.expect_download() as download:
        page.locator("#export-xlsx").click()
    assert re.fullmatch(r"thong-ke-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.xlsx", download.value.suggested_filename)
    saved = tmp_path / "thong-ke.xlsx"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as book:
        assert "Theo cơ quan" in book.read("xl/workbook.xml").decode()

    page.locator("#monthly-report").click()
    assert page.locator("#report-title").inner_text().startswith("BÁO CÁO KẾT QUẢ TIẾP NHẬN, XỬ LÝ PHẢN ÁNH, KIẾN NGHỊ THÁNG ")
    assert page.locator("#report-agencies thead th").count() == 8
    shot(page, "staff-monthly-report.png")
    page.emulate_media(media="print")
    assert not page.locator("#report-form").is_visible()  # the printed A4 page is the report alone
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 360, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "staff-monthly-report-mobile.png")
    page.close()
