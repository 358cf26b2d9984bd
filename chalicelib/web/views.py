"""Page models: what each citizen page needs, built from the use cases (no AWS here)."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from chalice import Response

from chalicelib.config import settings
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake, lookup
from chalicelib.store.reference import load_reference
from chalicelib.web.pages import render
from chalicelib.web.urls import url


def _common() -> dict[str, Any]:
    return {"province": settings().province_name, "hotline": settings().hotline,
            "prefix": settings().tracking_prefix, "local": local_text}


def _uploads() -> dict[str, str]:
    """The page may send photos to the bucket's origin (and show them from there)."""
    from chalicelib.store.photos import upload_origin

    origin = upload_origin()
    return {"connect-src": origin, "img-src": origin}


def report_form(values: dict[str, str] | None = None, errors: dict[str, Any] | None = None,
                status: int = 200, message: str | None = None) -> Response:
    """The citizen form, optionally re-rendered with the input kept and messages by each field."""
    ref = load_reference()
    values = values or {}
    return render("report_form.html", status=status, values=values, errors=errors or {}, message=message,
                  form_token=values.get("form_token") or secrets.token_urlsafe(16), allow=_uploads(),
                  categories=list(ref.categories.values()), areas=list(ref.areas.values()),
                  notices=_announcements(), **_common())


def _announcements() -> list[dict[str, Any]]:
    from chalicelib.web.hoidap_views import announcements

    return announcements()


def _field_errors(failed: ValidationFailed) -> dict[str, Any]:
    return {e.field: {"message": e.vi, "message_en": e.en} for e in failed.errors}


def submit_form(fields: dict[str, str], source_ip: str | None = None) -> Response:
    """Handles a form post: the confirmation page; open reports like it to follow instead; or the
    form again with every message (400, 429), the input kept."""
    from chalicelib.domain.errors import TooManyRequests

    if (fields.get("website") or "").strip():  # the honeypot: people never see this field
        return render("error.html", status=400, title="Không gửi được",
                      message="Biểu mẫu không hợp lệ. Vui lòng tải lại trang và gửi lại.", **_common())
    try:
        submission = validate_submission(fields, load_reference(), channel="web")
    except ValidationFailed as failed:
        return report_form(fields, _field_errors(failed), status=400)
    if fields.get("confirm_new") != "1":
        similar = intake.similar(submission.category, submission.area, submission.description, submission.address,
                                 submission.lat, submission.lon)
        if similar:
            return render("duplicates.html", similar=similar, values=fields, **_common())
    try:
        receipt = intake.submit(submission, form_token=fields.get("form_token") or None, source_ip=source_ip)
    except ValidationFailed as failed:
        return report_form({**fields, "photos": ""}, _field_errors(failed), status=400)
    except TooManyRequests as limited:
        return report_form(fields, status=429, message=limited.message_vi)
    due = receipt.get("due_at")
    return render("confirmation.html", receipt=receipt, status_link=_status_link(receipt.get("status_path")),
                  emailed=bool(submission.email), due_at=local_text(datetime.fromisoformat(due)) if due else None,
                  **_common())


def _status_link(path: str | None) -> str | None:
    """A status link's address to show and follow: the site's configured address, else this request's."""
    return (settings().public_url(path) or url(path)) if path else None


def status_page(code: str, phone_last4: str, source_ip: str | None = None) -> Response:
    """The lookup page; with both inputs it shows the public status or one uniform 'not found'."""
    if not code and not phone_last4:
        return render("status.html", code="", **_common())
    from chalicelib.domain.errors import TooManyRequests

    try:
        result = lookup.status_for_citizen(code, phone_last4, source_ip)
    except NotFound:
        return render("status.html", status=404, code=code, not_found=True, **_common())
    except TooManyRequests as limited:
        return render("status.html", status=429, code=code, limited=limited.message_vi,
                      **_common())
    return render("status.html", code=result.tracking_code, result=result, **_common())


