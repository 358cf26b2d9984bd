"""Statistics: the figures of a period (read from the counters chalicelib.store.stats keeps, never
from tickets), the current backlog (from the open-work index), the public monthly figures per
agency, and the tickets behind a figure.

Where each figure comes from:
- received, answered, on_time, late, reopened, rejected, redirected, merged, callbacks_*, the
  duration percentiles: the day / month counters (chalicelib.domain.stats explains how each is
  counted); a closed month read whole reads its summary (the month roll-ups), a closed day its day
  summary (its day items), today its day items;
- open, overdue_open, backlog_age: now, from the by_open index (its projected entries, no ticket
  read); an area (commune) filter reads the by_place index of the commune instead; the by-commune
  rows carry no open counts (0: the open-work index projects no commune);
- kinds (questions / complaints: received, answered, on time): the same counters' q_* numbers;
- rating_*: the same counters (a rating counts on its day under the ticket's combination);
- operators: the day workload items (a whole closed month's from its summary, a closed day's from its day
  summary), supervisors and admins only.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

from chalicelib.domain import stats as rules
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.dates import filter_day
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.permissions import StaffUser, allowed, require

GRAINS = ("day", "week", "month", "quarter", "year")
MAX_DAYS = 366 * 3
FIGURES_BEHIND = ("received", "answered", "on_time", "late", "open", "overdue_open", "reopened", "rejected",
                  "redirected", "merged")
LOOKBACK_DAYS = 120  # an answer is looked for among tickets created up to this long before the period
PAGE = 50
BACKLOG_BUCKETS = (  # (label, upper bound of the hours since the ticket was received; None: no bound)
    ("Dưới 1 ngày", 24), ("1–3 ngày", 72), ("3–7 ngày", 168), ("7–30 ngày", 720), ("Trên 30 ngày", None))


@dataclass(frozen=True)
class StatsQuery:
    start: date            # first VN-local day, inclusive
    end: date              # last VN-local day, inclusive
    grain: str = "day"
    channel: str | None = None
    category: str | None = None
    agency: str | None = None
    area: str | None = None

    @property
    def filters(self) -> dict[str, str | None]:
        return {"channel": self.channel, "category": self.category, "agency": self.agency, "area": self.area}


def _refuse(name: str, vi: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldError(name, vi, en)])


def parse_query(raw: Mapping[str, str], ref: Any, now: datetime) -> StatsQuery:
    """The query in `raw` (from/to yyyy-mm-dd VN-local days, default this month; grain; filters
    channel/category/agency/area). Raises ValidationFailed naming the bad field."""
    today = now.astimezone(VN_TZ).date()
    start = filter_day(raw.get("from"), "from") or today.replace(day=1)
    end = filter_day(raw.get("to"), "to") or (today if not raw.get("from") else _month_end(start))
    if end < start:
        raise _refuse("to", "Ngày kết thúc phải sau ngày bắt đầu.", "'to' must not be before 'from'.")
    if (end - start).days > MAX_DAYS:
        raise _refuse("to", "Khoảng thời gian tối đa là 3 năm.", "The period is at most 3 years.")
    grain = (raw.get("grain") or "").strip() or ("month" if (end - start).days > 62 else "day")
    if grain not in GRAINS:
        raise _refuse("grain", "Chọn ngày, tuần, tháng, quý hoặc năm.", "grain: day, week, month, quarter or year.")
    known = {"category": ref.categories, "agency": ref.agencies, "area": ref.areas}
    values: dict[str, str | None] = {}
    for name in rules.DIMENSIONS:
        value = (raw.get(name) or "").strip() or None
        if value is not None and name in known and value not in known[name]:
            raise _refuse(name, "Giá trị lọc không có trong danh mục.", f"Unknown {name}.")
        if value is not None and len(value) > 60:
            raise _refuse(name, "Giá trị lọc không hợp lệ.", f"Invalid {name}.")
        values[name] = value
    return StatsQuery(start, end, grain, **values)


def _month_end(day: date) -> date:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _scoped(user: StaffUser, query: StatsQuery) -> StatsQuery:
    """An agency officer's query always holds their own agency."""
    if user.sees_every_agency:
        return query
    return replace(query, agency=user.agency or "\u2205")


