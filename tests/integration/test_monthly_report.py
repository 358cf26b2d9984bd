"""The monthly report's lists, through the real use cases on the emulator: each overdue ticket with
why it is late (its latest extension, or the delay reason an agency officer records on the ticket),
and the notable cases with the month's low ratings beside reopened and late answers — a citizen's
comment only where the viewer may see the reporter; an agency officer sees their agency's only. Then
the `reports` schedule, run by the local stack's worker at a clock moved to the 1st, e-mails the
report with its A4 page and spreadsheet links."""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import app
from chalicelib.domain import monthly_report as mr
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.reports import validate_submission
from chalicelib.services import console, exports, intake, routing, satisfaction
from chalicelib.store import export_jobs, tickets
from chalicelib.store.reference import load_reference
from devstack.clock import Clock
from devstack.worker import Worker
from tests.conftest import unique_phone
from tests.integration.test_channels import pump
from tests.integration.test_exports import _forget_report, _get, _report_mails
from tests.unit.test_xlsx import read_workbook

MONTH = "2026-06"
SUPERVISOR = StaffUser(sub="s-report", email="giamsat-report@demo.1022.vn", name="Giám sát báo cáo",
                       roles=frozenset({"supervisor"}))
POLICE = StaffUser(sub="a-report", email="congan-report@demo.1022.vn", name="Cán bộ công an",
                   roles=frozenset({"agency_officer"}), agency="cong-an-tinh")
OPERATOR = StaffUser(sub="o-report", email="tongdai-report@demo.1022.vn", name="Tổng đài báo cáo",
                     roles=frozenset({"operator"}))


