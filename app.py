"""hotline1022: routes and event handlers only. Each one parses, calls chalicelib once, returns."""
from __future__ import annotations

import functools
from typing import Any

from chalice import Chalice, Cron, Rate, Response

from chalicelib.web.http import JSON_UTF8, html_page, json_api

app = Chalice(app_name="hotline1022")
ANY = ["*/*"]  # content types are checked in the view, so a wrong one gets our 400, not a bare 415


def _context() -> Any:
    return app.lambda_context


@app.middleware("all")
def observability(event: Any, get_response: Any) -> Any:
    """Tags every log line with the request id; never with request content."""
    from chalicelib.observability import logger

    log = logger()
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    log.append_keys(request_id=getattr(context, "aws_request_id", None))
    try:
        return get_response(event)
    finally:
        log.remove_keys(["request_id", "ticket"])


@app.middleware("http")
def base_path(event: Any, get_response: Any) -> Any:
    """Every URL a response carries starts with the path the client used before the route: '/api'
    on the execute-api URL, '' on a custom domain (chalicelib/web/urls.py)."""
    from chalicelib.web.urls import base_path_of, reset_base, use_base

    token = use_base(base_path_of((event.context or {}).get("path", ""), event.path, event.uri_params))
    try:
        return get_response(event)
    finally:
        reset_base(token)


@app.middleware("http")
def bounded_query(event: Any, get_response: Any) -> Any:
    """A query string beyond its bounds (count, length) is a 400 before any route reads it."""
    from chalicelib.web.http import refuse_unbounded_query

    return refuse_unbounded_query(event.path, event.uri_params, event.query_params) or get_response(event)


# Citizen pages


@app.route("/", methods=["GET"])
@html_page(_context)
def report_form() -> Response:
    from chalicelib.web.views import report_form

    return report_form()


def _source_ip() -> str | None:
    return ((app.current_request.context or {}).get("identity") or {}).get("sourceIp")


