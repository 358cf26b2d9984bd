"""Where a personal status link's token is kept, and how a reporter with an e-mail address keeps it.

The token exists in clear only in what the reporter receives: the confirmation page, the API's
first answer, the message a provider or SES was handed. Staff (the ticket page, the staff API's
timeline) never see it, the stored text of a sent message has it masked, and the Powertools
idempotency record of an API receipt never holds it (a retry gets a fresh link to the same
ticket). A reporter who gave an e-mail address gets the link by e-mail, through the notifications
consumer and SES, as every outbound message goes."""
from __future__ import annotations

import json
import re
import uuid
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.config import settings
from chalicelib.domain.permissions import user_from_claims
from chalicelib.store import outbound
from tests.conftest import unique_phone
from tests.integration.test_channels import pump

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}
SITE = "https://1022.tayninh.gov.vn"
LINK = re.compile(r"/s/([A-Za-z0-9_-]{22})")


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The site's public address is configured (PUBLIC_BASE_URL), as on AWS and in `make run`."""
    monkeypatch.setenv("PUBLIC_BASE_URL", SITE)
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


def _emails_to(address: str) -> list[Any]:
    """What SES (the emulator, in this process) was handed for `address`."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sent_messages
            if address in m.destinations.get("ToAddresses", [])]


def _staff_sees(client: Any, staff: dict[str, str], code: str) -> str:
    """The staff ticket page and the staff API's ticket (its timeline with every outbound text), as an operator."""
    page = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"})
    api = client.http.get(f"/api/v1/staff/tickets/{code}", headers={"Authorization": f"Bearer {staff['operator']}"})
    assert page.status_code == api.status_code == 200
    return page.body.decode() + json.dumps(api.json_body, ensure_ascii=False)


def test_a_web_reporter_gets_the_link_by_e_mail_and_staff_never_see_it(client: Any, staff: dict[str, str],
                                                                       site: None) -> None:
    # Given a citizen who reports on the web form and leaves an e-mail address
    address = f"nguoidan-{uuid.uuid4().hex[:8]}@gmail.com"
    page = client.http.post("/", headers=FORM, body=urlencode({
        "description": "Cột điện nghiêng sắp đổ ở hẻm 7 đường Trưng Nữ Vương", "email": address,
        "phone": unique_phone(), "confirm_new": "1"}).encode()).body.decode()
    token = LINK.search(page).group(1)
    code = re.search(r'id="tracking-code">([^<]+)<', page).group(1)
    assert 'id="status-link-emailed"' in page
    # While the acknowledgement e-mail waits to be sent, staff see it with the token masked
    (waiting,) = [m for m in outbound.of_ticket(code) if m.kind == "ack"]
    assert waiting.channel == "email" and waiting.state == "pending"
    seen = _staff_sees(client, staff, code)
    assert token not in seen and "/s/******" in seen
    # When the notifications consumer sends it
    pump()
    # Then the citizen's mailbox has the code and the whole link, and the link opens the ticket
    (mail,) = _emails_to(address)
    assert code in mail.subject and f"{SITE}/s/{token}" in mail.body
    assert f'id="tracking-code">{code}<' in client.http.get(f"/s/{token}").body.decode()
    # ... while the kept copy of what was sent has the token masked, and staff still never see it
    (sent,) = [m for m in outbound.of_ticket(code) if m.kind == "ack"]
    assert sent.state == "sent" and token not in sent.text and f"{SITE}/s/******" in sent.text
    assert token not in _staff_sees(client, staff, code)


def test_an_e_mail_only_open311_reporter_gets_the_link_by_e_mail(client: Any, staff: dict[str, str],
                                                                 site: None) -> None:
    from chalicelib.services import open311

    admin = user_from_claims({"sub": "s", "email": "quantri@demo.1022.vn", "cognito:groups": ["admin"]})
    key = open311.add_integrator(admin, f"Ứng dụng thử {uuid.uuid4().hex[:6]}")["api_key"]
    # Given a report through an integrator's app, with an e-mail address and no phone
    address = f"chi-{uuid.uuid4().hex[:8]}@example.vn"
    created = client.http.post("/open311/v2/requests.json", headers=FORM, body=urlencode({
        "api_key": key, "service_code": "chieu-sang", "address_string": "Hẻm 3 đường 30/4",
        "description": "Đèn đường tắt cả tháng nay", "email": address}).encode())
    assert created.status_code == 200, created.body
    code = created.json_body[0]["service_request_id"]
    pump()
    # Then the acknowledgement e-mail carries the reporter's link (they have no phone digits for /tra-cuu),
    # and says the answer will come to that address
    (mail,) = _emails_to(address)
    token = LINK.search(mail.body).group(1)
    assert "gửi thư đến địa chỉ này" in mail.body
    assert f'id="tracking-code">{code}<' in client.http.get(f"/s/{token}").body.decode()


def test_the_idempotency_record_holds_no_token_and_a_retry_gets_a_fresh_link(client: Any, stack: Any) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    # Given an app that sends a report with an Idempotency-Key, then again (its answer was lost)
    body = json.dumps({"description": "Cống thoát nước bị nghẹt ở chợ Long Hoa", "phone": unique_phone()}).encode()
    headers = {**JSON_TYPE, "Idempotency-Key": f"keep-{uuid.uuid4().hex}"}
    first = client.http.post("/api/v1/reports", headers=headers, body=body)
    again = client.http.post("/api/v1/reports", headers=headers, body=body)
    assert first.status_code == again.status_code == 201
    # Then both answers are the same ticket, each with a link of its own that opens it
    assert first.json_body["tracking_code"] == again.json_body["tracking_code"]
    tokens = [LINK.search(answer.json_body["status_url"]).group(1) for answer in (first, again)]
    assert tokens[0] != tokens[1]
    for token in tokens:
        assert f'id="tracking-code">{first.json_body["tracking_code"]}<' in client.http.get(f"/s/{token}").body.decode()
    # ... and the idempotency table (which keeps receipts 24 hours) holds neither token
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].tables[settings().idempotency_table]
    stored = json.dumps([item.to_json() for item in table.all_items()])
    assert first.json_body["tracking_code"] in stored
    assert not any(token in stored for token in tokens) and "/s/" not in stored
