"""The routing queue, its consumer (the deployed handler object) and its DLQ, on the emulator."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

import app
from chalicelib import queues
from chalicelib.config import settings
from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake, routing
from chalicelib.store import tickets
from chalicelib.store.reference import load_reference
from devstack.worker import LambdaContext, poll_once, sqs_event
from tests.conftest import drain, unique_phone


def _submit(**extra: Any) -> str:
    raw = {"description": "Đèn đường tắt cả tuần", "phone": unique_phone(), **extra}
    return intake.submit(validate_submission(raw, load_reference()))["tracking_code"]


def _submit_unclear() -> str:
    raw = {"description": "Xin chào, cho tôi hỏi một việc", "phone": unique_phone()}
    return intake.submit(validate_submission(raw, load_reference()))["tracking_code"]


def _queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_the_consumer_receives_the_message_and_routes_to_the_category_agency(stack: Any, sqs: Any) -> None:
    drain(sqs, settings().routing_queue_url)
    assigned = _submit(category="chieu-sang", area="long-hoa")
    unknown = _submit_unclear()
    # When the local poller hands the queue's batch to the handler Lambda would run
    handled = poll_once(app.route_tickets, "route_tickets", settings().routing_queue_url, batch_size=10)
    # Then both messages were consumed, and the tickets moved on
    assert handled == 2
    ticket = tickets.get_ticket(assigned)
    # street lights in a ward: the ward's People's Committee (category x area rule)
    assert (ticket.status, ticket.agency) == ("assigned", "ubnd-long-hoa")
    assert tickets.get_ticket(unknown).status == "triage"
    public = [e.public_text for e in tickets.timeline(assigned)]
    assert public == ["Đã tiếp nhận phản ánh.", "Đã chuyển đến UBND Phường Long Hoa để xử lý."]
    assert drain(sqs, settings().routing_queue_url) == []


def test_a_message_delivered_twice_routes_once(stack: Any, sqs: Any) -> None:
    drain(sqs, settings().routing_queue_url)
    code = _submit(category="y-te")
    queues.send_routing(code)  # SQS is at-least-once: the same ticket arrives again
    poll_once(app.route_tickets, "route_tickets", settings().routing_queue_url, batch_size=10)
    assert [e.kind for e in tickets.timeline(code)] == ["created", "routed"]


def test_a_poison_message_fails_alone_and_ends_in_the_dlq(stack: Any, sqs: Any) -> None:
    url = settings().routing_queue_url
    dlq = stack.resources["RoutingDLQ"]
    drain(sqs, url)
    drain(sqs, dlq)
    good = _submit(category="giao-duc")
    sqs.send_message(QueueUrl=url, MessageBody="{not json")
    arn = _queue_arn(sqs, url)
    # The handler reports only the poison record; the good one is done.
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                   VisibilityTimeout=0)["Messages"]
    result = app.route_tickets(sqs_event(received, arn), LambdaContext("route_tickets"))
    poison_id = next(m["MessageId"] for m in received if m["Body"] == "{not json")
    assert result == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    assert tickets.get_ticket(good).status == "assigned"
    for message in received:
        if message["MessageId"] != poison_id:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # Each redelivery fails again; after maxReceiveCount (5) SQS moves it to the DLQ.
    for _ in range(6):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    VisibilityTimeout=0).get("Messages", [])
        if batch:
            assert app.route_tickets(sqs_event(batch, arn), LambdaContext("route_tickets"))["batchItemFailures"]
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])] \
        == ["{not json"]


def test_an_sqs_outage_at_intake_loses_nothing(stack: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    drain(sqs, settings().routing_queue_url)

    def sqs_down(*_: Any, **__: Any) -> None:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")

    # Given SQS refuses the routing message, the citizen still gets a tracking code
    with monkeypatch.context() as patch:
        patch.setattr(queues, "send_routing", sqs_down)
        code = _submit(category="dien-nuoc")
    assert tickets.get_ticket(code).status == "received"
    assert drain(sqs, settings().routing_queue_url) == []
    # When the sweeper runs (scheduled every 5 minutes) after the grace period
    # (a page of tickets per run, going round all `received` ones: within one round it comes)
    later = datetime.now(timezone.utc) + timedelta(minutes=3)
    queued: list[Any] = []
    for _ in range(100):
        routing.requeue_unrouted(now=later)
        queued += drain(sqs, settings().routing_queue_url)
        if any(m["tracking_code"] == code for m in queued):
            break
    # Then the ticket is queued again and routed
    assert {"type": "ticket.created", "tracking_code": code, "notify": []} in queued


def test_the_sweeper_is_a_real_schedule_handler(stack: Any, client: Any) -> None:
    result = client.lambda_.invoke("sweep_unrouted", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert set(result.payload) == {"requeued", "notifications_requeued"}
