"""`python -m bench` (from the repo root): measures, writes bench/results.json, prints the table."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

from bench import ROOT, coldstart, cost, emulator, package_size, report, routing, stack, threading

RESULTS = ROOT / "bench" / "results.json"


def main() -> None:
    measured_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    figures: dict[str, Any] = {}
    # Cold start first, on a quiet machine: no emulator thread yet.
    for title, section in (("cold start", coldstart.measure), ("routing accuracy", routing.accuracy),
                           ("threading accuracy", threading.accuracy),
                           ("local stack", stack.measure), ("emulator at 100,000 tickets", emulator.measure),
                           ("deployment zip", package_size.measure), ("running cost", cost.measure)):
        print(f"bench: {title}…", file=sys.stderr, flush=True)
        figures.update(section())
    report.write(figures, measured_at, RESULTS)
    confusion = figures.pop("routing_confusion", {})
    cost_detail = figures.pop("cost_detail", {})
    threading_misses = figures.pop("threading_misses", [])
    holdout_misses = figures.pop("threading_holdout_misses", [])
    print(report.table(figures))
    print("\n" + routing.confusion_table(confusion))
    print("\nthreading, decided otherwise than labelled:\n" + "\n".join(f"  {line}" for line in threading_misses))
    print("\n... on the blind holdout:\n" + "\n".join(f"  {line}" for line in holdout_misses))
    print("\n" + cost.detail_table(cost_detail))
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
