"""Published answers (công khai): the public listing's index and the writes that put a ticket on
it or take it off, version-checked like every ticket change."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pynamodb.exceptions import QueryError

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.store import pages, tickets
from chalicelib.store.connection import bind
from chalicelib.store.models import TicketModel

SHARD = "PUB"
FILTERED_PAGE = 500
MAX_PAGES = 4  # Query calls per anonymous request: at most ~2,000 index entries, whatever the filter


def publish(ticket: TicketModel, question: str, answer: str, photos: list[str], event: tickets.NewEvent,
            now: datetime) -> None:
    """Puts the answered ticket on the public listing (sorted by when it was answered) with its
    redacted question and answer and metadata-free photos. Raises Conflict on a concurrent change."""
    answered = (ticket.answered_at or now).astimezone(timezone.utc).isoformat()
    tickets.update(ticket, event, now, {"public_shard": SHARD, "public_sort": f"{answered}#{ticket.tracking_code}",
                                        "public_question": question, "public_answer": answer,
                                        "photos_public": photos or None})


def unpublish(ticket: TicketModel, event: tickets.NewEvent, now: datetime) -> None:
    tickets.update(ticket, event, now, {"public_shard": None, "public_sort": None})


def published(start: str, end: str, category: str | None, area: str | None, limit: int,
              after: dict[str, Any] | None) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """One page of published answers answered in [start, end), newest first (one index query;
    category and commune filter it), read from at most MAX_PAGES DynamoDB pages: a filter that
    matches little returns what those pages held (maybe nothing) and the key to read on from."""
    bind()
    condition = None
    if category:
        condition = TicketModel.category == category
    if area:
        condition = TicketModel.area == area if condition is None else condition & (TicketModel.area == area)
    # With a filter, each request reads a few hundred index entries (the spec's 1 MB page still caps
    # it) instead of `limit`, so 20 matches cost one or two requests, not one per 20 entries read.
    query = TicketModel.by_public.query(SHARD, TicketModel.public_sort.between(start, end), filter_condition=condition,
                                        scan_index_forward=False, limit=limit, last_evaluated_key=after,
                                        page_size=FILTERED_PAGE if condition is not None else limit)
    try:
        page = pages.read(TicketModel.by_public, query, limit, MAX_PAGES)
    except QueryError as exc:
        if after is None:
            raise
        raise ValidationFailed([FieldError("after", "Trang không hợp lệ; hãy quay lại trang đầu.",
                                           "Invalid page; go back to the first page.")]) from exc
    return page.items, page.next_key
