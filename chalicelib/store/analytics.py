"""The analytics export's reads and its one write (chalicelib/services/analytics_export.py).

Reads, by key or index only: the tickets created in a span (GSI by_month, one partition per UTC
month the span touches, every page), the tickets with a public event in a span (GSI by_update,
one partition per UTC day), each ticket's item without its body (BatchGetItem), its timeline and
callbacks (one Query each, of its own partition) and its rating (BatchGetItem).
Write: one object per partition, s3://<attachments bucket>/analytics/tickets/dt=<yyyy-mm-dd>/part-0.jsonl.gz,
replaced whole (a second run of the same day writes the same object again).
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

from chalicelib import aws
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import TICKET_SK, CallbackModel, EventModel, RatingModel, TicketModel, ticket_pk

PREFIX = "analytics/tickets/"


def bucket() -> str:
    return os.environ["ATTACHMENTS_BUCKET"]


def key(day: date) -> str:
    return f"{PREFIX}dt={day.isoformat()}/part-0.jsonl.gz"


def _months(start: datetime, end: datetime) -> list[str]:
    months, moment = [], datetime(start.year, start.month, 1, tzinfo=timezone.utc)
    while moment < end:
        months.append(moment.strftime("%Y-%m"))
        moment = (moment + timedelta(days=32)).replace(day=1)
    return months


def created_codes(start: datetime, end: datetime) -> list[str]:
    """The codes of the tickets created in [start, end), oldest first (GSI by_month)."""
    bind()
    codes: list[str] = []
    with translate():
        for month in _months(start, end):
            query = TicketModel.by_month.query(month, TicketModel.created_at.between(start, end))
            codes += [t.tracking_code for t in query if t.created_at < end]
    return codes


def changed_codes(start: datetime, end: datetime) -> set[str]:
    """The codes of the tickets with a public timeline event in [start, end) (GSI by_update)."""
    bind()
    day, codes = start.astimezone(timezone.utc).date(), set()
    with translate():
        while day <= (end - timedelta(microseconds=1)).date():
            for event in EventModel.by_update.query(day.isoformat(), EventModel.at.between(start, end)):
                codes.add(event.pk.removeprefix("TICKET#"))
            day += timedelta(days=1)
    return codes


def tickets(codes: list[str]) -> list[TicketModel]:
    """The ticket items (never their bodies) of these codes that exist (BatchGetItem)."""
    bind()
    with translate():
        return list(TicketModel.batch_get([(ticket_pk(code), TICKET_SK) for code in dict.fromkeys(codes)]))


def events(code: str) -> list[EventModel]:
    bind()
    with translate():
        return list(EventModel.query(ticket_pk(code), EventModel.sk.startswith("EVENT#")))


def callbacks(code: str) -> list[CallbackModel]:
    bind()
    with translate():
        return list(CallbackModel.query(ticket_pk(code), CallbackModel.sk.startswith("CALLBACK#")))


def ratings(codes: list[str]) -> dict[str, int]:
    """The ratings of these tickets, by code (BatchGetItem; a ticket not rated is absent)."""
    bind()
    with translate():
        found = RatingModel.batch_get([(ticket_pk(code), "RATING") for code in dict.fromkeys(codes)])
        return {item.pk.removeprefix("TICKET#"): int(item.rating) for item in found}


def write(day: date, data: bytes) -> str:
    """Replaces the day's partition file; returns its key."""
    name = key(day)
    aws.client("s3").put_object(Bucket=bucket(), Key=name, Body=data, ContentType="application/gzip")
    return name


def remove(day: date) -> None:
    """Deletes the day's partition file (no ticket of that day exists any more)."""
    aws.client("s3").delete_object(Bucket=bucket(), Key=key(day))


def read(day: date) -> bytes | None:
    """The day's partition file as stored (gzip), or None."""
    from botocore.exceptions import ClientError

    try:
        return aws.client("s3").get_object(Bucket=bucket(), Key=key(day))["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
