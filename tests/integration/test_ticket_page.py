"""The staff ticket page on the emulator (real routes and consumers, no browser): what a citizen
sent in a later Zalo message and the location a web reporter's browser sent are shown, with a link
to the place on a map; a template asked for without JavaScript keeps what the operator typed and
sends nothing; errors read in Vietnamese only; the error page has the console's header, signed in
or not."""
from __future__ import annotations

import re
import uuid
from html import unescape
from typing import Any
from urllib.parse import urlencode

from chalicelib.domain.errors import NotFound
from chalicelib.domain.permissions import user_from_claims
from chalicelib.services import console
from chalicelib.store import outbound, tickets
from tests.conftest import unique_phone
from tests.integration.test_channels import pump, zalo_post

FOLLOW_UP_IMAGE = "https://f22-zpc.zdn.vn/5512/o-ga-them.jpg"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _page(client: Any, token: str, code: str) -> tuple[str, Any]:
    response = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={token}"})
    assert response.status_code == 200
    return response.body.decode(), response


def test_a_zalo_follow_ups_photo_and_location_are_shown_to_staff(client: Any, providers: Any,
                                                                staff: dict[str, str]) -> None:
    # Given a Zalo user reports a pothole, then sends a photo and their location as later messages
    user = f"z{uuid.uuid4().int % 10**18}"
    assert zalo_post(client, user, "Ổ gà rất lớn trên đường 30/4 phường Tân Ninh").status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(user)
    photo = {"msg_id": uuid.uuid4().hex, "text": "",
             "attachments": [{"type": "image", "payload": {"url": FOLLOW_UP_IMAGE, "thumbnail": FOLLOW_UP_IMAGE}}]}
    place = {"msg_id": uuid.uuid4().hex, "text": "Ở đây",
             "attachments": [{"type": "location", "payload": {"coordinates": {"latitude": "11.3101",
                                                                               "longitude": "106.0983"}}}]}
    assert zalo_post(client, user, "", event_name="user_send_image", message=photo).status_code == 200
    assert zalo_post(client, user, "", event_name="user_send_location", message=place).status_code == 200
    pump()
    assert [e.kind for e in tickets.timeline(ticket.tracking_code)].count("message_in") == 2
    # When an operator opens the ticket
    html, response = _page(client, staff["operator"], ticket.tracking_code)
    # Then the later photo is shown (Zalo's CDN is allowed as an image source) and the place links to the map
    assert f'src="{FOLLOW_UP_IMAGE}"' in html and "https://*.zdn.vn" in response.headers["Content-Security-Policy"]
    assert ('href="https://www.openstreetmap.org/?mlat=11.310100&amp;mlon=106.098300#map=18/11.310100/106.098300"'
            in html) and "Vị trí: <span class=\"coords\">11.310100, 106.098300</span>" in html
    assert html.count('class="sent-group"') == 2 and "Tin nhắn lúc" in html
    # And the citizen's own messages are the citizen's, never marked internal
    entries = re.findall(r"<li class=\"in\">(.*?)</li>", html, re.S)
    assert len(entries) == 3 and all("Người dân (Zalo)" in e and "nội bộ" not in e for e in entries)


def test_a_web_reporters_browser_location_links_to_the_place(client: Any, staff: dict[str, str]) -> None:
    created = client.http.post("/api/v1/reports", headers={"Content-Type": "application/json"}, body=(
        '{"description": "Cây đổ chắn ngang đường Cách Mạng Tháng Tám", "phone": "%s", "lat": 11.30541, '
        '"lon": 106.10012}' % unique_phone()).encode())
    assert created.status_code == 201
    html, _ = _page(client, staff["operator"], created.json_body["tracking_code"])
    assert "Khi gửi phản ánh" in html and "11.305410, 106.100120" in html
    assert 'href="https://www.openstreetmap.org/?mlat=11.305410&amp;mlon=106.100120' in html


