"""Statistics counters: the one writer of derived figures (chalicelib.domain.stats computes every
increment) and their reader.

Items (one table, pk=STATS#<yyyy-mm> of the VN-local day):
    sk=D#<dd>#<channel|category|agency|area>   a day's counters of one combination
    sk=M#<channel|category|agency|area>        the same, for the whole month (the roll-up)
    sk=O#<dd>#<digest of the e-mail>           a staff member's workload of a day (handled, answered)
    sk=C#<dd>#<hh>                             call-centre counters of a VN-local hour (add_call_figures,
                                               chalicelib.domain.call_stats), in the call's / task's transaction
    sk=SUM                                     a closed month's M# items in one zlib-compressed JSON
                                               blob (`blob`), built on first read, valid while `seen`
                                               equals the DIRTY item's count
    sk=DIRTY                                   `handled` counts the writes into the month after it
                                               closed (a transfer moving `received` to an old creation
                                               day, a late callback): they make its summary stale
Each change ADDs, in the ticket's own transaction (2 write units per item), so a counter moves
exactly when the ticket does, or not at all.
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
from chalicelib.store.models import NO_DUE, StatsCounterModel, TicketModel


SUMMARY_MAX_BYTES = 350_000  # under DynamoDB's 400 KB item limit


def pk(day: date) -> str:
    return f"STATS#{day:%Y-%m}"


def _operator_sk(day: date, operator: str) -> str:
    return f"O#{day:%d}#{hashlib.sha256(operator.lower().encode()).hexdigest()[:16]}"


def items_of(increments: Iterable[rules.Increment]) -> list[tuple[Any, list[Any]]]:
    """The (item, ADD actions) the increments make: a combination's day and month items, an
    operator's day item; one entry per item (a transaction may touch an item once)."""
    sums: dict[tuple[str, str], dict[str, int]] = {}
    actors: dict[tuple[str, str], str] = {}
    this_month = f"{datetime.now(timezone.utc).astimezone(VN_TZ):%Y-%m}"
    for inc in rules.merge(increments):
        if inc.operator is not None:
            keys = [(pk(inc.day), _operator_sk(inc.day, inc.operator))]
            actors[keys[0]] = inc.operator
        else:
            keys = [(pk(inc.day), f"D#{inc.day:%d}#{inc.key}"), (pk(inc.day), f"M#{inc.key}")]
            if f"{inc.day:%Y-%m}" < this_month:  # a closed month changes: its summary is stale
                sums.setdefault((pk(inc.day), "DIRTY"), {})["handled"] = 1
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


def _query(month: str, low: str, high: str | None = None) -> list[dict[str, Any]]:
    """The counter items of `month` with sk between `low` and `high` (begins_with `low` when no
    `high`), every page, as plain dicts: the low-level client, since a month holds thousands of
    small items and a model instance per item would cost more than the read."""
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
                              "ExpressionAttributeValues": values}
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


def month(month: str) -> list[dict[str, Any]]:
    """The month roll-up items of `month` (one Query, paginated)."""
    return _query(month, "M#")


def operators(month: str, first: int, last: int) -> list[dict[str, Any]]:
    """The staff workload items of `month` from day `first` to `last`."""
    return _query(month, f"O#{first:02d}#", f"O#{last:02d}#\uffff")


def summaries(months: list[str]) -> dict[str, list[dict[str, Any]] | None]:
    """The valid summaries of closed `months` (one BatchGetItem per 50 months): month -> its M#
    items as month() returns them, or None when it has none or a stale one."""
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    client, table = aws.client("dynamodb"), settings().tickets_table
    found: dict[tuple[str, str], dict[str, Any]] = {}
    with translate():
        for start in range(0, len(months), 50):
            keys = [{"pk": {"S": f"STATS#{m}"}, "sk": {"S": sk}} for m in months[start:start + 50]
                    for sk in ("SUM", "DIRTY")]
            request: dict[str, Any] = {table: {"Keys": keys}}
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(table, []):
                    found[(raw["pk"]["S"], raw["sk"]["S"])] = raw
                request = answer.get("UnprocessedKeys") or {}
    out: dict[str, list[dict[str, Any]] | None] = {}
    for m in months:
        summary, dirty = found.get((f"STATS#{m}", "SUM")), found.get((f"STATS#{m}", "DIRTY"))
        changes = int(dirty["handled"]["N"]) if dirty and "handled" in dirty else 0
        if summary is None or int(summary["seen"]["N"]) != changes:
            out[m] = None
            continue
        out[m] = json.loads(zlib.decompress(summary["blob"]["B"]))
    return out


def dirty_count(month: str) -> int:
    """How many writes the closed month had after it closed (read before its items, for a summary)."""
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    with translate():
        item = aws.client("dynamodb").get_item(TableName=settings().tickets_table, ConsistentRead=True,
                                                Key={"pk": {"S": f"STATS#{month}"}, "sk": {"S": "DIRTY"}}).get("Item")
    return int(item["handled"]["N"]) if item and "handled" in item else 0


def save_summary(month: str, items: list[dict[str, Any]], seen: int) -> bool:
    """Stores a closed month's M# items as its summary, valid while its DIRTY count is `seen`
    (read before the items); False when too big for one item (the month is then read item by item)."""
    blob = zlib.compress(json.dumps(items, separators=(",", ":")).encode(), 6)
    if len(blob) > SUMMARY_MAX_BYTES:
        return False
    bind()
    from chalicelib import aws
    from chalicelib.config import settings

    with translate():
        aws.client("dynamodb").put_item(TableName=settings().tickets_table, Item={
            "pk": {"S": f"STATS#{month}"}, "sk": {"S": "SUM"}, "blob": {"B": blob}, "seen": {"N": str(seen)}})
    return True


def clear(month: str, first: int, last: int) -> int:
    """Deletes the counters of days `first`..`last` of `month` (day items, operator items, and the
    month roll-up when the whole month is cleared); returns how many. For the backfill only."""
    bind()
    with translate():
        doomed = list(StatsCounterModel.query(f"STATS#{month}", StatsCounterModel.sk.between(
            f"D#{first:02d}#", f"D#{last:02d}#\uffff")))
        doomed += list(StatsCounterModel.query(f"STATS#{month}", StatsCounterModel.sk.between(
            f"O#{first:02d}#", f"O#{last:02d}#\uffff")))
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
             "agency": item.agency, "status": item.status, "due": _due(item.due_sort)} for item in found]


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
