"""The staff inbox: lists per view (one page for the JSON API and the page's lists), the page with
its priority sections, counts per view (cached for everyone, rebuilt at most every 20 s), the
"n mới" poll, and who has a ticket open (presence).

What a poll costs (GET /staff/inbox/counts, every 25 s per open inbox): one GetItem of the cached
counts (0.5 read unit), one Select=COUNT Query of the person's MINE# partition (0.5) and one of
by_month for tickets created since the page was shown (0.5 while none came; an officer's filters
on their agency). When the counts are older than 20 s, one request (a conditional UpdateItem
claims it) rebuilds them for every scope at once: a Query over by_open reading every open ticket's
index entry (~150 bytes each: 3,000 open tickets ≈ 56 read units) and one over the unread
markers, then one UpdateItem. So a hundred staff polling cost ~1.5 units each per poll and the
rebuild at most three times a minute, whatever their number.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from chalicelib.domain import inbox as rules
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.lifecycle import is_open, Status
from chalicelib.domain.permissions import StaffUser, can_see, require
from chalicelib.domain.reference import ReferenceData
from chalicelib.store import callbacks, tickets, worklists
from chalicelib.store.models import TicketModel, WorkMarkerModel
from chalicelib.store.reference import load_reference

COUNTS_FRESH = timedelta(seconds=20)
RECOUNT_HOLD = timedelta(seconds=10)   # a rebuild that dies lets another one start after this
PRESENT_WITHIN = timedelta(seconds=90)
ARRIVED_WINDOW = timedelta(hours=12)   # "n mới" counts tickets created since the page was shown, at most this far back


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


# Lists


def _row(ticket: TicketModel, ref: ReferenceData, now: datetime, user: StaffUser,
         unread: Mapping[str, WorkMarkerModel]) -> dict[str, Any]:
    from chalicelib.services.console import summary

    marker = unread.get(ticket.tracking_code)
    return {**summary(ticket, ref, now), "unread": marker is not None,
            "unread_at": local_text(marker.at) if marker is not None else None,
            "assignee": ticket.assignee_name, "mine": bool(ticket.assignee)
            and ticket.assignee.lower() == user.email.lower()}


def _in_scope(user: StaffUser, marker: WorkMarkerModel, filters: rules.InboxFilters) -> bool:
    """A marker's copy of its ticket's scope against the user's agency and the page's filters. The
    user's own list is not cut to their agency here: its tickets are read and checked one by one, so
    one moved out of their sight is dropped rather than left behind."""
    if filters.view != "mine" and not user.sees_every_agency and marker.agency != user.agency:
        return False
    return all(not wanted or getattr(marker, name) == wanted
               for name, wanted in (("agency", filters.agency), ("category", filters.category),
                                    ("channel", filters.channel)))


def _sort_key(marker: WorkMarkerModel, view: str) -> str:
    moment = (marker.first_at or marker.at) if view == "new" else marker.at
    return f"{moment.astimezone(timezone.utc).isoformat()}|{marker.sk}"


def _still_mine(user: StaffUser, ticket: TicketModel) -> bool:
    return is_open(Status(ticket.status)) and (ticket.assignee or "").lower() == user.email.lower()


def _marker_page(user: StaffUser, filters: rules.InboxFilters, after: dict[str, Any] | None, limit: int,
                 unread: list[WorkMarkerModel]) -> tuple[list[TicketModel], dict[str, Any] | None]:
    """One page of the "new" (oldest unread first) or "mine" (longest held first) list, and the key
    of the next. Markers carry the scope they were written with; the tickets are checked again."""
    markers = unread if filters.view == "new" else worklists.mine(user.email)
    ordered = sorted((m for m in markers if _in_scope(user, m, filters)), key=lambda m: _sort_key(m, filters.view))
    if after is not None:
        start = (after.get("m") or {}).get("S")
        if not isinstance(start, str) or len(after) != 1:
            raise ValidationFailed([FieldError("after", "Trang không hợp lệ; hãy quay lại trang đầu.",
                                               "Invalid page; go back to the first page.")])
        ordered = [m for m in ordered if _sort_key(m, filters.view) > start]
    page = ordered[:limit]
    found = {t.tracking_code: t for t in tickets.whole([m.sk for m in page])}
    shown = []
    for marker in page:
        ticket = found.get(marker.sk)
        visible = ticket if ticket is not None and can_see(user, ticket.agency) else None
        if filters.view == "mine" and (visible is None or not _still_mine(user, visible)):
            worklists.drop_mine(user.email, marker.sk)  # gone, closed, given away or out of sight: off the list
            continue
        if visible is not None:
            shown.append(visible)
    last = {"m": {"S": _sort_key(page[-1], filters.view)}} if len(ordered) > limit else None
    return shown, last


def _list(user: StaffUser, filters: rules.InboxFilters, now: datetime, after: dict[str, Any] | None, limit: int,
          unread: list[WorkMarkerModel], rest_from: datetime | None = None
          ) -> tuple[list[TicketModel], dict[str, Any] | None]:
    if filters.view in rules.MARKER_VIEWS:
        return _marker_page(user, filters, after, limit, unread)
    return tickets.inbox(rules.plan(user, filters, now, rest_from), limit, after)


def listing(user: StaffUser, raw: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """One page of any view {tickets, next, filters} (the JSON API's inbox): an index query, or a
    marker partition for "new" and "mine". Raises ValidationFailed for bad filters or page keys."""
    from chalicelib.services.console import decode_cursor, encode_cursor

    require(user, "inbox")
    now, ref = _now(now), load_reference()
    filters = rules.parse_filters(raw, ref)
    unread = worklists.unread()
    items, last = _list(user, filters, now, decode_cursor(raw.get("after")), rules.PAGE_SIZE, unread)
    by_code = {m.sk: m for m in unread}
    return {"tickets": [_row(t, ref, now, user, by_code) for t in items], "next": encode_cursor(last),
            "filters": filters}


def page(user: StaffUser, raw: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """The inbox page: on the default view's first page, the priority sections (triage, new
    citizen messages, overdue; SECTION_SIZE rows each, a ticket in the first that has it) above the
    rest from now on; otherwise one page of the view. In the "Chờ gọi lại" view each row has its
    earliest open callback time (`callback_at`). Returns {sections, tickets, next, filters, counts}."""
    from chalicelib.services.console import decode_cursor, encode_cursor

    require(user, "inbox")
    now, ref = _now(now), load_reference()
    filters = rules.parse_filters(raw, ref)
    after = decode_cursor(raw.get("after"))
    unread = worklists.unread()
    by_code = {m.sk: m for m in unread}
    sections, shown = [], set()
    if rules.with_sections(filters, after is None):
        for view, title in rules.SECTIONS:
            if view in ("triage",) and not user.sees_every_agency:
                continue  # triage is the hotline's: an agency has none
            items, more = _list(user, replace(filters, view=view), now, None, rules.SECTION_SIZE, unread)
            rows = [_row(t, ref, now, user, by_code) for t in items if t.tracking_code not in shown]
            shown |= {row["code"] for row in rows}
            sections.append({"view": view, "title": title, "rows": rows, "more": more is not None})
    items, last = _list(user, filters, now, after, rules.PAGE_SIZE, unread,
                        rest_from=now if sections else None)
    rows = [_row(t, ref, now, user, by_code) for t in items if t.tracking_code not in shown]
    if filters.view == "callback":
        times = callbacks.open_times()
        for row in rows:
            row["callback_at"] = local_text(times[row["code"]]) if row["code"] in times else None
    return {"sections": sections, "tickets": rows, "next": encode_cursor(last), "filters": filters,
            "counts": counts(user, now)}


# Counts


def _rebuild(now: datetime) -> dict[str, dict[str, int]]:
    entries = (rules.OpenEntry(e.status, e.due_sort, e.agency, bool(e.held), bool(e.needs_callback))
               for e in worklists.open_entries())
    table = rules.count_views(entries, [m.agency for m in worklists.unread()], now)
    worklists.save_counts(table, now)
    return table


def counts(user: StaffUser, now: datetime | None = None) -> dict[str, int]:
    """{view: n} for the user's scope ("mine" their own), from counts at most COUNTS_FRESH old;
    a stale copy while another request rebuilds them."""
    require(user, "inbox")
    now = _now(now)
    cached = worklists.cached_counts()
    have = cached is not None and cached.counts is not None and cached.computed_at is not None
    # fresh: computed within COUNTS_FRESH, and not "in the future" (another container's clock)
    if have and timedelta(0) <= now - cached.computed_at < COUNTS_FRESH:  # type: ignore[union-attr,operator]
        table = cached.counts  # type: ignore[union-attr]
    elif worklists.claim_recount(now, RECOUNT_HOLD) or not have:
        table = _rebuild(now)
    else:
        table = cached.counts  # type: ignore[union-attr]
    mine = dict.fromkeys(rules.COUNTED, 0) | dict(table.get(rules.scope_of(user)) or {})
    mine["mine"] = worklists.mine_count(user.email)
    return mine


def poll(user: StaffUser, since_text: str, now: datetime | None = None) -> dict[str, Any]:
    """The live inbox's poll: the counts, and how many tickets in the user's scope were created
    after `since_text` (ISO time the page was shown). Raises ValidationFailed for a bad time."""
    now = _now(now)
    try:
        since = datetime.fromisoformat(since_text)
    except (TypeError, ValueError):
        since = None
    if since is None or since.tzinfo is None:
        raise ValidationFailed([FieldError("since", "Thời điểm không hợp lệ.", "Invalid time (ISO 8601 with offset).")])
    since = min(max(since, now - ARRIVED_WINDOW), now)
    agency = None if user.sees_every_agency else (user.agency or "\x00none")
    return {"counts": counts(user, now), "arrived": worklists.arrived(since, now, agency), "at": now.isoformat()}


def nav_counts(user: StaffUser) -> Callable[[], dict[str, int]]:
    """The counts for the navigation, read only when a page shows them (and once per page)."""
    memo: dict[str, dict[str, int]] = {}

    def read() -> dict[str, int]:
        if "counts" not in memo:
            from chalicelib.domain.errors import DomainError
            from chalicelib.observability import logger

            try:
                memo["counts"] = counts(user)
            except DomainError:  # counts are a help: a page never fails for want of them
                logger().warning("inbox counts unavailable")
                memo["counts"] = {}
        return memo["counts"]
    return read


# The ticket page: who works on it, who else has it open, its new message


def ticket_work(user: StaffUser, ticket: TicketModel, now: datetime | None = None) -> dict[str, Any]:
    """What the ticket page's work block shows: the assignee (and whether it is the user), the
    colleagues it could be given to (for those who may reassign), the new-message flag, and who
    else opened it within 90 s; records that the user has it open."""
    from chalicelib.domain.permissions import allowed
    from chalicelib.services import assignments

    now = _now(now)
    worklists.seen(ticket.tracking_code, user.email, user.name, now)
    flag = worklists.unread_of(ticket.tracking_code)
    still_open = is_open(Status(ticket.status))
    reassign = assignments.may_reassign(user, ticket) and still_open
    mine = bool(ticket.assignee) and ticket.assignee.lower() == user.email.lower()
    return {"assignee": ticket.assignee_name or ticket.assignee, "mine": mine, "open": still_open,
            "can_claim": allowed(user, "claim") and still_open and not ticket.assignee,
            "can_release": assignments.may_release(user, ticket),
            "colleagues": assignments.candidates(ticket) if reassign else [],
            "can_reassign": reassign,
            "unread_at": local_text(flag.at) if flag is not None else None,
            "unread_since": local_text(flag.first_at) if flag is not None and flag.first_at else None,
            "others": others(user, ticket.tracking_code, now)}


def others(user: StaffUser, code: str, now: datetime) -> list[str]:
    """The names of colleagues seen on the ticket within PRESENT_WITHIN (not the user)."""
    mine = worklists.staff_digest(user.email)
    return [m.name or "" for m in worklists.present(code, now - PRESENT_WITHIN) if m.sk != mine]


def heartbeat(user: StaffUser, code: str, now: datetime | None = None) -> dict[str, Any]:
    """The ticket page's presence heartbeat: records the user on the ticket (one they may see;
    TicketNotFound otherwise) and returns who else has it open."""
    from chalicelib.services.console import load

    require(user, "view")
    now = _now(now)
    ticket = load(user, code)
    worklists.seen(ticket.tracking_code, user.email, user.name, now)
    return {"others": others(user, ticket.tracking_code, now), "at": now.isoformat()}
