"""Use case: deliver one outbound message (the notifier consumer), with the auto-reply cap,
retries, the Zalo window fallback, and SMSSync's device queue. The message's own state records
every outcome; the ticket's status is never touched here."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib import queues
from chalicelib.config import settings
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.sms import fits_one_segment, sms_text
from chalicelib.notify import sender_for
from chalicelib.notify.base import DeliveryFailed, OutsideWindow
from chalicelib.observability import count, logger
from chalicelib.store import outbound, tickets
from chalicelib.store.models import OutboundModel, TicketModel

ZALO_WINDOW = timedelta(days=7)
MESSENGER_WINDOW = timedelta(hours=24)  # free-form replies; then HUMAN_AGENT-tagged ones up to 7 days
# What a staff member writes to the person (chalicelib/services/console.py); not the survey, follower or merge notices.
HUMAN_AGENT_KINDS = frozenset({"staff_reply", "answer", "rejected", "redirected"})
STALE_PENDING = timedelta(minutes=5)
CLAIM = timedelta(minutes=2)  # longer than a send can take (8 s timeout, token refresh included)


class RetryLater(Exception):
    """A transient failure: the queue redelivers after `delay_s` (backoff grows per attempt)."""

    def __init__(self, delay_s: int) -> None:
        super().__init__(delay_s)
        self.delay_s = delay_s


def backoff_seconds(attempts: int) -> int:
    """The wait after failed attempt number `attempts`: 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min,
    then hourly. The 8 attempts (NOTIFY_MAX_ATTEMPTS) span 3 hours, so a provider (or SES, SNS)
    down for up to about 3 hours still gets every message out, at most an hour after it is back;
    a longer outage leaves them dead for operators (the OutboundDead alarm)."""
    return min(30 * 3 ** max(attempts - 1, 0), 3600)


def deliver(pk: str, sk: str, now: datetime | None = None) -> str:
    """Delivers the message once; returns its resulting state. Raises RetryLater."""
    now = now or datetime.now(timezone.utc)
    message = outbound.get_outbound(pk, sk)
    if message is None:
        return "skipped"
    try:
        if message.state == "sending" and _claim_ran_out(message, now):
            # its worker died mid-send and the claim ran out: it is pending again
            outbound.move(message, "sending", "pending", now, queue=outbound.PENDING)
        if message.state != "pending":
            return "skipped"
        return _deliver(message, now)
    except Conflict:
        return "skipped"  # another worker moved it first


def _claim_ran_out(message: OutboundModel, now: datetime) -> bool:
    if message.claimed_until is not None:
        return message.claimed_until < now
    return (message.due_sort or "") < now.astimezone(timezone.utc).isoformat()  # claimed before claimed_until


def _deliver(message: OutboundModel, now: datetime) -> str:
    if message.automated and message.attempts == 0 and not outbound.take_auto_reply(
            message.recipient, now, settings().auto_reply_cap_per_hour):
        outbound.move(message, "pending", "suppressed", now, error="auto-reply cap reached")
        return "suppressed"
    if message.provider == "smssync":
        device = message.provider_ref or "default"
        outbound.move(message, "pending", "device_queued", now, queue=outbound.device_queue(device))
        return "device_queued"
    # Claim it before calling the provider: of two copies of one queue message delivered at once,
    # only one gets past this conditional write, so the citizen gets one SMS, not two.
    outbound.claim(message, now, now + CLAIM)
    reply_to, tag = message.reply_to, {}
    # An automated reply answers a message that just arrived, so it is inside the window by definition
    # and knows the message it answers; staff messages take both from the ticket (read once).
    if message.channel in ("zalo", "facebook") and not message.automated and message.tracking_code:
        ticket = tickets.get_ticket(message.tracking_code)
        last = _persons_last_message(message, ticket, now)
        since = now - last if last is not None else timedelta(0)
        if since > ZALO_WINDOW:  # Messenger's human-agent tag ends after 7 days too
            return _fallback(message, now, "last interaction over 7 days ago")
        if message.channel == "facebook" and since > MESSENGER_WINDOW:
            if not _human_agent(message):  # Meta allows the tag for a person's own reply only
                return _fallback(message, now, "last interaction over 24 hours ago")
            tag = {"tag": "HUMAN_AGENT"}
        reply_to = reply_to or ticket.last_inbound_ref
    progress: dict[str, object] = {}
    if message.provider == "facebook":  # a long text goes in parts: a retry sends only those not yet sent
        progress = {"parts_sent": int(message.parts_sent or 0),
                    "on_part": lambda parts, ref: outbound.part_sent(message, parts, ref, now)}
    try:
        reference = sender_for(message.provider).send(message.recipient, message.text, message.subject, message.html,
                                                      reply_to=reply_to, **tag, **progress)
    except OutsideWindow as refused:
        return _fallback(message, now, refused.reason)
    except DeliveryFailed as failed:
        attempt = message.attempts + 1  # read before `move`, which refreshes the item
        if failed.transient and attempt < settings().notify_max_attempts:
            outbound.move(message, "sending", "pending", now, queue=outbound.PENDING, error=failed.reason,
                          attempt=True, queue_at=now + timedelta(seconds=backoff_seconds(attempt)))
            logger().warning("delivery failed, will retry", extra={"provider": message.provider, "attempt": attempt})
            raise RetryLater(backoff_seconds(attempt)) from failed
        logger().error("delivery gave up", extra={"provider": message.provider, "ticket": message.tracking_code})
        return _dead(message, now, failed.reason, attempt=True)
    outbound.move(message, "sending", "sent", now, provider_ref=reference or message.provider_ref, attempt=True)
    if message.provider == "facebook" and reference:
        _remember_sent(message, reference, now)
    return "sent"


def _human_agent(message: OutboundModel) -> bool:
    """A staff member's words to the person who asked (a reply, the answer): what Messenger's HUMAN_AGENT
    tag may carry past 24 h. A follower's notice of the same action carries its kind but is not one."""
    return message.kind in HUMAN_AGENT_KINDS and not message.follower


