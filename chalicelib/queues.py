"""Messages to the SQS queues. Routing and notification bodies carry ids only; the inbound queue
carries the citizen's message itself (SSE-encrypted, never logged) so webhooks answer fast."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.domain.messages import InboundMessage


def send_routing(tracking_code: str, notify: Iterable[tuple[str, str]] = ()) -> None:
    """Asks the routing consumer to route the ticket and then release its pending notifications
    (keys of outbound items), so intake needs one message, not two. Raises botocore errors."""
    aws.client("sqs").send_message(QueueUrl=settings().routing_queue_url, MessageBody=json.dumps(
        {"type": "ticket.created", "tracking_code": tracking_code, "notify": [list(key) for key in notify]}))


def parse_routing(body: str) -> tuple[str, list[tuple[str, str]]]:
    """Returns (tracking code, notification keys) of a routing message; raises ValueError otherwise."""
    message = json.loads(body)
    if not isinstance(message, dict) or not isinstance(message.get("tracking_code"), str):
        raise ValueError("routing message without tracking_code")
    return message["tracking_code"], [(str(pk), str(sk)) for pk, sk in message.get("notify", [])]


def send_notifications(keys: Iterable[tuple[str, str]]) -> None:
    """Queues outbound messages (by item key) for the notifier. Raises botocore errors."""
    entries = [{"Id": str(i), "MessageBody": json.dumps({"pk": pk, "sk": sk})} for i, (pk, sk) in enumerate(keys)]
    for start in range(0, len(entries), 10):
        answer = aws.client("sqs").send_message_batch(QueueUrl=settings().notifications_queue_url,
                                                      Entries=entries[start:start + 10])
        if answer.get("Failed"):
            raise RuntimeError(f"{len(answer['Failed'])} notifications not queued")


def parse_notification(body: str) -> tuple[str, str]:
    message = json.loads(body)
    return str(message["pk"]), str(message["sk"])


def send_inbound(message: InboundMessage) -> None:
    """Hands a verified provider message to the inbound consumer. Raises botocore errors.

    The queue is FIFO, grouped by sender: one citizen's messages are handled one after another
    (so two quick messages thread into one ticket instead of racing to open two), and a provider's
    redelivery within five minutes is dropped by SQS itself (deduplication on the provider id).
    """
    dedup = hashlib.sha256(message.dedup_key.encode()).hexdigest()
    group = hashlib.sha256(f"{message.channel}:{message.sender}".encode()).hexdigest()  # no phone in SQS metadata
    aws.client("sqs").send_message(QueueUrl=settings().inbound_queue_url, MessageBody=json.dumps(message.to_json()),
                                   MessageGroupId=group, MessageDeduplicationId=dedup)


def parse_inbound(body: str) -> InboundMessage:
    data: Any = json.loads(body)
    return InboundMessage.from_json(data)
