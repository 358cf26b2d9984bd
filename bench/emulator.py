"""The local emulator holding a province's year: intake p50 (the citizen form, posted as
bench/stack.py posts it) and a reporter-phone index query (what SMS/Zalo intake asks), each timed
on an empty tickets table and on one holding 100,000 tickets (each with its first timeline
event), samples interleaved; and how long loading the 100,000 takes.

`python -m bench.emulator` prints the figures (`--record` also merges them into
bench/results.json); `python -m bench` runs it in a fresh interpreter, so it gets an emulator of its own.
"""
from __future__ import annotations

import copy
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from bench import ROOT

STACK_NAME = "hotline1022-bench-year"
TICKETS = int(os.environ.get("BENCH_EMULATOR_TICKETS", "100000"))
SAMPLES = int(os.environ.get("BENCH_EMULATOR_SAMPLES", "200"))
OPEN_SHARE = 0.15  # a year's tickets are mostly answered or closed


def _ticket_items(n: int, now: datetime, reference: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ticket n of the year and its first event, as the app stores them (every index attribute
    it writes), serialised by the app's own models."""
    from chalicelib.domain.lifecycle import Status, is_open
    from chalicelib.store.models import NO_DUE, EventModel, TicketModel, ticket_pk
    from chalicelib.store.tickets import OPEN_QUEUE, place_key

    categories, areas = reference["categories"], reference["areas"]
    category, area = categories[n % len(categories)], areas[(n // 7) % len(areas)]
    created = now - timedelta(minutes=5 * n + 1)  # 100,000 tickets: the last ~11 months
    code = f"TN-Y{n:06d}"
    status = (Status.ASSIGNED if n % 2 else Status.IN_PROGRESS) if n % 100 < OPEN_SHARE * 100 else (
        Status.CLOSED if n % 3 else Status.ANSWERED)
    due = created + timedelta(days=category.get("sla_working_days", 5) + 2)
    due_sort = due.isoformat() if is_open(status) else NO_DUE
    answered = None if is_open(status) else created + timedelta(days=3)
    published = answered is not None and n % 10 == 0
    ticket = TicketModel(
        pk=ticket_pk(code), tracking_code=code, channel=("web", "sms", "zalo", "phone")[n % 4],
        reporter_phone=f"+849{n % 60_000:08d}", reporter_zalo_id=f"z{n % 9_000}" if n % 4 == 2 else None,
        text="Cống thoát nước trước nhà bị tắc, nước tràn lên đường mỗi khi mưa.",
        category=category["id"], area=area["id"], status=status.value, agency=category["agency"],
        agency_open=category["agency"] if is_open(status) else None,
        open_queue=OPEN_QUEUE if is_open(status) else None,
        place_open=place_key(status, category["id"], area["id"]), created_month=created.strftime("%Y-%m"),
        watch_shard=f"W#{n % 4}" if is_open(status) else None, watch_at=due_sort if is_open(status) else None,
        due_at=due, due_sort=due_sort, answer="Cơ quan đã kiểm tra và khắc phục." if answered else None,
        answered_at=answered, consent_publish=published,
        public_shard="PUB" if published else None,
        public_sort=f"{answered.isoformat()}#{code}" if published and answered else None,
        created_at=created, updated_at=answered or created, version=1)
    event = EventModel(pk=ticket_pk(code), sk=f"EVENT#{created.isoformat()}#000000", kind="created",
                       actor="citizen", at=created)
    return ticket.serialize(), event.serialize()


def load_year(table: str, tickets: int) -> float:
    """Puts `tickets` tickets and their first events straight into the in-process emulator's
    table (as BatchWriteItem would store them, without the HTTP round trips); returns seconds."""
    from chalicelib.store.reference import seed_document

    backend = _backend()
    now, reference = datetime.now(timezone.utc), seed_document()
    started = time.perf_counter()
    for n in range(tickets):
        for item in _ticket_items(n, now, reference):
            backend.put_item(table, item)
    return time.perf_counter() - started


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]]


def _serve(name: str, table: Any) -> None:
    """Makes the emulator answer for table `name` from `table` (a moto Table)."""
    from devstack.moto_patches import LOCK

    with LOCK:
        _backend().tables[name] = table


def _interleaved(action: Callable[[int], None], first: int, name: str, tables: dict[str, Any]) -> dict[str, float]:
    """Times `action` SAMPLES times on each table (served in turn, the order alternating each
    round), so both see the same machine at the same time; returns the p50 in ms by table."""
    durations: dict[str, list[float]] = {label: [] for label in tables}
    for n in range(first, first + SAMPLES):
        for label in (list(tables) if n % 2 else list(tables)[::-1]):
            _serve(name, tables[label])
            started = time.perf_counter()
            action(n)
            durations[label].append(time.perf_counter() - started)
    return {label: round(statistics.median(times) * 1000, 2) for label, times in durations.items()}


def measure_here() -> dict[str, Any]:
    """Brings up an emulator in this process, measures, and stops it.

    The app stays bound to its one tickets table; the emulator serves it from an empty table or
    from a copy holding the year, swapped between samples. On 2 shared cores, two phases measured
    one after the other differ by more than the effect being measured; an A/B does not.
    """
    from devstack.emulator import bring_up, stage_environment

    local = bring_up(port=0, stack_name=STACK_NAME)
    try:
        stage_environment("dev")
        from chalice.test import Client

        from bench.stack import _post_form, stdout_discarded
        from chalicelib.config import settings
        from chalicelib.store import tickets
        from chalicelib.store.reference import save_reference, seed_document

        settings.cache_clear()
        save_reference(seed_document(), expected_version=None)
        import app

        def phone_query(n: int) -> None:
            # the reporter of intake sample n: one ticket on either table, so like for like
            if len(tickets.by_phone(f"+84912{n:06d}")) != 1:
                raise RuntimeError(f"phone query {n}: expected the one ticket of intake sample {n}")

        name = settings().tickets_table
        tables = {"empty": _backend().tables[name]}
        tables["year"] = copy.deepcopy(tables["empty"])  # same indexes, and the reference data
        _serve(name, tables["year"])
        load_s = load_year(name, TICKETS)
        with stdout_discarded(), Client(app.app, stage_name="dev", project_dir=str(ROOT)) as client:
            def intake(n: int) -> None:
                _post_form(client, n)

            for table in tables.values():  # warm: reference data cached, clients made, index maps built
                _serve(name, table)
                intake(0)
                phone_query(0)
            gc.collect()
            intake_ms = _interleaved(intake, 1, name, tables)
            query_ms = _interleaved(phone_query, 1, name, tables)
        _serve(name, tables["empty"])
    finally:
        local.stop()
    return {
        "intake_p50_ms_empty": intake_ms["empty"],
        "intake_p50_ms_100k": intake_ms["year"],
        "intake_ratio_100k": round(intake_ms["year"] / intake_ms["empty"], 2),
        "phone_query_p50_ms_empty": query_ms["empty"],
        "phone_query_p50_ms_100k": query_ms["year"],
        "emulator_tickets_loaded": TICKETS,
        "emulator_load_s": round(load_s, 1),
    }


def measure() -> dict[str, Any]:
    """Runs measure_here in a fresh interpreter (its own emulator and clients); returns its figures."""
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "figures.json"
        subprocess.run([sys.executable, "-m", "bench.emulator", "--figures", str(figures)], cwd=ROOT, check=True)
        return json.loads(figures.read_text(encoding="utf-8"))


def _record(figures: dict[str, Any]) -> None:
    """Merges the figures into bench/results.json, keeping every other figure as it was."""
    from bench import report

    path = ROOT / "bench" / "results.json"
    previous = json.loads(path.read_text(encoding="utf-8"))
    measured_at = previous.pop("measured_at")
    for key in ("targets", "minimums"):
        previous.pop(key, None)
    report.write({**previous, **figures}, measured_at, path)


def main(arguments: list[str]) -> None:
    figures = measure_here()
    if "--figures" in arguments:
        Path(arguments[arguments.index("--figures") + 1]).write_text(json.dumps(figures), encoding="utf-8")
        return
    from bench import report

    print(report.table(figures))
    if "--record" in arguments:
        _record(figures)


if __name__ == "__main__":
    main(sys.argv[1:])
