"""SQS batch handling for the consumers: each record succeeds or fails on its own, and only the
failed ones are reported back (ReportBatchItemFailures), so SQS retries just those and moves a
poison message to the DLQ after maxReceiveCount."""
from __future__ import annotations

from typing import Any, Callable

from chalicelib.observability import logger


def _each(event: Any, handle: Callable[[Any], Any]) -> dict[str, Any]:
    failures = []
    for record in event:
        try:
            handle(record)
        except Exception as exc:  # one bad record must not hold back the others
            logger().warning("record failed", extra={"error_type": type(exc).__name__})
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}


def route_batch(event: Any) -> dict[str, Any]:
    """Routes each ticket of a Chalice SQSEvent, after releasing its pending notifications."""
    from chalicelib import queues
    from chalicelib.services import routing

    def handle(record: Any) -> None:
        code, notify = queues.parse_routing(record.body)
        if notify:
            # Released before routing: a retry re-sends them, and the notifier skips what it already sent.
            queues.send_notifications(notify)
        routing.route(code)

    return _each(event, handle)


def notify_batch(event: Any) -> dict[str, Any]:
    """Delivers each outbound message; a transient failure is retried after a backoff set on that
    one message's visibility."""
    from chalicelib import aws, queues
    from chalicelib.config import settings
    from chalicelib.services import delivery

    def handle(record: Any) -> None:
        try:
            delivery.deliver(*queues.parse_notification(record.body))
        except delivery.RetryLater as retry:
            aws.client("sqs").change_message_visibility(QueueUrl=settings().notifications_queue_url,
                                                        ReceiptHandle=record.receipt_handle,
                                                        VisibilityTimeout=retry.delay_s)
            raise

    return _each(event, handle)


def inbound_batch(event: Any) -> dict[str, Any]:
    """Handles each citizen message (threading, tickets, replies)."""
    from chalicelib import queues
    from chalicelib.services import conversations

    return _each(event, lambda record: conversations.receive(queues.parse_inbound(record.body)))
