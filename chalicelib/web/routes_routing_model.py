"""Routing that learns: the admin page /staff/quan-tri/dinh-tuyen (chalicelib/web/routing_model_views.py)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.routes_common import ANY, form_body, staff_page

bp = Blueprint(__name__)


@bp.route("/staff/quan-tri/dinh-tuyen", methods=["GET", "POST"], content_types=ANY)
@staff_page
def routing_model_page() -> Response:
    from chalicelib.web import routing_model_views

    request = bp.current_request
    if request.method == "GET":
        return routing_model_views.page(request.headers)
    return routing_model_views.submit(request.headers, form_body())
