"""Statistics: the staff figures page and the tickets behind a figure (chalicelib/web/stats_views.py), and
the public monthly figures per agency. Filters are GET query parameters (dates, grain, reference ids:
never personal data)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.http import html_page
from chalicelib.web.routes_common import lambda_context, staff_page

bp = Blueprint(__name__)


@bp.route("/staff/thong-ke", methods=["GET"])
@staff_page
def staff_stats() -> Response:
    from chalicelib.web import stats_views

    return stats_views.page(bp.current_request.headers, bp.current_request.query_params or {})


@bp.route("/staff/thong-ke/phan-anh", methods=["GET"])
@staff_page
def staff_stats_tickets() -> Response:
    from chalicelib.web import stats_views

    return stats_views.tickets_page(bp.current_request.headers, bp.current_request.query_params or {})


@bp.route("/thong-ke", methods=["GET"])
@html_page(lambda_context)
def public_stats() -> Response:
    from chalicelib.web import stats_views

    return stats_views.public_page(bp.current_request.query_params or {})