def bucket_of(day: date, grain: str) -> str:
    """The series bucket label of `day`: 2026-11-30, 2026-W49, 2026-11, 2026-Q4, 2026."""
    if grain == "day":
        return day.isoformat()
    if grain == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return f"{day:%Y-%m}"
    if grain == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def _pieces(query: StatsQuery) -> list[tuple[str, int, int, bool]]:
    """(month, first day, last day, whole month read from the roll-up) covering the period."""
    out = []
    month = query.start.replace(day=1)
    while month <= query.end:
        last_of_month = _month_end(month)
        first = max(query.start, month)
        last = min(query.end, last_of_month)
        whole = first == month and last == last_of_month and query.grain in ("month", "quarter", "year")
        out.append((f"{month:%Y-%m}", first.day, last.day, whole))
        month = last_of_month + timedelta(days=1)
    return out


def _matches(dims: Mapping[str, str | None], query: StatsQuery) -> bool:
    return all(value is None or dims.get(name) == value for name, value in query.filters.items())


def _read(query: StatsQuery, workload: bool = False
          ) -> tuple[list[tuple[date, dict[str, str | None], dict[str, Any]]], list[dict[str, Any]]]:
    """The counter items of the period that pass the filters, (day or month start, dims, numbers),
    and with `workload` the staff workload items of the period ({actor, handled, answered}). A
    closed month read whole comes from its summary, a closed day from its day summary (each built
    on its first read, and again once stale), the days not closed yet (today) item by item; the
    summaries are read in one BatchGetItem, every Query of the period runs side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.store import stats as store

    pieces = _pieces(query)
    live = store.first_live_day()
    this_month = f"{live:%Y-%m}"
    closed = [month for month, first, last, whole in pieces if whole and month < this_month]
    summed: dict[str, list[date]] = {}  # month -> its closed days read from day summaries
    for month, first, last, whole in pieces:
        if month not in closed:
            start = date.fromisoformat(f"{month}-01")
            summed[month] = [d for d in (start.replace(day=n) for n in range(first, last + 1)) if d < live]
    wanted = [d for month_days in summed.values() for d in month_days]
    month_sums, day_sums = store.read_summaries(closed, wanted) if closed or wanted else ({}, {})
    jobs: list[tuple[str, str, Any]] = []  # (month, what it reads, how)
    for month in closed:
        jobs.append((month, "summary", lambda m=month: month_sums[m] or store.build_summary(m)))
    for month, first, last, whole in pieces:
        if month in closed:
            continue
        stale = [d.day for d in summed[month] if day_sums[d] is None]
        if stale:
            jobs.append((month, "days", lambda m=month, ns=stale: store.build_days(m, ns)))
        first_live = first + len(summed[month])
        if first_live <= last:
            jobs.append((month, "items", lambda m=month, f=first_live, la=last: store.days(m, f, la)))
            if workload:
                jobs.append((month, "work", lambda m=month, f=first_live, la=last: store.operators(m, f, la)))
    results = []
    if jobs:
        with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
            results = list(pool.map(lambda job: job[2](), jobs))
    items: dict[str, list[dict[str, Any]]] = {}
    work: list[dict[str, Any]] = []
    built: dict[str, dict[int, dict[str, Any]]] = {}
    for (month, what, _), result in zip(jobs, results):
        if what == "summary":
            items[month] = result["items"]
            work += result["operators"] if workload else []
        elif what == "days":
            built[month] = result
        elif what == "items":
            items.setdefault(month, []).extend(result)
        else:
            work += result
    for month, month_days in summed.items():
        for d in month_days:
            summary = day_sums[d] or built[month][d.day]
            items.setdefault(month, []).extend(summary["items"])
            work += summary["operators"] if workload else []
    out = []
    combos: dict[str, dict[str, str | None] | None] = {}  # a combination's dims, None when filtered out
    for month, first, last, whole in pieces:
        start = date.fromisoformat(f"{month}-01")
        days: dict[str, date] = {}
        rolled: dict[str, dict[str, Any]] = {}  # a whole month's day items added up per combination
        for item in items.get(month, []):
            sk = item["sk"]
            key = sk[2:] if sk[0] == "M" else sk[5:]
            if key not in combos:
                dims = rules.split_combo(key)
                combos[key] = dims if _matches(dims, query) else None
            dims = combos[key]
            if dims is None:
                continue
            if not whole:
                day = days.get(sk[2:4]) or days.setdefault(sk[2:4], start.replace(day=int(sk[2:4])))
                out.append((day, dims, item))
            elif sk[0] == "M":
                out.append((start, dims, item))
            else:
                line = rolled.get(key)
                if line is None:
                    line = rolled[key] = {"sk": f"M#{key}"}
                    out.append((start, dims, line))
                for name, n in item.items():
                    if name != "sk":
                        line[name] = line.get(name, 0) + (n or 0)
    return out, work


def _num(item: Mapping[str, Any], name: str) -> int:
    return int(item.get(name) or 0)


def _sums(rows: list[tuple[date, dict[str, str | None], dict[str, Any]]]) -> dict[str, int]:
    """Every counter of the rows added up (one pass over each item's own numbers)."""
    sums: dict[str, int] = {}
    for _, _, item in rows:
        for name, n in item.items():
            if name != "sk":
                sums[name] = sums.get(name, 0) + int(n or 0)
    return sums


def _names(ref: Any, dimension: str) -> dict[str, str]:
    table = {"category": ref.categories, "agency": ref.agencies, "area": ref.areas}.get(dimension)
    if table is None:
        return {"web": "Cổng thông tin", "phone": "Điện thoại", "sms": "Tin nhắn SMS", "zalo": "Zalo",
                "facebook": "Facebook", "email": "Thư điện tử", "open311": "Open311"}
    return {key: value.name for key, value in table.items()}


def _line(numbers: Mapping[str, int]) -> dict[str, Any]:
    out = {name: numbers.get(name, 0) for name in ("received", "answered", "on_time", "late")}
    out["on_time_pct"] = rules.pct(out["on_time"], out["answered"])
    return out


def _open_now(query: StatsQuery, now: datetime) -> list[dict[str, Any]]:
    """The open tickets' index entries that pass the filters (channel, category, agency, due, code)."""
    from chalicelib.store import stats as store

    entries = store.open_entries(query.area, query.category)
    return [e for e in entries if _matches({**e, "area": query.area}, query)]


def _overdue(entry: Mapping[str, Any], now: datetime) -> bool:
    due = entry.get("due")
    return due is not None and due < now


def figures(user: StaffUser, query: StatsQuery, now: datetime) -> dict[str, Any]:
    """The figures of the period within the user's scope (see the module docstring)."""
    from chalicelib.store.reference import load_reference

    require(user, "statistics")
    query = _scoped(user, query)
    ref = load_reference()
    rows, work = _read(query, allowed(user, "operator_statistics"))
    sums = _sums(rows)
    totals: dict[str, Any] = {name: sums.get(name, 0) for name in rules.COUNTS}
    opened = _open_now(query, now)
    totals["open"] = len(opened)
    totals["overdue_open"] = sum(1 for e in opened if _overdue(e, now))
    totals.update(_ratings(sums))
    for name, label in (("fa", "first_action"), ("an", "answer")):
        for kind, word in (("w", "working"), ("c", "calendar")):
            histogram = [sums.get(f"{name}_{kind}_{i}", 0) for i in range(len(rules.BUCKET_UPPER))]
            totals[f"{label}_p50_{word}_min"] = rules.percentile(histogram, 0.5)
            totals[f"{label}_p90_{word}_min"] = rules.percentile(histogram, 0.9)
    totals["on_time_pct"] = rules.pct(totals["on_time"], totals["answered"])
    totals["kinds"] = _kinds(sums)

    series: dict[str, dict[str, int]] = {}
    day = query.start
    while day <= query.end:  # every bucket, empty ones too
        series.setdefault(bucket_of(day, query.grain), {})
        day += timedelta(days=1)
    labels: dict[date, str] = {}
    combos: dict[int, tuple[dict[str, str | None], dict[str, int]]] = {}  # the period's lines per combination
    for when, dims, item in rows:
        label = labels.get(when) or labels.setdefault(when, bucket_of(when, query.grain))
        line = series.setdefault(label, {})
        combo = (combos.get(id(dims)) or combos.setdefault(id(dims), (dims, {})))[1]
        for name in ("received", "answered", "on_time", "late"):
            n = item.get(name) or 0
            line[name] = line.get(name, 0) + n
            combo[name] = combo.get(name, 0) + n

    by: dict[str, list[dict[str, Any]]] = {}
    for dimension in rules.DIMENSIONS:
        names = _names(ref, dimension)
        per: dict[str, dict[str, int]] = {}
        for dims, numbers in combos.values():
            line = per.setdefault(dims[dimension] or rules.NONE, {})
            for name, n in numbers.items():
                line[name] = line.get(name, 0) + n
        if dimension != "area":
            for entry in opened:
                line = per.setdefault(entry.get(dimension) or rules.NONE, {})
                line["open"] = line.get("open", 0) + 1
                line["overdue_open"] = line.get("overdue_open", 0) + _overdue(entry, now)
        by[dimension] = sorted(({"key": key, "name": names.get(key, "Chưa xác định" if key == rules.NONE else key),
                                 **_line(line), "open": line.get("open", 0),
                                 "overdue_open": line.get("overdue_open", 0)} for key, line in per.items()
                                if any(line.values())),
                               key=lambda row: (-row["received"], row["name"]))

    heat_cells: dict[tuple[str, str], int] = {}
    for dims, numbers in combos.values():
        cell = (dims["category"] or rules.NONE, dims["area"] or rules.NONE)
        heat_cells[cell] = heat_cells.get(cell, 0) + numbers.get("received", 0)
    categories = sorted({c for c, _ in heat_cells if heat_cells[(c, _)]})
    areas = sorted({a for _, a in heat_cells if heat_cells[(_, a)]})
    cat_names, area_names = _names(ref, "category"), _names(ref, "area")
    result: dict[str, Any] = {
        "period": {"from": query.start.isoformat(), "to": query.end.isoformat(), "grain": query.grain},
        "filters": query.filters,
        "totals": totals,
        "series": [{"bucket": key, **_line(line)} for key, line in series.items()],
        "by": by,
        "backlog_age": _backlog(opened, now),
        "heat": {"rows": [cat_names.get(c, "Chưa phân loại") for c in categories],
                 "cols": [area_names.get(a, "Chưa xác định") for a in areas],
                 "cells": [[heat_cells.get((c, a), 0) for a in areas] for c in categories]},
    }
    if allowed(user, "operator_statistics"):
        result["operators"] = _operators(work)
    return result


def _kinds(sums: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Questions and complaints of the period (received, answered, on time): questions from their own
    counters, complaints the rest (a ticket not routed yet, or routed before tickets had a kind, is one)."""
    question = {name: sums.get(f"q_{name}", 0) for name in ("received", "answered", "on_time")}
    complaint = {name: sums.get(name, 0) - n for name, n in question.items()}
    return {kind: {**line, "on_time_pct": rules.pct(line["on_time"], line["answered"])}
            for kind, line in (("question", question), ("complaint", complaint))}


def _backlog(opened: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Open tickets by age — the time since they were received — and, of each age, how many are
    past their deadline. The open-work index projects no creation time: it is read from the
    tickets (chalicelib.store.stats.created_times) unless the entries carry it."""
    from chalicelib.store import stats as store

    missing = [e["code"] for e in opened if e.get("created") is None]
    created = store.created_times(missing) if missing else {}
    rows = [{"bucket": label, "count": 0, "overdue": 0} for label, _ in BACKLOG_BUCKETS]
    for entry in opened:
        received = entry.get("created") or created.get(entry["code"])
        hours = (now - received).total_seconds() / 3600 if received else 0.0
        row = next(row for row, (_, upper) in zip(rows, BACKLOG_BUCKETS) if upper is None or hours < upper)
        row["count"] += 1
        row["overdue"] += int(_overdue(entry, now))
    return rows


def _ratings(sums: Mapping[str, int]) -> dict[str, Any]:
    count, total = sums.get("rating_count", 0), sums.get("rating_sum", 0)
    return {"rating_count": count, "rating_mean": round(total / count, 2) if count else None,
            "rating_dist": {str(n): sums.get(f"rating_{n}", 0) for n in range(1, 6)}}


def _operators(work: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Handled and answered per staff member (named from the staff directory) from the workload items."""
    from chalicelib.services.staff_directory import names

    try:
        known = {email.lower(): name for email, name in names().items()}
    except Exception:  # the directory is a nicety: the e-mail shows instead
        known = {}
    lines: dict[str, dict[str, int]] = {}
    for item in work:
        line = lines.setdefault(item.get("actor") or "?", {"handled": 0, "answered": 0})
        line["handled"] += _num(item, "handled")
        line["answered"] += _num(item, "answered")
    return sorted(({"name": known.get(actor.lower(), actor), **line} for actor, line in lines.items()),
                  key=lambda row: (-row["handled"], row["name"]))


def public_month(month: str) -> dict[str, Any]:
    """The month's figures per agency for the public page: no personal data, no operators."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise _refuse("month", "Tháng không hợp lệ (YYYY-MM).", "Invalid month (YYYY-MM).") from None
    from chalicelib.store.reference import load_reference

    query = StatsQuery(first, _month_end(first), "month")
    ref = load_reference()
    rows, _ = _read(query)
    per: dict[str, dict[str, int]] = {}
    for _, dims, item in rows:
        line = per.setdefault(dims["agency"] or rules.NONE, {})
        for name in ("received", "answered", "on_time", "late"):
            line[name] = line.get(name, 0) + _num(item, name)
    names = _names(ref, "agency")
    totals = {name: sum(line.get(name, 0) for line in per.values()) for name in ("received", "answered", "on_time",
                                                                                   "late")}
    return {"month": month, "totals": _line(totals),
            "agencies": sorted(({"key": key, "name": names.get(key, "Chưa chuyển cơ quan"), **_line(line)}
                                for key, line in per.items() if any(line.values())), key=lambda row: row["name"])}


def _encode(key: Any) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def _decode(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, TypeError):
        raise _refuse("after", "Trang không hợp lệ; hãy quay lại trang đầu.", "Invalid page.") from None


def _summary(ticket: Any) -> dict[str, Any]:
    return {"code": ticket.tracking_code, "status": ticket.status, "channel": ticket.channel,
            "category": ticket.category, "agency": ticket.agency, "area": ticket.area,
            "created_at": ticket.created_at.isoformat() if ticket.created_at else None,
            "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
            "answered_at": ticket.answered_at.isoformat() if ticket.answered_at else None,
            "answered_on_time": ticket.answered_on_time, "overdue": bool(ticket.overdue)}


def counted_events(ticket: Any, events: list[Any], figure: str, start: datetime, end: datetime) -> list[Any]:
    """The events of `ticket` (its timeline) that `figure` counts in [start, end): answers
    (answered/on_time/late, by their verdict then), reopenings, rejections, redirections, merges —
    whatever its status now, as the counters count events, not states."""
    kind = "answered" if figure in ("on_time", "late") else figure
    found = [e for e in events if e.kind == kind and start <= e.at < end]
    if figure in ("on_time", "late"):
        found = [e for e in found if bool((e.detail or {}).get("on_time", True)) == (figure == "on_time")]
    return found


def tickets_behind(user: StaffUser, query: StatsQuery, figure: str, after: str | None) -> dict[str, Any]:
    """One page of the tickets behind `figure` in the user's scope: {tickets, next}: exactly the
    tickets the figure counts. `received`: the tickets created in the period; the event figures
    (answered, on_time, late, reopened, rejected, redirected, merged): the tickets created up to
    LOOKBACK_DAYS before the period with such an event in it (a ticket answered twice in the period
    is listed once): a ticket answered once by its answer, the others by their timelines, read only
    for the tickets that ever had such an event (`stats_kinds`); open ones, the open-work index now."""
    from chalicelib.store import stats as store
    from chalicelib.store import tickets

    require(user, "statistics")
    if figure not in FIGURES_BEHIND:
        raise _refuse("figure", "Không có danh sách cho số liệu này.", "No ticket list for this figure.")
    query = _scoped(user, query)
    start = datetime.combine(query.start, datetime.min.time(), VN_TZ)
    end = datetime.combine(query.end + timedelta(days=1), datetime.min.time(), VN_TZ)
    if figure in ("open", "overdue_open"):
        found, next_key = store.open_tickets(query, figure == "overdue_open", datetime.now(timezone.utc),
                                             PAGE, _decode(after))
        return {"tickets": [_summary(t) for t in found], "next": _encode(next_key)}

    def dims(ticket: Any, agency: str | None = None) -> dict[str, Any]:
        return {**{name: getattr(ticket, name) for name in rules.DIMENSIONS}, **({"agency": agency} if agency else {})}

    def keep(ticket: Any) -> bool:
        if figure == "received":
            return start <= ticket.created_at < end and _matches(dims(ticket), query)
        if ticket.updated_at is None or ticket.updated_at < start:  # nothing happened to it since
            return False
        kinds = ticket.stats_kinds
        if figure in ("answered", "on_time", "late"):
            if ticket.answered_at is None or ticket.answered_at < start:  # its last answer: none in the period
                return False
            if kinds is not None and "reopened" not in kinds:
                # answered once: that answer, its verdict, by the agency it has now (a transfer needs a reopening)
                return ticket.answered_at < end and _matches(dims(ticket), query) and (
                    figure == "answered" or bool(ticket.answered_on_time) == (figure == "on_time"))
        elif (kinds is not None and figure not in kinds) or not _matches(dims(ticket), query):
            return False
        counted = counted_events(ticket, tickets.timeline(ticket.tracking_code), figure, start, end)
        if figure in ("answered", "on_time", "late"):  # an answer counts under the agency that gave it
            counted = [e for e in counted if _matches(dims(ticket, (e.detail or {}).get("agency") or ticket.agency),
                                                      query)]
        return bool(counted)

    since = start if figure in ("received",) else start - timedelta(days=LOOKBACK_DAYS)
    found, next_key = store.created_tickets(since.astimezone(timezone.utc), end.astimezone(timezone.utc), keep,
                                            PAGE, _decode(after))
    return {"tickets": [_summary(t) for t in found], "next": _encode(next_key)}


def backfill(first_month: str, last_month: str, lookback_days: int = LOOKBACK_DAYS) -> dict[str, int]:
    """Rebuilds the counters of whole months first_month..last_month (yyyy-mm) from the tickets:
    clears them, then replays every ticket created in those months or up to `lookback_days` before
    (whose answers, reopenings, callbacks may fall in them) from its timeline and callbacks
    (chalicelib.domain.stats.replay). For upgrades and repairs; run it while the hotline is quiet, as
    a change counted live during the rebuild of its month may be counted twice. Returns
    {tickets, items_cleared}."""
    from chalicelib.store import callbacks
    from chalicelib.store import stats as store
    from chalicelib.store import tickets
    from chalicelib.store.reference import load_reference

    try:
        start = datetime.strptime(first_month, "%Y-%m").date()
        end = _month_end(datetime.strptime(last_month, "%Y-%m").date())
    except ValueError:
        raise _refuse("month", "Tháng không hợp lệ (YYYY-MM).", "Invalid month (YYYY-MM).") from None
    if end < start:
        raise _refuse("month", "Tháng cuối phải sau tháng đầu.", "The last month must not be before the first.")
    calendar = load_reference().calendar
    cleared = 0
    month = start
    while month <= end:
        cleared += store.clear(f"{month:%Y-%m}", 1, 31)
        month = _month_end(month) + timedelta(days=1)
    since = datetime.combine(start - timedelta(days=lookback_days), datetime.min.time(), VN_TZ)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), VN_TZ)
    count, after = 0, None
    while True:
        found, after = store.created_tickets(since.astimezone(timezone.utc), until.astimezone(timezone.utc),
                                             lambda ticket: True, 200, after)
        increments = []
        for ticket in found:
            increments += rules.replay(ticket, tickets.timeline(ticket.tracking_code),
                                       callbacks.of_ticket(ticket.tracking_code), calendar, start, end)
        store.add_now(increments)
        count += len(found)
        if after is None:
            return {"tickets": count, "items_cleared": cleared}


def main(argv: list[str] | None = None) -> int:
    """`python -m chalicelib.services.stats backfill 2026-08 2026-09` (make stats-backfill)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3) or args[0] != "backfill":
        print("usage: python -m chalicelib.services.stats backfill <first yyyy-mm> [<last yyyy-mm>]")
        return 2
    result = backfill(args[1], args[-1])
    print(f"rebuilt from {result['tickets']} tickets ({result['items_cleared']} counter items replaced)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
