"""`python -m devstack.call` against the running local stack (at / and under /api/): the fake Stringee's
scripted calls are signed as Stringee signs them, so the app takes them under either base path; a forged
offer gets the safe answer (no operator rung) and forged events are refused."""
from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.stringee import main

pytestmark = pytest.mark.e2e


def _call(capsys: pytest.CaptureFixture[str], base_url: str, script: str) -> dict[str, Any]:
    assert main([script, "--caller", "0912 000 222".replace(" ", ""), "--url", base_url]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_call_nobody_takes_ends_in_a_voicemail_the_app_keeps(local_stack: dict[str, Any],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # Whatever the hour: in hours every operator is busy, after hours the message comes first; either way
    result = _call(capsys, local_stack["base_url"], "missed_busy")
    assert result["answer_status"] == 200 and result["outcome"] == "voicemail", result
    assert [step["status"] for step in result["steps"] if step["do"] in ("next", "recordMessage")][-1] == 200
    assert {event["http"] for event in result["events"]} == {200}
    assert [event["status"] for event in result["events"]][::len(result["events"]) - 1] == ["created", "ended"]


def test_a_forged_call_gets_no_operator_and_its_events_are_refused(local_stack: dict[str, Any],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    result = _call(capsys, local_stack["base_url"], "forged")
    # an offer that does not verify still gets an answer (never a silent hotline), but the safe one: no operator
    assert result["answer_status"] == 200 and "connect" not in json.dumps(result["sccos"])
    assert [step["status"] for step in result["steps"]] == [200, 200]
    assert [event["http"] for event in result["events"]] == [403, 403]
