"""Use case: personal status links. Each ticket's reporter (web, API, SMS, Zalo, Open311) and each
verified follower gets one, drawn when the ticket or the follow is stored and in the same
transaction; /s/<token> then shows the ticket's public status. The token exists only in the
acknowledgement that carries it (the page, the receipt, the SMS or Zalo message): never in a log,
never stored (only its SHA-256). A link ends when the ticket is anonymised (retention or erasure)
or when the follower is erased."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from chalicelib.config import settings
from chalicelib.domain import status_links as links
from chalicelib.domain.errors import NotFound
from chalicelib.domain.reports import PublicStatus, public_status
from chalicelib.services.lookup import LOOKUPS_PER_SOURCE_PER_DAY, count_lookup
from chalicelib.store import people, tickets
from chalicelib.store import status_links as store
from chalicelib.store.models import StatusLinkModel
from chalicelib.store.reference import load_reference

# A link's views count on its source's daily status-lookup counter, as /tra-cuu's lookups do
# (one conditional write, the same item).
LINK_PART = "status-link"


def url(token: str) -> str | None:
    """The link as an absolute URL for messages; None when the site's address is not configured."""
    return settings().public_url(f"{links.PATH}{token}")


def page_path(token: str) -> str:
    """The link's route path (for a page of the site itself)."""
    return f"{links.PATH}{token}"


def new(code: str, who: str, now: datetime, recipient: str | None = None) -> tuple[str, list[StatusLinkModel]]:
    """A fresh token for ticket `code` and the items to store in the ticket's (or the follow's) own
    transaction."""
    token = links.new_token()
    return token, store.items(token, code, who, now, recipient)


def issue(code: str, who: str, now: datetime | None = None, recipient: str | None = None) -> str:
    """Stores a new link on its own (the ticket or the follow exists already); returns the token."""
    token = links.new_token()
    store.issue(token, code, who, now or datetime.now(timezone.utc), recipient)
    return token


def status(token: str, source: str | None = None, now: datetime | None = None) -> PublicStatus:
    """The ticket's public status behind `token`: what /tra-cuu shows its reporter; a follower's
    link shows the system's own steps and only a published answer. Raises NotFound for a token that
    is malformed, unknown, deleted, or of an anonymised ticket; TooManyRequests once this source
    looked LOOKUPS_PER_SOURCE_PER_DAY times today (links and lookups by code together)."""
    if not links.well_formed(token):
        raise NotFound()
    now = now or datetime.now(timezone.utc)
    count_lookup(source, LINK_PART, now, LOOKUPS_PER_SOURCE_PER_DAY)
    link = store.find(token)
    if link is None:
        raise NotFound()
    ticket = tickets.get_ticket(link.tracking_code)
    if ticket.anonymised_at is not None or ticket.anonymising_at is not None:
        raise NotFound()  # its links were deleted or are being deleted with the person's data
    events = [{"at": e.at, "kind": e.kind, "public": e.public, "public_text": e.public_text}
              for e in tickets.timeline(ticket.tracking_code)]
    shown = public_status(ticket.attribute_values, links.shown_events(link.who, events), load_reference())
    if link.who != links.REPORTER:
        shown = replace(shown, answer=ticket.public_answer if ticket.public_shard else None)
    return shown


def forget_ticket(code: str) -> int:
    """Ends every link to the ticket (its personal data is going); returns how many."""
    entries = store.of_ticket(code)
    for entry in entries:
        store.delete(entry)
    return len(entries)


def forget_follower(code: str, recipient: str) -> int:
    """Ends the links of the follower with this phone or Zalo id to ticket `code`; returns how many."""
    person = people.person_digest(recipient)
    entries = [entry for entry in store.of_ticket(code) if entry.person == person]
    for entry in entries:
        store.delete(entry)
    return len(entries)
