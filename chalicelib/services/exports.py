"""Use cases: the statistics as CSV / XLSX downloads, the tickets behind a figure as a file, large
exports as background jobs, and the monthly report (page, XLSX, e-mail to the leadership list).

Small exports answer in the request. The ticket list behind a figure of more than SYNC_LIMIT tickets
becomes a job: the request stores it (chalicelib.store.export_jobs) and returns at once; the `reports`
schedule (app.py, every minute) writes the file to S3 under exports/ and the page then shows a
10-minute download link. A schedule rather than a new queue: no queue, DLQ and alarms to add, and a
failed run already lands in the watched ScheduleFailuresQueue. A run claims each job (a conditional
update with a lease, chalicelib.store.export_jobs.claim), so overlapping runs never write the same job;
a job that fails MAX_ATTEMPTS times is marked failed.

Within the viewer's scope: the figures and lists come from chalicelib.services.stats with the viewer's
StaffUser. A job runs with the scope (roles, agency) stored when it was asked for, not re-read at run
time: a job lives minutes, and its file is only ever linked to the staff member who asked. The reporter's
name and phone (reporter=1) need the `export_reporter` permission (supervisor, admin) and each such
download is written to the audit trail (who, which figure and filters: no personal data); within a
file, a reporter's identity is written only where chalicelib.domain.permissions.may_see_reporter allows.

Within the 29-second API limit: a list of answers (answered, on_time, late, reopened) is found by reading
the period's answered tickets, so for a period longer than SYNC_DAYS it always becomes a job, whatever
its count; the monthly report lists at most REPORT_LIST tickets of one month.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Mapping

from chalicelib.domain import monthly_report as mr
from chalicelib.domain import xlsx
from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.permissions import StaffUser, may_see_reporter, require
from chalicelib.observability import logger

SYNC_LIMIT = 2000         # a list behind a figure up to this many tickets is written in the request
SYNC_DAYS = 31            # ... and, for a list of answers, only when its period is at most this long
ANSWER_FIGURES = frozenset({"answered", "on_time", "late", "reopened"})
JOBS_PER_RUN = 3
RUN_SECONDS = 240         # the reports function's timeout is 300 s (.chalice/config.json)
REPORT_LIST = 200         # overdue tickets and notable cases listed in the monthly report, at most
FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": xlsx.CONTENT_TYPE}
QUERY_KEYS = ("from", "to", "grain", "channel", "category", "agency", "area", "reporter")


@dataclass(frozen=True)
class ExportFile:
    body: bytes
    content_type: str
    filename: str
    rows: int | None = None   # the tickets in a list's file


@dataclass(frozen=True)
class Started:
    job_id: str


def _stats() -> Any:
    from chalicelib.services import stats

    return stats


def _format(raw: str | None) -> str:
    fmt = (raw or "").strip().lower()
    if fmt not in FORMATS:
        raise ValidationFailed([FieldError("format", "Định dạng tệp phải là csv hoặc xlsx.",
                                           "The file format must be csv or xlsx.")])
    return fmt


def _figure(raw: str | None) -> str:
    if raw not in mr.FIGURES:
        raise ValidationFailed([FieldError("figure", "Số liệu không hợp lệ.", "Unknown figure.")])
    return str(raw)


def _file(tables: list[mr.Table], fmt: str, stem: str) -> ExportFile:
    body = mr.csv_text(tables).encode("utf-8") if fmt == "csv" else xlsx.workbook(tables)
    return ExportFile(body, FORMATS[fmt], f"{stem}.{fmt}")


def _stem(name: str, figures_or_query: Mapping[str, Any]) -> str:
    period = figures_or_query.get("period") or figures_or_query
    return f"{name}-{period.get('from', '')}-{period.get('to', '')}".replace("--", "-").strip("-")


def figures_file(user: StaffUser, raw: Mapping[str, str], fmt: str, now: datetime) -> ExportFile:
    """The figures of the period and filters in `raw`, as the viewer sees them, in `fmt` (csv | xlsx).
    Raises ValidationFailed for a bad query or format."""
    from chalicelib.store.reference import load_reference

    fmt = _format(fmt)
    stats = _stats()
    figures = stats.figures(user, stats.parse_query(raw, load_reference(), now), now)
    return _file(mr.figure_tables(figures), fmt, _stem("thong-ke", figures))


def _with_reporters(user: StaffUser, rows: list[dict[str, Any]], ref: Any) -> list[dict[str, Any]]:
    """The rows with the reporter's name and phone where the user may see them (one BatchGetItem
    per page of tickets; a confidential category's reporter stays hidden from an agency officer)."""
    from chalicelib.store import tickets

    visible = [row["code"] for row in rows if may_see_reporter(
        user, bool(getattr(ref.categories.get(row.get("category") or ""), "confidential", False)))]
    found = {t.tracking_code: t for t in tickets.whole(visible)} if visible else {}
    return [{**row, "reporter_name": getattr(found.get(row["code"]), "reporter_name", None),
             "reporter_phone": getattr(found.get(row["code"]), "reporter_phone", None)} for row in rows]


