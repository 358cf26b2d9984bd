"""The public JSON API under /api/v1: reports, followers, photo uploads, public answers, reference data and the
OpenAPI document (chalicelib/web/openapi.py) that describes it."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.web.http import JSON_UTF8, json_api
from chalicelib.web.routes_common import ANY, base_url, lambda_context, notice_url, source_ip

bp = Blueprint(__name__)


def with_status_url(receipt: dict[str, Any]) -> dict[str, Any]:
    """A receipt with its status link's route path ('status_path') as an absolute `status_url`."""
    path = receipt.pop("status_path", None)
    return {**receipt, "status_url": f"{base_url()}{path}"} if path else receipt


@bp.route("/api/v1/reports", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def create_report() -> Response:
    from chalicelib.services import intake
    from chalicelib.store.reference import load_reference
    from chalicelib.web.api import parse_json_body
    from chalicelib.domain.reports import validate_submission

    request = bp.current_request
    submission = validate_submission(parse_json_body(request), load_reference(), channel="web")
    receipt = intake.submit(submission, request.headers.get("idempotency-key"), lambda_context(), source_ip=source_ip())
    # The ticket records the notice's version: the answer links the notice for the client to show, and
    # the reporter's personal status link.
    return Response({**with_status_url(receipt), "privacy_notice": notice_url()}, status_code=201, headers=JSON_UTF8)


@bp.route("/api/v1/reports/similar", methods=["GET"])
@json_api(lambda_context)
def similar_reports() -> Response:
    from chalicelib.services import intake

    from chalicelib.domain.reports import location

    query = bp.current_request.query_params or {}
    lat, lon = location(query)  # a position ranks them by distance (text never goes in a URL)
    return Response({"tickets": intake.similar(query.get("category"), query.get("area"), lat=lat, lon=lon)},
                    headers=JSON_UTF8)


@bp.route("/api/v1/reports/{code}/followers", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def follow_report_api(code: str) -> Response:
    from chalicelib.services import intake
    from chalicelib.web.api import parse_json_body

    asked = intake.follow(code, str(parse_json_body(bp.current_request).get("phone") or ""), source_ip=source_ip())
    return Response(intake.follow_requested(asked), status_code=202, headers=JSON_UTF8)


@bp.route("/api/v1/reports/{code}/followers/verify", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def confirm_follow_api(code: str) -> Response:
    from chalicelib.services import intake
    from chalicelib.web.api import parse_json_body

    body = parse_json_body(bp.current_request)
    followed = intake.follow_confirmed(code, str(body.get("phone") or ""), str(body.get("otp") or ""),
                                       source_ip=source_ip())
    return Response({**with_status_url(followed), "following": True}, status_code=201, headers=JSON_UTF8)


@bp.route("/api/v1/uploads", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def photo_upload() -> Response:
    from chalicelib.services.uploads import grant
    from chalicelib.web.api import parse_json_body

    return Response(grant(parse_json_body(bp.current_request), source_ip()), status_code=201, headers=JSON_UTF8)


@bp.route("/api/v1/reports/{code}", methods=["GET"])
@json_api(lambda_context)
def report_status(code: str) -> Response:
    from chalicelib.services import lookup

    query = bp.current_request.query_params or {}
    return Response(lookup.status_for_citizen(code, query.get("phone_last4", ""), source_ip()).to_json(),
                    headers=JSON_UTF8)


@bp.route("/api/v1/public/answers", methods=["GET"])
@json_api(lambda_context)
def public_answers_api() -> Response:
    from chalicelib.services import publication

    return Response(publication.answers(bp.current_request.query_params or {}),
                    headers={**JSON_UTF8, "Cache-Control": "public, max-age=60"})


@bp.route("/api/v1/reference", methods=["GET"])
@json_api(lambda_context)
def reference() -> Response:
    from chalicelib.web.api import reference_json

    return Response(reference_json(), headers={**JSON_UTF8, "Cache-Control": "public, max-age=300"})


@bp.route("/api/v1/openapi.json", methods=["GET"])
@json_api(lambda_context)
def openapi_document() -> Response:
    from chalicelib.web.openapi import document
    from chalicelib.web.urls import url

    return Response(document(url("/")), headers={**JSON_UTF8, "Cache-Control": "public, max-age=300"})
