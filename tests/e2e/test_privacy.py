"""Personal-data requests over real HTTP against `python -m devstack` (at / and under /api/): an admin
answers "what do you hold about 0912 345 678?" from the console — every ticket, every stored record,
a JSON and a CSV file to hand over — then "delete it": a confirmation step, the report, a ticket under
legal hold kept with its reason, and the audit trail that shows each look, export and erasure without
the number. The number never rides in a URL. Other roles are refused; the admin API does the same."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
import uuid
from html import unescape
from typing import Any

import pytest
import requests

from chalicelib.store.people import person_digest
from devstack.seed import DEMO_PASSWORD
from tests.conftest import unique_phone

pytestmark = pytest.mark.e2e

ADMIN, SUPERVISOR, OPERATOR = "quantri@demo.1022.vn", "giamsat@demo.1022.vn", "tongdai@demo.1022.vn"


class Staff:
    """A signed-in staff member talking to the console as a browser would (cookies, CSRF token) and to
    the JSON API with the same ID token as Bearer."""

    def __init__(self, base_url: str, email: str) -> None:
        answer = requests.post(f"{base_url}/staff/sign-in", data={"email": email, "password": DEMO_PASSWORD},
                               allow_redirects=False, timeout=10)
        assert answer.status_code == 303, answer.text
        self.base_url, self.jar = base_url, {c.name: c.value for c in answer.cookies}
        self.token, self.csrf = self.jar["hl_id"], self.jar["hl_csrf"]
        self.urls: list[str] = []

    def _cookie(self) -> dict[str, str]:
        # The cookies are Secure, so a client keeps them off plain http: send them as a browser on localhost does
        return {"Cookie": "; ".join(f"{name}={self.jar[name]}" for name in ("hl_id", "hl_csrf"))}

    def get(self, path: str) -> requests.Response:
        self.urls.append(self.base_url + path)
        return requests.get(self.base_url + path, headers=self._cookie(), allow_redirects=False, timeout=20)

    def post(self, path: str, **fields: str) -> requests.Response:
        self.urls.append(self.base_url + path)
        return requests.post(self.base_url + path, data={"csrf": self.csrf, **fields}, headers=self._cookie(),
                             allow_redirects=False, timeout=30)

    def api(self, method: str, path: str, body: Any = None) -> requests.Response:
        self.urls.append(self.base_url + path)
        return requests.request(method, self.base_url + path, json=body, timeout=30,
                                headers={"Authorization": f"Bearer {self.token}"})


def _report(base_url: str, **fields: Any) -> str:
    response = requests.post(base_url + "/api/v1/reports", json=fields, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["tracking_code"]


def _text(html: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _section(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:section|table|ul|p|form)>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return _text(match.group(1))


def _version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def _wait_routed(staff: Staff, code: str) -> str:
    """The ticket page once the in-process consumer has routed the ticket (its version then stays put)."""
    for _ in range(40):
        page = staff.get(f"/staff/tickets/{code}").text
        status = re.search(r'id="ticket-status">([^<]*)<', page)
        if status and status.group(1) != "Đã tiếp nhận":
            return page
        time.sleep(0.5)
    pytest.fail(f"{code} was never routed")


@pytest.fixture
def citizen(base_url: str) -> dict[str, Any]:
    """A citizen with two reports (one about the police, which a supervisor puts under legal hold)
    and someone else's report."""
    phone = unique_phone()
    spelled = f"+84 {phone[1:4]} {phone[4:7]} {phone[7:]}"
    name = "Trương Thị Bích Ngọc"
    first = _report(base_url, description=f"Cống thoát nước hẻm 12 bị tắc, tôi là {name}, gọi {phone} nhé.",
                    category="ngap-ung", area="tan-ninh", phone=phone, name=name, email="bichngoc.tn@example.vn",
                    address="Số 7 hẻm 12 đường 30/4", consent_publish=True)
    second = _report(base_url, description="Bị thu tiền ngoài quy định khi làm thủ tục tạm trú.",
                     category="thu-tuc-hanh-chinh", area="tan-ninh", phone=spelled, name=name)
    other = _report(base_url, description="Đèn đường khu phố 3 không sáng.", category="chieu-sang",
                    area="tan-ninh", phone=unique_phone(), name="Lâm Văn Tư")
    return {"phone": phone, "e164": "+84" + phone[1:], "name": name, "first": first, "second": second,
            "other": other}


