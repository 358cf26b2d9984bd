"""Messenger delivery and read receipts against our own outbound messages, by key: one Query of the person's markers.

Meta's receipts name the person (PSID) and a watermark: everything the page sent them at or before
that time was delivered / read. So a sent message leaves a marker keyed by its recipient and send
time (pk=FBOUT#<PSID>, sk=<sent epoch ms, 13 digits>#<mid>) pointing at its OUT# item; a receipt
Queries the recipient's markers up to the watermark and marks each OUT# item with a conditional
update (never from "read" back to "delivered"). Markers of read messages are deleted; the rest
expire after MARKER_DAYS (Messenger's window for a reply is 7 days).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.domain.errors import Conflict
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import MessengerSentModel, OutboundModel

MARKER_DAYS = 8
DELIVERED, READ = "delivered", "read"


def _pk(psid: str) -> str:
    return f"FBOUT#{psid}"


def _epoch_ms(at: datetime) -> int:
    return int(at.astimezone(timezone.utc).timestamp() * 1000)


def remember_sent(outbound: OutboundModel, psid: str, mid: str, at: datetime) -> None:
    """Notes that `outbound` (stored) went to `psid` as Messenger message `mid` at `at` (the send's
    start: Meta's watermark for it is never earlier)."""
    bind()
    with translate():
        MessengerSentModel(pk=_pk(psid), sk=f"{_epoch_ms(at):013d}#{mid}", out_pk=outbound.pk, out_sk=outbound.sk,
                           expires_at=at + timedelta(days=MARKER_DAYS)).save()


def record(psid: str, kind: str, watermark: datetime, mids: tuple[str, ...] = (), now: datetime | None = None) -> int:
    """Marks our messages to `psid` sent at or before `watermark` (and any of `mids`) as `kind`
    ("delivered" | "read"); returns how many changed. Idempotent: a redelivered receipt changes nothing."""
    if kind not in (DELIVERED, READ):
        raise ValueError(kind)
    now = now or datetime.now(timezone.utc)
    bind()
    upto = f"{_epoch_ms(watermark):013d}#~"  # '~' sorts after every mid's characters
    with translate():  # the partition holds at most MARKER_DAYS of messages to one person: one Query page
        markers = [m for m in MessengerSentModel.query(_pk(psid), MessengerSentModel.sk <= upto if not mids else None)
                   if m.sk <= upto or m.sk.split("#", 1)[1] in mids]
    changed = 0
    for marker in markers:
        if _mark(marker, kind, now):
            changed += 1
        if kind == READ:
            with translate():
                marker.delete()
    return changed


def _mark(marker: MessengerSentModel, kind: str, now: datetime) -> bool:
    item = OutboundModel(pk=marker.out_pk, sk=marker.out_sk)
    # "delivered" only where nothing is recorded yet; "read" over anything but "read"; never on a deleted message
    condition = OutboundModel.pk.exists() & (
        OutboundModel.receipt.does_not_exist() if kind == DELIVERED
        else OutboundModel.receipt.does_not_exist() | (OutboundModel.receipt != READ))
    try:
        with translate(Conflict):
            item.update(actions=[OutboundModel.receipt.set(kind), OutboundModel.receipt_at.set(now)],
                        condition=condition)
    except Conflict:
        return False
    return True


def of(psid: str) -> list[MessengerSentModel]:
    """The markers of our messages to `psid` (what a person's data request finds): one Query."""
    bind()
    with translate():
        return list(MessengerSentModel.query(_pk(psid)))


def forget(psid: str) -> int:
    """Deletes every marker of our messages to `psid` (a person's erasure: the markers name them);
    returns how many. One Query of their partition (at most MARKER_DAYS of messages) and a batch delete."""
    bind()
    with translate():
        markers = list(MessengerSentModel.query(_pk(psid)))
        with MessengerSentModel.batch_write() as batch:
            for marker in markers:
                batch.delete(marker)
    return len(markers)
