"""Threading figures: on tests/data/threading_eval.jsonl (a citizen's next message beside one of their
tickets, labelled follow_up or new), how many follow-ups stay with their ticket and how many new
complaints become tickets of their own. `python -m bench.threading` prints them; `make bench` keeps them."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from bench import ROOT

DATA = ROOT / "tests" / "data" / "threading_eval.jsonl"
NOW = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
CODE = "TN-ABCDEF"


def cases() -> list[dict[str, Any]]:
    """The labelled messages: text, label (follow_up | new) and the sender's ticket
    (status, category, area, text), last changed (or answered) a day before."""
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


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


def accuracy() -> dict[str, Any]:
    """Share of follow-ups kept and of new complaints split, and the misses by text."""
    from chalicelib.domain.reference import parse_reference
    from chalicelib.store.reference import seed_document

    ref = parse_reference(seed_document())
    rows = cases()
    misses = [row for row in rows if outcome(row, ref) != row["label"]]
    figures: dict[str, Any] = {}
    for label, name in (("follow_up", "threading_follow_ups_kept"), ("new", "threading_new_split")):
        total = sum(1 for row in rows if row["label"] == label)
        wrong = sum(1 for row in misses if row["label"] == label)
        figures[name] = round((total - wrong) / total, 3)
    figures["threading_cases"] = len(rows)
    figures["threading_misses"] = [f"{row['label']}: {row['text'] or '[ảnh]'}" for row in misses]
    return figures


def main() -> None:
    figures = accuracy()
    for line in figures.pop("threading_misses"):
        print(f"  missed {line}")
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