def test_asking_for_a_template_without_javascript_keeps_the_typed_text_and_sends_nothing(
        client: Any, staff: dict[str, str]) -> None:
    admin = user_from_claims({"sub": "a", "email": "quantri@demo.1022.vn", "cognito:groups": ["admin"]})
    title = f"Đã nhận {uuid.uuid4().hex[:6]}"
    template = console.save_template(admin, {"category": "ngap-ung", "title": title,
                                             "body": "Phản ánh {ma} đã được chuyển cho {co_quan}."})
    created = client.http.post("/api/v1/reports", headers={"Content-Type": "application/json"}, body=(
        '{"description": "Ngập sâu sau mưa", "category": "ngap-ung", "area": "tan-ninh", "phone": "%s"}'
        % unique_phone()).encode())
    code = created.json_body["tracking_code"]
    html, _ = _page(client, staff["operator"], code)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)  # type: ignore[union-attr]
    # the template's button carries the filled text for the page's script
    assert f'value="{template}" data-text="Phản ánh {code} đã được chuyển cho' in unescape(html)
    # When the operator, without JavaScript, types a greeting and asks for the template
    asked = client.http.post(f"/staff/tickets/{code}", headers={**FORM, "Cookie": f"hl_id={staff['operator']}; "
                                                                             "hl_csrf=c"},
                             body=urlencode({"csrf": "c", "version": version, "action": "reply", "template": template,
                                             "text": "Chào chị Hoa,"}).encode())
    # Then the page comes back with the greeting and the filled template after it, and nothing was sent
    assert asked.status_code == 200
    box = re.search(r'<textarea id="reply-text" name="text">(.*?)</textarea>', asked.body.decode(), re.S)
    assert box and unescape(box.group(1)).startswith(f"Chào chị Hoa,\n\nPhản ánh {code} đã được chuyển cho")
    assert [m for m in outbound.of_ticket(code) if m.kind == "staff_reply"] == []
    assert "reply" not in [e.kind for e in tickets.timeline(code)]
    # And a failed action's message is in Vietnamese only
    empty = client.http.post(f"/staff/tickets/{code}", headers={**FORM, "Cookie": f"hl_id={staff['operator']}; "
                                                                             "hl_csrf=c"},
                             body=urlencode({"csrf": "c", "version": version, "action": "reply", "text": " "}).encode())
    assert empty.status_code == 400
    assert 'id="reply-text-error">Vui lòng nhập thông tin này.</p>' in empty.body.decode()
    assert "This field is required" not in empty.body.decode()


def test_the_staff_error_page_has_the_consoles_header_signed_in_or_not(client: Any, staff: dict[str, str]) -> None:
    # Signed in: a ticket that does not exist -> our 404 page, with her name and the navigation
    missing = client.http.get("/staff/tickets/TN-ZZZZZZ", headers={"Cookie": f"hl_id={staff['operator']}"})
    page = missing.body.decode()
    assert missing.status_code == 404 and 'id="error-message">Không tìm thấy phản ánh.' in page
    assert re.search(r'id="who">[^<]*Lê Thị Mai', page) and 'aria-label="Điều hướng nhân viên"' in page \
        and "Đăng xuất" in page
    assert 'lang="en"' not in page
    # Not signed in (the page fails before any session is read): the header with the sign-in link
    from chalicelib.web.staff_views import staff_page

    def failing() -> Any:
        raise NotFound()

    def crashing() -> Any:
        raise RuntimeError("boom")

    bare = staff_page(lambda: None, lambda: "/staff/x", lambda: {})(failing)()
    assert bare.status_code == 404 and 'id="sign-in-link">Đăng nhập</a>' in bare.body
    assert "1022 · Bàn làm việc" in bare.body and 'id="who"' not in bare.body
    crashed = staff_page(lambda: None, lambda: "/staff/x", lambda: {"cookie": f"hl_id={staff['operator']}"})(
        crashing)()
    assert crashed.status_code == 500 and "Lê Thị Mai" in crashed.body and 'id="request-id"' in crashed.body
    assert "Internal error" not in crashed.body
