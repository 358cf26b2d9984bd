"""Threading figures: on tests/data/threading_eval.jsonl (a citizen's next message beside one of their
tickets, labelled follow_up or new), how many follow-ups stay with their ticket and how many new
complaints become tickets of their own; the same on tests/data/threading_holdout.jsonl, a blind
holdout written without reading the rules or their keywords (never tune on it): `threading_holdout_*`.
`python -m bench.threading` prints them and merges them into bench/results.json with their own
`threading_measured_at`; `make bench` measures them too."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench import ROOT

DATA = ROOT / "tests" / "data" / "threading_eval.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "threading_holdout.jsonl"
NOW = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
CODE = "TN-ABCDEF"


def cases(path: Path = DATA) -> list[dict[str, Any]]:
    """The labelled messages: text, label (follow_up | new) and the sender's ticket
    (status, category, area, text), last changed (or answered) a day before."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def outcome(case: dict[str, Any], ref: Any) -> str:
    """'follow_up' when the message stays with the case's ticket (joins or reopens it), else 'new'."""
    from chalicelib.domain.threading import SenderTicket, decide, ticket_topic, topic_of

    ticket = case["ticket"]
    category, area = ticket_topic(ticket["text"], ref, ticket["category"], ticket["area"])
    day_before = NOW - timedelta(days=1)
    mine = SenderTicket(CODE, ticket["status"], day_before,
                        day_before if ticket["status"] in ("answered", "closed") else None, category, area)
    decision = decide(case["text"], [mine], NOW, "TN", topic_of(case["text"], ref), ref.threading)
    return "follow_up" if decision.kind in ("append", "reopen") and decision.tracking_code == CODE else "new"


def _measure(rows: list[dict[str, Any]], prefix: str, ref: Any) -> dict[str, Any]:
    misses = [row for row in rows if outcome(row, ref) != row["label"]]
    figures: dict[str, Any] = {}
    for label, name in (("follow_up", "follow_ups_kept"), ("new", "new_split")):
        total = sum(1 for row in rows if row["label"] == label)
        wrong = sum(1 for row in misses if row["label"] == label)
        figures[f"{prefix}_{name}"] = round((total - wrong) / total, 3)
    figures[f"{prefix}_cases"] = len(rows)
    figures[f"{prefix}_misses"] = [f"{row['label']}: {row['text'] or '[ảnh]'}" for row in misses]
    return figures


def accuracy() -> dict[str, Any]:
    """Share of follow-ups kept and of new complaints split, and the misses by text, on the
    labelled set (`threading_*`) and on the blind holdout (`threading_holdout_*`), with the time
    they were measured."""
    from chalicelib.domain.reference import parse_reference
    from chalicelib.store.reference import seed_document

    ref = parse_reference(seed_document())
    return {**_measure(cases(DATA), "threading", ref), **_measure(cases(HOLDOUT), "threading_holdout", ref),
            "threading_measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def main(arguments: list[str]) -> None:
    from bench import report

    figures = accuracy()
    for key in ("threading_misses", "threading_holdout_misses"):
        for line in figures[key]:
            print(f"  missed ({'holdout' if 'holdout' in key else 'labelled set'}) {line}")
    for name, value in figures.items():
        if not name.endswith("_misses"):
            print(f"{name}: {value}")
    if "--no-record" not in arguments:
        report.merge(figures, ROOT / "bench" / "results.json")
        print("\nmerged into bench/results.json")


if __name__ == "__main__":
    main(sys.argv[1:])
