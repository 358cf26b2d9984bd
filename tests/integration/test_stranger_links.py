"""Links from strangers on the real staff ticket page (emulator, real routes, no browser): a Zalo
attachment and an Open311 media_url reach staff as text with their host, never as a link; only
an https image on Zalo's CDN is shown as an image, and the page's policy allows just that."""
from __future__ import annotations

import json
import time
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from chalicelib.channels import zalo
from chalicelib.domain.permissions import user_from_claims
from chalicelib.services import open311
from chalicelib.store import tickets
from devstack.fakes import LOCAL_SECRETS as S
from tests.integration.test_channels import pump

ZALO_IMAGE = "https://f21-zpc.zdn.vn/3410937489209823/8a1b2c3d4e5f.jpg"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, Any]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def _page(client: Any, token: str, code: str) -> tuple[_Tags, str]:
    response = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={token}"})
    assert response.status_code == 200
    parsed = _Tags()
    parsed.feed(response.body.decode())
    return parsed, response.headers["Content-Security-Policy"]


def _hrefs_and_sources(page: _Tags) -> list[str]:
    return [str(value) for _, attrs in page.tags for name, value in attrs.items() if name in ("href", "src", "action")]


def test_a_zalo_users_links_are_text_and_only_a_cdn_image_is_an_image(client: Any, providers: Any,
                                                                      staff: dict[str, str]) -> None:
    # Given a Zalo user sends an image from Zalo's CDN, a link to a look-alike site and an http image
    user, stamp = f"z{uuid.uuid4().int % 10**18}", str(int(time.time() * 1000))
    attachments = [{"type": "image", "payload": {"url": ZALO_IMAGE, "thumbnail": ZALO_IMAGE}},
                   {"type": "link", "payload": {"url": "https://dichvucong-tayninh.evil.example/dang-nhap",
                                                "description": "Cổng dịch vụ công", "thumbnail": ""}},
                   {"type": "image", "payload": {"url": "http://f21-zpc.zdn.vn/plain-http.jpg"}}]
    body = json.dumps({"app_id": S["zalo_app_id"], "user_id_by_app": "1", "event_name": "user_send_image",
                       "timestamp": stamp, "sender": {"id": user}, "recipient": {"id": "388613280878808645"},
                       "message": {"msg_id": uuid.uuid4().hex, "text": "Ổ gà đường 30/4", "attachments": attachments}},
                      ensure_ascii=False).encode()
    mac = zalo.signature(S["zalo_app_id"], body, stamp, S["zalo_oa_secret_key"])
    assert client.http.post("/webhooks/zalo", body=body, headers={"Content-Type": "application/json",
                                                                   "X-ZEvent-Signature": f"mac={mac}"}).status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(user)
    # When an operator opens the ticket
    page, policy = _page(client, staff["operator"], ticket.tracking_code)
    # Then the CDN image is an image, and nothing on the page points at the sender's other URLs
    assert [attrs["src"] for tag, attrs in page.tags if tag == "img"] == [ZALO_IMAGE]
    assert not [v for v in _hrefs_and_sources(page) if "evil.example" in v or "plain-http" in v]
    assert not [attrs for tag, attrs in page.tags if tag == "a" and ZALO_IMAGE in str(attrs.get("href"))]
    # And they are there as text, with the host they go to
    assert "Tên miền: dichvucong-tayninh.evil.example" in page.text
    assert "https://dichvucong-tayninh.evil.example/dang-nhap" in page.text
    assert "http://f21-zpc.zdn.vn/plain-http.jpg" in page.text
    # And the page's policy lets the browser load images from Zalo's CDN only (besides our own origins)
    img_src = next(d for d in policy.split(";") if d.strip().startswith("img-src"))
    assert "https://*.zdn.vn" in img_src and "evil.example" not in img_src


def test_an_integrators_media_url_elsewhere_is_text_with_its_host(client: Any, staff: dict[str, str]) -> None:
    # Given an Open311 integrator sends a report whose media_url points at a host of its choosing
    admin = user_from_claims({"sub": "s", "email": "quantri@demo.1022.vn", "cognito:groups": ["admin"]})
    key = open311.add_integrator(admin, "Ứng dụng thử liên kết")["api_key"]
    media = "https://cdn.integrator.example/anh/ngap.jpg?track=staff"
    created = client.http.post("/open311/v2/requests.json", headers={"Content-Type": "application/x-www-form-urlencoded"},
                               body=urlencode({"api_key": key, "service_code": "ngap-ung", "address_string": "Đường CMT8",
                                               "description": "Ngập sau mưa", "media_url": media}).encode())
    assert created.status_code in (200, 201)
    code = created.json_body[0]["service_request_id"]
    # When an operator opens it
    page, policy = _page(client, staff["operator"], code)
    # Then the URL is shown as text with its host, and neither linked nor loaded
    assert media in page.text and "Tên miền: cdn.integrator.example" in page.text
    assert not [v for v in _hrefs_and_sources(page) if "integrator.example" in v]
    assert "integrator.example" not in policy
