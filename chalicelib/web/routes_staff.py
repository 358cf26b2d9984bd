"""The staff console's pages (chalicelib/web/staff_views.py: Cognito session cookie + CSRF token) and the staff
JSON API (chalicelib/web/staff_api.py: `Authorization: Bearer <Cognito ID token>` only)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.web.http import JSON_UTF8, json_api
from chalicelib.web.routes_common import ANY, form_body, lambda_context, staff_page

bp = Blueprint(__name__)


def _page_or_submit(page: Any, submit: Any) -> Response:
    """An admin page: GET shows it, POST sends its form."""
    request = bp.current_request
    if request.method == "GET":
        return page(request.headers)
    return submit(request.headers, form_body())


@bp.route("/staff", methods=["GET"])
def staff_home() -> Response:
    from chalicelib.web.urls import url

    return Response(body="", status_code=303, headers={"Location": url("/staff/inbox")})


@bp.route("/staff/sign-in", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_sign_in() -> Response:
    from chalicelib.web import staff_views

    request = bp.current_request
    if request.method == "GET":
        return staff_views.sign_in_page((request.query_params or {}).get("next", ""))
    return staff_views.sign_in(form_body())


@bp.route("/staff/new-password", methods=["POST"], content_types=ANY)
@staff_page
def staff_new_password() -> Response:
    from chalicelib.web import staff_views

    return staff_views.new_password(form_body())


@bp.route("/staff/sign-out", methods=["POST"], content_types=ANY)
@staff_page
def staff_sign_out() -> Response:
    from chalicelib.web import staff_views

    return staff_views.sign_out(bp.current_request.headers, form_body())


@bp.route("/staff/inbox", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_inbox() -> Response:
    from chalicelib.web import staff_views

    request = bp.current_request
    form = form_body() if request.method == "POST" else None  # the search form: a phone stays out of the URL
    return staff_views.inbox(request.headers, request.query_params or {}, form)


@bp.route("/staff/inbox/counts", methods=["GET"])
@json_api(lambda_context)
def staff_inbox_counts() -> Response:
    """The live inbox's poll (session cookie): counts per view, tickets created since `since`."""
    from chalicelib.web import inbox_views

    return inbox_views.counts(bp.current_request.headers, bp.current_request.query_params or {})


@bp.route("/staff/tickets/{code}/presence", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def staff_ticket_presence(code: str) -> Response:
    """The ticket page's heartbeat (session cookie + CSRF): who else has the ticket open."""
    from chalicelib.web import inbox_views

    return inbox_views.presence(bp.current_request.headers, code, form_body())


@bp.route("/staff/tickets/{code}", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_ticket(code: str) -> Response:
    from chalicelib.web import staff_views

    request = bp.current_request
    if request.method == "GET":
        return staff_views.ticket(request.headers, code, request.query_params or {})
    return staff_views.ticket_action(request.headers, code, form_body())


@bp.route("/staff/intake", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_intake() -> Response:
    from chalicelib.web import staff_views

    request = bp.current_request
    if request.method == "GET":
        return staff_views.intake_page(request.headers, request.query_params or {})
    return staff_views.intake_submit(request.headers, form_body())


@bp.route("/staff/templates", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_templates() -> Response:
    from chalicelib.web import staff_views

    return _page_or_submit(staff_views.templates_page, staff_views.templates_submit)


@bp.route("/staff/integrators", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_integrators() -> Response:
    from chalicelib.web import staff_views

    return _page_or_submit(staff_views.integrators_page, staff_views.integrators_submit)


@bp.route("/staff/accounts", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_accounts() -> Response:
    from chalicelib.web import staff_views

    return _page_or_submit(staff_views.accounts_page, staff_views.accounts_submit)


@bp.route("/staff/du-lieu-ca-nhan", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_personal_data() -> Response:
    from chalicelib.web import staff_views

    return _page_or_submit(staff_views.privacy_page, staff_views.privacy_submit)


@bp.route("/staff/search", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_search() -> Response:
    from chalicelib.web import search_views

    request = bp.current_request
    return search_views.page(request.headers, form_body() if request.method == "POST" else None)


@bp.route("/staff/nhat-ky", methods=["GET"])
@staff_page
def staff_audit_trail() -> Response:
    from chalicelib.web import admin_views

    return admin_views.audit_page(bp.current_request.headers, bp.current_request.query_params or {})


# Staff JSON API: `Authorization: Bearer <Cognito ID token>` only (chalicelib/web/staff_api.py)


@bp.route("/api/v1/staff/me", methods=["GET"])
@json_api(lambda_context)
def staff_me() -> Response:
    from chalicelib.web import staff_api

    return Response(staff_api.me(bp.current_request.headers), headers=JSON_UTF8)


@bp.route("/api/v1/staff/tickets", methods=["GET"])
@json_api(lambda_context)
def staff_api_inbox() -> Response:
    from chalicelib.web import staff_api

    request = bp.current_request
    return Response(staff_api.inbox(request.headers, request.query_params or {}), headers=JSON_UTF8)


@bp.route("/api/v1/staff/tickets/{code}", methods=["GET"])
@json_api(lambda_context)
def staff_api_ticket(code: str) -> Response:
    from chalicelib.web import staff_api

    return Response(staff_api.ticket(bp.current_request.headers, code), headers=JSON_UTF8)


@bp.route("/api/v1/staff/tickets/{code}/actions/{action}", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def staff_api_action(code: str, action: str) -> Response:
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = bp.current_request
    user = staff_api.user(request.headers)
    return Response(staff_api.act(user, code, action, parse_json_body(request)), headers=JSON_UTF8)


@bp.route("/api/v1/staff/callers", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def staff_api_caller() -> Response:
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = bp.current_request
    user = staff_api.user(request.headers)  # the phone rides in the body: never in a URL or an access log
    return Response(staff_api.caller(user, str(parse_json_body(request).get("phone") or "")), headers=JSON_UTF8)


@bp.route("/api/v1/staff/search", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def staff_api_search() -> Response:
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = bp.current_request
    user = staff_api.user(request.headers)  # the words ride in the body: a name never lands in a URL
    return Response(staff_api.search(user, parse_json_body(request)), headers=JSON_UTF8)


@bp.route("/api/v1/staff/intake", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def staff_api_intake() -> Response:
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = bp.current_request
    user = staff_api.user(request.headers)
    return Response(staff_api.intake(user, parse_json_body(request)), status_code=201, headers=JSON_UTF8)
