"""A follower proving their number: the VERIFY#<code> person marker (the one-time code's hash, the
wrong guesses so far, an expiry) and the SMS that carries the code, stored together. The follow
itself, which uses the marker up, is chalicelib.store.tickets.add_follower."""
from __future__ import annotations

import secrets
from datetime import datetime

from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.store import people
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import OutboundModel, PersonMarkerModel
from chalicelib.store.tickets import save_unattached


def ask(phone: str, code: str, secret_hash: str, message: OutboundModel, now: datetime, expires_at: datetime,
        message_expires_at: datetime) -> None:
    """Stores the VERIFY#<code> marker of `phone` (replacing an earlier one: a new code, no wrong
    guesses yet) and `message`, the SMS with the code, which belongs to no ticket (OUTBOX#…, expiring
    at `message_expires_at` with its own person marker), in one transaction."""
    connection = bind()
    message.pk = f"OUTBOX#verify#{secrets.token_hex(8)}"
    verify = people.marker(phone, "VERIFY", code, now, expires_at, secret_hash=secret_hash, attempts=0)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.save(verify)
            save_unattached(transaction, message, message_expires_at)


def pending(phone: str, code: str) -> PersonMarkerModel | None:
    """The VERIFY# marker of `phone` for ticket `code`, or None (it may have expired: check `expires_at`)."""
    bind()
    with translate():
        try:
            return PersonMarkerModel.get(people.person_pk(phone), f"VERIFY#{code}", consistent_read=True)
        except PersonMarkerModel.DoesNotExist:
            return None


def count_attempt(found: PersonMarkerModel, max_attempts: int, now: datetime) -> int | None:
    """Counts one guess against the code `found` holds, before the guess is compared; returns the
    guesses counted so far (this one included), or None when none was left (`max_attempts` used, the
    code expired, or replaced by a new one meanwhile). One conditional write: of parallel guesses at
    most `max_attempts` ever get past it, so at most that many are compared."""
    bind()
    try:
        with translate():
            found.update(actions=[PersonMarkerModel.attempts.add(1)],
                         condition=(PersonMarkerModel.attempts < max_attempts)
                         & (PersonMarkerModel.secret_hash == found.secret_hash)
                         & (PersonMarkerModel.expires_at > now))
    except Conflict:
        return None
    return int(found.attempts)


def used(found: PersonMarkerModel) -> None:
    """Deletes a VERIFY# marker whose code was given (nothing more to follow: the number already does)."""
    bind()
    with translate():
        found.delete()
