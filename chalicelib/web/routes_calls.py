"""The staff console's telephony pages (chalicelib/web/call_views.py): the duty roster, the call log, the
call tasks, the screen-pop's poll and card, and its script. Call ids in paths; phone numbers only in
POST bodies."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.http import json_api
from chalicelib.web.routes_common import ANY, form_body, lambda_context, staff_page

bp = Blueprint(__name__)


@bp.route("/staff/truc", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_roster() -> Response:
    from chalicelib.web import call_views

    request = bp.current_request
    if request.method == "GET":
        return call_views.roster_page(request.headers, request.query_params or {})
    return call_views.roster_submit(request.headers, call_views.multi_fields(request.raw_body))


@bp.route("/staff/truc/trang-thai", methods=["POST"], content_types=ANY)
@staff_page
def staff_duty() -> Response:
    from chalicelib.web import call_views

    return call_views.set_duty(bp.current_request.headers, form_body())


@bp.route("/staff/calls/live", methods=["GET"])
@json_api(lambda_context)
def staff_live_calls() -> Response:
    """The screen-pop's poll (session cookie): the calls ringing or answered now."""
    from chalicelib.web import call_views

    return call_views.live(bp.current_request.headers)


@bp.route("/staff/cuoc-goi", methods=["GET"])
@staff_page
def staff_call_log() -> Response:
    from chalicelib.web import call_views

    return call_views.log_page(bp.current_request.headers, bp.current_request.query_params or {})


@bp.route("/staff/cuoc-goi/{call_id}/the", methods=["GET"])
@staff_page
def staff_call_card(call_id: str) -> Response:
    from chalicelib.web import call_views

    request = bp.current_request
    return call_views.card(request.headers, call_id, (request.query_params or {}).get("bare") == "1")


@bp.route("/staff/cuoc-goi/{call_id}/ghi-am", methods=["GET"])
@staff_page
def staff_call_audio(call_id: str) -> Response:
    """A call's voicemail (?loai=cuoc-goi: the whole call's recording): a redirect to where Stringee keeps it."""
    from chalicelib.web import call_views

    request = bp.current_request
    return call_views.recording(request.headers, call_id, (request.query_params or {}).get("loai", ""))


@bp.route("/staff/cuoc-goi/{call_id}/gan", methods=["POST"], content_types=ANY)
@staff_page
def staff_call_attach(call_id: str) -> Response:
    from chalicelib.web import call_views

    return call_views.attach(bp.current_request.headers, call_id, form_body())


@bp.route("/staff/goi-lai", methods=["GET", "POST"], content_types=ANY)
@staff_page
def staff_call_tasks() -> Response:
    from chalicelib.web import call_views

    request = bp.current_request
    if request.method == "GET":
        return call_views.tasks_page(request.headers, request.query_params or {})
    return call_views.tasks_submit(request.headers, form_body())


@bp.route("/staff/tickets/{code}/goi-lai", methods=["POST"], content_types=ANY)
@staff_page
def staff_ticket_call_back(code: str) -> Response:
    from chalicelib.web import call_views

    return call_views.ticket_call_back(bp.current_request.headers, code, form_body())


@bp.route("/static/calls.js", methods=["GET"])
def calls_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("calls.js", "application/javascript; charset=utf-8")