def test_an_admin_answers_what_is_held_and_erases_it_keeping_a_ticket_under_legal_hold(
        base_url: str, citizen: dict[str, Any]) -> None:
    phone, name, first, second = citizen["phone"], citizen["name"], citizen["first"], citizen["second"]
    supervisor, admin = Staff(base_url, SUPERVISOR), Staff(base_url, ADMIN)
    # Given a supervisor keeps the second ticket's data for an inquiry
    page = _wait_routed(supervisor, second)
    refused = supervisor.post(f"/staff/tickets/{second}", action="legal_hold", reason="  ", version=_version(page))
    assert refused.status_code == 400 and 'id="legal_hold-reason-error"' in refused.text
    held = supervisor.post(f"/staff/tickets/{second}", action="legal_hold", version=_version(page),
                           reason="Thanh tra tỉnh đang xác minh, công văn 15/TTr")
    assert held.status_code == 303
    page = supervisor.get(f"/staff/tickets/{second}").text
    assert "Thanh tra tỉnh đang xác minh, công văn 15/TTr" in _section(page, "legal-hold-reason")
    assert 'id="hold-badge"' in page

    # When the admin looks the number up, spelled as the citizen says it
    form = admin.get("/staff/du-lieu-ca-nhan")
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    found = admin.post("/staff/du-lieu-ca-nhan", step="search", person=f"{phone[:4]} {phone[4:7]} {phone[7:]}")
    # Then every ticket is there with the person's role, the held one with its reason, and what is stored
    assert found.status_code == 200 and found.headers["Cache-Control"] == "no-store"
    assert citizen["e164"] in _section(found.text, "held-title")
    tickets = _section(found.text, "held-tickets")
    assert first in tickets and second in tickets and citizen["other"] not in tickets
    assert "người phản ánh" in tickets and "Thanh tra tỉnh đang xác minh" in tickets
    records = _section(found.text, "records")
    assert name in records and "bichngoc.tn@example.vn" in records and "Số 7 hẻm 12 đường 30/4" in records
    assert "Cống thoát nước hẻm 12 bị tắc" in records

    # The CSV for Excel and the JSON file are downloads named without the number
    exported = admin.post("/staff/du-lieu-ca-nhan", step="export", format="csv", person=citizen["e164"])
    assert exported.status_code == 200 and exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = exported.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="du-lieu-ca-nhan-[0-9a-f]{12}-\d{8}\.csv"', disposition)
    assert exported.content.startswith(b"\xef\xbb\xbf") and exported.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"), newline="")))
    assert rows[0][0] == "Phản ánh" and {first, second} <= {row[0] for row in rows[1:]}
    assert name in {row[6] for row in rows[1:]}
    as_json = admin.post("/staff/du-lieu-ca-nhan", step="export", format="json", person=phone)
    document = as_json.json()
    assert as_json.headers["Content-Disposition"].endswith('.json"')
    assert document["subject"] == {"kind": "phone", "value": citizen["e164"]}
    assert {t["code"] for t in document["tickets"]} == {first, second}
    assert any(name in json.dumps(r["fields"], ensure_ascii=False) for r in document["records"])

    # "Delete it": the request is refused without an approver, and the admin cannot approve their own
    unapproved = admin.post("/staff/du-lieu-ca-nhan", step="review", person=citizen["e164"],
                            requester="Chính chủ, đơn ngày 28/11/2026", reason="Yêu cầu xoá dữ liệu cá nhân")
    assert unapproved.status_code == 400 and _section(unapproved.text, "approver-error").startswith("Cần ghi")
    self_approved = admin.post("/staff/du-lieu-ca-nhan", step="review", person=citizen["e164"], approver=ADMIN,
                               requester="Chính chủ", reason="Yêu cầu xoá dữ liệu cá nhân")
    assert self_approved.status_code == 400 and "người khác" in _section(self_approved.text, "approver-error")
    request = {"person": citizen["e164"], "requester": "Chính chủ, đơn ngày 28/11/2026",
               "reason": "Yêu cầu xoá dữ liệu cá nhân", "approver": "Nguyễn Văn Phúc, Chánh Văn phòng"}
    review = admin.post("/staff/du-lieu-ca-nhan", step="review", **request)
    assert review.status_code == 200
    summary = _section(review.text, "review-list")
    assert first in summary and second in summary and "Thanh tra tỉnh đang xác minh" in summary
    # nothing happens until the box is ticked
    unconfirmed = admin.post("/staff/du-lieu-ca-nhan", step="erase", **request)
    assert unconfirmed.status_code == 400 and 'id="confirm-error"' in unconfirmed.text
    assert name in admin.get(f"/staff/tickets/{first}").text
    report = admin.post("/staff/du-lieu-ca-nhan", step="erase", confirm="1", **request)
    assert report.status_code == 200
    assert first in _section(report.text, "report-anonymised")
    assert second not in _section(report.text, "report-anonymised")
    kept = _section(report.text, "report-kept")
    assert second in kept and "Thanh tra tỉnh đang xác minh" in kept

    # The erased ticket keeps its facts without the person; the held one keeps everything
    erased = admin.get(f"/staff/tickets/{first}").text
    assert 'id="anonymised"' in erased and name not in erased and phone[-6:] not in erased
    assert "bichngoc.tn@example.vn" not in erased and "Số 7 hẻm 12" not in erased
    assert "Ngập úng, thoát nước" in _text(erased)  # its facts still count
    assert name in admin.get(f"/staff/tickets/{second}").text
    again = admin.post("/staff/du-lieu-ca-nhan", step="search", person=phone)
    assert name in _section(again.text, "records")  # only what the legal hold keeps
    assert "bichngoc.tn@example.vn" not in again.text and "Số 7 hẻm 12" not in again.text

    # The audit trail shows each look, export and erasure — never the number, the name, nor a digest of either
    trail = admin.get("/staff/nhat-ky")
    assert trail.status_code == 200
    entries = _section(trail.text, "audit")
    for label in ("Tra cứu dữ liệu cá nhân", "Xuất dữ liệu cá nhân"):
        assert label in entries
    assert "Chính chủ, đơn ngày 28/11/2026" in entries and "Nguyễn Văn Phúc, Chánh Văn phòng" in entries
    assert phone[1:] not in trail.text and name not in trail.text
    for digest in (person_digest(citizen["e164"]), hashlib.sha256(citizen["e164"].encode()).hexdigest()):
        assert digest[:12] not in trail.text and digest[:12] not in disposition
    # and no URL of the whole conversation carried the number
    for url in admin.urls + supervisor.urls:
        assert phone[1:] not in url


