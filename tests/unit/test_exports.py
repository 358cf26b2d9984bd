"""The files an admin hands a citizen who asks what is held about them: the JSON keeps every value as
stored, the CSV opens in Excel with Vietnamese intact, one row per stored field, never a formula."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.exports import BOM, CSV_COLUMNS, as_csv, as_json, cell, check_format, export_file

NOW = datetime(2026, 11, 30, 2, 15, tzinfo=timezone.utc)
ICT = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Held:
    kind: str = "phone"
    value: str = "+84912345678"
    tickets: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)


def _person() -> Held:
    return Held(
        tickets=[{"code": "TN-7KXQ4M", "role": "reporter", "status": "answered", "category": "ngap-ung",
                  "channel": "web", "created_at": "2026-11-02T01:00:00+00:00", "anonymised": False,
                  "kept_because": None},
                 {"code": "TN-4HPR2A", "role": "follower", "status": "in_progress", "category": "tham-nhung",
                  "channel": "sms", "created_at": "2026-11-20T09:30:00+00:00", "anonymised": False,
                  "kept_because": "Giữ theo yêu cầu của Thanh tra tỉnh"}],
        records=[
            {"ticket": "TN-7KXQ4M", "kind": "ticket", "key": "TICKET#TN-7KXQ4M|TICKET",
             "at": "2026-11-02T01:00:00+00:00",
             "fields": {"reporter_phone": "+84912345678", "lat": Decimal("11.3101"), "photos": {"b", "a"},
                        "created_at": datetime(2026, 11, 2, 8, 0, tzinfo=ICT)}},
            {"ticket": "TN-7KXQ4M", "kind": "body", "key": "TICKET#TN-7KXQ4M|TICKET#BODY", "at": None,
             "fields": {"reporter_name": "Nguyễn Thị Ánh Tuyết",
                        "text": 'Cống "Bà Chiểu" tắc,\nnước tràn; gọi 0912 345 678',
                        "address": "=HYPERLINK(\"http://evil.example\",\"bấm\")"}},
            {"ticket": "TN-7KXQ4M", "kind": "rating", "key": "TICKET#TN-7KXQ4M|RATING", "at": None,
             "fields": {"rating": Decimal("4"), "comment": "-tốt"}},
            {"ticket": None, "kind": "marker", "key": "PERSON#ab12|FOLLOW#TN-4HPR2A", "at": None, "fields": {}},
        ])


def _read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix(BOM), newline="")))


def test_the_csv_opens_in_excel_as_utf8_with_one_row_per_stored_field() -> None:
    text = as_csv(_person())
    # Excel reads UTF-8 only after a BOM; rows end in CRLF
    assert text.startswith(BOM) and text.encode("utf-8")[:3] == b"\xef\xbb\xbf"
    assert "\r\n" in text and not text.replace("\r\n", "").count("\r")
    table = _read_csv(text)
    assert table[0] == list(CSV_COLUMNS)
    by_field = {(row[0], row[1], row[5]): row for row in table[1:]}
    # Vietnamese survives the round trip, and a text with quotes, commas and a line break stays one cell
    assert by_field[("TN-7KXQ4M", "body", "reporter_name")][6] == "Nguyễn Thị Ánh Tuyết"
    assert by_field[("TN-7KXQ4M", "body", "text")][6] == 'Cống "Bà Chiểu" tắc,\nnước tràn; gọi 0912 345 678'
    assert by_field[("TN-7KXQ4M", "body", "text")][2] == "Nội dung phản ánh"
    # the tickets the person appears on, with their role and why one is kept
    assert by_field[("TN-4HPR2A", "summary", "role")][6] == "follower"
    assert by_field[("TN-4HPR2A", "summary", "kept_because")][6] == "Giữ theo yêu cầu của Thanh tra tỉnh"
    assert by_field[("TN-7KXQ4M", "summary", "kept_because")][6] == ""
    # stored types as readable text: a number, a set, a time in UTC
    assert by_field[("TN-7KXQ4M", "ticket", "lat")][6] == "11.3101"
    assert by_field[("TN-7KXQ4M", "ticket", "photos")][6] == '["a", "b"]'
    assert by_field[("TN-7KXQ4M", "ticket", "created_at")][6] == "2026-11-02T01:00:00+00:00"
    assert by_field[("TN-7KXQ4M", "rating", "rating")][6] == "4"
    # a record with no fields still appears (a marker says where the person is followed)
    assert ["", "marker", "Theo dõi phản ánh, tin gửi không kèm phản ánh", "PERSON#ab12|FOLLOW#TN-4HPR2A", "", "",
            ""] in table
    assert len(table) == 1 + 2 * 7 + 4 + 3 + 2 + 1


def test_no_csv_cell_can_run_as_a_formula() -> None:
    table = _read_csv(as_csv(_person()))
    values = [value for row in table[1:] for value in row]
    assert not [v for v in values if v[:1] in ("=", "+", "-", "@", "\t", "\r")]
    by_field = {(row[1], row[5]): row[6] for row in table[1:]}
    assert by_field[("body", "address")] == "'=HYPERLINK(\"http://evil.example\",\"bấm\")"
    assert by_field[("ticket", "reporter_phone")] == "'+84912345678"
    assert by_field[("rating", "comment")] == "'-tốt"
    assert cell("@SUM(A1)") == "'@SUM(A1)" and cell("\t=1") == "'\t=1" and cell("a=1") == "a=1"
    assert cell(None) == "" and cell(True) == "true" and cell(-3) == "'-3"


def test_the_json_keeps_every_value_exactly() -> None:
    data = json.loads(as_json(_person(), NOW))
    assert data["generated_at"] == "2026-11-30T02:15:00+00:00"
    assert data["subject"] == {"kind": "phone", "value": "+84912345678"}
    assert [t["code"] for t in data["tickets"]] == ["TN-7KXQ4M", "TN-4HPR2A"]
    body = next(r for r in data["records"] if r["kind"] == "body")
    assert body["fields"]["address"] == "=HYPERLINK(\"http://evil.example\",\"bấm\")"  # no apostrophe here
    ticket = next(r for r in data["records"] if r["kind"] == "ticket")
    assert ticket["fields"] == {"reporter_phone": "+84912345678", "lat": 11.3101, "photos": ["a", "b"],
                                "created_at": "2026-11-02T01:00:00+00:00"}
    assert data["counts"] == {"tickets": 2, "records": 4,
                              "by_kind": {"ticket": 1, "body": 1, "rating": 1, "marker": 1}}
    assert "Nguyễn Thị Ánh Tuyết" in as_json(_person(), NOW)  # readable, not \u-escaped


def test_nothing_found_is_still_a_valid_file() -> None:
    empty = Held(kind="zalo", value="8412345678901234567")
    assert _read_csv(as_csv(empty)) == [list(CSV_COLUMNS)]
    assert json.loads(as_json(empty, NOW))["counts"] == {"tickets": 0, "records": 0, "by_kind": {}}


def test_the_download_is_named_by_a_digest_never_by_the_number() -> None:
    digest = "3f9a1c2b7d4e5f60718293a4b5c6d7e8"
    csv_file = export_file(_person(), "CSV", NOW, digest)
    assert csv_file.filename == "du-lieu-ca-nhan-3f9a1c2b7d4e-20261130.csv"
    assert csv_file.content_type == "text/csv; charset=utf-8" and csv_file.body.startswith(BOM)
    json_file = export_file(_person(), "json", NOW, digest)
    assert json_file.filename.endswith(".json") and json_file.content_type.startswith("application/json")
    assert "912345678" not in csv_file.filename + json_file.filename


@pytest.mark.parametrize("fmt", ["", "xlsx", "pdf", "json;csv"])
def test_only_json_and_csv_are_offered(fmt: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_format(fmt)
    assert refused.value.errors[0].field == "format"
