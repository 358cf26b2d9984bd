"""Use cases of the Open311 GeoReport v2 endpoint (/open311/v2/): discovery, services, service
definitions, creating and reading service requests, tokens, and the mySociety update feed."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from chalicelib.config import settings
from chalicelib.domain import open311 as spec
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.permissions import StaffUser, require
from chalicelib.domain.tracking import parse_code
from chalicelib.services import intake
from chalicelib.store import audit, integrators, photos, tickets
from chalicelib.store.reference import load_reference

MAX_QUERIES = 8  # index pages (Query calls) read per anonymous GET requests


def discovery(base_url: str) -> dict[str, Any]:
    return {"changeset": "2026-11-28T00:00:00+07:00", "contact": f"Đường dây nóng 1022 – {settings().hotline}",
            "key_service": "API keys are issued by the hotline's administrators / Quản trị viên cấp api_key",
            "endpoints": [{"specification": spec.SPEC, "url": f"{base_url}/open311/v2",
                           "changeset": "2026-11-28T00:00:00+07:00", "type": "production",
                           "formats": ["application/json", "text/xml"]}]}


def service_list() -> list[dict[str, Any]]:
    return spec.services(load_reference())


def service_definition(code: str) -> dict[str, Any]:
    return spec.service_definition(load_reference(), code)


def create(form: Mapping[str, str], idempotency_key: str | None = None,
           notice_link: str | None = None, base_url: str | None = None) -> list[dict[str, Any]]:
    """POST requests: needs a valid api_key (403). Returns [{service_request_id, service_notice}]; the
    notice links the privacy notice (`notice_link`), whose version the ticket records, and the
    reporter's personal status link (under `base_url`), for the integrator to show the citizen."""
    key = (form.get("api_key") or "").strip()
    integrator = integrators.by_key(key) if key else None
    if integrator is None:
        raise spec.Open311Error(403, [("api_key", "A valid api_key is required / Cần api_key hợp lệ")])
    submission = spec.submission(form, load_reference())
    try:
        receipt = intake.submit(submission, idempotency_key=idempotency_key)
    except ValidationFailed as failed:
        raise spec.Open311Error(400, [(e.field, f"{e.en} / {e.vi}") for e in failed.errors]) from failed
    status_link = f"{base_url}{receipt['status_path']}" if base_url and receipt.get("status_path") else None
    return [{"service_request_id": receipt["tracking_code"],
             "service_notice": spec.service_notice(receipt["tracking_code"], notice_link, status_link),
             "account_id": None}]


def _media(ticket: Any) -> str | None:
    keys = ticket.photos_public or [] if ticket.public_shard else []
    return photos.view_url(keys[0]) if keys else None


def _visible(ticket: Any, ref: Any) -> bool:
    return spec.is_listed(ticket.attribute_values, ref)


