"""A transaction cancelled by a concurrent one (TransactionConflict) is sent again; a failed condition is not.

The emulator never cancels for a conflict, so the shared DynamoDB client answers the first
TransactWriteItems calls with the error DynamoDB returns (same code, message and reasons shape).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.errors import AlreadyExists, TooManyRequests, Unavailable
from chalicelib.domain.lifecycle import Status
from chalicelib.domain.tracking import new_code
from chalicelib.store import tickets, transactions
from chalicelib.store.connection import bind
from tests.conftest import unique_phone

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def _fields(phone: str) -> dict[str, object]:
    return {"tracking_code": new_code("TN"), "channel": "sms", "reporter_phone": phone, "text": "Đường ngập",
            "status": Status.RECEIVED.value, "created_at": NOW, "updated_at": NOW}


def _event() -> tickets.NewEvent:
    return tickets.NewEvent(kind="created", actor="citizen:sms", at=NOW, public_text="Đã tiếp nhận phản ánh.")


def _cancelled_by_conflict(params: dict[str, Any]) -> ClientError:
    # As DynamoDB answers: one reason per item, "None" for the untouched ones; here the last item
    # (a statistics counter, updates come last) was being written by another transaction.
    count = len(params["TransactItems"])
    reasons = [{"Code": "None"}] * (count - 1) + [
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
    listed = ", ".join(r["Code"] for r in reasons)
    return ClientError({"Error": {"Code": "TransactionCanceledException",
                                  "Message": f"Transaction cancelled, please refer cancellation reasons for "
                                             f"specific reasons [{listed}]"},
                        "CancellationReasons": reasons,
                        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}}}, "TransactWriteItems")


@pytest.fixture
def conflicts(stack: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Makes the next `state["conflicts"]` TransactWriteItems calls fail with TransactionConflict; counts calls."""
    client = bind().client
    real = client._make_api_call
    state = {"conflicts": 0, "calls": 0}
    pauses: list[float] = []

    def call(operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems":
            state["calls"] += 1
            if state["conflicts"] > 0:
                state["conflicts"] -= 1
                raise _cancelled_by_conflict(params)
        return real(operation, params)

    monkeypatch.setattr(client, "_make_api_call", call)
    monkeypatch.setattr(transactions, "sleep", pauses.append)
    yield state
    assert all(0.02 <= p <= 0.2 for p in pauses)


def test_a_ticket_cancelled_by_a_concurrent_transaction_is_created_once_on_the_retry(conflicts: dict[str, int]) -> None:
    conflicts["conflicts"] = 2
    fields = _fields(unique_phone())
    tickets.create_ticket(fields, _event(), dedup_key=f"sms-{fields['tracking_code']}")
    assert conflicts["calls"] == 3
    assert tickets.get_ticket(fields["tracking_code"]).version == 1
    assert [e.kind for e in tickets.timeline(fields["tracking_code"])] == ["created"]


def test_a_conflict_that_lasts_past_three_attempts_is_unavailable(conflicts: dict[str, int]) -> None:
    conflicts["conflicts"] = 5
    fields = _fields(unique_phone())
    with pytest.raises(Unavailable):
        tickets.create_ticket(fields, _event())
    assert conflicts["calls"] == transactions.ATTEMPTS == 3


def test_a_taken_code_or_a_reached_limit_is_answered_at_once(conflicts: dict[str, int]) -> None:
    fields = _fields(unique_phone())
    tickets.create_ticket(fields, _event())
    conflicts["calls"] = 0
    with pytest.raises(AlreadyExists):
        tickets.create_ticket({**fields, "text": "khác"}, _event())
    assert conflicts["calls"] == 1

    limit = [(f"test-{unique_phone()}#h", 1)]
    tickets.create_ticket(_fields(unique_phone()), _event(), limits=limit)
    conflicts["calls"] = 0
    with pytest.raises(TooManyRequests):
        tickets.create_ticket(_fields(unique_phone()), _event(), limits=limit)
    assert conflicts["calls"] == 1
