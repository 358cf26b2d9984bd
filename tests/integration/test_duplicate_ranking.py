"""Duplicates ranked by place and words, on the emulator: the staff ticket page offers the open
tickets this one may duplicate (same category and commune, ranked by text and distance, another
place left out) with a one-click fill of the merge form; an agency officer is offered only their
agency's; the JSON API ranks its suggestions by distance when given a position; and the citizen's
suggestions page, shown again after a failed follow, is still ranked by the report's position."""
from __future__ import annotations

import json
import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

from chalicelib.domain.permissions import user_from_claims
from chalicelib.services.duplicates import merge_candidates
from chalicelib.store import tickets
from tests.conftest import bearer, unique_phone
from tests.integration.test_channels import pump

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}
PLACE = {"category": "ngap-ung", "area": "ben-cau"}
HERE = (11.1201, 106.2101)           # where the new report is
NEAR = (11.1205, 106.2104)           # ~55 m away
FAR = (11.1420, 106.2350)            # ~3.6 km away: another place
FLOOD = "Nước ngập sâu trước cổng trường tiểu học, xe máy chết máy"


def _report(client: Any, description: str, at: tuple[float, float] | None, place: dict[str, str] = PLACE) -> str:
    body = {"description": description, "phone": unique_phone(), **place,
            **({"lat": at[0], "lon": at[1]} if at else {})}
    created = client.http.post("/api/v1/reports", headers=JSON_TYPE, body=json.dumps(body, ensure_ascii=False).encode())
    assert created.status_code == 201, created.body
    return created.json_body["tracking_code"]


def _offered(html: str) -> list[str]:
    block = re.search(r'<div id="merge-candidates">(.*?)</div>', html, re.S)
    return re.findall(r'data-merge-code="([^"]+)"', block.group(1)) if block else []


def test_the_ticket_page_offers_ranked_merge_candidates(client: Any, staff: dict[str, str]) -> None:
    # Given open flood reports of one commune: the same matter nearby, the same words 3.6 km away, and
    # the same matter nearby that the hotline moved to the ward
    near = _report(client, FLOOD + " từ sáng", NEAR)
    far = _report(client, FLOOD, FAR)
    moved = _report(client, "Ngập trước cổng trường tiểu học sau cơn mưa", NEAR)
    this = _report(client, FLOOD + ", nhờ xử lý gấp", HERE)
    pump()
    version = client.http.get(f"/api/v1/staff/tickets/{moved}", headers=bearer(staff["operator"])).json_body["version"]
    assert client.http.post(f"/api/v1/staff/tickets/{moved}/actions/assign", headers=bearer(
        staff["operator"], **JSON_TYPE), body=json.dumps({"version": version, "agency": "ubnd-ben-cau"}).encode()
    ).status_code == 200
    # When an operator opens the newest one
    page = client.http.get(f"/staff/tickets/{this}", headers={"Cookie": f"hl_id={staff['operator']}"})
    html = unescape(page.body.decode())
    # Then the merge form offers the nearby ones, the closest in words first, never the far one nor itself
    offered = _offered(html)
    assert offered[:2] == [near, moved] and far not in offered and this not in offered
    assert "cách " in html and f'?merge_into={near}#merge-into' in html
    # ... and "Chọn để gộp" without JavaScript opens the page with the merge form filled in, nothing merged
    chosen = client.http.get(f"/staff/tickets/{this}?merge_into={near}", headers={"Cookie": f"hl_id={staff['operator']}"})
    assert re.search(rf'id="merge-into" name="merged_into" value="{near}"', chosen.body.decode())
    assert tickets.get_ticket(this).status != "merged"
    # An agency officer of the department is offered only the department's tickets (not the ward's)
    officer = user_from_claims({"sub": "o", "email": "soxaydung@demo.1022.vn", "cognito:groups": ["agency_officer"],
                                "custom:agency": "so-xay-dung"})
    mine = [c["code"] for c in merge_candidates(officer, tickets.get_ticket(this))]
    assert near in mine and moved not in mine


def test_the_api_ranks_by_distance_and_a_failed_follow_keeps_the_ranking(client: Any, stack: Any) -> None:
    # Given two open reports of another commune with the same words, one nearby, one 3.6 km away
    place = {"category": "ngap-ung", "area": "go-dau"}
    near = _report(client, "Đường ngập nước sau mưa lớn", NEAR, place)
    far = _report(client, "Đường ngập nước sau mưa lớn", FAR, place)
    # The JSON API, given the new report's position: the nearby one first, the far one left out
    query = urlencode({**place, "lat": HERE[0], "lon": HERE[1]})
    listed = [t["code"] for t in client.http.get(f"/api/v1/reports/similar?{query}").json_body["tickets"]]
    assert listed[0] == near and far not in listed
    # ... a position that is no position is a clear 400, in Vietnamese and English
    bad = client.http.get("/api/v1/reports/similar?" + urlencode({**place, "lat": "91", "lon": "106"}))
    assert bad.status_code == 400 and bad.json_body["error"]["message"] and bad.json_body["error"]["message_en"]
    # When a citizen with the same words and a position tries to follow with a number that is no number
    carried = {"description": "Đường ngập nước sau mưa lớn", **place, "lat": str(HERE[0]), "lon": str(HERE[1]),
               "phone": "12"}
    page = client.http.post("/theo-doi", headers=FORM, body=urlencode({**carried, "code": near}).encode())
    # Then the suggestions shown again are still ranked by where the report is: the far one is not offered
    offered = re.findall(r'<h2 id="similar-\d+"><span class="code">([^<]+)</span>', page.body.decode())
    assert page.status_code == 400 and 'id="follow-error"' in page.body.decode()
    assert offered[0] == near and far not in offered
