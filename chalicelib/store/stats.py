"""Statistics counters: the one writer of derived figures (chalicelib.domain.stats computes every
increment) and their reader.

Items (one table, pk=STATS#<yyyy-mm> of the VN-local day):
    sk=D#<dd>#<channel|category|agency|area>   a day's counters of one combination
    sk=M#<channel|category|agency|area>        the same for the whole month: no longer written (a
                                               month is the sum of its days); older months may hold them
    sk=O#<dd>#<digest of the e-mail>           a staff member's workload of a day (handled, answered)
    sk=SUM                                     a closed month's roll-up (its day items added up per
                                               combination, as M#<combo> items) and its workload per
                                               staff member in one zlib-compressed JSON blob (`blob`),
                                               built on first read from its day summaries, valid while
                                               `seen` equals the DIRTY item's `handled` and `format`
                                               is SUMMARY_FORMAT
    sk=DSUM#<dd>                               a closed day's D# items and its workload per staff
                                               member, the same way: valid while `seen` equals the
                                               DIRTY item's d<dd> and `format` is DAY_FORMAT
    sk=C#<dd>#<hh>                             call-centre counters of a VN-local hour (add_call_figures,
                                               chalicelib.domain.call_stats), in the call's / task's transaction
    sk=DIRTY                                   `handled` counts the writes into the month after it
                                               closed, d01..d31 the writes into each day after it
                                               closed (a transfer moving `received` to an old creation
                                               day, a late callback): they make its summary stale
Each change ADDs, in the ticket's own transaction (2 write units per item), so a counter moves
exactly when the ticket does, or not at all; a change to a day before today (VN-local) ADDs to the
DIRTY item of its month in that transaction too (one item per month touched, 2 more write units).

A day is closed for the readers SETTLE after its end (first_live_day): a write whose transaction
began before midnight, and so did not count the day as closed, has landed by then.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from pynamodb.transactions import TransactWrite

from chalicelib.domain import stats as rules
from chalicelib.domain.clock import VN_TZ
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store import pages
from chalicelib.store.models import NO_DUE, TICKET_SK, StatsCounterModel, TicketModel, ticket_pk


SUMMARY_MAX_BYTES = 350_000  # under DynamoDB's 400 KB item limit
SUMMARY_FORMAT = 2  # 2: the M# items and the month's workload per staff member; another format is rebuilt
DAY_FORMAT = 1  # a day summary: the day's D# items and its workload per staff member
SETTLE = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def first_live_day() -> date:
    """The first VN-local day the readers read item by item (today, or yesterday for SETTLE after
    midnight); the days before it are closed: read from their summaries."""
    return (_now() - SETTLE).astimezone(VN_TZ).date()


def pk(day: date) -> str:
    return f"STATS#{day:%Y-%m}"


def _operator_sk(day: date, operator: str) -> str:
    return f"O#{day:%d}#{hashlib.sha256(operator.lower().encode()).hexdigest()[:16]}"


def items_of(increments: Iterable[rules.Increment]) -> list[tuple[Any, list[Any]]]:
    """The (item, ADD actions) the increments make: a combination's day item, an operator's day
    item, and the month's DIRTY item when a day before today changes (its stale
    counter, and `handled` for a closed month); one entry per item (a transaction may touch an item
    once)."""
    sums: dict[tuple[str, str], dict[str, int]] = {}
    actors: dict[tuple[str, str], str] = {}
    today = _now().astimezone(VN_TZ).date()
    this_month = f"{today:%Y-%m}"
    for inc in rules.merge(increments):
        if inc.operator is not None:
            keys = [(pk(inc.day), _operator_sk(inc.day, inc.operator))]
            actors[keys[0]] = inc.operator
        else:
            keys = [(pk(inc.day), f"D#{inc.day:%d}#{inc.key}")]
        if inc.day < today and any(inc.counts.values()):  # a closed day changes: its summary is stale
            dirty = sums.setdefault((pk(inc.day), "DIRTY"), {})
            dirty[f"d{inc.day:%d}"] = 1
            if f"{inc.day:%Y-%m}" < this_month:  # and a closed month's
                dirty["handled"] = 1
        for key in keys:
            numbers = sums.setdefault(key, {})
            for name, n in inc.counts.items():
                numbers[name] = numbers.get(name, 0) + n
    out = []
    for (hash_key, range_key), numbers in sums.items():
        actions = [getattr(StatsCounterModel, name).add(n) for name, n in sorted(numbers.items()) if n]
        if (hash_key, range_key) in actors:
            actions.append(StatsCounterModel.actor.set(actors[(hash_key, range_key)]))
        if actions:
            out.append((StatsCounterModel(pk=hash_key, sk=range_key), actions))
    return out


def add(transaction: Any, increments: Iterable[rules.Increment]) -> None:
    """ADDs the increments in `transaction` (the ticket's own)."""
    for item, actions in items_of(increments):
        transaction.update(item, actions=actions)


def add_now(increments: Iterable[rules.Increment]) -> None:
    """ADDs the increments on their own (the backfill, the bench), 25 items per transaction."""
    connection = bind()
    pending = items_of(increments)
    with translate():
        for start in range(0, len(pending), 25):
            with TransactWrite(connection=connection) as transaction:
                for item, actions in pending[start:start + 25]:
                    transaction.update(item, actions=actions)


def _query(month: str, low: str, high: str | None = None, consistent: bool = False) -> list[dict[str, Any]]:
    """The counter items of `month` with sk between `low` and `high` (begins_with `low` when no
    `high`), every page, as plain dicts: the low-level client, since a month holds thousands of
    small items and a model instance per item would cost more than the read. `consistent`: a
    strongly consistent read (for a summary, which must hold every write before it)."""
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    client = aws.client("dynamodb")
    if high is None:
        condition, values = "pk = :p AND begins_with(sk, :a)", {":p": {"S": f"STATS#{month}"}, ":a": {"S": low}}
    else:
        condition = "pk = :p AND sk BETWEEN :a AND :b"
        values = {":p": {"S": f"STATS#{month}"}, ":a": {"S": low}, ":b": {"S": high}}
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": settings().tickets_table, "KeyConditionExpression": condition,
                              "ExpressionAttributeValues": values, "ConsistentRead": consistent}
    with translate():
        while True:
            page = client.query(**kwargs)
            for raw in page.get("Items", []):
                out.append({name: (int(value["N"]) if "N" in value else value.get("S"))
                            for name, value in raw.items() if name != "pk"})
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def days(month: str, first: int, last: int) -> list[dict[str, Any]]:
    """The day items of `month` from day `first` to `last` (one Query, paginated)."""
    return _query(month, f"D#{first:02d}#", f"D#{last:02d}#\uffff")


