"""The routing models' store: each trained model's artifact (gzipped JSON in S3,
models/routing/<version>.json.gz), its history item in DynamoDB (pk RMODEL, sk V#<version>: when,
on what, its figures, promoted or refused and why, who rolled back to it) and the active pointer
(pk RMODEL, sk ACTIVE: the version routing uses, changed conditionally on its `seq`) and an admin's
pending request for a training run (pk RMODEL, sk REQUEST).

Routing reads the pointer with the reference data (one BatchGetItem on a cold container, like the
duty roster) and looks again at most every POINTER_TTL_S seconds; the artifact is read once per
version per container. No pointer: keywords only. A pointer whose artifact cannot be read or loaded:
keywords only and a warning in the log, never a failed routing.
"""
from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from pynamodb.transactions import TransactWrite

from chalicelib import aws
from chalicelib.domain.errors import Conflict, Missing
from chalicelib.store import audit
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import EventModel, LearningModel

PK, ACTIVE = "RMODEL", "ACTIVE"
PREFIX = "models/routing/"
POINTER_TTL_S = 60


class ModelChanged(Conflict):
    """The active model changed after the admin's page was read."""

    message_vi = "Mô hình đang dùng vừa được đổi. Hãy xem lại trang rồi thử lại."
    message_en = "The active model changed meanwhile. Reload the page and try again."


@dataclass(frozen=True)
class Run:
    """One training run as the history keeps it."""

    version: str
    key: str | None
    trained_at: str
    n_examples: int
    n_corrections: int
    inputs: str
    figures: dict[str, Any]
    promoted: bool
    reasons: list[str]
    actor: str
    rolled_back_by: str | None = None
    rolled_back_at: datetime | None = None


@dataclass(frozen=True)
class Pointer:
    version: str | None
    key: str | None
    seq: int
    actor: str | None = None
    at: datetime | None = None


def _bucket() -> str:
    from chalicelib.store.photos import bucket

    return bucket()


def artifact_key(version: str) -> str:
    return f"{PREFIX}{version}.json.gz"