def _ticket_rows(user: StaffUser, raw: Mapping[str, str], figure: str, now: datetime) -> Iterator[list[Any]]:
    """The heading, then one row per ticket behind `figure`, page after page, within the user's scope;
    with the reporter's columns when `raw` asks for them (reporter=1); a list of open work says why
    each ticket is late (_with_delay_reasons)."""
    from chalicelib.store.reference import load_reference

    stats, ref = _stats(), load_reference()
    query = stats.parse_query(raw, ref, now)
    with_reporter = raw.get("reporter") == "1"
    yield mr.ticket_heading(with_reporter)
    after = None
    while True:
        found = stats.tickets_behind(user, query, figure, after)
        rows = [dict(row) for row in found["tickets"]]
        if figure in ("open", "overdue_open"):   # why each is late (a list of open work is bounded)
            rows = _with_delay_reasons(rows)
        if with_reporter:
            rows = _with_reporters(user, rows, ref)
        for row in rows:
            yield mr.ticket_row(mr.named(row, ref), with_reporter, reporter_visible=True)
        after = found.get("next")
        if not after:
            return


def tickets_file(user: StaffUser, raw: Mapping[str, str], figure: str, fmt: str, now: datetime) -> ExportFile:
    """The whole list behind `figure` as one file (used in the request for small lists, by the job
    for large ones)."""
    fmt, figure = _format(fmt), _figure(figure)
    counted = [0]

    def rows() -> Iterator[list[Any]]:
        for index, row in enumerate(_ticket_rows(user, raw, figure, now)):
            counted[0] = index
            yield row

    stem = _stem(f"phan-anh-{figure.replace('_', '-')}", {k: raw.get(k, "") for k in ("from", "to")})
    if fmt == "csv":
        body = "".join(mr.csv_lines(rows())).encode("utf-8")
    else:
        body = xlsx.workbook([(mr.FIGURES[figure], rows())])
    return ExportFile(body, FORMATS[fmt], f"{stem}.{fmt}", counted[0])  # the heading is row 0


def _too_big(user: StaffUser, raw: Mapping[str, str], figure: str, now: datetime) -> bool:
    """Whether the list is for a job: more than SYNC_LIMIT tickets, or a list of answers over more
    than SYNC_DAYS days (found by reading every answer of the period, too many for one request)."""
    from chalicelib.store.reference import load_reference

    stats = _stats()
    query = stats.parse_query(raw, load_reference(), now)
    if figure in ANSWER_FIGURES and (query.end - query.start).days + 1 > SYNC_DAYS:
        return True
    totals = stats.figures(user, query, now).get("totals") or {}
    return int(totals.get(figure) or 0) > SYNC_LIMIT


