"""Domain errors -> HTTP, in one place; JSON bodies carry Vietnamese first, English too."""
from __future__ import annotations

import functools
import uuid
from typing import Any, Callable

from chalice import Response

from chalicelib.channels.base import BodyTooLarge, PayloadInvalid, SignatureInvalid
from chalicelib.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    TooManyRequests,
    IllegalTransition,
    NotFound,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
    WrongCredentials,
)
from chalicelib.observability import logger

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    ValidationFailed: 400,
    NotFound: 404,
    IllegalTransition: 409,
    Conflict: 409,
    AlreadyExists: 409,
    Unavailable: 503,
    SignatureInvalid: 401,
    Unauthenticated: 401,
    WrongCredentials: 401,
    Forbidden: 403,
    TooManyRequests: 429,
    PayloadInvalid: 400,
    BodyTooLarge: 413,
}
_CODES = {400: "validation_failed", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "too_large", 429: "too_many_requests",
          422: "unprocessable", 503: "unavailable"}
JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}


def status_for(error: DomainError) -> int:
    """Returns the HTTP status of a domain error (422 for use-case errors the table does not name)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 422


def error_body(error: DomainError) -> dict[str, Any]:
    status = status_for(error)
    body: dict[str, Any] = {"code": _CODES.get(status, "error"), "message": error.message_vi,
                            "message_en": error.message_en}
    if isinstance(error, ValidationFailed):
        body["fields"] = {e.field: {"message": e.vi, "message_en": e.en} for e in error.errors}
    if isinstance(error, PayloadInvalid):
        body.update(code="malformed_payload", quarantine_id=error.quarantine_id)
    return {"error": body}


def request_id(context: Any) -> str:
    """Returns the Lambda request id (a fresh uuid where there is none)."""
    return getattr(context, "aws_request_id", None) or str(uuid.uuid4())


def internal_error_body(rid: str) -> dict[str, Any]:
    return {"error": {"code": "internal_error", "request_id": rid,
                      "message": f"Lỗi hệ thống. Vui lòng thử lại sau (mã yêu cầu {rid}).",
                      "message_en": f"Internal error. Please try again later (request id {rid})."}}


def _guarded(context_of: Callable[[], Any], on_domain_error: Callable[[DomainError], Response],
             on_crash: Callable[[str], Response]) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Decorates a route: domain errors and crashes become responses; a crash is logged once,
    with its request id and type, never with request data."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            try:
                return view(*args, **kwargs)
            except DomainError as error:
                return on_domain_error(error)
            except Exception as exc:  # the last line of defence
                rid = request_id(context_of())
                logger().exception("unhandled error", extra={"request_id": rid, "error_type": type(exc).__name__})
                return on_crash(rid)
        return wrapper
    return decorate


def json_api(context_of: Callable[[], Any]) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Decorates a JSON route: domain errors become their status, anything else a 500 with a request id."""
    return _guarded(
        context_of,
        lambda error: Response(error_body(error), status_code=status_for(error), headers=JSON_UTF8),
        lambda rid: Response(internal_error_body(rid), status_code=500, headers=JSON_UTF8))


def html_page(context_of: Callable[[], Any]) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Decorates a page route: errors become a Vietnamese error page with the right status."""
    from chalicelib.web.pages import render

    return _guarded(
        context_of,
        lambda error: render("error.html", status=status_for(error), title="Không thực hiện được",
                             message=error.message_vi, province="", hotline=""),
        lambda rid: render("error.html", status=500, title="Lỗi hệ thống", request_id=rid,
                           message="Xin lỗi, hệ thống gặp lỗi. Phản ánh chưa được gửi, vui lòng thử lại "
                                   "hoặc gọi đường dây nóng.", province="", hotline=""))


def refuse_unbounded_query(route: str, uri_params: dict[str, str] | None, query: Any) -> Response | None:
    """A 400 for a query string beyond the bounds (chalicelib/domain/bounds.py), checked before any
    route reads it, in the shape the route's callers expect: the spec's error list on Open311,
    our JSON error on the API and webhooks, the error page on citizen and staff pages. None when
    the query is within bounds."""
    from chalicelib.domain.bounds import check_query

    try:
        check_query({name: query.getlist(name) for name in query} if query else {})
    except ValidationFailed as refused:
        if route.startswith("/open311/"):
            from chalicelib.web.open311 import respond

            fmt = "xml" if any(str(v).endswith(".xml") for v in (uri_params or {}).values()) else "json"
            return respond("errors", fmt, [{"code": e.field, "description": f"{e.en} / {e.vi}"}
                                           for e in refused.errors], 400)
        if route.startswith(("/api/", "/webhooks/")):
            return Response(error_body(refused), status_code=400, headers=JSON_UTF8)
        from chalicelib.web.pages import render

        error = refused.errors[0]
        return render("error.html", status=400, title="Không thực hiện được", message=error.vi,
                      province="", hotline="")
    return None
