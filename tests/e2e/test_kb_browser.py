"""The knowledge base in a real browser (Debian's Chromium via Playwright) against `python -m devstack`, at /
and under /api/: an agency officer on a phone (360 px) drafts an article and sends it for review; a supervisor
at a desk (1280 px) finds it waiting, publishes it, and sees its history; a citizen on a phone finds it on
/hoi-dap by typing without diacritics. Nothing sticks out sideways at 360 px."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import fits, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_an_officer_drafts_a_supervisor_publishes_and_citizens_find_it(browser: Any, base_url: str) -> None:
    word = "mau" + uuid.uuid4().hex[:5]
    title = f"Đăng ký tạm trú cho sinh viên thuê trọ {word}"
    # Given an officer of Sở Xây dựng on a phone, writing a new article from the console's menu
    officer = sign_in(browser, base_url, "soxaydung@demo.1022.vn", 360)
    officer.locator("#nav-kb").click()
    officer.locator("#kb-new").click()
    officer.get_by_label("Tiêu đề").fill(title)
    officer.get_by_label("Câu hỏi như người dân thường hỏi").fill(
        f"sinh viên thuê trọ {word} đăng ký tạm trú ở đâu\nsv thue tro {word} dang ky tam tru the nao")
    officer.get_by_label("Trả lời chính thức").fill(
        "Chủ nhà trọ hoặc sinh viên nộp tờ khai thay đổi thông tin cư trú tại Công an phường nơi thuê trọ, "
        "hoặc trực tuyến trên Cổng dịch vụ công quốc gia; thời hạn giải quyết 3 ngày làm việc.")
    officer.get_by_label("Lĩnh vực").select_option("thu-tuc-hanh-chinh")
    officer.get_by_label("Số hiệu").fill("15/HD-SXD (dữ liệu mẫu)")
    assert officer.locator("#kb-publish").count() == 0   # officers never publish
    assert fits(officer)
    shot(officer, "kb-editor-360.png")
    officer.locator("#kb-submit").click()
    officer.wait_for_load_state()
    assert "Đã gửi bài để giám sát duyệt." in officer.locator("#flash").inner_text()
    assert "Chờ duyệt" in officer.locator("#kb-status").inner_text()
    article_url = officer.url
    officer.close()

    # When a supervisor at a desk opens the review list and publishes it
    supervisor = sign_in(browser, base_url, "giamsat@demo.1022.vn", 1280)
    supervisor.goto(base_url + "/staff/hoi-dap?trang-thai=review")
    supervisor.get_by_role("link", name=title).click()
    supervisor.wait_for_url(article_url)
    supervisor.locator("#kb-publish").click()
    supervisor.wait_for_load_state()
    assert "Đã đăng bài." in supervisor.locator("#flash").inner_text()
    assert "người dân đang xem" in supervisor.locator("#kb-status").inner_text()
    history = supervisor.locator("#kb-history li").all_inner_texts()
    assert len(history) == 2 and "Đăng" in history[0] and "Gửi duyệt" in history[1]
    shot(supervisor, "kb-article-1280.png")
    supervisor.goto(base_url + "/staff/hoi-dap?trang-thai=published")
    assert title in supervisor.locator("#kb-rows").inner_text()
    shot(supervisor, "kb-list-1280.png")
    supervisor.close()

    # Then a citizen on a phone finds it on /hoi-dap, typing without diacritics
    citizen = browser.new_page(viewport={"width": 360, "height": 800}, locale="vi-VN")
    citizen.goto(base_url + "/hoi-dap")
    citizen.get_by_label("Bạn cần hỏi gì?").fill(f"sinh vien thue tro {word} dang ky tam tru")
    citizen.get_by_role("button", name="Tìm").click()
    citizen.wait_for_load_state()
    first = citizen.locator("article.result").first
    assert title in first.inner_text()
    assert fits(citizen)
    citizen.close()
