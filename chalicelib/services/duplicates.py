"""Use case: which open tickets a ticket may duplicate, for the staff ticket page's merge form: the
open tickets of the same category in the same commune (the by_place index), ranked by the words
and named places their texts share and by distance (chalicelib/domain/similarity.py, the same
rules that rank the citizens' duplicate suggestions), within what the staff member may see."""
from __future__ import annotations

from typing import Any

from chalicelib.domain import similarity
from chalicelib.domain.clock import local_text
from chalicelib.domain.lifecycle import LABELS_VI, Status
from chalicelib.domain.permissions import StaffUser, can_see
from chalicelib.store import tickets
from chalicelib.store.models import TicketModel
from chalicelib.store.reference import load_reference

CANDIDATES_READ = 30  # the newest open tickets of the place that the ranking reads
SHOWN = 5


def _place(ticket: TicketModel) -> similarity.Place:
    return similarity.Place(" ".join(filter(None, [ticket.text, ticket.address])), ticket.lat, ticket.lon)


def merge_candidates(user: StaffUser, ticket: TicketModel, limit: int = SHOWN) -> list[dict[str, Any]]:
    """Up to `limit` open tickets `ticket` may be a duplicate of, best first: {code, summary (the
    public summary, personal data masked), created, status_label, agency, distance_m (None without
    two locations)}. An agency officer is offered only their agency's tickets, as they may open
    only those. None for a ticket without a category and a commune (it has no place yet)."""
    if not ticket.category or not ticket.area:
        return []
    ref = load_reference()
    found = [t for t in tickets.open_at_place(ticket.category, ticket.area, limit=CANDIDATES_READ, whole=True)
             if t.tracking_code != ticket.tracking_code and can_see(user, t.agency)]
    common = similarity.common_words(phrase for phrase, _ in ref.categories[ticket.category].keywords) \
        if ticket.category in ref.categories else frozenset()
    mine = _place(ticket)
    ranked = similarity.rank(mine, [(t, _place(t)) for t in found], common, limit=limit)
    shown = []
    for candidate, _ in ranked:
        theirs = _place(candidate)
        distance = (round(similarity.haversine_m(mine.lat, mine.lon, theirs.lat, theirs.lon))  # type: ignore[arg-type]
                    if mine.located and theirs.located else None)
        agency = ref.agencies.get(candidate.agency or "")
        shown.append({"code": candidate.tracking_code, "summary": candidate.public_summary or "",
                      "created": local_text(candidate.created_at), "status_label": LABELS_VI[Status(candidate.status)],
                      "agency": agency.name if agency else None, "distance_m": distance})
    return shown
