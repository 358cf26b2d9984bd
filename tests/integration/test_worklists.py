"""Staff work lists on the emulator, through the console's pages and JSON: the inbox puts triage, new
citizen messages and overdue tickets first; a citizen's message flags a ticket until staff act on it;
"Việc của tôi" with claim, release and reassign; counts per view and the live poll (and what it
costs); who else has a ticket open; the callback view shows callback times."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake, routing
from chalicelib.store import tickets, worklists
from chalicelib.store.reference import load_reference
from tests.conftest import bearer, unique_phone

FORM = "application/x-www-form-urlencoded"
NAMES = {"operator": "Lê Thị Mai (tổng đài)", "officer": "Phạm Văn Hùng (Sở Xây dựng)",
         "supervisor": "Đặng Quốc Việt (giám sát)"}


def _report(description: str, category: str, area: str | None = None) -> str:
    fields = {"description": description, "phone": unique_phone(), "category": category}
    if area:
        fields["area"] = area
    code = intake.submit(validate_submission(fields, load_reference()))["tracking_code"]
    routing.route(code)
    return code


def _due(code: str, due: datetime) -> None:
    now = datetime.now(timezone.utc)
    tickets.update(tickets.get_ticket(code), tickets.NewEvent("test_setup", "test", now), now, {"due_at": due})


def _citizen_writes(code: str, text: str = "Cho tôi hỏi đã xử lý chưa?") -> None:
    """A follow-up SMS threaded onto the ticket (what the inbound worker does with one)."""
    now = datetime.now(timezone.utc)
    tickets.append_message(tickets.get_ticket(code), tickets.NewEvent(
        "message_in", "citizen:sms", now, detail={"channel": "sms", "text": text}), f"test:{uuid.uuid4()}", now)


def _html(client: Any, token: str, path: str) -> str:
    response = client.http.get(path, headers={"Cookie": f"hl_id={token}; hl_csrf=tok"})
    assert response.status_code == 200, response.body[:500]
    return response.body.decode()


def _version(client: Any, token: str, code: str) -> int:
    return client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(token)).json_body["version"]


def _act(client: Any, token: str, code: str, action: str, **fields: str) -> Any:
    body = urlencode({"csrf": "tok", "version": _version(client, token, code), "action": action, **fields})
    return client.http.post(f"/staff/tickets/{code}", body=body.encode(),
                            headers={"Cookie": f"hl_id={token}; hl_csrf=tok", "Content-Type": FORM})


def _section(page: str, name: str) -> str:
    """The HTML of one part of the inbox page: a priority section, or the list below them."""
    start = page.index(f'id="{name}"')
    return page[start:page.index("</section>", start)]


def _codes(html: str) -> list[str]:
    return re.findall(r'class="ticket-row" data-code="([^"]+)"', html)


def _listed(client: Any, token: str, query: str) -> list[dict[str, Any]]:
    rows, after = [], ""
    for _ in range(100):
        page = client.http.get("/api/v1/staff/tickets?" + query + (f"&after={after}" if after else ""),
                               headers=bearer(token)).json_body
        rows += page["tickets"]
        after = page.get("next") or ""
        if not after:
            return rows
    raise AssertionError("the list kept offering more pages")


@pytest.fixture
def dynamodb_calls(stack: Any) -> Iterator[list[str]]:
    """The DynamoDB operations the app makes while the test runs."""
    from chalicelib import aws

    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = aws.client("dynamodb").meta.events  # the shared client the store uses
    events.register("before-call.dynamodb", count)
    yield calls
    events.unregister("before-call.dynamodb", count)


def test_the_first_page_shows_triage_new_messages_and_overdue_before_the_rest(client: Any, staff: dict[str, str]
                                                                                ) -> None:
    # Given tickets of one category: one nobody could route, one a citizen wrote on again, one past
    # its deadline, and one due in days (the old inbox, sorted by deadline, showed triage last)
    triage = _report("Xin hỏi một việc không rõ thuộc cơ quan nào", "khac")
    written = _report("Hỏi lịch tiếp công dân của xã", "khac", "tan-an")
    late = _report("Hỏi về giấy xác nhận cư trú", "khac", "tan-an")
    later = _report("Hỏi giờ làm việc bộ phận một cửa", "khac", "tan-an")
    assert tickets.get_ticket(triage).status == "triage"
    now = datetime.now(timezone.utc)
    _due(late, now - timedelta(hours=2))
    _citizen_writes(written)
    # When the operator opens the inbox (filtered to that category)
    page = _html(client, staff["operator"], "/staff/inbox?category=khac")
    # Then triage, new messages and overdue come first, in that order, each ticket once, then the rest
    sections = [page.index(f'id="{name}"') for name in ("section-triage", "section-new", "section-overdue", "list")]
    assert sections == sorted(sections)
    assert triage in _codes(_section(page, "section-triage"))
    assert written in _codes(_section(page, "section-new"))
    assert late in _codes(_section(page, "section-overdue"))
    rest = _codes(_section(page, "list"))
    assert later in rest and not {triage, written, late} & set(rest)
    assert _codes(page).count(written) == 1
    assert "tin mới" in _section(page, "section-new") and "quá hạn" in _section(page, "section-overdue")
    # and every view is a tab with its count (counts are checked below: they may be 20 s old)
    for view in ("triage", "new", "mine", "overdue", "due_today", "callback", "held"):
        assert re.search(rf'id="tab-{view}"[^>]*>[^<]*<span class="count[^"]*" data-count="{view}">\d+<', page)


def test_a_citizen_message_flags_the_ticket_until_staff_act_on_it(client: Any, staff: dict[str, str]) -> None:
    op, officer = staff["operator"], staff["officer"]
    # Given a ticket of the Sở Xây dựng and one of another agency, each with a citizen's new message
    ours = _report("Ổ gà lớn trên đường Trưng Nữ Vương phường Tân Ninh", "giao-thong", "tan-ninh")
    theirs = _report("Trộm cắp xe máy ở khu phố 2 phường Long Hoa", "an-ninh-trat-tu", "long-hoa")
    _citizen_writes(ours, "Ổ gà càng ngày càng to, tối qua có người ngã.")
    _citizen_writes(theirs)
    # Then both show under "Có tin mới" for the hotline, and only its own for the agency officer
    assert {ours, theirs} <= {t["code"] for t in _listed(client, op, "view=new")}
    mine = {t["code"] for t in _listed(client, officer, "view=new")}
    assert ours in mine and theirs not in mine
    row = next(t for t in _listed(client, op, "view=new") if t["code"] == ours)
    assert row["unread"] is True and row["unread_at"]
    # Opening the ticket shows the flag and does not clear it (a glance is no answer)
    assert 'id="unread"' in _html(client, officer, f"/staff/tickets/{ours}")
    assert 'id="unread"' in _html(client, officer, f"/staff/tickets/{ours}")
    # Acting on it does: a note
    assert _act(client, officer, ours, "note", text="Đã báo đội duy tu kiểm tra.").status_code == 303
    assert ours not in {t["code"] for t in _listed(client, officer, "view=new")}
    assert 'id="unread"' not in _html(client, officer, f"/staff/tickets/{ours}")
    # A second message flags it again; "Đã xem" clears it without any other change
    _citizen_writes(ours, "Cảm ơn.")
    assert ours in {t["code"] for t in _listed(client, officer, "view=new")}
    version = _version(client, officer, ours)
    assert _act(client, officer, ours, "seen").status_code == 303
    assert ours not in {t["code"] for t in _listed(client, officer, "view=new")}
    assert _version(client, officer, ours) == version
    # A message that arrives while staff act keeps the flag: only a marker no newer than what they saw goes
    seen_up_to = tickets.get_ticket(theirs).last_inbound_at
    _citizen_writes(theirs, "Tôi gửi thêm thông tin.")
    assert worklists.clear_unread(theirs, seen_up_to) is False
    assert theirs in {t["code"] for t in _listed(client, op, "view=new")}


def test_claim_release_and_reassign_move_a_ticket_between_peoples_lists(client: Any, staff: dict[str, str]
                                                                          ) -> None:
    op, officer, supervisor = staff["operator"], staff["officer"], staff["supervisor"]
    code = _report("Đèn tín hiệu giao thông ngã tư chợ Long Hoa không hoạt động", "giao-thong", "long-hoa")
    page = _html(client, op, f"/staff/tickets/{code}")
    assert "chưa có ai nhận" in page and 'id="claim-button"' in page
    # The operator claims it: it is theirs on the ticket page, in the inbox and in "Việc của tôi"
    assert _act(client, op, code, "claim").status_code == 303
    page = _html(client, op, f"/staff/tickets/{code}")
    assert re.search(r'id="assignee"[^>]*>Người xử lý: <strong>Lê Thị Mai \(tổng đài\)</strong> \(bạn\)', page)
    assert code in {t["code"] for t in _listed(client, op, "view=mine")}
    assert 'data-count="mine">' in _html(client, op, "/staff/inbox?view=mine")
    view = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(op)).json_body
    assert "claimed" in [e.get("kind") for e in view["timeline"]]
    # A colleague cannot take it over by claiming
    taken = _act(client, supervisor, code, "claim")
    assert taken.status_code == 400 and "Lê Thị Mai" in taken.body.decode()
    # The supervisor gives it to the agency's officer; not to an officer of another agency
    wrong = _act(client, supervisor, code, "reassign", assignee="congan@demo.1022.vn")
    assert wrong.status_code == 400 and 'id="assignee-error"' in wrong.body.decode()
    assert _act(client, supervisor, code, "reassign", assignee="soxaydung@demo.1022.vn").status_code == 303
    assert code not in {t["code"] for t in _listed(client, op, "view=mine")}
    assert code in {t["code"] for t in _listed(client, officer, "view=mine")}
    row = next(t for t in _listed(client, op, "category=giao-thong&agency=so-xay-dung") if t["code"] == code)
    assert row["assignee"] == NAMES["officer"]
    # Answering it takes it off the list; reopening puts it back
    assert _act(client, officer, code, "resolve", answer="Đã sửa đèn tín hiệu.").status_code == 303
    assert code not in {t["code"] for t in _listed(client, officer, "view=mine")}
    assert _act(client, op, code, "reopen", reason="Người dân báo đèn lại hỏng").status_code == 303
    assert code in {t["code"] for t in _listed(client, officer, "view=mine")}
    # The operator may not take it off the officer; the officer gives it back
    assert _act(client, op, code, "release").status_code == 400
    assert _act(client, officer, code, "release").status_code == 303
    assert code not in {t["code"] for t in _listed(client, officer, "view=mine")}
    kinds = [e.get("kind") for e in client.http.get(f"/api/v1/staff/tickets/{code}",
                                                    headers=bearer(op)).json_body["timeline"]]
    assert {"claimed", "reassigned", "released"} <= set(kinds)


def test_the_poll_is_cheap_and_counts_new_tickets_in_the_users_scope(client: Any, staff: dict[str, str],
                                                                       dynamodb_calls: list[str]) -> None:
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    cookie = {"Cookie": f"hl_id={staff['officer']}"}
    path = "/staff/inbox/counts?" + urlencode({"since": since.isoformat()})
    before = client.http.get(path, headers=cookie).json_body["arrived"]
    # Given a new ticket of the officer's agency and one of another agency
    _report("Cây xanh gãy đổ chắn đường Cách Mạng Tháng Tám", "giao-thong", "tan-ninh")
    _report("Tụ tập gây rối trật tự khu phố 4 phường Tân Ninh", "an-ninh-trat-tu", "tan-ninh")
    # When the officer's inbox polls: only their agency's new ticket is counted
    dynamodb_calls.clear()
    response = client.http.get(path, headers=cookie)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.json_body["arrived"] == before + 1
    assert set(response.json_body["counts"]) >= {"", "new", "mine", "overdue", "due_today", "callback"}
    # and a poll while the counts are fresh reads three small things: the cached counts, their own
    # list's count, the tickets created since (the whole table is never read)
    dynamodb_calls.clear()
    client.http.get(path, headers=cookie)
    assert sorted(dynamodb_calls) == ["GetItem", "Query", "Query"]
    # No session: a JSON 401 (the page's script stops); a time without offset: 400
    assert client.http.get(path).status_code == 401
    bad = client.http.get("/staff/inbox/counts?since=yesterday", headers=cookie)
    assert bad.status_code == 400 and "since" in bad.json_body["error"]["fields"]


def test_counts_are_rebuilt_at_most_every_twenty_seconds(staff: dict[str, str]) -> None:
    from chalicelib import identity
    from chalicelib.services import inbox

    user = identity.verify(staff["supervisor"])
    now = datetime.now(timezone.utc) + timedelta(minutes=5)  # past whatever other tests cached
    first = inbox.counts(user, now)
    # Given a new ticket, one nobody could route, and a citizen's message on the first
    routed = _report("Nước sinh hoạt bị đục khu phố 1 phường Ninh Thạnh", "dien-nuoc", "ninh-thanh")
    _report("Một việc chưa rõ cơ quan nào giải quyết", "khac")
    _citizen_writes(routed)
    # Then the counts stay as they were for 20 s (one rebuild serves everyone), and then show them
    assert inbox.counts(user, now + timedelta(seconds=10)) == first
    later = inbox.counts(user, now + timedelta(seconds=21))
    assert (later[""], later["triage"], later["new"]) == (first[""] + 2, first["triage"] + 1, first["new"] + 1)


def test_a_ticket_page_shows_who_else_has_it_open(client: Any, staff: dict[str, str]) -> None:
    code = _report("Vỉa hè bị lấn chiếm bán hàng đường 30/4", "giao-thong", "tan-ninh")
    first = _html(client, staff["operator"], f"/staff/tickets/{code}")
    assert re.search(r'id="presence"[^>]*hidden', first)  # alone on it
    # The supervisor opens it: they see the operator; the operator's heartbeat sees the supervisor
    second = _html(client, staff["supervisor"], f"/staff/tickets/{code}")
    assert "Đang mở bởi: <strong id=\"presence-names\">Lê Thị Mai (tổng đài)</strong>" in second
    beat = client.http.post(f"/staff/tickets/{code}/presence", body=b"csrf=tok", headers={
        "Cookie": f"hl_id={staff['operator']}; hl_csrf=tok", "Content-Type": FORM})
    assert beat.status_code == 200 and beat.json_body["others"] == [NAMES["supervisor"]]
    assert beat.headers["Cache-Control"] == "no-store"
    # Not without the form's token; not for a ticket the user may not see
    assert client.http.post(f"/staff/tickets/{code}/presence", body=b"", headers={
        "Cookie": f"hl_id={staff['operator']}; hl_csrf=tok", "Content-Type": FORM}).status_code == 403
    assert client.http.post(f"/staff/tickets/{code}/presence", body=b"csrf=tok", headers={
        "Cookie": f"hl_id={staff['police_officer']}; hl_csrf=tok", "Content-Type": FORM}).status_code == 404
    # Presence is short-lived: after 90 s nobody is shown
    later = datetime.now(timezone.utc) + timedelta(seconds=91)
    assert worklists.present(code, later - timedelta(seconds=90)) == []


def test_the_callback_view_shows_when_to_call_back(client: Any, staff: dict[str, str]) -> None:
    code = _report("Đề nghị gọi lại hướng dẫn hồ sơ đất đai", "dat-dai", "tan-an")
    body = urlencode({"csrf": "tok", "version": _version(client, staff["operator"], code), "action": "callback",
                      "due": "2031-05-04T09:30", "reason": "Người dân xin gọi lại giờ hành chính"})
    assert client.http.post(f"/staff/tickets/{code}", body=body.encode(), headers={
        "Cookie": f"hl_id={staff['operator']}; hl_csrf=tok", "Content-Type": FORM}).status_code == 303
    page = _html(client, staff["operator"], "/staff/inbox?view=callback&category=dat-dai")
    row = page[page.index(f'data-code="{code}"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'data-label="Gọi lại lúc" class="callback-at"><strong>04/05/2031 09:30', row), row
    assert "Hạn trả lời" in row


def _buttons(page: str) -> set[str]:
    """The work block's buttons (and the hint) a staff member is offered on a ticket page."""
    block = page[page.index('id="work"'):]
    block = block[:block.index("</section>")]
    return {name for name in ("claim-button", "release-button", "reassign-button", "take-over-hint")
            if f'id="{name}"' in block}