def _remember_sent(message: OutboundModel, mid: str, now: datetime) -> None:
    """Lets Meta's delivery / read receipts find the message (chalicelib.store.receipts). It is out
    already: a failure here costs only its receipt, never a second send."""
    from chalicelib.store import receipts

    try:
        receipts.remember_sent(message, message.recipient, mid, now)
    except Exception:  # noqa: BLE001 - whatever it is, the citizen has the message
        logger().warning("messenger receipt marker not written", extra={"ticket": message.tracking_code})


def _persons_last_message(message: OutboundModel, ticket: TicketModel, now: datetime) -> datetime | None:
    """When the person last wrote to us. Meta counts Messenger's 24 h and 7 days from their latest
    message to the page, whichever ticket it joined: their facebook tickets (by PSID) all count (read
    only when this ticket's own last message is over 24 h old, as nothing later changes the answer then)."""
    latest = ticket.last_inbound_at
    if message.channel != "facebook" or (latest is not None and now - latest <= MESSENGER_WINDOW):
        return latest
    for other in tickets.by_zalo(message.recipient):
        if other.channel == "facebook" and other.last_inbound_at and (latest is None or other.last_inbound_at > latest):
            latest = other.last_inbound_at
    return latest


def _dead(message: OutboundModel, now: datetime, error: str, attempt: bool = False) -> str:
    """Gives the message up (it stays for operators) and counts it: the OutboundDead alarm."""
    outbound.move(message, "sending", "dead", now, error=error, attempt=attempt)
    count("OutboundDead")
    return "dead"


def _fallback(message: OutboundModel, now: datetime, reason: str) -> str:
    """Zalo (or Messenger) can't carry it: SMS to the reporter's phone if known, else flag the ticket 'call back'."""
    try:
        ticket = tickets.get_ticket(message.tracking_code or "")
    except NotFound:
        return _dead(message, now, f"{reason}; no ticket to fall back on")
    if ticket.reporter_phone:
        text, note = sms_text(message.text), None
        if not fits_one_segment(text):
            from chalicelib.domain.replies import LONG_MESSAGE_NOTE, long_message_notice
            from chalicelib.services.lookup import lookup_url

            code = ticket.tracking_code
            text = long_message_notice(code, lookup_url(code), settings().hotline)
            note = tickets.NewEvent("sms_notice", "system:delivery", now, detail={"text": LONG_MESSAGE_NOTE, "messages": 1})
        sms = outbound.new_outbound(message.kind, "sms", settings().sms_provider, ticket.reporter_phone,
                                    text, now, automated=message.automated)
        sms.follower = message.follower
        outbound.replace_with(message, sms, ticket.tracking_code, now, f"{reason}; sent by SMS instead", note=note)
        queues.send_notifications([(sms.pk, sms.sk)])
        return "fallback"
    if message.channel == "facebook" and not message.automated and not _human_agent(message):
        # a survey or a follower's notice Messenger can't carry is not worth an operator's call: it is dropped
        outbound.move(message, "sending", "suppressed", now, error=f"{reason}; no phone known: not sent")
        return "suppressed"
    event = tickets.NewEvent(kind="callback_needed", actor="system:delivery", at=now,
                             detail={"reason": reason, "message": message.sk})
    tickets.flag_callback(ticket, event, now)
    outbound.move(message, "sending", "callback", now, error=f"{reason}; no phone known: call back")
    return "callback"


def requeue_stale(now: datetime | None = None, page_size: int = 100) -> int:
    """Re-queues up to `page_size` pending messages older than STALE_PENDING (their queue message
    was lost or is in the DLQ after an outage); returns how many. The notifier ignores what it
    already handled. Each one re-queued moves to the back of the pending queue, so the next run's
    page starts with the older ones still waiting and a stuck page never hides the rest."""
    now = now or datetime.now(timezone.utc)
    stale = outbound.queued(outbound.PENDING, before=(now - STALE_PENDING).astimezone(timezone.utc).isoformat(),
                            limit=page_size)
    if stale:
        queues.send_notifications([(m.pk, m.sk) for m in stale])
        for message in stale:
            outbound.requeued(message, now)
    # SMS an SMSSync phone took but never confirmed go back to its queue: at least once, as
    # SMSSync itself is (a lost confirmation can mean the citizen gets it twice, never zero times).
    # Each one leaves the handed queue, so the next run's page is the rest.
    for message in outbound.queued(outbound.HANDED, before=now.astimezone(timezone.utc).isoformat(), limit=page_size):
        try:
            outbound.move(message, "device_handed", "device_queued", now,
                          queue=outbound.device_queue(message.provider_ref or "default"))
        except Conflict:
            continue
    return len(stale)
