"""The duty roster page and the available / away switch, as staff use them (session cookie + CSRF)."""
from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.store import roster

FORM = "application/x-www-form-urlencoded"


class Browser:
    """A staff member's browser without the browser: the session cookies and the CSRF token."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def get(self, path: str) -> Any:
        return self.client.http.get(path, headers={"Cookie": f"hl_id={self.token}; hl_csrf=t"})

    def post(self, path: str, fields: list[tuple[str, str]]) -> Any:
        return self.client.http.post(path, headers={"Content-Type": FORM, "Cookie": f"hl_id={self.token}; hl_csrf=t"},
                                     body=urlencode([("csrf", "t"), *fields]).encode())


def _version(html: str) -> str:
    found = re.search(r'id="roster-form".*?name="version" value="(\d+)"', html, re.S)
    assert found
    return found.group(1)


def _entry(staff: str, target: str, kind: str = "internal", days: tuple[str, ...] = ("0", "1", "2")) -> list[tuple[str, str]]:
    return [("staff", staff), ("name", staff.split("@")[0]), ("kind", kind), ("target", target),
            *[("days", d) for d in days], ("start", "07:00"), ("end", "20:00")]


@pytest.fixture
def people(client: Any, staff: dict[str, str]) -> dict[str, Browser]:
    return {role: Browser(client, token) for role, token in staff.items()}


def test_a_supervisor_adds_edits_and_removes_a_roster_line(people: dict[str, Browser]) -> None:
    sup = people["supervisor"]
    page = sup.get("/staff/truc")
    assert page.status_code == 200 and "Lịch trực tổng đài" in page.body.decode()
    # Given a new line for someone answering from home on weekdays 0-2
    added = sup.post("/staff/truc", [("version", _version(page.body.decode())), ("action", "add"),
                                     *_entry("page-home@x.vn", "0909 123 456", kind="external")])
    assert added.status_code == 303
    stored = roster.current(consistent=True)
    index = next(i for i, e in enumerate(stored.entries) if e.staff == "page-home@x.vn")
    assert stored.entries[index].target == "+84909123456" and stored.entries[index].days == frozenset({0, 1, 2})
    html = unescape(sup.get("/staff/truc").body.decode())
    assert "page-home" in html and "T2, T3, T4" in html and "07:00–20:00" in html
    # When they edit it to the weekend, then remove it
    edit = sup.get(f"/staff/truc?edit={index}").body.decode()
    assert 'value="page-home@x.vn"' in edit
    assert sup.post("/staff/truc", [("version", _version(edit)), ("action", "edit"), ("index", str(index)),
                                    *_entry("page-home@x.vn", "0909123456", "external", ("5", "6"))]).status_code == 303
    assert roster.current(consistent=True).entries[index].days == frozenset({5, 6})
    version = _version(sup.get("/staff/truc").body.decode())
    assert sup.post("/staff/truc", [("version", version), ("action", "remove"), ("index", str(index))]).status_code == 303
    assert "page-home@x.vn" not in {e.staff for e in roster.current(consistent=True).entries}


def test_saving_over_a_roster_someone_else_saved_first_is_a_409_and_changes_nothing(people: dict[str, Browser]) -> None:
    sup, admin = people["supervisor"], people["admin"]
    seen = _version(sup.get("/staff/truc").body.decode())
    assert admin.post("/staff/truc", [("version", seen), ("action", "add"),
                                      *_entry("page-first@x.vn", "first")]).status_code == 303
    late = sup.post("/staff/truc", [("version", seen), ("action", "add"), *_entry("page-late@x.vn", "late")])
    assert late.status_code == 409 and "người khác lưu trước" in late.body.decode()
    staff = {e.staff for e in roster.current(consistent=True).entries}
    assert "page-first@x.vn" in staff and "page-late@x.vn" not in staff
    # The page shown with the 409 carries the new version: sending it again works
    assert sup.post("/staff/truc", [("version", _version(late.body.decode())), ("action", "add"),
                                    *_entry("page-late@x.vn", "late")]).status_code == 303


def test_a_bad_line_is_refused_with_the_fields_named_and_nothing_saved(people: dict[str, Browser]) -> None:
    sup = people["supervisor"]
    before = roster.current(consistent=True)
    bad = sup.post("/staff/truc", [("version", str(before.version)), ("action", "add"),
                                   ("staff", "page-bad@x.vn"), ("kind", "external"), ("target", "123"),
                                   ("start", "20:00"), ("end", "07:00")])
    html = bad.body.decode()
    assert bad.status_code == 400 and 'id="target-error"' in html and 'id="days-error"' in html
    assert 'id="end-error"' in html and roster.current(consistent=True).version == before.version


def test_officers_may_not_see_or_edit_the_roster_and_operators_only_read_it(people: dict[str, Browser]) -> None:
    officer, op = people["officer"], people["operator"]
    assert officer.get("/staff/truc").status_code == 403
    version = str(roster.current(consistent=True).version)
    for who in (officer, op):
        refused = who.post("/staff/truc", [("version", version), ("action", "add"), *_entry("page-x@x.vn", "x")])
        assert refused.status_code == 403
    html = op.get("/staff/truc").body.decode()
    assert 'id="roster-readonly"' in html and 'id="roster-form"' not in html and 'id="remove-0"' not in html
    assert "page-x@x.vn" not in {e.staff for e in roster.current(consistent=True).entries}
    # An officer's header has no available / away switch; no call links either
    inbox = officer.get("/staff/inbox").body.decode()
    assert 'id="duty"' not in inbox and 'id="nav-roster"' not in inbox and 'id="call-pop"' not in inbox
    # A supervisor who answers no calls has the roster link but no switch of their own
    supervising = people["supervisor"].get("/staff/inbox").body.decode()
    assert 'id="nav-roster"' in supervising and 'id="duty"' not in supervising


def test_an_operator_switches_themselves_away_and_back_and_no_one_else(people: dict[str, Browser]) -> None:
    op = people["operator"]
    header = op.get("/staff/inbox").body.decode()
    assert 'id="duty-state">Sẵn sàng' in header and 'name="back" value="/staff/inbox"' in header
    # Away: the form names no one, so another person's e-mail in it changes nothing but their own state
    went = op.post("/staff/truc/trang-thai", [("away", "1"), ("back", "/staff/truc"),
                                               ("staff", "giamsat@demo.1022.vn")])
    assert went.status_code == 303 and went.headers["Location"].endswith("/staff/truc")
    now = roster.current(consistent=True)
    assert now.is_away("tongdai@demo.1022.vn") and not now.is_away("giamsat@demo.1022.vn")
    assert 'id="duty-state">Tạm vắng' in op.get("/staff/inbox").body.decode()
    # A back link off the console is not followed
    back = op.post("/staff/truc/trang-thai", [("away", "0"), ("back", "https://evil.example/")])
    assert back.headers["Location"].endswith("/staff/inbox")
    assert not roster.current(consistent=True).is_away("tongdai@demo.1022.vn")
    # Without the CSRF token nothing changes
    forged = op.client.http.post("/staff/truc/trang-thai", headers={"Content-Type": FORM,
                                 "Cookie": f"hl_id={op.token}; hl_csrf=t"}, body=b"away=1")
    assert forged.status_code == 403 and not roster.current(consistent=True).is_away("tongdai@demo.1022.vn")


# The screen-pop, the call log and a ticket made from a call


def _ring(caller: str | None, ringing_to: str | None = "tongdai@demo.1022.vn") -> str:
    """A call the answer_url has just offered: ringing now (T-A's store, as the webhook writes it)."""
    import secrets
    from datetime import datetime, timedelta, timezone

    from chalicelib.store import calls

    now = datetime.now(timezone.utc)
    call_id = f"call-vn-test-{secrets.token_hex(6)}"
    assert calls.record_offer(calls.Offer(call_id=call_id, direction="in", caller=caller, caller_raw=caller,
                                          route="operators", rings=[], record=False, at=now,
                                          keep_until=now + timedelta(days=30), ringing_to=ringing_to))
    return call_id


def _intake(op: Browser, phone: str, text: str, call_id: str | None = None) -> str:
    fields = [("phone", phone), ("description", text), ("form_token", phone + text[:5])]
    response = op.post("/staff/intake", fields + ([("call_id", call_id)] if call_id else []))
    assert response.status_code == 303, response.body.decode()[:500]
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_a_ringing_call_pops_up_with_the_callers_tickets_and_becomes_a_ticket(people: dict[str, Browser]) -> None:
    from tests.conftest import unique_phone
    from chalicelib.store import calls

    op = people["operator"]
    phone = unique_phone()
    earlier = _intake(op, phone, "Cống thoát nước trước nhà số 5 bị nghẹt, nước tràn ra đường")
    call_id = _ring("+84" + phone[1:])
    # The poll names the call for this operator, with the number for display only, and reads one thing
    from tests.integration.test_telephony import aws_calls

    with aws_calls() as made:
        polled = op.get("/staff/calls/live")
    assert made == ["Query"]  # the live-call partition; the session is a signed cookie
    assert polled.status_code == 200 and polled.headers["Cache-Control"] == "no-store"
    mine = next(c for c in polled.json_body["calls"] if c["call_id"] == call_id)
    assert mine["ringing_to"] == polled.json_body["me"] == "tongdai@demo.1022.vn" and mine["status"] == "ringing"
    assert mine["caller_display"] == f"{phone[:4]} {phone[4:7]} {phone[7:]}" and "caller" not in mine
    # The card shows the caller's open ticket and both buttons, by call id only
    card = op.get(f"/staff/cuoc-goi/{call_id}/the?bare=1").body.decode()
    assert earlier in card and f"?call={call_id}" in card and f"Thêm vào phản ánh {earlier}" in card
    assert "<html" not in card and phone not in card.replace(f'value="{phone}"', "")
    # "Tạo phản ánh từ cuộc gọi": the intake comes with the number filled in and the call attached on submit
    intake = op.get(f"/staff/intake?call={call_id}").body.decode()
    assert f'id="phone" name="phone" value="+84{phone[1:]}"' in intake and f'name="call_id" value="{call_id}"' in intake
    code = _intake(op, "+84" + phone[1:], "Người gọi báo cây đổ chắn ngang đường vào trường học", call_id)
    assert code in calls.get(call_id)["tickets"]
    # "Thêm vào phản ánh": the call is added to the earlier ticket too
    added = op.post(f"/staff/cuoc-goi/{call_id}/gan", [("code", earlier)])
    assert added.status_code == 303 and added.headers["Location"].endswith(f"/staff/tickets/{earlier}")
    assert {code, earlier} <= set(calls.get(call_id)["tickets"])
    # Without JavaScript: the call log lists the live call with the same way in
    log = op.get("/staff/cuoc-goi").body.decode()
    assert f"/staff/intake?call={call_id}" in log and f"/staff/cuoc-goi/{call_id}/the" in log


def test_the_admin_home_says_which_telephony_settings_apply(people: dict[str, Browser]) -> None:
    page = unescape(people["admin"].get("/staff/quan-tri").body.decode())
    settings = page[page.index('id="telephony-settings"'):]
    assert "Ghi âm cuộc gọi: không" in settings and "đổ chuông 20 giây, lần lượt tối đa 3 người" in settings
    assert "được giữ 365 ngày" in settings and "1022.tayninh.gov.vn" in settings


def test_officers_get_no_calls_and_a_supervisor_sees_the_days_log(people: dict[str, Browser]) -> None:
    officer, sup = people["officer"], people["supervisor"]
    call_id = _ring("+84912000111", ringing_to=None)
    assert officer.get("/staff/calls/live").status_code == 403
    assert officer.get("/staff/cuoc-goi").status_code == 403
    assert officer.get(f"/staff/cuoc-goi/{call_id}/the").status_code == 403
    assert officer.post(f"/staff/cuoc-goi/{call_id}/gan", [("code", "TN-X")]).status_code == 403
    page = sup.get("/staff/cuoc-goi")
    assert page.status_code == 200 and "0912 000 111" in page.body.decode()
    assert sup.get("/staff/cuoc-goi/not a call/the").status_code == 404
    assert sup.get("/staff/goi-lai").status_code == 200


def test_call_back_on_a_ticket_rings_the_operator_then_the_reporter(people: dict[str, Browser], monkeypatch: Any) -> None:
    from dataclasses import replace
    from datetime import datetime, time, timezone

    from chalicelib.domain.roster import EXTERNAL, Entry
    from tests.conftest import unique_phone

    op, officer = people["operator"], people["officer"]
    phone = unique_phone()
    code = _intake(op, phone, "Người dân đề nghị gọi lại để hướng dẫn thủ tục cấp phép xây dựng")
    placed: list[tuple[Any, ...]] = []
    monkeypatch.setattr("chalicelib.notify.stringee.callout",
                        lambda source, to, actions, custom: placed.append((to, actions)) or "call-vn-out-1")
    page = op.get(f"/staff/tickets/{code}").body.decode()
    assert 'id="call-back-button"' in page and "/goi-lai" in page and phone not in page.split('id="reporter"')[0]
    start = roster.current(consistent=True)
    mine = [e for e in start.entries if e.staff == "tongdai@demo.1022.vn"]
    if mine:  # the operator must be on no roster line for the first part
        roster.save(replace(start, entries=tuple(e for e in start.entries if e not in mine)), start.version,
                    "staff:test", datetime.now(timezone.utc))
    try:
        # Not on the roster: the hotline does not know where to ring them, and says so
        refused = op.post(f"/staff/tickets/{code}/goi-lai", [])
        assert refused.status_code == 400 and "lịch trực" in refused.body.decode() and not placed
        # On the roster (from home): their phone rings first, then the reporter's number is connected
        now = roster.current(consistent=True)
        home = Entry("tongdai@demo.1022.vn", "Mai", EXTERNAL, "+84909555111", frozenset(range(7)), time(0), time(23))
        roster.save(replace(now, entries=now.entries + (home,)), now.version, "staff:test", datetime.now(timezone.utc))
        done = op.post(f"/staff/tickets/{code}/goi-lai", [])
        assert done.status_code == 303 and done.headers["Location"].endswith(f"/staff/tickets/{code}")
        assert placed[0][0] == [(EXTERNAL, "+84909555111")] and phone[1:] in str(placed[0][1])
        assert "Cuộc gọi" in op.get(f"/staff/tickets/{code}").body.decode()
        # An agency officer has no such button and may not post it
        assert officer.post(f"/staff/tickets/{code}/goi-lai", []).status_code == 403
        # "Gọi lại" on the tasks page dials the task's caller, whatever number the form posts
        from chalicelib.store import calls
        from tests.integration.test_telephony import end, new_call_id, offer, vn

        caller, foreign, missed = unique_phone(), unique_phone(), new_call_id()
        offer(missed, caller, vn("2026-12-01T10:00"))
        end(missed, vn("2026-12-01T10:01"))
        key = calls.task_key("+84" + caller[1:])
        posted = op.post("/staff/goi-lai", [("task", key), ("action", "call"), ("phone", foreign)])
        assert posted.status_code == 303 and calls.task(key).attempt_call
        dialled = placed[-1][1][0]["to"]["number"]
        assert dialled == "84" + caller[1:] and foreign[1:] not in str(placed[-1])
        gone = op.post("/staff/goi-lai", [("task", "x" * 40), ("action", "call"), ("phone", foreign)])
        assert gone.status_code == 409 and len(placed) == 2  # no such open task: nothing dialled
    finally:
        now = roster.current(consistent=True)
        roster.save(replace(now, entries=tuple(e for e in now.entries if e.staff != "tongdai@demo.1022.vn") + tuple(mine)),
                    now.version, "staff:test", datetime.now(timezone.utc))


def test_a_voicemail_left_after_hours_is_a_call_task_the_operator_closes(people: dict[str, Browser], providers: Any) -> None:
    from datetime import timedelta

    from chalicelib.store import calls
    from tests.conftest import unique_phone
    from tests.integration.test_telephony import end, leave_voicemail, new_call_id, offer, vn

    op = people["operator"]
    phone = unique_phone()
    call_id, at = new_call_id(), vn("2026-12-01T21:10")  # after hours
    offer(call_id, phone, at)
    leave_voicemail(call_id)
    end(call_id, at + timedelta(minutes=1))
    key = calls.task_key("+84" + phone[1:])
    page = op.get("/staff/goi-lai").body.decode()
    section = page[page.index(f'value="{key}"') - 1500:page.index(f'value="{key}"')]
    display = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    assert display in section and "hạn 02/12/2026 07:00" in section
    # the voicemail is linked through our route (no provider URL, no phone in the link); it redirects there
    assert f'href="/staff/cuoc-goi/{call_id}/ghi-am"' in page and "rec.example" not in page
    heard = op.get(f"/staff/cuoc-goi/{call_id}/ghi-am")
    assert heard.status_code == 302 and heard.headers["Location"] == f"https://rec.example/{call_id}.wav"
    assert heard.headers["Referrer-Policy"] == "no-referrer" and heard.headers["Cache-Control"] == "no-store"
    assert op.get(f"/staff/cuoc-goi/{call_id}/ghi-am?loai=cuoc-goi").status_code == 404  # not recorded
    assert people["officer"].get(f"/staff/cuoc-goi/{call_id}/ghi-am").status_code == 403
    # An outcome that is not one of the list is refused; "Không cần gọi lại" closes the task
    assert op.post("/staff/goi-lai", [("task", key), ("action", "outcome"), ("outcome", "maybe")]).status_code == 400
    closed = op.post("/staff/goi-lai", [("task", key), ("action", "outcome"), ("outcome", "not_needed"),
                                        ("note", "Người dân đã tự liên hệ lại")])
    assert closed.status_code == 303 and calls.task(key) is None
    assert f'value="{key}"' not in op.get("/staff/goi-lai").body.decode()
    assert people["officer"].get("/staff/goi-lai").status_code == 403
