"""What staff may learn and for how long, on the emulator: the link between two tickets of one sender
never tells an agency officer who filed a confidential report; a role or agency change signs the
person out, so the console asks them to sign in again instead of acting on the old role."""
from __future__ import annotations

import gzip
import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt

from chalicelib.domain.messages import InboundMessage
from chalicelib.services import conversations, routing
from chalicelib.store import tickets
from tests.conftest import ROOT, bearer, unique_phone

FORM = "application/x-www-form-urlencoded"


def _sms(phone: str, text: str) -> list[str]:
    """The citizen texts the hotline; returns the codes of their tickets, newest first (each routed)."""
    conversations.receive(InboundMessage(channel="sms", provider="android_gateway",
                                         provider_message_id=uuid.uuid4().hex, sender=phone, text=text,
                                         received_at=datetime.now(timezone.utc), reply_via="android_gateway:phone-1"))
    codes = [t.tracking_code for t in tickets.by_phone(phone)]
    for code in codes:
        routing.route(code)
    return codes


def _page(client: Any, token: str, code: str) -> str:
    response = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={token}; hl_csrf=tok"})
    assert response.status_code == 200, response.body[:300]
    return response.body.decode()


def _api(client: Any, token: str, code: str) -> dict[str, Any]:
    response = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(token))
    assert response.status_code == 200
    return response.json_body


def test_the_link_to_the_senders_other_ticket_is_hidden_where_it_would_name_a_confidential_reporter(
        client: Any, staff: dict[str, str]) -> None:
    # Given a citizen who reported a pothole, then a theft (a confidential category: a new ticket linked to the first)
    first = "+84" + unique_phone()[1:]
    (pothole,) = _sms(first, "Đường Nguyễn Chí Thanh phường Tân Ninh có ổ gà rất lớn trước nhà số 120")
    theft, _ = _sms(first, "Có nhóm thanh niên trộm cắp xe máy ban đêm ở khu phố 2 phường Long Hoa")
    # and another who reported a theft first, then a pothole (linked to the theft)
    second = "+84" + unique_phone()[1:]
    (denounced,) = _sms(second, "Có nhóm thanh niên trộm cắp xe máy ban đêm ở khu phố 3 phường Long Hoa")
    signed, _ = _sms(second, "Đường Nguyễn Chí Thanh phường Tân Ninh có ổ gà rất lớn trước nhà số 98")
    assert tickets.get_ticket(theft).related_to == pothole and tickets.get_ticket(signed).related_to == denounced
    assert (tickets.get_ticket(theft).agency, tickets.get_ticket(signed).agency) == ("cong-an-tinh", "so-xay-dung")
    # The operator sees both links
    for code, other in ((theft, pothole), (signed, denounced)):
        assert 'id="related-to"' in _page(client, staff["operator"], code)
        assert _api(client, staff["operator"], code)["related_to"] == other
    # The police officer, on the theft (reporter hidden), gets no trace of the sender's pothole ticket;
    # the building officer, on the pothole (reporter shown), none of the sender's denunciation: no link,
    # no "Liên quan" line, the code masked in the acknowledgement, null in the API
    for token, code, other in ((staff["police_officer"], theft, pothole), (staff["officer"], signed, denounced)):
        page, shown = _page(client, token, code), _api(client, token, code)
        assert 'id="related-to"' not in page and other not in page and "Liên quan đến phản ánh" not in page
        assert shown["related_to"] is None and other not in json.dumps(shown, ensure_ascii=False)
        assert any("[đã ẩn]" in (e.get("text") or "") for e in shown["timeline"] if e["type"] == "message_out")


def _moto_key() -> Any:
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK(json.loads(gzip.decompress(path.read_bytes()))).key


def test_a_role_change_signs_the_person_out_so_the_old_role_lasts_at_most_fifteen_minutes(
        client: Any, staff: dict[str, str]) -> None:
    from chalicelib import identity
    from devstack.seed import DEMO_PASSWORD

    # Given an agency officer signed in to the console (ID token, refresh token)
    email = f"doiquyen-{uuid.uuid4().hex[:6]}@demo.1022.vn"
    temporary = identity.create_staff(email, "Cán bộ đổi quyền", "agency_officer", "so-xay-dung")
    challenge = identity.sign_in(email, temporary).new_password_session
    assert challenge
    session = identity.complete_new_password(email, challenge, DEMO_PASSWORD)
    assert session.id_token and session.refresh_token
    jar = f"hl_id={session.id_token}; hl_csrf=tok; hl_refresh={session.refresh_token}"
    assert client.http.get("/staff/inbox", headers={"Cookie": jar}).status_code == 200
    # When an admin makes them an operator
    changed = client.http.post("/staff/accounts", body=urlencode({
        "csrf": "a", "change": email, "role": "operator", "agency": ""}).encode(), headers={
        "Cookie": f"hl_id={staff['admin']}; hl_csrf=a", "Content-Type": FORM})
    assert changed.status_code == 303
    flash = next(c for c in changed.headers["Set-Cookie"] if c.startswith("hl_flash="))
    assert "15%20ph%C3%BAt" in flash  # "… chậm nhất sau 15 phút"
    # Then once their ID token runs out (15 minutes: the app client's setting) the console cannot renew it:
    # they are sent to sign in, every cookie cleared, instead of working on as an agency officer
    claims = jwt.decode(session.id_token, options={"verify_signature": False})
    now = int(time.time())
    expired = jwt.encode({**claims, "iat": now - 1200, "exp": now - 60}, _moto_key(), algorithm="RS256",
                         headers={"kid": "dummy"})
    response = client.http.get("/staff/inbox", headers={"Cookie": f"hl_id={expired}; hl_csrf=tok; "
                                                                  f"hl_refresh={session.refresh_token}"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/staff/sign-in")
    cleared = response.headers["Set-Cookie"]
    assert all("Max-Age=0" in cookie for cookie in cleared) and any(c.startswith("hl_refresh=") for c in cleared)
    # and their next sign-in carries the new role, without the agency
    again = identity.verify(identity.sign_in(email, DEMO_PASSWORD).id_token)
    assert again.roles == {"operator"} and again.agency is None
    # An ID token lives 15 minutes in the deployed pool (the emulator's always live an hour)
    resources = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))["Resources"]
    pool_client = resources["StaffUserPoolClient"]["Properties"]
    assert (pool_client["IdTokenValidity"], pool_client["TokenValidityUnits"]["IdToken"]) == (15, "minutes")
