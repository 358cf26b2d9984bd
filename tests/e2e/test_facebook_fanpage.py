"""The fanpage over real HTTP against `python -m devstack` (at / and under /api/): a signed Messenger text,
delivered three times as Meta redelivers, opens one ticket acknowledged once through the fake Graph API; a
staff reply from the console API reaches the same page-scoped id (PSID); Meta's delivery receipt marks it "Đã nhận"."""
from __future__ import annotations

import html
import json
import re
import time
import uuid

import pytest
import requests

from chalicelib.channels.facebook import signature
from devstack.fakes import LOCAL_SECRETS as S
from devstack.seed import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

OPERATOR = "tongdai@demo.1022.vn"


def _messenger_text(psid: str, text: str) -> tuple[bytes, dict[str, str]]:
    now_ms = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": "1022", "time": now_ms, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": "1022"}, "timestamp": now_ms,
         "message": {"mid": f"m_{uuid.uuid4().hex}", "text": text}}]}]}, ensure_ascii=False).encode()
    return body, {"Content-Type": "application/json",
                  "X-Hub-Signature-256": signature(body, S["facebook_app_secret"])}


def _messenger_rows(outbox: str, psid: str, count: int, wait_s: float = 20) -> list[tuple[str, str]]:
    """(kind, text) of the outbox's Messenger messages to `psid`, oldest first, once there are `count`."""
    pattern = re.compile(rf"<tr><td>facebook Messenger \(([A-Z_]+)\)</td><td>{psid}</td><td>(.*?)</td><td>[^<]*</td></tr>",
                         re.S)
    deadline = time.monotonic() + wait_s
    while True:
        rows = pattern.findall(requests.get(outbox, timeout=10).text)[::-1]
        if len(rows) >= count or time.monotonic() > deadline:
            return [(kind, html.unescape(text)) for kind, text in rows]
        time.sleep(0.3)


def test_a_messenger_text_opens_one_acknowledged_ticket_and_a_staff_reply_reaches_the_same_psid(
        local_stack: dict[str, str]) -> None:
    base_url, outbox = local_stack["base_url"], local_stack["outbox"]
    psid = "7" + str(uuid.uuid4().int)[:15]
    body, headers = _messenger_text(psid, "Đèn đường khu phố 4 phường 1 bị tắt cả tuần nay")
    # Given Meta delivers the signed message three times (it redelivers what it thinks unanswered)
    for _ in range(3):
        answer = requests.post(base_url + "/webhooks/facebook", data=body, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
    # Then the person gets exactly one acknowledgement, a Messenger RESPONSE carrying the tracking code
    (ack,) = _messenger_rows(outbox, psid, 1)
    time.sleep(1.5)  # a second acknowledgement, if any, would have arrived by now
    assert _messenger_rows(outbox, psid, 2, wait_s=0) == [ack]
    assert ack[0] == "RESPONSE" and "đã tiếp nhận phản ánh" in ack[1]
    code = re.search(r"TN-[A-Z0-9]{6}", ack[1]).group(0)
    # When an operator replies from the console API
    signed_in = requests.post(f"{base_url}/staff/sign-in", data={"email": OPERATOR, "password": DEMO_PASSWORD},
                              allow_redirects=False, timeout=10)
    bearer = {"Authorization": f"Bearer {signed_in.cookies['hl_id']}"}
    ticket = requests.get(f"{base_url}/api/v1/staff/tickets/{code}", headers=bearer, timeout=10).json()
    assert ticket["status"] != "closed"
    replied = requests.post(f"{base_url}/api/v1/staff/tickets/{code}/actions/reply", headers=bearer, timeout=30,
                            json={"version": ticket["version"], "text": "Điện lực sẽ thay bóng trong hôm nay."})
    assert replied.status_code == 200, replied.text
    # Then the reply reaches the same PSID through the Send API, inside the 24-hour window
    rows = _messenger_rows(outbox, psid, 2)
    assert len(rows) == 2 and rows[1][0] == "RESPONSE" and "Điện lực sẽ thay bóng trong hôm nay." in rows[1][1]
    # And Meta's delivery receipt for the acknowledgement (the fake sends one after each send) shows on the ticket page
    deadline, page = time.monotonic() + 20, ""
    while '<span class="receipt">Đã nhận</span>' not in page and time.monotonic() < deadline:
        time.sleep(0.3)
        page = requests.get(f"{base_url}/staff/tickets/{code}", cookies={"hl_id": signed_in.cookies["hl_id"]},
                            timeout=10).text
    assert page.count('<span class="receipt">Đã nhận</span>') >= 1
    assert "đã nhận (đã báo)" in requests.get(outbox, timeout=10).text
