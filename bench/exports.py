"""Export time for 150,000 tickets: the list behind a figure written as CSV and as XLSX by the code the
export job runs (chalicelib.domain.monthly_report.named / ticket_row / csv_lines, chalicelib.domain.xlsx),
from synthetic ticket summaries in the shape chalicelib.services.stats.tickets_behind returns. No table:
the DynamoDB side is counted from the page sizes instead (the by_month index read 100 entries per Query,
one BatchGetItem per 100 tickets), since 150,000 tickets in the emulator would take longer to load than
the export to write.

`python -m bench.exports` prints the figures and merges them into bench/results.json with their own
`exports_measured_at` (`make bench-exports`). BENCH_EXPORT_TICKETS changes the size.
"""
from __future__ import annotations

import json
import math
import os
import random
import resource
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from bench import ROOT

TICKETS = int(os.environ.get("BENCH_EXPORT_TICKETS", "150000"))
INDEX_PAGE = 100      # chalicelib.store.stats.created_tickets reads the by_month index 100 entries at a time
BATCH_KEYS = 100      # chalicelib.store.pages.full: one BatchGetItem per 100 keys
JOB_TIMEOUT_S = 300   # the reports function's timeout (.chalice/config.json)


def summaries(n: int, seed: int = 15) -> Iterator[dict[str, Any]]:
    """`n` ticket summaries spread over a year, with the reference data's real ids."""
    from chalicelib.domain.reference import parse_reference

    ref = parse_reference(json.loads((ROOT / "chalicelib/data/reference.json").read_text(encoding="utf-8")))
    rnd = random.Random(seed)
    categories, areas = sorted(ref.categories), sorted(ref.areas)
    start = datetime(2025, 12, 1, tzinfo=timezone.utc)
    for i in range(n):
        created = start + timedelta(seconds=rnd.randrange(365 * 86400))
        category = rnd.choice(categories)
        answered = created + timedelta(hours=rnd.randrange(1, 400)) if rnd.random() < 0.85 else None
        due = created + timedelta(days=ref.categories[category].sla_working_days * 1.4)
        yield {"code": f"TN-{i:06X}", "status": "answered" if answered else "in_progress",
               "channel": rnd.choice(("web", "sms", "zalo", "phone")), "category": category,
               "agency": ref.categories[category].agency, "area": rnd.choice(areas),
               "created_at": created.isoformat(), "due_at": due.isoformat(),
               "answered_at": answered.isoformat() if answered else None,
               "answered_on_time": (answered <= due) if answered else None, "overdue": False}


def _rows(n: int, ref: Any) -> Iterator[list[Any]]:
    from chalicelib.domain import monthly_report as mr

    yield mr.ticket_heading(False)
    for row in summaries(n):
        yield mr.ticket_row(mr.named(row, ref), False, True)


def measure(n: int = TICKETS) -> dict[str, Any]:
    from chalicelib.domain import monthly_report as mr
    from chalicelib.domain import xlsx
    from chalicelib.domain.reference import parse_reference

    ref = parse_reference(json.loads((ROOT / "chalicelib/data/reference.json").read_text(encoding="utf-8")))
    started = time.perf_counter()
    generated = sum(1 for _ in summaries(n))
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    csv_bytes = sum(len(part.encode("utf-8")) for part in mr.csv_lines(_rows(n, ref)))
    csv_s = time.perf_counter() - started - generate_s
    started = time.perf_counter()
    book = xlsx.workbook([("Tiếp nhận", _rows(n, ref))])
    xlsx_s = time.perf_counter() - started - generate_s
    queries = math.ceil(n / INDEX_PAGE)
    return {
        "exports_tickets": generated,
        "exports_csv_seconds": round(csv_s, 2),
        "exports_csv_bytes": csv_bytes,
        "exports_xlsx_seconds": round(xlsx_s, 2),
        "exports_xlsx_bytes": len(book),
        "exports_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "exports_ddb_calls_estimate": queries + math.ceil(n / BATCH_KEYS),
        "exports_sync_limit": __import__("chalicelib.services.exports", fromlist=["SYNC_LIMIT"]).SYNC_LIMIT,
        "exports_job_timeout_s": JOB_TIMEOUT_S,
    }


def main() -> None:
    from bench import report

    figures = measure()
    figures["exports_measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for name, value in figures.items():
        print(f"{name:28} {value}")
    report.merge(figures, ROOT / "bench" / "results.json")


if __name__ == "__main__":
    main()
