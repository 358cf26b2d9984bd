"""Who may do what, in one place: staff roles (Cognito groups), their actions, the agency scope of
agency officers, and when a reporter's identity is hidden.

    operator        tổng đài viên: takes calls, triages, routes, answers, calls back
    agency_officer  cán bộ cơ quan: only the tickets routed to their own agency
    supervisor      giám sát: every ticket, deadlines and extensions
    admin           quản trị: reference data, response templates, staff accounts, personal-data
                    requests (what is held about a person, its export and erasure), the audit trail
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from chalicelib.domain.errors import Forbidden, TicketNotFound

OPERATOR, AGENCY_OFFICER, SUPERVISOR, ADMIN = "operator", "agency_officer", "supervisor", "admin"
ROLES = (OPERATOR, AGENCY_OFFICER, SUPERVISOR, ADMIN)
ROLE_LABELS_VI = {OPERATOR: "Tổng đài viên", AGENCY_OFFICER: "Cán bộ cơ quan xử lý", SUPERVISOR: "Giám sát",
                  ADMIN: "Quản trị"}

_DESK = frozenset({OPERATOR, SUPERVISOR, ADMIN})       # the hotline itself: sees every ticket
_EVERYONE = frozenset(ROLES)

# action -> roles that may do it. Every staff route asks `require(user, action)`.
ACTIONS: dict[str, frozenset[str]] = {
    "inbox": _EVERYONE,
    "view": _EVERYONE,
    "reply": _EVERYONE,
    "note": _EVERYONE,
    "callback": _EVERYONE,
    "resolve": _EVERYONE,
    "start": _EVERYONE,                 # assigned -> in progress
    "claim": _EVERYONE,                 # take a free ticket ("Việc của tôi"), give one's own back, mark a new message seen
    "reassign": _DESK,                  # give a free ticket or one's own to a colleague
    # Take a ticket off a colleague: reassign or release a ticket someone else is working on.
    "take_over": frozenset({SUPERVISOR, ADMIN}),
    "return": frozenset({AGENCY_OFFICER}),  # an agency sends a ticket back to the hotline's triage
    "categorise": _DESK,
    "assign": _DESK,
    "reject": _DESK,
    "redirect": _DESK,
    "merge": _DESK,
    "reopen": _DESK,
    "close": _DESK,
    "publish": _DESK,                   # put an answered, consented ticket on the public listing
    "phone_intake": _DESK,
    "caller_history": _DESK,
    "extend": frozenset({SUPERVISOR, ADMIN}),
    # Say why an open ticket is (or will be) late: the monthly report lists it beside the overdue ticket.
    "delay_reason": frozenset({AGENCY_OFFICER, SUPERVISOR, ADMIN}),
    "edit_templates": frozenset({ADMIN}),
    "edit_reference": frozenset({ADMIN}),
    "manage_staff": frozenset({ADMIN}),
    "manage_integrators": frozenset({ADMIN}),
    "privacy_search": frozenset({ADMIN}),     # see and export everything held about a phone or Zalo id
    "privacy_erase": frozenset({ADMIN}),      # anonymise it now, on the person's request
    "legal_hold": frozenset({SUPERVISOR, ADMIN}),  # keep a ticket's personal data past its retention
    "audit_trail": frozenset({ADMIN}),
    "statistics": _EVERYONE,            # /staff/thong-ke: an agency officer sees only their agency's figures
    "operator_statistics": frozenset({SUPERVISOR, ADMIN}),  # the per-operator workload table
    # A statistics list with the reporters' names and phones (reporter=1), audited per download.
    "export_reporter": frozenset({SUPERVISOR, ADMIN}),
    # Knowledge base (chalicelib/domain/kb.py): every role reads it and notes a question no article fits;
    # officers draft their own agency's articles (chalicelib.domain.kb.may); supervisors and admins publish.
    "kb_view": _EVERYONE,
    "kb_gap": _EVERYONE,
    "kb_edit": frozenset({AGENCY_OFFICER, SUPERVISOR, ADMIN}),
    "kb_publish": frozenset({SUPERVISOR, ADMIN}),
    "kb_gaps": frozenset({SUPERVISOR, ADMIN}),          # the gaps list: the hard questions to research
    "kb_auto_answer": frozenset({SUPERVISOR, ADMIN}),   # which categories the KB answers automatically
    # Telephony: the screen-pop, live calls, call tasks and click-to-call are the hotline desk's work;
    # the whole day's call log and the duty roster's edits are the supervisors'.
    "calls": _DESK,
    "call_log": frozenset({SUPERVISOR, ADMIN}),   # everyone's calls (an operator sees their own)
    "roster": _DESK,                               # see the duty roster, set oneself available / away
    "edit_roster": frozenset({SUPERVISOR, ADMIN}),
    # Routing that learns (/staff/quan-tri/dinh-tuyen): supervisors see the models and their figures,
    # admins retrain now and roll back.
    "routing_model_view": frozenset({SUPERVISOR, ADMIN}),
    "routing_model": frozenset({ADMIN}),
}


@dataclass(frozen=True)
class StaffUser:
    """A signed-in staff member, from a verified Cognito ID token."""

    sub: str
    email: str
    name: str
    roles: frozenset[str]
    agency: str | None = None

    @property
    def actor(self) -> str:
        """Who did it, as the timeline records it (append-only audit)."""
        return f"staff:{self.email}"

    @property
    def sees_every_agency(self) -> bool:
        return bool(self.roles & _DESK)


def user_from_claims(claims: Mapping[str, Any]) -> StaffUser:
    """Returns the staff member a verified ID token describes (unknown groups are ignored)."""
    groups = claims.get("cognito:groups") or []
    return StaffUser(sub=str(claims["sub"]), email=str(claims.get("email") or ""),
                     name=str(claims.get("name") or claims.get("email") or ""),
                     roles=frozenset(g for g in groups if g in ROLES),
                     agency=str(claims.get("custom:agency") or "") or None)


def allowed(user: StaffUser, action: str) -> bool:
    return bool(user.roles & ACTIONS[action])


def require(user: StaffUser, action: str) -> None:
    """Raises Forbidden unless one of the user's roles may do `action`."""
    if not allowed(user, action):
        raise Forbidden()


def can_see(user: StaffUser, ticket_agency: str | None) -> bool:
    """The hotline's roles see every ticket; an agency officer only those routed to their agency."""
    if user.sees_every_agency:
        return True
    return AGENCY_OFFICER in user.roles and user.agency is not None and ticket_agency == user.agency


def check_visible(user: StaffUser, ticket_agency: str | None) -> None:
    """Raises NotFound (not Forbidden: the ticket's existence is not disclosed) when out of scope."""
    if not can_see(user, ticket_agency):
        raise TicketNotFound()


def may_see_reporter(user: StaffUser, category_confidential: bool) -> bool:
    """Reporter identity (name, phone, email, Zalo id) is hidden from agency officers for
    categories marked confidential (e.g. denunciations); the hotline's roles always see it."""
    return user.sees_every_agency or not category_confidential
