"""Patches to the local emulator's DynamoDB (moto), applied by devstack at start; never shipped.

moto keeps a table as a dict of items and answers by walking it: fine for a unit test, wrong for
a local stack that holds a province's year (100,000 tickets).

- **TransactWriteItems** deep-copied every table it touched before each transaction (for its
  rollback), so each intake got slower as the table grew (~1 s per transaction at 20,000 items),
  and a rollback put the whole table back, erasing what other requests had written meanwhile.
  Here a transaction remembers only the items it touches (the previous item, or its absence) and
  restores exactly those when it is cancelled. All-or-nothing and CancellationReasons unchanged.
- **Query** sorted every item of the table to find one partition (~85 ms at 20,000 items). Here
  moto's own query code is handed only the items that can match: the partition, or for an index
  the items whose index hash attribute has the value asked for (a map kept up to date on every
  write). Matching, sorting, paging and filtering are still moto's, so results are identical.
- **Concurrency**: ThreadedMotoServer serves each request on its own thread, and moto iterates
  `table.items` (queries, the old transaction copy) while other threads insert into it (even a
  GetItem of a missing key inserts into that defaultdict): "RuntimeError: dictionary changed size
  during iteration". One re-entrant lock serialises DynamoDB requests and backend calls (the GIL
  serialised that pure-Python work anyway).

- **SQS** computes every attribute of a queue, counting its messages one by one, several times
  per SendMessage and, for each message handed out, per ReceiveMessage; each message's "visible?"
  and "delayed?" built two datetimes to read the clock. 10 messages out of a queue of 2,000
  took ~1.5 s, so a backlog drained ever slower. Here the retention check reads the one
  attribute it needs, and a message reads the clock as a number (the same clock).
- **A FIFO ReceiveMessage** iterated over the queue's in-flight messages in Python while another
  request changed that set: "Set changed size during iteration" (a 500 the client retried; seen
  once in a 10,000-message burst). Here it iterates over a copy taken in one step. (A lock around
  SQS requests would not do: a long-polling receive waits inside its request.)
- **Every request** found its service under the server's one lock by listing moto's package
  directory and trying every service's URL patterns in turn; requests queued behind each other
  there. Here each host's answer is remembered (hosts and patterns never change while it runs).

Every moto function replaced, wrapped or relied on is fingerprinted: if an upgrade changes one,
`apply()` raises instead of patching, so the patch cannot silently go wrong.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import inspect
import textwrap
import threading
import time
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable

WRITTEN_FOR = "5.2.5"
# (module, qualified name) -> sha256 of its source, as in moto WRITTEN_FOR.
FINGERPRINTS: dict[tuple[str, str], str] = {
    ("moto.dynamodb.models", "DynamoDBBackend.transact_write_items"):
        "0b5c3b73cdccf3268b7266a17c96e2f7e675bd20fe3f28326a1e95ffa38cf8fe",
    ("moto.dynamodb.models", "DynamoDBBackend.update_item"):
        "f1d5d4acae8ed91cb2012b73803e52383e69c74e97967505419c9fbf06b07210",
    ("moto.dynamodb.models", "DynamoDBBackend.get_keys_value"):
        "581f281276a14122dbbe1404f2e59291896780d83653d00c4bf7e88a7605f965",
    ("moto.dynamodb.models.table", "Table.put_item"):
        "48ae94c63fda4002bc49470840a04288a223da170e7c741fc46b372b8d384a5c",
    ("moto.dynamodb.models.table", "Table.delete_item"):
        "697be260776b20ead032a923c848c5b6fce7d66f63ccc8fd2abb23e3ef9ab7e1",
    ("moto.dynamodb.models.table", "Table.get_item"):
        "9e8ab8ae75cdba461a6aa99071bf92ef6c847ef3de5e39b9e6dd375e8b94b757",
    ("moto.dynamodb.models.table", "Table.query"):
        "c08e16587862d4cab6982bb4749693a7727345c3f10084d73f139d8bc8093a15",
    ("moto.dynamodb.models.table", "Table.all_items"):
        "2091a7dc1699504cd07211a2971cbfaa082b82c419b4a36ca59dab20fac685f0",
    ("moto.dynamodb.models.table", "StreamShard.add"):
        "6619a16a15952c640f4a3387e161a8a1ffab323b8846e33d19d72c7dbe208169",
    ("moto.dynamodb.responses", "DynamoHandler.call_action"):
        "a740ca250f695b4cb12de24c7fcd7fbcc39f50cdbfc1beb7a4066c9fac9da1d3",
    ("moto.sqs.models", "SQSBackend.is_message_valid_based_on_retention_period"):
        "9c430561cf6d7cb41f2a0c147bd697a94b4ca23265bc0dea6253a16ea103c493",
    ("moto.sqs.models", "Message.visible.fget"):
        "1abcc7861b9a4c5b0c3be942fe350954284299399d4b2f6db6161b685cfc74d9",
    ("moto.sqs.models", "Message.delayed.fget"):
        "815515980283b0b02234403fceaaa7381e8ddbb3cfa7f2b29a7c8ac3c53ff2eb",
    ("moto.sqs.models", "Queue.pending_message_groups.fget"):
        "cbc9268f7ddfa5ab0aae91a5fd30e11bc1d2945be7f0fe32a31bb3428c0d504a",
    ("moto.moto_server.werkzeug_app", "DomainDispatcherApplication.get_backend_for_host"):
        "105a0141fcfd0a6d69b7901f74d8cfdd246fe616a06e4047f7f1c41ecdd325d5",
}

LOCK = threading.RLock()
_applied = False


class MotoPatchOutdated(RuntimeError):
    """moto changed a function devstack patches or relies on: review devstack/moto_patches.py."""


def _resolve(module: str, qualname: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def fingerprint(function: Callable[..., Any]) -> str:
    """sha256 of a function's source (decorators unwrapped, indentation removed)."""
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(function)))
    return hashlib.sha256(source.encode()).hexdigest()


