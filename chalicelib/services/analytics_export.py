"""The daily export of anonymised ticket facts to S3, for Athena (and DuckDB locally): README
"Analysis in Athena", docs/architecture.md "Analytics export".

Partitions are Vietnam creation days: s3://<bucket>/analytics/tickets/dt=<yyyy-mm-dd>/part-0.jsonl.gz
holds one row (chalicelib.domain.analytics.fact) per ticket created that day, as it stands at the
export. So each ticket is in exactly one partition and queries need no de-duplication. A partition
is rebuilt whole from the tickets (never appended to): running a day again replaces its file with
the same content, and a day with no ticket left loses its file.

The nightly run (schedule `export_analytics`, 01:30 in Vietnam) rebuilds yesterday's partition and
the partitions of the creation days of every ticket with a public timeline event yesterday (status
changes, answers, extensions, callbacks done: GSI by_update), newest first, at most MAX_DAYS_PER_RUN
of them. A change with no public event (a rating, a note) shows when the ticket's day is next
rebuilt; `python -m chalicelib.services.analytics_export 2026-11-01 2026-11-30` rebuilds a range
(with the stage's environment), for upgrades and repairs.
"""
from __future__ import annotations

import gzip
import json
import sys
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain.analytics import day_bounds, fact, local_day
from chalicelib.observability import logger
from chalicelib.store import analytics as store
from chalicelib.store.reference import load_reference

MAX_DAYS_PER_RUN = 60  # at 1,000 tickets a day: 60,000 tickets read, a few minutes


def rows(day: date) -> list[dict[str, Any]]:
    """The fact rows of the tickets created on `day` (Vietnam), oldest first."""
    start, end = day_bounds(day)
    codes = store.created_codes(start, end)
    found = {t.tracking_code: t for t in store.tickets(codes)}
    rated = store.ratings(codes)
    calendar = load_reference().calendar
    return [fact(found[code], store.events(code), store.callbacks(code), rated.get(code), calendar)
            for code in codes if code in found]


def encode(facts: list[dict[str, Any]]) -> bytes:
    """JSON Lines, gzip; fixed mtime so the same rows make the same bytes."""
    text = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in facts)
    return gzip.compress(text.encode("utf-8"), 6, mtime=0)


def export_day(day: date) -> int:
    """Rebuilds the day's partition; returns its number of rows."""
    facts = rows(day)
    if facts:
        store.write(day, encode(facts))
    else:
        store.remove(day)
    return len(facts)


def days_to_export(now: datetime) -> list[date]:
    """Yesterday (Vietnam) and the creation days of the tickets with a public event yesterday, newest first."""
    yesterday = local_day(now) - timedelta(days=1)
    start, end = day_bounds(yesterday)
    changed = store.tickets(sorted(store.changed_codes(start, end)))
    days = {yesterday} | {local_day(t.created_at) for t in changed}
    return sorted((d for d in days if d <= yesterday), reverse=True)


def nightly(now: datetime) -> dict[str, int]:
    days = days_to_export(now)
    done = days[:MAX_DAYS_PER_RUN]
    tickets = sum(export_day(day) for day in done)
    if len(days) > len(done):
        logger().warning("analytics export left days for a rebuild", extra={"days_left": len(days) - len(done),
                                                                            "oldest": days[-1].isoformat()})
    return {"days": len(done), "tickets": tickets, "days_left": len(days) - len(done)}


def rebuild(first: date, last: date) -> dict[str, int]:
    """Rebuilds every partition from `first` to `last` (Vietnam days, both included)."""
    days, tickets, day = 0, 0, first
    while day <= last:
        tickets += export_day(day)
        days, day = days + 1, day + timedelta(days=1)
    return {"days": days, "tickets": tickets}


if __name__ == "__main__":  # pragma: no cover - operator command
    print(rebuild(date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2])))
