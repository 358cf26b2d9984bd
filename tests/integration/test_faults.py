"""Faults by design, on the emulator, through the handler objects Chalice deploys:

- a worker dies after its DynamoDB writes and before SQS deletes the message: when the message's
  visibility runs out SQS hands out the very same record again, and that changes nothing;
- a provider, SES or SNS is down for an hour and then back: the reply still goes out, once. Time
  is driven through `now` along the schedule the notifier asks SQS for (RetryLater's delays);
- a poison message: its queue's own redrive policy moves it to the DLQ after maxReceiveCount
  receives, that DLQ has an alarm, and the rest of its batch went through on the first pass.
"""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import pytest

import app
from chalicelib import aws, queues
from chalicelib.config import settings
from chalicelib.domain.messages import InboundMessage
from chalicelib.domain.reports import validate_submission
from chalicelib.services import delivery, intake, routing
from chalicelib.store import outbound, tickets
from chalicelib.store.reference import load_reference
from devstack.worker import LambdaContext, sqs_event
from tests.conftest import ROOT, drain, unique_phone
from tests.integration.test_channels import pump, sent_to
from tests.integration.test_routing_workers import _ses

HANDLERS = {"inbound": (app.handle_inbound, "handle_inbound"), "routing": (app.route_tickets, "route_tickets"),
            "notifications": (app.send_notifications, "send_notifications")}


def _url(queue: str) -> str:
    return {"inbound": settings().inbound_queue_url, "routing": settings().routing_queue_url,
            "notifications": settings().notifications_queue_url}[queue]


@pytest.fixture(autouse=True)
def _empty_queues(stack: Any, providers: Any, sqs: Any) -> None:
    for queue in HANDLERS:
        drain(sqs, _url(queue))


def _receive(sqs: Any, queue: str) -> list[dict[str, Any]]:
    return sqs.receive_message(QueueUrl=_url(queue), MaxNumberOfMessages=10, WaitTimeSeconds=0,
                               AttributeNames=["All"]).get("Messages", [])


