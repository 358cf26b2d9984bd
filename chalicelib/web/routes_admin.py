"""Administration: the reference-data pages (chalicelib/web/admin_views.py), the admin API (Cognito group
`admin`) and personal-data requests (chalicelib/web/privacy_api.py)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.http import JSON_UTF8, json_api
from chalicelib.web.routes_common import ANY, form_body, lambda_context, staff_page

bp = Blueprint(__name__)


@bp.route("/staff/quan-tri", methods=["GET"])
@staff_page
def staff_admin_home() -> Response:
    from chalicelib.web import admin_views

    return admin_views.home(bp.current_request.headers)


@bp.route("/staff/quan-tri/{section}", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_admin_section(section: str) -> Response:
    from chalicelib.web import admin_views

    request = bp.current_request
    if request.method == "GET":
        return admin_views.section_page(request.headers, section, request.query_params or {})
    return admin_views.section_submit(request.headers, section, form_body())


@bp.route("/staff/quan-tri/lich-su/{number}", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_admin_version(number: str) -> Response:
    from chalicelib.web import admin_views

    request = bp.current_request
    if request.method == "GET":
        return admin_views.version_page(request.headers, number)
    return admin_views.version_submit(request.headers, number, form_body())


# Admin API (Cognito group `admin`)


@bp.route("/api/v1/admin/reference", methods=["GET", "PUT"], content_types=ANY)
@json_api(lambda_context)
def admin_reference() -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = bp.current_request
    user = staff_api.admin(request.headers)
    if request.method == "GET":
        return Response(admin.reference(), headers=JSON_UTF8)
    result = admin.replace_reference(user, parse_json_body(request), request.headers.get("if-match"))
    return Response(result, headers=JSON_UTF8)


@bp.route("/api/v1/admin/contacts", methods=["GET"])
@json_api(lambda_context)
def admin_contacts() -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api

    staff_api.admin(bp.current_request.headers)
    return Response({"contacts": admin.contact_problems()}, headers=JSON_UTF8)


@bp.route("/api/v1/admin/stats", methods=["GET"])
@json_api(lambda_context)
def admin_stats() -> Response:
    from chalicelib.services import satisfaction
    from chalicelib.web import staff_api

    request = bp.current_request
    staff_api.user(request.headers)  # every staff role may read the statistics
    return Response(satisfaction.statistics((request.query_params or {}).get("month", "")), headers=JSON_UTF8)


@bp.route("/api/v1/admin/reference/versions", methods=["GET"])
@json_api(lambda_context)
def admin_reference_versions() -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api

    request = bp.current_request
    user = staff_api.admin(request.headers)
    return Response(admin.version_list(user, (request.query_params or {}).get("before")), headers=JSON_UTF8)


@bp.route("/api/v1/admin/reference/versions/{number}", methods=["GET"])
@json_api(lambda_context)
def admin_reference_version(number: str) -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api

    return Response(admin.version_detail(staff_api.admin(bp.current_request.headers), number), headers=JSON_UTF8)


@bp.route("/api/v1/admin/quarantine", methods=["GET"])
@json_api(lambda_context)
def admin_quarantine() -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api

    staff_api.admin(bp.current_request.headers)
    return Response({"payloads": admin.quarantine()}, headers=JSON_UTF8)


# Personal-data requests (admins; chalicelib/web/privacy_api.py): the person is in the body, never the URL


@bp.route("/api/v1/admin/people/search", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def admin_people_search() -> Response:
    from chalicelib.web import privacy_api

    return privacy_api.search(bp.current_request)


@bp.route("/api/v1/admin/people/export", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def admin_people_export() -> Response:
    from chalicelib.web import privacy_api

    return privacy_api.export(bp.current_request)


@bp.route("/api/v1/admin/people/erase", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def admin_people_erase() -> Response:
    from chalicelib.web import privacy_api

    return privacy_api.erase(bp.current_request)


@bp.route("/api/v1/staff/tickets/{code}/legal-hold", methods=["PUT", "DELETE"], content_types=ANY)
@json_api(lambda_context)
def staff_api_legal_hold(code: str) -> Response:
    from chalicelib.web import privacy_api

    return privacy_api.legal_hold(bp.current_request, code)
