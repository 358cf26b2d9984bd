"""Real HTTP against `python -m devstack`: form -> DynamoDB -> SQS -> consumer -> status page."""
from __future__ import annotations

import re
import time

import pytest
import requests

from tests.conftest import unique_phone

pytestmark = pytest.mark.e2e


def _status_html(base_url: str, code: str, last4: str) -> str:
    return requests.get(f"{base_url}/tra-cuu", params={"code": code, "phone_last4": last4}, timeout=10).text


def test_a_form_report_is_routed_by_the_in_process_consumer(base_url: str) -> None:
    # Given the form is served
    form = requests.get(base_url + "/", timeout=10)
    assert form.status_code == 200 and "Gửi phản ánh" in form.text
    token = re.search(r'name="form_token" value="([^"]+)"', form.text).group(1)
    # When a citizen posts a report
    phone = unique_phone()
    page = requests.post(base_url + "/", data={"description": "Ổ gà lớn giữa đường, nhiều xe té ngã.",
                                               "category": "giao-thong", "area": "go-dau", "phone": phone,
                                               "form_token": token, "confirm_new": "1"}, timeout=10)
    assert page.status_code == 200
    code = re.search(r'id="tracking-code">([^<]+)<', page.text).group(1)
    # Then the consumer running inside the local stack routes it within seconds
    deadline = time.monotonic() + 20
    html = _status_html(base_url, code, phone[-4:])
    while "Đã chuyển cơ quan xử lý" not in html and time.monotonic() < deadline:
        time.sleep(0.5)
        html = _status_html(base_url, code, phone[-4:])
    assert "Đã chuyển cơ quan xử lý" in html and "Đã chuyển đến Sở Xây dựng để xử lý." in html


def test_the_json_api_and_demo_data_over_http(base_url: str) -> None:
    reference = requests.get(base_url + "/api/v1/reference", timeout=10).json()
    assert len(reference["categories"]) >= 12
    created = requests.post(base_url + "/api/v1/reports", json={"description": "Hỏi về thủ tục cấp đổi CCCD",
                                                                "phone": "+84 912 000 111"}, timeout=10)
    assert created.status_code == 201
    code = created.json()["tracking_code"]
    status = requests.get(f"{base_url}/api/v1/reports/{code}", params={"phone_last4": "0111"}, timeout=10)
    assert status.status_code == 200 and status.json()["tracking_code"] == code
    bad = requests.post(base_url + "/api/v1/reports", data="description=x", timeout=10,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 400 and "content_type" in bad.json()["error"]["fields"]


def test_each_provider_webhook_works_against_the_local_stack(local_stack: dict[str, str]) -> None:
    from devstack.sign import signed_requests

    phone = unique_phone()
    for request in signed_requests(local_stack["base_url"], phone, "MOI Den duong khu pho 4 bi tat"):
        response = requests.request(request.method, request.url, headers=request.headers, data=request.body,
                                    timeout=10)
        assert response.status_code == 200, (request.provider, response.text)
    # The Zalo user and the SMS phone each get exactly one acknowledgement, visible in the local outbox
    deadline = time.monotonic() + 20
    page = ""
    while time.monotonic() < deadline:
        page = requests.get(local_stack["outbox"], timeout=10).text
        if page.count(f"+84{phone[1:]}") >= 1 and "246845883529197922" in page:
            break
        time.sleep(0.5)
    # (the SMS one in its short wording, which leaves room in one segment for the status link and the notice)
    assert "1022 da nhan phan anh, ma TN-" in page and "đã tiếp nhận phản ánh" in page


def test_a_web_report_reaches_the_right_agency_whose_email_shows_in_the_local_outbox(
        local_stack: dict[str, str]) -> None:
    created = requests.post(local_stack["base_url"] + "/api/v1/reports", timeout=10, json={
        "description": "Cong thoat nuoc o khu pho 3 phuong Long An bi tac, mua la ngap ca con duong",
        "phone": unique_phone()})
    code = created.json()["tracking_code"]
    deadline = time.monotonic() + 20
    page = ""
    while time.monotonic() < deadline and code not in page:
        time.sleep(0.5)
        page = requests.get(local_stack["outbox"], timeout=10).text
    assert f"[1022] Phản ánh mới {code}" in page and "soxaydung@example.gov.vn" in page


def test_unknown_paths_and_the_favicon_get_our_404_page_not_a_gateway_error(local_stack: dict[str, str]) -> None:
    base, origin = local_stack["base_url"], local_stack["origin"]
    if local_stack["base_path"]:
        # outside the stage execute-api answers itself, before any API: its 403, as on AWS (with a custom
        # domain, where the site is at the root, /favicon.ico is inside the API and gets our page below)
        for url in (origin + "/favicon.ico", origin + "/tra-cuu"):
            response = requests.get(url, timeout=10)
            assert (response.status_code, response.json()) == (403, {"message": "Forbidden"}), url
    for url in [base + "/favicon.ico", base + "/khong-co-trang-nay", base + "/staff/nope"]:
        response = requests.get(url, timeout=10)
        assert response.status_code == 404, url
        assert response.headers["Content-Type"] == "text/html; charset=utf-8", url
        assert "Không tìm thấy trang" in response.text and "Missing Authentication Token" not in response.text
        # its links lead back into the site
        assert f'href="{local_stack["base_path"]}/tra-cuu"' in response.text
    # a method the API does not have on a path it has: API Gateway's answer too
    assert requests.delete(base + "/tra-cuu", timeout=10).status_code == 404
    assert requests.get(base + "/", timeout=10).status_code == 200
