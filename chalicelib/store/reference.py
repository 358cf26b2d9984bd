"""Reference data in DynamoDB: one versioned document, cached briefly per container."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chalicelib.config import settings
from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed
from chalicelib.domain.reference import ReferenceData, parse_reference
from chalicelib.store.connection import bind
from chalicelib.store.models import ReferenceModel
from chalicelib.store.errors import translate

SEED_FILE = Path(__file__).resolve().parent.parent / "data" / "reference.json"
_PK, _SK = "REF", "CURRENT"
_cache: tuple[float, ReferenceData] | None = None


def seed_document() -> dict[str, Any]:
    """Returns the versioned seed shipped with the code."""
    return json.loads(SEED_FILE.read_text(encoding="utf-8"))


def save_reference(document: dict[str, Any], expected_version: int | None) -> ReferenceData:
    """Validates and stores `document` as the current reference data.

    Raises ValidationFailed (nothing stored) for a bad document, and Conflict when the stored
    version is not `expected_version` (None: only when nothing is stored yet).
    """
    global _cache
    data = parse_reference(document)
    bind()
    item = ReferenceModel(pk=_PK, sk=_SK, version=data.version, document=document,
                          updated_at=datetime.now(timezone.utc))
    if expected_version is not None and data.version <= expected_version:
        raise ValidationFailed([FieldError("version", "Phiên bản mới phải lớn hơn phiên bản đang dùng.",
                                           "The new version must be greater than the current one.")])
    condition = (ReferenceModel.pk.does_not_exist() if expected_version is None
                 else ReferenceModel.version == expected_version)
    with translate(Conflict):
        item.save(condition=condition)
    _cache = None
    return data


def current_document() -> tuple[dict[str, Any], int | None]:
    """Returns the stored document and its version (the shipped seed and None when none is stored)."""
    bind()
    with translate():
        try:
            item = ReferenceModel.get(_PK, _SK)
        except ReferenceModel.DoesNotExist:
            return seed_document(), None
    return item.document, int(item.version)


def load_reference() -> ReferenceData:
    """Returns the current reference data (one GetItem per container per cache period).

    Falls back to the shipped seed when the table holds none yet, so a new stack still works.
    """
    global _cache
    now = time.monotonic()
    if _cache is not None and now - _cache[0] < settings().reference_cache_seconds:
        return _cache[1]
    bind()
    with translate():
        try:
            document = ReferenceModel.get(_PK, _SK).document
        except ReferenceModel.DoesNotExist:
            document = seed_document()
    data = parse_reference(document)
    _cache = (now, data)
    return data
