"""Statistics, the pure part: which counters a ticket's change adds to, the duration histograms,
and the percentiles read back from them. chalicelib.store.stats writes what this computes (the
one writer of the counters); chalicelib.services.stats reads them.

Counting rules (README "Statistics"):
- every count is filed under the VN-local day it happened and the ticket's channel, category,
  agency and commune (area) at that moment (after the change: an answer by the agency a ticket was
  transferred to counts for that agency);
- `received` follows the ticket: when its category, commune or agency changes, its one `received`
  moves from the old combination to the new one on its creation day, so "received by agency" is
  what each agency got;
- an answer is on time when given at or before the deadline in force at that moment (`due_at`, which
  includes every extension a supervisor granted, and restarts when a ticket is reopened); a ticket
  without a deadline is on time;
- questions (a ticket whose `kind` is "question", chalicelib.domain.questions) are also counted in
  `q_received`, `q_answered`, `q_on_time` of the same counter items (no dimension of their own, so no
  more items); complaints are the rest. A ticket becomes a question when it is routed: its
  `q_received` is then added on its creation day, like a moved `received`;
- durations go into fixed log-scale buckets (BUCKET_UPPER, minutes), in working time (the holiday
  calendar) and calendar time; a percentile is the upper bound of the bucket holding it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.working_time import WorkCalendar, working_seconds_between

NONE = "-"
# Upper bounds of the duration buckets, in minutes (the last one open-ended).
BUCKET_UPPER = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 960, 1440, 2880, 5760, 11520, 23040, 46080, 10**9)
HISTOGRAMS = ("fa_w", "fa_c", "an_w", "an_c")  # first action / answer × working / calendar minutes
LISTED_EVENTS = ("reopened", "rejected", "redirected", "merged")  # counted as events: listed by their timeline
COUNTS = ("received", "answered", "on_time", "late", "reopened", "rejected", "redirected", "merged",
          "callbacks_due", "callbacks_done", "callbacks_within_30", "rating_count", "rating_sum",
          "q_received", "q_answered", "q_on_time")
QUESTION = "question"  # a ticket's `kind` (chalicelib.domain.questions); anything else is a complaint
RATINGS = tuple(f"rating_{n}" for n in range(1, 6))
FIELDS = COUNTS + RATINGS + tuple(f"{h}_{i}" for h in HISTOGRAMS for i in range(len(BUCKET_UPPER)))
DIMENSIONS = ("channel", "category", "agency", "area")
CALLBACK_GRACE_MIN = 30


def local_day(moment: datetime) -> date:
    """The VN-local day of `moment` (UTC+7, no DST)."""
    return moment.astimezone(VN_TZ).date()


def combo(channel: str | None, category: str | None, agency: str | None, area: str | None) -> str:
    """The counter item's combination key: channel|category|agency|area, '-' where unknown."""
    return "|".join((value or NONE).replace("|", "/") for value in (channel, category, agency, area))


def split_combo(key: str) -> dict[str, str | None]:
    parts = key.split("|")
    return {name: (None if value == NONE else value) for name, value in zip(DIMENSIONS, parts)}


def bucket(minutes: float) -> int:
    """The index of the histogram bucket holding `minutes`."""
    for index, upper in enumerate(BUCKET_UPPER):
        if minutes <= upper:
            return index
    return len(BUCKET_UPPER) - 1


def percentile(histogram: list[int], share: float) -> float | None:
    """The upper bound (minutes) of the bucket holding the `share` quantile; None when empty."""
    total = sum(histogram)
    if total <= 0:
        return None
    rank, seen = share * total, 0
    for index, count in enumerate(histogram):
        seen += count
        if count and seen >= rank:
            return float(BUCKET_UPPER[index])
    return float(BUCKET_UPPER[-1])


@dataclass
class Increment:
    """Numbers to ADD to the counters of one day and one combination (or, with `operator`, to
    that staff member's counters of the day)."""

    day: date
    key: str
    counts: dict[str, int] = field(default_factory=dict)
    operator: str | None = None

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def durations(name: str, start: datetime, end: datetime, calendar: WorkCalendar | None) -> dict[str, int]:
    """The two histogram counts (working, calendar) of a duration from `start` to `end`."""
    calendar_min = max((end - start).total_seconds(), 0) / 60
    working_min = working_seconds_between(calendar, start, end) / 60 if calendar else calendar_min
    return {f"{name}_w_{bucket(working_min)}": 1, f"{name}_c_{bucket(calendar_min)}": 1}


