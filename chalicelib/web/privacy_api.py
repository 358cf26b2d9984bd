"""The JSON API for personal-data requests, the console's /staff/du-lieu-ca-nhan for scripts: what is
held about a phone or Zalo id (in the body, never the URL), its export as a file, erasure on request,
and a ticket's legal hold. Bearer ID tokens only (chalicelib/web/session.py); the caller is checked
before the body is read."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from chalice import Response

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.web.api import parse_json_body
from chalicelib.web.http import JSON_UTF8
from chalicelib.web.session import api_user

NO_STORE = {"Cache-Control": "no-store"}


def _person(body: Mapping[str, Any]) -> str:
    value = body.get("person")
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed([FieldError("person", "Nhập số điện thoại hoặc mã người dùng Zalo.",
                                           "Give a phone number or a Zalo user id.")])
    return value


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


def search(request: Any) -> Response:
    """Everything held about body.person: the same document as the JSON export. Raises
    Unauthenticated, Forbidden (admins only), ValidationFailed."""
    from chalicelib.domain.exports import document
    from chalicelib.services import data_requests

    user, now = api_user(request.headers), datetime.now(timezone.utc)
    found = data_requests.search(user, _person(parse_json_body(request)), now)
    return Response(document(found, now), headers={**JSON_UTF8, **NO_STORE})


def export(request: Any) -> Response:
    """The export file of body.person (?format=json, the default, or csv) as a download."""
    from chalicelib.services import data_requests

    user = api_user(request.headers)
    fmt = (request.query_params or {}).get("format") or "json"
    file = data_requests.export(user, _person(parse_json_body(request)), fmt)
    return Response(body=file.body, status_code=200, headers={
        "Content-Type": file.content_type, "Content-Disposition": f'attachment; filename="{file.filename}"',
        "X-Content-Type-Options": "nosniff", **NO_STORE})


def erase(request: Any) -> Response:
    """Erases body.person now (requester, reason and approver required; names, optional, the names the
    person uses — a list or one text, comma-separated — masked in every text) and returns the report."""
    from chalicelib.services import data_requests

    user = api_user(request.headers)
    body = parse_json_body(request)
    fields: dict[str, Any] = {name: _text(body, name) for name in ("requester", "reason", "approver")}
    fields["names"] = body.get("names") if isinstance(body.get("names"), (str, list)) else ""
    report = data_requests.erase(user, _person(body), fields)
    return Response({"anonymised": list(report.anonymised), "unfollowed": list(report.unfollowed),
                     "kept": [{"tracking_code": code, "reason": reason} for code, reason in report.kept],
                     "markers_deleted": report.markers_deleted, "counters_deleted": report.counters_deleted,
                     "remaining": report.remaining},
                    headers={**JSON_UTF8, **NO_STORE})


def legal_hold(request: Any, code: str) -> Response:
    """Sets the ticket's legal hold with body.reason (PUT), or lifts it (DELETE)."""
    from chalicelib.services import data_requests

    user = api_user(request.headers)
    reason = _text(parse_json_body(request), "reason") if request.method == "PUT" else None
    message = data_requests.legal_hold(user, code, reason)
    return Response({"legal_hold": reason.strip() if reason else None, "message": message}, headers=JSON_UTF8)