def test_only_supervisors_and_admins_take_a_ticket_off_a_colleague(client: Any, staff: dict[str, str]) -> None:
    op, officer, supervisor = staff["operator"], staff["officer"], staff["supervisor"]
    code = _report("Cống thoát nước bị vỡ nắp trên đường Trần Hưng Đạo phường Tân Ninh", "giao-thong", "tan-ninh")
    assert _act(client, officer, code, "claim").status_code == 303
    # The operator is offered neither "Trả lại" nor "Giao việc" on the officer's ticket, and told who can
    assert _buttons(_html(client, op, f"/staff/tickets/{code}")) == {"take-over-hint"}
    # and a hand-made request is refused the same way, naming who has it and who may take it off them
    for action, fields in (("reassign", {"assignee": "tongdai@demo.1022.vn"}), ("release", {})):
        refused = _act(client, op, code, action, **fields)
        assert refused.status_code == 400, action
        assert re.search(r'id="assignee-error">Phạm Văn Hùng \(Sở Xây dựng\) đang xử lý phản ánh này; chỉ giám sát '
                         r'hoặc quản trị mới (giao lại|trả lại) được', refused.body.decode()), action
    assert tickets.get_ticket(code).assignee == "soxaydung@demo.1022.vn"
    # The supervisor is offered both and gives it to the operator
    assert _buttons(_html(client, supervisor, f"/staff/tickets/{code}")) == {"release-button", "reassign-button"}
    assert _act(client, supervisor, code, "reassign", assignee="tongdai@demo.1022.vn").status_code == 303
    # Now it is the operator's own: they may give it back or hand it to a colleague, and do
    assert _buttons(_html(client, op, f"/staff/tickets/{code}")) == {"release-button", "reassign-button"}
    assert _act(client, op, code, "reassign", assignee="soxaydung@demo.1022.vn").status_code == 303
    assert code in {t["code"] for t in _listed(client, officer, "view=mine")}
    # The officer gives their own back; a free ticket may be claimed or handed out by the operator
    assert _act(client, officer, code, "release").status_code == 303
    assert _buttons(_html(client, op, f"/staff/tickets/{code}")) == {"claim-button", "reassign-button"}


