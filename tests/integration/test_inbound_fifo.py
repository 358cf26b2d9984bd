"""The inbound FIFO consumer: a failed record holds back the later records of its message group,
so one citizen's messages are applied in the order they were sent, even when one of them fails and
is redelivered; other citizens' records in the batch go on."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import app
from chalicelib import queues
from chalicelib.config import settings
from chalicelib.domain.messages import InboundMessage
from chalicelib.services import conversations
from chalicelib.store import tickets
from devstack.worker import LambdaContext, poll_once, sqs_event
from tests.conftest import drain

QUEUE_ARN = "arn:aws:sqs:ap-southeast-1:123456789012:hotline1022-test-inbound.fifo"


def _zalo_message(user: str, text: str) -> InboundMessage:
    return InboundMessage(channel="zalo", provider="zalo", provider_message_id=uuid.uuid4().hex, sender=user,
                          text=text, received_at=datetime.now(timezone.utc), reply_via="zalo")


def _record(body: str, group: str) -> dict[str, Any]:
    # Hand-built: each record has its own messageId (Chalice's event generator repeats one id).
    return {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex, "Body": body,
            "Attributes": {"MessageGroupId": group, "SequenceNumber": str(uuid.uuid4().int % 10**20)}}


def _user() -> str:
    return f"z{uuid.uuid4().int % 10**15}"


def test_a_failed_record_holds_back_its_senders_later_records_and_no_one_elses(stack: Any) -> None:
    # Given a batch: a good message, one that cannot be read, its sender's next message, and another
    # citizen's good message
    first_user, same_user, last_user = _user(), _user(), _user()
    records = [_record(json.dumps(_zalo_message(first_user, "Đèn đường ấp 3 bị hỏng").to_json()), "g1"),
               _record("{not json", "g2"),
               _record(json.dumps(_zalo_message(same_user, "Bổ sung: đã hai ngày").to_json()), "g2"),
               _record(json.dumps(_zalo_message(last_user, "Cống bị tắc ở chợ").to_json()), "g3")]
    # When the deployed handler runs it
    result = app.handle_inbound(sqs_event(records, QUEUE_ARN), LambdaContext("handle_inbound"))
    # Then the failed record and its group's later one are reported, in order
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [r["MessageId"] for r in records[1:3]]
    # And the other citizens' messages took effect, the held-back one did not (it will be redelivered)
    assert [t.text for t in tickets.by_zalo(first_user)] == ["Đèn đường ấp 3 bị hỏng"]
    assert [t.text for t in tickets.by_zalo(last_user)] == ["Cống bị tắc ở chợ"]
    assert tickets.by_zalo(same_user) == []


def test_a_batch_without_failures_reports_none(stack: Any) -> None:
    user = _user()
    records = [_record(json.dumps(_zalo_message(user, text).to_json()), "g") for text in
               ("Nước sinh hoạt bị đục", "Bổ sung: đã ba ngày rồi")]
    result = app.handle_inbound(sqs_event(records, QUEUE_ARN), LambdaContext("handle_inbound"))
    assert result == {"batchItemFailures": []}
    (ticket,) = tickets.by_zalo(user)
    assert [e.kind for e in tickets.timeline(ticket.tracking_code)][-1] == "message_in"


def test_a_citizens_second_message_waits_for_their_first_to_succeed(stack: Any, sqs: Any, monkeypatch: Any) -> None:
    # Given two quick messages from one Zalo user on the FIFO queue, the first failing once
    url = settings().inbound_queue_url
    drain(sqs, url)
    user = _user()
    first, second = _zalo_message(user, "Rác thải đổ trộm ở bờ kênh"), _zalo_message(user, "Bổ sung: cả tuần nay")
    queues.send_inbound(first)
    queues.send_inbound(second)
    applied: list[str] = []
    failed_once: list[str] = []
    receive = conversations.receive

    def flaky(message: InboundMessage, now: Any = None) -> str:
        if message.provider_message_id == first.provider_message_id and not failed_once:
            failed_once.append(message.provider_message_id)
            raise ConnectionError("DynamoDB unreachable for a moment")
        applied.append(message.text)
        return receive(message, now)

    monkeypatch.setattr(conversations, "receive", flaky)
    batches: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        batches.append(event)
        return app.handle_inbound(event, context)

    # When the consumer polls: the batch holds both, the first fails
    assert poll_once(handler, "handle_inbound", url, 10, wait_s=0) == 2
    # Then neither took effect, and neither was deleted (the second was not applied ahead of the first)
    assert applied == [] and tickets.by_zalo(user) == []
    # When their visibility timeout ends (simulated) and SQS redelivers them
    for record in batches[0]["Records"]:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0)
    assert poll_once(handler, "handle_inbound", url, 10, wait_s=0) == 2
    # Then they were applied in the order sent: the first opened the ticket, the second joined it
    assert applied == [first.text, second.text]
    (ticket,) = tickets.by_zalo(user)
    assert ticket.text == first.text
    timeline = tickets.timeline(ticket.tracking_code)
    assert [e.detail["text"] for e in timeline if e.kind == "message_in"] == [second.text]
    # And the local driver deleted them once handled, as Lambda does
    assert poll_once(handler, "handle_inbound", url, 10, wait_s=0) == 0
