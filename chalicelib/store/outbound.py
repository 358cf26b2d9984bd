"""Outbound messages, quarantine and the auto-reply cap: the store side of channels."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.domain.errors import AlreadyExists, Conflict
from chalicelib.store import pages
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import OutboundModel, QuarantineModel, RateModel, ticket_pk

PENDING = "out#pending"


HANDED = "out#handed"
# Once out (or given up, or replaced by an SMS), a message keeps its text with what only its recipient
# may hold masked: a one-time code (proof of a number for 15 minutes, stored nowhere else but as a
# salted hash) and a personal status link's token (stored nowhere else but as its SHA-256).
_DONE = {"sent", "dead", "suppressed", "fallback", "callback"}
HANDED_TIMEOUT = timedelta(minutes=30)  # a phone that took an SMS and never confirmed it


def device_queue(device: str) -> str:
    """The status-index key of SMS waiting for one SMSSync phone to fetch them."""
    return f"out#device#{device}"


def new_outbound(kind: str, channel: str, provider: str, recipient: str, text: str, now: datetime,
                 automated: bool = True) -> OutboundModel:
    """Returns an unsaved pending message; the caller stores it with what caused it."""
    return OutboundModel(sk=f"OUT#{now.astimezone(timezone.utc).isoformat()}#{secrets.token_hex(3)}", kind=kind, channel=channel,
                         provider=provider, recipient=recipient, text=text, automated=automated,
                         state="pending", status=PENDING, due_sort=now.astimezone(timezone.utc).isoformat(),
                         created_at=now, updated_at=now)


def add_outbound(message: OutboundModel, code: str) -> OutboundModel:
    """Stores a new message on the ticket's partition; raises AlreadyExists for a taken key."""
    bind()
    message.pk, message.tracking_code = ticket_pk(code), code
    with translate(AlreadyExists):
        message.save(condition=OutboundModel.pk.does_not_exist())
    return message


def add_unattached(message: OutboundModel, pk: str) -> OutboundModel:
    """Stores a message that belongs to no ticket (a digest); raises AlreadyExists for a taken key."""
    bind()
    message.pk = pk
    with translate(AlreadyExists):
        message.save(condition=OutboundModel.pk.does_not_exist())
    return message


def get_outbound(pk: str, sk: str) -> OutboundModel | None:
    bind()
    with translate():
        try:
            return OutboundModel.get(pk, sk, consistent_read=True)
        except OutboundModel.DoesNotExist:
            return None


def of_ticket(code: str) -> list[OutboundModel]:
    """Returns the ticket's outbound messages, oldest first."""
    bind()
    with translate():
        return list(OutboundModel.query(ticket_pk(code), OutboundModel.sk.startswith("OUT#")))


def move(message: OutboundModel, expected_state: str, state: str, now: datetime, *, queue: str | None = None,
         error: str | None = None, provider_ref: str | None = None, attempt: bool = False,
         queue_at: datetime | None = None) -> None:
    """Moves a message from `expected_state` to `state`, only if nobody moved it first.

    `queue` keeps it in (or puts it into) a status-index queue, sorted by `queue_at` (default now:
    a retry sorts by its next attempt, so the sweeper leaves it to its backoff); None takes it out.
    Raises Conflict when the message is no longer in `expected_state`.
    """
    bind()
    actions: list[Any] = [OutboundModel.state.set(state), OutboundModel.updated_at.set(now)]
    if queue:
        actions += [OutboundModel.status.set(queue),
                    OutboundModel.due_sort.set((queue_at or now).astimezone(timezone.utc).isoformat())]
    else:
        actions += [OutboundModel.status.remove(), OutboundModel.due_sort.remove()]
    if error is not None:
        actions.append(OutboundModel.last_error.set(error[:300]))
    if provider_ref is not None:
        actions.append(OutboundModel.provider_ref.set(provider_ref))
    if attempt:
        actions.append(OutboundModel.attempts.add(1))
    if state in _DONE:
        actions += _kept_text(message)
    with translate(Conflict):
        message.update(actions=actions, condition=OutboundModel.state == expected_state)


