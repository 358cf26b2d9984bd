"""Questions vs complaints in the console (real routes on the emulator): the router tags a ticket
that asks as a question, operators see the "Câu hỏi" badge on it and in its inbox row, and a
complaint gets neither."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from chalicelib.domain.reports import validate_submission
from chalicelib.services import console, intake, routing
from chalicelib.store import tickets
from chalicelib.store.reference import load_reference
from tests.conftest import unique_phone


def _routed(text: str) -> str:
    fields = {"description": f"{text} ({uuid.uuid4().hex[:6]})", "phone": unique_phone(), "name": "Dân"}
    code = intake._create(validate_submission(fields, load_reference()))["tracking_code"]
    routing.route(code)
    return code


def _page(client: Any, token: str, code: str) -> str:
    response = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={token}"})
    assert response.status_code == 200
    return response.body.decode()


def test_a_question_is_tagged_when_routed_and_operators_see_it(client: Any, staff: dict[str, str]) -> None:
    # Given a citizen who asks and one who complains, written without diacritics and with them
    asked = _routed("cho hoi dang ky tam tru cho nguoi thue tro o phuong Tan Ninh can giay to j")
    complained = _routed("Đèn đường hẻm 5 phường Tân Ninh tắt cả tuần nay, ai chịu trách nhiệm?")
    # When the router has routed both
    question, complaint = tickets.get_ticket(asked), tickets.get_ticket(complained)
    # Then the ticket records which it is
    assert (question.kind, complaint.kind) == ("question", "complaint")
    # And the operator sees the badge on the question only, on its page and in its inbox row
    assert 'id="question-badge"' in _page(client, staff["operator"], asked)
    assert 'id="question-badge"' not in _page(client, staff["operator"], complained)
    now, ref = datetime.now(timezone.utc), load_reference()
    assert console.summary(question, ref, now)["question"] and not console.summary(complaint, ref, now)["question"]
