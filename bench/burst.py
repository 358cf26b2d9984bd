"""`make soak`: a burst of signed citizen messages through the four SMS/Zalo webhooks while the
providers and AWS misbehave; then a count of what came out, into bench/results.json.

What it does, on a fresh local stack started as `make run` starts it (emulator, fake providers,
the app behind chalice local's HTTP server, the local worker polling the queues), except that the
emulator runs in a process of its own (the same patched moto server: the app and the emulator
then have a core each) and the worker runs `--pollers` consumers per queue (8), as Lambda runs
several batches of one consumer at once:
- sends `--messages` distinct messages (default 10,000) over Zalo OA, android-sms-gateway,
  SMSSync and eSMS, signed as each provider signs (devstack/sign.py), as fast as `--threads`
  client threads (16) can: distinct senders and texts, so most open a ticket; 12 % are a
  sender's follow-up. 10 % of the messages are delivered again 1-5 times with the same provider
  message id, as providers retry: at once, within a minute, or after SQS FIFO's 5-minute
  deduplication window (the consumer's own dedup marker must catch those);
- meanwhile the fake providers fail 10 % of sends (timeouts, 5xx, rate limits: devstack/fakes.py
  Faults) and a botocore hook throttles 10 % of the DynamoDB and SQS requests the three consumers
  make (never the webhooks', nor this script's checks), answering them as AWS answers a throttled
  request. The clients' own retries run as on AWS (botocore's standard mode); what is left
  reaches the app. `--throttle-at call` fails the call itself instead (much harsher);
- a simulated SMSSync phone polls for its replies and confirms them, as the app expects;
- waits until every queue is empty, no reply is pending and no ticket is unrouted (the sweeper
  runs every 5 minutes, as scheduled);
- counts, with the app's own index queries (no Scan; the bench counts any): each sender's
  tickets and their timelines (each distinct message must be stored exactly once), each ticket's
  acknowledgements as the citizen received them (the fakes' outbox and the phone's), the DLQs.

Usage: python -m bench.burst [--messages 10000] [--threads 16] [--pollers 8] [--fault-rate 0.1]
       [--throttle-rate 0.1] [--throttle-at wire|call] [--seed 1022] [--give-up-minutes 45] [--no-write]
"""
from __future__ import annotations

import argparse
import heapq
import http.client
import itertools
import json
import logging
import os
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import urlencode, urlsplit

from bench import ROOT

STACK_NAME = "hotline1022-burst"
PROVIDERS = ("zalo", "android_gateway", "smssync", "esms")
CONSUMERS = ("route_tickets", "handle_inbound", "send_notifications")
QUEUES = {"routing": ("RoutingQueue", "RoutingDLQ"), "inbound": ("InboundQueue", "InboundDLQ"),
          "notifications": ("NotificationsQueue", "NotificationsDLQ")}
FOLLOW_UP_SHARE = 0.12   # of the distinct messages: a second message from a sender who already wrote
REPEAT_SHARE = 0.10      # of the distinct messages: delivered again 1..MAX_REPEATS times
MAX_REPEATS = 5
# When a repeat is sent after the original: at once, within a minute, or past SQS FIFO's
# 5-minute deduplication window (and inside every provider's replay window).
REPEAT_DELAYS_S = ((0.0, 1.0), (5.0, 60.0), (310.0, 400.0))
SMSSYNC_DEVICE = "phone-2"  # the device devstack/sign.py's SMSSync requests come from
PROBLEMS = (
    "Đường liên ấp {n} bị ngập sâu sau mưa, xe máy chết máy nhiều",
    "Đèn đường trên tuyến số {n} bị hỏng mấy hôm nay, ban đêm rất tối",
    "Rác thải đổ trộm ở bờ kênh gần nhà số {n}, bốc mùi hôi",
    "Cống thoát nước trước nhà số {n} bị tắc, nước tràn lên đường",
    "Nước sinh hoạt khu phố {n} bị đục và có mùi lạ",
    "Ổ gà lớn trên đường gần trường học, đoạn nhà số {n}",
)
FOLLOW_UPS = (
    "Bổ sung lần {n}: tình trạng vẫn chưa được khắc phục",
    "Thêm thông tin {n}: nhiều hộ dân xung quanh cũng bị ảnh hưởng",
)


# The plan: who sends what