def month(month: str, consistent: bool = False) -> list[dict[str, Any]]:
    """The month roll-up items of `month` as older versions wrote them (one Query, paginated)."""
    return _query(month, "M#", consistent=consistent)


def operators(month: str, first: int, last: int, consistent: bool = False) -> list[dict[str, Any]]:
    """The staff workload items of `month` from day `first` to `last`."""
    return _query(month, f"O#{first:02d}#", f"O#{last:02d}#\uffff", consistent)


def _batch_get(keys: list[tuple[str, str]], consistent: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
    """The items of `keys` (pk, sk) that exist, raw (BatchGetItem, 100 keys a call)."""
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    client, table = aws.client("dynamodb"), settings().tickets_table
    found: dict[tuple[str, str], dict[str, Any]] = {}
    with translate():
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {table: {"Keys": [{"pk": {"S": hash_key}, "sk": {"S": range_key}}
                                                        for hash_key, range_key in keys[start:start + 100]],
                                               "ConsistentRead": consistent}}
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(table, []):
                    found[(raw["pk"]["S"], raw["sk"]["S"])] = raw
                request = answer.get("UnprocessedKeys") or {}
    return found


def _valid(summary: dict[str, Any] | None, changes: int, fmt: int) -> dict[str, Any] | None:
    if summary is None or int(summary["seen"]["N"]) != changes or int(summary.get("format", {"N": "1"})["N"]) != fmt:
        return None
    return json.loads(zlib.decompress(summary["blob"]["B"]))


def read_summaries(months: list[str], days: list[date], consistent: bool = False
                   ) -> tuple[dict[str, dict[str, Any] | None], dict[date, dict[str, Any] | None]]:
    """The valid summaries of closed `months` and closed `days`, with their DIRTY items, in one
    BatchGetItem per 100 keys: month -> {"items": its M# items as month() returns them,
    "operators": [{actor, handled, answered}] its workload per staff member}; day -> {"items": its
    D# items as days() returns them, "operators": the same}; None when it has none, a stale one or
    an older format. `consistent`: strongly consistent reads (to build a month's summary)."""
    wanted = set(months) | {f"{d:%Y-%m}" for d in days}
    keys = [(f"STATS#{m}", "SUM") for m in months] + [(pk(d), f"DSUM#{d:%d}") for d in days]
    keys += [(f"STATS#{m}", "DIRTY") for m in sorted(wanted)]
    found = _batch_get(keys, consistent)

    def changes(month: str, name: str) -> int:
        dirty = found.get((f"STATS#{month}", "DIRTY")) or {}
        return int(dirty[name]["N"]) if name in dirty else 0

    return ({m: _valid(found.get((f"STATS#{m}", "SUM")), changes(m, "handled"), SUMMARY_FORMAT) for m in months},
            {d: _valid(found.get((pk(d), f"DSUM#{d:%d}")), changes(f"{d:%Y-%m}", f"d{d:%d}"), DAY_FORMAT)
             for d in days})


def summaries(months: list[str]) -> dict[str, dict[str, Any] | None]:
    """The valid summaries of closed `months` (read_summaries)."""
    return read_summaries(months, [])[0]


def _dirty(month: str) -> dict[str, int]:
    """The month's DIRTY counters (handled, d01..d31), strongly consistent."""
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    with translate():
        item = aws.client("dynamodb").get_item(TableName=settings().tickets_table, ConsistentRead=True,
                                                Key={"pk": {"S": f"STATS#{month}"}, "sk": {"S": "DIRTY"}}).get("Item")
    return {name: int(value["N"]) for name, value in (item or {}).items() if "N" in value}


def roll_up(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Day items added up per combination, as month items (sk=M#<combo>)."""
    lines: dict[str, dict[str, Any]] = {}
    for item in items:
        key = item["sk"][5:]
        line = lines.get(key)
        if line is None:
            line = lines[key] = {"sk": f"M#{key}"}
        for name, n in item.items():
            if name != "sk":
                line[name] = line.get(name, 0) + (n or 0)
    return list(lines.values())


def _workload(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    work: dict[str, dict[str, Any]] = {}
    for item in items:
        actor = item.get("actor") or "?"
        line = work.setdefault(actor, {"actor": actor, "handled": 0, "answered": 0})
        line["handled"] += int(item.get("handled") or 0)
        line["answered"] += int(item.get("answered") or 0)
    return list(work.values())


def build_days(month: str, numbers: list[int]) -> dict[int, dict[str, Any]]:
    """The summaries of closed days `numbers` of `month` (as read_summaries returns them) read from
    their items, and stored: the DIRTY counters first, then the items of each run of consecutive
    days, strongly consistent, so a write after the counters makes a stored summary stale and none
    before them is missed."""
    seen = _dirty(month)
    out: dict[int, dict[str, Any]] = {}
    wanted = sorted(set(numbers))
    runs: list[list[int]] = []
    for n in wanted:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    for run in runs:
        items: dict[int, list[dict[str, Any]]] = {n: [] for n in run}
        for item in _query(month, f"D#{run[0]:02d}#", f"D#{run[-1]:02d}#\uffff", consistent=True):
            items[int(item["sk"][2:4])].append(item)
        work: dict[int, list[dict[str, Any]]] = {n: [] for n in run}
        for item in operators(month, run[0], run[-1], consistent=True):
            work[int(item["sk"][2:4])].append(item)
        for n in run:
            out[n] = {"items": items[n], "operators": _workload(work[n])}
    save_days(month, {n: (summary, seen.get(f"d{n:02d}", 0)) for n, summary in out.items()})
    return out


def save_days(month: str, summaries: dict[int, tuple[dict[str, Any], int]]) -> int:
    """Stores closed days' summaries of `month`, each valid while its day's stale counter is the
    `seen` given (read before the items); one that is too big for an item is not stored (the day
    is then read item by item). One PutItem each (the functions' roles grant PutItem, not
    BatchWriteItem), up to 8 side by side; returns how many were stored."""
    from concurrent.futures import ThreadPoolExecutor

    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    client, table = aws.client("dynamodb"), settings().tickets_table
    items = []
    for n, (summary, seen) in sorted(summaries.items()):
        blob = zlib.compress(json.dumps(summary, separators=(",", ":")).encode(), 6)
        if len(blob) <= SUMMARY_MAX_BYTES:
            items.append({"pk": {"S": f"STATS#{month}"}, "sk": {"S": f"DSUM#{n:02d}"}, "blob": {"B": blob},
                          "seen": {"N": str(seen)}, "format": {"N": str(DAY_FORMAT)}})

    def put(item: dict[str, Any]) -> None:
        with translate():
            client.put_item(TableName=table, Item=item)

    if items:
        with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
            list(pool.map(put, items))
    return len(items)


def dirty_count(month: str) -> int:
    """How many writes the closed month had after it closed (read before its items, for a summary)."""
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    with translate():
        item = aws.client("dynamodb").get_item(TableName=settings().tickets_table, ConsistentRead=True,
                                                Key={"pk": {"S": f"STATS#{month}"}, "sk": {"S": "DIRTY"}}).get("Item")
    return int(item["handled"]["N"]) if item and "handled" in item else 0


def build_summary(month: str) -> dict[str, Any]:
    """A closed month's summary (as summaries() returns it): its day summaries (the stale or missing
    ones built) added up, and stored when it fits in one item: the DIRTY count first, then the day
    summaries with their stale counters, strongly consistent, so a write after the count makes the
    stored summary stale and none before it is missed (it made its day's summary stale, which is
    then rebuilt from the items)."""
    seen = dirty_count(month)
    first = date.fromisoformat(f"{month}-01")
    numbers = range(1, ((first + timedelta(days=31)).replace(day=1) - timedelta(days=1)).day + 1)
    found = read_summaries([], [first.replace(day=n) for n in numbers], consistent=True)[1]
    stale = [n for n in numbers if found[first.replace(day=n)] is None]
    built = build_days(month, stale) if stale else {}
    days = [found[first.replace(day=n)] or built[n] for n in numbers]
    summary = {"items": roll_up(item for day in days for item in day["items"]),
               "operators": _workload(line for day in days for line in day["operators"])}
    save_summary(month, summary, seen)
    return summary


def save_summary(month: str, summary: dict[str, Any], seen: int) -> bool:
    """Stores a closed month's summary, valid while its DIRTY count is `seen` (read before the
    items); False when too big for one item (the month is then read item by item)."""
    blob = zlib.compress(json.dumps(summary, separators=(",", ":")).encode(), 6)
    if len(blob) > SUMMARY_MAX_BYTES:
        return False
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    with translate():
        aws.client("dynamodb").put_item(TableName=settings().tickets_table, Item={
            "pk": {"S": f"STATS#{month}"}, "sk": {"S": "SUM"}, "blob": {"B": blob}, "seen": {"N": str(seen)},
            "format": {"N": str(SUMMARY_FORMAT)}})
    return True


def clear(month: str, first: int, last: int) -> int:
    """Deletes the counters of days `first`..`last` of `month` (day items, operator items, day
    summaries, and the month roll-up when the whole month is cleared); returns how many. For the
    backfill only."""
    bind()
    with translate():
        doomed = list(StatsCounterModel.query(f"STATS#{month}", StatsCounterModel.sk.between(
            f"D#{first:02d}#", f"D#{last:02d}#\uffff")))
        doomed += list(StatsCounterModel.query(f"STATS#{month}", StatsCounterModel.sk.between(
            f"O#{first:02d}#", f"O#{last:02d}#\uffff")))
        doomed += list(StatsCounterModel.query(f"STATS#{month}", StatsCounterModel.sk.between(
            f"DSUM#{first:02d}", f"DSUM#{last:02d}")))
        if first == 1 and last >= 28:
            doomed += list(StatsCounterModel.query(f"STATS#{month}", StatsCounterModel.sk.startswith("M#")))
            doomed += list(StatsCounterModel.query(f"STATS#{month}", StatsCounterModel.sk == "SUM"))
        with StatsCounterModel.batch_write() as batch:
            for item in doomed:
                batch.delete(item)
    return len(doomed)


def _due(due_sort: str | None) -> datetime | None:
    if not due_sort or due_sort == NO_DUE:
        return None
    moment = datetime.fromisoformat(due_sort)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def open_entries(area: str | None = None, category: str | None = None) -> list[dict[str, Any]]:
    """Every open ticket's index entry (channel, category, agency, status, due): the by_open index's
    projected items (no ticket read); with `area`, the commune's by_place entries instead (their
    tickets' small items are read: the place index projects no deadline)."""
    bind()
    with translate():
        if area is None:
            found = list(TicketModel.by_open.query("OPEN"))
        else:
            from chalicelib.store.reference import load_reference

            codes = [c for c in ([category] if category else load_reference().categories)]
            found = [item for c in codes for item in TicketModel.by_place.query(f"{c}#{area}")]
            found = pages.full(TicketModel, found) if found else []
    return [{"code": item.pk.split("#", 1)[1], "channel": item.channel, "category": item.category,
             "agency": item.agency, "status": item.status, "due": _due(item.due_sort),
             "created": item.created_at if area is not None else None} for item in found]


def created_times(codes: list[str]) -> dict[str, datetime]:
    """When each ticket was received, by tracking code (the backlog's age; the open-work index
    projects no creation time): BatchGetItem of 100 keys a call, only `created_at` returned."""
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    client, table = aws.client("dynamodb"), settings().tickets_table
    out: dict[str, datetime] = {}
    with translate():
        for start in range(0, len(codes), 100):
            keys = [{"pk": {"S": ticket_pk(code)}, "sk": {"S": TICKET_SK}} for code in codes[start:start + 100]]
            request: dict[str, Any] = {table: {"Keys": keys, "ProjectionExpression": "pk, created_at"}}
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(table, []):
                    if "created_at" in raw:
                        code = raw["pk"]["S"].split("#", 1)[1]
                        out[code] = TicketModel.created_at.deserialize(raw["created_at"]["S"])
                request = answer.get("UnprocessedKeys") or {}
    return out


def open_tickets(query: Any, overdue: bool, now: datetime, limit: int, after: Any
                 ) -> tuple[list[TicketModel], Any]:
    """One page of the open tickets passing the query's filters (earliest deadline first), whole."""
    bind()
    condition = TicketModel.due_sort < now.astimezone(timezone.utc).isoformat() if overdue else None
    filters = None
    for name in ("channel", "category", "agency", "area"):
        value = getattr(query, name)
        if value is not None:
            each = getattr(TicketModel, name) == value
            filters = each if filters is None else filters & each
    found: list[TicketModel] = []
    key = after
    with translate():
        for _ in range(8):
            page = TicketModel.by_open.query("OPEN", condition, last_evaluated_key=key, limit=200)
            batch = pages.full(TicketModel, list(page))
            key = page.last_evaluated_key
            found += [t for t in batch if filters is None or _passes(t, query)]
            if key is None or len(found) >= limit:
                break
    return found, key


def _passes(ticket: TicketModel, query: Any) -> bool:
    return all(getattr(query, name) is None or getattr(ticket, name) == getattr(query, name)
               for name in ("channel", "category", "agency", "area"))


def created_tickets(start: datetime, end: datetime, keep: Any, limit: int, after: Any
                    ) -> tuple[list[TicketModel], Any]:
    """Tickets created in [start, end) that `keep` accepts (whole ticket items, read 100 index
    entries at a time from the by_month index, newest month first), and where to read on."""
    bind()
    month = (after or {}).get("m") or f"{end - timedelta(microseconds=1):%Y-%m}"
    key = (after or {}).get("k")
    found: list[TicketModel] = []
    with translate():
        for _ in range(20):
            if month < f"{start:%Y-%m}":
                return found, None
            page = TicketModel.by_month.query(month, TicketModel.created_at.between(start, end),
                                              last_evaluated_key=key, limit=100, scan_index_forward=False)
            entries = list(page)
            found += [t for t in pages.full(TicketModel, entries) if keep(t)]
            key = page.last_evaluated_key
            if key is None:
                year, number = int(month[:4]), int(month[5:])
                month = f"{year - (number == 1)}-{(number - 2) % 12 + 1:02d}"
            if len(found) >= limit:
                break
    return found, ({"m": month, "k": key} if month >= f"{start:%Y-%m}" else None)


def add_call_figures(transaction: Any, at: datetime, counts: dict[str, int]) -> None:
    """ADDs call-centre `counts` (chalicelib.domain.call_stats) to the hour item of `at` in `transaction`
    (the call's finishing one, or the callback task's closing one); nothing when all are zero."""
    from chalicelib.domain.call_stats import slot
    from chalicelib.store.models import CallStatsModel

    month_key, sk = slot(at)
    actions = [getattr(CallStatsModel, name).add(n) for name, n in sorted(counts.items()) if n]
    if actions:
        transaction.update(CallStatsModel(pk=f"STATS#{month_key}", sk=sk), actions=actions)


def call_figures(month: str, first: int, last: int) -> list[dict[str, Any]]:
    """The call-centre hour items of `month` from day `first` to `last` (one Query, paginated)."""
    return _query(month, f"C#{first:02d}#", f"C#{last:02d}#\uffff")