def put_artifact(version: str, artifact: dict[str, Any]) -> str:
    """Writes a model's artifact to S3; returns its key."""
    key = artifact_key(version)
    body = gzip.compress(json.dumps(artifact, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
                         .encode("utf-8"), 6)
    aws.client("s3").put_object(Bucket=_bucket(), Key=key, Body=body, ContentType="application/json",
                                ContentEncoding="gzip")
    return key


def read_artifact(key: str) -> dict[str, Any]:
    """Returns the artifact stored at `key` (botocore's ClientError when absent, ValueError when not gzipped JSON)."""
    body = aws.client("s3").get_object(Bucket=_bucket(), Key=key)["Body"].read()
    try:
        return json.loads(gzip.decompress(body).decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ValueError("not a gzipped JSON artifact") from exc


def _run(item: LearningModel) -> Run:
    return Run(item.version or item.sk[2:], item.key, item.trained_at or "", int(item.n_examples or 0),
               int(item.n_corrections or 0), item.inputs or "", dict(item.figures or {}), bool(item.promoted),
               list(item.reasons or []), item.actor or "", item.rolled_back_by, item.rolled_back_at)


def _run_item(run: Run) -> LearningModel:
    return LearningModel(PK, f"V#{run.version}", version=run.version, key=run.key, trained_at=run.trained_at,
                         n_examples=run.n_examples, n_corrections=run.n_corrections, inputs=run.inputs,
                         figures=run.figures, promoted=run.promoted, reasons=run.reasons or None, actor=run.actor)


def add_run(run: Run) -> bool:
    """Stores a run's history item unless one of its version exists; returns whether it was stored."""
    bind()
    item = _run_item(run)
    try:
        with translate():
            item.save(condition=LearningModel.pk.does_not_exist())
    except Conflict:
        return False
    return True


def history(limit: int = 30) -> list[Run]:
    """The runs, newest first."""
    bind()
    with translate():
        items = LearningModel.query(PK, LearningModel.sk.startswith("V#"), scan_index_forward=False, limit=limit)
        return [_run(item) for item in items]


def run(version: str) -> Run | None:
    bind()
    with translate():
        try:
            return _run(LearningModel.get(PK, f"V#{version}", consistent_read=True))
        except LearningModel.DoesNotExist:
            return None


def _pointer(item: LearningModel | None) -> Pointer:
    if item is None:
        return Pointer(None, None, 0)
    return Pointer(item.version, item.key, int(item.seq or 0), item.actor, item.at)


def pointer() -> Pointer:
    """The active model's pointer (version None: keywords only), read consistently."""
    bind()
    with translate():
        try:
            return _pointer(LearningModel.get(PK, ACTIVE, consistent_read=True))
        except LearningModel.DoesNotExist:
            return _pointer(None)


def activate(version: str | None, key: str | None, expected_seq: int, actor: str, now: datetime,
             rollback: bool = False, promoted: Run | None = None) -> int:
    """Makes `version` the active model (None: none, keywords only) if the pointer is still at
    `expected_seq` (0: none yet); returns the new seq. A rollback (an admin's) marks the version's
    history item and is audited in the same transaction, as is an admin's switch to keywords only; a
    training run's promotion (`promoted`) stores its history item in the same transaction, so the
    pointer never names a version the history lacks. Raises ModelChanged when the pointer moved meanwhile."""
    connection = bind()
    pointer_item = LearningModel(PK, ACTIVE)
    condition = (LearningModel.pk.does_not_exist() if expected_seq == 0 else LearningModel.seq == expected_seq)
    actions = ([LearningModel.version.set(version), LearningModel.key.set(key)] if version and key
               else [LearningModel.version.remove(), LearningModel.key.remove()])
    actions += [LearningModel.seq.set(expected_seq + 1), LearningModel.actor.set(actor), LearningModel.at.set(now)]
    with translate(ModelChanged):
        with TransactWrite(connection=connection) as transaction:
            transaction.update(pointer_item, actions=actions, condition=condition)
            if promoted is not None:
                transaction.save(_run_item(promoted), condition=LearningModel.pk.does_not_exist())
            if rollback and not version:
                transaction.save(audit.entry("routing_model_keywords_only", actor, now),
                                 condition=EventModel.pk.does_not_exist())
            elif rollback:
                transaction.update(LearningModel(PK, f"V#{version}"),
                                   actions=[LearningModel.rolled_back_by.set(actor),
                                            LearningModel.rolled_back_at.set(now)],
                                   condition=LearningModel.pk.exists())
                transaction.save(audit.entry("routing_model_rollback", actor, now, version=version),
                                 condition=EventModel.pk.does_not_exist())
    forget()
    return expected_seq + 1


# An admin's "retrain now": a request the retrain schedule takes on its next run (a training run does not fit
# in a page request's time).

REQUEST = "REQUEST"


def request(actor: str, now: datetime) -> None:
    """Records that `actor` asked for a training run (a later request replaces an earlier one)."""
    bind()
    with translate():
        LearningModel(PK, REQUEST, actor=actor, at=now).save()


def pending_request() -> tuple[str, datetime] | None:
    """(who asked, when) of the request waiting for the retrain schedule, or None."""
    bind()
    with translate():
        try:
            item = LearningModel.get(PK, REQUEST, consistent_read=True)
        except LearningModel.DoesNotExist:
            return None
    return item.actor or "", item.at


def clear_request(at: datetime) -> None:
    """Deletes the request made at `at` (a newer one, made during the run, stays for the next run)."""
    bind()
    try:
        with translate():
            LearningModel(PK, REQUEST).delete(condition=LearningModel.at == at)
    except Conflict:
        pass


# The active model, cached per container.


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.checked = float("-inf")
        self.version: str | None = None
        self.model: Any = None


_CACHE = _Cache()


def forget() -> None:
    """Drops this container's cached model (the next routing looks at the pointer)."""
    with _CACHE.lock:
        _CACHE.clear()


def _read_pointer() -> Pointer:
    """The pointer, read with the reference data in one BatchGetItem when this container has none cached."""
    from chalicelib.store import reference

    found = reference.load_with(LearningModel, PK, ACTIVE)
    if found is reference.NOT_READ:
        bind()
        with translate():
            try:
                found = LearningModel.get(PK, ACTIVE)
            except LearningModel.DoesNotExist:
                found = None
    return _pointer(found)


def active_model(clock: Callable[[], float] = time.monotonic) -> Any:
    """The model routing uses (a chalicelib.domain.learn Model), or None: keywords only. Never raises:
    a pointer that cannot be read or an artifact that cannot be loaded means keywords only (logged)."""
    with _CACHE.lock:
        if clock() - _CACHE.checked < POINTER_TTL_S:
            return _CACHE.model
        try:
            found = _read_pointer()
        except Exception as exc:  # noqa: BLE001 - a pointer not read (throttled): keep the model this container has
            from chalicelib.observability import logger

            logger().warning("routing model pointer not read; the cached model stays",
                             extra={"model_version": _CACHE.version, "error_type": type(exc).__name__})
            _CACHE.checked = clock()
            return _CACHE.model
        try:
            if found.version is None or found.key is None:
                _CACHE.version, _CACHE.model = None, None
            elif found.version != _CACHE.version or _CACHE.model is None:
                from chalicelib.domain import learn

                _CACHE.version, _CACHE.model = found.version, None
                _CACHE.model = learn.load(read_artifact(found.key))
        except Exception as exc:  # noqa: BLE001 - routing goes on with the keywords alone
            from chalicelib.observability import logger

            logger().warning("routing model not loaded; keywords only",
                             extra={"model_version": _CACHE.version, "error_type": type(exc).__name__})
            _CACHE.model = None
        _CACHE.checked = clock()
        return _CACHE.model


def require_run(version: str) -> Run:
    found = run(version)
    if found is None or not found.key:
        raise Missing()
    return found
