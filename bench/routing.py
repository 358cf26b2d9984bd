"""Routing figures: classifier accuracy on the labelled sets (with the confusion table), and the
routing consumer's throughput on the emulator against the emulator-only floor."""
from __future__ import annotations

import gc
import json
import os
import time
from collections import Counter
from typing import Any

from bench import ROOT

DATA = ROOT / "chalicelib" / "data"
MAX_ROUTED = 200


def accuracy() -> dict[str, Any]:
    """Category and area accuracy on routing_eval.jsonl (tuned on) and routing_holdout.jsonl (blind)."""
    from chalicelib.domain.classify import classify
    from chalicelib.domain.reference import parse_reference
    from chalicelib.store.reference import seed_document

    ref = parse_reference(seed_document())
    figures: dict[str, Any] = {}
    for name, prefix in (("routing_train.jsonl", "routing_accuracy"), ("routing_holdout.jsonl", "routing_holdout")):
        rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        confusion: Counter[tuple[str, str]] = Counter()
        area_hits = area_total = 0
        for row in rows:
            decided = classify(row["text"], ref)
            confusion[(row["category"], decided.category or "khac")] += 1
            if row["area"]:
                area_total += 1
                area_hits += decided.area == row["area"]
        hits = sum(n for (truth, guess), n in confusion.items() if truth == guess)
        figures[f"{prefix}_category"] = round(hits / len(rows), 3)
        figures[f"{prefix}_area"] = round(area_hits / area_total, 3)
        if prefix == "routing_accuracy":
            figures["routing_confusion"] = {f"{t} -> {g}": n for (t, g), n in sorted(confusion.items()) if t != g}
    return figures


def confusion_table(confusion: dict[str, int]) -> str:
    """Misclassifications of the labelled set, most frequent first."""
    lines = ["misclassified (expected -> decided): count"]
    lines += [f"  {pair}: {n}" for pair, n in sorted(confusion.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def throughput(counter: Any) -> dict[str, Any]:
    """Drains the routing queue (filled by the intake bench) through the deployed handler; then
    times the bare calls routing needs per ticket, as the floor."""
    import boto3

    import app
    from chalicelib.config import settings
    from devstack.worker import poll_once

    url = settings().routing_queue_url
    sqs = boto3.client("sqs")
    queued = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                 ["Attributes"]["ApproximateNumberOfMessages"])
    poll_once(app.route_tickets, "route_tickets", url, 1, wait_s=0)  # warm
    with counter.window() as one:
        poll_once(app.route_tickets, "route_tickets", url, 1, wait_s=0)
    dynamodb = boto3.client("dynamodb")
    table, notify = os.environ["TICKETS_TABLE"], settings().notifications_queue_url

    def floor_one(n: int) -> None:
        key = {"pk": {"S": f"BENCH#R{n}"}, "sk": {"S": "TICKET"}}
        dynamodb.get_item(TableName=table, Key=key)
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {**key, "status": {"S": "assigned"}}}},
            *({"Put": {"TableName": table, "Item": {"pk": key["pk"], "sk": {"S": sk}}}}
              for sk in ("EVENT#1", "OUT#1", "OUT#2"))])
        sqs.send_message_batch(QueueUrl=notify, Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(2)])

    # Batches of the consumer and of the floor take turns, so both meet the same table sizes
    # (the emulator's cost per transaction grows with the table).
    routed, elapsed, floor_n, floor_elapsed = 0, 0.0, 0, 0.0
    while routed < MAX_ROUTED:
        gc.collect()  # untimed, as in bench/stack.py
        start = time.perf_counter()
        handled = poll_once(app.route_tickets, "route_tickets", url, 10, wait_s=0)
        elapsed += time.perf_counter() - start
        if not handled:
            break
        routed += handled
        start = time.perf_counter()
        for _ in range(handled):
            floor_one(floor_n)
            floor_n += 1
        floor_elapsed += time.perf_counter() - start
    per_s = routed / elapsed if elapsed else 0.0
    floor_per_s = floor_n / floor_elapsed if floor_elapsed else 0.0
    return {"routed_tickets": routed, "routing_queue_depth_at_start": queued,
            "routed_tickets_per_s": round(per_s, 1), "routing_floor_tickets_per_s": round(floor_per_s, 1),
            "routing_to_floor_ratio": round(per_s / floor_per_s, 2) if floor_per_s else None,
            "aws_calls_per_routed_ticket": sum(one.values()), "aws_calls_routing_breakdown": dict(one)}