def test_only_admins_reach_personal_data_and_only_supervisors_and_admins_hold_a_ticket(
        base_url: str, citizen: dict[str, Any]) -> None:
    operator, admin = Staff(base_url, OPERATOR), Staff(base_url, ADMIN)
    for response in (operator.get("/staff/du-lieu-ca-nhan"), operator.get("/staff/nhat-ky"),
                     operator.post("/staff/du-lieu-ca-nhan", step="search", person=citizen["phone"]),
                     operator.post("/staff/du-lieu-ca-nhan", step="export", format="csv", person=citizen["phone"])):
        assert response.status_code == 403 and citizen["name"] not in response.text
    inbox = operator.get("/staff/inbox").text
    assert "/staff/du-lieu-ca-nhan" not in inbox and "/staff/nhat-ky" not in inbox
    assert "/staff/du-lieu-ca-nhan" in admin.get("/staff/inbox").text
    page = _wait_routed(operator, citizen["first"])
    assert 'id="legal-hold"' not in page
    refused = operator.post(f"/staff/tickets/{citizen['first']}", action="legal_hold", reason="thử",
                            version=_version(page))
    assert refused.status_code == 403
    assert 'id="hold-badge"' not in operator.get(f"/staff/tickets/{citizen['first']}").text
    # a form from another site, or without the session's token, is refused
    forged = requests.post(base_url + "/staff/du-lieu-ca-nhan", data={"step": "search", "person": citizen["phone"],
                                                                      "csrf": "forged"},
                           headers=admin._cookie(), allow_redirects=False, timeout=10)
    assert forged.status_code == 403 and citizen["name"] not in forged.text
    # a bad number is said so, and a bad month of the audit trail too
    bad = admin.post("/staff/du-lieu-ca-nhan", step="search", person="12345")
    assert bad.status_code == 400 and 'class="error"' in bad.text
    assert admin.get("/staff/nhat-ky?month=2026-13").status_code == 400
    # the API: no token 401, a non-admin 403
    assert requests.post(base_url + "/api/v1/admin/people/search", json={"person": citizen["phone"]},
                         timeout=10).status_code == 401
    denied = operator.api("POST", "/api/v1/admin/people/search", {"person": citizen["phone"]})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert operator.api("PUT", f"/api/v1/staff/tickets/{citizen['first']}/legal-hold",
                        {"reason": "thử"}).status_code == 403


