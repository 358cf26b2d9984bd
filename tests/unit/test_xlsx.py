"""The spreadsheet writer and the statistics' tables: what a person opening the file in Excel sees."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timezone
from xml.etree import ElementTree

import pytest

from chalicelib.domain import monthly_report as mr
from chalicelib.domain import xlsx
from chalicelib.domain.errors import ValidationFailed

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
FIGURES = {
    "period": {"from": "2026-11-01", "to": "2026-11-30", "grain": "month"}, "filters": {},
    "totals": {"received": 120, "answered": 100, "on_time": 90, "late": 10, "open": 20, "overdue_open": 3,
               "on_time_pct": 90.0, "rating_mean": 4.25, "rating_dist": {"5": 3},
               "kinds": {"question": {"received": 30, "answered": 28, "on_time": 27, "on_time_pct": 96.4},
                         "complaint": {"received": 90, "answered": 72, "on_time": 63, "on_time_pct": 87.5}}},
    "series": [{"bucket": "2026-11", "received": 120, "answered": 100, "on_time": 90, "late": 10, "on_time_pct": 90.0}],
    "by": {"agency": [{"key": "so-xay-dung", "name": "Sở Xây dựng", "received": 70, "answered": 60, "on_time": 57,
                       "late": 3, "on_time_pct": 95.0, "open": 10, "overdue_open": 1}],
           "channel": [{"key": "zalo", "name": "Zalo", "received": 50, "answered": 40, "on_time": 38, "late": 2,
                        "on_time_pct": 95.0, "open": 10, "overdue_open": 0}]},
    "backlog_age": [{"bucket": "0–3 ngày", "count": 12, "overdue": 0}],
    "heat": {"rows": ["Giao thông"], "cols": ["Phường Kiến Tường"], "cells": [[7]]},
}


def read_workbook(data: bytes) -> dict[str, list[list[str]]]:
    """Parses an .xlsx back: {sheet name: rows of cell texts}, as a spreadsheet program reads it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        names = [s.get("name") for s in workbook.find("m:sheets", NS)]
        ElementTree.fromstring(archive.read("[Content_Types].xml"))
        sheets = {}
        for n, name in enumerate(names, 1):
            root = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{n}.xml"))
            sheets[name] = [["".join(c.itertext()) for c in row] for row in root.find("m:sheetData", NS)]
    return sheets


def test_a_workbook_holds_vietnamese_text_numbers_and_one_sheet_per_table() -> None:
    data = xlsx.workbook([("Theo cơ quan", [["Tên", "Tỷ lệ đúng hạn (%)"], ["Sở Xây dựng", 95.5], ["Ủy ban <xã>", 3]]),
                          ("Tổng hợp", [["Chỉ tiêu", "Giá trị"], ["=HYPERLINK(\"x\")", 1]])])
    sheets = read_workbook(data)
    assert list(sheets) == ["Theo cơ quan", "Tổng hợp"]
    assert sheets["Theo cơ quan"] == [["Tên", "Tỷ lệ đúng hạn (%)"], ["Sở Xây dựng", "95.5"], ["Ủy ban <xã>", "3"]]
    # text that looks like a formula stays text: no <f> element anywhere
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet2.xml")
        assert b't="inlineStr"' in archive.read("xl/worksheets/sheet2.xml")


def test_sheet_names_excel_refuses_are_cleaned_and_kept_distinct() -> None:
    sheets = read_workbook(xlsx.workbook([("a/b: c", [["x"]]), ("A/B: C", [["y"]]), ("x" * 40, [])]))
    assert list(sheets) == ["a b  c", "A B  C 2", "x" * 31]


def test_the_figures_csv_opens_in_excel_with_vietnamese_and_every_table() -> None:
    text = mr.csv_text(mr.figure_tables(FIGURES))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.encode("utf-8").decode("utf-8-sig"))))
    assert ["Tỷ lệ đúng hạn (%)", "90.0"] in rows
    assert ["Sở Xây dựng", "70", "60", "57", "3", "95.0", "10", "1"] in rows
    assert ["Theo cơ quan"] in rows and ["Lĩnh vực", "Phường Kiến Tường"] in rows
    assert ["Theo điện thoại viên"] not in rows  # the figures had no operators: not the viewer's to see


