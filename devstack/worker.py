"""Runs the app's SQS consumers and schedules in-process: the local stand-in for Lambda's pollers.

It drives the very handler objects Chalice deploys (`app.route_tickets(event, context)`), built
from `app.event_sources`, so a new `@app.on_sqs_message` or `@app.schedule` runs here unchanged.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

from devstack.emulator import queue_for_handler


class LambdaContext:
    """The attributes of a Lambda context that Chalice and Powertools read."""

    def __init__(self, function_name: str, timeout_s: int = 30) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:ap-southeast-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Returns the Lambda SQS event for received messages (real ids and receipt handles)."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": "ap-southeast-1"} for m in messages]}


def scheduled_event(rule: str, at: datetime | None = None) -> dict[str, Any]:
    """EventBridge's scheduled event; `time` (what the handlers take as `now`) is `at`, default now."""
    at = at or datetime.now(timezone.utc)
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "ap-southeast-1", "resources": [f"arn:aws:events:ap-southeast-1:123456789012:rule/{rule}"],
            "detail": {}}


@lru_cache(maxsize=None)
def _sqs(endpoint: str | None) -> Any:
    import boto3

    return boto3.client("sqs")  # one per emulator (a bench starts several in turn)


@lru_cache(maxsize=None)
def _queue_arn(queue_url: str) -> str:
    # once per queue: the emulator counts every message of the queue to answer this
    sqs = _sqs(os.environ.get("AWS_ENDPOINT_URL"))
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def poll_once(handler: Callable[..., Any], name: str, queue_url: str, batch_size: int, wait_s: int = 1) -> int:
    """Receives one batch, invokes the handler, deletes what it did not report as failed; returns count."""
    sqs = _sqs(os.environ.get("AWS_ENDPOINT_URL"))
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(batch_size, 10),
                                   WaitTimeSeconds=wait_s, AttributeNames=["All"]).get("Messages", [])
    if not received:
        return 0
    arn = _queue_arn(queue_url)
    try:
        result = handler(sqs_event(received, arn), LambdaContext(name)) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    except Exception:  # like Lambda: an exception fails the whole batch, which SQS redelivers
        failed = {m["MessageId"] for m in received}
    done = [m for m in received if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
    return len(received)


def _period_seconds(expression: Any) -> float | None:
    text = expression if isinstance(expression, str) else expression.to_string()
    if text.startswith("rate("):
        value, unit = text[5:-1].split()
        return int(value) * {"minute": 60, "hour": 3600, "day": 86400}[unit.rstrip("s")]
    return None


def _cron_matches(expression: Any, now: datetime) -> bool:
    """Matches AWS cron(min hour dom month dow year) in UTC for plain values, lists and '*'/'?'."""
    text = expression if isinstance(expression, str) else expression.to_string()
    fields = text[5:-1].split()
    aws_dow = now.isoweekday() % 7 + 1  # AWS: 1 = Sunday
    values = [now.minute, now.hour, now.day, now.month, aws_dow, now.year]
    return all(f in ("*", "?") or v in {int(x) for x in f.split(",")} for f, v in zip(fields, values))


class Worker:
    """Background threads: `pollers` per SQS handler (Lambda runs several invocations of a consumer
    at once; `make run` needs one), one ticker per schedule. Thread names start `local-<handler>`.
    Schedules fire and are sent their events at `clock()` (devstack/clock.py moves it; default the
    real time); `runs` holds each schedule's last run (when, what it returned or raised)."""

    def __init__(self, app_module: Any, resources: dict[str, str], log: Callable[[str], None] = print,
                 pollers: int = 1, clock: Callable[[], datetime] | None = None) -> None:
        self._app = app_module
        self._resources = resources
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._log = log
        self._pollers = pollers
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.runs: dict[str, tuple[datetime, str]] = {}

    def schedules(self) -> list[tuple[str, str]]:
        """(handler name, schedule expression) of every schedule of the app, in its order."""
        return [(s.name, s.schedule_expression if isinstance(s.schedule_expression, str)
                 else s.schedule_expression.to_string())
                for s in self._app.app.event_sources if type(s).__name__ == "ScheduledEventConfig"]

    def run_now(self, name: str) -> Any:
        """Runs schedule `name` once, now, with the clock's time in its event; returns what it returned
        (or the error's type, as Lambda would report a failed run). Raises KeyError for no such schedule."""
        if name not in dict(self.schedules()):
            raise KeyError(name)
        at = self._clock()
        try:
            outcome: Any = getattr(self._app, name)(scheduled_event(name, at), LambdaContext(name, timeout_s=300))
        except Exception as exc:  # shown on the page, as the function's error would be in its log
            outcome = f"lỗi {type(exc).__name__}"
        self.runs[name] = (at, str(outcome))
        return outcome

    def start(self) -> None:
        for source in self._app.app.event_sources:
            kind = type(source).__name__
            if kind == "SQSEventConfig":
                target, count = self._poll_forever, self._pollers
            elif kind == "ScheduledEventConfig":
                target, count = self._tick_forever, 1
            else:
                continue
            for n in range(count):
                thread = threading.Thread(target=target, args=(source,), daemon=True,
                                          name=f"local-{source.name}" + (f"-{n}" if n else ""))
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _poll_forever(self, source: Any) -> None:
        handler = getattr(self._app, source.name)
        queue_url = queue_for_handler(source.name, self._resources)
        while not self._stop.is_set():
            try:
                poll_once(handler, source.name, queue_url, source.batch_size)
            except Exception as exc:  # keep the local loop alive, as Lambda's poller would
                self._log(f"[worker] {source.name}: {type(exc).__name__}")
                self._stop.wait(1)

    def _tick_forever(self, source: Any) -> None:
        handler = getattr(self._app, source.name)
        period = _period_seconds(source.schedule_expression)
        last_minute = None
        next_run = time.monotonic() + (period or 0)
        while not self._stop.wait(1):
            at = self._clock()
            now = at.replace(second=0, microsecond=0)
            due = (time.monotonic() >= next_run) if period else (
                now != last_minute and _cron_matches(source.schedule_expression, now))
            if not due:
                continue
            last_minute, next_run = now, time.monotonic() + (period or 0)
            try:
                self.runs[source.name] = (at, str(handler(scheduled_event(source.name, at), LambdaContext(source.name))))
            except Exception as exc:
                self.runs[source.name] = (at, f"lỗi {type(exc).__name__}")
                self._log(f"[worker] {source.name}: {type(exc).__name__}")

