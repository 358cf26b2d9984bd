"""The knowledge base where people meet it, in a real browser (Chromium via Playwright, against `python -m
devstack`, whose demo seed publishes the articles), on a phone (360 px) and at a desk (1280 px): an operator on
a ticket asking "thủ tục làm căn cước cho con" sees the right article beside the reply box and answers with it
in one click, keeping what she typed, and the ticket records which article answered; the report form suggests
the article while the question is typed; the public Q&A finds it typed without diacritics, with JavaScript
off, and its page shows the source and date; phone intake shows the article while the operator types; nothing
scrolls sideways."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import unique_phone
from tests.e2e.conftest import shot
from tests.e2e.test_staff_browser import _report, _sign_in, _wait_routed

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TITLE = "Làm căn cước cho trẻ em dưới 14 tuổi"
ARTICLE = "can-cuoc-tre-em-duoi-14"


def _no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 20


@pytest.mark.parametrize("width", [360, 1280])
def test_an_operator_answers_from_the_suggested_article_in_one_click(browser: Any, local_stack: dict[str, str],
                                                                      width: int) -> None:
    base_url = local_stack["base_url"]
    code = _report(base_url, description="Cho tôi hỏi thủ tục làm căn cước cho con, cháu 8 tuổi",
                   category="thu-tuc-hanh-chinh", area="tan-ninh", phone=unique_phone())
    page = _sign_in(browser, base_url, "tongdai@demo.1022.vn", width=width)
    _wait_routed(page, base_url, code)
    # The right article is suggested beside the reply box
    suggestions = page.locator("#kb-suggestions")
    assert TITLE in suggestions.inner_text()
    reply = page.locator("#reply").bounding_box()
    assert reply and suggestions.bounding_box()["y"] > reply["y"]  # type: ignore[index]
    _no_sideways_scroll(page, width)
    # One click puts the answer at the cursor, after what she typed, without reloading the page
    box = page.get_by_label("Tin nhắn (gửi qua kênh của phản ánh)")
    box.fill("Chào anh,")
    page.evaluate("window.__samePage = true")
    suggestions.locator("li.kb-hit", has_text=TITLE).get_by_role("button", name="Dùng bài này").click()
    written = box.input_value()
    assert written.startswith("Chào anh,\n\nTrẻ em dưới 14 tuổi được cấp thẻ căn cước") and "Căn cứ:" in written
    assert page.evaluate("window.__samePage === true")
    assert page.locator("#reply input.kb-article").input_value().startswith(ARTICLE + ":")
    shot(page, "kb-ticket-suggestions-mobile.png" if width < 800 else "kb-ticket-suggestions.png")
    # Sent: the reply's entry names the article (and its version)
    page.get_by_role("button", name="Gửi tin nhắn").click()
    page.locator("#flash").wait_for()
    entry = page.locator("#timeline summary", has_text="Nhắn người dân").first
    entry.click()
    assert f"Theo bài hỏi đáp: {TITLE} (bản " in page.locator("#timeline").inner_text()
    # Phone intake: the article shows while the operator types what the caller asks, its answer ready to read out
    page.goto(base_url + "/staff/intake")
    page.get_by_label("Nội dung cuộc gọi").press_sequentially("hỏi làm căn cước cho con", delay=10)
    found = page.locator("#kb-suggestions li.kb-suggestion", has_text=TITLE)
    found.wait_for(timeout=5000)
    found.locator("summary").click()
    assert "Trẻ em dưới 14 tuổi được cấp thẻ căn cước" in found.inner_text()
    _no_sideways_scroll(page, width)
    if width > 1000:
        shot(page, "kb-intake-suggestions.png")


@pytest.mark.parametrize("width", [360, 1280])
def test_citizens_find_the_article_on_the_form_and_on_the_public_qa(browser: Any, local_stack: dict[str, str],
                                                                    width: int) -> None:
    base_url = local_stack["base_url"]
    # The report form suggests the article while the question is typed (the text is POSTed, not in a URL)
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="vi-VN")
    page.goto(base_url + "/")
    assert page.locator("#announcements").is_visible()
    page.locator("#description").press_sequentially("làm căn cước cho con", delay=10)
    suggestion = page.locator("#kb-suggestions li.kb-suggestion", has_text=TITLE)
    suggestion.wait_for(timeout=5000)
    assert suggestion.get_by_role("link").get_attribute("href") == f"{local_stack['base_path']}/hoi-dap/{ARTICLE}"
    _no_sideways_scroll(page, width)
    shot(page, "kb-form-suggestions-mobile.png" if width < 800 else "kb-form-suggestions.png")
    page.close()
    # The public Q&A, JavaScript off: typed without diacritics, the article comes first
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN", java_script_enabled=False)
    public = context.new_page()
    public.goto(base_url + "/hoi-dap")
    public.get_by_label("Bạn cần hỏi gì?").fill("lam can cuoc cho con")
    public.get_by_role("button", name="Tìm").click()
    assert public.url.endswith("/hoi-dap?q=" + quote("lam can cuoc cho con").replace("%20", "+"))
    first = public.locator("article.result").first
    assert first.locator("h3").inner_text() == TITLE
    _no_sideways_scroll(public, width)
    shot(public, "kb-hoidap-search-mobile.png" if width < 800 else "kb-hoidap-search.png")
    first.get_by_role("link", name=TITLE).click()
    assert public.locator("#article-title").inner_text() == TITLE
    source = public.locator("#article-source").inner_text()
    assert "Căn cứ" in source and " ngày " in source and "Cập nhật" in source
    _no_sideways_scroll(public, width)
    shot(public, "kb-hoidap-article-mobile.png" if width < 800 else "kb-hoidap-article.png")
    context.close()
