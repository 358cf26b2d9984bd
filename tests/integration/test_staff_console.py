"""The staff console's use cases through its JSON API and pages, per role, on the emulator:
inbox and filters, permissions (every forbidden case), the actions, concurrency, audit, phone
intake with caller history, response templates, and escaping of citizen text."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake, routing
from chalicelib.store import outbound, tickets
from chalicelib.store.reference import load_reference
from tests.conftest import bearer, unique_phone
from tests.integration.test_channels import pump

JSON_TYPE = {"Content-Type": "application/json"}


def _report(description: str, category: str | None = None, area: str | None = None, phone: str | None = None,
            name: str = "") -> str:
    """A citizen's web report, routed; returns its code."""
    fields = {"description": description, "phone": phone or unique_phone(), "name": name}
    if category:
        fields["category"] = category
    if area:
        fields["area"] = area
    code = intake.submit(validate_submission(fields, load_reference()))["tracking_code"]
    routing.route(code)
    return code


def _get(client: Any, token: str, path: str) -> Any:
    return client.http.get(path, headers=bearer(token))


def _callers(client: Any, token: str, phone: str) -> Any:
    """A caller's history by the staff API: the phone in the body, never in the URL."""
    return client.http.post("/api/v1/staff/callers", headers=bearer(token, **JSON_TYPE),
                            body=json.dumps({"phone": phone}).encode())


def _view(client: Any, token: str, code: str) -> dict[str, Any]:
    response = _get(client, token, f"/api/v1/staff/tickets/{code}")
    assert response.status_code == 200, response.body
    return response.json_body


def _act(client: Any, token: str, code: str, action: str, version: int | None = None, **fields: Any) -> Any:
    if version is None:
        version = _view(client, token, code)["version"]
    return client.http.post(f"/api/v1/staff/tickets/{code}/actions/{action}", headers=bearer(token, **JSON_TYPE),
                            body=json.dumps({"version": version, **fields}, ensure_ascii=False).encode())


def _listed(client: Any, token: str, query: str = "") -> list[dict[str, Any]]:
    """Every row of an inbox view, following its pages (other tests' tickets share the table)."""
    rows: list[dict[str, Any]] = []
    after = ""
    for _ in range(200):
        page = _get(client, token, "/api/v1/staff/tickets?" + query + (f"&after={after}" if after else "")).json_body
        rows += page["tickets"]
        after = page.get("next") or ""
        if not after:
            return rows
    raise AssertionError("the inbox kept offering more pages")


def _kinds(view: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in view["timeline"] if e["type"] == "event"]


# Inbox


def test_the_inbox_filters_by_status_category_agency_channel_and_due_dates(client: Any, staff: dict[str, str]) -> None:
    flood = _report("Ngập sâu đường Trần Hưng Đạo phường Tân Ninh sau mưa", "ngap-ung", "tan-ninh")
    light = _report("Đèn đường hẻm tối om ở phường Long Hoa", "chieu-sang", "long-hoa")
    op = staff["operator"]
    by_category = _listed(client, op, "category=ngap-ung")
    assert flood in [t["code"] for t in by_category] and light not in [t["code"] for t in by_category]
    by_agency = _listed(client, op, "agency=ubnd-long-hoa")
    assert light in [t["code"] for t in by_agency] and flood not in [t["code"] for t in by_agency]
    assigned = _listed(client, op, "status=assigned&channel=web")
    assert {flood, light} <= {t["code"] for t in assigned}
    zalo = _get(client, op, "/api/v1/staff/tickets?channel=zalo").json_body["tickets"]
    assert flood not in [t["code"] for t in zalo] and all(t["channel"] == "zalo" for t in zalo)
    # Nothing routed today is due today or overdue (the shortest allowed time is days).
    overdue = _listed(client, op, "view=overdue")
    assert flood not in [t["code"] for t in overdue]
    row = next(t for t in by_category if t["code"] == flood)
    assert row["status_label"] == "Đã chuyển cơ quan xử lý" and row["agency"] == "Sở Xây dựng"
    assert "phone" not in json.dumps(row) and "reporter" not in row  # no reporter identity in lists
    bad = _get(client, op, "/api/v1/staff/tickets?status=lost&view=soon")
    assert bad.status_code == 400 and set(bad.json_body["error"]["fields"]) == {"status", "view"}


