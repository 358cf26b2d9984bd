"""Admin pages for reference data, on the emulator through the real app: a category's keywords
previewed on a sample message before saving (the router's own decision, with the unsaved edit and
with the data in use), every save a version with who/when/what, two admins at once (409, nothing
typed lost), Vietnamese errors next to their fields, the history's diff, rollback, the versions API,
staff role and agency changes, and the audit trail's filters and pages.

Every test here that saves reference data puts the document back as it was (a new version), so the
rest of the session routes with the shipped data."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from html import unescape
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.store import audit
from chalicelib.store.reference import current_document, load_reference, save_reference
from tests.conftest import bearer

FORM = "application/x-www-form-urlencoded"
SAMPLE = "Chó thả rông ở phường Long Hoa cắn người đi đường"


def _text(html: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _by_id(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(td|section|table|div|p)>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return _text(match.group(1)).strip()


def _field(html: str, name: str) -> str:
    """The value an input or textarea of the page's edit form holds."""
    found = re.search(rf'<textarea id="{name}" name="{name}"[^>]*>(.*?)</textarea>', html, re.S) or \
        re.search(rf'name="{name}"[^>]*? value="([^"]*)"', html)
    assert found, f"no field {name}"
    return unescape(found.group(1))


class Admin:
    """An admin's browser without the browser: the session cookies and the CSRF token."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def get(self, path: str) -> Any:
        return self.client.http.get(path, headers={"Cookie": f"hl_id={self.token}; hl_csrf=t"})

    def post(self, path: str, **fields: str) -> Any:
        return self.client.http.post(path, headers={"Content-Type": FORM, "Cookie": f"hl_id={self.token}; hl_csrf=t"},
                                     body=urlencode({"csrf": "t", **fields}).encode())

    def api(self, path: str) -> Any:
        return self.client.http.get(path, headers=bearer(self.token))


@pytest.fixture
def admin(client: Any, staff: dict[str, str]) -> Iterator[Admin]:
    """The demo admin; the reference document is put back as it was afterwards."""
    document, version = current_document()
    yield Admin(client, staff["admin"])
    _, now = current_document()
    if now != version:
        save_reference({**document, "version": (now or 0) + 1}, now, actor="test:cleanup")


def _category_form(html: str, **changes: str) -> dict[str, str]:
    """The category form as the page filled it, with `changes` typed over it."""
    fields = {name: _field(html, name) for name in ("id", "version", "name", "sla_working_days", "keywords")}
    fields["agency"] = re.search(r'<select id="agency" name="agency".*?<option value="([^"]*)" selected',
                                 html, re.S).group(1)
    if 'name="confidential" value="1" checked' in html:
        fields["confidential"] = "1"
    return {**fields, **changes}


def test_a_keyword_is_previewed_on_a_sample_message_then_saved_as_a_version_the_router_uses(
        admin: Admin, client: Any) -> None:
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake, routing
    from chalicelib.store import tickets

    page = admin.get("/staff/quan-tri/linh-vuc?id=moi-truong")
    assert page.status_code == 200
    _, version = current_document()
    form = _category_form(page.body.decode())
    assert form["version"] == str(version) and "rac thai = 4" in form["keywords"]
    # Given a sample message the data in use does not put under the environment
    typed = form["keywords"] + "\nchó thả rông = 5"
    preview = admin.post("/staff/quan-tri/linh-vuc", **{**form, "keywords": typed, "sample": SAMPLE,
                                                        "step": "preview"})
    body = preview.body.decode()
    assert preview.status_code == 200
    # When previewed: the unsaved edit routes it to the environment, the commune's committee, with a deadline
    assert _by_id(body, "preview-current-category") != "Môi trường, rác thải"
    assert _by_id(body, "preview-edited-category").startswith("Môi trường, rác thải")
    assert _by_id(body, "preview-edited-area") == _by_id(body, "preview-current-area") == "Phường Long Hoa"
    assert _by_id(body, "preview-edited-agency").startswith("UBND Phường Long Hoa")
    assert re.match(r"\d\d/\d\d/\d{4} \d\d:\d\d", _by_id(body, "preview-edited-due"))
    assert "chó thả rông = 5" in _field(body, "keywords") and _field(body, "sample") == SAMPLE  # nothing typed lost
    assert current_document()[1] == version  # and nothing saved
    # When saved: a new version, which the router uses at once
    saved = admin.post("/staff/quan-tri/linh-vuc", **{**form, "keywords": typed, "step": "save"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/staff/quan-tri/linh-vuc?id=moi-truong")
    assert current_document()[1] == version + 1
    code = intake.submit(validate_submission({"description": SAMPLE, "phone": "0912000111"},
                                             load_reference()))["tracking_code"]
    routing.route(code)
    routed = tickets.get_ticket(code)
    assert (routed.category, routed.area, routed.agency) == ("moi-truong", "long-hoa", "ubnd-long-hoa")
    # Then the history says who changed what, in words
    listed = admin.api("/api/v1/admin/reference/versions").json_body["versions"][0]
    assert listed["version"] == version + 1 and listed["actor"] == "staff:quantri@demo.1022.vn"
    assert listed["summary"] == "Lĩnh vực: sửa 1 (Môi trường, rác thải)"
    detail = admin.api(f"/api/v1/admin/reference/versions/{version + 1}").json_body
    assert detail["previous"] == version and detail["document"]["version"] == version + 1
    assert detail["changes"] == [{"key": "categories", "title": "Lĩnh vực", "added": [], "removed": [], "changed": [
        {"label": "Môi trường, rác thải", "changes": ["Thêm từ khoá: «chó thả rông» (5)"]}]}]
    history = _text(admin.get(f"/staff/quan-tri/lich-su/{version + 1}").body.decode())
    assert "Thêm từ khoá: «chó thả rông» (5)" in history and "Ngô Thanh Hà" in history


def test_the_second_of_two_admins_saving_at_once_gets_409_and_keeps_what_they_typed(admin: Admin) -> None:
    first = _category_form(admin.get("/staff/quan-tri/linh-vuc?id=giao-duc").body.decode())
    second = dict(first)
    assert admin.post("/staff/quan-tri/linh-vuc", **{**first, "sla_working_days": "7",
                                                      "step": "save"}).status_code == 303
    clash = admin.post("/staff/quan-tri/linh-vuc", **{**second, "name": "Giáo dục, đào tạo", "step": "save"})
    body = clash.body.decode()
    assert clash.status_code == 409 and "Đã có người sửa trước" in _text(body)
    assert _field(body, "name") == "Giáo dục, đào tạo"  # what they typed is still there
    stored = current_document()
    assert next(c for c in stored[0]["categories"] if c["id"] == "giao-duc")["name"] == "Giáo dục"
    # saving again goes onto the newer version and keeps the other admin's change
    assert _field(body, "version") == str(stored[1])
    again = admin.post("/staff/quan-tri/linh-vuc", **{**second, "name": "Giáo dục, đào tạo",
                                                       "version": _field(body, "version"), "step": "save"})
    assert again.status_code == 303
    category = next(c for c in current_document()[0]["categories"] if c["id"] == "giao-duc")
    assert category["name"] == "Giáo dục, đào tạo" and category["sla_working_days"] == int(second["sla_working_days"])


def test_bad_input_is_refused_field_by_field_in_vietnamese_and_nothing_typed_is_lost(admin: Admin) -> None:
    _, version = current_document()
    form = _category_form(admin.get("/staff/quan-tri/linh-vuc?id=giao-thong").body.decode())
    bad = admin.post("/staff/quan-tri/linh-vuc", **{**form, "sla_working_days": "0", "agency": "khong-co",
                                                     "keywords": "ổ gà = 3\nđèn đỏ = nhiều\nỔ gà = 2", "step": "save"})
    body = bad.body.decode()
    assert bad.status_code == 400
    assert _by_id(body, "err-sla_working_days") == "Thời hạn trả lời là số ngày làm việc, từ 1 đến 60."
    assert _by_id(body, "err-agency") == "Cơ quan không có trong danh mục."
    assert _by_id(body, "err-keywords") == ("Từ khoá chưa đúng: dòng 2: trọng số phải là số lớn hơn 0 và không quá "
                                            "20; dòng 3: «ổ gà» trùng với dòng 1.")
    assert _field(body, "keywords") == "ổ gà = 3\nđèn đỏ = nhiều\nỔ gà = 2"
    calendar = admin.post("/staff/quan-tri/lich", part="calendar", version=str(version), step="save",
                          office_hours="07:30-11:30\n13:30-17:00", holidays="01/01/2027\n31/02/2027",
                          makeup_saturdays="04/01/2027")
    body = calendar.body.decode()
    assert calendar.status_code == 400
    assert "dòng 2: «31/02/2027» không phải ngày" in _by_id(body, "err-holidays")
    assert "04/01/2027 không phải thứ Bảy" in _by_id(body, "err-makeup_saturdays")
    assert _field(body, "holidays") == "01/01/2027\n31/02/2027"
    hours = admin.post("/staff/quan-tri/lich", part="hours", version=str(version), step="save", opens="20:00",
                       closes="07:00")
    assert hours.status_code == 400 and _by_id(hours.body.decode(), "err-closes") == "Giờ đóng phải sau giờ mở."
    area = admin.post("/staff/quan-tri/dia-ban", version=str(version), step="save", kind="xa", name="Tân Lập",
                      agency="")
    assert area.status_code == 400 and "Tên phải bắt đầu bằng «Xã»" in _by_id(area.body.decode(), "err-name")
    agency = admin.post("/staff/quan-tri/co-quan", version=str(version), step="save", name="Sở Du lịch",
                        email="sodulich@", supervisor_phone="12345", supervisor_sms_escalations="1")
    body = agency.body.decode()
    assert agency.status_code == 400 and _by_id(body, "err-email") == "Email không hợp lệ."
    assert current_document()[1] == version
    fixed = admin.post("/staff/quan-tri/co-quan", version=str(version), step="save", name="Sở Du lịch",
                       email="sodulich@example.gov.vn", supervisor_phone="12345", supervisor_sms_escalations="1")
    assert fixed.status_code == 400 and _by_id(fixed.body.decode(), "err-supervisor_phone") == \
        "Số điện thoại không hợp lệ."
    assert current_document()[1] == version


def test_communes_agencies_calendar_and_hours_are_each_saved_as_a_version(admin: Admin) -> None:
    _, version = current_document()
    agency = admin.post("/staff/quan-tri/co-quan", version=str(version), step="save", name="Sở Du lịch",
                        email="sodulich@example.gov.vn", phone="0276 3822 099", on_duty="07:30-17:00")
    assert agency.status_code == 303 and agency.headers["Location"].endswith("?id=so-du-lich")
    area = admin.post("/staff/quan-tri/dia-ban", version=str(version + 1), step="save", kind="xa",
                      name="Xã Tân Lập Mới", agency="so-du-lich")
    assert area.status_code == 303
    calendar = admin.post("/staff/quan-tri/lich", part="calendar", version=str(version + 2), step="save",
                          office_hours="07:30-11:30\n13:30-17:00",
                          holidays=_field(admin.get("/staff/quan-tri/lich").body.decode(), "holidays") + "\n24/12/2027",
                          makeup_saturdays="09/01/2027")
    assert calendar.status_code == 303
    hours = admin.post("/staff/quan-tri/lich", part="hours", version=str(version + 3), step="save", opens="07:00",
                       closes="21:30")
    assert hours.status_code == 303
    ref = load_reference()
    assert ref.agencies["so-du-lich"].email == "sodulich@example.gov.vn"
    assert ref.areas["tan-lap-moi"].agency == "so-du-lich" and ref.areas["tan-lap-moi"].kind == "xa"
    assert ref.calendar is not None and not ref.calendar.is_working_day(datetime(2027, 12, 24).date())
    assert ref.calendar.is_working_day(datetime(2027, 1, 9).date()) and ref.hotline_closes.hour == 21
    summaries = [v["summary"] for v in admin.api("/api/v1/admin/reference/versions").json_body["versions"][:4]]
    assert summaries == ["Giờ trực tổng đài: sửa 1", "Lịch làm việc: thêm 2", "Xã, phường: thêm 1",
                         "Cơ quan xử lý: thêm 1"]


def test_a_missing_holiday_list_is_flagged_in_vietnamese_on_the_pages_and_in_both_languages_by_the_api(
        admin: Admin) -> None:
    # Given reference data without next year's public holidays
    year = str(datetime.now(timezone.utc).year + 1)
    document, version = current_document()
    calendar = {**document["calendar"], "holidays": {y: d for y, d in document["calendar"]["holidays"].items()
                                                     if y != year}}
    save_reference({**document, "calendar": calendar, "version": (version or 0) + 1}, version, actor="test:setup")
    # Then the admin's home and calendar pages say so, in Vietnamese only
    for path in ("/staff/quan-tri", "/staff/quan-tri/lich"):
        page = _text(admin.get(path).body.decode())
        assert f"Chưa có danh sách ngày nghỉ lễ năm {year}." in page and "No holiday list" not in page, path
    # ... and the JSON API gives the message and its English apart
    assert {"message": f"Chưa có danh sách ngày nghỉ lễ năm {year}.", "message_en": f"No holiday list for {year}."} \
        in admin.api("/api/v1/admin/reference").json_body["warnings"]


def test_rollback_saves_an_old_version_as_a_new_one_and_the_diff_shows_what_it_undid(admin: Admin) -> None:
    _, version = current_document()
    form = _category_form(admin.get("/staff/quan-tri/linh-vuc?id=giao-thong").body.decode())
    was = int(form["sla_working_days"])
    shorter = 3 if was != 3 else 2
    assert admin.post("/staff/quan-tri/linh-vuc", **{**form, "sla_working_days": str(shorter),
                                                      "step": "save"}).status_code == 303
    changed = _text(admin.get(f"/staff/quan-tri/lich-su/{version + 1}").body.decode())
    assert f"Giao thông, đường sá Thời hạn (ngày làm việc): {was} → {shorter}" in changed
    stale = admin.post(f"/staff/quan-tri/lich-su/{version}", version=str(version))
    assert stale.status_code == 409 and "Đã có người sửa trước" in _text(stale.body.decode())
    rolled = admin.post(f"/staff/quan-tri/lich-su/{version}", version=str(version + 1))
    assert rolled.status_code == 303 and rolled.headers["Location"].endswith(f"/staff/quan-tri/lich-su/{version + 2}")
    document, now = current_document()
    assert now == version + 2 and load_reference().categories["giao-thong"].sla_working_days == was
    detail = admin.api(f"/api/v1/admin/reference/versions/{version + 2}").json_body
    assert detail["restored_from"] == version and detail["changes"][0]["changed"] == [
        {"label": "Giao thông, đường sá", "changes": [f"Thời hạn (ngày làm việc): {shorter} → {was}"]}]
    trail = audit.search(datetime.now(timezone.utc) - timedelta(minutes=5), datetime.now(timezone.utc)
                         + timedelta(minutes=1), frozenset({"reference_restored"}))[0]
    assert trail[0].detail == {"version": version + 2, "restored_from": version,
                               "summary": "Lĩnh vực: sửa 1 (Giao thông, đường sá)"}


def test_the_versions_api_pages_and_refuses_strangers(admin: Admin, client: Any, staff: dict[str, str]) -> None:
    token = bearer(staff["admin"], **{"Content-Type": "application/json"})
    current = client.http.get("/api/v1/admin/reference", headers=token).json_body
    put = client.http.put("/api/v1/admin/reference", headers={**token, "If-Match": str(current["version"])},
                          body=json.dumps({**current["document"], "version": current["version"] + 1,
                                           "hotline_hours": {"opens": "06:30", "closes": "20:00"}}).encode())
    assert put.status_code == 200
    first = admin.api("/api/v1/admin/reference/versions").json_body
    assert first["versions"][0] == {**first["versions"][0], "version": current["version"] + 1,
                                    "actor": "staff:quantri@demo.1022.vn", "summary": "Giờ trực tổng đài: sửa 1"}
    numbers = [v["version"] for v in first["versions"]]
    assert numbers == sorted(numbers, reverse=True)
    if first["next"]:
        following = admin.api(f"/api/v1/admin/reference/versions?before={first['next']}").json_body
        assert following["versions"][0]["version"] < numbers[-1]
    assert admin.api("/api/v1/admin/reference/versions?before=abc").status_code == 400
    assert admin.api("/api/v1/admin/reference/versions?before=0").json_body == {"versions": [], "next": None}
    assert admin.api("/api/v1/admin/reference/versions/0").status_code == 404
    assert admin.api("/api/v1/admin/reference/versions/999999").status_code == 404
    assert client.http.get("/api/v1/admin/reference/versions", headers=bearer(staff["operator"])).status_code == 403
    assert client.http.get("/api/v1/admin/reference/versions/1").status_code == 401
    assert admin.client.http.get("/staff/quan-tri/linh-vuc",
                                 headers={"Cookie": f"hl_id={staff['supervisor']}"}).status_code == 403


def test_an_admin_changes_a_staff_members_role_and_agency_but_not_their_own_admin_role(
        client: Any, staff: dict[str, str]) -> None:
    from chalicelib import aws, identity
    from chalicelib.config import settings

    email = f"doivaitro-{uuid.uuid4().hex[:6]}@demo.1022.vn"
    identity.create_staff(email, "Nhân viên đổi vai trò", "operator", None)
    admin = Admin(client, staff["admin"])
    missing = admin.post("/staff/accounts", change=email, role="agency_officer", agency="")
    assert missing.status_code == 400 and "Cán bộ cơ quan cần có cơ quan." in missing.body.decode()
    assert admin.post("/staff/accounts", change=email, role="agency_officer", agency="so-y-te").status_code == 303
    cognito, pool = aws.client("cognito-idp"), settings().cognito_user_pool_id
    groups = [g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool, Username=email)["Groups"]]
    attributes = _attributes(cognito, pool, email)
    assert groups == ["agency_officer"] and attributes["custom:agency"] == "so-y-te"
    page = admin.get("/staff/accounts").body.decode()
    officers = page[page.index("<h2>Cán bộ cơ quan xử lý</h2>"):page.index("<h2>Giám sát</h2>")]
    assert email in officers and "Sở Y tế" in _text(officers)
    assert admin.post("/staff/accounts", change=email, role="supervisor", agency="").status_code == 303
    attributes = _attributes(cognito, pool, email)
    assert "custom:agency" not in attributes
    itself = admin.post("/staff/accounts", change="quantri@demo.1022.vn", role="operator", agency="")
    assert itself.status_code == 400 and "Không thể tự bỏ vai trò quản trị của mình" in itself.body.decode()
    assert [g["GroupName"] for g in cognito.admin_list_groups_for_user(
        UserPoolId=pool, Username="quantri@demo.1022.vn")["Groups"]] == ["admin"]
    changes = [e.detail for e in audit.search(datetime.now(timezone.utc) - timedelta(minutes=5),
                                              datetime.now(timezone.utc) + timedelta(minutes=1),
                                              frozenset({"staff_role_changed"}))[0] if e.detail["email"] == email]
    assert changes == [{"email": email, "role_before": "agency_officer", "role": "supervisor",
                        "agency_before": "so-y-te", "agency": "—"},
                       {"email": email, "role_before": "operator", "role": "agency_officer",
                        "agency_before": "—", "agency": "so-y-te"}]


def _attributes(cognito: Any, pool: str, email: str) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in cognito.admin_get_user(UserPoolId=pool, Username=email)["UserAttributes"]}


def _rows(html: str) -> list[tuple[str, str, str]]:
    """(time, kind label, actor) of each row of the audit table, top to bottom."""
    table = html[html.index('id="audit"'):]
    return [(unescape(t), _text(k).strip(), _text(a).strip()) for t, k, a in re.findall(
        r'<tr class="audit-[a-z_]+"><td><time datetime="([^"]+)">.*?</time></td>\s*<td>(.*?)</td><td>(.*?)</td>',
        table, re.S)]


def test_the_audit_trail_filters_by_who_what_and_when_newest_first_a_page_at_a_time(
        client: Any, staff: dict[str, str]) -> None:
    from chalicelib import identity

    start = datetime(2025, 3, 10, 2, 0, tzinfo=timezone.utc)
    for i in range(53):
        audit.record("template_edited", "staff:quantri@demo.1022.vn", start + timedelta(hours=i), template=f"t{i}")
    audit.record("staff_created", "staff:giamsat@demo.1022.vn", start + timedelta(days=1, minutes=30),
                 email="x@demo.1022.vn", role="operator")
    audit.record("reference_saved", "system:seed", datetime(2025, 4, 2, 3, 0, tzinfo=timezone.utc), version=1)
    people = {p["email"]: p["sub"] for group in identity.staff_by_role().values() for p in group}
    admin = Admin(client, staff["admin"])
    page = admin.get("/staff/nhat-ky?" + urlencode({"from": "2025-03-01", "to": "2025-03-31",
                                                     "actor": people["quantri@demo.1022.vn"]}))
    rows = _rows(page.body.decode())
    assert page.status_code == 200 and len(rows) == 50
    assert [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
    assert {r[1] for r in rows} == {"Sửa mẫu trả lời"} and {r[2] for r in rows} == {
        "Ngô Thanh Hà (quản trị) (quantri@demo.1022.vn)"}
    following = unescape(re.search(r'href="([^"]+)" id="audit-next"', page.body.decode()).group(1))
    assert "quantri" not in following and "@" not in following  # no e-mail in a URL
    rest = _rows(admin.get(following).body.decode())
    assert len(rest) == 3 and rest[-1][0] == start.isoformat()
    accounts = _rows(admin.get("/staff/nhat-ky?" + urlencode({"from": "2025-03-01", "to": "2025-04-30",
                                                              "kind": "accounts"})).body.decode())
    assert accounts == [((start + timedelta(days=1, minutes=30)).isoformat(), "Tạo tài khoản",
                         "Đặng Quốc Việt (giám sát) (giamsat@demo.1022.vn)")]
    system = _rows(admin.get("/staff/nhat-ky?" + urlencode({"from": "2025-03-01", "to": "2025-04-30",
                                                            "actor": "system"})).body.decode())
    assert system == [("2025-04-02T03:00:00+00:00", "Sửa dữ liệu danh mục", "Hệ thống (dữ liệu ban đầu)")]
    # a day is a day in Vietnam: 10/03 holds the entries from 09:00 (02:00 UTC) to 23:00 (16:00 UTC), not the UTC day's
    day = _rows(admin.get("/staff/nhat-ky?" + urlencode({"from": "2025-03-10", "to": "2025-03-10",
                                                         "kind": "template_edited"})).body.decode())
    assert len(day) == 15 and day[0][0] == "2025-03-10T16:00:00+00:00"
    bad = admin.get("/staff/nhat-ky?" + urlencode({"from": "2025-05-01", "to": "2025-03-01", "kind": "khac"}))
    body = bad.body.decode()
    assert bad.status_code == 400 and _by_id(body, "err-from") == "Ngày bắt đầu phải trước ngày kết thúc."
    assert _by_id(body, "err-kind") == "Loại việc không hợp lệ." and _rows(body) == []
    assert admin.get("/staff/nhat-ky?month=2026-13").status_code == 400
    assert admin.client.http.get("/staff/nhat-ky", headers={"Cookie": f"hl_id={staff['operator']}"}).status_code == 403
    assert len(_rows(admin.get("/staff/nhat-ky?month=2025-03").body.decode())) == 50
