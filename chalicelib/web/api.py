"""JSON request parsing for the API routes."""
from __future__ import annotations

from typing import Any

from chalicelib.channels.base import BodyTooLarge
from chalicelib.domain.bounds import MAX_BODY_BYTES, MAX_DEPTH, MAX_STRING_CHARS, Unreadable, load_json
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.store.reference import load_reference


_UNREADABLE = {
    "nested too deep": (f"Dữ liệu JSON lồng quá sâu (tối đa {MAX_DEPTH} cấp).",
                        f"The JSON is nested too deep (at most {MAX_DEPTH} levels)."),
    "string too long": (f"Một chuỗi trong dữ liệu JSON quá dài (tối đa {MAX_STRING_CHARS} ký tự).",
                        f"A string in the JSON is too long (at most {MAX_STRING_CHARS} characters)."),
    "number too long": ("Một số trong dữ liệu JSON quá lớn.", "A number in the JSON is too large."),
    "number out of range": ("Một số trong dữ liệu JSON quá lớn.", "A number in the JSON is too large."),
}


def parse_json_body(request: Any) -> dict[str, Any]:
    """Returns the request's JSON object, read by the bounded parser (chalicelib/domain/bounds.py).
    Raises ValidationFailed for a wrong content type, bad JSON or a bound exceeded (nesting, string
    length, number size), BodyTooLarge (413) above MAX_BODY_BYTES."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ValidationFailed([FieldError("content_type", "Nội dung phải ở dạng application/json.",
                                           "The body must be application/json.")])
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    try:
        body = load_json(raw)
    except Unreadable as exc:
        vi, en = _UNREADABLE.get(exc.reason, ("Dữ liệu JSON không hợp lệ.", "Invalid JSON."))
        raise ValidationFailed([FieldError("body", vi, en)]) from exc
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "Dữ liệu phải là một đối tượng JSON.",
                                           "The body must be a JSON object.")])
    return body


def reference_json() -> dict[str, Any]:
    """Returns the categories and areas a client needs to fill a report."""
    ref = load_reference()
    return {"version": ref.version,
            "categories": [{"id": c.id, "name": c.name} for c in ref.categories.values()],
            "areas": [{"id": a.id, "name": a.name, "kind": a.kind} for a in ref.areas.values()]}
