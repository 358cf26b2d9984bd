"""Questions vs complaints in the console (real routes on the emulator): the router tags a ticket
that asks as a question, operators see the "Câu hỏi" badge on it and in its inbox row, and a
complaint gets neither; an operator corrects the kind until the ticket is answered, and the
statistics follow."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.reports import validate_submission
from chalicelib.services import console, intake, routing, stats
from chalicelib.store import tickets
from chalicelib.store.reference import load_reference
from tests.conftest import unique_phone

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SUPERVISOR = StaffUser(sub="s-kinds", email="giamsat-kinds@demo.1022.vn", name="Giám sát", roles=frozenset({"supervisor"}))


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


def _post(client: Any, token: str, code: str, **form: str) -> Any:
    return client.http.post(f"/staff/tickets/{code}", headers={**FORM, "Cookie": f"hl_id={token}; hl_csrf=c"},
                            body=urlencode({"csrf": "c", "version": str(tickets.get_ticket(code).version),
                                            **form}).encode())


def _kinds_today() -> dict[str, dict[str, Any]]:
    now = datetime.now(timezone.utc)
    query = stats.parse_query({"from": f"{now.astimezone(VN_TZ).date()}"}, load_reference(), now)
    return stats.figures(SUPERVISOR, query, now)["totals"]["kinds"]


def test_an_operator_corrects_the_kind_until_the_ticket_is_answered(client: Any, staff: dict[str, str]) -> None:
    # Given a message the router took for a complaint
    code = _routed("Lịch thu gom rác hẻm 9 phường Tân Ninh năm nay đổi rồi, nhà tôi chưa biết")
    assert tickets.get_ticket(code).kind == "complaint"
    before = _kinds_today()
    # When the operator marks it as a question on its page (no JavaScript)
    assert _post(client, staff["operator"], code, action="mark_kind", kind="question").status_code in (200, 303)
    # Then it is a question: the badge, the history, and today's statistics moved it from complaints to questions
    page = _page(client, staff["operator"], code)
    assert 'id="question-badge"' in page and "Đánh dấu là câu hỏi" in page and 'id="mark-kind"' in page
    after = _kinds_today()
    assert after["question"]["received"] - before["question"]["received"] == 1
    assert after["complaint"]["received"] - before["complaint"]["received"] == -1
    # And re-categorising the ticket keeps the operator's mark
    console.act(SUPERVISOR, code, "categorise", {"version": str(tickets.get_ticket(code).version),
                                                 "category": "moi-truong"})
    assert tickets.get_ticket(code).kind == "question"
    # Once answered, the kind stays as counted: no button, and a forged request is refused in Vietnamese
    console.act(SUPERVISOR, code, "resolve", {"version": str(tickets.get_ticket(code).version),
                                              "answer": "Xe rác tới lúc 18 giờ hằng ngày."})
    assert 'id="mark-kind"' not in _page(client, staff["operator"], code)
    refused = _post(client, staff["operator"], code, action="mark_kind", kind="complaint")
    assert refused.status_code == 400 and "không đổi loại được nữa" in refused.body.decode()
    assert tickets.get_ticket(code).kind == "question"
