"""Routing figures: classifier accuracy on the labelled sets (with the confusion table), the routing
consumer's throughput on the emulator against the emulator-only floor, and (`make bench-routing`,
`python -m bench.routing`) the keyword router against the keywords + learned model router.

`make bench-routing`: for both routers on the training pool (every chalicelib/data/routing_train*.jsonl;
the combined one by 5-fold cross-validation),
the promotion holdout and the blind sets (tests/data/routing_blind*.jsonl when present: written by
people who saw neither keywords, model nor training data, never tuned on; only their figures are printed,
never their rows or misses): accuracy of routed messages, wrong-agency rate, triage rate, confidential
false positives. The first blind set, spent after five runs, joined the training pool
(chalicelib/data/routing_train_blind1.jsonl)."""
from __future__ import annotations

import gc
import json
import os
import time
from collections import Counter
from typing import Any

from bench import ROOT

DATA = ROOT / "chalicelib" / "data"
# The second blind set (written after the first had been run at the end of three rounds of work; run once when
# written, again at the end of each later round), the third (two more writers, written while the next round began)
BLINDS = {"blind2": ROOT / "tests" / "data" / "routing_blind2.jsonl",
          "blind3": ROOT / "tests" / "data" / "routing_blind3.jsonl",
          # two more writers, written while the round after blind3's first run began; run once at its end
          "blind4": ROOT / "tests" / "data" / "routing_blind4.jsonl",
          # two more, written while the round after blind4's first run began (more writers, thresholds re-chosen)
          "blind5": ROOT / "tests" / "data" / "routing_blind5.jsonl"}
MAX_ROUTED = 200
FOLDS = 5
METRICS = ("accuracy_routed", "wrong_agency_rate", "triage_rate", "confidential_false_positives")


def accuracy() -> dict[str, Any]:
    """Category and area accuracy of the keyword router on routing_train.jsonl (tuned on) and
    routing_holdout.jsonl (blind)."""
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


def _sum(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures of several folds as one (the same definitions as learn.evaluate)."""
    n = sum(p["n"] for p in parts)
    routed = sum(p["routed"] for p in parts)
    right = sum(round(p["accuracy_routed"] * p["routed"]) for p in parts)
    wrong_agency = sum(round(p["wrong_agency_rate"] * p["n"]) for p in parts)
    confusion: Counter[str] = Counter()
    for part in parts:
        confusion.update(part["confusion"])
    return {"n": n, "routed": routed, "accuracy_routed": round(right / routed, 4) if routed else 0.0,
            "triage_rate": round((n - routed) / n, 4) if n else 0.0,
            "wrong_agency_rate": round(wrong_agency / n, 4) if n else 0.0,
            "confidential_false_positives": sum(p["confidential_false_positives"] for p in parts),
            "confusion": dict(confusion)}


def misses(rows: list[dict[str, Any]], ref: Any, model: Any) -> list[str]:
    """The labelled rows routed otherwise than labelled (wrong category or triage), one line each."""
    from chalicelib.domain.classify import classify

    lines = []
    for row in rows:
        decided = classify(row["text"], ref, model=model)
        if decided.category != row["category"] and not (decided.category is None and row["category"] == "khac"):
            lines.append(f"{row['category']} -> {decided.category or 'triage'} [{decided.source} "
                         f"{decided.confidence:.2f}]: {row['text'][:110]}")
    return lines


def learned(show_misses: bool = True, blind: bool = True) -> dict[str, Any]:
    """Keywords only vs keywords + model on the training pool (cross-validated), the holdout and the blind set."""
    from chalicelib.domain import learn
    from chalicelib.domain.reference import parse_reference
    from chalicelib.store.reference import seed_document

    ref = parse_reference(seed_document())
    seed = learn.seed_rows()
    start = time.perf_counter()
    model = learn.load(learn.train(learn.seed_examples(), ref, "bench", "bench"))
    train_s = time.perf_counter() - start
    folds = [[row for i, row in enumerate(seed) if i % FOLDS == k] for k in range(FOLDS)]
    fold_models = [learn.Model(learn.train([learn.Example(r["text"], r["category"], r.get("area"))
                                            for j, fold in enumerate(folds) if j != k for r in fold],
                                           ref, f"bench-cv{k}", "bench")) for k in range(FOLDS)]
    sets: dict[str, dict[str, dict[str, Any]]] = {
        "train": {"keywords": learn.evaluate(seed, ref, None),
                  "combined": _sum([learn.evaluate(folds[k], ref, fold_models[k]) for k in range(FOLDS)])}}
    holdout = learn.holdout_rows()
    sets["holdout"] = {"keywords": learn.evaluate(holdout, ref, None), "combined": learn.evaluate(holdout, ref, model)}
    for name, path in BLINDS.items():
        if blind and path.exists():  # figures only: its rows and misses are never printed (never tuned on)
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            sets[name] = {"keywords": learn.evaluate(rows, ref, None), "combined": learn.evaluate(rows, ref, model)}
    start = time.perf_counter()
    for row in holdout:
        model.predict(row["text"], ref)
    predict_ms = (time.perf_counter() - start) * 1000 / max(len(holdout), 1)
    figures: dict[str, Any] = {"routing_learn_model_train_s": round(train_s, 2),
                               "routing_learn_model_predict_ms": round(predict_ms, 2),
                               "routing_learn_train_files": len(list(DATA.glob("routing_train*.jsonl"))),
                               "routing_learn_model_bytes": len(json.dumps(learn.train(
                                   learn.seed_examples(), ref, "bench", "bench"), separators=(",", ":")))}
    for name, routers in sets.items():
        figures[f"routing_learn_{name}_n"] = routers["keywords"]["n"]
        for router, result in routers.items():
            for metric in METRICS:
                figures[f"routing_learn_{name}_{router}_{metric}"] = result[metric]
    if show_misses:
        for name, rows, fold_model in (("training pool, cross-validated", None, None), ("holdout", holdout, model)):
            if rows is None:
                lines = [line for k in range(FOLDS) for line in misses(folds[k], ref, fold_models[k])]
            else:
                lines = misses(rows, ref, fold_model)
            print(f"keywords + model, {name}: routed otherwise than labelled ({len(lines)})")
            print("\n".join(f"  {line}" for line in lines))
        print("\nconfusion on the holdout (keywords + model): "
              + (", ".join(f"{k}: {v}" for k, v in sets["holdout"]["combined"]["confusion"].items()) or "none"))
    return figures


def main(arguments: list[str]) -> None:
    from bench.report import record

    # --no-blind: while working on the model (its figures on the blind set are for the end, never for tuning)
    record(learned(show_misses="--no-misses" not in arguments, blind="--no-blind" not in arguments),
           "routing_learn", arguments)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
