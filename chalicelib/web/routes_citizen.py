"""Citizen pages: the report form, following a report, ratings, the status pages, the public answers, and the
static scripts the pages load (chalicelib/web/views.py)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.http import html_page
from chalicelib.web.routes_common import ANY, lambda_context, source_ip

bp = Blueprint(__name__)


@bp.route("/", methods=["GET"])
@html_page(lambda_context)
def report_form() -> Response:
    from chalicelib.web.views import report_form

    return report_form()


@bp.route("/", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@html_page(lambda_context)
def submit_report_form() -> Response:
    from chalicelib.web.pages import form_fields
    from chalicelib.web.views import submit_form

    return submit_form(form_fields(bp.current_request.raw_body), source_ip())


@bp.route("/theo-doi", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@html_page(lambda_context)
def follow_report() -> Response:
    from chalicelib.web.pages import form_fields
    from chalicelib.web.views import follow

    return follow(form_fields(bp.current_request.raw_body), source_ip())


@bp.route("/danh-gia/{code}", methods=["GET", "POST"], content_types=ANY)
@html_page(lambda_context)
def rating(code: str) -> Response:
    from chalicelib.web.pages import form_fields
    from chalicelib.web.views import rating_page

    request = bp.current_request
    if request.method == "GET":
        return rating_page(code, (request.query_params or {}).get("t", ""))
    fields = form_fields(request.raw_body)
    return rating_page(code, fields.get("t", ""), fields)


@bp.route("/rieng-tu", methods=["GET"])
@html_page(lambda_context)
def privacy_notice() -> Response:
    from chalicelib.web.views import privacy_notice

    return privacy_notice()


@bp.route("/static/report.js", methods=["GET"])
def report_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("report.js", "application/javascript; charset=utf-8")


@bp.route("/static/staff.js", methods=["GET"])
def staff_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("staff.js", "application/javascript; charset=utf-8")


@bp.route("/static/ticket.js", methods=["GET"])
def ticket_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("ticket.js", "application/javascript; charset=utf-8")


@bp.route("/tra-cuu", methods=["GET"])
@html_page(lambda_context)
def status_page() -> Response:
    from chalicelib.web.views import status_page

    query = bp.current_request.query_params or {}
    return status_page(query.get("code", ""), query.get("phone_last4", ""), source_ip())


@bp.route("/s/{token}", methods=["GET"])
@html_page(lambda_context)
def status_link(token: str) -> Response:
    """A reporter's or follower's personal status link (the token is in no log: see docs/privacy.md)."""
    from chalicelib.web.status_link_views import status_link_page

    return status_link_page(token, source_ip())


@bp.route("/cong-khai", methods=["GET"])
@html_page(lambda_context)
def public_answers_page() -> Response:
    from chalicelib.web.views import public_answers

    return public_answers(bp.current_request.query_params or {})
