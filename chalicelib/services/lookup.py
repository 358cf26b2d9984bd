"""Use case: a citizen looks a ticket up by tracking code and the last four digits of their phone."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

from chalicelib.config import settings
from chalicelib.domain.errors import NotFound, TooManyRequests
from chalicelib.domain.phones import last4
from chalicelib.domain.reports import PublicStatus, public_status
from chalicelib.domain.status_links import without_token
from chalicelib.domain.tracking import parse_code
from chalicelib.store import outbound, tickets
from chalicelib.store.reference import load_reference


# Four digits are 10,000 guesses and tracking codes are public, so lookups are limited per day:
# per code *and* source (a stranger's guesses use up only the stranger's allowance, never the
# reporter's), and per source across codes (one address probing many codes).
LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY = 30
LOOKUPS_PER_SOURCE_PER_DAY = 100


def source_key(source: str | None) -> str:
    """The pseudonym of a lookup's source (an IP address, or a phone) in counter keys: no address
    or phone number is ever stored, only this hash, for the two days its counter lives."""
    return hashlib.sha256(f"lookup-source:{source or 'unknown'}".encode()).hexdigest()[:24]


def lookup_url(code: str) -> str | None:
    """The lookup page of `code` (/tra-cuu, where the citizen adds the last four digits of their
    phone) as an absolute link for messages; None when the site's address is not configured. Not
    the personal status link: chalicelib.services.status_links."""
    from urllib.parse import urlencode

    return settings().public_url(f"/tra-cuu?{urlencode({'code': code})}")


def status_for_citizen(code_text: str, phone_last4: str, source: str | None = None,
                       now: datetime | None = None) -> PublicStatus:
    """Returns the public view of the ticket. `source` is who asks: the request's source IP.

    Raises NotFound alike for an unknown code, a wrong or missing phone_last4, and a ticket
    without a phone, so the answer never tells whether a code exists; TooManyRequests once this
    source looked this code up LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY times today, or any codes
    LOOKUPS_PER_SOURCE_PER_DAY times (one conditional write counts both).
    """
    code = parse_code(code_text, settings().tracking_prefix)
    digits = (phone_last4 or "").strip()
    if code is None or len(digits) != 4 or not (digits.isascii() and digits.isdigit()):
        raise NotFound()
    now = now or datetime.now(timezone.utc)
    count_lookup(source, code, now, LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY)
    ticket = tickets.get_ticket(code)
    if not ticket.reporter_phone or not hmac.compare_digest(last4(ticket.reporter_phone), digits):
        raise NotFound()
    events = [{"at": e.at, "public": e.public, "public_text": e.public_text} for e in tickets.timeline(code)]
    return public_status(ticket.attribute_values, events, load_reference())


def count_lookup(source: str | None, part: str, now: datetime, per_part: int) -> None:
    """Counts one public lookup of `part` (a code, or all personal links) by `source` today, on the
    source's one daily counter; raises TooManyRequests past `per_part` for it or
    LOOKUPS_PER_SOURCE_PER_DAY in all."""
    if not outbound.take_within(f"LOOKUP#SRC#{source_key(source)}#{now:%Y%m%d}", part, now,
                                LOOKUPS_PER_SOURCE_PER_DAY, per_part):
        raise TooManyRequests()


def staff_timeline(code: str) -> list[dict[str, object]]:
    """Returns the ticket's whole history for staff, oldest first: timeline events and every
    outbound message with its own delivery state (kept apart from the ticket's status)."""
    entries: list[dict[str, object]] = [
        {"at": e.at, "type": "event", "kind": e.kind, "actor": e.actor, "public": e.public,
         "text": e.public_text, "detail": e.detail} for e in tickets.timeline(code)]
    entries += [
        {"at": m.created_at, "type": "message_out", "kind": m.kind, "channel": m.channel, "provider": m.provider,
         "text": without_token(m.text), "subject": m.subject, "delivery": m.state, "attempts": m.attempts,
         "last_error": m.last_error, "updated_at": m.updated_at, "receipt": m.receipt} for m in outbound.of_ticket(code)]
    return sorted(entries, key=lambda entry: entry["at"])  # type: ignore[arg-type, return-value]
