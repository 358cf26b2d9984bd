"""Use case: a browser asks to upload one photo; it gets a presigned POST straight to S3,
limited to one key, the declared image type and 10 MB (the Lambda never carries the bytes)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Mapping

from chalicelib.config import settings
from chalicelib.domain.errors import FieldError, TooManyRequests, ValidationFailed
from chalicelib.domain.images import CONTENT_TYPES, MAX_BYTES
from chalicelib.store import outbound, photos


def grant(body: Mapping[str, Any], source_ip: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Returns {url, fields, key}. Raises ValidationFailed (type or size) or TooManyRequests."""
    content_type = str(body.get("content_type") or "").lower()
    try:
        size = int(body.get("size") or 0)
    except (TypeError, ValueError):
        size = 0
    if content_type not in CONTENT_TYPES:
        raise ValidationFailed([FieldError("photos", "Chỉ nhận ảnh JPEG, PNG hoặc HEIC.",
                                           "Only JPEG, PNG or HEIC images.")])
    if not 0 < size <= MAX_BYTES:
        raise ValidationFailed([FieldError("photos", "Mỗi ảnh tối đa 10 MB.", "Each photo must be at most 10 MB.")])
    now = now or datetime.now(timezone.utc)
    if source_ip:
        counter = f"UPLOAD#IP#{hashlib.sha256(source_ip.encode()).hexdigest()[:20]}#{now:%Y%m%d%H}"
        if not outbound.take(counter, now, settings().form_cap_per_ip_hour * 5):
            raise TooManyRequests()
    extension = CONTENT_TYPES[content_type]
    return photos.presigned_upload("image/heic" if extension == ".heic" else content_type, extension, MAX_BYTES)
