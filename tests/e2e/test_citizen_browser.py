"""The citizen side in a real browser (Debian's Chromium via Playwright) against `python -m devstack`:
a report with a photo uploaded straight to the emulator's S3, the confirmation, tracking, the
public listing without personal data; every citizen page at 360 px, with labelled inputs and no
axe-core violations."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from devstack.seed import DEMO_PASSWORD
from tests.conftest import unique_phone
from tests.e2e.conftest import code_sent, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def check_page(page: Any) -> None:
    """360 px without sideways scrolling, every input labelled, and axe-core finds nothing."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 362, page.url
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
        .map(e => e.id || e.name)""")
    assert unlabelled == [], (page.url, unlabelled)
    page.evaluate(_axe_source())
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))")
    assert result == [], (page.url, result)


def _photo(tmp_path: Path) -> Path:
    """A small JPEG with GPS text in its EXIF segment."""
    exif = b"Exif\x00\x00GPSLatitude 11.3101 N"
    data = (b"\xff\xd8\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + b"\xff\xdb" + struct.pack(">H", 67)
            + b"\x00" + bytes(range(64)) + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\x34\xff\xd9")
    path = tmp_path / "o-ga.jpg"
    path.write_bytes(data)
    return path


@pytest.fixture
def phone_page(browser: Any) -> Any:
    # axe-core is injected by the test, so this context bypasses the pages' own script policy
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="vi-VN", bypass_csp=True)
    yield context.new_page()
    context.close()


def _submit(page: Any) -> str:
    page.get_by_role("button", name="Gửi phản ánh").click()
    if page.get_by_role("button", name="Vẫn gửi phản ánh mới").count():
        page.get_by_role("button", name="Vẫn gửi phản ánh mới").click()
    return page.locator("#tracking-code").inner_text()


def test_a_report_with_a_photo_then_tracking_it(phone_page: Any, base_url: str, tmp_path: Path) -> None:
    page = phone_page
    page.goto(base_url + "/")
    check_page(page)
    page.get_by_label("Ảnh hiện trường (không bắt buộc)").set_input_files(str(_photo(tmp_path)))
    page.wait_for_selector("#photo-list li.uploaded", timeout=15000)
    assert "o-ga.jpg: đã tải lên" in page.locator("#photo-list").inner_text()
    phone = unique_phone()
    page.get_by_label("Nội dung phản ánh (bắt buộc)").fill("Ổ gà rất sâu giữa đường Điện Biên Phủ, xe máy dễ té.")
    page.get_by_label("Lĩnh vực").select_option("giao-thong")
    page.get_by_label("Xã, phường").select_option("ninh-thanh")
    page.get_by_label("Số điện thoại (bắt buộc)").fill(phone)
    shot(page, "form-photo.png")
    code = _submit(page)
    assert code.startswith("TN-")
    check_page(page)
    page.get_by_role("link", name="Tra cứu phản ánh").click()
    page.get_by_label("4 số cuối điện thoại").fill(phone[-4:])
    page.get_by_role("button", name="Tra cứu").click()
    page.wait_for_selector("#status-label")
    check_page(page)


def test_a_file_that_is_not_a_photo_is_refused_and_the_form_kept(phone_page: Any, base_url: str,
                                                                 tmp_path: Path) -> None:
    page = phone_page
    page.goto(base_url + "/")
    page.get_by_label("Nội dung phản ánh (bắt buộc)").fill("Nước sinh hoạt có mùi lạ")
    document = tmp_path / "don.pdf"
    document.write_bytes(b"%PDF-1.4")
    page.get_by_label("Ảnh hiện trường (không bắt buộc)").set_input_files(str(document))
    assert "không phải ảnh JPEG, PNG hoặc HEIC" in page.locator("#photos-error").inner_text()
    assert page.get_by_label("Nội dung phản ánh (bắt buộc)").input_value() == "Nước sinh hoạt có mùi lạ"
    assert page.locator("#photo-keys").input_value() == ""


def test_duplicates_following_and_the_public_listing_without_personal_data(browser: Any, phone_page: Any,
                                                                          local_stack: dict[str, Any]) -> None:
    base_url = local_stack["base_url"]
    page = phone_page
    first_phone = unique_phone()
    page.goto(base_url + "/")
    page.get_by_label("Nội dung phản ánh (bắt buộc)").fill(
        f"Bãi rác tự phát cạnh trường học ấp 4 Kiến Tường. Tôi là Phan Thị Thu, gọi {first_phone}.")
    page.get_by_label("Lĩnh vực").select_option("moi-truong")
    page.get_by_label("Xã, phường").select_option("kien-tuong")
    page.get_by_label("Họ và tên").fill("Phan Thị Thu")
    page.get_by_label("Số điện thoại (bắt buộc)").fill(first_phone)
    page.get_by_label("Đồng ý công khai", exact=False).check()
    code = _submit(page)
    # A neighbour reports the same thing: she is offered to follow it instead.
    page.goto(base_url + "/")
    page.get_by_label("Nội dung phản ánh (bắt buộc)").fill("Rác đổ cạnh trường ấp 4")
    page.get_by_label("Lĩnh vực").select_option("moi-truong")
    page.get_by_label("Xã, phường").select_option("kien-tuong")
    neighbour = unique_phone()
    page.get_by_label("Số điện thoại (bắt buộc)").fill(neighbour)
    page.get_by_role("button", name="Gửi phản ánh").click()
    assert code in page.content() and first_phone not in page.content() and "Phan Thị Thu" not in page.content()
    check_page(page)
    shot(page, "duplicates.png")
    page.get_by_role("button", name=f"Theo dõi phản ánh {code}").click()
    # She proves the number with the code it just received by SMS
    page.get_by_label("Mã xác nhận").fill(code_sent(local_stack["outbox"], neighbour, code))
    check_page(page)
    page.get_by_role("button", name="Xác nhận và theo dõi").click()
    assert page.locator("#followed-code").inner_text() == code
    check_page(page)
    # Staff answer it and publish it.
    staff = browser.new_page(viewport={"width": 1280, "height": 900})
    staff.goto(base_url + "/staff/sign-in")
    staff.get_by_label("Email").fill("tongdai@demo.1022.vn")
    staff.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    staff.get_by_role("button", name="Đăng nhập").click()
    staff.goto(f"{base_url}/staff/tickets/{code}")
    staff.get_by_label("Nội dung trả lời").fill("UBND phường đã thu gom và cắm biển cấm đổ rác.")
    staff.get_by_role("button", name="Trả lời và kết thúc").click()
    staff.locator("#publication summary").click()
    assert first_phone not in staff.get_by_label("Câu hỏi sẽ công khai", exact=False).input_value()
    staff.get_by_role("button", name="Công khai", exact=True).click()
    assert "Đã công khai" in staff.locator("#flash").inner_text()
    # The public listing shows the question and the answer, and nobody's name or number.
    page.goto(base_url + "/cong-khai?category=moi-truong&area=kien-tuong")
    listing = page.locator("main").inner_text()
    assert code in listing and "UBND phường đã thu gom" in listing and "Bãi rác tự phát" in listing
    assert first_phone not in listing and first_phone[-4:] not in listing and "Phan Thị Thu" not in listing
    check_page(page)
    shot(page, "public-answers.png")


def test_every_other_citizen_page_passes_the_checks(phone_page: Any, base_url: str) -> None:
    for path in ("/tra-cuu", "/tra-cuu?code=TN-AAAAAA&phone_last4=1234", "/cong-khai"):
        phone_page.goto(base_url + path)
        check_page(phone_page)
    phone_page.goto(base_url + "/")
    phone_page.get_by_role("button", name="Gửi phản ánh").click()  # the form with its errors
    check_page(phone_page)
