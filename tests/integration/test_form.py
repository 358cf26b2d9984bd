"""The citizen's HTML form, posted the way a browser without JavaScript posts it."""
from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

from chalicelib.store import tickets
from tests.conftest import unique_phone

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _post(client: Any, fields: dict[str, str]) -> Any:
    """Posts the form as a citizen who already saw any similar open reports and chose "send new"."""
    return client.http.post("/", headers=FORM, body=urlencode({"confirm_new": "1", **fields}).encode())


def _code(html: str) -> str:
    return re.search(r'id="tracking-code">([^<]+)<', html).group(1)


def test_the_form_is_in_vietnamese_with_a_label_for_every_field(client: Any) -> None:
    page = client.http.get("/")
    html = page.body.decode()
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<html lang="vi">' in html and "Gửi phản ánh" in html
    for name in ("description", "category", "area", "address", "name", "phone", "email", "consent_publish"):
        assert f'for="{name}"' in html and f'name="{name}"' in html
    assert "Phường Tân Ninh" in html and "Ngập úng, thoát nước" in html
    # Works without JavaScript: the only scripts are our own files, which only add photos and location, and
    # the Q&A articles matching the question typed.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/report.js" defer>',
                                                  '<script src="/static/kb.js" defer>']
    assert "script-src" not in page.headers["Content-Security-Policy"] and "'unsafe-inline'" not in \
        page.headers["Content-Security-Policy"].split("style-src")[0]


def test_a_posted_form_shows_the_tracking_code(client: Any) -> None:
    phone = unique_phone()
    page = _post(client, {"description": "Đèn đường tắt", "phone": phone, "category": "chieu-sang",
                          "area": "long-hoa", "form_token": f"t-{phone}"})
    assert page.status_code == 200
    code = _code(page.body.decode())
    assert tickets.get_ticket(code).reporter_phone == "+84" + phone[1:]
    assert "Đã tiếp nhận phản ánh" in page.body.decode()


def test_a_double_click_makes_one_ticket(client: Any) -> None:
    phone = unique_phone()
    fields = {"description": "Nước sinh hoạt yếu", "phone": phone, "form_token": f"dbl-{phone}"}
    first, second = _post(client, fields), _post(client, fields)
    assert _code(first.body.decode()) == _code(second.body.decode())
    assert len(tickets.by_phone("+84" + phone[1:])) == 1


def test_an_edited_resend_under_the_same_form_is_a_new_report_not_lost(client: Any) -> None:
    # Given a citizen who sent the form, went back, corrected the text and sent it again
    phone = unique_phone()
    first = _post(client, {"description": "Đèn đường tắt ở hẻm 5", "phone": phone, "form_token": f"b-{phone}"})
    second = _post(client, {"description": "Đèn đường tắt ở hẻm 7", "phone": phone, "form_token": f"b-{phone}"})
    # Then both reports exist: nothing the citizen wrote is dropped as a "duplicate"
    assert _code(first.body.decode()) != _code(second.body.decode())
    assert sorted(t.text for t in tickets.by_phone("+84" + phone[1:])) == ["Đèn đường tắt ở hẻm 5",
                                                                           "Đèn đường tắt ở hẻm 7"]


def test_errors_show_next_to_their_fields_and_keep_what_was_typed(client: Any) -> None:
    page = _post(client, {"description": "", "phone": "12345", "name": "Võ Thị <Sáu>", "address": "Ấp 3",
                          "area": "long-hoa", "email": "sai@", "form_token": "keep-me"})
    html = page.body.decode()
    assert page.status_code == 400
    assert 'id="description-error"' in html and 'id="phone-error"' in html and 'id="email-error"' in html
    assert 'aria-invalid="true" aria-describedby="phone-error"' in html
    assert "Vui lòng nhập nội dung phản ánh" in unescape(html)
    assert 'value="Võ Thị &lt;Sáu&gt;"' in html  # kept, and escaped
    assert 'value="12345"' in html and 'value="Ấp 3"' in html and 'value="keep-me"' in html
    assert re.search(r'<option value="long-hoa"\s+selected', html)
    assert tickets.by_phone("+8412345") == []


def test_the_status_page_shows_progress_only_with_the_right_digits(client: Any) -> None:
    phone = unique_phone()
    code = _code(_post(client, {"description": "Rác chưa thu gom", "phone": phone}).body.decode())
    found = client.http.get(f"/tra-cuu?code={code.lower()}&phone_last4={phone[-4:]}")
    assert found.status_code == 200 and "Đã tiếp nhận" in found.body.decode()
    missing = client.http.get(f"/tra-cuu?code={code}&phone_last4=0000")
    unknown = client.http.get(f"/tra-cuu?code=TN-ZZZZZZ&phone_last4={phone[-4:]}")
    assert missing.status_code == unknown.status_code == 404
    assert 'id="not-found"' in missing.body.decode() and code not in missing.body.decode().split("<form")[0]


def test_a_crash_shows_a_vietnamese_error_page_with_a_request_id(client: Any, monkeypatch: Any) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(tickets, "create_ticket", broken)
    page = _post(client, {"description": "Đường hư", "phone": unique_phone()})
    html = page.body.decode()
    assert page.status_code == 500 and "Lỗi hệ thống" in html
    assert re.search(r"<code>[0-9a-f-]{36}</code>", html)