def is_staff(actor: str | None) -> bool:
    return bool(actor) and str(actor).startswith("staff:")


# The timeline events that are a staff member's work on the ticket: they count for per-operator
# workload (`handled`) and the first one is the ticket's first staff action. Not work: the other
# half of a merge (merged_from), followers joining or leaving, claiming/releasing a ticket,
# publishing it, legal holds, anonymisation and photo removal (data care, not handling), notices.
WORK = frozenset({"created", "routed", "recategorised", "assigned", "transferred", "returned", "started", "reply",
                  "note", "callback_scheduled", "callback_done", "answered", "rejected", "redirected", "merged",
                  "reopened", "closed", "deadline_extended", "clock_paused", "clock_resumed"})


def is_work(kind: str, actor: str | None) -> bool:
    """Whether an event of `kind` by `actor` is staff work (the one rule for the live counters and
    the backfill)."""
    return is_staff(actor) and kind in WORK


def on_creation(fields: dict[str, Any], actor: str, at: datetime) -> list[Increment]:
    """A new ticket: one `received` on its creation day; a ticket typed in by staff (phone intake)
    has had its first staff action at once (0 min)."""
    inc = Increment(local_day(fields["created_at"]), combo(fields.get("channel"), fields.get("category"),
                                                           fields.get("agency"), fields.get("area")))
    inc.add("received")
    if fields.get("kind") == QUESTION:
        inc.add("q_received")
    out = [inc]
    if is_work("created", actor):
        inc.counts.update({"fa_w_0": 1, "fa_c_0": 1})
        out.append(Increment(local_day(at), "", {"handled": 1}, operator=actor[len("staff:"):]))
    return out


def on_change(ticket: Any, target: str | None, changes: dict[str, Any], kind: str, actor: str, at: datetime,
              calendar: WorkCalendar | None) -> list[Increment]:
    """What a ticket's change adds: `ticket` as read before it (channel, category, agency, area,
    created_at, due_at, first_action_at), `target` its new status (None: unchanged), `changes` the
    attributes it sets, `kind` its timeline event, `actor` who did it (staff:<e-mail>, system:…,
    citizen:…)."""
    after = {name: changes[name] if name in changes else getattr(ticket, name, None) for name in DIMENSIONS}
    before_key = combo(*(getattr(ticket, name, None) for name in DIMENSIONS))
    key = combo(*(after[name] for name in DIMENSIONS))
    was_question = getattr(ticket, "kind", None) == QUESTION
    question = (changes["kind"] if "kind" in changes else getattr(ticket, "kind", None)) == QUESTION
    out: list[Increment] = []
    if (key != before_key or question != was_question) and ticket.created_at is not None:
        created = local_day(ticket.created_at)
        out.append(Increment(created, before_key, {"received": -1, **({"q_received": -1} if was_question else {})}))
        out.append(Increment(created, key, {"received": 1, **({"q_received": 1} if question else {})}))
    inc = Increment(local_day(at), key)
    if target == "answered":
        inc.add("answered")
        on_time = changes.get("answered_on_time")
        if on_time is None:
            on_time = ticket.due_at is None or at <= ticket.due_at
        inc.add("on_time" if on_time else "late")
        if question:
            inc.counts.update({"q_answered": 1, **({"q_on_time": 1} if on_time else {})})
        inc.counts.update(durations("an", ticket.created_at, at, calendar))
    elif target in ("reopened", "rejected", "redirected", "merged"):
        inc.add(target)
    staff_work = is_work(kind, actor)
    if staff_work and getattr(ticket, "first_action_at", None) is None:
        inc.counts.update(durations("fa", ticket.created_at, at, calendar))
    if inc.counts:
        out.append(inc)
    if staff_work:
        work = {"handled": 1}
        if target == "answered":
            work["answered"] = 1
        out.append(Increment(local_day(at), "", work, operator=actor[len("staff:"):]))
    return out


def first_action_change(ticket: Any, kind: str, actor: str, at: datetime) -> dict[str, Any]:
    """The ticket attribute that records its first staff action (set once)."""
    return {"first_action_at": at} if is_work(kind, actor) and getattr(ticket, "first_action_at", None) is None else {}


