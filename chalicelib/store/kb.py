"""Knowledge-base items in DynamoDB and the published index in S3.

An article's working copy (pk=KB#<id>, sk=ARTICLE) and its saved versions (sk=V#<000001>, full
snapshots) share a partition. Listing markers beside them: KB#S#<status> (staff lists) and KB#LIVE (the
articles readers see, with the live version and its valid-until). Every change of KB#LIVE bumps the
pointer item's `seq` in the same transaction; the index build reads KB#LIVE (one Query: a province
keeps a few hundred published articles) and the live versions (BatchGetItem), writes
kb/index-<seq>.json.gz and points the pointer at it unless a later build got there first. Readers keep
the index per container and look at the pointer at most every POINTER_TTL_S seconds.
"""
from __future__ import annotations

import gzip
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from pynamodb.transactions import TransactWrite

from chalicelib import aws
from chalicelib.domain.errors import Conflict
from chalicelib.domain.kb import ArticleChanged
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import KbArticleModel, KbMarkerModel

HEAD = "ARTICLE"
LIVE = "KB#LIVE"
POINTER = ("KB#INDEX", "POINTER")
GAPS = "KB#GAPS"
SETTINGS = ("KB#SETTINGS", "AUTO_ANSWER")
POINTER_TTL_S = 60
INDEX_PREFIX = "kb/index-"
SUPERSEDED_TAG = ("kb-index", "superseded")   # the lifecycle rule's tag filter (infra/resources.json)
UPLOAD_PREFIX = "kb/uploads/"
SOURCE_PREFIX = "kb/sources/"
CONTENT_FIELDS = ("kind", "title", "questions", "answer", "short_answer", "category", "agency", "source_number",
                  "source_date", "source_body", "source_url", "source_pdf", "valid_from", "valid_until")


def article_pk(article_id: str) -> str:
    return f"KB#{article_id}"


def version_sk(version: int) -> str:
    return f"V#{version:06d}"


def status_pk(status: str) -> str:
    return f"KB#S#{status}"


def get(article_id: str, consistent: bool = True) -> KbArticleModel | None:
    bind()
    with translate():
        try:
            return KbArticleModel.get(article_pk(article_id), HEAD, consistent_read=consistent)
        except KbArticleModel.DoesNotExist:
            return None


def versions(article_id: str) -> list[KbArticleModel]:
    """Every saved version of an article, newest first."""
    bind()
    with translate():
        return list(KbArticleModel.query(article_pk(article_id), KbArticleModel.sk.startswith("V#"),
                                         scan_index_forward=False))


def version(article_id: str, number: int) -> KbArticleModel | None:
    bind()
    with translate():
        try:
            return KbArticleModel.get(article_pk(article_id), version_sk(number))
        except KbArticleModel.DoesNotExist:
            return None


def listing(status: str) -> list[KbMarkerModel]:
    """The markers of the articles in `status` (working copy), by id."""
    bind()
    with translate():
        return list(KbMarkerModel.query(status_pk(status)))


def live_markers() -> list[KbMarkerModel]:
    bind()
    with translate():
        return list(KbMarkerModel.query(LIVE, consistent_read=True))


def _status_marker(item: KbArticleModel) -> KbMarkerModel:
    return KbMarkerModel(status_pk(item.status), item.article_id, article_id=item.article_id, title=item.title,
                         agency=item.agency, category=item.category, kind=item.kind, version=item.version,
                         valid_until=item.valid_until, updated_at=item.updated_at,
                         n=item.live_version)


def _live_marker(item: KbArticleModel) -> KbMarkerModel:
    return KbMarkerModel(LIVE, item.article_id, article_id=item.article_id, title=item.title, agency=item.agency,
                         category=item.category, kind=item.kind, version=item.version, valid_until=item.valid_until,
                         updated_at=item.updated_at)


def _bump(transaction: TransactWrite) -> None:
    pointer = KbMarkerModel(*POINTER)
    transaction.update(pointer, actions=[KbMarkerModel.seq.add(1)])


@dataclass(frozen=True)
class Change:
    """One write to an article: the new working copy's content and status, what made it, and how the
    live listing changes ('publish': this version goes live; 'withdraw': nothing stays live)."""

    fields: dict[str, Any]
    status: str
    action: str
    actor: str
    live: str | None = None   # None | "publish" | "withdraw"


