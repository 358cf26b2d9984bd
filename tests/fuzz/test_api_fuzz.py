"""Schemathesis over real HTTP against the local stack, every operation of the served document:
a bounded, seeded run that must find no 5xx and no response the document does not describe.
Under /api (the execute-api shape) it runs at least 1,000 cases; at / a shorter run checks that
the document's server follows the base path there too. `make fuzz` is the long version."""
from __future__ import annotations

import pytest
import requests

from tests.fuzz import api_fuzz

pytestmark = pytest.mark.e2e
CASES = {"/api": 1000, "": 200}
SEED = 1022


def test_the_served_document_is_valid_and_names_this_sites_base_path(local_stack: dict[str, str]) -> None:
    from openapi_spec_validator import validate

    served = requests.get(f"{local_stack['base_url']}/api/v1/openapi.json", timeout=30)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("application/json")
    document = served.json()
    validate(document)
    assert document["servers"][0]["url"] == (local_stack["base_path"] or "/")


def test_schemathesis_finds_no_5xx_and_nothing_the_document_does_not_describe(local_stack: dict[str, str]) -> None:
    wanted = CASES[local_stack["base_path"]]
    figures = api_fuzz.run(local_stack["base_url"], cases=wanted, seed=SEED)
    print(f"schemathesis {local_stack['base_path'] or '/'}: {figures.as_dict()}")
    assert figures.cases >= wanted and len(figures.by_operation) >= 30 and figures.stateful > 0
    assert figures.server_errors == 0 and figures.nonconforming == 0, "\n\n".join(figures.problems)