def on_callback(ticket: Any, due: datetime, done_at: datetime | None) -> list[Increment]:
    """A callback scheduled for `due` (done_at None) or done at `done_at`: counted on the due day."""
    inc = Increment(local_day(due), combo(*(getattr(ticket, name, None) for name in DIMENSIONS)))
    if done_at is None:
        inc.add("callbacks_due")
    else:
        inc.add("callbacks_done")
        if abs((done_at - due).total_seconds()) <= CALLBACK_GRACE_MIN * 60:
            inc.add("callbacks_within_30")
    return [inc]


def on_rating(ticket: Any, rating: int, at: datetime) -> list[Increment]:
    """A satisfaction rating (1–5): counted on its day under the ticket's combination."""
    return [Increment(local_day(at), combo(*(getattr(ticket, name, None) for name in DIMENSIONS)),
                      {"rating_count": 1, "rating_sum": rating, f"rating_{rating}": 1})]


def merge(increments: Iterable[Increment]) -> list[Increment]:
    """The increments with the same day, key and operator added together (zeros dropped)."""
    merged: dict[tuple[date, str, str | None], Increment] = {}
    for inc in increments:
        target = merged.setdefault((inc.day, inc.key, inc.operator), Increment(inc.day, inc.key, {}, inc.operator))
        for name, n in inc.counts.items():
            target.add(name, n)
    return [inc for inc in merged.values() if any(inc.counts.values())]


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def replay(ticket: Any, events: list[Any], callbacks: list[Any], calendar: WorkCalendar | None,
           first: date, last: date) -> list[Increment]:
    """What live counting added for one ticket on the days first..last, rebuilt from the ticket,
    its timeline (oldest first) and its callbacks (the backfill). Counts are filed under the
    ticket's dimensions now, answers under the agency that gave them (their event records it)."""
    dims = {name: getattr(ticket, name, None) for name in DIMENSIONS}
    key = combo(*dims.values())
    out: list[Increment] = []
    first_done = False
    created_by_staff = bool(events) and events[0].kind == "created" and is_work("created", events[0].actor)
    question = getattr(ticket, "kind", None) == QUESTION
    received = Increment(local_day(ticket.created_at), key, {"received": 1, **({"q_received": 1} if question else {})})
    if created_by_staff:
        received.counts.update({"fa_w_0": 1, "fa_c_0": 1})
        out.append(Increment(local_day(ticket.created_at), "", {"handled": 1}, operator=events[0].actor[6:]))
        first_done = True
    out.append(received)
    done_at = {(e.detail or {}).get("callback"): e.at for e in events if e.kind == "callback_done"}
    for event in events[1:] if events and events[0].kind == "created" else events:
        day = local_day(event.at)
        inc = Increment(day, key)
        staff = is_work(event.kind, event.actor)
        if event.kind == "answered":
            detail = event.detail or {}
            inc.key = combo(dims["channel"], dims["category"], detail.get("agency", dims["agency"]), dims["area"])
            inc.add("answered")
            inc.add("on_time" if detail.get("on_time", True) else "late")
            if question:
                inc.counts.update({"q_answered": 1, **({"q_on_time": 1} if detail.get("on_time", True) else {})})
            inc.counts.update(durations("an", ticket.created_at, event.at, calendar))
        elif event.kind in ("reopened", "rejected", "redirected", "merged"):
            inc.add(event.kind)
        if staff and not first_done:
            inc.counts.update(durations("fa", ticket.created_at, event.at, calendar))
            first_done = True
        if inc.counts:
            out.append(inc)
        if staff:
            work = {"handled": 1, **({"answered": 1} if event.kind == "answered" else {})}
            out.append(Increment(day, "", work, operator=event.actor[6:]))
    for event in events:
        rating = (event.detail or {}).get("rating") if event.kind == "rated" else None
        if isinstance(rating, int) and 1 <= rating <= 5:
            out += on_rating(ticket, rating, event.at)
    for callback in callbacks:
        out += on_callback(ticket, callback.due_at, None)
        if callback.sk in done_at:
            out += on_callback(ticket, callback.due_at, done_at[callback.sk])
    return [inc for inc in merge(out) if first <= inc.day <= last]
