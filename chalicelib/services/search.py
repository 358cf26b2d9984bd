"""Free-text search of tickets for staff, and the index behind it (the index's one writer).

The index is one SQLite FTS5 file per month in S3 (chalicelib.store.search_index), written only
by `index` (the `index_search` schedule, every 5 minutes) and `rebuild`; its state — which
months have a file, at which ETag, when each month was last re-read, and `high`, the creation
time up to which every ticket is in it — lives in the job's cursor item. A search reads that
item, matches the months' files (copies in /tmp, fetched again only when their ETag moved),
matches tickets created after `high` in Python (so a ticket is findable the moment it exists),
then reads the candidates themselves and keeps only those the staff member may see: the index
only narrows, the tickets decide (scope, confidential reporters, anonymised tickets).

`python -m chalicelib.services.search rebuild` recomputes every month's file from the tickets
(with the stage's environment); on AWS, invoke the function with {"detail": {"rebuild": true}}.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

from chalicelib.domain import search as rules
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import Conflict, SearchIndexRefused
from chalicelib.domain.lifecycle import LABELS_VI, Status
from chalicelib.domain.permissions import StaffUser, can_see, may_see_reporter, require
from chalicelib.domain.reference import ReferenceData
from chalicelib.observability import logger
from chalicelib.store import cursors
from chalicelib.store import search_index as store
from chalicelib.store.models import TicketModel
from chalicelib.store.reference import load_reference
from chalicelib.store.tickets import whole

CURSOR = "search_index"
SETTLE = timedelta(minutes=2)   # a ticket is indexed once this old: routed, and in the by_month index
NEW_PER_RUN = 2000
REQUESTS_PER_RUN = 200
# How often the indexer re-reads a whole month for changes (agency, category, commune,
# anonymisation): the month now, the one before, and older ones. A search reads every candidate
# back, so a stale row never shows what it should not: it can only miss, for an agency officer,
# a ticket transferred to their agency since (their inbox lists it meanwhile).
REREAD = (timedelta(hours=1), timedelta(hours=6), timedelta(hours=24))
PAGE = 20
CHECK_BUDGET = 200   # candidates read per page at most (an agency officer's rare hits stay bounded)
CHUNK = 60           # index rows per query of one month's file
TAIL_MAX = 100       # tickets newer than the index matched in Python at most


# The indexer's state (the cursor item's value)


@dataclass
class State:
    high: datetime | None = None                     # every ticket created up to here is indexed
    files: dict[str, str] = field(default_factory=dict)   # month -> ETag of its file
    read: dict[str, str] = field(default_factory=dict)    # month -> when it was last re-read whole

    @classmethod
    def load(cls, value: str | None) -> "State":
        if not value:
            return cls()
        data = json.loads(value)
        return cls(datetime.fromisoformat(data["high"]) if data.get("high") else None, dict(data.get("files", {})),
                   dict(data.get("read", {})))

    def dump(self) -> str:
        return json.dumps({"high": self.high.isoformat() if self.high else None, "files": self.files,
                           "read": self.read}, sort_keys=True)


def _by_code(codes: Iterable[str]) -> dict[str, TicketModel]:
    """The tickets with these codes that exist, bodies included (BatchGetItem), by code."""
    return {ticket.tracking_code: ticket for ticket in whole(list(codes))}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + (number == 12)}-{number % 12 + 1:02d}"


def document(ticket: TicketModel, ref: ReferenceData) -> store.Doc:
    """What the index keeps of a ticket: folded words of its text, the reporter's name, the
    address with the commune's name; the agency and category to narrow a search before the
    ticket itself is read."""
    area = ref.areas.get(ticket.area or "")
    return store.Doc(code=ticket.tracking_code, order=rules.order_key(ticket.created_at),
                     updated=ticket.updated_at.isoformat(), agency=ticket.agency, category=ticket.category,
                     area=ticket.area, body=rules.indexed(ticket.text), name=rules.indexed(ticket.reporter_name),
                     place=rules.indexed(ticket.address, area.name if area else None))


# Writing the index


@dataclass
class _Work:
    put: set[str] = field(default_factory=set)    # (re)read these tickets
    drop: set[str] = field(default_factory=set)
    reread: bool = False


def _new_tickets(state: State, window: list[str], until: datetime) -> tuple[list[TicketModel], datetime | None]:
    """Tickets created after state.high up to `until`, oldest first, at most NEW_PER_RUN, and the
    new high-water mark (`until` once every month up to now has been walked; unchanged when there
    was nothing new, so a quiet night writes nothing)."""
    oldest, high = window[-1], state.high
    month = rules.month_of(high) if high is not None else oldest
    if month < oldest:
        month, high = oldest, None
    found: list[TicketModel] = []
    while month <= window[0]:
        wanted = NEW_PER_RUN - len(found)
        page = store.created(month, high if high is not None and rules.month_of(high) == month else None, until,
                             wanted)
        found += page
        if len(page) >= wanted:
            return found, found[-1].created_at
        month = _next_month(month)
    return found, (until if found or high is None else state.high)


def _due_reread(state: State, window: list[str], now: datetime) -> str | None:
    """The month most overdue for a whole re-read (None: none is due)."""
    def overdue(position: int, month: str) -> float:
        period = REREAD[min(position, len(REREAD) - 1)]
        last = state.read.get(month)
        return float("inf") if last is None else (now - datetime.fromisoformat(last)) / period
    ranked = sorted(((overdue(i, m), m) for i, m in enumerate(window) if m in state.files), reverse=True)
    return ranked[0][1] if ranked and ranked[0][0] >= 1 else None


def _apply(month: str, work: _Work, ref: ReferenceData, high: datetime | None, known: str | None
           ) -> tuple[str | None, int, int]:
    """Updates one month's file (`known`: its ETag as the state has it): re-reads it whole when
    asked, (re)indexes and drops tickets, publishes it if anything changed. Returns (its ETag,
    tickets indexed, rows dropped); raises Conflict when another writer replaced the file meanwhile
    (nothing written)."""
    shard, etag = store.open_copy(month, known=known)
    try:
        if work.reread:
            held = shard.versions()
            listed = set()
            for entry in store.of_month(month):
                listed.add(entry.tracking_code)
                version = held.get(entry.tracking_code)
                if version is None and high is not None and entry.created_at <= high:
                    work.put.add(entry.tracking_code)
                elif version is not None and version != (entry.updated_at.isoformat(), entry.agency, entry.category):
                    work.put.add(entry.tracking_code)
            work.drop |= set(held) - listed
        found = _by_code(work.put)
        docs = [document(t, ref) for code, t in found.items() if t.anonymised_at is None]
        gone = work.drop | {code for code in work.put if code not in found or found[code].anonymised_at is not None}
        indexed, dropped = shard.put(docs), shard.drop(gone)
        if not indexed and not dropped:
            store.discard(shard)
            return etag, 0, 0
        return store.publish(shard, month, etag), indexed, dropped
    except BaseException:
        store.discard(shard)
        raise


def index(now: datetime | None = None) -> dict[str, int]:
    """One run of the indexer: adds the tickets created since the last run, re-reads the tickets
    the privacy service asked for, re-reads one month whole when its time has come, removes months
    that left the window. Returns counts; a conflict with another writer ends the run early (the
    next run does its work again, from the new files)."""
    now = _now(now)
    cursor = cursors.read(CURSOR)
    state = State.load(cursor.value)
    window = rules.months(now)
    ref = load_reference()
    work: dict[str, _Work] = {}
    new, high = _new_tickets(state, window, now - SETTLE)
    for ticket in new:
        work.setdefault(rules.month_of(ticket.created_at), _Work()).put.add(ticket.tracking_code)
    requests = store.requests(REQUESTS_PER_RUN)
    for month, code in requests:
        if month in window:
            work.setdefault(month, _Work()).put.add(code)
    reread = _due_reread(state, window, now)
    if reread is not None:
        work.setdefault(reread, _Work()).reread = True
    counts = {"indexed": 0, "dropped": 0, "files_written": 0, "conflicts": 0}
    for month in sorted(work, reverse=True):
        try:
            etag, indexed, dropped = _apply(month, work[month], ref, high, state.files.get(month))
        except Conflict:
            counts["conflicts"] += 1
            logger().warning("search index: another writer replaced a month's file; the next run redoes it",
                             extra={"month": month})
            return counts
        if etag is not None:
            counts["files_written"] += int(etag != state.files.get(month))
            state.files[month] = etag
        if work[month].reread:
            state.read[month] = now.isoformat()
        counts["indexed"] += indexed
        counts["dropped"] += dropped
    for month in [m for m in state.files if m not in window]:
        store.remove(month)
        state.files.pop(month)
        state.read.pop(month, None)
    state.high = high
    if state.dump() != cursor.value and not cursors.save(cursor, state.dump(), now):
        return counts  # another run saved first: the requests stay for the next run
    for month, code in requests:
        store.done(month, code)
    return counts


def rebuild(now: datetime | None = None) -> dict[str, int]:
    """Recomputes every month's file of the window from the tickets (the source of truth) and
    resets the state; the scheduled runs carry on from it. Returns counts; raises Conflict when
    another writer replaced a month's file three times running (the state is left as it was, every
    month still listed: run it again)."""
    now = _now(now)
    ref = load_reference()
    window = rules.months(now)
    files, indexed = {}, 0
    for month in window:
        codes = [entry.tracking_code for entry in store.of_month(month)]
        for attempt in range(3):
            shard, etag = store.open_copy(month, empty=True)
            try:
                for start in range(0, len(codes), 500):
                    found = _by_code(codes[start:start + 500])
                    indexed += shard.put(document(t, ref) for t in found.values() if t.anonymised_at is None)
                shard.compact()
                files[month] = store.publish(shard, month, etag)
                break
            except Conflict:
                if attempt == 2:
                    raise  # leaving the month out of the state would orphan its file
                continue
            except BaseException:
                store.discard(shard)
                raise
    state = State(high=now - SETTLE, files=files, read={month: now.isoformat() for month in files})
    for _ in range(5):
        cursor = cursors.read(CURSOR)
        for month in State.load(cursor.value).files:
            if month not in window:
                store.remove(month)
        if cursors.save(cursor, state.dump(), now):
            break
    return {"indexed": indexed, "files_written": len(files)}


def forget(ticket: TicketModel, now: datetime | None = None) -> None:
    """Asks the indexer to read `ticket` again: its personal data was removed, so its words leave
    the index at the next run (within 5 minutes; a search never shows it meanwhile)."""
    store.request(ticket.tracking_code, ticket.created_month or rules.month_of(ticket.created_at), _now(now))


# Searching


@dataclass(frozen=True)
class _Candidate:
    order: int
    code: str
    name_only: bool           # matched only with the reporter's name
    ticket: TicketModel | None = None


def _tail(state: State, window: list[str], query: rules.Query, restricted: bool, ref: ReferenceData,
          now: datetime) -> tuple[list[_Candidate], bool]:
    """Tickets created after the index's high-water mark that match, newest first (matched in
    Python on the tickets themselves), and whether there were more than TAIL_MAX of them."""
    high = state.high
    first = max(rules.month_of(high), window[-1]) if high is not None else window[-1]
    found: list[TicketModel] = []
    for month in window:
        if month < first or len(found) >= TAIL_MAX:
            break
        found += store.created(month, high, now, TAIL_MAX - len(found), newest_first=True)
    tickets = _by_code(t.tracking_code for t in found)
    candidates = []
    for entry in found:
        ticket = tickets.get(entry.tracking_code)
        if ticket is None:
            continue
        area = ref.areas.get(ticket.area or "")
        columns = {rules.BODY: rules.indexed(ticket.text), rules.NAME: rules.indexed(ticket.reporter_name),
                   rules.PLACE: rules.indexed(ticket.address, area.name if area else None)}
        if rules.matches(query, columns):
            candidates.append(_Candidate(rules.order_key(ticket.created_at), ticket.tracking_code,
                                         restricted and not rules.matches(query, columns, rules.WITHOUT_NAME), ticket))
    return candidates, len(found) >= TAIL_MAX


def _from_files(state: State, window: list[str], query: rules.Query, user: StaffUser, confidential: tuple[str, ...],
                before: int | None) -> Iterator[_Candidate]:
    """Index rows that match, newest first, month after month: for an agency officer only their
    agency's, and matched by the reporter's name only where the category was not confidential."""
    restricted = not user.sees_every_agency
    for month in window:
        etag = state.files.get(month)
        if etag is None or (before is not None and rules.month_of(
                datetime.fromtimestamp(before / 1_000_000, timezone.utc)) < month):
            continue
        try:
            path = store.cached(month, etag)
        except SearchIndexRefused:
            logger().error("search index: S3 refused to read a month's file (check the role's grants)",
                           extra={"month": month})
            raise
        if path is None:
            continue
        with store.reader(path) as shard:
            cursor = before
            while True:
                if not restricted:
                    rows = shard.find(rules.fts(query), cursor, CHUNK)
                    full = len(rows) == CHUNK
                    plain = {row.order for row in rows}
                else:
                    plain_rows = shard.find(rules.fts(query, rules.WITHOUT_NAME), cursor, CHUNK, agency=user.agency)
                    named = shard.find(rules.fts(query), cursor, CHUNK, agency=user.agency,
                                       without_categories=confidential)
                    cut = max([rows[-1].order for rows in (plain_rows, named) if len(rows) == CHUNK], default=None)
                    plain = {row.order for row in plain_rows}
                    rows = sorted({row.order: row for row in [*plain_rows, *named]}.values(),
                                  key=lambda row: row.order, reverse=True)
                    rows = [row for row in rows if cut is None or row.order >= cut]
                    full = cut is not None
                for row in rows:
                    yield _Candidate(row.order, row.code, restricted and row.order not in plain)
                if not full or not rows:
                    break
                cursor = rows[-1].order


def _card(ticket: TicketModel, query: rules.Query, user: StaffUser, ref: ReferenceData) -> dict[str, Any]:
    category = ref.categories.get(ticket.category or "")
    area = ref.areas.get(ticket.area or "")
    status = Status(ticket.status)
    card: dict[str, Any] = {
        "code": ticket.tracking_code, "status": status.value, "status_label": LABELS_VI[status],
        "category": category.name if category else None, "area": area.name if area else None,
        "created": local_text(ticket.created_at), "excerpt": rules.highlight(ticket.text, query),
        "address": None, "reporter": None}
    if ticket.address and set(rules.words(ticket.address)) & query.words:
        card["address"] = rules.highlight(ticket.address, query)
    if ticket.reporter_name and may_see_reporter(user, bool(category and category.confidential)) and \
            set(rules.words(ticket.reporter_name)) & query.words:
        card["reporter"] = rules.highlight(ticket.reporter_name, query)
    return card


def _visible(candidate: _Candidate, ticket: TicketModel | None, user: StaffUser, ref: ReferenceData) -> bool:
    if ticket is None or ticket.anonymised_at is not None or not can_see(user, ticket.agency):
        return False
    category = ref.categories.get(ticket.category or "")
    return not candidate.name_only or may_see_reporter(user, bool(category and category.confidential))


def search(user: StaffUser, text: str, after: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Tickets whose text, reporter's name, address or commune hold every word of `text`, newest
    first, PAGE at a time, among those `user` may see: {tickets: [card], next: token or None,
    months: how far back, index_behind: bool}. Raises ValidationFailed (q, after)."""
    require(user, "inbox")
    query = rules.parse(text)
    position = rules.decode_after(after)
    now = _now(now)
    ref = load_reference()
    state = State.load(cursors.read(CURSOR).value)
    window = rules.months(now)
    restricted = not user.sees_every_agency
    result: dict[str, Any] = {"tickets": [], "next": None, "since": window[-1], "index_behind": False}
    if restricted and not user.agency:
        return result
    confidential = tuple(c.id for c in ref.categories.values() if c.confidential)
    tail, result["index_behind"] = _tail(state, window, query, restricted, ref, now)
    before = position[0] if position else None
    seen: set[str] = set()

    def candidates() -> Iterator[_Candidate]:
        for candidate in tail:
            if before is None or candidate.order < before:
                seen.add(candidate.code)
                yield candidate
        for candidate in _from_files(state, window, query, user, confidential, before):
            if candidate.code not in seen:
                seen.add(candidate.code)
                yield candidate

    stream, examined, last, left = candidates(), 0, None, False
    while len(result["tickets"]) < PAGE and examined < CHECK_BUDGET:
        batch = [c for _, c in zip(range(min(PAGE * 2, CHECK_BUDGET - examined)), stream)]
        if not batch:
            return result
        loaded = _by_code(c.code for c in batch if c.ticket is None)
        for place, candidate in enumerate(batch):
            examined += 1
            last = candidate
            ticket = candidate.ticket or loaded.get(candidate.code)
            if _visible(candidate, ticket, user, ref):
                assert ticket is not None
                result["tickets"].append(_card(ticket, query, user, ref))
                if len(result["tickets"]) == PAGE:
                    left = place + 1 < len(batch)
                    break
    if last is not None and (left or next(stream, None) is not None):
        result["next"] = rules.encode_after(last.order, last.code)
    return result


def main(arguments: list[str]) -> None:
    if arguments[:1] != ["rebuild"]:
        raise SystemExit("usage: python -m chalicelib.services.search rebuild")
    print(json.dumps(rebuild()))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