def _handle(sqs: Any, queue: str, messages: list[dict[str, Any]]) -> set[str]:
    """Runs the queue's deployed handler on received messages, as Lambda would; returns the ids
    of the records it reported failed. Deletes nothing."""
    handler, name = HANDLERS[queue]
    arn = sqs.get_queue_attributes(QueueUrl=_url(queue), AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    result = handler(sqs_event(messages, arn), LambdaContext(name))
    return {failure["itemIdentifier"] for failure in result["batchItemFailures"]}


def _visibility_runs_out(sqs: Any, queue: str, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        sqs.change_message_visibility(QueueUrl=_url(queue), ReceiptHandle=message["ReceiptHandle"],
                                      VisibilityTimeout=0)


def _delete(sqs: Any, queue: str, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        sqs.delete_message(QueueUrl=_url(queue), ReceiptHandle=message["ReceiptHandle"])


def _crash_then_redeliver(sqs: Any, queue: str) -> None:
    """The consumer handles the queue's one message and dies before the delete; the visibility
    runs out, SQS hands out the same record, and this time the consumer finishes."""
    (first,) = _receive(sqs, queue)
    assert _handle(sqs, queue, [first]) == set()
    _visibility_runs_out(sqs, queue, [first])
    (again,) = _receive(sqs, queue)
    assert (again["MessageId"], again["Attributes"]["ApproximateReceiveCount"]) == (first["MessageId"], "2")
    assert _handle(sqs, queue, [again]) == set()
    _delete(sqs, queue, [again])


def _sms(phone: str, text: str) -> InboundMessage:
    return InboundMessage(channel="sms", provider="android_gateway", provider_message_id=uuid.uuid4().hex,
                          sender=phone, text=text, received_at=datetime.now(timezone.utc),
                          reply_via="android_gateway:phone-1")


def _texts(code: str) -> list[str]:
    return [e.detail["text"] for e in tickets.timeline(code) if e.kind in ("created", "message_in")]


def _sweep(at: datetime) -> None:
    """The scheduled sweeper's runs at `at`: the first may start where an earlier run's cursor
    stopped, the second starts again from the front of the unrouted tickets."""
    for _ in range(2):
        routing.requeue_unrouted(at, page_size=1000)
    delivery.requeue_stale(at, page_size=1000)


# A worker dies between its writes and SQS's delete


def test_an_inbound_message_redelivered_after_a_crash_makes_one_ticket_one_message_one_ack(
        providers: Any, sqs: Any) -> None:
    # Given a citizen's SMS on the inbound queue
    phone = "+84" + unique_phone()[1:]
    queues.send_inbound(_sms(phone, "Cống thoát nước trước chợ bị tắc"))
    # When the consumer stores it, dies before the delete, and SQS hands it out again
    _crash_then_redeliver(sqs, "inbound")
    pump(max_rounds=200)
    # Then the citizen has one ticket holding the message once, and one acknowledgement
    (ticket,) = tickets.by_phone(phone)
    assert _texts(ticket.tracking_code) == ["Cống thoát nước trước chợ bị tắc"]
    (ack,) = sent_to(providers, phone)
    assert ticket.tracking_code in ack


def test_a_crash_between_storing_a_message_and_queueing_its_routing_is_finished_by_the_sweeper(
        providers: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a citizen's SMS, and a consumer that dies right after the ticket's transaction
    phone = "+84" + unique_phone()[1:]
    queues.send_inbound(_sms(phone, "Đèn đường khu phố 4 tắt cả tuần"))
    send_routing = queues.send_routing

    def died(*_: Any, **__: Any) -> None:
        raise TimeoutError("Lambda timed out")

    monkeypatch.setattr(queues, "send_routing", died)
    (first,) = _receive(sqs, "inbound")
    assert _handle(sqs, "inbound", [first]) == {first["MessageId"]}
    monkeypatch.setattr(queues, "send_routing", send_routing)
    # When SQS redelivers it: the message is stored already, so the redelivery writes nothing
    _visibility_runs_out(sqs, "inbound", [first])
    (again,) = _receive(sqs, "inbound")
    assert _handle(sqs, "inbound", [again]) == set()
    _delete(sqs, "inbound", [again])
    (ticket,) = tickets.by_phone(phone)
    assert (ticket.status, sent_to(providers, phone)) == ("received", [])
    # And the sweeper's next runs find the unrouted ticket and its waiting acknowledgement
    _sweep(datetime.now(timezone.utc) + delivery.STALE_PENDING + timedelta(minutes=1))
    pump(max_rounds=200)
    # Then it is routed, and the citizen got one acknowledgement, with one copy of the message stored
    assert tickets.get_ticket(ticket.tracking_code).status == "assigned"
    assert _texts(ticket.tracking_code) == ["Đèn đường khu phố 4 tắt cả tuần"]
    (ack,) = sent_to(providers, phone)
    assert ticket.tracking_code in ack


def test_a_routing_message_redelivered_after_a_crash_routes_once_and_notifies_the_agency_once(
        sqs: Any) -> None:
    # Given a web report on the routing queue
    raw = {"description": "Cây đổ chắn ngang đường, chưa ai dọn", "phone": unique_phone(),
           "category": "giao-thong", "area": "long-hoa"}
    code = intake.submit(validate_submission(raw, load_reference()))["tracking_code"]
    # When the router routes it, dies before the delete, and SQS hands it out again
    _crash_then_redeliver(sqs, "routing")
    pump(max_rounds=200)
    # Then it was routed once, and the agency got one e-mail about it
    assert [e.kind for e in tickets.timeline(code)].count("routed") == 1
    (notice,) = [m for m in outbound.of_ticket(code) if m.kind == "assigned"]
    assert notice.state == "sent"
    assert len([m for m in _ses(notice.recipient) if code in m.subject]) == 1


def test_a_notification_redelivered_after_a_crash_is_sent_once(providers: Any, sqs: Any) -> None:
    # Given a reply to a citizen on the notifications queue
    phone = "+84" + unique_phone()[1:]
    reply = outbound.add_unattached(outbound.new_outbound(
        "reply", "sms", "android_gateway", phone, "Da khac phuc xong", datetime.now(timezone.utc),
        automated=False), f"OUTBOX#faults-{uuid.uuid4().hex}")
    queues.send_notifications([(reply.pk, reply.sk)])
    # When the notifier sends it and records it sent, dies before the delete, and SQS hands it out again
    _crash_then_redeliver(sqs, "notifications")
    # Then the citizen got it once
    assert sent_to(providers, phone) == ["Da khac phuc xong"]
    assert outbound.get_outbound(reply.pk, reply.sk).state == "sent"


def test_a_follow_up_that_changes_the_ticket_while_it_is_routed_does_not_leave_it_unrouted(
        providers: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a citizen's first SMS, stored, and its routing message on the queue
    phone = "+84" + unique_phone()[1:]
    queues.send_inbound(_sms(phone, "Nước sinh hoạt khu phố 2 bị đục"))
    (message,) = _receive(sqs, "inbound")
    assert _handle(sqs, "inbound", [message]) == set()
    _delete(sqs, "inbound", [message])
    (ticket,) = tickets.by_phone(phone)
    # When the citizen's second SMS joins the ticket between the router's read and its write
    read = tickets.get_ticket
    joined: list[str] = []

    def read_then_follow_up(code: str) -> Any:
        seen = read(code)
        if not joined:
            joined.append(code)
            tickets.append_message(read(code), tickets.NewEvent(kind="message_in", actor="citizen:sms",
                                                          at=datetime.now(timezone.utc),
                                                          detail={"text": "Bổ sung: đã ba ngày rồi"}),
                                   f"in#android_gateway#{uuid.uuid4().hex}", datetime.now(timezone.utc))
        return seen  # the copy from before the follow-up

    monkeypatch.setattr(tickets, "get_ticket", read_then_follow_up)
    (routing_message,) = _receive(sqs, "routing")
    assert _handle(sqs, "routing", [routing_message]) == set()
    # Then the ticket is routed anyway (read again), with both messages on it
    monkeypatch.setattr(tickets, "get_ticket", read)
    assert joined == [ticket.tracking_code]
    assert tickets.get_ticket(ticket.tracking_code).status == "assigned"
    assert _texts(ticket.tracking_code) == ["Nước sinh hoạt khu phố 2 bị đục", "Bổ sung: đã ba ngày rồi"]


def test_a_follow_up_whose_ticket_is_routed_meanwhile_is_stored_without_waiting_for_a_redelivery(
        providers: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a citizen's first SMS, stored and not yet routed
    phone = "+84" + unique_phone()[1:]
    queues.send_inbound(_sms(phone, "Rác thải đổ trộm ở bờ kênh"))
    (first,) = _receive(sqs, "inbound")
    assert _handle(sqs, "inbound", [first]) == set()
    _delete(sqs, "inbound", [first])
    # When their next SMS is handled while the router routes the ticket between the read and the write
    history, routed = tickets.by_phone, []

    def read_then_routed(sender: str, limit: int = 20) -> Any:
        found = history(sender, limit)
        if not routed:
            routed.append(routing.route(found[0].tracking_code))
        return found

    monkeypatch.setattr(tickets, "by_phone", read_then_routed)
    queues.send_inbound(_sms(phone, "Bổ sung: cả tuần nay"))
    (second,) = _receive(sqs, "inbound")
    # Then it is stored on the ticket at once (read again), not after SQS's visibility timeout
    assert _handle(sqs, "inbound", [second]) == set()
    monkeypatch.setattr(tickets, "by_phone", history)
    (ticket,) = tickets.by_phone(phone)
    assert routed == ["assigned"]
    assert _texts(ticket.tracking_code) == ["Rác thải đổ trộm ở bờ kênh", "Bổ sung: cả tuần nay"]


# A provider, SES or SNS down for an hour


@contextmanager
def _aws_down(service: str, operation: str, code: str) -> Iterator[Callable[[bool], None]]:
    """While the yielded switch is on, the shared client's `operation` fails as AWS fails it."""
    down = [False]

    def refuse(**_: Any) -> Any:
        if not down[0]:
            return None
        from botocore.awsrequest import AWSResponse

        parsed = {"Error": {"Code": code, "Message": "injected outage"},
                  "ResponseMetadata": {"HTTPStatusCode": 503, "HTTPHeaders": {}}}
        return AWSResponse("https://injected.invalid/", 503, {}, None), parsed

    events = aws.client(service).meta.events
    events.register(f"before-call.{service}.{operation}", refuse, unique_id=f"outage-{service}")
    try:
        yield lambda on: down.__setitem__(0, on)
    finally:
        events.unregister(f"before-call.{service}.{operation}", unique_id=f"outage-{service}")


@contextmanager
def _provider_down(providers: Any, kind: str) -> Iterator[Callable[[bool], None]]:
    """While the yielded switch is on, every send to the fake providers fails as `kind` says."""
    hang = providers.state.faults.hang_s
    providers.state.faults.hang_s = 0.05  # an unanswered request: the sender sees it dropped
    try:
        yield lambda on: setattr(providers.state.faults, "down", kind if on else None)
    finally:
        providers.state.faults.down, providers.state.faults.hang_s = None, hang


OUTAGES = {  # what goes down -> (channel, provider, recipient, how it fails)
    "zalo-5xx": ("zalo", "zalo", lambda: f"z{uuid.uuid4().int % 10**15}", "5xx"),
    "android-gateway-timeouts": ("sms", "android_gateway", lambda: "+84" + unique_phone()[1:], "timeout"),
    "esms-rate-limited": ("sms", "esms", lambda: "+84" + unique_phone()[1:], "rate_limit"),
    "ses": ("email", "ses", lambda: f"canbo-{uuid.uuid4().hex[:8]}@example.gov.vn", ("SendEmail", "ServiceUnavailable")),
    "sns": ("sms", "sns", lambda: "+84" + unique_phone()[1:], ("Publish", "InternalError")),
}


def _outage(providers: Any, provider: str, how: Any) -> Any:
    if isinstance(how, tuple):
        return _aws_down(provider, *how)
    return _provider_down(providers, how)


def _received_by(providers: Any, provider: str, recipient: str) -> int:
    if provider == "ses":
        return len(_ses(recipient))
    if provider == "sns":
        from tests.integration.test_routing_workers import _sns

        return len(_sns(recipient))
    return len(sent_to(providers, recipient))


def _deliver_along_the_schedule(message: Any, start: datetime, outage: timedelta,
                                switch: Callable[[bool], None]) -> tuple[str, datetime]:
    """Delivers `message` as SQS redelivers it after each RetryLater, with the clock at each
    attempt's time, the outage lasting `outage` from `start`; returns (final state, time)."""
    now = start
    for _ in range(settings().notify_max_attempts):
        switch(now < start + outage)
        try:
            return delivery.deliver(message.pk, message.sk, now=now), now
        except delivery.RetryLater as retry:
            now += timedelta(seconds=retry.delay_s)
    raise AssertionError("more attempts than the notifier makes")


@pytest.mark.parametrize("outage", OUTAGES, ids=list(OUTAGES))
def test_an_hour_long_outage_then_recovery_still_delivers_the_reply_once(providers: Any, outage: str) -> None:
    # Given a reply waiting to go out by a provider (or SES / SNS) that is about to go down
    channel, provider, recipient_for, how = OUTAGES[outage]
    recipient, start = recipient_for(), datetime.now(timezone.utc)
    message = outbound.add_unattached(outbound.new_outbound("reply", channel, provider, recipient, "Ket qua xu ly",
                                                            start, automated=False),
                                      f"OUTBOX#faults-{uuid.uuid4().hex}")
    # When it is down for an hour and then back
    with _outage(providers, provider, how) as switch:
        state, sent_at = _deliver_along_the_schedule(message, start, timedelta(hours=1), switch)
    # Then the reply went out after the recovery, exactly once, and no later than an hour after it
    assert state == "sent"
    assert start + timedelta(hours=1) <= sent_at <= start + timedelta(hours=2)
    assert _received_by(providers, provider, recipient) == 1
    assert delivery.deliver(message.pk, message.sk, now=sent_at + timedelta(minutes=5)) == "skipped"
    assert _received_by(providers, provider, recipient) == 1


def test_an_outage_longer_than_the_retry_schedule_gives_the_reply_up_for_operators(providers: Any) -> None:
    # Given a reply, and an SMS gateway that stays down for the whole retry schedule and longer
    phone, start = "+84" + unique_phone()[1:], datetime.now(timezone.utc)
    message = outbound.add_unattached(outbound.new_outbound("reply", "sms", "android_gateway", phone, "Ket qua",
                                                            start, automated=False),
                                      f"OUTBOX#faults-{uuid.uuid4().hex}")
    with _provider_down(providers, "5xx") as switch:
        state, given_up_at = _deliver_along_the_schedule(message, start, timedelta(days=1), switch)
    # Then after the last attempt it is dead (the OutboundDead alarm), never sent, with why
    stored = outbound.get_outbound(message.pk, message.sk)
    assert (state, stored.state, stored.attempts) == ("dead", "dead", settings().notify_max_attempts)
    assert stored.last_error == "android_gateway HTTP 503"
    assert given_up_at - start > timedelta(hours=2)
    assert sent_to(providers, phone) == []


# A poison message


def _template() -> tuple[dict[str, Any], dict[str, Any]]:
    resources = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))["Resources"]
    alarms = json.loads((ROOT / "infra" / "alarms.json").read_text(encoding="utf-8"))
    return resources, alarms.get("Resources", alarms)


def _redrive(queue_logical_id: str) -> tuple[str, int]:
    """The queue's DLQ (logical id) and maxReceiveCount, from infra/resources.json."""
    resources, _ = _template()
    policy = resources[queue_logical_id]["Properties"]["RedrivePolicy"]
    return policy["deadLetterTargetArn"]["Fn::GetAtt"][0], int(policy["maxReceiveCount"])


def _alarms_on(dlq_logical_id: str) -> list[dict[str, Any]]:
    """Alarms that fire as soon as one message is visible in the DLQ, and notify someone."""
    _, alarms = _template()
    return [spec["Properties"] for spec in alarms.values() if spec.get("Type") == "AWS::CloudWatch::Alarm"
            and spec["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_logical_id, "QueueName"]}}
            in spec["Properties"].get("Dimensions", [])
            and spec["Properties"].get("Threshold") == 0
            and spec["Properties"].get("ComparisonOperator") == "GreaterThanThreshold"
            and spec["Properties"].get("AlarmActions")]


def _send_raw(sqs: Any, queue: str, body: str) -> None:
    fifo = {"MessageGroupId": uuid.uuid4().hex, "MessageDeduplicationId": uuid.uuid4().hex} if queue == "inbound" else {}
    sqs.send_message(QueueUrl=_url(queue), MessageBody=body, **fifo)


def _good_messages(queue: str) -> tuple[Callable[[], None], Callable[[], bool]]:
    """Sends one good message to `queue`; returns a check that its effect is there."""
    if queue == "inbound":
        phone = "+84" + unique_phone()[1:]
        return (lambda: queues.send_inbound(_sms(phone, "Đường ngập sau mưa lớn")),
                lambda: len(tickets.by_phone(phone)) == 1)
    if queue == "routing":
        raw = {"description": "Đèn đường tắt cả tuần", "phone": unique_phone(), "category": "chieu-sang",
               "area": "long-hoa"}
        code = intake.submit(validate_submission(raw, load_reference()))["tracking_code"]
        return lambda: None, lambda: tickets.get_ticket(code).status == "assigned"
    phone = "+84" + unique_phone()[1:]
    reply = outbound.add_unattached(outbound.new_outbound("reply", "sms", "android_gateway", phone, "Da xu ly",
                                                          datetime.now(timezone.utc), automated=False),
                                    f"OUTBOX#faults-{uuid.uuid4().hex}")
    return (lambda: queues.send_notifications([(reply.pk, reply.sk)]),
            lambda: outbound.get_outbound(reply.pk, reply.sk).state == "sent")


@pytest.mark.parametrize("queue, logical_id", [("inbound", "InboundQueue"), ("routing", "RoutingQueue"),
                                               ("notifications", "NotificationsQueue")])
def test_a_poison_message_ends_in_its_dlq_with_an_alarm_and_its_batch_goes_through(
        stack: Any, sqs: Any, queue: str, logical_id: str) -> None:
    dlq_logical_id, max_receives = _redrive(logical_id)
    dlq = stack.resources[dlq_logical_id]
    drain(sqs, dlq)
    # Given a batch with a good message, a poison message and another good message
    send_before, done_before = _good_messages(queue)
    send_before()
    _send_raw(sqs, queue, "{not json")
    send_after, done_after = _good_messages(queue)
    send_after()
    # When the consumer gets them, and SQS redelivers whatever fails, until nothing is left
    rounds, failures = 0, 0
    while batch := _receive(sqs, queue):
        rounds += 1
        failed = _handle(sqs, queue, batch)
        failures += len(failed)
        if rounds == 1:
            # Then the rest of the batch went through on the first pass
            assert len(batch) == 3 and len(failed) == 1
            assert done_before() and done_after()
        _delete(sqs, queue, [m for m in batch if m["MessageId"] not in failed])
        _visibility_runs_out(sqs, queue, [m for m in batch if m["MessageId"] in failed])
        assert rounds <= max_receives
    # And the poison message failed maxReceiveCount times, then its queue's redrive moved it to the DLQ
    assert failures == max_receives
    assert [m["Body"] for m in drain_raw(sqs, dlq)] == ["{not json"]
    # And that DLQ has an alarm
    assert len(_alarms_on(dlq_logical_id)) == 1


def drain_raw(sqs: Any, url: str) -> list[dict[str, Any]]:
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        found += messages
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found