def create(article_id: str, change: Change, owner: str, now: datetime) -> KbArticleModel:
    """Stores a new article at version 1; raises Conflict when the id is taken."""
    item = KbArticleModel(article_pk(article_id), HEAD, article_id=article_id, version=1, status=change.status,
                          owner=owner, updated_by=change.actor, updated_at=now, **change.fields)
    if change.live == "publish":
        item.live_version = 1
    _write(item, None, None, change, condition=KbArticleModel.pk.does_not_exist())
    return item


def update(current: KbArticleModel, expected_version: int, change: Change, now: datetime) -> KbArticleModel:
    """Writes version expected_version+1 if the working copy is still at `expected_version` (raises
    ArticleChanged otherwise). `current` is the copy read to check permissions; its version must be
    the expected one, else nothing is written."""
    if current.version != expected_version:
        raise ArticleChanged()
    old_status, old_live = current.status, current.live_version
    item = KbArticleModel(current.pk, HEAD, article_id=current.article_id, version=expected_version + 1,
                          status=change.status, owner=current.owner, updated_by=change.actor, updated_at=now,
                          **{name: getattr(current, name) for name in CONTENT_FIELDS})
    for name, value in change.fields.items():
        setattr(item, name, value)
    item.live_version = (item.version if change.live == "publish" else None if change.live == "withdraw"
                         else old_live)
    _write(item, old_status, old_live, change, condition=KbArticleModel.version == expected_version)
    return item


def _write(item: KbArticleModel, old_status: str | None, old_live: int | None, change: Change,
           condition: Any) -> None:
    connection = bind()
    snapshot = KbArticleModel(item.pk, version_sk(item.version), action=change.action,
                              **{name: getattr(item, name) for name in (
                                  "article_id", "version", "status", "owner", "updated_by", "updated_at",
                                  *CONTENT_FIELDS)})
    with translate(ArticleChanged):
        with TransactWrite(connection=connection) as transaction:
            transaction.save(item, condition=condition)
            transaction.save(snapshot, condition=KbArticleModel.pk.does_not_exist())
            if old_status and old_status != item.status:
                transaction.delete(KbMarkerModel(status_pk(old_status), item.article_id))
            transaction.save(_status_marker(item))
            if change.live == "publish":
                transaction.save(_live_marker(item))
                _bump(transaction)
            elif change.live == "withdraw" and old_live is not None:
                transaction.delete(KbMarkerModel(LIVE, item.article_id))
                _bump(transaction)


# The published index: built on change, stored in S3, cached per container.


def _bucket() -> str:
    from chalicelib.store.photos import bucket

    return bucket()


def pointer() -> KbMarkerModel | None:
    bind()
    with translate():
        try:
            return KbMarkerModel.get(*POINTER, consistent_read=True)
        except KbMarkerModel.DoesNotExist:
            return None


def live_versions() -> tuple[int, list[KbArticleModel]]:
    """(seq, the live versions of every published article): the pointer's seq read first, so an
    index built from these is at least as new as that seq."""
    seq = int((pointer() or KbMarkerModel(*POINTER)).seq or 0)
    markers = live_markers()
    keys = [(article_pk(m.article_id), version_sk(int(m.version))) for m in markers if m.version]
    with translate():
        found = list(KbArticleModel.batch_get(keys, consistent_read=True)) if keys else []
    return seq, found


def store_index(seq: int, document: dict[str, Any]) -> str | None:
    """Writes the index built at `seq` to S3 and points the pointer at it unless a build of a later
    seq already did; returns the key, or None when a later build won (its file is then deleted)."""
    key = f"{INDEX_PREFIX}{seq:08d}-{secrets.token_hex(3)}.json.gz"
    body = gzip.compress(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)
    s3 = aws.client("s3")
    s3.put_object(Bucket=_bucket(), Key=key, Body=body, ContentType="application/json",
                  ContentEncoding="gzip")
    bind()
    previous = pointer()
    item = KbMarkerModel(*POINTER)
    try:
        with translate():
            item.update(actions=[KbMarkerModel.key.set(key), KbMarkerModel.built_seq.set(seq)],
                        condition=(KbMarkerModel.built_seq.does_not_exist() | (KbMarkerModel.built_seq < seq)))
    except Conflict:
        s3.delete_object(Bucket=_bucket(), Key=key)
        return None
    if previous is not None and previous.key and previous.key != key:
        # Readers may hold the old pointer for up to POINTER_TTL_S: the old file stays, marked for the
        # bucket's lifecycle rule to remove a day later.
        retire_index(previous.key)
    # This container reads what it just built (the caller may hold the cache's lock: plain assignments)
    _CACHE.key, _CACHE.document, _CACHE.checked = key, document, time.monotonic()
    return key


