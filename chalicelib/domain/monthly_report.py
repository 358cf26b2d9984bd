"""The statistics as tables people open in Excel, and the monthly report a Department sends upward
("Báo cáo kết quả tiếp nhận, xử lý phản ánh, kiến nghị tháng MM/YYYY"). Pure: it takes the figures
(chalicelib.services.stats.figures' shape) and ticket summary rows, and returns tables (lists of rows)
for CSV and XLSX, and the report's model for its page and e-mail. Never reads the table, never logs.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.exports import BOM, cell
from chalicelib.domain.lifecycle import LABELS_VI, Status

VN = timezone(timedelta(hours=7))
Table = tuple[str, list[list[Any]]]   # (sheet / section title, rows with the heading first)

TOTAL_LABELS = (
    ("received", "Tiếp nhận"), ("answered", "Đã trả lời"), ("on_time", "Trả lời đúng hạn"),
    ("late", "Trả lời quá hạn"), ("on_time_pct", "Tỷ lệ đúng hạn (%)"), ("open", "Đang xử lý"),
    ("overdue_open", "Đang xử lý, đã quá hạn"), ("reopened", "Mở lại"), ("rejected", "Từ chối"),
    ("redirected", "Chuyển cơ quan khác"), ("merged", "Gộp"), ("callbacks_due", "Hẹn gọi lại"),
    ("callbacks_done", "Đã gọi lại"), ("callbacks_within_30", "Gọi lại trong 30 phút"),
    ("rating_count", "Số đánh giá"), ("rating_mean", "Điểm hài lòng trung bình"),
    ("first_action_p50_working_min", "Xử lý đầu tiên, trung vị (phút làm việc)"),
    ("first_action_p90_working_min", "Xử lý đầu tiên, p90 (phút làm việc)"),
    ("answer_p50_working_min", "Trả lời, trung vị (phút làm việc)"),
    ("answer_p90_working_min", "Trả lời, p90 (phút làm việc)"),
    ("answer_p50_calendar_min", "Trả lời, trung vị (phút lịch)"),
    ("answer_p90_calendar_min", "Trả lời, p90 (phút lịch)"),
)
# Questions (hỏi đáp) and complaints (phản ánh, kiến nghị): received, answered, on time (chalicelib.services.stats._kinds)
KIND_LABELS = (("question", "Câu hỏi (hỏi đáp)"), ("complaint", "Phản ánh, kiến nghị"))
KIND_KEYS = ("received", "answered", "on_time", "on_time_pct")
DIMENSIONS = (("channel", "Theo kênh"), ("category", "Theo lĩnh vực"), ("agency", "Theo cơ quan"),
              ("area", "Theo địa bàn"))
DIMENSION_HEADING = ["Tên", "Tiếp nhận", "Đã trả lời", "Đúng hạn", "Quá hạn", "Tỷ lệ đúng hạn (%)", "Đang xử lý",
                     "Đang xử lý, đã quá hạn"]
DIMENSION_KEYS = ("name", "received", "answered", "on_time", "late", "on_time_pct", "open", "overdue_open")
# The ticket list behind a figure: the columns every viewer gets, then the reporter's where allowed.
TICKET_COLUMNS = (("code", "Mã phản ánh"), ("created_at", "Ngày tiếp nhận"), ("channel", "Kênh"),
                  ("category", "Lĩnh vực"), ("area", "Địa bàn"), ("agency", "Cơ quan xử lý"),
                  ("status", "Trạng thái"), ("due_at", "Hạn trả lời"), ("answered_at", "Ngày trả lời"),
                  ("on_time", "Đúng hạn"), ("overdue_reason", "Lý do quá hạn"))
REPORTER_COLUMNS = (("reporter_name", "Người phản ánh"), ("reporter_phone", "Điện thoại người phản ánh"))
# The same fact under the names the inbox rows use (chalicelib.services.stats.tickets_behind gives those).
ALIASES = {"created_at": ("created_at", "created"), "status": ("status_label", "status"),
           "due_at": ("due_at", "due"), "answered_at": ("answered_at", "answered"),
           "on_time": ("on_time", "answered_on_time")}
NO_REASON = "Chưa có lý do (chưa gia hạn, chưa ghi lý do chậm)"
# The timeline events in which staff say why a ticket is late: an extension (its reason, with the
# approver) and a stated delay reason ("Lý do chậm", agency officers and supervisors).
DELAY_KINDS = ("deadline_extended", "delay_reason")
LOW_RATING = 2   # a rating of 1 or 2 stars is a notable case
CHANNEL_LABELS = {"web": "Web", "sms": "SMS", "zalo": "Zalo", "facebook": "Facebook",
                  "phone": "Điện thoại", "open311": "Open311",
                  "email": "Email"}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
FIGURES = {"received": "Tiếp nhận", "answered": "Đã trả lời", "on_time": "Trả lời đúng hạn",
           "late": "Trả lời quá hạn", "open": "Đang xử lý", "overdue_open": "Đang xử lý, đã quá hạn",
           "reopened": "Mở lại", "rejected": "Từ chối", "redirected": "Chuyển cơ quan khác", "merged": "Gộp"}


def parse_month(raw: str | None, now: datetime) -> str:
    """Returns "yyyy-mm": `raw` when given, else last month in Vietnam time. Raises ValidationFailed
    naming `thang` for anything else."""
    if not raw:
        first = now.astimezone(VN).date().replace(day=1)
        return (first - timedelta(days=1)).strftime("%Y-%m")
    try:
        parsed = datetime.strptime(raw.strip(), "%Y-%m")
    except ValueError:
        raise ValidationFailed([FieldError("thang", "Tháng phải có dạng yyyy-mm, ví dụ 2026-11.",
                                           "The month must be yyyy-mm, e.g. 2026-11.")]) from None
    return parsed.strftime("%Y-%m")


def month_range(month: str) -> tuple[date, date]:
    """The first and last day of `month` ("yyyy-mm")."""
    first = datetime.strptime(month, "%Y-%m").date()
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def _value(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 1)
    return value


def _get(row: Mapping[str, Any], key: str) -> Any:
    for name in ALIASES.get(key, (key,)):
        if row.get(name) not in (None, ""):
            return row[name]
    return None


def _text(value: Any) -> Any:
    """A value as a person reads it: times in Vietnam time (dd/mm/yyyy hh:mm), yes/no in words."""
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(VN).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, bool):
        return "có" if value else "không"
    return _value(value)


def named(row: Mapping[str, Any], ref: Any) -> dict[str, Any]:
    """`row` with reference ids (category, area, agency, channel, status) replaced by their names."""
    out = dict(row)
    for key, table in (("category", ref.categories), ("area", ref.areas), ("agency", ref.agencies)):
        if out.get(key) in table:
            out[key] = table[out[key]].name
    out["channel"] = CHANNEL_LABELS.get(str(out.get("channel")), out.get("channel"))
    if "status_label" not in out and out.get("status"):
        try:
            out["status"] = LABELS_VI.get(Status(out["status"]), out["status"])
        except ValueError:
            pass
    return out


def figure_tables(figures: Mapping[str, Any]) -> list[Table]:
    """Returns the figures as tables: the totals, the trend per period, questions and complaints, one per
    dimension, the backlog by age, the category x commune table, and operators' workload when the figures
    hold it."""
    totals = figures.get("totals") or {}
    period = figures.get("period") or {}
    tables: list[Table] = [("Tổng hợp", [["Chỉ tiêu", "Giá trị"],
                                         ["Từ ngày", str(period.get("from", ""))],
                                         ["Đến ngày", str(period.get("to", ""))],
                                         *[[label, _value(totals.get(key))] for key, label in TOTAL_LABELS]])]
    tables.append(("Theo kỳ", [["Kỳ", "Tiếp nhận", "Đã trả lời", "Đúng hạn", "Quá hạn", "Tỷ lệ đúng hạn (%)"],
                               *[[row.get("bucket"), row.get("received"), row.get("answered"), row.get("on_time"),
                                  row.get("late"), _value(row.get("on_time_pct"))]
                                 for row in figures.get("series") or []]]))
    kinds = totals.get("kinds") or {}
    if kinds:
        lines = [(label, kinds.get(key) or {}) for key, label in (("question", "Câu hỏi"), ("complaint", "Phản ánh"))]
        tables.append(("Câu hỏi và phản ánh", [
            ["Loại", "Tiếp nhận", "Đã trả lời", "Đúng hạn", "Tỷ lệ đúng hạn (%)"],
            *[[label, line.get("received"), line.get("answered"), line.get("on_time"), _value(line.get("on_time_pct"))]
              for label, line in lines]]))
    by = figures.get("by") or {}
    for key, title in DIMENSIONS:
        tables.append((title, [DIMENSION_HEADING, *[[_value(row.get(k)) for k in DIMENSION_KEYS]
                                                    for row in by.get(key) or []]]))
    tables.append(("Tồn theo tuổi", [["Tuổi", "Số phản ánh", "Đã quá hạn"],
                                      *[[row.get("bucket") or row.get("label"), row.get("count"), row.get("overdue")]
                                        for row in figures.get("backlog_age") or []]]))
    heat = figures.get("heat") or {}
    if heat.get("rows"):
        tables.append(("Lĩnh vực x địa bàn", [["Lĩnh vực", *heat.get("cols", [])],
                                              *[[name, *cells] for name, cells in zip(heat["rows"], heat["cells"])]]))
    if figures.get("operators") is not None:
        tables.append(("Theo điện thoại viên", [["Điện thoại viên", "Đã xử lý", "Đã trả lời"],
                                                *[[row.get("name"), row.get("handled"), row.get("answered")]
                                                  for row in figures["operators"]]]))
    return tables


def ticket_heading(with_reporter: bool) -> list[str]:
    return [label for _, label in TICKET_COLUMNS] + ([label for _, label in REPORTER_COLUMNS] if with_reporter else [])


def ticket_row(summary: Mapping[str, Any], with_reporter: bool, reporter_visible: bool) -> list[Any]:
    """One ticket's row; the reporter's columns (when the list has them) are empty unless
    `reporter_visible` (chalicelib.domain.permissions.may_see_reporter for its category)."""
    row = [_text(_get(summary, key)) for key, _ in TICKET_COLUMNS]
    if with_reporter:
        row += [_text(_get(summary, key)) if reporter_visible else "" for key, _ in REPORTER_COLUMNS]
    return row


def csv_text(tables: Sequence[Table]) -> str:
    """Returns the tables as one CSV for Excel: a BOM (Excel then reads UTF-8 Vietnamese), CRLF line
    ends; with several tables, each under its title, a blank line between; values that Excel would
    read as formulas start with an apostrophe (chalicelib.domain.exports.cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for n, (title, rows) in enumerate(tables):
        if len(tables) > 1:
            if n:
                writer.writerow([])
            writer.writerow([cell(title)])
        writer.writerows([[cell(value) if isinstance(value, str) else value if value is not None else ""
                           for value in row] for row in rows])
    return BOM + buffer.getvalue()


def csv_lines(rows: Iterable[Sequence[Any]]) -> Iterable[str]:
    """The CSV lines of one table, streamed (a large export never holds the whole text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield BOM
    for row in rows:
        writer.writerow([cell(value) if isinstance(value, str) else value if value is not None else ""
                         for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def delay_text(kind: str, detail: Mapping[str, Any] | None, at: datetime) -> str | None:
    """Why a ticket is late, as the report says it, from the latest event of DELAY_KINDS: "Gia hạn đến
    <date>: <reason>" or "<reason> (ghi ngày <date>)"; None without a reason."""
    detail = detail or {}
    reason = str(detail.get("reason") or "").strip()
    if not reason:
        return None
    if kind == "deadline_extended":
        until = _text(detail.get("to")) if detail.get("to") else None
        return f"Gia hạn đến {until[:10]}: {reason}" if until else f"Gia hạn: {reason}"
    return f"{reason} (ghi ngày {_text(at)[:10]})"


def low_rating_note(rating: int, comment: str | None) -> str:
    """Why a low rating is notable: its stars, and the citizen's comment where the viewer may read it
    (the caller passes None otherwise)."""
    said = f"Người dân đánh giá {rating}/5"
    return f"{said}: “{comment.strip()}”" if comment and comment.strip() else said


def report(month: str, figures: Mapping[str, Any], overdue: Sequence[Mapping[str, Any]],
           notable: Sequence[Mapping[str, Any]], province: str, generated_at: datetime) -> dict[str, Any]:
    """Returns the monthly report's model: title, totals, questions and complaints, by channel, by agency
    (on-time %), the open overdue tickets with their reasons, notable cases (reopened, late, low ratings),
    each with `why`."""
    first, last = month_range(month)
    totals = figures.get("totals") or {}
    kinds = totals.get("kinds") or {}
    by = figures.get("by") or {}
    # Open and overdue-open are counted now, not as of the month's end: say so beside them.
    as_of = f"tại thời điểm lập báo cáo {generated_at.astimezone(VN):%d/%m/%Y}"
    labels = [(key, f"{label} ({as_of})" if key in ("open", "overdue_open") else label)
              for key, label in TOTAL_LABELS[:10]]
    return {
        "title": f"Báo cáo kết quả tiếp nhận, xử lý phản ánh, kiến nghị tháng {first:%m/%Y}",
        "month": month, "province": province,
        "period": f"từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y}",
        "generated_at": generated_at.astimezone(VN).strftime("%d/%m/%Y %H:%M"),
        "as_of": as_of, "no_reason": NO_REASON,
        "totals": [(label, _value(totals.get(key))) for key, label in labels],
        "on_time_pct": _value(totals.get("on_time_pct")),
        "received": totals.get("received", 0), "answered": totals.get("answered", 0),
        "by_kind": [[label, *(_value((kinds.get(key) or {}).get(k)) for k in KIND_KEYS)] for key, label in KIND_LABELS]
                   if kinds else [],
        "by_channel": [[_value(row.get(k)) for k in DIMENSION_KEYS[:6]] for row in by.get("channel") or []],
        "by_agency": [[_value(row.get(k)) for k in DIMENSION_KEYS] for row in by.get("agency") or []],
        "overdue": [{key: _text(_get(row, key)) for key, _ in TICKET_COLUMNS} for row in overdue],
        "overdue_with_reason": sum(1 for row in overdue if row.get("overdue_reason")),
        "notable": [{**{key: _text(_get(row, key)) for key, _ in TICKET_COLUMNS}, "why": row.get("why", "")}
                    for row in notable],
        "low_ratings": sum(1 for row in notable if row.get("kind") == "low_rating"),
    }


def report_tables(model: Mapping[str, Any]) -> list[Table]:
    """The report as XLSX sheets, in the order of the page. An overdue ticket's reason is its latest
    extension's or stated delay reason (delay_text); without one, the sheet says so (NO_REASON)."""
    heading = ["Tên", "Tiếp nhận", "Đã trả lời", "Đúng hạn", "Quá hạn", "Tỷ lệ đúng hạn (%)"]
    listing = ["Mã phản ánh", "Ngày tiếp nhận", "Lĩnh vực", "Cơ quan xử lý", "Hạn trả lời", "Lý do quá hạn"]
    return [
        ("Tổng hợp", [[model["title"], ""], [f"{model['province']}, {model['period']}", ""], ["Chỉ tiêu", "Số lượng"],
                      *[[label, value] for label, value in model["totals"]]]),
        ("Câu hỏi và phản ánh", [["Loại", "Tiếp nhận", "Đã trả lời", "Đúng hạn", "Tỷ lệ đúng hạn (%)"],
                                 *model["by_kind"]]),
        ("Theo kênh", [heading, *model["by_channel"]]),
        ("Theo cơ quan", [[*DIMENSION_HEADING[:6], *(f"{h} ({model['as_of']})" for h in DIMENSION_HEADING[6:])],
                          *model["by_agency"]]),
        ("Quá hạn", [listing, *[[row["code"], row["created_at"], row["category"], row["agency"], row["due_at"],
                                 row["overdue_reason"] or NO_REASON] for row in model["overdue"]]]),
        ("Vụ việc đáng chú ý", [[*listing[:4], "Trạng thái", "Vì sao đáng chú ý"],
                                *[[row["code"], row["created_at"], row["category"], row["agency"], row["status"],
                                   row["why"]] for row in model["notable"]]]),
    ]