@app.route("/", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@html_page(_context)
def submit_report_form() -> Response:
    from chalicelib.web.pages import form_fields
    from chalicelib.web.views import submit_form

    return submit_form(form_fields(app.current_request.raw_body), _source_ip())


@app.route("/theo-doi", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@html_page(_context)
def follow_report() -> Response:
    from chalicelib.web.pages import form_fields
    from chalicelib.web.views import follow

    return follow(form_fields(app.current_request.raw_body), _source_ip())


@app.route("/danh-gia/{code}", methods=["GET", "POST"], content_types=ANY)
@html_page(_context)
def rating(code: str) -> Response:
    from chalicelib.web.pages import form_fields
    from chalicelib.web.views import rating_page

    request = app.current_request
    if request.method == "GET":
        return rating_page(code, (request.query_params or {}).get("t", ""))
    fields = form_fields(request.raw_body)
    return rating_page(code, fields.get("t", ""), fields)


@app.route("/rieng-tu", methods=["GET"])
@html_page(_context)
def privacy_notice() -> Response:
    from chalicelib.web.views import privacy_notice

    return privacy_notice()


@app.route("/static/report.js", methods=["GET"])
def report_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("report.js", "application/javascript; charset=utf-8")


@app.route("/static/staff.js", methods=["GET"])
def staff_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("staff.js", "application/javascript; charset=utf-8")


@app.route("/static/ticket.js", methods=["GET"])
def ticket_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("ticket.js", "application/javascript; charset=utf-8")


@app.route("/tra-cuu", methods=["GET"])
@html_page(_context)
def status_page() -> Response:
    from chalicelib.web.views import status_page

    query = app.current_request.query_params or {}
    return status_page(query.get("code", ""), query.get("phone_last4", ""), _source_ip())


@app.route("/s/{token}", methods=["GET"])
@html_page(_context)
def status_link(token: str) -> Response:
    """A reporter's or follower's personal status link (the token is in no log: see docs/privacy.md)."""
    from chalicelib.web.status_link_views import status_link_page

    return status_link_page(token, _source_ip())


@app.route("/cong-khai", methods=["GET"])
@html_page(_context)
def public_answers_page() -> Response:
    from chalicelib.web.views import public_answers

    return public_answers(app.current_request.query_params or {})


# JSON API


@app.route("/api/v1/reports", methods=["POST"], content_types=ANY)
@json_api(_context)
def create_report() -> Response:
    from chalicelib.services import intake
    from chalicelib.store.reference import load_reference
    from chalicelib.web.api import parse_json_body
    from chalicelib.domain.reports import validate_submission

    request = app.current_request
    submission = validate_submission(parse_json_body(request), load_reference(), channel="web")
    receipt = intake.submit(submission, request.headers.get("idempotency-key"), _context(), source_ip=_source_ip())
    # The ticket records the notice's version: the answer links the notice for the client to show, and
    # the reporter's personal status link.
    return Response({**_with_status_url(receipt), "privacy_notice": _notice_url()}, status_code=201, headers=JSON_UTF8)


@app.route("/api/v1/reports/similar", methods=["GET"])
@json_api(_context)
def similar_reports() -> Response:
    from chalicelib.services import intake

    from chalicelib.domain.reports import location

    query = app.current_request.query_params or {}
    lat, lon = location(query)  # a position ranks them by distance (text never goes in a URL)
    return Response({"tickets": intake.similar(query.get("category"), query.get("area"), lat=lat, lon=lon)},
                    headers=JSON_UTF8)


@app.route("/api/v1/reports/{code}/followers", methods=["POST"], content_types=ANY)
@json_api(_context)
def follow_report_api(code: str) -> Response:
    from chalicelib.services import intake
    from chalicelib.web.api import parse_json_body

    asked = intake.follow(code, str(parse_json_body(app.current_request).get("phone") or ""), source_ip=_source_ip())
    return Response(intake.follow_requested(asked), status_code=202, headers=JSON_UTF8)


@app.route("/api/v1/reports/{code}/followers/verify", methods=["POST"], content_types=ANY)
@json_api(_context)
def confirm_follow_api(code: str) -> Response:
    from chalicelib.services import intake
    from chalicelib.web.api import parse_json_body

    body = parse_json_body(app.current_request)
    followed = intake.follow_confirmed(code, str(body.get("phone") or ""), str(body.get("otp") or ""),
                                       source_ip=_source_ip())
    return Response({**_with_status_url(followed), "following": True}, status_code=201, headers=JSON_UTF8)


@app.route("/api/v1/uploads", methods=["POST"], content_types=ANY)
@json_api(_context)
def photo_upload() -> Response:
    from chalicelib.services.uploads import grant
    from chalicelib.web.api import parse_json_body

    return Response(grant(parse_json_body(app.current_request), _source_ip()), status_code=201, headers=JSON_UTF8)


@app.route("/api/v1/reports/{code}", methods=["GET"])
@json_api(_context)
def report_status(code: str) -> Response:
    from chalicelib.services import lookup

    query = app.current_request.query_params or {}
    return Response(lookup.status_for_citizen(code, query.get("phone_last4", ""), _source_ip()).to_json(),
                    headers=JSON_UTF8)


@app.route("/api/v1/public/answers", methods=["GET"])
@json_api(_context)
def public_answers_api() -> Response:
    from chalicelib.services import publication

    return Response(publication.answers(app.current_request.query_params or {}),
                    headers={**JSON_UTF8, "Cache-Control": "public, max-age=60"})


@app.route("/api/v1/reference", methods=["GET"])
@json_api(_context)
def reference() -> Response:
    from chalicelib.web.api import reference_json

    return Response(reference_json(), headers={**JSON_UTF8, "Cache-Control": "public, max-age=300"})


@app.route("/api/v1/openapi.json", methods=["GET"])
@json_api(_context)
def openapi_document() -> Response:
    from chalicelib.web.openapi import document
    from chalicelib.web.urls import url

    return Response(document(url("/")), headers={**JSON_UTF8, "Cache-Control": "public, max-age=300"})


# Provider webhooks: verify, queue, answer fast (chalicelib/services/webhooks.py)


@app.route("/webhooks/zalo", methods=["POST"], content_types=ANY)
@json_api(_context)
def zalo_webhook() -> Response:
    from chalicelib.services import webhooks

    webhooks.zalo_event(app.current_request.raw_body or b"", app.current_request.headers, _source_ip())
    return Response({"ok": True}, headers=JSON_UTF8)


@app.route("/webhooks/sms/android-gateway", methods=["POST"], content_types=ANY)
@json_api(_context)
def android_gateway_webhook() -> Response:
    from chalicelib.services import webhooks

    webhooks.android_gateway_event(app.current_request.raw_body or b"", app.current_request.headers, _source_ip())
    return Response({"ok": True}, headers=JSON_UTF8)


@app.route("/webhooks/sms/smssync", methods=["GET", "POST"], content_types=ANY)
@json_api(_context)
def smssync_webhook() -> Response:
    from chalicelib.services import webhooks
    from chalicelib.web.pages import form_fields

    request = app.current_request
    query = request.query_params or {}
    raw = request.raw_body or b""
    if query.get("task") == "send":
        return Response(webhooks.smssync_task_send(query, _source_ip()), headers=JSON_UTF8)
    if query.get("task") == "sent":
        return Response(webhooks.smssync_task_sent(raw, query, _source_ip()), headers=JSON_UTF8)
    return Response(webhooks.smssync_message(raw, form_fields(raw), _source_ip()), headers=JSON_UTF8)


@app.route("/webhooks/sms/esms", methods=["GET", "POST"], content_types=ANY)
@json_api(_context)
def esms_webhook() -> Response:
    from chalicelib.services import webhooks
    from chalicelib.web.pages import form_fields

    request = app.current_request
    params = {**(request.query_params or {}), **form_fields(request.raw_body)}
    return Response(webhooks.esms_mo(params, _source_ip()), headers={"Content-Type": "text/xml; charset=utf-8"})


# Open311 GeoReport v2 (chalicelib/web/open311.py): /open311/v2/<resource>.json|.xml


def open311_endpoint(view: Any) -> Any:
    """The spec's error handling, imported on the first Open311 request (not at cold start)."""
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.web.open311 import endpoint

        return endpoint(_context)(view)(*args, **kwargs)
    return guarded


@app.route("/open311/v2/{resource}", methods=["GET", "POST"], content_types=ANY)
@open311_endpoint
def open311_resource(resource: str) -> Response:
    from chalicelib.domain.open311 import Open311Error
    from chalicelib.services import open311
    from chalicelib.web.open311 import respond, split_format

    request = app.current_request
    name, fmt = split_format(resource)
    query = request.query_params or {}
    if request.method == "POST" and name == "requests":
        return respond("created", fmt, open311.create(_form(), request.headers.get("idempotency-key"), _notice_url(),
                                                      _base_url()))
    if request.method == "GET" and name == "discovery":
        return respond("discovery", fmt, open311.discovery(_base_url()))
    if request.method == "GET" and name == "services":
        return respond("services", fmt, open311.service_list())
    if request.method == "GET" and name == "requests":
        rows, more = open311.requests(query)
        response = respond("requests", fmt, rows)
        if more:  # the next page (RFC 8288; relative to this URL, so any base path works): the body stays the spec's
            response.headers["Link"] = f'<?{more}>; rel="next"'
        return response
    if request.method == "GET" and name == "servicerequestupdates":
        return respond("updates", fmt, open311.updates(query))
    raise Open311Error(404, [("404", f"No resource {name} / Không có tài nguyên {name}")])


@app.route("/open311/v2/{collection}/{item}", methods=["GET"])
@open311_endpoint
def open311_item(collection: str, item: str) -> Response:
    from chalicelib.domain.open311 import Open311Error
    from chalicelib.services import open311
    from chalicelib.web.open311 import respond, split_format

    name, fmt = split_format(item)
    if collection == "services":
        return respond("service_definition", fmt, open311.service_definition(name))
    if collection == "requests":
        return respond("requests", fmt, open311.one_request(name))
    if collection == "tokens":
        return respond("tokens", fmt, open311.token(name))
    raise Open311Error(404, [("404", f"No resource {collection} / Không có tài nguyên {collection}")])


def settings_base_url() -> str:
    from chalicelib.config import settings

    return settings().public_base_url.rstrip("/")


def _base_url() -> str:
    """API Gateway says https in X-Forwarded-Proto; PUBLIC_BASE_URL (origin + base path) wins when configured."""
    from chalicelib.web.urls import base

    headers = app.current_request.headers
    return settings_base_url() or (f"{headers.get('x-forwarded-proto', 'http')}://{headers.get('host', 'localhost')}"
                                   f"{base()}")


def _notice_url() -> str:
    """The privacy notice's absolute address, as API answers link it."""
    return f"{_base_url()}/rieng-tu"


def _with_status_url(receipt: dict[str, Any]) -> dict[str, Any]:
    """A receipt with its status link's route path ('status_path') as an absolute `status_url`."""
    path = receipt.pop("status_path", None)
    return {**receipt, "status_url": f"{_base_url()}{path}"} if path else receipt


# Staff console pages (chalicelib/web/staff_views.py): Cognito session cookie + CSRF token


def _path() -> str:
    request = app.current_request
    return request.path.format(**(request.uri_params or {}))


def _form() -> dict[str, str]:
    from chalicelib.web.pages import form_fields

    return form_fields(app.current_request.raw_body)


def staff_page(view: Any) -> Any:
    """Sign-in redirects and error pages, imported on the first staff request (not at cold start)."""
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.web.staff_views import staff_page as guard

        return guard(_context, _path, lambda: app.current_request.headers)(view)(*args, **kwargs)
    return guarded


def _page_or_submit(page: Any, submit: Any) -> Response:
    """An admin page: GET shows it, POST sends its form."""
    request = app.current_request
    if request.method == "GET":
        return page(request.headers)
    return submit(request.headers, _form())


@app.route("/staff", methods=["GET"])
def staff_home() -> Response:
    from chalicelib.web.urls import url

    return Response(body="", status_code=303, headers={"Location": url("/staff/inbox")})


@app.route("/staff/sign-in", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_sign_in() -> Response:
    from chalicelib.web import staff_views

    request = app.current_request
    if request.method == "GET":
        return staff_views.sign_in_page((request.query_params or {}).get("next", ""))
    return staff_views.sign_in(_form())


@app.route("/staff/new-password", methods=["POST"], content_types=ANY)
@staff_page
def staff_new_password() -> Response:
    from chalicelib.web import staff_views

    return staff_views.new_password(_form())


@app.route("/staff/sign-out", methods=["POST"], content_types=ANY)
@staff_page
def staff_sign_out() -> Response:
    from chalicelib.web import staff_views

    return staff_views.sign_out(app.current_request.headers, _form())


@app.route("/staff/inbox", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_inbox() -> Response:
    from chalicelib.web import staff_views

    request = app.current_request
    form = _form() if request.method == "POST" else None  # the search form: a phone stays out of the URL
    return staff_views.inbox(request.headers, request.query_params or {}, form)


@app.route("/staff/inbox/counts", methods=["GET"])
@json_api(_context)
def staff_inbox_counts() -> Response:
    """The live inbox's poll (session cookie): counts per view, tickets created since `since`."""
    from chalicelib.web import inbox_views

    return inbox_views.counts(app.current_request.headers, app.current_request.query_params or {})


@app.route("/staff/tickets/{code}/presence", methods=["POST"], content_types=ANY)
@json_api(_context)
def staff_ticket_presence(code: str) -> Response:
    """The ticket page's heartbeat (session cookie + CSRF): who else has the ticket open."""
    from chalicelib.web import inbox_views

    return inbox_views.presence(app.current_request.headers, code, _form())


@app.route("/staff/tickets/{code}", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_ticket(code: str) -> Response:
    from chalicelib.web import staff_views

    request = app.current_request
    if request.method == "GET":
        return staff_views.ticket(request.headers, code, request.query_params or {})
    return staff_views.ticket_action(request.headers, code, _form())


@app.route("/staff/intake", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_intake() -> Response:
    from chalicelib.web import staff_views

    request = app.current_request
    if request.method == "GET":
        return staff_views.intake_page(request.headers, request.query_params or {})
    return staff_views.intake_submit(request.headers, _form())


@app.route("/staff/templates", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_templates() -> Response:
    from chalicelib.web import staff_views

    return _page_or_submit(staff_views.templates_page, staff_views.templates_submit)


@app.route("/staff/integrators", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_integrators() -> Response:
    from chalicelib.web import staff_views

    return _page_or_submit(staff_views.integrators_page, staff_views.integrators_submit)


@app.route("/staff/accounts", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_accounts() -> Response:
    from chalicelib.web import staff_views

    return _page_or_submit(staff_views.accounts_page, staff_views.accounts_submit)


@app.route("/staff/du-lieu-ca-nhan", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_personal_data() -> Response:
    from chalicelib.web import staff_views

    return _page_or_submit(staff_views.privacy_page, staff_views.privacy_submit)


@app.route("/staff/search", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_search() -> Response:
    from chalicelib.web import search_views

    request = app.current_request
    return search_views.page(request.headers, _form() if request.method == "POST" else None)


@app.route("/staff/nhat-ky", methods=["GET"])
@staff_page
def staff_audit_trail() -> Response:
    from chalicelib.web import admin_views

    return admin_views.audit_page(app.current_request.headers, app.current_request.query_params or {})


# Admin pages for reference data (chalicelib/web/admin_views.py)


@app.route("/staff/quan-tri", methods=["GET"])
@staff_page
def staff_admin_home() -> Response:
    from chalicelib.web import admin_views

    return admin_views.home(app.current_request.headers)


@app.route("/staff/quan-tri/{section}", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_admin_section(section: str) -> Response:
    from chalicelib.web import admin_views

    request = app.current_request
    if request.method == "GET":
        return admin_views.section_page(request.headers, section, request.query_params or {})
    return admin_views.section_submit(request.headers, section, _form())


@app.route("/staff/quan-tri/lich-su/{number}", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_admin_version(number: str) -> Response:
    from chalicelib.web import admin_views

    request = app.current_request
    if request.method == "GET":
        return admin_views.version_page(request.headers, number)
    return admin_views.version_submit(request.headers, number, _form())


# Staff JSON API: `Authorization: Bearer <Cognito ID token>` only (chalicelib/web/staff_api.py)


@app.route("/api/v1/staff/me", methods=["GET"])
@json_api(_context)
def staff_me() -> Response:
    from chalicelib.web import staff_api

    return Response(staff_api.me(app.current_request.headers), headers=JSON_UTF8)


@app.route("/api/v1/staff/tickets", methods=["GET"])
@json_api(_context)
def staff_api_inbox() -> Response:
    from chalicelib.web import staff_api

    request = app.current_request
    return Response(staff_api.inbox(request.headers, request.query_params or {}), headers=JSON_UTF8)


@app.route("/api/v1/staff/tickets/{code}", methods=["GET"])
@json_api(_context)
def staff_api_ticket(code: str) -> Response:
    from chalicelib.web import staff_api

    return Response(staff_api.ticket(app.current_request.headers, code), headers=JSON_UTF8)


@app.route("/api/v1/staff/tickets/{code}/actions/{action}", methods=["POST"], content_types=ANY)
@json_api(_context)
def staff_api_action(code: str, action: str) -> Response:
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = app.current_request
    user = staff_api.user(request.headers)
    return Response(staff_api.act(user, code, action, parse_json_body(request)), headers=JSON_UTF8)


@app.route("/api/v1/staff/callers", methods=["POST"], content_types=ANY)
@json_api(_context)
def staff_api_caller() -> Response:
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = app.current_request
    user = staff_api.user(request.headers)  # the phone rides in the body: never in a URL or an access log
    return Response(staff_api.caller(user, str(parse_json_body(request).get("phone") or "")), headers=JSON_UTF8)


@app.route("/api/v1/staff/search", methods=["POST"], content_types=ANY)
@json_api(_context)
def staff_api_search() -> Response:
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = app.current_request
    user = staff_api.user(request.headers)  # the words ride in the body: a name never lands in a URL
    return Response(staff_api.search(user, parse_json_body(request)), headers=JSON_UTF8)


@app.route("/api/v1/staff/intake", methods=["POST"], content_types=ANY)
@json_api(_context)
def staff_api_intake() -> Response:
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = app.current_request
    user = staff_api.user(request.headers)
    return Response(staff_api.intake(user, parse_json_body(request)), status_code=201, headers=JSON_UTF8)


# Admin API (Cognito group `admin`)


@app.route("/api/v1/admin/reference", methods=["GET", "PUT"], content_types=ANY)
@json_api(_context)
def admin_reference() -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api
    from chalicelib.web.api import parse_json_body

    request = app.current_request
    user = staff_api.admin(request.headers)
    if request.method == "GET":
        return Response(admin.reference(), headers=JSON_UTF8)
    result = admin.replace_reference(user, parse_json_body(request), request.headers.get("if-match"))
    return Response(result, headers=JSON_UTF8)


@app.route("/api/v1/admin/contacts", methods=["GET"])
@json_api(_context)
def admin_contacts() -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api

    staff_api.admin(app.current_request.headers)
    return Response({"contacts": admin.contact_problems()}, headers=JSON_UTF8)


@app.route("/api/v1/admin/stats", methods=["GET"])
@json_api(_context)
def admin_stats() -> Response:
    from chalicelib.services import satisfaction
    from chalicelib.web import staff_api

    request = app.current_request
    staff_api.user(request.headers)  # every staff role may read the statistics
    return Response(satisfaction.statistics((request.query_params or {}).get("month", "")), headers=JSON_UTF8)

@app.route("/api/v1/admin/reference/versions", methods=["GET"])
@json_api(_context)
def admin_reference_versions() -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api

    request = app.current_request
    user = staff_api.admin(request.headers)
    return Response(admin.version_list(user, (request.query_params or {}).get("before")), headers=JSON_UTF8)


@app.route("/api/v1/admin/reference/versions/{number}", methods=["GET"])
@json_api(_context)
def admin_reference_version(number: str) -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api

    return Response(admin.version_detail(staff_api.admin(app.current_request.headers), number), headers=JSON_UTF8)



@app.route("/api/v1/admin/quarantine", methods=["GET"])
@json_api(_context)
def admin_quarantine() -> Response:
    from chalicelib.services import admin
    from chalicelib.web import staff_api

    staff_api.admin(app.current_request.headers)
    return Response({"payloads": admin.quarantine()}, headers=JSON_UTF8)


# Personal-data requests (admins; chalicelib/web/privacy_api.py): the person is in the body, never the URL


@app.route("/api/v1/admin/people/search", methods=["POST"], content_types=ANY)
@json_api(_context)
def admin_people_search() -> Response:
    from chalicelib.web import privacy_api

    return privacy_api.search(app.current_request)


@app.route("/api/v1/admin/people/export", methods=["POST"], content_types=ANY)
@json_api(_context)
def admin_people_export() -> Response:
    from chalicelib.web import privacy_api

    return privacy_api.export(app.current_request)


@app.route("/api/v1/admin/people/erase", methods=["POST"], content_types=ANY)
@json_api(_context)
def admin_people_erase() -> Response:
    from chalicelib.web import privacy_api

    return privacy_api.erase(app.current_request)


@app.route("/api/v1/staff/tickets/{code}/legal-hold", methods=["PUT", "DELETE"], content_types=ANY)
@json_api(_context)
def staff_api_legal_hold(code: str) -> Response:
    from chalicelib.web import privacy_api

    return privacy_api.legal_hold(app.current_request, code)


# Event handlers (deployed as their own Lambda functions; devstack drives the same objects locally)


@app.on_sqs_message(queue="hotline-routing", batch_size=10)
def route_tickets(event: Any) -> dict[str, Any]:
    from chalicelib.workers import route_batch

    return route_batch(event)


@app.on_sqs_message(queue="hotline-inbound", batch_size=10)
def handle_inbound(event: Any) -> dict[str, Any]:
    from chalicelib.workers import inbound_batch

    return inbound_batch(event)


# 3 per batch: each may take two provider calls of up to 8 s, inside the function's 60 s (infra/chalice-overlay.json)
@app.on_sqs_message(queue="hotline-notifications", batch_size=3)
def send_notifications(event: Any) -> dict[str, Any]:
    from chalicelib.workers import notify_batch

    return notify_batch(event)


def _scheduled_at(event: Any) -> Any:
    """The jobs' `now`: the time the event was sent for (EventBridge's `time`) when it is within
    SCHEDULE_CLOCK_SKEW_S of the real time, else the real time (chalicelib/domain/clock.py)."""
    from datetime import datetime, timezone

    from chalicelib.config import settings
    from chalicelib.domain.clock import scheduled_now
    from chalicelib.observability import logger

    now, refused = scheduled_now(getattr(event, "time", None), datetime.now(timezone.utc),
                                 settings().schedule_clock_skew_s)
    if refused:
        logger().warning("scheduled event's time too far from the real time; using the real time",
                         extra={"skew_limit_s": settings().schedule_clock_skew_s})
    return now


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_unrouted(event: Any) -> dict[str, int]:
    from chalicelib.services.delivery import requeue_stale
    from chalicelib.services.routing import requeue_unrouted

    now = _scheduled_at(event)
    return {"requeued": requeue_unrouted(now), "notifications_requeued": requeue_stale(now)}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def callback_reminders(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import callback_reminders

    return {"sent": callback_reminders(_scheduled_at(event))}


@app.schedule(Rate(15, unit=Rate.MINUTES))
def deadline_watch(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import deadline_watch

    return deadline_watch(_scheduled_at(event))


# 07:00-08:50 in Vietnam (00:00-01:50 UTC), every 10 minutes: each run sends the next page of agencies
@app.schedule(Cron("0,10,20,30,40,50", "0,1", "*", "*", "?", "*"))
def daily_digest(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import daily_digest

    return {"sent": daily_digest(_scheduled_at(event))}


# 02:00-04:50 in Vietnam (19:00-21:50 UTC), every 10 minutes: each run applies the retention schedule to
# the tickets whose time has come, a page at a time, until none is due (the later runs then find none)
@app.schedule(Cron("0,10,20,30,40,50", "19,20,21", "*", "*", "?", "*"))
def anonymise_expired(event: Any) -> dict[str, int]:
    from chalicelib.services.privacy import RUN_PAGES, RUN_SECONDS, anonymise_expired

    return anonymise_expired(_scheduled_at(event), pages=RUN_PAGES, seconds=RUN_SECONDS)


# The search index's one writer: adds new tickets, re-reads changed ones, drops removed personal data
# (chalicelib/services/search.py); invoked with {"detail": {"rebuild": true}} it rebuilds every month's file.
# It keeps the current time, not the event's: its high-water mark is over tickets' real creation times.
@app.schedule(Rate(5, unit=Rate.MINUTES))
def index_search(event: Any) -> dict[str, int]:
    from chalicelib.services import search

    return search.rebuild() if (getattr(event, "detail", None) or {}).get("rebuild") else search.index()


@app.on_sns_message(topic="hotline-ses-events")
def ses_events(event: Any) -> dict[str, int]:
    import json

    from chalicelib.services.admin import record_ses_notification

    return {"recorded": record_ses_notification(json.loads(event.message))}


# Zalo's token expires on Zalo's clock: the refresh keeps the current time, whatever the event's time.
@app.schedule(Rate(12, unit=Rate.HOURS))
def refresh_zalo_token(event: Any) -> dict[str, int]:
    from chalicelib.notify.zalo import refresh

    return {"generation": refresh().generation}