def retire_index(key: str) -> None:
    """Marks a superseded index file for deletion by the bucket's lifecycle rule "superseded-kb-indexes"
    (infra/resources.json: prefix kb/index-, tag SUPERSEDED_TAG, one day). The file is copied onto itself
    with the tag, so its age restarts: it is removed a day after it was superseded, never while a reader
    may still hold its pointer; the current index never carries the tag, so it never expires. A failure
    only leaves an old file in the bucket (logged)."""
    from chalicelib.observability import logger

    if not key.startswith(INDEX_PREFIX):
        return
    try:
        aws.client("s3").copy_object(
            Bucket=_bucket(), Key=key, CopySource={"Bucket": _bucket(), "Key": key}, MetadataDirective="REPLACE",
            ContentType="application/json", ContentEncoding="gzip", TaggingDirective="REPLACE",
            Tagging=f"{SUPERSEDED_TAG[0]}={SUPERSEDED_TAG[1]}")
    except Exception as exc:  # noqa: BLE001 - the new index is in place; an old file left over is harmless
        logger().warning("old kb index not marked", extra={"error_type": type(exc).__name__})


def read_index(key: str) -> dict[str, Any]:
    body = aws.client("s3").get_object(Bucket=_bucket(), Key=key)["Body"].read()
    return json.loads(gzip.decompress(body).decode("utf-8"))


class _IndexCache:
    """The index this container read, and when it last looked at the pointer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.key: str | None = None
        self.document: dict[str, Any] | None = None
        self.checked = float("-inf")


_CACHE = _IndexCache()


def cached_index(build: Callable[[], dict[str, Any]], clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """The published index, re-checking the pointer at most every POINTER_TTL_S seconds. With no
    index stored yet (a fresh stack), `build()` makes and stores one."""
    with _CACHE.lock:
        if _CACHE.document is not None and clock() - _CACHE.checked < POINTER_TTL_S:
            return _CACHE.document
        found = pointer()
        key = found.key if found is not None else None
        if key is None or (found.built_seq or 0) < (found.seq or 0):
            return _built(build, clock)   # nothing stored yet, or the build after a change did not finish
        if key == _CACHE.key and _CACHE.document is not None:
            _CACHE.checked = clock()
            return _CACHE.document
        try:
            document = read_index(key)
        except aws_errors() as exc:
            if not _missing(exc):
                raise
            return _built(build, clock)   # the file of a pointer replaced meanwhile (a later build deleted it)
        _CACHE.key, _CACHE.document, _CACHE.checked = key, document, clock()
        return document


def _built(build: Callable[[], dict[str, Any]], clock: Callable[[], float]) -> dict[str, Any]:
    """Builds the index here; the cache keeps it (its key as stored, or none when a later build won,
    so the next look at the pointer reads that one)."""
    document = build()
    if _CACHE.document is not document:
        _CACHE.key, _CACHE.document = None, document
    _CACHE.checked = clock()
    return document


def aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import ClientError

    return (ClientError,)


def _missing(exc: Exception) -> bool:
    # Only "no such key" means the file is gone; AccessDenied is a permission fault to report, not hide.
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code in ("NoSuchKey", "404")


def forget_index() -> None:
    """Drops this container's cached index (the next read looks at the pointer)."""
    with _CACHE.lock:
        _CACHE.clear()


# PDF sources: presigned uploads like the ticket photos, then a kept copy per article.


def presigned_pdf(max_bytes: int, content_type: str) -> dict[str, Any]:
    key = f"{UPLOAD_PREFIX}{secrets.token_hex(16)}/source.pdf"
    post = aws.client("s3").generate_presigned_post(
        Bucket=_bucket(), Key=key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]], ExpiresIn=900)
    return {"url": post["url"], "fields": post["fields"], "key": key}


def is_pdf_upload(key: str) -> bool:
    import re

    return bool(re.fullmatch(r"kb/uploads/[0-9a-f]{32}/source\.pdf", key or ""))


