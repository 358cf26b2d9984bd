"""JSON request parsing for the API routes."""
from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.store.reference import load_reference


def parse_json_body(request: Any) -> dict[str, Any]:
    """Returns the request's JSON object; raises ValidationFailed for a wrong type or bad JSON."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ValidationFailed([FieldError("content_type", "Nội dung phải ở dạng application/json.",
                                           "The body must be application/json.")])
    try:
        body = json.loads((request.raw_body or b"").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed([FieldError("body", "Dữ liệu JSON không hợp lệ.", "Invalid JSON.")]) from exc
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