def test_overdue_and_due_today_views_follow_the_deadline(client: Any, staff: dict[str, str]) -> None:
    code = _report("Cột điện nghiêng sắp đổ xã Tân Biên", "dien-nuoc", "tan-bien")
    ticket = tickets.get_ticket(code)
    now = datetime.now(timezone.utc)
    tickets.update(ticket, tickets.NewEvent("test_setup", "test", now), now, {"due_at": now - timedelta(minutes=5)})
    op = staff["operator"]
    overdue = _listed(client, op, "view=overdue")
    assert code in [t["code"] for t in overdue]
    row = next(t for t in overdue if t["code"] == code)
    assert row["overdue"] is True
    end_of_day = datetime.combine(now.astimezone(VN_TZ).date(), datetime.max.time(), VN_TZ) - timedelta(minutes=1)
    ticket = tickets.get_ticket(code)
    tickets.update(ticket, tickets.NewEvent("test_setup", "test", now), now, {"due_at": max(end_of_day, now)})
    today = [t["code"] for t in _listed(client, op, "view=due_today")]
    assert code in today
    assert code not in [t["code"] for t in _listed(client, op, "view=overdue")]


def test_the_inbox_pages_with_an_opaque_cursor(client: Any, staff: dict[str, str]) -> None:
    codes = {_report(f"Rác thải ven đường xã Thủ Thừa, điểm số {i}", "moi-truong", "thu-thua") for i in range(27)}
    op = staff["operator"]
    first = _get(client, op, "/api/v1/staff/tickets?agency=ubnd-thu-thua&category=moi-truong").json_body
    assert len(first["tickets"]) == 25 and first["next"]
    second = _get(client, op, "/api/v1/staff/tickets?" + urlencode(
        {"agency": "ubnd-thu-thua", "category": "moi-truong", "after": first["next"]})).json_body
    seen = [t["code"] for t in first["tickets"] + second["tickets"]]
    assert codes <= set(seen) and len(seen) == len(set(seen))
    tampered = _get(client, op, "/api/v1/staff/tickets?after=bm90LWpzb24")
    assert tampered.status_code == 400 and "after" in tampered.json_body["error"]["fields"]
    import base64

    for shape in ({"pk": "x"}, {"a": {"S": "x"}}, {"pk": {"N": "1"}}, []):
        cursor = base64.urlsafe_b64encode(json.dumps(shape).encode()).decode()
        assert _get(client, op, f"/api/v1/staff/tickets?after={cursor}").status_code == 400


def test_search_by_code_and_by_phone(client: Any, staff: dict[str, str]) -> None:
    phone = unique_phone()
    first = _report("Hỏi về chế độ trợ cấp người cao tuổi", "an-sinh", "tan-an", phone=phone)
    second = _report("Hỏi tiếp về hồ sơ trợ cấp người cao tuổi", "an-sinh", "tan-an", phone=phone)
    op = staff["operator"]
    assert _get(client, op, f"/api/v1/staff/tickets?q={first.lower()}").json_body == {"code": first}
    assert _get(client, op, "/api/v1/staff/tickets?q=TN-ZZZZZZ").status_code == 404
    # A phone is never taken from a URL (access logs keep URLs): the search answers how to ask instead
    in_url = _get(client, op, f"/api/v1/staff/tickets?q={phone}")
    assert in_url.status_code == 400 and "/api/v1/staff/callers" in in_url.json_body["error"]["fields"]["q"]["message_en"]
    by_phone = _callers(client, op, phone).json_body["tickets"]
    assert [t["code"] for t in by_phone] == [second, first]
    # The console's search box posts its query: a code goes to the ticket, a phone lists the caller's tickets
    cookie = {"Cookie": f"hl_id={op}; hl_csrf=tok", "Content-Type": "application/x-www-form-urlencoded"}
    found = client.http.post("/staff/inbox", headers=cookie, body=urlencode({"csrf": "tok", "q": phone}).encode())
    assert found.status_code == 200 and first in found.body.decode() and second in found.body.decode()
    to_ticket = client.http.post("/staff/inbox", headers=cookie, body=urlencode({"csrf": "tok", "q": first}).encode())
    assert to_ticket.status_code == 303 and to_ticket.headers["Location"].endswith(f"/staff/tickets/{first}")
    assert client.http.post("/staff/inbox", headers={**cookie, "Cookie": f"hl_id={op}"},
                            body=urlencode({"q": phone}).encode()).status_code == 403  # no CSRF token
    page = client.http.get(f"/staff/inbox?q={phone}", headers={"Cookie": f"hl_id={op}"})
    assert page.status_code == 400 and first not in page.body.decode()


# Permissions