def test_the_ticket_list_blanks_the_reporter_where_the_viewer_may_not_see_them() -> None:
    row = {"code": "TN-1", "created": "01/11/2026 08:00", "status_label": "Quá hạn", "category": "=cmd",
           "reporter_name": "Nguyễn Văn A", "reporter_phone": "+84901234567"}
    heading = mr.ticket_heading(with_reporter=True)
    shown = dict(zip(heading, mr.ticket_row(row, with_reporter=True, reporter_visible=True)))
    hidden = dict(zip(heading, mr.ticket_row(row, with_reporter=True, reporter_visible=False)))
    assert shown["Người phản ánh"] == "Nguyễn Văn A" and shown["Trạng thái"] == "Quá hạn"
    assert hidden["Người phản ánh"] == "" and hidden["Điện thoại người phản ánh"] == ""
    text = "".join(mr.csv_lines([heading, mr.ticket_row(row, True, True)]))
    assert "'=cmd" in text and "'+84901234567" in text and text.count("\ufeff") == 1


def test_the_monthly_report_names_the_month_and_lays_out_what_goes_upward() -> None:
    model = mr.report("2026-11", FIGURES, [{"code": "TN-9", "due": "20/11/2026", "overdue_reason": "Chờ xác minh"}],
                      [{"code": "TN-5", "why": "Mở lại"}], "Tây Ninh", datetime(2026, 12, 1, 1, tzinfo=timezone.utc))
    assert model["title"] == "Báo cáo kết quả tiếp nhận, xử lý phản ánh, kiến nghị tháng 11/2026"
    assert model["period"] == "từ ngày 01/11/2026 đến ngày 30/11/2026"
    sheets = read_workbook(xlsx.workbook(mr.report_tables(model)))
    assert list(sheets) == ["Tổng hợp", "Câu hỏi và phản ánh", "Theo kênh", "Theo cơ quan", "Quá hạn",
                            "Vụ việc đáng chú ý"]
    # questions and complaints apart: how many of each came in and how many were answered on time
    assert sheets["Câu hỏi và phản ánh"][1] == ["Câu hỏi (hỏi đáp)", "30", "28", "27", "96.4"]
    assert sheets["Câu hỏi và phản ánh"][2][:2] == ["Phản ánh, kiến nghị", "90"]
    assert ["TN-9", "20/11/2026", "Chờ xác minh"] == [c for c in sheets["Quá hạn"][1] if c]
    assert sheets["Theo cơ quan"][1][:2] == ["Sở Xây dựng", "70"]
    # open work is counted when the report is made: a past month's report says so
    assert ("Đang xử lý (tại thời điểm lập báo cáo 01/12/2026)", FIGURES["totals"].get("open")) in model["totals"]
    assert sheets["Theo cơ quan"][0][6] == "Đang xử lý (tại thời điểm lập báo cáo 01/12/2026)"
    unexplained = mr.report("2026-11", FIGURES, [{"code": "TN-8"}], [], "Tây Ninh", datetime(2026, 12, 1, 1, tzinfo=timezone.utc))
    assert read_workbook(xlsx.workbook(mr.report_tables(unexplained)))["Quá hạn"][1][-1] == mr.NO_REASON
    # a reason is what staff wrote on the timeline: an extension's, or a stated delay reason
    when = datetime(2026, 11, 20, 3, tzinfo=timezone.utc)
    assert mr.delay_text("deadline_extended", {"to": "2026-11-27T10:00:00+00:00", "reason": "Chờ khảo sát"}, when) \
        == "Gia hạn đến 27/11/2026: Chờ khảo sát"
    assert mr.delay_text("delay_reason", {"reason": "Chờ phối hợp"}, when) == "Chờ phối hợp (ghi ngày 20/11/2026)"
    assert mr.delay_text("delay_reason", {"reason": "  "}, when) is None


def test_the_report_month_defaults_to_last_month_in_vietnam_and_refuses_other_text() -> None:
    assert mr.parse_month(None, datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc)) == "2026-11"  # 1 Dec 00:30 ICT
    assert mr.parse_month(None, datetime(2026, 1, 5, tzinfo=timezone.utc)) == "2025-12"
    assert mr.parse_month("2026-02", datetime.now(timezone.utc)) == "2026-02"
    assert mr.month_range("2028-02")[1].day == 29
    with pytest.raises(ValidationFailed) as failed:
        mr.parse_month("11/2026", datetime.now(timezone.utc))
    assert failed.value.errors[0].field == "thang"
