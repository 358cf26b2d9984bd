"""`make fuzz` (python -m bench.fuzz): the long fuzzing run, 100,000 cases by default (FUZZ_CASES=…).

Starts its own local stack under /api (as `make run --base-path /api` would, the execute-api shape),
runs schemathesis over every operation of the served OpenAPI document (tests/fuzz/api_fuzz.py) and
the signed-webhook and form fuzzers (tests/fuzz/test_properties.py, freshly random here rather than
seeded), then merges the figures into bench/results.json: cases, 5xx, responses that do not match
the document, property failures, duration. The in-suite versions of the same runs are in `make test`.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from bench import ROOT

CASES = int(os.environ.get("FUZZ_CASES", "100000"))
SEED = int(os.environ.get("FUZZ_SEED", str(int(time.time()) % 100_000)))
PROPERTY_SHARE = 50  # each of the 7 property fuzzers gets CASES // PROPERTY_SHARE examples
READY = "Ctrl-C stops everything."


@contextmanager
def local_stack(base_path: str = "/api") -> Iterator[str]:
    """`python -m devstack` on a free port; yields the site's URL (origin + base path)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TICKETS_", "ROUTING_", "IDEMPOTENCY_"))}
    process = subprocess.Popen([sys.executable, "-m", "devstack", "--port", str(port), "--emulator-port", "0",
                                "--base-path", base_path], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline, banner = time.monotonic() + 120, []
    while time.monotonic() < deadline and READY not in "".join(banner):
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        banner.append(line)
    if READY not in "".join(banner):
        process.kill()
        raise SystemExit("the local stack did not start:\n" + "".join(banner))
    threading.Thread(target=lambda: deque(process.stdout, maxlen=0), daemon=True).start()  # type: ignore[arg-type]
    try:
        yield f"http://127.0.0.1:{port}{base_path}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _properties(base_url: str, examples: int) -> dict[str, Any]:
    """Runs each property fuzzer with `examples` random examples; returns requests sent and failures."""
    os.environ.update(FUZZ_EXAMPLES=str(examples), FUZZ_RANDOM="1")  # read when the module is imported
    from tests.fuzz import test_properties as properties

    site = properties.Site(base_url)
    sent = 0

    def counted(method: Any) -> Any:
        def call(*args: Any) -> Any:
            nonlocal sent
            sent += 1
            return method(*args)
        return call

    site.send, site.get = counted(site.send), counted(site.get)  # type: ignore[method-assign]
    failures = []
    for name in sorted(n for n in dir(properties) if n.startswith("test_")):
        try:
            getattr(properties, name)(site=site)
        except Exception as failed:  # a property found a counterexample: report it, run the others
            failures.append(f"{name}: {str(failed)[:2000]}")
    return {"requests": sent, "failures": failures}


def measure(cases: int = CASES, seed: int = SEED) -> dict[str, Any]:
    from tests.fuzz import api_fuzz

    started = time.monotonic()
    with local_stack() as base_url:
        figures = api_fuzz.run(base_url, cases=cases, seed=seed)
        properties = _properties(base_url, max(40, cases // PROPERTY_SHARE))
    for problem in figures.problems + properties["failures"]:
        print(problem, file=sys.stderr)
    total = figures.cases + properties["requests"]
    elapsed = time.monotonic() - started
    return {"fuzz_cases": total, "fuzz_schemathesis_cases": figures.cases,
            "fuzz_property_requests": properties["requests"], "fuzz_operations": len(figures.by_operation),
            "fuzz_5xx": figures.server_errors, "fuzz_nonconforming": figures.nonconforming,
            "fuzz_property_failures": len(properties["failures"]), "fuzz_duration_s": round(elapsed, 1),
            "fuzz_cases_per_s": round(total / elapsed, 1), "fuzz_seed": seed, "fuzz_statuses": figures.as_dict()["statuses"]}


def record(figures: dict[str, Any], path: Path = ROOT / "bench" / "results.json") -> None:
    """Merges the figures into bench/results.json through the bench's writer, keeping every other figure."""
    from bench import report

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    measured_at = previous.pop("measured_at", now)  # the rest of the bench's date stays as it was
    for key in ("targets", "minimums"):
        previous.pop(key, None)
    report.write({**previous, **figures, "fuzz_measured_at": now}, measured_at, path)


def main() -> int:
    from bench import report

    figures = measure()
    record(figures)
    print(report.table(figures))
    return 1 if figures["fuzz_5xx"] or figures["fuzz_nonconforming"] or figures["fuzz_property_failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
