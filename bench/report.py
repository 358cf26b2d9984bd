"""Targets, the results file and the table."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Every target is an upper bound: a figure meets it when it is at most this value.
TARGETS: dict[str, float] = {
    "cold_start_ratio": 1.3,
    "aws_calls_per_web_submission": 3,
    "scan_calls": 0,
    "zip_bytes": 8_000_000,
    "aws_calls_per_sms_intake": 4,
    "aws_calls_per_zalo_intake": 4,
    "aws_calls_per_facebook_intake": 4,
    "duplicate_deliveries_tickets": 1,
    "sms_templates_max_segments": 1,
    "aws_calls_per_public_page": 1,
    "intake_ratio_100k": 1.5,
    # running cost (bench/cost.py, issue 12): per ticket of the bench's day, at list prices
    "sms_segments_per_sms_web_ticket_citizen": 2,
    "sms_segments_per_ticket_staff": 0.3,
    "ddb_write_units_per_ticket": 60,
    "usd_per_1000_tickets_aws_core": 0.15,
    # `make soak` (bench/burst.py): nothing lost or stored twice, one acknowledgement per ticket
    "burst_lost": 0,
    "burst_duplicated": 0,
    "burst_acks_per_ticket_max": 1,
    "burst_dlq_messages": 0,
    "burst_drain_minutes": 20,
    "kb_confident_wrong": 0,   # `make bench-kb`: an auto-answer confident enough to send must not be wrong
    # `make bench-telephony` (bench/telephony.py): Stringee's webhooks
    "telephony_aws_calls_per_answer_url": 2,
    "telephony_aws_calls_per_event_max": 3,
    "telephony_scan_calls": 0,
    # `make bench-routing` (issue 19): keywords + learned model on the blind set
    "routing_learn_blind_combined_wrong_agency_rate": 0.03,
    "routing_learn_blind_combined_triage_rate": 0.10,
    "routing_learn_blind_combined_confidential_false_positives": 0,
    "routing_learn_blind2_combined_wrong_agency_rate": 0.03,  # the second, fresh blind set: the same targets
    "routing_learn_blind2_combined_triage_rate": 0.10,
    "routing_learn_blind2_combined_confidential_false_positives": 0,
}
# Figures that must reach at least this value.
MINIMUMS: dict[str, float] = {
    "routing_accuracy_category": 0.9,
    "routing_accuracy_area": 0.9,
    "kb_top3_labelled": 0.9,   # `make bench-kb` (issue 17): the right article among the first three
    "kb_top3_holdout": 0.9,
    "threading_follow_ups_kept": 0.9,  # bench/threading.py: a citizen's next message, follow-up or new complaint
    "threading_new_split": 0.85,
    "duplicate_deliveries_tickets": 1,
    "burst_acks_per_ticket_min": 1,
    "routing_learn_blind_combined_accuracy_routed": 0.95,  # `make bench-routing`: category right, of those routed
    "routing_learn_blind2_combined_accuracy_routed": 0.95,
}
SEPARATE = ("burst_", "fuzz_", "search_", "exports_", "stats_", "kb_", "telephony_", "routing_learn_")  # measured on their own (`make soak`, `make fuzz`, `make bench-search`):
# `make bench` keeps them


def verdict(name: str, value: Any) -> str:
    """'ok' or 'NOT MET' for a figure with a target (a missing value does not meet it); '' otherwise."""
    if name in MINIMUMS and (value is None or value < MINIMUMS[name]):
        return "NOT MET"
    if name not in TARGETS:
        return "ok" if name in MINIMUMS else ""
    return "ok" if value is not None and value <= TARGETS[name] else "NOT MET"


def _text(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, dict):
        return ", ".join(f"{key}={count}" for key, count in value.items()) or "none"
    if isinstance(value, int) and value >= 10_000:
        return f"{value:,}"
    return str(value)


def table(figures: dict[str, Any]) -> str:
    """Returns the figures as an aligned text table: figure, value, target, status."""
    rows = [("figure", "value", "target", "status")]
    for name, value in figures.items():
        bounds = ([f">= {_text(MINIMUMS[name])}"] if name in MINIMUMS else []) + (
            [f"<= {_text(TARGETS[name])}"] if name in TARGETS else [])
        target = " and ".join(bounds) or "-"
        rows.append((name, _text(value), target, verdict(name, value)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _figures(path: Path) -> dict[str, Any]:
    """The figures already in `path` (none if it does not exist yet)."""
    if not path.exists():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in document.items() if k not in ("targets", "minimums", "measured_at")}


def write(figures: dict[str, Any], measured_at: str, path: Path) -> None:
    """Writes the flat figures plus "targets" and "measured_at" to `path` as JSON, keeping the
    figures of the separately measured sections (SEPARATE) that `figures` does not have."""
    kept = {k: v for k, v in _figures(path).items() if k.startswith(SEPARATE) and k not in figures}
    document = {**figures, **kept, "targets": TARGETS, "minimums": MINIMUMS, "measured_at": measured_at}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def merge(figures: dict[str, Any], path: Path) -> None:
    """Replaces one separately measured section's figures in `path`, leaving the others and
    their "measured_at" as they are."""
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    section = tuple(prefix for prefix in SEPARATE if any(k.startswith(prefix) for k in figures))
    kept = {k: v for k, v in _figures(path).items() if not (section and k.startswith(section))}
    write({**kept, **figures}, old.get("measured_at", ""), path)


def record(figures: dict[str, Any], section: str, arguments: list[str]) -> None:
    """Prints a standalone bench's `figures` stamped with `<section>_measured_at` and merges them
    into bench/results.json (unless --no-record)."""
    from datetime import datetime, timezone

    figures = {**figures, f"{section}_measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(table(figures))
    if "--no-record" not in arguments:
        merge(figures, Path(__file__).resolve().parent / "results.json")
        print("\nmerged into bench/results.json")
