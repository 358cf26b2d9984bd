"""What the system holds about one person, as files an admin hands over on a request for access:
JSON (every value as stored, for machines and for the record) and CSV for Excel (UTF-8 with a BOM so
Excel reads Vietnamese correctly, one row per stored field). Pure: it takes what the search found and
returns text; it never reads the table and never logs.

A CSV cell that would start with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a
leading apostrophe, so a citizen's text such as `=HYPERLINK(…)` is never run as a formula when the
file is opened (OWASP "CSV injection"); a phone in E.164 (`+84…`) is therefore `'+84…` in the CSV. The
JSON file keeps every value exactly.
"""
from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Mapping, Protocol, Sequence

from chalicelib.domain.errors import FieldError, ValidationFailed

BOM = "\ufeff"
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8"}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Column headings and record kinds as the person reading the CSV in Excel sees them.
CSV_COLUMNS = ("Phản ánh", "Loại dữ liệu", "Mô tả", "Khoá lưu trữ", "Thời điểm", "Trường", "Giá trị")
KIND_LABELS_VI = {
    "summary": "Tóm tắt phản ánh",
    "ticket": "Phản ánh: thông tin người phản ánh",
    "body": "Nội dung phản ánh",
    "event": "Diễn biến, tin nhắn",
    "outbound": "Tin nhắn, email đã gửi",
    "callback": "Hẹn gọi lại",
    "rating": "Đánh giá mức độ hài lòng",
    "marker": "Theo dõi phản ánh, tin gửi không kèm phản ánh",
    "counter": "Bộ đếm giới hạn gửi tin",
    "call": "Cuộc gọi với tổng đài",
    "call_task": "Việc gọi lại cuộc gọi nhỡ",
    "receipt_marker": "Dấu tin Messenger đã gửi (để nhận báo đã nhận, đã xem)",
}
SUMMARY_FIELDS = ("role", "status", "category", "channel", "created_at", "anonymised", "kept_because")


class HeldData(Protocol):
    """What a search found about one person (chalicelib.services.privacy.PersonData has this shape)."""

    kind: str
    value: str
    tickets: Sequence[Mapping[str, Any]]
    records: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class ExportFile:
    """A download: its text, Content-Type and file name (which never carries the person's number or id)."""

    body: str
    content_type: str
    filename: str


def check_format(fmt: str) -> str:
    """Returns `fmt` ("json" or "csv", any case). Raises ValidationFailed naming `format` otherwise."""
    normalised = (fmt or "").strip().lower()
    if normalised not in CONTENT_TYPES:
        raise ValidationFailed([FieldError("format", "Định dạng tệp phải là json hoặc csv.",
                                           "The file format must be json or csv.")])
    return normalised


def plain(value: Any) -> Any:
    """Returns `value` as JSON can hold it: datetimes in ISO 8601 (UTC), Decimals as numbers, sets as
    sorted lists, bytes as Base64, mappings with text keys; anything else unknown as its text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if hasattr(value, "attribute_values"):  # a stored map (follower, attachment) as the store read it
        return plain(dict(value.attribute_values))
    if isinstance(value, (set, frozenset)):
        return sorted((plain(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True,
                                                                                    ensure_ascii=False))
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return str(value)


def document(held: HeldData, generated_at: datetime) -> dict[str, Any]:
    """Returns the export as one JSON-ready document: who it is about, each ticket they appear on and
    in what role, every stored record with its fields, and counts."""
    counts: dict[str, int] = {}
    for record in held.records:
        counts[str(record.get("kind"))] = counts.get(str(record.get("kind")), 0) + 1
    return {
        "generated_at": plain(generated_at),
        "subject": {"kind": held.kind, "value": held.value},
        "tickets": [plain(dict(ticket)) for ticket in held.tickets],
        "records": [plain(dict(record)) for record in held.records],
        "counts": {"tickets": len(held.tickets), "records": len(held.records), "by_kind": counts},
    }


def as_json(held: HeldData, generated_at: datetime) -> str:
    """Returns the JSON export (UTF-8 text, Vietnamese unescaped, indented for reading)."""
    return json.dumps(document(held, generated_at), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def text_of(value: Any) -> str:
    """Returns one stored value as text: empty for None, true/false, JSON for lists and maps."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def cell(value: Any) -> str:
    """Returns the CSV text of one stored value (text_of), with a leading apostrophe where Excel would
    otherwise read a formula."""
    text = text_of(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def rows(held: HeldData) -> list[list[str]]:
    """Returns the CSV's rows without the heading: a summary of each ticket (role, status …), then
    one row per field of every record found."""
    out: list[list[str]] = []
    for ticket in held.tickets:
        code = str(ticket.get("code") or "")
        for name in SUMMARY_FIELDS:
            out.append([cell(code), "summary", KIND_LABELS_VI["summary"], "", cell(ticket.get("created_at")),
                        name, cell(ticket.get(name))])
    for record in held.records:
        kind = str(record.get("kind") or "")
        fields = record.get("fields") or {}
        common = [cell(record.get("ticket")), cell(kind), KIND_LABELS_VI.get(kind, kind), cell(record.get("key")),
                  cell(record.get("at"))]
        if not fields:
            out.append([*common, "", ""])
        for name, value in fields.items():
            out.append([*common, cell(name), cell(value)])
    return out


def as_csv(held: HeldData) -> str:
    """Returns the CSV export: a BOM, a heading, CRLF line ends, fields quoted where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows(held))
    return BOM + buffer.getvalue()


def export_file(held: HeldData, fmt: str, generated_at: datetime, reference: str) -> ExportFile:
    """Returns the download of `held` in `fmt` ("json" or "csv"), named by the request's random
    `reference` (also in the audit trail, never the person) and the date, e.g.
    du-lieu-ca-nhan-3f9a1c2b7d4e-20261130.csv. Raises ValidationFailed for another format."""
    fmt = check_format(fmt)
    body = as_json(held, generated_at) if fmt == "json" else as_csv(held)
    stamp = generated_at.astimezone(timezone.utc).strftime("%Y%m%d")
    return ExportFile(body, CONTENT_TYPES[fmt], f"du-lieu-ca-nhan-{reference[:12]}-{stamp}.{fmt}")