def _kept_text(message: OutboundModel) -> list[Any]:
    """The update that masks the message's one-time code and status link tokens (none if it has neither)."""
    from chalicelib.domain.replies import without_code
    from chalicelib.domain.status_links import without_token

    kept = without_token(without_code(message.text) if message.kind == "verify" else message.text)
    return [OutboundModel.text.set(kept)] if kept != message.text else []


def claim(message: OutboundModel, now: datetime, until: datetime) -> None:
    """Claims a pending message for one worker to send until `until`: of two workers only one gets
    past this conditional write. The message keeps its place in the pending queue (no index key
    changes, so the claim costs one table write and no index write); a claim that ran out is
    taken back by the next delivery attempt. Raises Conflict when it is no longer pending."""
    bind()
    with translate(Conflict):
        message.update(actions=[OutboundModel.state.set("sending"), OutboundModel.updated_at.set(now),
                                OutboundModel.claimed_until.set(until)],
                       condition=OutboundModel.state == "pending")


def part_sent(message: OutboundModel, parts: int, provider_ref: str, now: datetime) -> None:
    """Records that the first `parts` parts of a message sent in parts went out (the last one as
    `provider_ref`), so a retry sends only the rest. Raises Conflict when it is no longer being sent."""
    bind()
    with translate(Conflict):
        message.update(actions=[OutboundModel.parts_sent.set(parts), OutboundModel.provider_ref.set(provider_ref),
                                OutboundModel.updated_at.set(now)],
                       condition=OutboundModel.state == "sending")


def queued(queue: str, before: str | None = None, limit: int = 50) -> list[OutboundModel]:
    """Returns messages waiting in a status-index queue, oldest first (an index query, never a table scan)."""
    bind()
    condition = OutboundModel.due_sort < before if before else None
    with translate():
        found = list(OutboundModel.by_status_due.query(queue, condition, limit=limit))
    return pages.full(OutboundModel, found)  # the index holds keys and a few small attributes


def requeued(message: OutboundModel, now: datetime) -> bool:
    """Moves a pending message that was handed to the queue again to the back of the pending queue
    (sorted by now), so the sweeper's next page starts with older ones; False if someone moved it first."""
    bind()
    try:
        with translate(Conflict):
            message.update(actions=[OutboundModel.due_sort.set(now.astimezone(timezone.utc).isoformat())],
                           condition=(OutboundModel.state == "pending") & (OutboundModel.due_sort == message.due_sort))
    except Conflict:
        return False
    return True


def take_auto_reply(sender: str, now: datetime, cap: int) -> bool:
    """Counts one automated reply to `sender` this hour; False once `cap` is reached."""
    from chalicelib.store.people import person_digest

    return take(f"AUTO#{person_digest(sender)}#{now:%Y%m%d%H}", now, cap)  # a digest: no number in a key


def take(counter: str, now: datetime, cap: int) -> bool:
    """Counts one use of `counter`, whose name carries its window (e.g. "FOLLOW#<hash>#2026112814" for
    an hour, "REPEAT#<hash>#20261128" for a day); False once `cap` is reached. One conditional ADD,
    so parallel requests never pass it; the same counters ride in ticket transactions
    (chalicelib.store.tickets.create_ticket)."""
    bind()
    bucket = RateModel(pk=f"RATE#{counter}", sk="N")
    try:
        with translate():
            bucket.update(actions=[RateModel.n.add(1), RateModel.expires_at.set(now + timedelta(days=2))],
                          condition=RateModel.n.does_not_exist() | (RateModel.n < cap))
    except Conflict:
        return False
    return True


