"""Statistics downloads (CSV, XLSX), export jobs and the monthly report (chalicelib/web/exports_views.py).
Every parameter is a date, a reference id, a figure name or a format: never personal data."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.routes_common import staff_page

bp = Blueprint(__name__)


@bp.route("/staff/thong-ke/xuat", methods=["GET"])
@staff_page
def export_figures() -> Response:
    from chalicelib.web import exports_views

    return exports_views.figures(bp.current_request.headers, bp.current_request.query_params or {})


@bp.route("/staff/thong-ke/xuat-phan-anh", methods=["GET"])
@staff_page
def export_tickets() -> Response:
    from chalicelib.web import exports_views

    return exports_views.tickets(bp.current_request.headers, bp.current_request.query_params or {})


@bp.route("/staff/thong-ke/xuat/{job_id}", methods=["GET"])
@staff_page
def export_job(job_id: str) -> Response:
    from chalicelib.web import exports_views

    return exports_views.job(bp.current_request.headers, job_id)


@bp.route("/staff/thong-ke/bao-cao", methods=["GET"])
@staff_page
def monthly_report() -> Response:
    from chalicelib.web import exports_views

    return exports_views.monthly(bp.current_request.headers, bp.current_request.query_params or {})