def keep_pdf(upload_key: str, article_id: str) -> str | None:
    """Copies an uploaded PDF under the article's sources if it is there and starts like a PDF;
    returns the kept key, or None."""
    from chalicelib.store.photos import uploaded

    found = uploaded(upload_key)
    if found is None or not found[1].startswith(b"%PDF-"):
        return None
    key = f"{SOURCE_PREFIX}{article_id}/{secrets.token_hex(8)}.pdf"
    aws.client("s3").copy_object(Bucket=_bucket(), Key=key, CopySource={"Bucket": _bucket(), "Key": upload_key},
                                 ContentType="application/pdf", MetadataDirective="REPLACE")
    return key


def pdf_url(key: str, expires_s: int = 3600) -> str:
    return aws.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": _bucket(), "Key": key, "ResponseContentType": "application/pdf"},
        ExpiresIn=expires_s)


# Gaps, uses, the auto-answer switch.


def gaps_of_pk(code: str) -> str:
    return f"{GAPS}#{code}"


def add_gap(text: str, code: str | None, category: str | None, actor: str, now: datetime,
            expires_at: datetime | None = None) -> None:
    """Stores a gap (expiring at `expires_at`, DynamoDB TTL) and, when it came from a ticket, a marker
    under the ticket (pk KB#GAPS#<code>) in the same transaction, so erasing the ticket finds it."""
    connection = bind()
    at = now.astimezone(timezone.utc).isoformat()
    sk = f"{at}#{secrets.token_hex(3)}"
    item = KbMarkerModel(GAPS, sk, text=text, code=code, category=category, actor=actor, updated_at=now,
                         expires_at=expires_at)
    with translate():
        if not code:
            item.save(condition=KbMarkerModel.pk.does_not_exist())
            return
        with TransactWrite(connection=connection) as transaction:
            transaction.save(item, condition=KbMarkerModel.pk.does_not_exist())
            transaction.save(KbMarkerModel(gaps_of_pk(code), sk, code=code, expires_at=expires_at))


def delete_gaps_of(code: str) -> int:
    """Deletes the gaps noted from ticket `code` (and their markers); returns how many. Idempotent."""
    bind()
    deleted = 0
    with translate():
        for marker in KbMarkerModel.query(gaps_of_pk(code)):
            KbMarkerModel(GAPS, marker.sk).delete()
            marker.delete()
            deleted += 1
    return deleted


def gaps(after: str | None, limit: int) -> tuple[list[KbMarkerModel], str | None]:
    """Gaps newest first, `limit` a page, from after the sort key `after`; (items, next key or None)."""
    bind()
    condition = KbMarkerModel.sk < after if after else None
    with translate():
        found = list(KbMarkerModel.query(GAPS, condition, scan_index_forward=False, limit=limit + 1))
    return found[:limit], (found[limit - 1].sk if len(found) > limit else None)


def count_use(month: str, article_id: str, title: str) -> None:
    bind()
    with translate():
        KbMarkerModel(f"KB#USE#{month}", article_id).update(
            actions=[KbMarkerModel.n.add(1), KbMarkerModel.article_id.set(article_id), KbMarkerModel.title.set(title)])


def uses(month: str) -> list[KbMarkerModel]:
    bind()
    with translate():
        return list(KbMarkerModel.query(f"KB#USE#{month}"))


def auto_answer() -> tuple[frozenset[str], int]:
    """(categories answered automatically, the switch's version: 0 before it was ever set)."""
    bind()
    with translate():
        try:
            item = KbMarkerModel.get(*SETTINGS, consistent_read=True)
        except KbMarkerModel.DoesNotExist:
            return frozenset(), 0
    return frozenset(item.categories or ()), int(item.n or 0)


def set_auto_answer(categories: frozenset[str], expected_version: int, actor: str, now: datetime) -> int:
    """Stores the switch if still at `expected_version`; returns the new version; raises Conflict."""
    bind()
    item = KbMarkerModel(*SETTINGS, categories=set(categories) or None, n=expected_version + 1, actor=actor,
                         updated_at=now)
    condition = (KbMarkerModel.pk.does_not_exist() if expected_version == 0 else KbMarkerModel.n == expected_version)
    with translate():
        item.save(condition=condition)
    return expected_version + 1

