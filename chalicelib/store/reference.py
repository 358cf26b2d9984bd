"""Reference data in DynamoDB: the current document (pk=REF, sk=CURRENT), which every part of the
app reads with one GetItem cached briefly per container, and one immutable history item per saved
version (pk=REF, sk=V#<000123>) with who saved it, when and what changed.

A save writes both, and its audit entry, in one transaction conditional on the version the admin
started from, so two admins saving at once cannot overwrite each other: the second gets Conflict.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.config import settings
from chalicelib.domain.errors import Conflict, FieldError, Missing, ValidationFailed
from chalicelib.domain.reference import ReferenceData, parse_reference
from chalicelib.store import audit
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import EventModel, ReferenceModel, ReferenceVersionModel

SEED_FILE = Path(__file__).resolve().parent.parent / "data" / "reference.json"
SEED_ACTOR = "system:seed"
_PK, _SK = "REF", "CURRENT"
_cache: tuple[float, ReferenceData] | None = None


class ReferenceConflict(Conflict):
    """Another admin saved the reference data after this one started editing."""

    message_vi = "Dữ liệu danh mục đã có người sửa trước. Hãy xem lịch sử thay đổi rồi lưu lại."
    message_en = "Someone else changed the reference data first. Check its history and save again."


@dataclass(frozen=True)
class Version:
    """One saved version: its number, who saved it when, what changed, and (when read whole) its document."""

    version: int
    actor: str
    at: datetime
    summary: str
    restored_from: int | None = None
    document: dict[str, Any] | None = None


def _version_sk(version: int) -> str:
    return f"V#{version:06d}"


def seed_document() -> dict[str, Any]:
    """Returns the versioned seed shipped with the code."""
    return json.loads(SEED_FILE.read_text(encoding="utf-8"))


def _history_item(document: dict[str, Any], version: int, actor: str, at: datetime, summary: str | None,
                  restored_from: int | None = None) -> ReferenceVersionModel:
    return ReferenceVersionModel(pk=_PK, sk=_version_sk(version), version=version, actor=actor, at=at,
                                 document=json.dumps(document, ensure_ascii=False, sort_keys=True),
                                 summary=summary, restored_from=restored_from)


def save_reference(document: dict[str, Any], expected_version: int | None, actor: str = SEED_ACTOR,
                   summary: str | None = None, restored_from: int | None = None,
                   now: datetime | None = None) -> ReferenceData:
    """Validates and stores `document` as the current reference data and as a new version in the
    history, atomically; a staff member's save is audited in the same transaction (`reference_saved`,
    or `reference_restored` with `restored_from`).

    Raises ValidationFailed (nothing stored) for a bad document or a version number not above the
    current one, and ReferenceConflict when the stored version is not `expected_version` (None:
    only when nothing is stored yet).
    """
    global _cache
    data = parse_reference(document)
    if expected_version is not None and data.version <= expected_version:
        raise ValidationFailed([FieldError("version", "Phiên bản mới phải lớn hơn phiên bản đang dùng.",
                                           "The new version must be greater than the current one.")])
    now = now or datetime.now(timezone.utc)
    connection = bind()
    current = ReferenceModel(pk=_PK, sk=_SK, version=data.version, document=document, updated_at=now)
    condition = (ReferenceModel.pk.does_not_exist() if expected_version is None
                 else ReferenceModel.version == expected_version)
    kind = "reference_restored" if restored_from is not None else "reference_saved"
    detail: dict[str, Any] = {"version": data.version, "summary": summary or ""}
    if restored_from is not None:
        detail["restored_from"] = restored_from
    backfill = _missing_predecessor(expected_version)
    with translate(ReferenceConflict):
        with TransactWrite(connection=connection) as transaction:
            transaction.save(current, condition=condition)
            transaction.save(_history_item(document, data.version, actor, now, summary, restored_from),
                             condition=ReferenceVersionModel.pk.does_not_exist())
            if backfill is not None:
                transaction.save(backfill, condition=ReferenceVersionModel.pk.does_not_exist())
            if actor.startswith("staff:"):  # the trail is of what people did; the shipped seed is in the history
                transaction.save(audit.entry(kind, actor, now, **detail), condition=EventModel.pk.does_not_exist())
    _cache = None
    return data


def _missing_predecessor(expected_version: int | None) -> ReferenceVersionModel | None:
    """The history item of the version being replaced when a store from before the history has
    none yet (its document as stored, by an unknown hand): so every version can be diffed."""
    if expected_version is None:
        return None
    with translate():
        try:
            ReferenceVersionModel.get(_PK, _version_sk(expected_version), attributes_to_get=["pk"])
            return None
        except ReferenceVersionModel.DoesNotExist:
            pass
        try:
            stored = ReferenceModel.get(_PK, _SK)
        except ReferenceModel.DoesNotExist:
            return None
    if int(stored.version) != expected_version:
        return None  # the save will fail on its condition anyway
    return _history_item(stored.document, expected_version, "system:unknown", stored.updated_at, None)


def current_document() -> tuple[dict[str, Any], int | None]:
    """Returns the stored document and its version (the shipped seed and None when none is stored)."""
    bind()
    with translate():
        try:
            item = ReferenceModel.get(_PK, _SK, consistent_read=True)
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


NOT_READ = object()  # load_with: the reference data was cached, the other item was not read


def load_with(model: Any, hash_key: str, range_key: str) -> Any:
    """On a container with no reference data cached: reads the current document and one other item of
    the table (answer_url: the duty roster) in ONE BatchGetItem, caches the reference data as
    load_reference would and returns the other item (a `model`; None when absent). When the reference
    data is cached, or DynamoDB left a key unprocessed: reads nothing more and returns NOT_READ."""
    global _cache
    if _cache is not None and time.monotonic() - _cache[0] < settings().reference_cache_seconds:
        return NOT_READ
    from chalicelib import aws

    bind()
    table = settings().tickets_table
    keys = [{"pk": {"S": _PK}, "sk": {"S": _SK}}, {"pk": {"S": hash_key}, "sk": {"S": range_key}}]
    answer = aws.client("dynamodb").batch_get_item(RequestItems={table: {"Keys": keys}})
    if answer.get("UnprocessedKeys"):
        return NOT_READ
    found = {(i["pk"]["S"], i["sk"]["S"]): i for i in answer.get("Responses", {}).get(table, [])}
    stored = found.get((_PK, _SK))
    _cache = (time.monotonic(), parse_reference(ReferenceModel.from_raw_data(stored).document if stored
                                                else seed_document()))
    other = found.get((hash_key, range_key))
    return model.from_raw_data(other) if other else None


def _version(item: ReferenceVersionModel, whole: bool) -> Version:
    return Version(int(item.version), item.actor, item.at, item.summary or "",
                   int(item.restored_from) if item.restored_from is not None else None,
                   json.loads(item.document) if whole else None)


def history(limit: int = 20, before: int | None = None) -> tuple[list[Version], int | None]:
    """Returns up to `limit` versions, newest first (below `before` when given), without their
    documents, and the `before` of the next page (None: no more)."""
    if before is not None and before <= 0:
        return [], None
    bind()
    condition = (ReferenceVersionModel.sk.between(_version_sk(0), _version_sk(before - 1)) if before is not None
                 else ReferenceVersionModel.sk.startswith("V#"))
    with translate():
        items = list(ReferenceVersionModel.query(_PK, condition, scan_index_forward=False, limit=limit + 1))
    found = [_version(item, whole=False) for item in items]
    return found[:limit], found[limit - 1].version if len(found) > limit else None


def version(number: int) -> Version:
    """Returns a saved version with its document; raises Missing."""
    bind()
    with translate():
        try:
            return _version(ReferenceVersionModel.get(_PK, _version_sk(number)), whole=True)
        except ReferenceVersionModel.DoesNotExist:
            raise Missing() from None


def predecessor(number: int) -> Version | None:
    """Returns the newest version saved before `number`, with its document (None: it was the first)."""
    bind()
    with translate():
        items = list(ReferenceVersionModel.query(
            _PK, ReferenceVersionModel.sk.between(_version_sk(0), _version_sk(number - 1)),
            scan_index_forward=False, limit=1))
    return _version(items[0], whole=True) if items else None
