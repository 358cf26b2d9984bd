"""Statistics downloads, the background export job and the monthly report, through the app on the
emulator: the files open (CSV with a BOM and Vietnamese, XLSX parsed back), an agency officer's file
holds only their agency's tickets, reporters' identities only for supervisors and admins (audited), a
large list becomes a job that one run claims and writes to S3 (retried, then failed), and on the 1st the
schedule e-mails the report once."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain.reports import validate_submission
from chalicelib.services import exports, intake
from chalicelib.store import audit, export_jobs
from chalicelib.store.reference import load_reference
from devstack.worker import scheduled_event
from tests.conftest import unique_phone
from tests.integration.test_channels import pump
from tests.integration.test_routing_workers import _ses
from tests.unit.test_xlsx import read_workbook

VN = timezone(timedelta(hours=7))


def _report(text: str, category: str, phone: str) -> str:
    raw = {"description": text, "phone": phone, "category": category, "name": "Trần Thị Bảy"}
    return intake.submit(validate_submission(raw, load_reference()))["tracking_code"]


@pytest.fixture(scope="module")
def made(stack: Any, providers: Any) -> dict[str, str]:
    """Three tickets of this month: two for Sở Xây dựng, one confidential (Công an tỉnh)."""
    phone = unique_phone()
    codes = {"road": _report("Đường Nguyễn Huệ có ổ gà lớn trước số 12", "giao-thong", phone),
             "light": _report("Đèn đường hẻm 5 phường Kiến Tường không sáng", "chieu-sang", phone),
             "secret": _report("Tụ tập đánh bạc ban đêm ở ấp 3", "an-ninh-trat-tu", phone)}
    pump()
    return {**codes, "phone": phone}


def _get(client: Any, token: str, path: str) -> Any:
    return client.http.get(path, headers={"Cookie": f"hl_id={token}"})


def _month() -> str:
    return datetime.now(VN).strftime("%Y-%m")


def _period() -> str:
    today = datetime.now(VN).date()
    return f"from={today.replace(day=1).isoformat()}&to={today.isoformat()}"


def _s3_file(link: str) -> bytes:
    from chalicelib import aws

    key = re.search(r"/(exports/[^?]+)", link).group(1)
    return aws.client("s3").get_object(Bucket=export_jobs.bucket(), Key=key)["Body"].read()


def test_the_figures_download_as_an_excel_ready_csv_and_as_a_spreadsheet(client: Any, staff: dict[str, str],
                                                                        made: dict[str, str]) -> None:
    answer = _get(client, staff["supervisor"], f"/staff/thong-ke/xuat?format=csv&{_period()}")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="thong-ke-' in answer.headers["Content-Disposition"]
    text = answer.body.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    received = next(int(row[1]) for row in rows if row and row[0] == "Tiếp nhận")
    assert received >= 3
    assert ["Theo cơ quan"] in rows and any(row and row[0] == "Sở Xây dựng" for row in rows)
    kinds = rows[rows.index(["Câu hỏi và phản ánh"]) + 2:][:2]
    assert [row[0] for row in kinds] == ["Câu hỏi", "Phản ánh"] and int(kinds[0][1]) + int(kinds[1][1]) == received
    # the spreadsheet goes by S3: the browser is sent on to a short-lived link
    answer = _get(client, staff["supervisor"], f"/staff/thong-ke/xuat?format=xlsx&{_period()}")
    assert answer.status_code == 303 and "X-Amz-Expires=600" in answer.headers["Location"]
    sheets = read_workbook(_s3_file(answer.headers["Location"]))
    assert ["Tiếp nhận", str(received)] in sheets["Tổng hợp"]
    assert _get(client, staff["supervisor"], "/staff/thong-ke/xuat?format=pdf").status_code == 400


def test_the_statistics_pages_offer_the_downloads_of_what_they_show(client: Any, staff: dict[str, str],
                                                                     made: dict[str, str]) -> None:
    page = _get(client, staff["officer"], f"/staff/thong-ke?{_period()}&grain=month").body.decode()
    href = re.search(r'id="export-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "grain=month" in href
    answer = _get(client, staff["officer"], href[href.index("/staff/"):])
    assert answer.status_code == 200 and "Sở Xây dựng" in answer.body.decode()
    listing = _get(client, staff["officer"], f"/staff/thong-ke/phan-anh?figure=received&{_period()}").body.decode()
    href = re.search(r'id="export-list-csv" href="([^"]+)"', listing).group(1).replace("&amp;", "&")
    assert 'id="export-list-reporter"' not in listing  # names and phones: supervisors and admins only
    listed = _get(client, staff["officer"], href[href.index("/staff/"):]).body.decode()
    assert made["road"] in listed and made["secret"] not in listed


def test_an_agency_officers_list_holds_only_their_agency_and_reporters_are_for_supervisors_audited(
        client: Any, staff: dict[str, str], made: dict[str, str]) -> None:
    officer = _get(client, staff["officer"], f"/staff/thong-ke/xuat-phan-anh?figure=received&format=csv&{_period()}")
    assert officer.status_code == 200
    text = officer.body.decode("utf-8")
    assert made["road"] in text and made["light"] not in text and made["secret"] not in text, text
    assert "Sở Xây dựng" in text and "Giao thông" in text  # names, not ids
    for role in ("officer", "police_officer", "operator"):  # names and phones: supervisors and admins only
        refused = _get(client, staff[role], f"/staff/thong-ke/xuat-phan-anh?figure=received&format=csv&reporter=1&{_period()}")
        assert refused.status_code == 403, role
    since = datetime.now(timezone.utc)
    desk = _get(client, staff["supervisor"],
                f"/staff/thong-ke/xuat-phan-anh?figure=received&format=csv&reporter=1&{_period()}").body.decode()
    assert made["secret"] in desk and "'+84" + made["phone"][1:] in desk and "Trần Thị Bảy" in desk
    found, _ = audit.search(since - timedelta(seconds=5), datetime.now(timezone.utc) + timedelta(seconds=5),
                            kinds=frozenset({"export_reporter"}))
    entry = found[0]
    assert entry.actor.startswith("staff:") and made["phone"][1:] not in str(entry.detail)  # who and what, no identities
    assert "received" in str(entry.detail)
    plain = _get(client, staff["supervisor"], f"/staff/thong-ke/xuat-phan-anh?figure=received&format=csv&{_period()}")
    assert made["phone"][1:] not in plain.body.decode()  # without reporter=1 nobody's identity is in the file


def test_a_large_list_becomes_a_job_whose_file_the_schedule_writes(client: Any, staff: dict[str, str],
                                                                   made: dict[str, str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "SYNC_LIMIT", 1)
    started = _get(client, staff["supervisor"], f"/staff/thong-ke/xuat-phan-anh?figure=received&format=xlsx&{_period()}")
    assert started.status_code == 303
    job_page = started.headers["Location"]
    assert re.fullmatch(r".*/staff/thong-ke/xuat/[0-9a-f]{24}", job_page)
    path = job_page[job_page.index("/staff/"):]
    waiting = _get(client, staff["supervisor"], path).body.decode()
    assert 'data-state="waiting"' in waiting and 'http-equiv="refresh"' in waiting
    assert _get(client, staff["operator"], path).status_code == 404  # someone else's job
    result = client.lambda_.invoke("reports", scheduled_event("reports")).payload
    assert result["exports_done"] >= 1
    done = _get(client, staff["supervisor"], path).body.decode()
    assert 'data-state="done"' in done
    link = re.search(r'id="export-download" href="([^"]+)"', done).group(1).replace("&amp;", "&")
    sheets = read_workbook(_s3_file(link))
    codes = {row[0] for row in next(iter(sheets.values()))[1:]}
    assert {made["road"], made["light"], made["secret"]} <= codes
    assert re.search(r'id="export-rows">(\d+)<', done).group(1) == str(len(codes))  # the real count
    assert client.lambda_.invoke("reports", scheduled_event("reports")).payload["exports_done"] == 0


def _job(staff_user: str, client: Any, staff: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(exports, "SYNC_LIMIT", 0)
    started = _get(client, staff[staff_user], f"/staff/thong-ke/xuat-phan-anh?figure=received&format=csv&{_period()}")
    return started.headers["Location"].rsplit("/", 1)[1]


def test_one_run_claims_a_job_and_a_job_whose_file_cannot_be_written_is_retried_then_failed(
        client: Any, staff: dict[str, str], made: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _job("supervisor", client, staff, monkeypatch)
    (marker,) = [m for m, j in export_jobs.waiting(100) if j == job_id]
    now = datetime.now(timezone.utc)
    assert export_jobs.claim(job_id, marker, now).attempts == 1
    assert export_jobs.claim(job_id, marker, now) is None  # an overlapping run leaves it alone

    def broken(*args: Any) -> None:
        raise OSError("S3 down")

    monkeypatch.setattr(export_jobs, "put_file", broken)
    later = now + export_jobs.LEASE + timedelta(seconds=1)  # the first run's lease is over
    exports.run_waiting(later, per_run=100)
    job = export_jobs.get(job_id)
    assert job.state == "waiting" and job.attempts == 2  # given back for the next run
    assert exports.run_waiting(later, per_run=100)["exports_failed"] >= 1
    assert export_jobs.get(job_id).state == "failed"  # the third attempt was the last
    page = _get(client, staff["supervisor"], f"/staff/thong-ke/xuat/{job_id}").body.decode()
    assert 'data-state="failed"' in page and "Không xuất được danh sách" in page
    assert job_id not in {j for _, j in export_jobs.waiting(100)}


def test_the_monthly_report_is_a_printable_page_and_goes_to_the_leadership_once_on_the_first(
        client: Any, staff: dict[str, str], made: dict[str, str]) -> None:
    month = _month()
    page = _get(client, staff["supervisor"], f"/staff/thong-ke/bao-cao?thang={month}").body.decode()
    title = f"Báo cáo kết quả tiếp nhận, xử lý phản ánh, kiến nghị tháng {month[5:]}/{month[:4]}"
    assert title.upper() in page and "@page { size:A4" in page and 'id="report-agencies"' in page
    assert 'id="report-kinds"' in page and "Câu hỏi (hỏi đáp)" in page  # questions and complaints apart
    assert _get(client, staff["supervisor"], "/staff/thong-ke/bao-cao?thang=11-2026").status_code == 400
    xlsx_answer = _get(client, staff["supervisor"], f"/staff/thong-ke/bao-cao?thang={month}&format=xlsx")
    assert list(read_workbook(_s3_file(xlsx_answer.headers["Location"]))) == [
        "Tổng hợp", "Câu hỏi và phản ánh", "Theo kênh", "Theo cơ quan", "Quá hạn", "Vụ việc đáng chú ý"]
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=VN) + timedelta(days=32)
    first = first.replace(day=1, hour=8, minute=1)
    _forget_report(month)  # an earlier run against the same emulator sent it already
    before = len([m for m in _ses("lanhdao.ubnd@example.gov.vn") if title in m.subject])
    assert exports.send_monthly_report(first - timedelta(hours=1)) == 0   # 07:01: not yet
    assert exports.send_monthly_report(first) == 2                        # the two leadership addresses
    assert export_jobs.report_sent(month)                                 # marked after they were queued
    assert exports.send_monthly_report(first + timedelta(minutes=1)) == 0  # once
    pump()
    (mail,) = [m for m in _ses("lanhdao.ubnd@example.gov.vn") if title in m.subject][before:]
    assert "Sở Xây dựng" in mail.body and f"/staff/thong-ke/bao-cao?thang={month}" in mail.body


def _forget_report(month: str) -> None:
    """Removes the month's sent mark and its queued e-mails, so the test sends them afresh."""
    from chalicelib.store.connection import bind
    from chalicelib.store.models import OutboundModel

    export_jobs.unmark_report_sent(month)
    bind()
    for item in OutboundModel.query(f"OUTBOX#report#{month}"):
        item.delete()