@dataclass(frozen=True)
class Planned:
    n: int
    provider: str
    sender: str        # a phone (0913…) for SMS, a Zalo user id for Zalo
    text: str
    follow_up: bool
    repeats: int


def plan(count: int, seed: int) -> list[Planned]:
    """The distinct messages in sending order: every follow-up after its sender's first message."""
    draw = random.Random(seed)
    follow_ups = int(count * FOLLOW_UP_SHARE)
    firsts = count - follow_ups
    senders = []
    for n in range(firsts):
        provider = PROVIDERS[n % len(PROVIDERS)]
        senders.append((provider, f"3{n:017d}" if provider == "zalo" else f"0913{n:06d}"))
    repeated = set(draw.sample(range(count), int(count * REPEAT_SHARE)))

    def repeats(n: int) -> int:
        return draw.randint(1, MAX_REPEATS) if n in repeated else 0

    ranked = [(float(rank), Planned(n, provider, sender, PROBLEMS[n % len(PROBLEMS)].format(n=n + 1), False,
                                    repeats(n)))
              for rank, (n, (provider, sender)) in enumerate(draw.sample(list(enumerate(senders)), firsts))]
    rank_of = {planned.sender: rank for rank, planned in ranked}
    for n in range(firsts, count):
        provider, sender = senders[draw.randrange(firsts)]
        text = FOLLOW_UPS[n % len(FOLLOW_UPS)].format(n=n + 1)
        ranked.append((draw.uniform(rank_of[sender] + 0.5, firsts), Planned(n, provider, sender, text, True,
                                                                           repeats(n))))
    return [planned for _, planned in sorted(ranked, key=lambda pair: pair[0])]


# Sending: 16 client threads, a schedule for the repeats, and the provider's own retry on a 5xx


def _request(base: str, planned: Planned) -> Any:
    from devstack.sign import signed_requests

    phone = planned.sender if planned.provider != "zalo" else "0913999999"
    return next(r for r in signed_requests(base, phone, planned.text, zalo_user=planned.sender)
                if r.provider == planned.provider)


def _again(request: Any, attempt: int) -> tuple[dict[str, str], bytes]:
    """The headers and body of a provider's repeated delivery of `request`."""
    from chalicelib.channels import android_gateway
    from devstack.fakes import LOCAL_SECRETS

    headers = dict(request.headers)
    if request.provider == "zalo":
        headers["num_retry"] = str(attempt)  # Zalo says how often it tried; the signed body is the same
    elif request.provider == "android_gateway":
        # the gateway signs each delivery with its time: the same body under a fresh signature
        seconds = str(int(time.time()))
        headers["X-Timestamp"] = seconds
        headers["X-Signature"] = android_gateway.signature(request.body, seconds,
                                                           LOCAL_SECRETS["android_gateway_signing_key"])
    return headers, request.body


@dataclass
class Sending:
    """What the client threads share: the schedule and what happened."""

    base: str
    originals: Iterator[Planned]
    delays: random.Random
    requests: dict[int, Any] = field(default_factory=dict)
    later: list[tuple[float, int, int, int]] = field(default_factory=list)  # (due, seq, n, attempt)
    sequence: Iterator[int] = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    done_originals: bool = False
    sent: Counter[str] = field(default_factory=Counter)   # requests by kind: original, repeat
    answers: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    refused: list[str] = field(default_factory=list)
    first_at: float = 0.0
    originals_done_at: float = 0.0
    last_at: float = 0.0

    def next_job(self) -> tuple[str, Any, int] | None:
        """('original', Planned, 0) | ('repeat', n, attempt) | ('wait', seconds, 0) | None when all is sent."""
        with self.lock:
            now = time.monotonic()
            if self.later and self.later[0][0] <= now:
                _, _, n, attempt = heapq.heappop(self.later)
                self.in_flight += 1
                return "repeat", n, attempt
            if not self.done_originals:
                planned = next(self.originals, None)
                if planned is not None:
                    self.in_flight += 1
                    return "original", planned, 0
                self.done_originals, self.originals_done_at = True, now
            if self.later:
                return "wait", min(self.later[0][0] - now, 0.5), 0
            return ("wait", 0.05, 0) if self.in_flight else None

    def schedule_repeats(self, planned: Planned) -> None:
        now = time.monotonic()
        with self.lock:
            for attempt in range(1, planned.repeats + 1):
                low, high = self.delays.choice(REPEAT_DELAYS_S)
                heapq.heappush(self.later, (now + self.delays.uniform(low, high), next(self.sequence),
                                            planned.n, attempt))