def requests(raw: Mapping[str, str], now: datetime | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """GET requests with the spec's filters (ids override the others), newest first.

    Returns the spec's list and, when the date range was not read to its end, the query string of
    the next page (the same filters and an `after` cursor) for a `Link: <?...>; rel="next"` header:
    each request reads a bounded number of index pages, so a filter matching nothing over a busy
    quarter answers quickly with an empty list and that link. Raises Open311Error (400)."""
    from urllib.parse import urlencode

    from chalicelib.services.console import decode_cursor, encode_cursor

    now = now or datetime.now(timezone.utc)
    ref = load_reference()
    filters = spec.request_filters(raw)
    if filters.ids:
        codes = [code for code in (parse_code(i, settings().tracking_prefix) for i in filters.ids) if code]
        return [spec.request(t.attribute_values, ref, _media(t)) for t in tickets.many(codes) if _visible(t, ref)], None
    start, end = spec.date_range(raw, now)

    def wanted(ticket: Any) -> bool:
        return (not filters.service_codes or ticket.category in filters.service_codes) and (
            not filters.statuses or spec.request(ticket.attribute_values, ref)["status"] in filters.statuses) \
            and _visible(ticket, ref)

    try:
        found, more = tickets.created_between(start, end, spec.MAX_ROWS, wanted, after=decode_cursor(raw.get("after")),
                                              max_queries=MAX_QUERIES)
    except ValidationFailed as failed:
        raise spec.bad_request("after", "Invalid page cursor; start again without it / Trang không hợp lệ") from failed
    rows = [spec.request(t.attribute_values, ref, _media(t)) for t in found]
    if more is None:
        return rows, None
    # The same range on every page, even when the first request used the defaults ("the last 90 days").
    pinned = {"start_date": spec.iso(start), "end_date": spec.iso(end)}
    return rows, urlencode({**{k: v for k, v in raw.items() if k != "after"}, **pinned, "after": encode_cursor(more)})


def one_request(request_id: str) -> list[dict[str, Any]]:
    code = parse_code(request_id, settings().tracking_prefix)
    ref = load_reference()
    try:
        ticket = tickets.get_ticket(code or "")
    except NotFound:
        ticket = None
    if ticket is None or not _visible(ticket, ref):
        raise spec.Open311Error(404, [("404", f"Service request {request_id} not found / Không tìm thấy")])
    return [spec.request(ticket.attribute_values, ref, _media(ticket))]


def token(token_id: str) -> list[dict[str, Any]]:
    """Our requests are realtime: the token of a request is its tracking code."""
    request = one_request(token_id)[0]
    return [{"service_request_id": request["service_request_id"], "token": request["service_request_id"]}]


def updates(raw: Mapping[str, str], now: datetime | None = None) -> list[dict[str, Any]]:
    """The mySociety `servicerequestupdates` feed: public status changes in [start_date, end_date)
    (the last 24 hours by default; at most 31 days, one index query per day)."""
    now = now or datetime.now(timezone.utc)
    start, end = spec.date_range(raw, now, default=timedelta(days=1))
    if end - start > timedelta(days=31):
        raise spec.bad_request("end_date", "servicerequestupdates covers at most 31 days per call")
    events = []
    day = start.date()
    while day <= end.date():
        events += tickets.public_updates(day.isoformat(), start, end)
        day += timedelta(days=1)
    ref = load_reference()
    codes = [e.pk.removeprefix("TICKET#") for e in events]
    visible = {t.tracking_code for t in tickets.many(codes) if _visible(t, ref)} if codes else set()
    return [spec.update({"update_id": hashlib.sha256(f"{e.pk}{e.sk}".encode()).hexdigest()[:16],
                         "tracking_code": e.pk.removeprefix("TICKET#"), "status_after": e.status_after,
                         "at": e.at, "public_text": e.public_text})
            for e in events if e.pk.removeprefix("TICKET#") in visible]


# Integrators (admins)


def integrator_list(user: StaffUser) -> list[dict[str, Any]]:
    require(user, "manage_integrators")
    return [{"id": i.sk, "name": i.name, "created_by": i.created_by, "created_at": i.created_at.isoformat(),
             "revoked": i.revoked_at is not None} for i in integrators.listing()]


def add_integrator(user: StaffUser, name: str, now: datetime | None = None) -> dict[str, str]:
    """Issues an API key for an integrator; the key is returned once and never stored."""
    require(user, "manage_integrators")
    from chalicelib.domain.errors import FieldError

    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed([FieldError("name", "Cần tên đơn vị tích hợp (tối đa 100 ký tự).",
                                           "An integrator name (at most 100 characters) is needed.")])
    key = secrets.token_urlsafe(32)
    integrator_id = f"I{secrets.token_hex(6)}"
    now = now or datetime.now(timezone.utc)
    integrators.add(integrator_id, name, key, user.actor, now)
    audit.record("integrator_added", user.actor, now, integrator=integrator_id, name=name)
    return {"id": integrator_id, "name": name, "api_key": key}


def revoke_integrator(user: StaffUser, integrator_id: str, now: datetime | None = None) -> None:
    require(user, "manage_integrators")
    now = now or datetime.now(timezone.utc)
    integrators.revoke(integrator_id, now)
    audit.record("integrator_revoked", user.actor, now, integrator=integrator_id)