def _report_mails(recipient: str, month: str) -> list[Any]:
    title = f"tháng {month[5:]}/{month[:4]}"
    return [m for m in _ses(recipient) if "Báo cáo kết quả" in m.subject and title in m.subject]


def test_a_report_run_that_dies_between_storing_and_queuing_its_emails_is_finished_once_by_the_next(
        made: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import queues

    month, first = "2025-02", datetime(2025, 3, 1, 8, 5, tzinfo=VN)
    _forget_report(month)
    before = {a: len(_report_mails(a, month)) for a in ("lanhdao.ubnd@example.gov.vn", "vanphong.1022@example.gov.vn")}
    real_send = queues.send_notifications

    def dies(*_: Any) -> None:
        raise TimeoutError("the function ran out of time")

    # Given a run that stored both e-mails and died before queuing them
    monkeypatch.setattr(queues, "send_notifications", dies)
    with pytest.raises(TimeoutError):
        exports.send_monthly_report(first)
    assert not export_jobs.report_sent(month)
    # ... and a run that queued them and died before marking the month
    monkeypatch.setattr(queues, "send_notifications", real_send)
    monkeypatch.setattr(export_jobs, "mark_report_sent", dies)
    with pytest.raises(TimeoutError):
        exports.send_monthly_report(first + timedelta(minutes=1))
    monkeypatch.undo()
    # When the schedule runs again, it queues the stored e-mails (both still waiting) and marks the month
    assert exports.send_monthly_report(first + timedelta(minutes=2)) == 2
    assert export_jobs.report_sent(month)
    pump()
    # Then each leadership address has the report exactly once, and later runs send nothing more
    assert exports.send_monthly_report(first + timedelta(minutes=3)) == 0
    pump()
    assert {a: len(_report_mails(a, month)) - n for a, n in before.items()} == {a: 1 for a in before}
