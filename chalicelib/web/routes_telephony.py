"""Stringee's webhooks (chalicelib/services/call_control.py): what to do with a call (an SCCO, JSON), and
its events. A POST with a bad signature (or a query we did not sign) is a 403 and nothing is stored;
without a signing secret the POSTs answer 503. The answer_url always answers an SCCO (never an error)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.http import JSON_UTF8, json_api
from chalicelib.web.routes_common import ANY, lambda_context

bp = Blueprint(__name__)
SIGNATURE = "x-stringee-signature"


def _webhook_base() -> str:
    """The absolute URL Stringee reached this app at (this request's host and base path; PUBLIC_BASE_URL
    when the request names no host): the next/voicemail URLs in an SCCO start with it."""
    from chalicelib.config import settings
    from chalicelib.web.urls import base

    headers = bp.current_request.headers
    host = headers.get("host", "")
    if not host:
        return settings().public_base_url.rstrip("/")
    # API Gateway always says how it was reached; `chalice local` on loopback (the local stack) does not
    loopback = host.split(":")[0] in ("127.0.0.1", "localhost")
    scheme = headers.get("x-forwarded-proto", "").split(",")[0].strip() or ("http" if loopback else "https")
    return f"{scheme}://{host}{base()}"


def _query() -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


@bp.route("/webhooks/stringee/answer", methods=["GET"])
@json_api(lambda_context)
def stringee_answer() -> Response:
    from chalicelib.services import call_control
    from chalicelib.web.urls import base

    actions = call_control.answer(_query(), bp.current_request.headers.get(SIGNATURE), base(), _webhook_base())
    return Response(actions, headers=JSON_UTF8)


@bp.route("/webhooks/stringee/next", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def stringee_next() -> Response:
    from chalicelib.services import call_control

    query = _query()
    actions = call_control.on_fail(bp.current_request.raw_body or b"", bp.current_request.headers.get(SIGNATURE),
                                   query.get("call", ""), query.get("try", ""), _webhook_base(),
                                   token=query.get("t"))
    return Response(actions, headers=JSON_UTF8)


@bp.route("/webhooks/stringee/event", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def stringee_event() -> Response:
    from chalicelib.services import call_control

    call_control.event(bp.current_request.raw_body or b"", bp.current_request.headers.get(SIGNATURE))
    return Response({"ok": True}, headers=JSON_UTF8)


@bp.route("/webhooks/stringee/voicemail", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def stringee_voicemail() -> Response:
    from chalicelib.services import call_control

    query = _query()
    call_control.voicemail(bp.current_request.raw_body or b"", bp.current_request.headers.get(SIGNATURE),
                           query.get("call", ""), query.get("kind", ""), token=query.get("t"))
    return Response({"ok": True}, headers=JSON_UTF8)
