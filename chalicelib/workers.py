"""SQS batch handling shared by the consumers: one failed record is retried alone (partial batch)."""
from __future__ import annotations

from typing import Any

from chalicelib.observability import logger


def route_batch(event: Any) -> dict[str, Any]:
    """Routes each record of a Chalice SQSEvent; returns {'batchItemFailures': [...]} for Lambda.

    A record that fails is reported, so only it goes back to the queue (and after
    maxReceiveCount to the DLQ); the others are done.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from chalicelib import queues
    from chalicelib.services import routing

    def handle(record: Any) -> str:
        return routing.route(queues.parse_routing(record.body))

    try:
        return process_partial_response(event=event.to_dict(), record_handler=handle,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=event.context)
    except Exception as exc:
        # Every record failed: report them all so each is retried and can reach the DLQ.
        logger().warning("routing batch failed", extra={"error_type": type(exc).__name__})
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event.to_dict()["Records"]]}
