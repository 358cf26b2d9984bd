"""Figures on the local stack (moto, in-process): AWS calls per submission, Scans, latencies."""
from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

from bench import ROOT

STACK_NAME = "hotline1022-bench"
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "500"))
DESCRIPTION = "Cống thoát nước trước nhà bị tắc, nước tràn lên đường."
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class CallCounter:
    """Counts the AWS calls made through one botocore session, by operation name."""

    def __init__(self, session: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.scans = 0
        # Handlers must return None: a value from a before-call handler would replace the call.
        session.register("before-call", self._count)
        session.register("before-call.dynamodb.Scan", self._count_scan)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _count_scan(self, **_: Any) -> None:
        self.scans += 1

    @contextmanager
    def window(self) -> Iterator[Counter[str]]:
        """Yields a Counter that holds, on exit, the calls made inside the `with` block."""
        before = self.calls.copy()
        during: Counter[str] = Counter()
        yield during
        during.update(self.calls - before)


@contextmanager
def stdout_discarded() -> Iterator[None]:
    """Sends file descriptor 1 to /dev/null for the block.

    The app logs one JSON line per request to stdout (as on Lambda); that cost stays in the
    timings, but 1,000 lines would bury the table. The descriptor, not sys.stdout, is
    redirected because the Powertools handler keeps its own reference to the stream.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w", encoding="utf-8") as null:
        os.dup2(null.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    """Returns (p50, p99) of `seconds`, in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return round(statistics.median(seconds) * 1000, 2), round(cuts[98] * 1000, 2)


def _phone(n: int) -> str:
    """A valid Vinaphone number, distinct for each n below a million."""
    return f"0912{n:06d}"


def _post_form(client: Any, n: int) -> None:
    """One citizen form post as a browser sends it (with the form's token); raises unless confirmed."""
    # confirm_new: the citizen was shown the similar open reports and chose to send a new one
    fields = {"description": DESCRIPTION, "phone": _phone(n), "category": "ngap-ung", "area": "tan-ninh",
              "form_token": f"bench-{uuid.uuid4()}", "confirm_new": "1"}
    response = client.http.post("/", headers=FORM, body=urlencode(fields).encode())
    if response.status_code != 200 or b'id="tracking-code"' not in response.body:
        raise RuntimeError(f"form post {n} failed: {response.status_code} {response.body[:300]!r}")


def _post_api(client: Any, n: int) -> None:
    """One JSON API report with a fresh Idempotency-Key; raises unless it was created (201)."""
    body = {"description": DESCRIPTION, "phone": _phone(n), "category": "ngap-ung", "area": "tan-ninh"}
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"bench-{uuid.uuid4()}"}
    response = client.http.post("/api/v1/reports", headers=headers, body=json.dumps(body).encode())
    if response.status_code != 201:
        raise RuntimeError(f"API post {n} failed: {response.status_code} {response.body[:300]!r}")


def _interleaved(actions: list[Callable[[int], None]]) -> list[list[float]]:
    """Runs each action once per round, SAMPLES rounds; returns each action's durations (seconds).

    Interleaving matters on the emulator: moto deep-copies a table for every TransactWriteItems
    (its rollback), so writes slow down as the table grows; taking turns gives every action the
    same table sizes.
    """
    durations: list[list[float]] = [[] for _ in actions]
    for n in range(SAMPLES):
        if n % 25 == 0:
            # moto deep-copies every table per TransactWriteItems: collect between rounds (untimed)
            # so the emulator's garbage does not put GC pauses into one side's figures only.
            gc.collect()
        for action, times in zip(actions, durations):
            start = time.perf_counter()
            action(n)
            times.append(time.perf_counter() - start)
    return durations


def _floor_writers() -> tuple[Callable[[int], None], Callable[[int], None]]:
    """Returns the emulator-only floors with plain boto3 clients: the bare put_item + send_message
    a submission needs, and, like for like, a transact_write_items of the three items the app
    writes (ticket, first event, form marker) + send_message."""
    import boto3

    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    table, queue = os.environ["TICKETS_TABLE"], os.environ["ROUTING_QUEUE_URL"]

    def put(n: int) -> None:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"BENCH#P{n}"}, "sk": {"S": "TICKET"}})
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"type": "bench", "n": n}))

    def transact(n: int) -> None:
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": f"BENCH#T{n}"}, "sk": {"S": sk}},
                     "ConditionExpression": "attribute_not_exists(pk)"}}
            for sk in ("TICKET", "EVENT#1", "DEDUP")])
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"type": "bench", "n": n}))

    put(-1)  # the first calls load the service models and open the connections
    transact(-1)
    return put, transact


def measure() -> dict[str, Any]:
    """Brings the local stack up as tests/conftest.py does, measures, and stops it."""
    from devstack.emulator import bring_up

    local = bring_up(port=0, stack_name=STACK_NAME)
    try:
        from devstack.emulator import stage_environment

        stage_environment("dev")
        from chalice.test import Client

        from chalicelib import aws
        from chalicelib.config import settings
        from chalicelib.store.reference import save_reference, seed_document

        settings.cache_clear()
        counter = CallCounter(aws.botocore_session())
        save_reference(seed_document(), expected_version=None)

        import app

        with stdout_discarded(), Client(app.app, stage_name="dev", project_dir=str(ROOT)) as client:
            # Warm, as a Lambda container is after its first request: reference data cached, clients made.
            _post_form(client, 0)
            with counter.window() as web_calls:
                _post_form(client, 1)
            _post_api(client, 2)
            with counter.window() as api_calls:
                _post_api(client, 3)
            from bench import channels

            channel_figures = channels.measure(client, counter)
            put, transact = _floor_writers()
            intake, floor, floor_txn = _interleaved([lambda n: _post_form(client, 1000 + n), put, transact])
            from bench import routing

            routing_figures = routing.throughput(counter)
            from bench import public

            public_figures = public.measure(client, counter)  # last: 10,000 more items slow every transaction
    finally:
        local.stop()

    intake_p50, intake_p99 = _percentiles_ms(intake)
    floor_p50, floor_p99 = _percentiles_ms(floor)
    txn_p50, txn_p99 = _percentiles_ms(floor_txn)
    return {
        "aws_calls_per_web_submission": sum(web_calls.values()),
        "aws_calls_web_breakdown": dict(web_calls),
        "aws_calls_per_api_submission_with_idempotency_key": sum(api_calls.values()),
        "aws_calls_api_breakdown": dict(api_calls),
        "intake_p50_ms": intake_p50,
        "intake_p99_ms": intake_p99,
        "floor_p50_ms": floor_p50,
        "floor_p99_ms": floor_p99,
        "intake_to_floor_ratio_p50": round(intake_p50 / floor_p50, 2),
        "intake_to_floor_ratio_p99": round(intake_p99 / floor_p99, 2),
        "floor_txn_p50_ms": txn_p50,
        "floor_txn_p99_ms": txn_p99,
        "intake_to_txn_floor_ratio_p50": round(intake_p50 / txn_p50, 2),
        "intake_to_txn_floor_ratio_p99": round(intake_p99 / txn_p99, 2),
        **channel_figures,
        **routing_figures,
        **public_figures,
        # Read last, so every call of the bench above is counted.
        "scan_calls": counter.scans,
    }
