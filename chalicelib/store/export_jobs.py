"""Background exports and the monthly report's "sent" mark, in the tickets table; export files in
the attachments bucket under exports/ (the bucket's lifecycle deletes them after 1 day: a file may hold
reporters' identities, and it must not outlive an erasure by long).

A job is two items written together: the job (pk=EXPORT#<id>, sk=JOB) and a waiting marker
(pk=EXPORTS#PENDING, sk=<created>#<id>) that the worker reads with one Query, oldest first, and
deletes when the job ends. Both carry a TTL of 1 day, like the file. A run takes a job with a
conditional update (`claim`: still waiting, no other run's lease) that sets a lease (`claimed_until`)
and counts the attempt, so overlapping runs never write the same job; a run that dies leaves the
lease to expire and a later run tries again, up to MAX_ATTEMPTS, after which the job is failed."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import aws
from chalicelib.domain.errors import AlreadyExists
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import ExportJobModel

PREFIX = "exports/"
KEEP = timedelta(days=1)       # the same as the bucket's exports/ lifecycle rule (infra/resources.json)
LINK_SECONDS = 600             # a download link is good for 10 minutes; the page signs a new one each view
PENDING = "EXPORTS#PENDING"
LEASE = timedelta(seconds=300)  # the reports function's timeout: a claimed job is another run's after this
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Job:
    job_id: str
    owner: str
    request: dict[str, Any]
    state: str
    key: str | None
    rows: int | None
    created_at: datetime
    attempts: int = 0


def _job(item: ExportJobModel) -> Job:
    return Job(item.job_id, item.owner or "", json.loads(item.request or "{}"), item.state or "waiting", item.key,
               int(item.rows) if item.rows is not None else None, item.created_at, int(item.attempts or 0))


def add(job_id: str, owner: str, request: dict[str, Any], now: datetime) -> None:
    """Stores a waiting job and its marker together (a transaction; the id is new, so written if absent)."""
    connection = bind()
    expires = now + KEEP
    job = ExportJobModel(pk=f"EXPORT#{job_id}", sk="JOB", job_id=job_id, owner=owner,
                         request=json.dumps(request, ensure_ascii=False), state="waiting", created_at=now,
                         expires_at=expires)
    marker = ExportJobModel(pk=PENDING, sk=f"{now.isoformat()}#{job_id}", job_id=job_id, created_at=now,
                            expires_at=expires)
    from pynamodb.transactions import TransactWrite

    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.save(job, condition=ExportJobModel.pk.does_not_exist())
            transaction.save(marker, condition=ExportJobModel.pk.does_not_exist())


def get(job_id: str) -> Job | None:
    bind()
    with translate():
        try:
            return _job(ExportJobModel.get(f"EXPORT#{job_id}", "JOB", consistent_read=True))
        except ExportJobModel.DoesNotExist:
            return None


def waiting(limit: int) -> list[tuple[str, str]]:
    """The oldest waiting jobs: (marker sort key, job id)."""
    bind()
    with translate():
        return [(item.sk, item.job_id) for item in ExportJobModel.query(PENDING, limit=limit, consistent_read=True)]


def claim(job_id: str, marker: str, now: datetime, lease: timedelta = LEASE) -> Job | None:
    """Takes the waiting job for this run: one conditional update (still waiting, and no lease or an
    expired one) sets `claimed_until` and adds one to `attempts`. Returns the job as claimed, or None
    when another run holds it or it is gone or ended (then its stale marker is removed)."""
    bind()
    item = ExportJobModel(pk=f"EXPORT#{job_id}", sk="JOB")
    free = ExportJobModel.claimed_until.does_not_exist() | (ExportJobModel.claimed_until < now)
    try:
        with translate(AlreadyExists):
            item.update(actions=[ExportJobModel.claimed_until.set(now + lease), ExportJobModel.attempts.add(1)],
                        condition=ExportJobModel.pk.exists() & (ExportJobModel.state == "waiting") & free)
    except AlreadyExists:
        current = get(job_id)
        if current is None or current.state != "waiting":
            with translate():
                ExportJobModel(pk=PENDING, sk=marker).delete()
        return None
    return _job(item)


def release(job_id: str) -> None:
    """Gives a claimed job back (its run failed before the file was written): the next run retries it."""
    bind()
    with translate():
        ExportJobModel(pk=f"EXPORT#{job_id}", sk="JOB").update(actions=[ExportJobModel.claimed_until.remove()],
                                                               condition=ExportJobModel.pk.exists())


def finish(job_id: str, marker: str, state: str, key: str | None, rows: int | None) -> None:
    """Records the job's end (done with its file, or failed) and removes its waiting marker."""
    bind()
    with translate():
        ExportJobModel(pk=f"EXPORT#{job_id}", sk="JOB").update(actions=[
            ExportJobModel.state.set(state), ExportJobModel.key.set(key) if key else ExportJobModel.key.remove(),
            ExportJobModel.rows.set(rows) if rows is not None else ExportJobModel.rows.remove(),
            ExportJobModel.claimed_until.remove()], condition=ExportJobModel.pk.exists())
        ExportJobModel(pk=PENDING, sk=marker).delete()


def report_sent(month: str) -> bool:
    """Whether `month`'s report e-mail has been queued (its mark is there)."""
    bind()
    with translate():
        try:
            ExportJobModel.get(f"REPORT#{month}", "SENT", consistent_read=True)
        except ExportJobModel.DoesNotExist:
            return False
    return True


def mark_report_sent(month: str, now: datetime) -> bool:
    """Marks `month`'s report as sent, after its e-mails are queued; returns False when it already was."""
    bind()
    item = ExportJobModel(pk=f"REPORT#{month}", sk="SENT", job_id=month, created_at=now,
                          expires_at=now + timedelta(days=400))
    try:
        with translate(AlreadyExists):
            item.save(condition=ExportJobModel.pk.does_not_exist())
    except AlreadyExists:
        return False
    return True


def unmark_report_sent(month: str) -> None:
    """Takes the mark away (to send a month's report again; tests)."""
    bind()
    with translate():
        ExportJobModel(pk=f"REPORT#{month}", sk="SENT").delete()


# The files


def bucket() -> str:
    return os.environ["ATTACHMENTS_BUCKET"]


def put_file(key: str, body: bytes, content_type: str, filename: str) -> None:
    aws.client("s3").put_object(Bucket=bucket(), Key=key, Body=body, ContentType=content_type,
                                ContentDisposition=f'attachment; filename="{filename}"')


def link(key: str) -> str:
    """A short-lived download link to one export file (the bucket is never public)."""
    return aws.client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket(), "Key": key},
                                                   ExpiresIn=LINK_SECONDS)
