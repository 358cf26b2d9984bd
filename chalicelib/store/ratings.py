"""Satisfaction ratings: one per ticket (put if absent), counted into monthly statistics per
category in the same transaction."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.domain import stats as stat_rules
from chalicelib.domain.errors import AlreadyExists
from chalicelib.domain.monthly_report import LOW_RATING, VN
from chalicelib.store import stats
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import (DedupModel, dedup_pk, EventModel, OutboundModel, RatingModel, StatsModel,
                                     WorkMarkerModel, ticket_pk)
from chalicelib.store.tickets import DEDUP_TTL, NewEvent, event_item


def record(code: str, category: str | None, rating: int, comment: str | None, channel: str, now: datetime,
           dedup_key: str | None = None, reply: OutboundModel | None = None, ticket: Any = None) -> None:
    """Stores the rating once, with an internal timeline event, the month's counters and (for a
    text reply) the provider message's marker and the thank-you, all in one transaction.
    With `ticket` (as read), the statistics counters of its combination count it too (chalicelib.store.stats).
    A low rating (1-2) also leaves a marker for the monthly report's notable cases (low_in_month).
    Raises AlreadyExists when the ticket was rated or the message handled before (nothing changes)."""
    connection = bind()
    month = now.astimezone(timezone.utc).strftime("%Y-%m")
    event = NewEvent("rated", f"citizen:{channel}", now, detail={"rating": rating, "comment": comment})
    with translate(AlreadyExists):
        with TransactWrite(connection=connection) as transaction:
            transaction.save(RatingModel(pk=ticket_pk(code), rating=rating, comment=comment, channel=channel, at=now),
                             condition=RatingModel.pk.does_not_exist())
            transaction.save(event_item(code, event), condition=EventModel.pk.does_not_exist())
            transaction.update(StatsModel(sk=f"RATING#{month}#{category or 'khac'}"),
                               actions=[StatsModel.n.add(1), StatsModel.total.add(rating)])
            if ticket is not None:
                stats.add(transaction, stat_rules.on_rating(ticket, rating, now))
            if rating <= LOW_RATING:
                transaction.save(WorkMarkerModel(pk=_low_pk(now.astimezone(VN).strftime("%Y-%m")),
                                                 sk=f"{now.astimezone(timezone.utc).isoformat()}#{code}", at=now,
                                                 category=category, agency=getattr(ticket, "agency", None)))
            if dedup_key is not None:
                transaction.save(DedupModel(pk=dedup_pk(dedup_key), tracking_code=code, expires_at=now + DEDUP_TTL),
                                 condition=DedupModel.pk.does_not_exist())
            if reply is not None:
                reply.pk, reply.tracking_code = ticket_pk(code), code
                transaction.save(reply, condition=OutboundModel.pk.does_not_exist())


def _low_pk(month: str) -> str:
    return f"RATED_LOW#{month}"


def low_in_month(month: str, limit: int) -> list[str]:
    """The codes of the tickets rated 1 or 2 in `month` (yyyy-mm, Vietnam time), in the order rated,
    at most `limit` (one Query)."""
    bind()
    with translate():
        return [item.sk.rsplit("#", 1)[1] for item in WorkMarkerModel.query(_low_pk(month), limit=limit)]


def of_ticket(code: str) -> RatingModel | None:
    bind()
    with translate():
        try:
            return RatingModel.get(ticket_pk(code), "RATING", consistent_read=True)
        except RatingModel.DoesNotExist:
            return None


def month_stats(month: str) -> list[StatsModel]:
    """The month's counters per category (one Query)."""
    bind()
    with translate():
        return list(StatsModel.query("STATS", StatsModel.sk.startswith(f"RATING#{month}#")))