def at(day: int, hm: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{MONTH}-{day:02d}T{hm}").replace(tzinfo=VN_TZ)


def _new(when: datetime, category: str, agency: str) -> str:
    fields = {"description": f"Phản ánh báo cáo tháng {uuid.uuid4().hex[:6]}", "phone": unique_phone(),
              "name": "Lê Thị Tám", "category": category, "area": "tan-ninh"}
    code = intake._create(validate_submission(fields, load_reference()), now=when)["tracking_code"]
    routing.route(code, now=when + timedelta(minutes=1))
    if tickets.get_ticket(code).agency != agency:
        _act(SUPERVISOR, code, "assign", when + timedelta(minutes=2), agency=agency)
    return code


def _act(user: StaffUser, code: str, action: str, when: datetime, **form: str) -> None:
    console.act(user, code, action, {"version": str(tickets.get_ticket(code).version), **form}, now=when)


def _rate(code: str, stars: str, comment: str, when: datetime) -> None:
    satisfaction.rate_on_web(code, tickets.get_ticket(code).survey_token, stars, comment, now=when)


@pytest.fixture(scope="module")
def june(stack: Any) -> dict[str, str]:
    """June's tickets for Công an tỉnh (and one of Sở Xây dựng), each in one role of the story."""
    made = {"extended": _new(at(1), "giao-thong", "cong-an-tinh"),
            "explained": _new(at(2), "giao-thong", "cong-an-tinh"),
            "silent": _new(at(3), "giao-thong", "cong-an-tinh")}
    # an extension, still overdue today
    _act(SUPERVISOR, made["extended"], "extend", at(4), working_days="2", reason="Chờ kết quả khảo sát hiện trường")
    # an extension, then the officer's own word on why it is still late: the latest one counts
    _act(SUPERVISOR, made["explained"], "extend", at(4), working_days="1", reason="Cần thêm hồ sơ")
    _act(POLICE, made["explained"], "delay_reason", at(15), reason="Chờ Sở Xây dựng phối hợp kiểm tra")
    # answers the citizens rated low: one plain, one confidential, one of another agency
    for name, category, agency, stars, comment in (
            ("low", "giao-thong", "cong-an-tinh", "1", "Trả lời chung chung, đường vẫn hỏng"),
            ("secret", "an-ninh-trat-tu", "cong-an-tinh", "2", "Tôi là Lê Thị Tám ở ấp 3, vẫn còn đánh bạc"),
            ("other", "giao-thong", "so-xay-dung", "2", "Chưa sửa")):
        made[name] = _new(at(8), category, agency)
        _act(SUPERVISOR, made[name], "resolve", at(9), answer="Đã xử lý.")
        _rate(made[name], stars, comment, at(10))
    made["happy"] = _new(at(8), "giao-thong", "cong-an-tinh")
    _act(SUPERVISOR, made["happy"], "resolve", at(9), answer="Đã xử lý.")
    _rate(made["happy"], "5", "Cảm ơn", at(10))
    return made


def _rows(rows: list[dict[str, Any]], made: dict[str, str]) -> dict[str, Any]:
    codes = {code: name for name, code in made.items()}
    return {codes[row["code"]]: row for row in rows if row["code"] in codes}


def test_each_overdue_ticket_says_why_it_is_late_from_what_staff_recorded(june: dict[str, str]) -> None:
    now = datetime.now(timezone.utc)
    overdue = _rows(exports.monthly(POLICE, MONTH, now)["overdue"], june)
    assert set(overdue) == {"extended", "explained", "silent"}
    assert re.fullmatch(r"Gia hạn đến \d\d/06/2026: Chờ kết quả khảo sát hiện trường", overdue["extended"]["overdue_reason"])
    assert overdue["explained"]["overdue_reason"] == "Chờ Sở Xây dựng phối hợp kiểm tra (ghi ngày 15/06/2026)"
    assert overdue["silent"]["overdue_reason"] is None
    # The delay reason is on the ticket's timeline with who gave it
    said = [e for e in tickets.timeline(june["explained"]) if e.kind == "delay_reason"]
    assert [(e.actor, e.detail["reason"]) for e in said] == [(POLICE.actor, "Chờ Sở Xây dựng phối hợp kiểm tra")]
    # Operators may not give one; a closed or answered ticket is not late
    with pytest.raises(Forbidden):
        _act(OPERATOR, june["silent"], "delay_reason", at(20), reason="Không rõ")
    with pytest.raises(ValidationFailed):
        _act(SUPERVISOR, june["low"], "delay_reason", at(20), reason="Đã trả lời rồi")
    # The spreadsheet's overdue sheet holds the same reasons, and says so where none was given
    sheets = read_workbook(exports.monthly_xlsx(POLICE, MONTH, now).body)
    by_code = {row[0]: row[5] for row in sheets["Quá hạn"][1:]}
    assert by_code[june["explained"]] == "Chờ Sở Xây dựng phối hợp kiểm tra (ghi ngày 15/06/2026)"
    assert by_code[june["silent"]] == mr.NO_REASON
    # ... and so does the list behind the "overdue" figure, as a CSV
    listed = exports.tickets_file(POLICE, {"from": f"{MONTH}-01", "to": f"{MONTH}-30"}, "overdue_open", "csv", now)
    rows = {row[0]: row for row in csv.reader(io.StringIO(listed.body.decode("utf-8-sig")))}
    assert rows["Mã phản ánh"][-1] == "Lý do quá hạn" and rows[june["extended"]][-1].startswith("Gia hạn đến ")


def test_the_months_low_ratings_are_notable_cases_with_the_comment_only_for_who_may_see_the_reporter(
        client: Any, staff: dict[str, str], june: dict[str, str]) -> None:
    now = datetime.now(timezone.utc)
    seen_by_supervisor = _rows(exports.monthly(SUPERVISOR, MONTH, now)["notable"], june)
    assert {"low", "secret", "other"} <= set(seen_by_supervisor) and "happy" not in seen_by_supervisor
    assert seen_by_supervisor["low"]["why"] == "Người dân đánh giá 1/5: “Trả lời chung chung, đường vẫn hỏng”"
    assert "Lê Thị Tám" in seen_by_supervisor["secret"]["why"]
    # An agency officer: their agency's only, and no citizen's words in a confidential category
    seen_by_police = _rows(exports.monthly(POLICE, MONTH, now)["notable"], june)
    assert set(seen_by_police) >= {"low", "secret"} and "other" not in seen_by_police
    assert seen_by_police["secret"]["why"] == "Người dân đánh giá 2/5"
    # The page says why each case is notable, beside a link to the ticket
    page = _get(client, staff["police_officer"], f"/staff/thong-ke/bao-cao?thang={MONTH}").body.decode()
    notable = page.split('id="report-notable"', 1)[1].split("</table>", 1)[0]
    assert "Người dân đánh giá 1/5: “Trả lời chung chung, đường vẫn hỏng”" in notable
    assert f"/staff/tickets/{june['secret']}" in notable and "Lê Thị Tám" not in page
    overdue = page.split('id="report-overdue"', 1)[1].split("</table>", 1)[0]
    assert "Chờ Sở Xây dựng phối hợp kiểm tra" in overdue and mr.NO_REASON in overdue


def test_the_reports_schedule_on_the_first_emails_the_report_through_the_local_worker(
        stack: Any, providers: Any, june: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import settings

    # Given the local stack's clock moved to 1 July, 08:05 in Vietnam (as /dev/lich moves it; `make run`
    # lets the schedules' events carry a time that far from the real one)
    monkeypatch.setenv("SCHEDULE_CLOCK_SKEW_S", str(10 * 366 * 24 * 3600))
    settings.cache_clear()
    first = datetime(2026, 7, 1, 8, 5, tzinfo=VN_TZ)
    clock = Clock(real=lambda: first)
    worker = Worker(app, {}, clock=clock.now)
    _forget_report(MONTH)
    before = len(_report_mails("lanhdao.ubnd@example.gov.vn", MONTH))
    # When the worker runs the `reports` schedule (its event carries the moved time, as EventBridge's would)
    outcome = worker.run_now("reports")
    assert outcome["report_emails"] == 2 and export_jobs.report_sent(MONTH)
    pump()
    # Then the leadership's mailbox has June's report once, with the A4 page's and the spreadsheet's links
    (mail,) = _report_mails("lanhdao.ubnd@example.gov.vn", MONTH)[before:]
    assert "tháng 06/2026" in mail.subject
    assert f"/staff/thong-ke/bao-cao?thang={MONTH}&amp;format=xlsx" in mail.body or \
        f"/staff/thong-ke/bao-cao?thang={MONTH}&format=xlsx" in mail.body
    assert re.search(r"\d+ phản ánh quá hạn chưa trả lời \(\d+ có lý do\)", mail.body)
    assert re.search(r"\(\d+ đánh giá 1–2 sao\)", mail.body)
    # ... and a second run that day sends nothing more
    assert worker.run_now("reports")["report_emails"] == 0
    monkeypatch.undo()
    settings.cache_clear()