def test_the_admin_api_searches_exports_and_erases_with_the_person_in_the_body(
        base_url: str, citizen: dict[str, Any]) -> None:
    admin, supervisor = Staff(base_url, ADMIN), Staff(base_url, SUPERVISOR)
    _wait_routed(admin, citizen["second"])
    hold = supervisor.api("PUT", f"/api/v1/staff/tickets/{citizen['second']}/legal-hold",
                          {"reason": "Công an tỉnh đề nghị giữ hồ sơ"})
    assert hold.status_code == 200 and hold.json()["legal_hold"] == "Công an tỉnh đề nghị giữ hồ sơ"
    found = admin.api("POST", "/api/v1/admin/people/search", {"person": citizen["phone"]})
    assert found.status_code == 200 and found.headers["Cache-Control"] == "no-store"
    body = found.json()
    assert body["subject"] == {"kind": "phone", "value": citizen["e164"]}
    roles = {t["code"]: (t["role"], t["kept_because"]) for t in body["tickets"]}
    assert roles[citizen["first"]] == ("reporter", None)
    assert "Công an tỉnh đề nghị giữ hồ sơ" in roles[citizen["second"]][1]
    csv_file = admin.api("POST", "/api/v1/admin/people/export?format=csv", {"person": citizen["phone"]})
    assert csv_file.status_code == 200 and csv_file.content.startswith(b"\xef\xbb\xbf")
    assert csv_file.headers["Content-Disposition"].startswith("attachment; ")
    assert citizen["phone"][1:] not in csv_file.headers["Content-Disposition"]
    wrong = admin.api("POST", "/api/v1/admin/people/export?format=xlsx", {"person": citizen["phone"]})
    assert wrong.status_code == 400 and "format" in wrong.json()["error"]["fields"]
    incomplete = admin.api("POST", "/api/v1/admin/people/erase", {"person": citizen["phone"], "reason": "x"})
    assert incomplete.status_code == 400
    assert {"requester", "approver"} <= set(incomplete.json()["error"]["fields"])
    erased = admin.api("POST", "/api/v1/admin/people/erase", {
        "person": citizen["phone"], "requester": "Chính chủ", "reason": "Đơn yêu cầu xoá",
        "approver": "Nguyễn Văn Phúc"})
    assert erased.status_code == 200
    report = erased.json()
    assert report["anonymised"] == [citizen["first"]]
    assert [k["tracking_code"] for k in report["kept"]] == [citizen["second"]]
    assert report["remaining"] == 0  # nothing left for a second call
    # erasing twice changes nothing more
    twice = admin.api("POST", "/api/v1/admin/people/erase", {
        "person": citizen["phone"], "requester": "Chính chủ", "reason": "Đơn yêu cầu xoá",
        "approver": "Nguyễn Văn Phúc"}).json()
    assert twice["anonymised"] in ([], [citizen["first"]]) and twice["kept"] == report["kept"]
    # lifting the hold: the ticket follows the retention schedule again
    lifted = supervisor.api("DELETE", f"/api/v1/staff/tickets/{citizen['second']}/legal-hold")
    assert lifted.status_code == 200 and lifted.json()["legal_hold"] is None
    assert 'id="legal-hold-reason"' not in admin.get(f"/staff/tickets/{citizen['second']}").text


def _search_until_held(admin: Any, person: str) -> Any:
    """The personal-data search for `person`, repeated until a ticket shows (the inbound consumer makes it
    within seconds of the webhook)."""
    for _ in range(40):
        found = admin.post("/staff/du-lieu-ca-nhan", step="search", person=person)
        if 'id="held-tickets"' in found.text:
            break
        time.sleep(0.5)
    return found