def take_within(counter: str, part: str, now: datetime, cap: int, part_cap: int) -> bool:
    """Counts one use of `counter` and of its `part` (e.g. one source's status lookups today, and
    its lookups of one tracking code among them: "LOOKUP#SRC#<hash>#20261130", part "TN-7KXQ4M");
    False once either cap is reached, and then neither is counted. Both counts live in one item
    (the part as an attribute of its own), so this is one conditional UpdateItem, like `take`."""
    from pynamodb.expressions.operand import Path

    bind()
    share = Path([f"part_{part}"])  # a list: the name is one attribute, never a document path
    bucket = RateModel(pk=f"RATE#{counter}", sk="N")
    try:
        with translate():
            bucket.update(actions=[RateModel.n.add(1), share.add({"N": "1"}),
                                   RateModel.expires_at.set(now + timedelta(days=2))],
                          condition=(RateModel.n.does_not_exist() | (RateModel.n < cap))
                          & (share.does_not_exist() | (share < {"N": str(part_cap)})))
    except Conflict:
        return False
    return True


def quarantine(provider: str, reason: str, raw: bytes, now: datetime) -> str:
    """Keeps an unreadable payload from an authenticated provider (it may hold a sender's number and
    text) for the retention schedule's quarantine_days; returns its id for the operator."""
    from chalicelib.store.reference import load_reference

    bind()
    keep = timedelta(days=load_reference().retention.quarantine_days)
    item = QuarantineModel(sk=f"{now.isoformat()}#{secrets.token_hex(4)}", provider=provider, reason=reason,
                           raw=raw.decode("utf-8", errors="replace"), received_at=now, expires_at=now + keep)
    with translate():
        item.save()
    return item.sk


def quarantined(limit: int = 50) -> list[QuarantineModel]:
    """Returns the newest quarantined payloads (for the operators' review)."""
    bind()
    with translate():
        return list(QuarantineModel.query("QUARANTINE", scan_index_forward=False, limit=limit))


def device_uuid(message: OutboundModel) -> str:
    """The id an SMSSync phone reports back for a message it sent (our item key)."""
    return f"{message.pk}|{message.sk}"


def confirm_device_sent(uuids: list[str], now: datetime) -> list[str]:
    """Marks messages an SMSSync phone reports as sent; returns the uuids it confirmed."""
    confirmed = []
    for uuid in uuids:
        pk, _, sk = uuid.partition("|")
        message = get_outbound(pk, sk) if pk.startswith("TICKET#") or pk.startswith("OUTBOX#") else None
        if message is None:
            continue
        try:
            move(message, "device_handed", "sent", now, attempt=True)
        except Conflict:  # confirmed before (the phone re-reports) or never handed to it
            again = get_outbound(pk, sk)
            if again is None or again.state != "sent":
                continue
        confirmed.append(uuid)
    return confirmed


def replace_with(original: OutboundModel, replacement: OutboundModel, code: str, now: datetime, reason: str,
                 note: Any = None) -> None:
    """Atomically stores `replacement` (e.g. an SMS instead of a refused Zalo message) and moves
    `original` (claimed for sending) to fallback, so the citizen never gets both and never neither;
    `note` (a tickets.NewEvent) goes on the ticket's timeline with them.
    Raises Conflict when `original` was moved first."""
    from pynamodb.transactions import TransactWrite

    from chalicelib.store.models import EventModel
    from chalicelib.store.tickets import event_item

    connection = bind()
    replacement.pk, replacement.tracking_code = ticket_pk(code), code
    with translate(Conflict):
        with TransactWrite(connection=connection) as transaction:
            transaction.save(replacement, condition=OutboundModel.pk.does_not_exist())
            transaction.update(original, actions=[
                OutboundModel.state.set("fallback"), OutboundModel.updated_at.set(now),
                OutboundModel.last_error.set(reason[:300]), OutboundModel.status.remove(),
                OutboundModel.due_sort.remove(), *_kept_text(original)], condition=OutboundModel.state == "sending")
            if note is not None:
                transaction.save(event_item(code, note), condition=EventModel.pk.does_not_exist())