def _audit_reporter_export(user: StaffUser, raw: Mapping[str, str], figure: str, fmt: str, now: datetime) -> None:
    """One audit entry per download with reporters' identities: who, which figure, format and filters."""
    from chalicelib.store import audit

    audit.record("export_reporter", user.actor, now, figure=figure, format=fmt,
                 filters={k: raw[k] for k in QUERY_KEYS if raw.get(k) and k != "reporter"})


def export_tickets(user: StaffUser, raw: Mapping[str, str], figure: str, fmt: str,
                   now: datetime) -> ExportFile | Started:
    """The list behind `figure`: the file itself when it holds at most SYNC_LIMIT tickets, else a
    started job (its id) whose file the `reports` schedule writes."""
    from chalicelib.store import export_jobs

    fmt, figure = _format(fmt), _figure(figure)
    if raw.get("reporter") == "1":
        require(user, "export_reporter")
        _audit_reporter_export(user, raw, figure, fmt, now)
    if not _too_big(user, raw, figure, now):
        return tickets_file(user, raw, figure, fmt, now)
    job_id = secrets.token_hex(12)
    request = {"user": {"sub": user.sub, "email": user.email, "name": user.name, "roles": sorted(user.roles),
                        "agency": user.agency},
               "query": {k: raw[k] for k in QUERY_KEYS if raw.get(k)}, "figure": figure, "format": fmt}
    export_jobs.add(job_id, user.sub, request, now)
    logger().info("export job queued", extra={"job": job_id, "figure": figure, "format": fmt})
    return Started(job_id)


def job_status(user: StaffUser, job_id: str) -> dict[str, Any]:
    """{state: waiting | done | failed, rows, link (done only: a fresh 10-minute link)} of the user's
    own job. Raises NotFound for another's job or an unknown / expired one."""
    from chalicelib.store import export_jobs

    job = export_jobs.get(job_id) if job_id.isalnum() else None
    if job is None or job.owner != user.sub:
        raise NotFound()
    link = export_jobs.link(job.key) if job.state == "done" and job.key else None
    return {"state": job.state, "rows": job.rows, "link": link, "figure": job.request.get("figure"),
            "format": job.request.get("format")}


def run_waiting(now: datetime, per_run: int = JOBS_PER_RUN, seconds: float = RUN_SECONDS) -> dict[str, int]:
    """Writes the files of the oldest waiting jobs (a few per run, within the run's time). Each job is
    claimed first (a conditional update with a lease), so an overlapping run skips it. A job that
    raises is given back for the next run, and marked failed (the page says so) at its MAX_ATTEMPTS-th
    try; logged by id and error type."""
    from chalicelib.store import export_jobs

    started, done, failed = time.monotonic(), 0, 0
    for marker, job_id in export_jobs.waiting(per_run):
        if time.monotonic() - started > seconds:
            break
        job = export_jobs.claim(job_id, marker, now)
        if job is None:
            continue
        if job.attempts > export_jobs.MAX_ATTEMPTS:  # earlier runs died on it (a timeout): give up
            failed += 1
            logger().error("export job failed", extra={"job": job_id, "error_type": "attempts"})
            export_jobs.finish(job_id, marker, "failed", None, None)
            continue
        request = job.request
        user = StaffUser(**{**request["user"], "roles": frozenset(request["user"]["roles"])})
        try:
            file = tickets_file(user, request["query"], request["figure"], request["format"], now)
            key = f"{export_jobs.PREFIX}{job_id}/{file.filename}"
            export_jobs.put_file(key, file.body, file.content_type, file.filename)
        except Exception as exc:  # retried by a later run, failed at the last attempt; the next job runs
            logger().error("export job failed", extra={"job": job_id, "error_type": type(exc).__name__,
                                                       "attempt": job.attempts})
            if job.attempts >= export_jobs.MAX_ATTEMPTS:
                failed += 1
                export_jobs.finish(job_id, marker, "failed", None, None)
            else:
                export_jobs.release(job_id)
            continue
        export_jobs.finish(job_id, marker, "done", key, file.rows)
        done += 1
    return {"exports_done": done, "exports_failed": failed}


