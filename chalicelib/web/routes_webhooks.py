"""Provider webhooks: verify, queue, answer fast (chalicelib/services/webhooks.py)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.http import JSON_UTF8, json_api
from chalicelib.web.routes_common import ANY, lambda_context, source_ip

bp = Blueprint(__name__)


@bp.route("/webhooks/zalo", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def zalo_webhook() -> Response:
    from chalicelib.services import webhooks

    webhooks.zalo_event(bp.current_request.raw_body or b"", bp.current_request.headers, source_ip())
    return Response({"ok": True}, headers=JSON_UTF8)


@bp.route("/webhooks/facebook", methods=["GET", "POST"], content_types=ANY)
@json_api(lambda_context)
def facebook_webhook() -> Response:
    from chalicelib.services import webhooks

    request = bp.current_request
    if request.method == "GET":
        challenge = webhooks.facebook_handshake(request.query_params or {})
        return Response(challenge, headers={"Content-Type": "text/plain; charset=utf-8"})
    webhooks.facebook_event(request.raw_body or b"", request.headers, source_ip())
    return Response({"ok": True}, headers=JSON_UTF8)


@bp.route("/webhooks/sms/android-gateway", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def android_gateway_webhook() -> Response:
    from chalicelib.services import webhooks

    webhooks.android_gateway_event(bp.current_request.raw_body or b"", bp.current_request.headers, source_ip())
    return Response({"ok": True}, headers=JSON_UTF8)


@bp.route("/webhooks/sms/smssync", methods=["GET", "POST"], content_types=ANY)
@json_api(lambda_context)
def smssync_webhook() -> Response:
    from chalicelib.services import webhooks
    from chalicelib.web.pages import form_fields

    request = bp.current_request
    query = request.query_params or {}
    raw = request.raw_body or b""
    if query.get("task") == "send":
        return Response(webhooks.smssync_task_send(query, source_ip()), headers=JSON_UTF8)
    if query.get("task") == "sent":
        return Response(webhooks.smssync_task_sent(raw, query, source_ip()), headers=JSON_UTF8)
    return Response(webhooks.smssync_message(raw, form_fields(raw), source_ip()), headers=JSON_UTF8)


@bp.route("/webhooks/sms/esms", methods=["GET", "POST"], content_types=ANY)
@json_api(lambda_context)
def esms_webhook() -> Response:
    from chalicelib.services import webhooks
    from chalicelib.web.pages import form_fields

    request = bp.current_request
    params = {**(request.query_params or {}), **form_fields(request.raw_body)}
    return Response(webhooks.esms_mo(params, source_ip()), headers={"Content-Type": "text/xml; charset=utf-8"})