def test_an_agency_officer_only_ever_sees_their_agencys_tickets(client: Any, staff: dict[str, str]) -> None:
    ours = _report("Ngập nước đường Nguyễn Trãi phường Tân Ninh", "ngap-ung", "tan-ninh")
    theirs = _report("Trạm y tế xã Bến Cầu thiếu thuốc", "y-te", "ben-cau")
    officer = staff["officer"]
    listed = _listed(client, officer)
    assert ours in [t["code"] for t in listed] and all(t["agency"] == "Sở Xây dựng" for t in listed)
    # Asking for another agency's list still answers with their own.
    other = _get(client, officer, "/api/v1/staff/tickets?agency=so-y-te").json_body["tickets"]
    assert theirs not in [t["code"] for t in other] and all(t["agency"] == "Sở Xây dựng" for t in other)
    by_status = _get(client, officer, "/api/v1/staff/tickets?status=assigned").json_body["tickets"]
    assert theirs not in [t["code"] for t in by_status]
    # Another agency's ticket: 404 by URL, by search and for every action — never a 403 that confirms it exists.
    assert _get(client, officer, f"/api/v1/staff/tickets/{theirs}").status_code == 404
    assert _get(client, officer, f"/api/v1/staff/tickets?q={theirs}").status_code == 404
    assert _act(client, officer, theirs, "note", version=1, text="thử").status_code == 404
    assert _act(client, officer, theirs, "resolve", version=1, answer="thử").status_code == 404
    page = client.http.get(f"/staff/tickets/{theirs}", headers={"Cookie": f"hl_id={officer}"})
    assert page.status_code == 404 and "Không tìm thấy phản ánh." in page.body.decode()
    assert _view(client, officer, ours)["tracking_code"] == ours


@pytest.mark.parametrize("action,fields", [
    ("categorise", {"category": "giao-thong"}), ("assign", {"agency": "so-y-te"}), ("reject", {"reason": "x"}),
    ("redirect", {"reason": "x", "redirected_to": "Toà án"}), ("merge", {"merged_into": "TN-AAAAAA"}),
    ("extend", {"working_days": "2", "reason": "x"}), ("close", {}), ("reopen", {"reason": "x"}),
])
def test_agency_officers_may_not_take_the_hotlines_actions(client: Any, staff: dict[str, str], action: str,
                                                           fields: dict[str, str]) -> None:
    code = _report("Mặt đường Lê Lợi phường Tân Ninh bị lún", "giao-thong", "tan-ninh")
    response = _act(client, staff["officer"], code, action, **fields)
    assert response.status_code == 403 and response.json_body["error"]["code"] == "forbidden"
    assert tickets.get_ticket(code).status == "assigned"


def test_forbidden_everywhere_else(client: Any, staff: dict[str, str]) -> None:
    officer, operator = staff["officer"], staff["operator"]
    phone = unique_phone()
    assert _callers(client, officer, phone).status_code == 403
    assert _get(client, officer, f"/api/v1/staff/tickets?q={phone}").status_code == 400
    intake_body = json.dumps({"phone": phone, "description": "gọi điện phản ánh"}).encode()
    assert client.http.post("/api/v1/staff/intake", headers=bearer(officer, **JSON_TYPE),
                            body=intake_body).status_code == 403
    code = _report("Cống thoát nước bị tắc phường Tân Ninh", "ngap-ung", "tan-ninh")
    assert _act(client, operator, code, "extend", working_days="2", reason="cần thêm thời gian").status_code == 403
    for token in (officer, operator, staff["supervisor"]):
        assert client.http.get("/api/v1/admin/reference", headers=bearer(token)).status_code == 403
        assert client.http.get("/staff/accounts", headers={"Cookie": f"hl_id={token}"}).status_code == 403
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"hl_id={operator}; hl_csrf=c"}
    refused = client.http.post("/staff/templates", headers=form, body=urlencode(
        {"csrf": "c", "title": "Mẫu", "body": "Nội dung"}).encode())
    assert refused.status_code == 403


def test_reporter_identity_is_hidden_from_agency_officers_for_confidential_categories(
        client: Any, staff: dict[str, str]) -> None:
    phone = unique_phone()
    code = _report("Tố giác điểm đánh bạc tại ấp 3 xã Tân Châu", "an-ninh-trat-tu", "tan-chau", phone=phone,
                   name="Người Tố Giác")
    police = _view(client, staff["police_officer"], code)
    assert police["reporter"] == {"hidden": True}
    assert phone not in json.dumps(police, ensure_ascii=False) and "Người Tố Giác" not in json.dumps(police, ensure_ascii=False)
    page = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['police_officer']}"})
    assert page.status_code == 200 and phone not in page.body.decode() and "Người Tố Giác" not in page.body.decode()
    assert "được bảo mật" in page.body.decode()
    operator = _view(client, staff["operator"], code)
    assert operator["reporter"]["phone"] == "+84" + phone[1:] and operator["reporter"]["name"] == "Người Tố Giác"
    # Not confidential: the agency sees who to call.
    open_case = _report("Ngập đường Hùng Vương phường Tân Ninh", "ngap-ung", "tan-ninh", name="Chị Lan")
    assert _view(client, staff["officer"], open_case)["reporter"]["name"] == "Chị Lan"


