"""The statistics dashboard at a province's year: 1,000 tickets a day (the issue's load; BENCH_STATS_PER_DAY
changes it) for 365 days, counted as live counting would count them (chalicelib.domain.stats
increments, summed per counter item and written
straight into the counters: a year of tickets through the handlers would take hours and measure the
intake, not the dashboard), on the in-process emulator. A few hundred tickets are open (the
by_open index the backlog figures read).

It measures, through the real use case (chalicelib.services.stats.figures), p50 and max of
  - the year by month (closed months' summaries), the month by day (closed days' summaries and
    today's day items), a week by day, the year of one agency (an agency officer), and the public month;
and per view the AWS calls and the read units (on-demand: half a unit per 4 KB of a Query page,
eventually consistent), plus how many counter items the year holds. The first call of each view is
not timed: it builds the closed days' and months' summaries, as the first dashboard after a quiet
night would (a day's summary is built once, on the first read after the day closed).

`python -m bench.stats` prints the figures and merges them into bench/results.json with their own
`stats_measured_at` (`make bench-stats`: about 9 minutes on a 2-core machine, 2.5 of them loading the ~180,000
counter items in BatchWriteItem calls, a few more building the summaries in the warm-up views).
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any


STACK_NAME = "hotline1022-bench-stats"
PER_DAY = int(os.environ.get("BENCH_STATS_PER_DAY", "1000"))  # ~180,000 counter items for the year
DAYS = 365
SAMPLES = int(os.environ.get("BENCH_STATS_SAMPLES", "7"))
OPEN_TICKETS = 300
CHANNELS = (("web", 0.35), ("phone", 0.3), ("zalo", 0.2), ("sms", 0.1), ("email", 0.05))


def _weighted(chooser: random.Random, pairs: Any) -> Any:
    values, weights = zip(*pairs)
    return chooser.choices(values, weights)[0]


def synthetic_counters(reference: dict[str, Any], end: date, chooser: random.Random) -> dict[tuple[str, str], Counter]:
    """The counter items a year of tickets leaves: (pk, sk) -> numbers."""
    from chalicelib.domain import stats as rules
    from chalicelib.store import stats as store

    categories = [(c["id"], 1.0 / (i + 1)) for i, c in enumerate(reference["categories"])]
    areas = [(a["id"], 1.0 / (1 + i % 7)) for i, a in enumerate(reference["areas"])]
    agency_of = {c["id"]: c.get("agency") for c in reference["categories"]}
    items: dict[tuple[str, str], Counter] = {}
    operators = [f"tongdai{n}@demo.1022.vn" for n in range(12)]
    for offset in range(DAYS):
        day = end - timedelta(days=DAYS - 1 - offset)
        increments = []
        for _ in range(PER_DAY):
            category = _weighted(chooser, categories)
            key = rules.combo(_weighted(chooser, CHANNELS), category, agency_of.get(category),
                              _weighted(chooser, areas))
            counts = {"received": 1, "answered": 1, f"an_w_{chooser.randint(6, 13)}": 1,
                      f"an_c_{chooser.randint(7, 15)}": 1, f"fa_w_{chooser.randint(2, 9)}": 1,
                      f"fa_c_{chooser.randint(2, 10)}": 1}
            counts["on_time" if chooser.random() < 0.88 else "late"] = 1
            if chooser.random() < 0.03:
                counts["reopened"] = 1
            increments.append(rules.Increment(day, key, counts))
            increments.append(rules.Increment(day, "", {"handled": 3, "answered": 1},
                                              operator=chooser.choice(operators)))
        for inc in rules.merge(increments):
            if inc.operator is not None:
                keys = [(store.pk(day), store._operator_sk(day, inc.operator))]
            else:
                keys = [(store.pk(day), f"D#{day:%d}#{inc.key}")]
            for key in keys:
                numbers = items.setdefault(key, Counter())
                numbers.update(inc.counts)
                if inc.operator is not None:
                    numbers["actor"] = inc.operator  # type: ignore[assignment]
    return items


def _load(items: dict[tuple[str, str], Counter]) -> float:
    from chalicelib.store.models import StatsCounterModel

    started = time.perf_counter()
    with StatsCounterModel.batch_write() as batch:
        for (pk, sk), numbers in items.items():
            values = {name: n for name, n in numbers.items() if n}
            batch.save(StatsCounterModel(pk=pk, sk=sk, **values))
    return time.perf_counter() - started


def _open_tickets(reference: dict[str, Any], now: datetime, chooser: random.Random) -> None:
    from chalicelib.store.models import TicketModel

    with TicketModel.batch_write() as batch:
        for n in range(OPEN_TICKETS):
            category = chooser.choice(reference["categories"])
            due = now + timedelta(hours=chooser.randint(-200, 200))
            batch.save(TicketModel(pk=f"TICKET#TN-S{n:05d}", sk="TICKET", tracking_code=f"TN-S{n:05d}", channel="web",
                                   status="assigned", category=category["id"], agency=category.get("agency"),
                                   open_queue="OPEN", due_at=due, due_sort=due.astimezone(timezone.utc).isoformat(),
                                   created_at=due - timedelta(days=7), updated_at=now))


def _views(end: date) -> dict[str, tuple[Any, dict[str, str]]]:
    from chalicelib.domain.permissions import StaffUser

    supervisor = StaffUser("s", "giamsat@demo.1022.vn", "Giám sát", frozenset({"supervisor"}))
    officer = StaffUser("a", "soxaydung@demo.1022.vn", "Cán bộ", frozenset({"agency_officer"}), "so-xay-dung")
    year_start = (end.replace(day=1) - timedelta(days=330)).replace(day=1)
    month_start = end.replace(day=1)
    return {
        "year_by_month": (supervisor, {"from": year_start.isoformat(), "to": end.isoformat(), "grain": "month"}),
        "month_by_day": (supervisor, {"from": month_start.isoformat(), "to": end.isoformat(), "grain": "day"}),
        "week_by_day": (supervisor, {"from": (end - timedelta(days=6)).isoformat(), "to": end.isoformat(),
                                     "grain": "day"}),
        "agency_year_by_month": (officer, {"from": year_start.isoformat(), "to": end.isoformat(), "grain": "month"}),
    }


def _timed(meter: Any, action: Any) -> tuple[list[float], Counter, float]:
    times = []
    calls0, rru0, _, _ = meter.snapshot()
    action()  # warm (the reference cache, the staff directory)
    calls0, rru0, _, _ = meter.snapshot()
    for _ in range(SAMPLES):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    calls1, rru1, _, _ = meter.snapshot()
    calls = Counter({k: v / SAMPLES for k, v in (calls1 - calls0).items()})
    return times, calls, (rru1 - rru0) / SAMPLES


def _meter(session: Any) -> Any:
    """bench.search's Meter, sizing binary values (a month's summary) by their length."""
    import json

    from bench.search import Meter

    class StatsMeter(Meter):
        def size(self, item: Any) -> int:
            return len(json.dumps(item, default=lambda value: "x" * len(value)))

    return StatsMeter(session)


def measure_here() -> dict[str, Any]:
    from devstack.emulator import bring_up, stage_environment

    local = bring_up(port=0, stack_name=STACK_NAME)
    try:
        stage_environment("dev")
        from chalicelib import aws
        from chalicelib.config import settings
        from chalicelib.store.connection import bind
        from chalicelib.store.reference import save_reference, seed_document

        settings.cache_clear()
        meter = _meter(aws.botocore_session())
        reference = seed_document()
        save_reference(reference, expected_version=None)
        bind()
        now = datetime.now(timezone.utc)
        chooser = random.Random(1022)
        print(f"bench.stats: counting {PER_DAY * DAYS:,} tickets…", file=sys.stderr, flush=True)
        items = synthetic_counters(reference, now.date(), chooser)
        load_s = _load(items)
        _open_tickets(reference, now, chooser)
        from chalicelib.services import stats as service
        from chalicelib.store.reference import load_reference

        figures: dict[str, Any] = {
            "stats_tickets_counted": PER_DAY * DAYS,
            "stats_counter_items_year": len(items),
            "stats_counter_items_load_s": round(load_s, 1),
        }
        for name, (user, raw) in _views(now.date()).items():
            query = service.parse_query(raw, load_reference(), now)
            times, calls, rru = _timed(meter, lambda: service.figures(user, query, now))
            figures[f"stats_{name}_p50_ms"] = round(statistics.median(times) * 1000, 1)
            figures[f"stats_{name}_max_ms"] = round(max(times) * 1000, 1)
            figures[f"stats_{name}_aws_calls"] = round(sum(calls.values()), 1)
            figures[f"stats_{name}_read_units"] = round(rru, 1)
        month = f"{now:%Y-%m}"
        times, calls, rru = _timed(meter, lambda: service.public_month(month))
        figures["stats_public_month_p50_ms"] = round(statistics.median(times) * 1000, 1)
        figures["stats_public_month_aws_calls"] = round(sum(calls.values()), 1)
        from bench.search import _price

        figures["stats_year_view_usd_per_1000_views"] = round(
            figures["stats_year_by_month_read_units"] * _price("dynamodb_rru_per_million") / 1e6 * 1000, 5)
    finally:
        local.stop()
    return figures


def main(arguments: list[str]) -> None:
    from bench import report

    report.record(measure_here(), "stats", arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