def test_a_ticket_moved_out_of_an_officers_sight_leaves_them_in_the_same_change(client: Any,
                                                                              staff: dict[str, str]) -> None:
    op, officer = staff["operator"], staff["officer"]
    officer_email = "soxaydung@demo.1022.vn"
    transferred = _report("Biển báo giao thông bị đổ ở ngã ba Mít Một phường Tân Ninh", "giao-thong", "tan-ninh")
    returned = _report("Đường ngập sâu sau mưa trên đường 30/4 phường Tân Ninh", "giao-thong", "tan-ninh")
    for code in (transferred, returned):
        assert _act(client, officer, code, "claim").status_code == 303
    # When the operator transfers one to the police, and the officer sends the other back to the hotline
    assert _act(client, op, transferred, "assign", agency="cong-an-tinh", reason="Liên quan trật tự").status_code == 303
    assert _act(client, officer, returned, "return", reason="Không thuộc Sở Xây dựng").status_code == 303
    # Then neither has an assignee any more, nor sits on the officer's list (the markers went with the change)
    for code in (transferred, returned):
        assert tickets.get_ticket(code).assignee is None
        assert code not in {m.sk for m in worklists.mine(officer_email)}
    # the police officer sees a free ticket, not "Phạm Văn Hùng đang xử lý"
    police_page = _html(client, staff["police_officer"], f"/staff/tickets/{transferred}")
    assert "chưa có ai nhận" in police_page and "Phạm Văn Hùng" not in police_page.split('id="work"')[1].split(
        "</section>")[0]
    # and the history says whom it was taken off
    events = client.http.get(f"/api/v1/staff/tickets/{transferred}", headers=bearer(op)).json_body["timeline"]
    moved = next(e for e in events if e.get("kind") == "transferred")
    assert moved["detail"]["unassigned"] == NAMES["officer"]
    assert "Thôi giao việc cho" in _html(client, op, f"/staff/tickets/{transferred}")
    # An operator who has a ticket keeps it wherever it goes (they see every agency)
    assert _act(client, op, transferred, "claim").status_code == 303
    assert _act(client, op, transferred, "assign", agency="so-xay-dung").status_code == 303
    assert tickets.get_ticket(transferred).assignee == "tongdai@demo.1022.vn"
    mine = {t["code"] for t in _listed(client, op, "view=mine&agency=so-xay-dung")}
    assert transferred in mine  # its marker follows the agency, so the filtered list still has it


def test_reading_my_list_drops_tickets_i_can_no_longer_see(client: Any, staff: dict[str, str]) -> None:
    from chalicelib.store.tickets import NewEvent, event_item

    officer_email = "soxaydung@demo.1022.vn"
    code = _report("Cây đổ chắn ngang đường Điện Biên Phủ phường Tân Ninh", "giao-thong", "tan-ninh")
    # Given a ticket given to the officer before assignments recorded an officer's agency (so a transfer
    # cannot tell it takes the ticket out of their sight), then transferred to the police
    now = datetime.now(timezone.utc)
    worklists.assign(tickets.get_ticket(code), worklists.Assignee(officer_email, NAMES["officer"]),
                     event_item(code, NewEvent("claimed", f"staff:{officer_email}", now)), now)
    assert _act(client, staff["operator"], code, "assign", agency="cong-an-tinh").status_code == 303
    assert code in {m.sk for m in worklists.mine(officer_email)}
    # When the officer reads "Việc của tôi": the ticket is not shown, and its marker is gone for good
    assert code not in {t["code"] for t in _listed(client, staff["officer"], "view=mine")}
    assert code not in {m.sk for m in worklists.mine(officer_email)}