def check_moto() -> None:
    """Raises MotoPatchOutdated when the installed moto differs from the one the patch was
    written for in any function it touches (a different version with identical functions is fine)."""
    import moto

    changed = [f"{module}.{qualname}" for (module, qualname), expected in FINGERPRINTS.items()
               if fingerprint(_resolve(module, qualname)) != expected]
    if changed:
        raise MotoPatchOutdated(
            f"devstack/moto_patches.py was written for moto {WRITTEN_FOR}; moto {moto.__version__} "
            f"changed {', '.join(changed)}. Compare them with the patch, adapt it, then update FINGERPRINTS.")


def _locked(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return function(*args, **kwargs)

    return locked


# ---- items by key, without moto's defaultdict inserting an empty partition on a miss ----

def _key(table: Any, hash_key: Any, range_key: Any) -> tuple[Any, Any]:
    return hash_key, range_key if table.has_range_key else None


def _lookup(table: Any, key: tuple[Any, Any]) -> Any:
    partition = table.items.get(key[0])
    if partition is None or not table.has_range_key:
        return partition
    return partition.get(key[1])


def _partition(table: Any, hash_key: Any) -> list[Any]:
    partition = table.items.get(hash_key)
    if partition is None:
        return []
    return list(partition.values()) if table.has_range_key else [partition]


def _every_item(table: Any) -> list[Any]:
    if table.has_range_key:
        return [item for partition in table.items.values() for item in partition.values()]
    return list(table.items.values())


# ---- index hash attribute -> value -> keys, so an index Query looks at its matches only ----

def _plain(key: tuple[Any, Any]) -> tuple[Any, ...]:
    """A key as plain values: hashing moto's DynamoType recomputes its value every time."""
    hash_key, range_key = key
    if range_key is None:
        return hash_key.type, hash_key.value
    return hash_key.type, hash_key.value, range_key.type, range_key.value


@dataclass
class _IndexMap:
    """One table's map from each index hash attribute (string values) to the keys holding it."""

    items_id: int  # id(table.items) it was built from
    attributes: frozenset[str]
    # attribute -> value -> plain key -> key
    keys: dict[str, dict[str, dict[tuple[Any, ...], tuple[Any, Any]]]] = field(default_factory=dict)
    values: dict[tuple[Any, ...], dict[str, str]] = field(default_factory=dict)  # plain key -> indexed values

    def add(self, key: tuple[Any, Any], item: Any) -> None:
        plain, values = _plain(key), {}
        for name in self.attributes:
            value = item.attrs.get(name)
            # Index keys are S, N or B; ours are S. Other types are left to moto's full walk.
            if value is not None and value.type == "S":
                values[name] = value.value
                self.keys.setdefault(name, {}).setdefault(value.value, {})[plain] = key
        if values:
            self.values[plain] = values

    def discard(self, key: tuple[Any, Any]) -> None:
        plain = _plain(key)
        for name, value in self.values.pop(plain, {}).items():
            holders = self.keys[name][value]
            del holders[plain]
            if not holders:
                del self.keys[name][value]


_MAPS: weakref.WeakKeyDictionary[Any, _IndexMap] = weakref.WeakKeyDictionary()


def _index_attributes(table: Any) -> frozenset[str]:
    return frozenset(key["AttributeName"] for index in table.all_indexes() for key in index.schema
                     if key["KeyType"] == "HASH" and key["AttributeName"] != table.hash_key_attr)


def _index_map(table: Any) -> _IndexMap:
    """The table's map, built from its items on first use and again if its indexes changed."""
    attributes = _index_attributes(table)
    current = _MAPS.get(table)
    if current is not None and current.items_id == id(table.items) and current.attributes == attributes:
        return current
    built = _IndexMap(id(table.items), attributes)
    for item in _every_item(table):
        built.add(_key(table, item.hash_key, item.range_key), item)
    _MAPS[table] = built
    return built


def _reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    """Brings the map up to date with the item now stored under this key (if a map exists yet)."""
    current = _MAPS.get(table)
    if current is None:
        return
    key = _key(table, hash_key, range_key)
    current.discard(key)
    item = _lookup(table, key)
    if item is not None:
        current.add(key, item)


def _reindex_attributes(table: Any, attributes: dict[str, Any]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table not in _MAPS:
        return
    try:
        hash_key = DynamoType(attributes[table.hash_key_attr])
        range_key = DynamoType(attributes[table.range_key_attr]) if table.has_range_key else None
    except (KeyError, TypeError, ValueError):
        _MAPS.pop(table, None)  # cannot tell what changed: rebuild on the next index query
        return
    _reindex(table, hash_key, range_key)


def _candidates(table: Any, hash_key: Any, index_name: str | None,
                hash_key_conditions: list[tuple[str, Any]] | None) -> list[Any] | None:
    """The items a Query can match, in Table.all_items() order; None when any item could."""
    if not index_name:
        items = _partition(table, hash_key) if hash_key is not None else None
    else:
        index = next((index for index in table.all_indexes() if index.name == index_name), None)
        conditions = dict(hash_key_conditions or [])
        name = next((key["AttributeName"] for key in (index.schema if index else [])
                     if key["KeyType"] == "HASH" and key["AttributeName"] in conditions), None)
        value = conditions.get(name) if name else None
        if value is None:
            items = None  # moto reports the missing index or condition itself
        elif name == table.hash_key_attr:
            items = _partition(table, value)
        elif value.type == "S" and name in (current := _index_map(table)).attributes:
            items = [item for key in current.keys.get(name, {}).get(value.value, {}).values()
                     if (item := _lookup(table, key)) is not None]
        else:
            items = None
    if items is None:
        return None
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


_NARROWED: ContextVar[tuple[Any, list[Any]] | None] = ContextVar("narrowed_query", default=None)


def _narrowing_all_items(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def all_items(self: Any) -> list[Any]:
        narrowed = _NARROWED.get()
        if narrowed is not None and narrowed[0] is self:
            return list(narrowed[1])
        return original(self)

    return all_items


def _narrowed_query(original: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        given = signature.bind(self, *args, **kwargs).arguments
        candidates = _candidates(self, given.get("hash_key"), given.get("index_name"),
                                 given.get("hash_key_conditions"))
        if candidates is None:
            return original(self, *args, **kwargs)
        token = _NARROWED.set((self, candidates))
        try:
            return original(self, *args, **kwargs)
        finally:
            _NARROWED.reset(token)

    return query


def _reindexing_put(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, item_attrs, *args, **kwargs)
        finally:
            _reindex_attributes(self, item_attrs)

    return put_item


def _reindexing_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return original(self, hash_key, range_key)
        finally:
            _reindex(self, hash_key, range_key)

    return delete_item


def _reindexing_update(original: Callable[..., Any]) -> Callable[..., Any]:
    """UpdateItem changes the stored item in place: reindex its key afterwards."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        given = signature.bind(self, *args, **kwargs).arguments
        try:
            return original(self, *args, **kwargs)
        finally:
            table = self.tables.get(given["table_name"])
            if table is not None:
                _reindex_attributes(table, given["key"])

    return update_item


# ---- TransactWriteItems: remember the touched items, restore exactly those ----

@dataclass
class _Touched:
    table: Any
    key: tuple[Any, Any]
    partition_existed: bool
    previous: Any  # a copy of the item before the transaction, or None


@dataclass
class _Journal:
    touched: list[_Touched] = field(default_factory=list)
    streams: dict[int, tuple[Any, int]] = field(default_factory=dict)  # id(table) -> (shard, length)

    def remember(self, backend: Any, table_name: str, key_attributes: dict[str, Any]) -> None:
        """Notes the item under this key as it is now (never raises: a bad table or key is
        reported by moto on the same action right after)."""
        try:
            table = backend.get_table(table_name)
            key = _key(table, *backend.get_keys_value(table, key_attributes))
        except Exception:
            return
        existed = key[0] in table.items
        previous = _lookup(table, key) if existed else None
        self.touched.append(_Touched(table, key, existed, copy.deepcopy(previous)))
        if table.stream_shard is not None:
            self.streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))

    def restore(self) -> None:
        """Puts every touched item back as it was (latest first), and drops the stream records."""
        for touched in reversed(self.touched):
            table, (hash_key, range_key) = touched.table, touched.key
            if not touched.partition_existed:
                table.items.pop(hash_key, None)
            elif not table.has_range_key:
                table.items[hash_key] = touched.previous
            elif touched.previous is None:
                table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = touched.previous
            _reindex(table, hash_key, range_key)
        for shard, length in self.streams.values():
            del shard.items[length:]


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's DynamoDBBackend.transact_write_items, with its whole-table deep copies
    replaced by a journal of the touched items (restored on any failure)."""
    journal = _Journal()
    try:
        _transact(self, transact_items, journal)
    except BaseException:
        journal.restore()
        raise


def _transact(self: Any, transact_items: list[dict[str, Any]], journal: _Journal) -> None:
    # moto's body, unchanged but for `journal.remember`; the caller rolls back on any error
    # (moto forgot to for a request with two operations in one item: it kept earlier writes).
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            journal.remember(self, table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression, expression_attribute_names, expression_attribute_values)
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                self.put_item(
                    table_name, op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values)
            elif op_type == "Delete":
                self.delete_item(
                    table_name, key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values)
            elif op_type == "Update":
                self.update_item(
                    table_name, key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)


def _retained(self: Any, queue_name: str, message: Any) -> bool:
    """moto's retention check, reading the queue's retention period alone."""
    from moto.core.utils import unix_time

    return self.get_queue(queue_name).message_retention_period + message.sent_timestamp / 1000 > unix_time()


def _visible(self: Any) -> bool:
    return time.time() * 1000.0 > self.visible_at


def _delayed(self: Any) -> bool:
    return time.time() * 1000.0 < self.delayed_until


def _pending_groups(self: Any) -> set[str]:
    """moto's pending groups of a FIFO queue, from a copy of the in-flight set: tuple() of a set is
    one step under the GIL, where moto's comprehension could see another request change the set."""
    return {message.group_id for message in tuple(self._pending_messages) if message.group_id is not None}


def _remembered(original: Callable[..., Any]) -> Callable[..., Any]:
    answers: dict[str | None, Any] = {}

    @functools.wraps(original)
    def backend_for_host(self: Any, host: str | None) -> Any:
        if host not in answers:
            answers[host] = original(self, host)
        return answers[host]

    return backend_for_host


def apply() -> None:
    """Patches moto's DynamoDB in this process (idempotent). Raises MotoPatchOutdated first if
    the installed moto changed any function the patch touches."""
    global _applied
    with LOCK:
        if _applied:
            return
        check_moto()
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table
        from moto.dynamodb.responses import DynamoHandler

        Table.put_item = _reindexing_put(Table.put_item)  # type: ignore[method-assign]
        Table.delete_item = _reindexing_delete(Table.delete_item)  # type: ignore[method-assign]
        Table.all_items = _narrowing_all_items(Table.all_items)  # type: ignore[method-assign]
        Table.query = _narrowed_query(Table.query)  # type: ignore[method-assign]
        DynamoDBBackend.update_item = _reindexing_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        for name, member in list(vars(DynamoDBBackend).items()):
            if inspect.isfunction(member) and not name.startswith("_"):
                setattr(DynamoDBBackend, name, _locked(member))
        # The whole request, serialisation included: responses read live items after the call.
        DynamoHandler.call_action = _locked(DynamoHandler.call_action)  # type: ignore[method-assign]
        from moto.sqs.models import Message, SQSBackend

        SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
        from moto.sqs.models import Queue

        Queue.pending_message_groups = property(_pending_groups)  # type: ignore[method-assign, assignment]
        Message.visible = property(_visible)  # type: ignore[method-assign, assignment]
        Message.delayed = property(_delayed)  # type: ignore[method-assign, assignment]
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        DomainDispatcherApplication.get_backend_for_host = _remembered(  # type: ignore[method-assign]
            DomainDispatcherApplication.get_backend_for_host)
        _applied = True
