"""SQS batch handling for the consumers: only the failed records are reported back
(ReportBatchItemFailures), so SQS retries just those and moves a poison message to the DLQ after
maxReceiveCount. On the standard queues each record succeeds or fails on its own; on the inbound
FIFO queue a failure also fails the later records of its message group (see inbound_batch)."""
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
    """Handles each citizen message (threading, tickets, replies) of a FIFO batch, in order.

    A failed record fails the later records of its message group (one sender) with it (Powertools'
    SqsFifoPartialProcessor, skip_group_on_error), so SQS redelivers them in their original order and
    one citizen's second message is never applied before their first (it could otherwise open a
    ticket of its own). Other citizens' records go on: a poison message must not take a stranger's
    message to the DLQ with it (each failed receive counts towards maxReceiveCount).
    """
    from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

    from chalicelib import queues
    from chalicelib.services import conversations

    def handle(record: Any) -> None:
        try:
            conversations.receive(queues.parse_inbound(record.body))
        except Exception as exc:
            logger().warning("record failed", extra={"error_type": type(exc).__name__})
            raise

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A batch whose records all failed is reported like any other (not raised as a Lambda error):
    # SQS redelivers them all the same, and poison messages reach the DLQ, which has its alarm.
    processor.raise_on_entire_batch_failure = False
    return process_partial_response(event=event.to_dict(), record_handler=handle, processor=processor,
                                    context=event.context)
