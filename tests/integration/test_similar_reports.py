"""The form's duplicate suggestions, on the emulator: among the open reports of the same category in
the same commune, the one about the same alley is offered first and one about another street is not."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake
from chalicelib.store.reference import load_reference
from tests.conftest import unique_phone

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _open_report(description: str) -> str:
    fields = {"description": description, "phone": unique_phone(), "category": "chieu-sang", "area": "can-duoc"}
    return intake.submit(validate_submission(fields, load_reference()))["tracking_code"]


def test_the_form_offers_the_same_alley_first_and_never_another_street(client: Any, stack: Any) -> None:
    # Given open street-light reports of one commune: one about another street, then one about alley 12
    other_street = _open_report("Đèn đường Nguyễn Trãi không sáng, đoạn trước chợ Cần Đước")
    same_alley = _open_report("Hẻm 12 đường Trưng Nữ Vương mất đèn, bóng đèn hư từ tuần trước")
    # When a citizen sends the form about alley 12
    page = client.http.post("/", headers=FORM, body=urlencode({
        "description": "Đèn đường hẻm 12 Trưng Nữ Vương tắt mấy hôm nay, tối om", "phone": unique_phone(),
        "category": "chieu-sang", "area": "can-duoc"}).encode()).body.decode()
    # Then the report about the same alley is offered first, the other street's is not offered
    offered = re.findall(r'<h2 id="similar-\d+"><span class="code">([^<]+)</span>', page)
    assert offered[0] == same_alley and other_street not in offered
    # ... and the JSON API, which has no text to compare (text never goes in a URL), lists both, newest first
    listed = [t["code"] for t in client.http.get("/api/v1/reports/similar?category=chieu-sang&area=can-duoc")
              .json_body["tickets"]]
    assert listed.index(same_alley) < listed.index(other_street)