# Actions


def test_an_operator_works_a_ticket_from_triage_to_answer_and_every_step_is_audited(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    code = _report("Xin hỏi một việc chung chung không rõ lĩnh vực")
    op, supervisor = staff["operator"], staff["supervisor"]
    assert _view(client, op, code)["status"] == "triage"
    assert _act(client, op, code, "categorise", category="giao-thong", area="tan-ninh").status_code == 200
    view = _view(client, op, code)
    assert view["status"] == "assigned" and view["summary"]["agency"] == "Sở Xây dựng"
    moved = _act(client, op, code, "assign", agency="ubnd-tan-ninh", reason="Đường do phường quản lý")
    assert moved.status_code == 200 and moved.json_body["message"] == "Đã giao cho UBND Phường Tân Ninh."
    assert _act(client, op, code, "reply", text="Chúng tôi đã chuyển phản ánh cho UBND phường.").status_code == 200
    assert _act(client, op, code, "note", text="Người dân gọi lại lần 2, rất bức xúc").status_code == 200
    due = (datetime.now(VN_TZ) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert _act(client, op, code, "callback", due=due, reason="Hỏi thêm vị trí cụ thể").status_code == 200
    view = _view(client, op, code)
    assert view["status"] == "awaiting_callback" and view["callbacks"][0]["open"]
    done = _act(client, op, code, "callback_done", callback=view["callbacks"][0]["id"], outcome="Đã xác định vị trí")
    assert done.status_code == 200
    assert _act(client, op, code, "callback_done", callback=view["callbacks"][0]["id"],
                outcome="lần hai").status_code in (404, 409)
    before = _view(client, op, code)["summary"]["due"]
    assert _act(client, supervisor, code, "extend", working_days="3", reason="Chờ khảo sát hiện trường").status_code == 200
    assert _view(client, op, code)["summary"]["due"] != before
    answer = "Phường đã vá mặt đường ngày 28/11."
    assert _act(client, staff["officer"], code, "resolve", version=1, answer=answer).status_code == 404  # not theirs now
    assert _act(client, op, code, "resolve", answer=answer).status_code == 200
    pump()
    view = _view(client, op, code)
    assert view["status"] == "answered" and view["answer"] == answer
    assert _kinds(view)[-8:] == ["recategorised", "transferred", "reply", "note", "callback_scheduled", "callback_done",
                                 "deadline_extended", "answered"]
    staff_events = [e for e in view["timeline"] if e["type"] == "event" and e["kind"] != "created"
                    and e["kind"] != "routed"]
    assert {e["actor"] for e in staff_events} == {"staff:tongdai@demo.1022.vn", "staff:giamsat@demo.1022.vn"}
    # The reply went to the status page only (no SMS ticked); the citizen's one SMS is the answer.
    to_citizen = [e for e in view["timeline"] if e["type"] == "message_out"]
    assert [(m["kind"], m["delivery"]) for m in to_citizen if m["kind"] != "assigned"] == [("answer", "sent")]
    assert "Pho?ng" not in to_citizen[-1]["text"] and "Phuong da va mat duong" in to_citizen[-1]["text"]
    # Audit: what happened earlier is still there, unchanged, after later actions.
    first_events = [e for e in view["timeline"] if e["type"] == "event"][:4]
    _act(client, op, code, "close")
    assert [e for e in _view(client, op, code)["timeline"] if e["type"] == "event"][:4] == first_events
    # The citizen sees the answer on the status page; internal notes stay internal.
    status = client.http.get(f"/api/v1/reports/{code}?phone_last4={tickets.get_ticket(code).reporter_phone[-4:]}")
    public = json.dumps(status.json_body, ensure_ascii=False)
    assert answer in public and "Chúng tôi đã chuyển phản ánh cho UBND phường." in public and "bức xúc" not in public


def test_a_reply_goes_by_sms_only_when_staff_tick_it(client: Any, staff: dict[str, str]) -> None:
    code = _report("Nắp cống bị vỡ trên đường Trần Hưng Đạo phường Tân Ninh", "giao-thong", "tan-ninh")
    page = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    assert 'name="sms"' in page and "Gửi cả SMS cho người dân" in page and 'name="sms" value="1" checked' not in page
    quiet = _act(client, staff["operator"], code, "reply", text="Đã chuyển cho phường.")
    assert quiet.json_body["message"] == "Đã đăng tin nhắn lên trang tra cứu (không gửi SMS)."
    texted = _act(client, staff["operator"], code, "reply", text="Mai phường đến kiểm tra.", sms="1")
    assert texted.json_body["message"] == "Đã gửi tin nhắn cho người dân."
    pump()
    replies = [m for m in outbound.of_ticket(code) if m.kind == "staff_reply"]
    assert [(m.channel, m.state) for m in replies] == [("sms", "sent")] and "Mai phuong den kiem tra" in replies[0].text


def test_two_staff_saving_the_same_ticket_the_second_gets_409_and_the_first_change_stays(
        client: Any, staff: dict[str, str]) -> None:
    code = _report("Nắp cống bị mất trên đường 30/4 phường Tân Ninh", "giao-thong", "tan-ninh")
    seen = _view(client, staff["operator"], code)["version"]
    first = _act(client, staff["operator"], code, "note", version=seen, text="Ghi chú của Mai")
    second = _act(client, staff["officer"], code, "resolve", version=seen, answer="Đã lắp nắp cống")
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json_body["error"]["message"] == "Phản ánh vừa được người khác cập nhật. Vui lòng tải lại và thử lại."
    view = _view(client, staff["operator"], code)
    assert view["status"] == "assigned" and "note" in _kinds(view) and "answered" not in _kinds(view)
    page = client.http.post(f"/staff/tickets/{code}", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"hl_id={staff['operator']}; hl_csrf=c"},
        body=urlencode({"csrf": "c", "version": str(seen), "action": "reply", "text": "Tin nhắn của tôi"}).encode())
    assert page.status_code == 409 and "Tin nhắn của tôi" in page.body.decode()  # what they typed is kept


def test_bad_input_and_illegal_moves_are_explained(client: Any, staff: dict[str, str]) -> None:
    code = _report("Đèn tín hiệu giao thông ngã tư hỏng phường Tân Ninh", "giao-thong", "tan-ninh")
    op = staff["operator"]
    blank = _act(client, op, code, "reject", reason="   ")
    assert blank.status_code == 400 and "reason" in blank.json_body["error"]["fields"]
    redirect = _act(client, op, code, "redirect", reason="Thuộc thẩm quyền toà án")
    assert redirect.status_code == 400 and "redirected_to" in redirect.json_body["error"]["fields"]
    closing = _act(client, op, code, "close")
    assert closing.status_code == 409 and "không thể chuyển" in closing.json_body["error"]["message"].lower()
    past = (datetime.now(VN_TZ) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert "due" in _act(client, op, code, "callback", due=past, reason="x").json_body["error"]["fields"]
    assert _act(client, op, code, "fly").status_code == 400
    assert _act(client, op, code, "note", version="abc", text="x").status_code == 400
    assert _act(client, op, code, "note", version="²", text="x").status_code == 400
    assert tickets.get_ticket(code).status == "assigned"


def test_reject_and_redirect_tell_the_citizen_why(client: Any, staff: dict[str, str], providers: Any) -> None:
    op = staff["operator"]
    rejected = _report("asdfgh qwerty", "khac")
    assert _act(client, op, rejected, "reject", reason="Nội dung không rõ ràng").status_code == 200
    redirected = _report("Tranh chấp hợp đồng mua bán nhà với hàng xóm", "dat-dai", "tan-ninh")
    assert _act(client, op, redirected, "redirect", reason="Đây là tranh chấp dân sự",
                redirected_to="Toà án nhân dân khu vực").status_code == 200
    pump()
    for code, word in ((rejected, "khong duoc tiep nhan"), (redirected, "Toa an nhan dan khu vuc")):
        messages = [e for e in _view(client, op, code)["timeline"] if e["type"] == "message_out"
                    and e["kind"] in ("rejected", "redirected")]
        assert len(messages) == 1 and word in messages[0]["text"] and messages[0]["delivery"] == "sent"
    assert _act(client, op, rejected, "reopen", reason="Người dân bổ sung thông tin").status_code == 200
    assert tickets.get_ticket(rejected).status == "reopened"


def test_merged_tickets_follow_the_original_and_receive_its_answer(client: Any, staff: dict[str, str],
                                                                   providers: Any) -> None:
    op = staff["operator"]
    original = _report("Cây xanh đổ chắn đường Cách Mạng Tháng Tám phường Tân Ninh", "giao-thong", "tan-ninh")
    duplicate = _report("Cây đổ giữa đường CMT8 Tân Ninh, xe không qua được", "giao-thong", "tan-ninh")
    assert _act(client, op, duplicate, "merge", merged_into=original).status_code == 200
    assert _act(client, op, duplicate, "merge", merged_into=original).status_code == 409  # merged already
    view = _view(client, op, original)
    assert view["followers"] == [duplicate] and "merged_from" in _kinds(view)
    assert _view(client, op, duplicate)["status"] == "merged"
    assert _act(client, op, original, "resolve", answer="Đã cưa và dọn cây đổ.").status_code == 200
    pump()
    answers = [e for e in _view(client, op, duplicate)["timeline"] if e["type"] == "message_out" and e["kind"] == "answer"]
    # the merged reporter is told the original was answered, once; the staff's words reach only its own reporter
    # until published (another person's report: docs/privacy.md, followers)
    assert len(answers) == 1 and answers[0]["delivery"] == "sent"
    assert original in answers[0]["text"] and "Da cua va don cay do" not in answers[0]["text"]
    self_merge = _report("Một phản ánh khác", "giao-thong", "tan-ninh")
    assert _act(client, op, self_merge, "merge", merged_into=self_merge).status_code == 400


# Phone intake and caller history


def test_phone_intake_shows_caller_history_and_records_the_operator(client: Any, staff: dict[str, str]) -> None:
    phone = unique_phone()
    earlier = _report("Hỏi lịch tiêm chủng cho trẻ em", "y-te", "tan-ninh", phone=phone)
    op = staff["operator"]
    history = _callers(client, op, phone).json_body["tickets"]
    assert [t["code"] for t in history] == [earlier]
    page = client.http.post("/staff/intake", headers={"Cookie": f"hl_id={op}; hl_csrf=tok",
                                                      "Content-Type": "application/x-www-form-urlencoded"},
                            body=urlencode({"csrf": "tok", "lookup": "1", "phone": phone}).encode())
    assert page.status_code == 200 and earlier in page.body.decode()
    ignored = client.http.get(f"/staff/intake?phone={phone}", headers={"Cookie": f"hl_id={op}"})
    assert ignored.status_code == 200 and earlier not in ignored.body.decode()  # a phone in a URL is not read
    created = client.http.post("/api/v1/staff/intake", headers=bearer(op, **JSON_TYPE), body=json.dumps(
        {"phone": phone, "name": "Ông Ba", "category": "y-te", "area": "tan-ninh",
         "description": "Người gọi hỏi thêm về mũi tiêm nhắc lại"}, ensure_ascii=False).encode())
    assert created.status_code == 201
    code = created.json_body["tracking_code"]
    ticket = tickets.get_ticket(code)
    assert ticket.channel == "phone" and ticket.entered_by == "staff:tongdai@demo.1022.vn"
    assert ticket.reporter_name == "Ông Ba"
    assert [t["code"] for t in _callers(client, op, phone).json_body["tickets"]] == [code, earlier]
    missing = client.http.post("/api/v1/staff/intake", headers=bearer(op, **JSON_TYPE),
                               body=json.dumps({"phone": "12"}).encode())
    assert missing.status_code == 400 and {"phone", "description"} <= set(missing.json_body["error"]["fields"])
    assert _callers(client, op, "abc").status_code == 400


def test_phone_intake_form_twice_makes_one_ticket(client: Any, staff: dict[str, str]) -> None:
    op = staff["operator"]
    phone = unique_phone()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"hl_id={op}; hl_csrf=tok"}
    body = urlencode({"csrf": "tok", "form_token": uuid.uuid4().hex, "phone": phone,
                      "description": "Báo cháy rừng nhỏ đã dập tắt"}).encode()
    first = client.http.post("/staff/intake", headers=headers, body=body)
    second = client.http.post("/staff/intake", headers=headers, body=body)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_callers(client, op, phone).json_body["tickets"]) == 1
    no_csrf = client.http.post("/staff/intake", headers=headers, body=urlencode({"phone": phone}).encode())
    assert no_csrf.status_code == 403


