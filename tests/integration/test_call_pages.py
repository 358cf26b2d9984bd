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