def _post(connection: http.client.HTTPConnection, request: Any, headers: dict[str, str],
          body: bytes) -> tuple[int, bytes]:
    target = urlsplit(request.url)
    path = target.path + (f"?{target.query}" if target.query else "")
    connection.request(request.method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def _client(sending: Sending, port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while True:
        job = sending.next_job()
        if job is None:
            return
        kind, item, attempt = job
        if kind == "wait":
            time.sleep(max(item, 0.01))
            continue
        try:
            if kind == "original":
                request = _request(sending.base, item)
                with sending.lock:
                    sending.requests[item.n] = request
                headers, body = dict(request.headers), request.body
            else:
                request = sending.requests[item]
                headers, body = _again(request, attempt)
            for tries in itertools.count(1):
                try:
                    status, answer = _post(connection, request, headers, body)
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    status, answer = 0, type(exc).__name__.encode()
                with sending.lock:
                    sending.answers[status] += 1
                    if status != 200:  # our error shape (no personal data) or the client's exception
                        sending.errors[f"{status} {answer[:160].decode(errors='replace')}"] += 1
                    sending.last_at = time.monotonic()
                    sending.first_at = sending.first_at or sending.last_at
                if status == 200 or (400 <= status < 500) or tries == 5:
                    break
                with sending.lock:
                    sending.retried += 1
                time.sleep(0.5 * tries)  # a provider retries a failed delivery after a while
            with sending.lock:
                sending.sent[kind] += 1
                if status != 200:
                    sending.refused.append(f"{request.provider} {kind}: HTTP {status}")
            if kind == "original" and item.repeats:
                sending.schedule_repeats(item)
        finally:
            with sending.lock:
                sending.in_flight -= 1


class SmsSyncPhone(threading.Thread):
    """The SMSSync phone: fetches the replies queued for it, 'sends' them, confirms them."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True, name="smssync-phone")
        from devstack.fakes import LOCAL_SECRETS

        self.port, self.secret = port, LOCAL_SECRETS["smssync_secret"]
        self.outbox: list[dict[str, str]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        query = urlencode({"task": "send", "secret": self.secret, "device_id": SMSSYNC_DEVICE})
        confirm = urlencode({"task": "sent", "secret": self.secret})
        while not self.stopped.wait(1.0):
            try:
                connection.request("GET", f"/webhooks/sms/smssync?{query}")
                answer = json.loads(connection.getresponse().read())
                messages = answer["payload"]["messages"]
                if not messages:
                    continue
                self.outbox += [{"provider": "smssync", "to": m["to"], "text": m["message"], "id": m["uuid"]}
                                for m in messages]
                body = json.dumps({"queued_messages": [m["uuid"] for m in messages]}).encode()
                connection.request("POST", f"/webhooks/sms/smssync?{confirm}", body=body,
                                   headers={"Content-Type": "application/json"})
                connection.getresponse().read()
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                connection.close()


# Faults on the AWS side


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Throttle:
    """Throttles a share of the DynamoDB and SQS requests made on the consumers' threads, answering
    them as AWS answers a throttled request (botocore's own retry rules describe these shapes).

    At `wire` (the default) the answer replaces the HTTP response, so the clients' retries run as
    on AWS and the app sees only a throttle its client gave up on; at `call` the call itself
    fails, as if every retry had been throttled too (a much harsher fault: `--throttle-at call`).
    """

    SHAPES = {"dynamodb": [(400, "ProvisionedThroughputExceededException"), (400, "ThrottlingException")],
              "sqs": [(403, "RequestThrottled")]}

    def __init__(self, rate: float, seed: int, threads: tuple[str, ...], at: str = "wire") -> None:
        self.rate, self.threads, self.at = rate, threads, at  # threads: the name prefixes of the consumers
        self._draws = random.Random(seed)
        self._lock = threading.Lock()
        self.throttled: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.reached_app: Counter[str] = Counter()

    def install(self, session: Any) -> None:
        for service in self.SHAPES:
            session.register(f"before-{'send' if self.at == 'wire' else 'call'}.{service}", self._maybe)
            session.register(f"after-call.{service}", self._after)

    def _draw(self, service: str, operation: str) -> tuple[int, str] | None:
        if not threading.current_thread().name.startswith(self.threads):
            return None
        with self._lock:
            self.calls[service] += 1
            if self._draws.random() >= self.rate:
                return None
            self.throttled[f"{service}.{operation}"] += 1
            return self._draws.choice(self.SHAPES[service])

    def _maybe(self, event_name: str, model: Any = None, **_: Any) -> Any:
        _, service, operation = event_name.split(".")
        shape = self._draw(service, operation)
        if shape is None:
            return None
        status, code = shape
        if service == "sqs":  # SQS's JSON protocol names the error as its query API did, in a header
            prefix, headers = "com.amazonaws.sqs#", {"x-amzn-query-error": f"{code};Sender"}
        else:
            prefix, headers = "com.amazonaws.dynamodb.v20120810#", {}
        headers.update({"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected-throttle"})
        body = json.dumps({"__type": prefix + code, "message": "Rate exceeded"}).encode()
        if self.at == "wire":
            from botocore.awsrequest import AWSResponse

            return AWSResponse("https://injected.invalid/", status, headers, _Raw(body))
        return (_Response(status), {"Error": {"Code": code, "Message": "Rate exceeded"},
                                    "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers,
                                                         "RequestId": "injected-throttle", "RetryAttempts": 0}})

    def _after(self, event_name: str, http_response: Any, parsed: Any, **_: Any) -> None:
        code = (parsed or {}).get("Error", {}).get("Code")
        if threading.current_thread().name.startswith(self.threads) and code in {c for shapes in self.SHAPES.values()
                                                                        for _, c in shapes}:
            with self._lock:
                self.reached_app[event_name.split(".", 1)[1]] += 1


class _Response:
    def __init__(self, status: int) -> None:
        self.status_code, self.headers, self.content = status, {}, b""


class WarningCount(logging.Handler):
    """Counts the app's warnings and errors by thread kind, message and error type (no personal
    data: the app logs ids and outcomes only)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        thread = threading.current_thread().name
        where = next((name for name in (*CONSUMERS, "sweep_unrouted") if thread.startswith(f"local-{name}")),
                     "webhooks")
        error = getattr(record, "error_type", "") or (record.exc_info[0].__name__ if record.exc_info else "")
        key = f"{where}: {record.getMessage()[:80]} {error}".strip()
        if record.exc_info and key not in self.seen:  # the first of each kind, for whoever reads the log
            import traceback

            _say("first " + key + "\n" + "".join(traceback.format_exception(*record.exc_info))[-3000:])
        self.seen[key] += 1


# Waiting for the stack to finish


def _queue_urls(resources: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {name: (resources[queue], resources[dlq]) for name, (queue, dlq) in QUEUES.items()}


def _depth(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def outstanding(sqs: Any, urls: dict[str, tuple[str, str]]) -> dict[str, int]:
    """What is still to do: messages in each queue (visible, in flight, delayed), replies pending,
    replies waiting for the phone, tickets not yet routed (one index query each, at most one item)."""
    from chalicelib.domain.lifecycle import Status
    from chalicelib.store import outbound, tickets

    work = {name: _depth(sqs, queue) for name, (queue, _) in urls.items()}
    work["replies_pending"] = len(outbound.queued(outbound.PENDING, limit=1))
    work["replies_for_phone"] = len(outbound.queued(outbound.device_queue(SMSSYNC_DEVICE), limit=1)) + len(
        outbound.queued(outbound.HANDED, limit=1))
    work["tickets_unrouted"] = len(tickets.by_status(Status.RECEIVED, limit=1)[0])
    return work


# Counting what came out


def _digits(recipient: str) -> str:
    digits = re.sub(r"\D", "", recipient)
    return "84" + digits[1:] if digits.startswith("0") else digits


def count_outcome(planned: list[Planned], outbox: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, per sender (index queries on the phone / Zalo index), tickets and stored messages
    against the plan, and each ticket's acknowledgements as its reporter received them."""
    from chalicelib.domain.phones import normalise_phone
    from chalicelib.store import outbound, tickets

    received: dict[str, list[str]] = defaultdict(list)  # recipient digits -> texts they got
    for row in outbox:
        received[_digits(row["to"]) if row["provider"] != "zalo" else row["to"]].append(row["text"])
    by_sender: dict[tuple[str, str], list[Planned]] = defaultdict(list)
    for item in planned:
        by_sender[("zalo" if item.provider == "zalo" else "sms", item.sender)].append(item)
    stored: Counter[str] = Counter()
    acks: Counter[int] = Counter()
    ack_states: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    tickets_per_sender: Counter[int] = Counter()
    created = 0
    for (channel, sender), items in by_sender.items():
        if channel == "zalo":
            history, recipient = tickets.by_zalo(sender), sender
        else:
            phone = normalise_phone(sender)
            history, recipient = tickets.by_phone(phone), _digits(phone)
        tickets_per_sender[len(history)] += 1
        for ticket in history:
            created += 1
            statuses[ticket.status] += 1
            for event in tickets.timeline(ticket.tracking_code):
                if event.kind in ("created", "message_in", "held"):
                    stored[(event.detail or {}).get("text", "")] += 1
            acks[sum(ticket.tracking_code in text for text in received[recipient])] += 1
            ack_states.update(m.state for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack")
    expected = Counter(item.text for item in planned)
    lost = [text for text in expected if stored[text] == 0]
    duplicated = sum(stored[text] - 1 for text in expected if stored[text] > 1)
    return {"tickets_created": created, "messages_stored": sum(stored[text] for text in expected),
            "lost": len(lost), "duplicated": duplicated,
            "unexpected_messages": sum(n for text, n in stored.items() if text not in expected),
            "tickets_per_sender": {str(k): v for k, v in sorted(tickets_per_sender.items())},
            "acks_per_ticket": {str(k): v for k, v in sorted(acks.items())},
            "ack_states": dict(ack_states), "ticket_statuses": dict(statuses)}


def dead_letters(sqs: Any, urls: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """Each DLQ's messages, described without personal data (ids and keys only)."""
    found: dict[str, list[str]] = {}
    for name, (_, dlq) in urls.items():
        bodies = []
        while True:
            got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                      VisibilityTimeout=600).get("Messages", [])
            if not got:
                break
            bodies += [m["Body"] for m in got]
        described = []
        for body in bodies:
            try:
                data = json.loads(body)
            except ValueError:
                described.append("unreadable body")
                continue
            if name == "inbound":
                described.append(f"inbound {data.get('provider')} {data.get('provider_message_id')}")
            elif name == "routing":
                described.append(f"routing {data.get('tracking_code')}")
            else:
                described.append(f"notification {data.get('pk')} {data.get('sk')}")
        if described:
            found[name] = described
    return found


# The run


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _emulator_in_process(ready: Any) -> None:
    from devstack.emulator import start_emulator

    _, endpoint = start_emulator(0)
    ready.put(endpoint)
    threading.Event().wait()


def _bring_up(origin: str, own_process: bool) -> tuple[Any, dict[str, str]]:
    """The local stack as devstack.emulator.bring_up makes it; with `own_process`, the emulator
    runs in a process of its own (the same patched moto server), so it has a core to itself.
    Returns (something with .stop(), resources)."""
    from devstack import emulator

    parameters = {"PublicOrigin": origin}
    if not own_process:
        local = emulator.bring_up(port=0, stack_name=STACK_NAME, public_origin=origin)
        return local, local.resources
    import multiprocessing

    context = multiprocessing.get_context("fork")  # before this process starts any thread
    ready = context.Queue()
    child = context.Process(target=_emulator_in_process, args=(ready,), daemon=True, name="emulator")
    child.start()
    os.environ.update(emulator.DUMMY_AWS)
    os.environ["AWS_ENDPOINT_URL"] = ready.get(timeout=60)
    resources, _ = emulator.create_stack(STACK_NAME, parameters=parameters)
    resources = emulator.provision_skipped(resources, parameters)
    emulator.bootstrap(emulator.wire_environment(resources, parameters))
    child.stop = child.terminate  # type: ignore[attr-defined]
    return child, resources


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of process `pid` (Linux /proc)."""
    if pid is None:
        return time.process_time()
    fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _say(text: str) -> None:
    print(f"burst: {text}", file=sys.stderr, flush=True)


def run(messages: int, threads: int, fault_rate: float, throttle_rate: float, seed: int, give_up_s: float,
        hang_s: float, throttle_at: str = "wire", pollers: int = 8, emulator_process: bool = True) -> dict[str, Any]:
    """Brings up the stack, sends the burst, waits for the drain, counts; returns the figures."""
    import functools

    from devstack.emulator import stage_environment

    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    local, resources = _bring_up(origin, emulator_process)
    os.environ["PUBLIC_BASE_URL"] = origin
    from devstack.fakes import Faults, seed_provider_secrets, start_fakes

    fakes = start_fakes(faults=Faults(rate=fault_rate, seed=seed, hang_s=hang_s))
    os.environ.update(fakes.environment())
    stage_environment("dev")
    os.environ["SMS_DEFAULT_PROVIDER"] = "android_gateway"  # as `make run`: local SMS via the gateway fake
    from chalicelib.config import settings

    settings.cache_clear()
    seed_provider_secrets(fakes, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
    from chalice.cli import factory as chalice_factory
    from chalice.local import create_local_server

    config = chalice_factory.CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="dev")
    import app as app_module
    from chalice.local import ChaliceRequestHandler

    from chalicelib import aws
    from chalicelib.store.reference import save_reference, seed_document
    from devstack.gateway import StageRequestHandler
    from devstack.worker import Worker

    # Hooks before the app's first client: a botocore client copies the session's hooks when made.
    scans: list[str] = []
    aws.botocore_session().register("before-call.dynamodb.Scan", lambda **_: scans.append("Scan"))
    throttle = Throttle(throttle_rate, seed, tuple(f"local-{name}" for name in CONSUMERS), throttle_at)
    throttle.install(aws.botocore_session())
    warnings = WarningCount()
    from chalicelib.observability import logger

    logger()  # first, so the app's own handler stays the first one (Powertools formats with it)
    for name in ("hotline", app_module.app.log.name):  # the app's logger, and Chalice's (unhandled errors)
        logging.getLogger(name).addHandler(warnings)
    save_reference(seed_document(), expected_version=None)
    worker_errors: Counter[str] = Counter()
    worker = Worker(app_module, resources, log=lambda line: worker_errors.update([line.split("] ", 1)[-1]]),
                    pollers=pollers)
    ChaliceRequestHandler.log_request = lambda *_, **__: None  # type: ignore[method-assign]  # 13,000 lines
    server = create_local_server(config.chalice_app, config, "127.0.0.1", port)
    server.server.RequestHandlerClass = functools.partial(  # type: ignore[assignment]
        StageRequestHandler, app_object=config.chalice_app, config=config, base_path="")
    threading.Thread(target=server.server.serve_forever, daemon=True, name="http").start()
    phone = SmsSyncPhone(port)
    import boto3

    sqs = boto3.client("sqs")  # the checks' own client: never throttled
    urls = _queue_urls(resources)
    planned = plan(messages, seed)
    sending = Sending(origin, iter(planned), random.Random(seed + 1))
    try:
        worker.start()
        phone.start()
        started = time.monotonic()
        clients = [threading.Thread(target=_client, args=(sending, port), daemon=True, name=f"client-{i}")
                   for i in range(threads)]
        for client in clients:
            client.start()
        _say(f"sending {messages:,} messages ({sum(p.repeats for p in planned):,} repeats) with {threads} threads")
        drained_at, work, quiet = None, {}, 0
        busy_until: dict[str, float] = {}  # when each kind of work was last seen outstanding
        cpu_before = (_cpu_seconds(), _cpu_seconds(getattr(local, "pid", None)) if emulator_process else 0.0)
        while time.monotonic() - started < give_up_s:
            time.sleep(5)
            sending_done = not any(client.is_alive() for client in clients)
            work = outstanding(sqs, urls)
            busy_until.update({name: time.monotonic() - started for name, n in work.items() if n})
            quiet = quiet + 1 if sending_done and not any(work.values()) else 0
            _say(f"{time.monotonic() - started:6.0f} s  sent {dict(sending.sent)}  outstanding {work}")
            if quiet >= 2:  # twice in a row: nothing was in between two looks
                drained_at = time.monotonic()
                break
        cpu = {"app_clients_and_checks": round(_cpu_seconds() - cpu_before[0])}
        if emulator_process:
            cpu["emulator"] = round(_cpu_seconds(local.pid) - cpu_before[1])
        phone.stopped.set()
        phone.join(timeout=10)
        worker.stop()
        _say("counting (index queries per sender and ticket)…")
        outcome = count_outcome(planned, [*fakes.state.outbox, *phone.outbox])
        dlq = dead_letters(sqs, urls)
    finally:
        server.server.shutdown()
        fakes.stop()
        local.stop()
    distinct = len(planned)
    drain_s = (drained_at or time.monotonic()) - started
    send_s = max(sending.last_at - sending.first_at, 1e-9)
    originals_s = max(sending.originals_done_at - sending.first_at, 1e-9)
    acks = outcome["acks_per_ticket"]
    return {
        "burst_distinct_messages": distinct,
        "burst_deliveries_sent": sum(sending.sent.values()),
        "burst_repeat_deliveries": sending.sent["repeat"],
        "burst_webhook_answers": {str(k): v for k, v in sorted(sending.answers.items())},
        "burst_webhook_errors": dict(sending.errors.most_common(10)),
        "burst_webhook_retries": sending.retried,
        "burst_webhook_refused": len(sending.refused),
        "burst_tickets_created": outcome["tickets_created"],
        "burst_messages_stored": outcome["messages_stored"],
        "burst_lost": outcome["lost"],
        "burst_duplicated": outcome["duplicated"],
        "burst_unexpected_messages": outcome["unexpected_messages"],
        "burst_tickets_per_sender": outcome["tickets_per_sender"],
        "burst_ticket_statuses": outcome["ticket_statuses"],
        "burst_acks_per_ticket": acks,
        "burst_acks_per_ticket_min": min((int(k) for k in acks), default=None),
        "burst_acks_per_ticket_max": max((int(k) for k in acks), default=None),
        "burst_ack_states": outcome["ack_states"],
        "burst_dlq_messages": sum(len(v) for v in dlq.values()),
        "burst_dlq_contents": dlq,
        "burst_drained": drained_at is not None,
        "burst_outstanding_at_end": {k: v for k, v in work.items() if v},
        "burst_drain_minutes": round(drain_s / 60, 1) if drained_at else None,
        "burst_busy_until_minutes": {name: round(at / 60, 1) for name, at in busy_until.items()},
        "burst_cpu_seconds": cpu,
        "burst_intake_messages_per_s": round(distinct / originals_s, 1),
        "burst_send_minutes": round(send_s / 60, 1),
        "burst_end_to_end_messages_per_s": round(distinct / drain_s, 1),
        "burst_provider_faults": dict(fakes.state.faults.injected),
        "burst_provider_sends_ok": len(fakes.state.outbox),
        "burst_throttled_calls": sum(throttle.throttled.values()),
        "burst_consumer_aws_calls": dict(throttle.calls),
        "burst_throttled_by_call": dict(throttle.throttled.most_common()),
        "burst_throttles_reaching_app": dict(throttle.reached_app),
        "burst_worker_errors": dict(worker_errors),
        "burst_app_warnings": dict(warnings.seen.most_common()),
        "burst_scan_calls": len(scans),
        "burst_settings": {"threads": threads, "fault_rate": fault_rate, "throttle_rate": throttle_rate, "throttle_at": throttle_at,
                           "seed": seed, "timeout_hang_s": hang_s, "pollers_per_queue": pollers,
                           "emulator": "own process" if emulator_process else "in-process", "cores": os.cpu_count()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--fault-rate", type=float, default=0.1, help="share of provider sends that fail")
    parser.add_argument("--throttle-rate", type=float, default=0.1, help="share of consumers' AWS calls throttled")
    parser.add_argument("--throttle-at", choices=("wire", "call"), default="wire",
                        help="wire: the clients' retries run as on AWS; call: the call fails outright")
    parser.add_argument("--seed", type=int, default=1022)
    parser.add_argument("--pollers", type=int, default=8, help="consumers per queue (Lambda runs several at once)")
    parser.add_argument("--emulator-in-process", action="store_true",
                        help="run the emulator in this process, as `make run` does (one core for everything)")
    parser.add_argument("--hang-s", type=float, default=1.0,
                        help="how long an injected provider timeout holds the request before hanging up")
    parser.add_argument("--give-up-minutes", type=float, default=45)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.json alone")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench import report
    from bench.stack import stdout_discarded

    measured_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with stdout_discarded():  # the app's one JSON log line per request and record, as on Lambda
        figures = run(args.messages, args.threads, args.fault_rate, args.throttle_rate, args.seed,
                      args.give_up_minutes * 60, args.hang_s, args.throttle_at, args.pollers,
                      not args.emulator_in_process)
    figures["burst_measured_at"] = measured_at
    print(report.table(figures))
    if not args.no_write:
        results = ROOT / "bench" / "results.json"
        report.merge(figures, results)
        print(f"\nwritten to {results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