# Response templates


def test_admins_keep_response_templates_and_staff_insert_them_filled_in(client: Any, staff: dict[str, str]) -> None:
    from chalicelib.store import templates

    admin = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"hl_id={staff['admin']}; hl_csrf=a"}
    title = f"Mẫu ngập {uuid.uuid4().hex[:6]}"
    saved = client.http.post("/staff/templates", headers=admin, body=urlencode(
        {"csrf": "a", "title": title, "category": "ngap-ung",
         "body": "Phản ánh {ma} đã giao {co_quan}, hạn {han}. {khong_ro}"}).encode())
    assert saved.status_code == 303
    item = next(t for t in templates.all_templates() if t.title == title)
    code = _report("Ngập nước trước trường tiểu học phường Tân Ninh", "ngap-ung", "tan-ninh")
    page = client.http.get(f"/staff/tickets/{code}?template={item.sk}", headers={"Cookie": f"hl_id={staff['operator']}"})
    body = page.body.decode()
    assert page.status_code == 200 and title in body
    assert f"Phản ánh {code} đã giao Sở Xây dựng, hạn " in body and "{khong_ro}" in body
    other = _report("Đèn đường hỏng phường Long Hoa", "chieu-sang", "long-hoa")
    assert title not in client.http.get(f"/staff/tickets/{other}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    stale = client.http.post("/staff/templates", headers=admin, body=urlencode(
        {"csrf": "a", "id": item.sk, "version": str(item.version + 5), "title": title, "body": "x"}).encode())
    assert stale.status_code == 409
    edited = client.http.post("/staff/templates", headers=admin, body=urlencode(
        {"csrf": "a", "id": item.sk, "version": str(item.version), "title": title, "category": "ngap-ung",
         "body": "Nội dung mới {ma}"}).encode())
    assert edited.status_code == 303 and templates.get_template(item.sk).body == "Nội dung mới {ma}"
    blank = client.http.post("/staff/templates", headers=admin, body=urlencode({"csrf": "a", "title": ""}).encode())
    assert blank.status_code == 400