def public_answers(query: dict[str, str]) -> Response:
    """The public listing of answered, consented, approved tickets (no reporter data)."""
    from urllib.parse import urlencode

    from chalicelib.services import publication

    ref = load_reference()
    try:
        page = publication.answers(query)
    except ValidationFailed as failed:
        errors = {e.field: {"message": e.vi, "message_en": e.en} for e in failed.errors}
        return render("public_answers.html", status=400, page={"answers": []}, filters=query, errors=errors,
                      categories=list(ref.categories.values()), areas=list(ref.areas.values()), **_common())
    next_link = url("/cong-khai") + "?" + urlencode({**page["filters"], "after": page["next"]}) if page["next"] else None
    from chalicelib.store.photos import upload_origin

    return render("public_answers.html", page=page, filters=page["filters"], errors={}, next_link=next_link,
                  allow={"img-src": upload_origin()}, categories=list(ref.categories.values()), areas=list(ref.areas.values()), **_common())


def _said(error: Any) -> str:
    """What to tell the citizen: each field's message for a ValidationFailed, else the error's own."""
    if isinstance(error, ValidationFailed):
        return " ".join(e.vi for e in error.errors)
    return str(error.message_vi)


def follow(fields: dict[str, str], source_ip: str | None = None) -> Response:
    """A citizen follows an open report instead of filing the same one again, in two steps: the
    number gets a one-time code by SMS (the page asks for it), then the code makes the follow count."""
    from chalicelib.domain.errors import Conflict, TooManyRequests

    code, phone = fields.get("code", ""), fields.get("phone", "")
    if "otp" in fields:
        try:
            followed = intake.follow_confirmed(code, phone, fields.get("otp", ""), source_ip=source_ip)
        except (ValidationFailed, NotFound, Conflict, TooManyRequests) as error:
            status = 409 if isinstance(error, Conflict) else 429 if isinstance(error, TooManyRequests) else 400
            return render("follow_verify.html", status=status, code=code,
                          phone=phone, error=_said(error), **_common())
        return render("followed.html", code=followed["tracking_code"],
                      status_link=_status_link(followed["status_path"]), **_common())
    try:
        asked = intake.follow(code, phone, source_ip=source_ip)
    except (ValidationFailed, TooManyRequests, NotFound) as error:
        values = {k: v for k, v in fields.items() if k not in ("code",)}
        similar = intake.similar(fields.get("category") or None, fields.get("area") or None,
                                 fields.get("description") or None, fields.get("address") or None, *_location(fields))
        return render("duplicates.html", status=429 if isinstance(error, TooManyRequests) else 400, similar=similar,
                      values=values, follow_error=_said(error), **_common())
    return render("follow_verify.html", code=asked, phone=phone, error=None, **_common())


def _location(fields: dict[str, str]) -> tuple[float | None, float | None]:
    """The carried report's position (the suggestions are ranked by it again), or none if unreadable."""
    from chalicelib.domain.reports import location

    try:
        return location(fields)
    except ValidationFailed:
        return None, None


def privacy_notice() -> Response:
    """The privacy notice (/rieng-tu): what is collected, why, who sees it, how long, how to ask."""
    from chalicelib.domain.notice import facts

    ref = load_reference()
    return render("privacy_notice.html", notice=facts(ref), categories=ref.categories, **_common())


def rating_page(code: str, token: str, form: dict[str, str] | None = None) -> Response:
    """The web satisfaction survey (the link in the answer's message); one rating per ticket."""
    from chalicelib.domain.errors import AlreadyExists
    from chalicelib.domain.satisfaction import LABELS_VI as RATING_LABELS
    from chalicelib.services import satisfaction

    context = {"token": token, "labels": RATING_LABELS, **_common()}
    if form is None:
        found = satisfaction.page(code, token)
        return render("rating.html", code=found["code"], answer=found["answer"], rated=found["rated"], errors={},
                      comment="", **context)
    try:
        rated = satisfaction.rate_on_web(code, token, form.get("rating", ""), form.get("comment", ""))
    except ValidationFailed as failed:
        errors = {e.field: {"message": e.vi, "message_en": e.en} for e in failed.errors}
        return render("rating.html", status=400, code=code, rated=None, errors=errors,
                      comment=form.get("comment", ""), **context)
    except AlreadyExists:
        found = satisfaction.page(code, token)
        return render("rating.html", status=409, code=found["code"], rated=found["rated"], errors={}, comment="",
                      **context)
    return render("rating.html", code=rated, done=True, rated=None, errors={}, comment="", **context)