def test_a_zalo_user_is_found_by_their_zalo_id_and_erased(base_url: str) -> None:
    from chalicelib.channels.zalo import signature
    from devstack.fakes import LOCAL_SECRETS as S

    # Given a citizen reports on Zalo
    zalo_user = "8" + uuid.uuid4().hex[:17]
    stamp = str(int(time.time() * 1000))
    body = json.dumps({"app_id": S["zalo_app_id"], "event_name": "user_send_text", "timestamp": stamp,
                       "sender": {"id": zalo_user}, "recipient": {"id": "388613280878808645"},
                       "message": {"msg_id": uuid.uuid4().hex,
                                   "text": "Cây xanh gãy đổ chắn ngang đường Hoàng Lê Kha, tôi là Phan Thị Mỹ Duyên"}},
                      ensure_ascii=False).encode()
    mac = signature(S["zalo_app_id"], body, stamp, S["zalo_oa_secret_key"])
    assert requests.post(base_url + "/webhooks/zalo", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"}).status_code == 200
    admin = Staff(base_url, ADMIN)
    # When the admin looks the Zalo id up (the inbound consumer makes the ticket within seconds)
    found = _search_until_held(admin, zalo_user)
    # Then the ticket is there, as the Zalo account's
    assert "tài khoản Zalo" in _section(found.text, "held-title") and zalo_user in _section(found.text, "held-title")
    assert "Cây xanh gãy đổ" in _section(found.text, "records")
    code = re.search(r'id="held-tickets".*?class="code"[^>]*>([^<]+)<', found.text, re.S).group(1)
    exported = admin.post("/staff/du-lieu-ca-nhan", step="export", format="json", person=zalo_user).json()
    assert exported["subject"] == {"kind": "zalo", "value": zalo_user}
    # and erasing it leaves the ticket, its facts and redacted text, without the account
    # (with the name the person wrote in their message, which no field of the ticket holds)
    report = admin.api("POST", "/api/v1/admin/people/erase", {
        "person": zalo_user, "requester": "Chính chủ", "reason": "Yêu cầu xoá", "approver": "Nguyễn Văn Phúc",
        "names": ["Phan Thị Mỹ Duyên"]})
    assert report.status_code == 200 and report.json()["anonymised"] == [code]
    ticket = admin.get(f"/staff/tickets/{code}").text
    assert zalo_user not in ticket and "Cây xanh gãy đổ" in ticket and 'id="anonymised"' in ticket
    assert "Mỹ Duyên" not in ticket


def test_the_names_an_sms_reporter_gives_the_admin_are_masked_in_what_they_wrote(base_url: str) -> None:
    from chalicelib.channels import android_gateway
    from devstack.fakes import LOCAL_SECRETS as S

    # Given a citizen reports by SMS and signs with her name: no field of the ticket knows it
    phone, name = unique_phone(), "Đặng Thị Kim Liên"
    text = f"Rác tồn đọng ở cổng chợ Tân Ninh ba ngày chưa ai thu. Tôi là {name}, chị Liên bán rau ở cổng chợ."
    body = json.dumps({"deviceId": "phone-1", "event": "sms:received", "id": uuid.uuid4().hex, "webhookId": "w",
                       "payload": {"messageId": "m1", "message": text, "phoneNumber": phone, "simNumber": 1,
                                   "receivedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000+07:00")}},
                      ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    sent = requests.post(base_url + "/webhooks/sms/android-gateway", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Timestamp": stamp,
        "X-Signature": android_gateway.signature(body, stamp, S["android_gateway_signing_key"])})
    assert sent.status_code == 200, sent.text
    admin = Staff(base_url, ADMIN)
    found = _search_until_held(admin, phone)
    assert name in _section(found.text, "records")
    code = re.search(r'id="held-tickets".*?class="code"[^>]*>([^<]+)<', found.text, re.S).group(1)
    # When the admin erases it, giving the names she uses (the form takes several, comma-separated)
    request = {"person": "+84" + phone[1:], "requester": "Chính chủ, đơn ngày 30/11/2026",
               "reason": "Yêu cầu xoá dữ liệu cá nhân", "approver": "Nguyễn Văn Phúc, Chánh Văn phòng",
               "names": f"{name}, chị Liên"}
    review = admin.post("/staff/du-lieu-ca-nhan", step="review", **request)
    assert review.status_code == 200 and _section(review.text, "review-names").strip() == f"{name}, chị Liên"
    too_short = admin.post("/staff/du-lieu-ca-nhan", step="review", **{**request, "names": "L"})
    assert too_short.status_code == 400 and 'id="names-error"' in too_short.text
    report = admin.post("/staff/du-lieu-ca-nhan", step="erase", confirm="1", **request)
    assert report.status_code == 200 and code in _section(report.text, "report-anonymised")
    # Then her name is gone from what she wrote; what the report is about stays
    ticket = _text(admin.get(f"/staff/tickets/{code}").text)
    assert "Rác tồn đọng ở cổng chợ Tân Ninh" in ticket and 'anonymised' in admin.get(f"/staff/tickets/{code}").text
    for said in ("Kim Liên", "Đặng Thị", "chị Liên", phone[-6:]):
        assert said not in ticket, said
    # and the names were used, not kept: the audit trail has the request, not them
    trail = admin.get("/staff/nhat-ky").text
    assert "Chính chủ, đơn ngày 30/11/2026" in trail and "Kim Liên" not in trail