def test_admins_create_staff_accounts_and_see_the_temporary_password_once(client: Any, staff: dict[str, str]) -> None:
    admin = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"hl_id={staff['admin']}; hl_csrf=a"}
    email = f"canbo-{uuid.uuid4().hex[:6]}@demo.1022.vn"
    no_agency = client.http.post("/staff/accounts", headers=admin, body=urlencode(
        {"csrf": "a", "email": email, "name": "Cán bộ mới", "role": "agency_officer"}).encode())
    assert no_agency.status_code == 400 and "Cán bộ cơ quan cần có cơ quan." in no_agency.body.decode()
    created = client.http.post("/staff/accounts", headers=admin, body=urlencode(
        {"csrf": "a", "email": email, "name": "Cán bộ mới", "role": "agency_officer", "agency": "so-y-te"}).encode())
    body = created.body.decode()
    assert created.status_code == 200 and 'id="temporary-password"' in body and email in body
    assert created.headers["Cache-Control"] == "no-store"
    listing = client.http.get("/staff/accounts", headers={"Cookie": f"hl_id={staff['admin']}"}).body.decode()
    assert email in listing and 'id="temporary-password"' not in listing
    again = client.http.post("/staff/accounts", headers=admin, body=urlencode(
        {"csrf": "a", "email": email, "name": "Cán bộ mới", "role": "operator"}).encode())
    assert again.status_code == 400 and "đã có tài khoản" in again.body.decode()


