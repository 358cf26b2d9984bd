"""Routing corrections as training data: every time staff change what the router (or a colleague)
decided for a ticket — its category, its commune/ward, its agency — the ticket's text (redacted,
folded) is kept with what was decided before and what staff chose, for the retrain job
(chalicelib/services/model_training.py).

One partition holds the corrections in time order (pk TRAIN#CORR, sk <at>#<code>#<token>), and a
marker per correction under the ticket (pk TRAIN#OF#<code>) is written in the same transaction, so
erasing a ticket's personal data finds its corrections by key (a Query of its marker partition). Both expire with the
retention schedule (DynamoDB TTL `expires_at`).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from pynamodb.transactions import TransactWrite

from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import LearningModel

CORRECTIONS = "TRAIN#CORR"
MAX_TEXT = 2000  # characters kept of a message: the words that matter come first


def of_pk(code: str) -> str:
    return f"TRAIN#OF#{code}"


@dataclass(frozen=True)
class Correction:
    """One correction: the ticket, its redacted folded text and channel, what was decided before
    (`said`: category, area, agency, source) and what staff chose (`chose`: category, area, agency)."""

    sk: str
    code: str
    text: str
    channel: str
    said: dict[str, Any]
    chose: dict[str, Any]
    role: str
    at: datetime


def add(code: str, text: str, channel: str, said: dict[str, Any], chose: dict[str, Any], role: str,
        now: datetime, expires_at: datetime | None) -> str:
    """Stores a correction and its per-ticket marker in one transaction; returns its sort key."""
    connection = bind()
    sk = f"{now.astimezone(timezone.utc).isoformat()}#{code}#{secrets.token_hex(3)}"
    item = LearningModel(CORRECTIONS, sk, code=code, text=text[:MAX_TEXT], channel=channel, said=said,
                         chose=chose, role=role, at=now, expires_at=expires_at)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.save(item, condition=LearningModel.pk.does_not_exist())
            transaction.save(LearningModel(of_pk(code), sk, code=code, expires_at=expires_at))
    return sk


def _correction(item: LearningModel) -> Correction:
    return Correction(item.sk, item.code or "", item.text or "", item.channel or "web", dict(item.said or {}),
                      dict(item.chose or {}), item.role or "", item.at)


def corrections(since: datetime | None = None, page: int = 500, newest: int | None = None) -> Iterator[Correction]:
    """Every stored correction, oldest first (from `since` when given), read a page at a time; with
    `newest`, only that many of the latest (one Query read backwards, so a run's reads stay bounded).
    Expired ones DynamoDB has not deleted yet are left out."""
    bind()
    condition = LearningModel.sk >= since.astimezone(timezone.utc).isoformat() if since else None
    now = datetime.now(timezone.utc)
    with translate():
        if newest is not None:
            items = list(LearningModel.query(CORRECTIONS, condition, scan_index_forward=False, limit=newest,
                                             page_size=min(page, newest)))[::-1]
        else:
            items = LearningModel.query(CORRECTIONS, condition, page_size=page)
        for item in items:
            if item.expires_at is not None and item.expires_at <= now:
                continue
            yield _correction(item)


def count_since(since: datetime) -> int:
    """How many corrections were recorded since `since` (the admin page's "recent corrections")."""
    bind()
    with translate():
        return LearningModel.count(CORRECTIONS, LearningModel.sk >= since.astimezone(timezone.utc).isoformat())


def of_ticket(code: str) -> list[Correction]:
    """The corrections recorded from ticket `code`, oldest first."""
    bind()
    with translate():
        keys = [(CORRECTIONS, marker.sk) for marker in LearningModel.query(of_pk(code))]
        found = sorted(LearningModel.batch_get(keys), key=lambda item: item.sk) if keys else []
    return [_correction(item) for item in found]


def delete_of(code: str) -> int:
    """Deletes the corrections recorded from ticket `code` (and their markers); returns how many. Idempotent."""
    bind()
    deleted = 0
    with translate():
        for marker in LearningModel.query(of_pk(code)):
            LearningModel(CORRECTIONS, marker.sk).delete()
            marker.delete()
            deleted += 1
    return deleted
