"""Messages to the SQS queues (routing now; notifications later). Bodies are ids only, never personal data."""
from __future__ import annotations

import json

from chalicelib import aws
from chalicelib.config import settings


def send_routing(tracking_code: str) -> None:
    """Asks the routing consumer to route the ticket. Raises botocore errors to the caller."""
    aws.client("sqs").send_message(
        QueueUrl=settings().routing_queue_url,
        MessageBody=json.dumps({"type": "ticket.created", "tracking_code": tracking_code}),
    )


def parse_routing(body: str) -> str:
    """Returns the tracking code in a routing message; raises ValueError for anything else."""
    message = json.loads(body)
    if not isinstance(message, dict) or not isinstance(message.get("tracking_code"), str):
        raise ValueError("routing message without tracking_code")
    return message["tracking_code"]