# Escaping and logs


def test_citizen_text_is_escaped_on_staff_pages(client: Any, staff: dict[str, str]) -> None:
    payload = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'
    code = _report(f"Phản ánh {payload}", "giao-thong", "tan-ninh", name="<b onmouseover=alert(4)>Tên</b>")
    body = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body and 'href="javascript:' not in body and "<b onmouseover" not in body


def test_staff_actions_log_no_personal_data(client: Any, staff: dict[str, str], caplog: pytest.LogCaptureFixture,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    phone = unique_phone()
    code = _report("Bà Nguyễn Thị Hoa báo mất nước sinh hoạt ba ngày", "dien-nuoc", "tan-ninh", phone=phone,
                   name="Nguyễn Thị Hoa")
    _act(client, staff["operator"], code, "reply", text="Chào chị Hoa, công ty cấp nước sẽ kiểm tra")
    _act(client, staff["operator"], code, "note", text="Chị Hoa số " + phone)
    logged = capsys.readouterr().out + caplog.text
    assert "staff action" in logged
    assert phone not in logged and phone[1:] not in logged and "Hoa" not in logged


def test_a_ticket_in_progress_can_be_transferred_and_callbacks_end_with_the_ticket(
        client: Any, staff: dict[str, str]) -> None:
    op = staff["operator"]
    code = _report("Cống hộp bị vỡ trên đường Lê Duẩn phường Tân Ninh", "giao-thong", "tan-ninh")
    assert _act(client, op, code, "start").status_code == 200
    assert _act(client, op, code, "assign", agency="ubnd-tan-ninh", reason="Đường do phường quản lý").status_code == 200
    assert tickets.get_ticket(code).agency == "ubnd-tan-ninh"
    due = (datetime.now(VN_TZ) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    assert _act(client, op, code, "callback", due=due, reason="Hỏi thêm").status_code == 200
    assert _act(client, op, code, "resolve", answer="Đã sửa cống").status_code == 200
    view = _view(client, op, code)
    assert [c["open"] for c in view["callbacks"]] == [False]
    assert _act(client, staff["supervisor"], code, "extend", working_days="1", reason="x").status_code == 400


def test_a_reopened_duplicate_stops_following_the_original(client: Any, staff: dict[str, str], providers: Any) -> None:
    op = staff["operator"]
    original = _report("Bãi rác tự phát cạnh chợ phường Tân Ninh", "moi-truong", "tan-ninh")
    duplicate = _report("Rác đổ bừa bãi gần chợ Tân Ninh", "moi-truong", "tan-ninh")
    assert _act(client, op, duplicate, "merge", merged_into=original).status_code == 200
    assert _view(client, op, original)["followers"] == [duplicate]
    assert _act(client, op, duplicate, "reopen", reason="Không phải cùng một điểm rác").status_code == 200
    assert _view(client, op, original)["followers"] == []
    assert _act(client, op, original, "resolve", answer="Đã thu gom").status_code == 200
    pump()
    answers = [e for e in _view(client, op, duplicate)["timeline"] if e["type"] == "message_out" and e["kind"] == "answer"]
    assert answers == []


def test_templates_never_put_a_confidential_reporters_name_on_the_timeline(client: Any, staff: dict[str, str]) -> None:
    from chalicelib.store import templates

    now = datetime.now(timezone.utc)
    templates.create_template(None, "Chào theo tên", "Chào {ten}, phản ánh {ma} đã được tiếp nhận.", "test", now)
    item = next(t for t in templates.all_templates() if t.title == "Chào theo tên")
    secret = _report("Tố giác buôn lậu tại ấp 5 xã Tân Châu", "an-ninh-trat-tu", "tan-chau", name="Lý Thị Kín")
    page = client.http.get(f"/staff/tickets/{secret}?template={item.sk}", headers={"Cookie": f"hl_id={staff['operator']}"})
    assert "Lý Thị Kín" in page.body.decode()  # the operator sees who reported …
    assert f"Chào {{ten}}, phản ánh {secret}" in page.body.decode()  # … but the template leaves the name out
    open_case = _report("Ổ gà lớn đường 30/4 phường Tân Ninh", "giao-thong", "tan-ninh", name="Chị Lan")
    filled = client.http.get(f"/staff/tickets/{open_case}?template={item.sk}",
                             headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    assert f"Chào Chị Lan, phản ánh {open_case}" in filled


def test_admins_disable_accounts_and_admin_changes_are_audited(client: Any, staff: dict[str, str]) -> None:
    from chalicelib import identity
    from chalicelib.domain.errors import WrongCredentials
    from chalicelib.store import audit

    email = f"tam-{uuid.uuid4().hex[:6]}@demo.1022.vn"
    identity.create_staff(email, "Nhân viên tạm", "operator", None)
    admin = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"hl_id={staff['admin']}; hl_csrf=a"}
    assert client.http.post("/staff/accounts", headers=admin,
                            body=urlencode({"csrf": "a", "disable": email}).encode()).status_code == 303
    with pytest.raises(WrongCredentials):
        identity.sign_in(email, "whatever-Pass1")
    itself = client.http.post("/staff/accounts", headers=admin,
                              body=urlencode({"csrf": "a", "disable": "quantri@demo.1022.vn"}).encode())
    assert itself.status_code == 400
    now = datetime.now(timezone.utc)
    trail, _ = audit.search(now - timedelta(hours=1), now + timedelta(minutes=1), limit=1000)
    kinds = {(e.kind, (e.detail or {}).get("email")) for e in trail}
    assert ("staff_disabled", email) in kinds and all(e.actor.startswith("staff:") for e in trail)


def test_a_reopened_ticket_gets_a_new_deadline_and_is_watched_again(client: Any, staff: dict[str, str]) -> None:
    op = staff["operator"]
    code = _report("Ổ gà lớn trước cổng chợ phường Tân Ninh", "giao-thong", "tan-ninh")
    ticket = tickets.get_ticket(code)
    long_ago = ticket.created_at - timedelta(days=30)
    tickets.update(ticket, tickets.NewEvent("test_setup", "test", long_ago), long_ago, {"due_at": long_ago})
    assert _act(client, op, code, "resolve", answer="Đã vá").status_code == 200
    assert tickets.get_ticket(code).watch_stage == "purge"  # off the deadline watch, on retention's
    assert _act(client, op, code, "reopen", reason="Ổ gà lại xuất hiện").status_code == 200
    reopened = tickets.get_ticket(code)
    assert reopened.due_at > datetime.now(timezone.utc) and reopened.watch_shard and reopened.watch_stage == "warn"
    assert code not in [t["code"] for t in _listed(client, op, "view=overdue")]
