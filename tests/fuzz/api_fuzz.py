"""Schemathesis against a running stack over real HTTP, every operation of the served OpenAPI
document: generated valid and invalid requests, then the document's links followed statefully
(a report filed, then its status, its followers, its staff view). Shared by the in-suite test
(tests/fuzz/test_api_fuzz.py, about 1,200 cases) and `make fuzz` (bench/fuzz.py, 100,000).

Every response is checked for a 5xx and against the document (status code, content type, JSON
schema); problems are collected, not raised, so a run counts them all and never stops to shrink.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

DEMO_ADMIN = ("quantri@demo.1022.vn", "Hotline1022demo")  # devstack/seed.py's demo admin
POSITIVE_SHARE = 0.6  # of each operation's cases; the rest are invalid by construction (negative)
STATEFUL_SHARE = 0.1  # of all cases, spent following links
TIMEOUT_S = 30


@dataclass
class Figures:
    cases: int = 0
    stateful: int = 0  # of the cases, those sent while following links
    server_errors: int = 0
    nonconforming: int = 0
    duration_s: float = 0.0
    by_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "stateful": self.stateful, "server_errors": self.server_errors, "nonconforming": self.nonconforming,
                "duration_s": round(self.duration_s, 1), "operations": len(self.by_operation),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}


def staff_token(base_url: str) -> str:
    """An ID token of the demo admin, signed in through the console as a person would (the cookie
    that carries it is the same token the staff API takes as Bearer)."""
    answer = requests.post(f"{base_url}/staff/sign-in", data={"email": DEMO_ADMIN[0], "password": DEMO_ADMIN[1]},
                           allow_redirects=False, timeout=TIMEOUT_S)
    assert answer.status_code == 303 and answer.cookies.get("hl_id"), answer.status_code
    return answer.cookies["hl_id"]


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class _Recorder:
    """Sends one case, counts it, records a 5xx or a mismatch with the document (never raises)."""

    def __init__(self, base_url: str, token: str, figures: Figures) -> None:
        self.base_url, self.figures, self.checks = base_url, figures, _checks()
        self.session = requests.Session()
        self.auth = {"Authorization": f"Bearer {token}"}

    def headers(self, case: Any) -> dict[str, str]:
        return self.auth if case.operation.definition.raw.get("security") else {}

    def record(self, case: Any, response: Any) -> None:
        from schemathesis.core.failures import FailureGroup

        label = f"{case.method.upper()} {case.operation.path}"
        self.figures.cases += 1
        self.figures.by_operation[label] += 1
        self.figures.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.figures.server_errors += 1
        try:
            case.validate_response(response, checks=self.checks, headers=self.headers(case))
        except FailureGroup as failed:
            self.figures.nonconforming += response.status_code < 500
            if len(self.figures.problems) < 20:
                self.figures.problems.append(f"{label} -> {response.status_code}: {str(failed)[:1500]}")

    def send(self, case: Any) -> None:
        response = case.call(base_url=self.base_url, session=self.session, headers=self.headers(case),
                             timeout=TIMEOUT_S)
        self.record(case, response)


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz_operation(operation: Any, recorder: _Recorder, examples: int, mode: Any, seed: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed
    from hypothesis.errors import Unsatisfiable

    @with_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        recorder.send(case)

    try:
        fuzz()
    except Unsatisfiable:  # nothing can be made invalid in an operation without parameters
        pass


def _stateful(schema: Any, recorder: _Recorder, steps: int, seed: int) -> None:
    """Follows the document's links (a report's code into its status, followers and staff view)."""
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import seed as with_seed

    machine = schema.as_state_machine()

    class Recording(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": recorder.base_url, "session": recorder.session, "headers": recorder.headers(case),
                    "timeout": TIMEOUT_S}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            recorder.figures.stateful += 1
            recorder.record(case, response)

    scenarios = max(1, steps // 5)
    run = with_seed(seed)(lambda: Recording.run(settings=settings(
        max_examples=scenarios, stateful_step_count=5, database=None, deadline=None,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck))))
    run()


def run(base_url: str, cases: int, seed: int = 1022) -> Figures:
    """Fuzzes every operation of the document served at `base_url` with about `cases` requests
    in all (split evenly, 60 % valid and 40 % invalid by construction, 10 % of the total following
    links statefully). Returns the figures; asserts nothing."""
    import schemathesis
    from schemathesis import GenerationMode

    started = time.monotonic()
    figures = Figures()
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    recorder = _Recorder(base_url, staff_token(base_url), figures)
    operations = _operations(schema)
    stateless = int(cases * (1 - STATEFUL_SHARE))
    per_operation = max(2, stateless // len(operations))
    for number, operation in enumerate(operations):
        positive = max(1, round(per_operation * POSITIVE_SHARE))
        _fuzz_operation(operation, recorder, positive, GenerationMode.POSITIVE, seed + number)
        _fuzz_operation(operation, recorder, per_operation - positive, GenerationMode.NEGATIVE, seed + number)
    # Small operations run out of distinct inputs early; links followed make up the count.
    for attempt in range(10):
        if figures.cases >= cases:
            break
        _stateful(schema, recorder, cases - figures.cases, seed + attempt)
    figures.duration_s = time.monotonic() - started
    return figures
