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


def _common() -> dict[str, Any]:
    return {"province": settings().province_name, "hotline": settings().hotline,
            "prefix": settings().tracking_prefix, "local": local_text}


def report_form(values: dict[str, str] | None = None, errors: dict[str, Any] | None = None,
                status: int = 200) -> Response:
    """The citizen form, optionally re-rendered with the input kept and messages by each field."""
    ref = load_reference()
    values = values or {}
    return render("report_form.html", status=status, values=values, errors=errors or {},
                  form_token=values.get("form_token") or secrets.token_urlsafe(16),
                  categories=list(ref.categories.values()), areas=list(ref.areas.values()), **_common())


def submit_form(fields: dict[str, str]) -> Response:
    """Handles a form post: the confirmation page, or the form again with every message (400)."""
    try:
        submission = validate_submission(fields, load_reference(), channel="web")
    except ValidationFailed as failed:
        errors = {e.field: {"message": e.vi, "message_en": e.en} for e in failed.errors}
        return report_form(fields, errors, status=400)
    receipt = intake.submit(submission, form_token=fields.get("form_token") or None)
    due = receipt.get("due_at")
    return render("confirmation.html", receipt=receipt,
                  due_at=local_text(datetime.fromisoformat(due)) if due else None, **_common())


def status_page(code: str, phone_last4: str) -> Response:
    """The lookup page; with both inputs it shows the public status or one uniform 'not found'."""
    if not code and not phone_last4:
        return render("status.html", code="", **_common())
    try:
        result = lookup.status_for_citizen(code, phone_last4)
    except NotFound:
        return render("status.html", status=404, code=code, not_found=True, **_common())
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
    next_link = "/cong-khai?" + urlencode({**page["filters"], "after": page["next"]}) if page["next"] else None
    from chalicelib.store.photos import upload_origin

    return render("public_answers.html", page=page, filters=page["filters"], errors={}, next_link=next_link,
                  allow={"img-src": upload_origin()}, categories=list(ref.categories.values()), areas=list(ref.areas.values()), **_common())
