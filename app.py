"""hotline1022: routes and event handlers only. Each one parses, calls chalicelib once, returns."""
from __future__ import annotations

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


# Citizen pages


@app.route("/", methods=["GET"])
@html_page(_context)
def report_form() -> Response:
    from chalicelib.web.views import report_form

    return report_form()


@app.route("/", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@html_page(_context)
def submit_report_form() -> Response:
    from chalicelib.web.pages import form_fields
    from chalicelib.web.views import submit_form

    return submit_form(form_fields(app.current_request.raw_body))


@app.route("/tra-cuu", methods=["GET"])
@html_page(_context)
def status_page() -> Response:
    from chalicelib.web.views import status_page

    query = app.current_request.query_params or {}
    return status_page(query.get("code", ""), query.get("phone_last4", ""))


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
    receipt = intake.submit(submission, request.headers.get("idempotency-key"), _context())
    return Response(receipt, status_code=201, headers=JSON_UTF8)


@app.route("/api/v1/reports/{code}", methods=["GET"])
@json_api(_context)
def report_status(code: str) -> Response:
    from chalicelib.services import lookup

    query = app.current_request.query_params or {}
    return Response(lookup.status_for_citizen(code, query.get("phone_last4", "")).to_json(), headers=JSON_UTF8)


@app.route("/api/v1/reference", methods=["GET"])
@json_api(_context)
def reference() -> Response:
    from chalicelib.web.api import reference_json

    return Response(reference_json(), headers={**JSON_UTF8, "Cache-Control": "public, max-age=300"})


# Provider webhooks: verify, queue, answer fast (chalicelib/services/webhooks.py)


@app.route("/webhooks/zalo", methods=["POST"], content_types=ANY)
@json_api(_context)
def zalo_webhook() -> Response:
    from chalicelib.services import webhooks

    webhooks.zalo_event(app.current_request.raw_body or b"", app.current_request.headers)
    return Response({"ok": True}, headers=JSON_UTF8)


@app.route("/webhooks/sms/android-gateway", methods=["POST"], content_types=ANY)
@json_api(_context)
def android_gateway_webhook() -> Response:
    from chalicelib.services import webhooks

    webhooks.android_gateway_event(app.current_request.raw_body or b"", app.current_request.headers)
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
        return Response(webhooks.smssync_task_send(query), headers=JSON_UTF8)
    if query.get("task") == "sent":
        return Response(webhooks.smssync_task_sent(raw, query), headers=JSON_UTF8)
    return Response(webhooks.smssync_message(raw, form_fields(raw)), headers=JSON_UTF8)


@app.route("/webhooks/sms/esms", methods=["GET", "POST"], content_types=ANY)
@json_api(_context)
def esms_webhook() -> Response:
    from chalicelib.services import webhooks
    from chalicelib.web.pages import form_fields

    request = app.current_request
    params = {**(request.query_params or {}), **form_fields(request.raw_body)}
    return Response(webhooks.esms_mo(params), headers={"Content-Type": "text/xml; charset=utf-8"})


# Admin API (token in SSM until the staff console's Cognito sign-in lands)


@app.route("/api/v1/admin/reference", methods=["GET", "PUT"], content_types=ANY)
@json_api(_context)
def admin_reference() -> Response:
    from chalicelib.services import admin
    from chalicelib.web.api import parse_json_body

    request = app.current_request
    admin.authorise(request.headers.get("authorization"))
    if request.method == "GET":
        return Response(admin.reference(), headers=JSON_UTF8)
    result = admin.replace_reference(parse_json_body(request), request.headers.get("if-match"))
    return Response(result, headers=JSON_UTF8)


@app.route("/api/v1/admin/contacts", methods=["GET"])
@json_api(_context)
def admin_contacts() -> Response:
    from chalicelib.services import admin

    admin.authorise(app.current_request.headers.get("authorization"))
    return Response({"contacts": admin.contact_problems()}, headers=JSON_UTF8)


@app.route("/api/v1/admin/quarantine", methods=["GET"])
@json_api(_context)
def admin_quarantine() -> Response:
    from chalicelib.services import admin

    admin.authorise(app.current_request.headers.get("authorization"))
    return Response({"payloads": admin.quarantine()}, headers=JSON_UTF8)


# Event handlers (deployed as their own Lambda functions; devstack drives the same objects locally)


@app.on_sqs_message(queue="hotline-routing", batch_size=10)
def route_tickets(event: Any) -> dict[str, Any]:
    from chalicelib.workers import route_batch

    return route_batch(event)


@app.on_sqs_message(queue="hotline-inbound", batch_size=10)
def handle_inbound(event: Any) -> dict[str, Any]:
    from chalicelib.workers import inbound_batch

    return inbound_batch(event)


@app.on_sqs_message(queue="hotline-notifications", batch_size=10)
def send_notifications(event: Any) -> dict[str, Any]:
    from chalicelib.workers import notify_batch

    return notify_batch(event)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_unrouted(event: Any) -> dict[str, int]:
    from chalicelib.services.delivery import requeue_stale
    from chalicelib.services.routing import requeue_unrouted

    return {"requeued": requeue_unrouted(), "notifications_requeued": requeue_stale()}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def callback_reminders(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import callback_reminders

    return {"sent": callback_reminders()}


@app.schedule(Rate(15, unit=Rate.MINUTES))
def deadline_watch(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import deadline_watch

    return deadline_watch()


@app.schedule(Cron(0, 0, "*", "*", "?", "*"))  # 00:00 UTC = 07:00 in Vietnam
def daily_digest(event: Any) -> dict[str, int]:
    from chalicelib.services.schedules import daily_digest

    return {"sent": daily_digest()}


@app.on_sns_message(topic="hotline-ses-events")
def ses_events(event: Any) -> dict[str, int]:
    import json

    from chalicelib.services.admin import record_ses_notification

    return {"recorded": record_ses_notification(json.loads(event.message))}


@app.schedule(Rate(12, unit=Rate.HOURS))
def refresh_zalo_token(event: Any) -> dict[str, int]:
    from chalicelib.notify.zalo import refresh

    return {"generation": refresh().generation}
