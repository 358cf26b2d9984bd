"""Over real HTTP against the local stack: every way a phone number comes in — the citizen form and
JSON API, following a report, the console's search box and caller history, the staff API — carries it
in the request body, so neither the pages' links and forms nor the server's access log (method, path,
status, as API Gateway's would keep) hold a single number. (The session's whole access log is
checked again when the stack stops: tests/e2e/conftest.py.)"""
from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from devstack.seed import DEMO_PASSWORD
from tests.conftest import unique_phone
from tests.integration.test_base_path import phones_in

pytestmark = pytest.mark.e2e
_URLS = re.compile(r'\b(?:href|action|src|data-uploads)="([^"]*)"')


def _field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_phone_numbers_travel_in_request_bodies_and_the_access_log_keeps_none(local_stack: dict[str, Any]) -> None:
    base, log = local_stack["base_url"], local_stack["access_log"]
    start = len(log)
    pages: list[str] = []
    phone, stranger = unique_phone(), unique_phone()
    spelled = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    # A citizen reports by the form and by the JSON API, and a neighbour asks to follow by both
    form = requests.get(base + "/", timeout=10).text
    page = requests.post(base + "/", timeout=10, data={
        "description": "Nước ngập sâu trước chợ phường Tân Ninh", "category": "ngap-ung", "area": "tan-ninh",
        "phone": spelled, "form_token": _field(form, "form_token"), "confirm_new": "1"}).text
    code = re.search(r'id="tracking-code">([^<]+)<', page).group(1)
    assert requests.post(base + "/api/v1/reports", timeout=10, json={
        "description": "Hỏi thủ tục cấp lại giấy khai sinh", "phone": "+84 " + phone[1:]}).status_code == 201
    pages += [form, page, requests.post(base + "/theo-doi", data={"code": code, "phone": stranger}, timeout=10).text]
    assert requests.post(f"{base}/api/v1/reports/{code}/followers", json={"phone": stranger},
                         timeout=10).status_code == 202
    # An operator looks the caller up from the console's search box, the intake page and the staff API
    signed = requests.post(base + "/staff/sign-in", data={"email": "tongdai@demo.1022.vn", "password": DEMO_PASSWORD},
                           allow_redirects=False, timeout=10)
    assert signed.status_code == 303
    staff = requests.Session()  # the session cookies are Secure: sent by hand over the local stack's http
    staff.headers["Cookie"] = "; ".join(f"{name}={signed.cookies[name]}" for name in ("hl_id", "hl_csrf"))
    inbox = staff.get(base + "/staff/inbox", timeout=10).text
    csrf = _field(inbox, "csrf")
    found = staff.post(base + "/staff/inbox", data={"csrf": csrf, "q": spelled}, timeout=10)
    history = staff.post(base + "/staff/intake", data={"csrf": csrf, "lookup": "1", "phone": phone}, timeout=10)
    assert code in found.text and code in history.text
    ticket = staff.get(f"{base}/staff/tickets/{code}", timeout=10).text
    pages += [inbox, found.text, history.text, ticket]
    callers = requests.post(base + "/api/v1/staff/callers", json={"phone": spelled}, timeout=10,
                            headers={"Authorization": f"Bearer {signed.cookies['hl_id']}"})
    assert callers.status_code == 200 and code in [t["code"] for t in callers.json()["tickets"]]
    # Then no link, form or script of those pages carries a number
    assert not [url for html in pages for url in _URLS.findall(html) if phones_in(url)]
    # ... and the access log has every request, none with a number in it
    done = f"POST {local_stack['base_path']}/api/v1/staff/callers 200"
    deadline = time.monotonic() + 10
    while done not in log[start:] and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = log[start:]
    assert done in lines and f"POST {local_stack['base_path']}/theo-doi 200" in lines
    assert not [line for line in lines if phones_in(line)], lines
