"""The statistics' downloads and the monthly report page (chalicelib/services/exports.py).

CSV answers in the request (text, Excel-ready); a spreadsheet is put in S3 and the browser is sent on to
a 10-minute link; the list behind a large figure becomes a job whose page (/staff/thong-ke/xuat/<id>)
refreshes itself every 5 seconds (a meta refresh: no script) until its link is ready."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from chalice import Response

from chalicelib.web import session as sessions
from chalicelib.web.urls import url

PRIVATE = {"Cache-Control": "no-store"}


def _session(headers: Mapping[str, str]) -> sessions.PageSession:
    from chalicelib.domain.permissions import require

    session = sessions.page_session(headers)
    require(session.user, "statistics")
    return session


def _deliver(file: Any) -> Response:
    from chalicelib.services import exports

    if file.filename.endswith(".csv"):
        return Response(body=file.body.decode("utf-8"), status_code=200, headers={
            "Content-Type": file.content_type, "X-Content-Type-Options": "nosniff", **PRIVATE,
            "Content-Disposition": f'attachment; filename="{file.filename}"'})
    return Response(body="", status_code=303, headers={"Location": exports.stored_link(file), **PRIVATE})


def figures(headers: Mapping[str, str], raw: Mapping[str, str]) -> Response:
    """GET /staff/thong-ke/xuat?format=csv|xlsx&<the page's filters>: the figures as a file."""
    from chalicelib.services import exports

    session = _session(headers)
    return _deliver(exports.figures_file(session.user, raw, raw.get("format") or "", datetime.now(timezone.utc)))


def tickets(headers: Mapping[str, str], raw: Mapping[str, str]) -> Response:
    """GET /staff/thong-ke/xuat-phan-anh?figure=…&format=…: the list behind a figure, or its job's page."""
    from chalicelib.services import exports

    session = _session(headers)
    answer = exports.export_tickets(session.user, raw, raw.get("figure") or "", raw.get("format") or "",
                                    datetime.now(timezone.utc))
    if isinstance(answer, exports.Started):
        return Response(body="", status_code=303, headers={"Location": url(f"/staff/thong-ke/xuat/{answer.job_id}"),
                                                           **PRIVATE})
    return _deliver(answer)


def job(headers: Mapping[str, str], job_id: str) -> Response:
    """GET /staff/thong-ke/xuat/<id>: the job's state; its download link once the file is written."""
    from chalicelib.domain.monthly_report import FIGURES
    from chalicelib.services import exports
    from chalicelib.web.staff_views import _page

    session = _session(headers)
    status = exports.job_status(session.user, job_id)
    response = _page(session, "staff/export_job.html", job=status, figure_label=FIGURES.get(status["figure"], ""))
    response.headers.update(PRIVATE)
    return response


def monthly(headers: Mapping[str, str], raw: Mapping[str, str]) -> Response:
    """GET /staff/thong-ke/bao-cao?thang=yyyy-mm[&format=xlsx]: the month's report (last month by default)."""
    from chalicelib.domain.monthly_report import parse_month
    from chalicelib.services import exports
    from chalicelib.store.reference import load_reference
    from chalicelib.web.staff_views import _page

    session = _session(headers)
    now = datetime.now(timezone.utc)
    month = parse_month(raw.get("thang"), now)
    if raw.get("format") == "xlsx":
        return _deliver(exports.monthly_xlsx(session.user, month, now))
    agency = load_reference().agencies.get(session.user.agency or "")
    scope = None if session.user.sees_every_agency else f"số liệu của {agency.name if agency else 'cơ quan bạn'}"
    response = _page(session, "staff/monthly_report.html", report=exports.monthly(session.user, month, now),
                     scope=scope)
    response.headers.update(PRIVATE)
    return response