# The monthly report

REPORTER = StaffUser(sub="monthly-report", email="", name="Báo cáo tháng", roles=frozenset({"supervisor"}))


def _listed(user: StaffUser, query: Any, figure: str, limit: int) -> list[dict[str, Any]]:
    stats, rows, after = _stats(), [], None
    while len(rows) < limit:
        found = stats.tickets_behind(user, query, figure, after)
        rows.extend(found["tickets"])
        after = found.get("next")
        if not after:
            break
    from chalicelib.store.reference import load_reference

    ref = load_reference()
    return [mr.named(row, ref) for row in rows[:limit]]


def monthly(user: StaffUser, month: str, now: datetime) -> dict[str, Any]:
    """The report's model for `month` (yyyy-mm) as `user` sees it (an agency officer: their agency)."""
    from chalicelib.config import settings
    from chalicelib.store.reference import load_reference

    stats = _stats()
    first, last = mr.month_range(month)
    query = stats.parse_query({"from": first.isoformat(), "to": last.isoformat(), "grain": "month"},
                              load_reference(), now)
    figures = stats.figures(user, query, now)
    overdue = _with_delay_reasons(_listed(user, query, "overdue_open", REPORT_LIST))
    notable = _low_ratings(user, month, REPORT_LIST // 4)
    notable += [{**row, "why": "Mở lại trong tháng"}
                for row in _listed(user, query, "reopened", (REPORT_LIST - len(notable)) // 2)]
    notable += [{**row, "why": "Trả lời quá hạn"} for row in _listed(user, query, "late", REPORT_LIST - len(notable))]
    return mr.report(month, figures, overdue, _once_each(notable), settings().province_name, now)


def _once_each(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per ticket: a ticket notable for several reasons gives them all in one row."""
    by_code: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["code"] in by_code:
            by_code[row["code"]]["why"] += f"; {row['why']}"
        else:
            by_code[row["code"]] = dict(row)
    return list(by_code.values())


def _with_delay_reasons(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The overdue rows with why each is late: its latest extension's or stated delay reason, read
    from its timeline (one Query per ticket, eight at a time; at most REPORT_LIST tickets). The
    timeline rather than a copy on the ticket: it holds every extension ever made, and an erasure
    request masks the reporter's names in it."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.store import tickets

    def reason(code: str) -> str | None:
        said = [e for e in tickets.timeline(code) if e.kind in mr.DELAY_KINDS]
        return mr.delay_text(said[-1].kind, said[-1].detail, said[-1].at) if said else None

    if not rows:
        return rows
    with ThreadPoolExecutor(max_workers=min(8, len(rows))) as pool:
        reasons = list(pool.map(reason, [row["code"] for row in rows]))
    return [{**row, "overdue_reason": text} for row, text in zip(rows, reasons)]


def _low_ratings(user: StaffUser, month: str, limit: int) -> list[dict[str, Any]]:
    """The month's answers rated 1 or 2 that `user` may see (an agency officer: their agency's), each
    with its stars and, where the user may see the reporter, the citizen's comment."""
    from chalicelib.store import ratings, tickets
    from chalicelib.store.reference import load_reference

    ref = load_reference()
    found = [t for t in tickets.whole(ratings.low_in_month(month, REPORT_LIST))
             if user.sees_every_agency or t.agency == user.agency]
    rows = []
    for ticket in found[:limit]:
        rating = ratings.of_ticket(ticket.tracking_code)
        if rating is None:
            continue
        category = ref.categories.get(ticket.category or "")
        comment = rating.comment if may_see_reporter(user, bool(getattr(category, "confidential", False))) else None
        rows.append(mr.named({"code": ticket.tracking_code, "created_at": ticket.created_at, "channel": ticket.channel,
                              "category": ticket.category, "area": ticket.area, "agency": ticket.agency,
                              "status": ticket.status, "due_at": ticket.due_at, "answered_at": ticket.answered_at,
                              "kind": "low_rating", "why": mr.low_rating_note(int(rating.rating), comment)}, ref))
    return rows


def monthly_xlsx(user: StaffUser, month: str, now: datetime) -> ExportFile:
    return ExportFile(xlsx.workbook(mr.report_tables(monthly(user, month, now))), xlsx.CONTENT_TYPE,
                      f"bao-cao-thang-{month}.xlsx")


def _queue_once(items: list[Any], pk: str) -> int:
    """Stores each e-mail under its fixed key if absent and queues every one still pending, the ones
    an earlier run stored too: a run that died between storing and queuing (or a queue message lost)
    leaves them pending, and the rerun sends them. The notifier claims a message before sending
    (chalicelib.services.delivery), so one queued twice still goes out once. Returns how many were queued."""
    from chalicelib import queues
    from chalicelib.domain.errors import AlreadyExists
    from chalicelib.store import outbound

    waiting = []
    for item in items:
        try:
            outbound.add_unattached(item, pk)
        except AlreadyExists:
            item = outbound.get_outbound(pk, item.sk)
            if item is None or item.state != "pending":
                continue   # sent (or given up) already
        waiting.append(item)
    if waiting:
        queues.send_notifications([(m.pk, m.sk) for m in waiting])
    return len(waiting)


def send_monthly_report(now: datetime) -> int:
    """On the 1st of a month (Vietnam time, from 08:00), queues last month's report e-mail to each
    address of the reference data's `monthly_report_emails`, once; returns the e-mails queued (0 on
    any other day, when already sent, or with nobody to send to)."""
    from chalicelib.config import settings
    from chalicelib.notify.staff import Contact, messages
    from chalicelib.services.schedules import _keyed
    from chalicelib.store import export_jobs
    from chalicelib.store.reference import load_reference

    local = now.astimezone(mr.VN)
    if local.day != 1 or local.hour < 8:
        return 0
    recipients = load_reference().monthly_report_emails
    month = mr.parse_month(None, now)
    if not recipients or export_jobs.report_sent(month):
        return 0
    # The mark is written only after the e-mails are queued, so a run that dies (a timeout) leaves the
    # month unmarked and the next run tries again (_queue_once: each e-mail is delivered once).
    model = monthly(REPORTER, month, now)
    link = settings().public_url(f"/staff/thong-ke/bao-cao?thang={month}")
    items = [item for email in recipients for item in messages(
        "monthly_report", Contact(email=email), model["title"], "", "", now, template="monthly_report",
        report=model, link=link, xlsx_link=link + "&format=xlsx")]
    sent = _queue_once(_keyed(items, "report"), f"OUTBOX#report#{month}")
    export_jobs.mark_report_sent(month, now)
    logger().info("monthly report queued", extra={"month": month, "emails": sent})
    return sent


def reports(now: datetime) -> dict[str, int]:
    """The `reports` schedule: the waiting export jobs, then (on the 1st) the monthly report."""
    return {**run_waiting(now), "report_emails": send_monthly_report(now)}


def stored_link(file: ExportFile) -> str:
    """Puts `file` under exports/ and returns a 10-minute link to it. A spreadsheet travels this way
    rather than through API Gateway, which would need it declared a binary type (and caps a response
    at 6 MB); the bucket's lifecycle deletes it after 1 day."""
    from chalicelib.store import export_jobs

    key = f"{export_jobs.PREFIX}{secrets.token_hex(12)}/{file.filename}"
    export_jobs.put_file(key, file.body, file.content_type, file.filename)
    return export_jobs.link(key)
