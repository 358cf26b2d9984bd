"""The local emulator's DynamoDB as devstack patches it (devstack/moto_patches.py): a transaction is
all-or-nothing, index queries see exactly the stored items after every kind of write, and
concurrent requests neither fail nor lose writes. Plain boto3 on the tickets table, no retries
(a retried request would hide a failed one)."""
from __future__ import annotations

import os
import random
import threading
import uuid
from typing import Any

import pytest

NO_DUE = "9999-12-31T23:59:59"


def _client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("dynamodb", config=Config(retries={"total_max_attempts": 1}))


def _table() -> str:
    return os.environ["TICKETS_TABLE"]


def _ticket(code: str, phone: str, status: str, created: str, version: int = 1) -> dict[str, Any]:
    """A ticket item with two of the indexes the app writes (by_phone, by_status_due), under
    values only this test uses: the other tests' index queries never see it."""
    return {"pk": {"S": f"TICKET#{code}"}, "sk": {"S": "TICKET"}, "tracking_code": {"S": code},
            "channel": {"S": "web"}, "text": {"S": "Cống thoát nước bị tắc."}, "status": {"S": status},
            "due_sort": {"S": NO_DUE}, "reporter_phone": {"S": phone}, "created_at": {"S": created},
            "version": {"N": str(version)}}


def _event(code: str, at: str) -> dict[str, Any]:
    return {"pk": {"S": f"TICKET#{code}"}, "sk": {"S": f"EVENT#{at}#created"}, "kind": {"S": "created"},
            "actor": {"S": "citizen"}, "at": {"S": at}}


def _put(item: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]}


def _get(dynamodb: Any, item: dict[str, Any]) -> dict[str, Any] | None:
    return dynamodb.get_item(TableName=_table(), Key=_key(item), ConsistentRead=True).get("Item")


def _query(dynamodb: Any, index: str | None, name: str, value: str, page: int = 100) -> list[str]:
    """Every item's pk#sk for `name = value`, in the query's order, read `page` items at a time."""
    found, start = [], None
    while True:
        arguments: dict[str, Any] = {"TableName": _table(), "KeyConditionExpression": "#n = :v",
                                     "ExpressionAttributeNames": {"#n": name},
                                     "ExpressionAttributeValues": {":v": {"S": value}}, "Limit": page}
        if index:
            arguments["IndexName"] = index
        if start:
            arguments["ExclusiveStartKey"] = start
        reply = dynamodb.query(**arguments)
        found += [f"{item['pk']['S']}#{item['sk']['S']}" for item in reply["Items"]]
        start = reply.get("LastEvaluatedKey")
        if not start:
            return found


def _run() -> str:
    return uuid.uuid4().hex[:10]


def test_a_transaction_cancelled_by_its_last_condition_leaves_nothing_written(stack: Any) -> None:
    from botocore.exceptions import ClientError

    dynamodb, run = _client(), _run()
    phone, waiting, routed = f"+8491{run}", f"new#{run}", f"routed#{run}"
    # Given an existing ticket of this reporter, and the marker of a submission already handled
    existing = _ticket(f"A{run}", phone, waiting, "2026-11-01T08:00:00.000000+0000")
    marker = {"pk": {"S": f"DEDUP#form#{run}"}, "sk": {"S": "DEDUP"}, "tracking_code": {"S": f"A{run}"}}
    dynamodb.put_item(TableName=_table(), Item=existing)
    dynamodb.put_item(TableName=_table(), Item=marker)
    # When a transaction writes a new ticket and its event, updates the existing ticket, and only
    # its last action (the same submission's marker) fails its condition
    new = _ticket(f"B{run}", phone, routed, "2026-11-02T08:00:00.000000+0000")
    event = _event(f"B{run}", "2026-11-02T08:00:00.000000+0000")
    update = {"Update": {"TableName": _table(), "Key": _key(existing),
                         "UpdateExpression": "SET #s = :routed, version = :two",
                         "ConditionExpression": "version = :one", "ExpressionAttributeNames": {"#s": "status"},
                         "ExpressionAttributeValues": {":routed": {"S": routed}, ":one": {"N": "1"}, ":two": {"N": "2"}}}}
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[_put(new), _put(event), update, _put(marker)])
    # Then it is cancelled for that reason only, and nothing it did is left anywhere
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]] == [
        "None", "None", "None", "ConditionalCheckFailed"]
    assert _get(dynamodb, new) is None
    assert _get(dynamodb, event) is None
    assert _get(dynamodb, existing) == existing
    assert _get(dynamodb, marker) == marker
    assert _query(dynamodb, None, "pk", f"TICKET#B{run}") == []
    assert _query(dynamodb, "by_phone", "reporter_phone", phone) == [f"TICKET#A{run}#TICKET"]
    assert _query(dynamodb, "by_status_due", "status", routed) == []
    assert _query(dynamodb, "by_status_due", "status", waiting) == [f"TICKET#A{run}#TICKET"]


def test_a_transaction_whose_conditions_hold_writes_every_item(stack: Any) -> None:
    dynamodb, run = _client(), _run()
    phone, routed = f"+8492{run}", f"routed#{run}"
    existing = _ticket(f"A{run}", phone, f"new#{run}", "2026-11-01T08:00:00.000000+0000")
    dynamodb.put_item(TableName=_table(), Item=existing)
    new = _ticket(f"B{run}", phone, routed, "2026-11-02T08:00:00.000000+0000")
    event = _event(f"B{run}", "2026-11-02T08:00:00.000000+0000")
    update = {"Update": {"TableName": _table(), "Key": _key(existing), "UpdateExpression": "SET #s = :routed",
                         "ExpressionAttributeNames": {"#s": "status"},
                         "ExpressionAttributeValues": {":routed": {"S": routed}}}}

    dynamodb.transact_write_items(TransactItems=[_put(new), _put(event), update])

    assert _get(dynamodb, new) == new
    assert _get(dynamodb, event) == event
    assert _get(dynamodb, existing)["status"] == {"S": routed}
    assert _query(dynamodb, None, "pk", f"TICKET#B{run}") == [
        f"TICKET#B{run}#EVENT#2026-11-02T08:00:00.000000+0000#created", f"TICKET#B{run}#TICKET"]
    assert _query(dynamodb, "by_phone", "reporter_phone", phone) == [f"TICKET#A{run}#TICKET", f"TICKET#B{run}#TICKET"]
    assert _query(dynamodb, "by_status_due", "status", routed) == [f"TICKET#A{run}#TICKET", f"TICKET#B{run}#TICKET"]


def test_index_queries_see_exactly_the_stored_items_after_every_kind_of_write(stack: Any) -> None:
    """Puts, updates that move a ticket between statuses, deletes, and transactions that pass or
    are cancelled, checked against a plain record of what should be stored."""
    from botocore.exceptions import ClientError

    dynamodb, run, rng = _client(), _run(), random.Random(1022)
    statuses = [f"{name}#{run}" for name in ("new", "routed", "answered")]
    stored: dict[str, dict[str, Any]] = {}  # code -> ticket item

    def check() -> None:
        for status in statuses:
            expected = sorted((item["due_sort"]["S"], item["pk"]["S"]) for item in stored.values()
                              if item["status"]["S"] == status)
            assert _query(dynamodb, "by_status_due", "status", status, page=3) == [
                f"{pk}#TICKET" for _, pk in expected]

    for step in range(120):
        code = f"T{run}-{rng.randrange(30):02d}"
        action = rng.choice(("put", "update", "delete", "transaction"))
        if action == "put" and code not in stored:
            item = _ticket(code, f"+8493{run}", rng.choice(statuses), "2026-11-01T08:00:00.000000+0000")
            item["due_sort"] = {"S": f"2026-12-{rng.randrange(1, 29):02d}T00:00:00"}
            dynamodb.put_item(TableName=_table(), Item=item)
            stored[code] = item
        elif action == "update" and code in stored:
            status = rng.choice(statuses)
            dynamodb.update_item(TableName=_table(), Key=_key(stored[code]), UpdateExpression="SET #s = :s",
                                 ExpressionAttributeNames={"#s": "status"},
                                 ExpressionAttributeValues={":s": {"S": status}})
            stored[code] = {**stored[code], "status": {"S": status}}
        elif action == "delete" and code in stored:
            dynamodb.delete_item(TableName=_table(), Key=_key(stored.pop(code)))
        elif action == "transaction" and stored:
            # move one stored ticket to another status, then either pass or fail on a second one
            moved, other = rng.choice(sorted(stored)), rng.choice(sorted(stored))
            status, fails = rng.choice(statuses), rng.random() < 0.5
            items: list[dict[str, Any]] = [{"Update": {
                "TableName": _table(), "Key": _key(stored[moved]), "UpdateExpression": "SET #s = :s",
                "ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":s": {"S": status}}}}]
            if other != moved:
                items.append({"ConditionCheck": {
                    "TableName": _table(), "Key": _key(stored[other]),
                    "ConditionExpression": "attribute_not_exists(pk)" if fails else "attribute_exists(pk)"}})
            try:
                dynamodb.transact_write_items(TransactItems=items)
                stored[moved] = {**stored[moved], "status": {"S": status}}
            except ClientError as error:
                assert fails and error.response["Error"]["Code"] == "TransactionCanceledException"
        if step % 10 == 9:
            check()
    check()


def test_concurrent_writers_raise_nothing_and_lose_nothing(stack: Any) -> None:
    """8 threads each put tickets, query them, write tickets in transactions, and have
    transactions cancelled, while the table holds a few thousand other items."""
    from botocore.exceptions import ClientError

    run, rounds = _run(), 20
    loader = _client()
    for start in range(0, 2000, 25):  # enough items that a whole-table copy takes a while
        loader.batch_write_item(RequestItems={_table(): [
            {"PutRequest": {"Item": _ticket(f"F{run}-{n}", f"+8494{run}", f"filler#{run}", "2026-11-01T08:00:00.000000+0000")}}
            for n in range(start, start + 25)]})
    errors: list[str] = []

    def writer(worker: int, dynamodb: Any) -> None:
        phone = f"+8495{run}{worker}"
        try:
            for n in range(rounds):
                created = f"2026-11-02T08:{n:02d}:00.000000+0000"
                plain = _ticket(f"P{run}-{worker}-{n}", phone, f"new#{run}", created)
                dynamodb.put_item(TableName=_table(), Item=plain)
                _query(dynamodb, "by_phone", "reporter_phone", phone)
                ticket = _ticket(f"T{run}-{worker}-{n}", phone, f"new#{run}", created)
                dynamodb.transact_write_items(TransactItems=[_put(ticket), _put(_event(f"T{run}-{worker}-{n}", created))])
                refused = _ticket(f"R{run}-{worker}-{n}", phone, f"new#{run}", created)
                try:  # the same submission again: its ticket exists, so the whole transaction is refused
                    dynamodb.transact_write_items(TransactItems=[_put(refused), _put(ticket)])
                    errors.append(f"worker {worker}: a duplicate transaction was accepted")
                except ClientError as error:
                    if error.response["Error"]["Code"] != "TransactionCanceledException":
                        raise
        except Exception as error:  # noqa: BLE001 - every failure is the finding
            errors.append(f"worker {worker}: {type(error).__name__}: {error}")

    clients = [_client() for _ in range(8)]
    threads = [threading.Thread(target=writer, args=(worker, clients[worker])) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for worker in range(8):
        found = set(_query(loader, "by_phone", "reporter_phone", f"+8495{run}{worker}"))
        assert found == {f"TICKET#{kind}{run}-{worker}-{n}#TICKET" for kind in "PT" for n in range(rounds)}
        for n in range(rounds):
            assert len(_query(loader, None, "pk", f"TICKET#T{run}-{worker}-{n}")) == 2  # ticket and event
    assert len(_query(loader, "by_phone", "reporter_phone", f"+8494{run}")) == 2000


def test_the_patch_refuses_a_moto_whose_patched_functions_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from devstack import moto_patches

    monkeypatch.setitem(moto_patches.FINGERPRINTS, ("moto.dynamodb.models.table", "Table.put_item"), "0" * 64)

    with pytest.raises(moto_patches.MotoPatchOutdated, match=r"moto\.dynamodb\.models\.table\.Table\.put_item"):
        moto_patches.check_moto()


def test_sqs_hands_out_messages_within_the_queues_retention_and_no_older_ones(stack: Any) -> None:
    # The patch reads the retention period alone (moto computed every queue attribute per message).
    import time

    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    sqs = boto3.client("sqs")
    name = f"retention-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="fresh")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["fresh"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    old = next(m for m in sqs_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].get_queue(name)._messages
               if m.body == "old")
    old.sent_timestamp = int((time.time() - 120) * 1000)  # sent two minutes ago: past the 60 s
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    sqs.delete_queue(QueueUrl=url)


def test_a_fifo_queue_holds_back_a_group_while_its_message_is_in_flight(stack: Any) -> None:
    # The patch reads a FIFO queue's in-flight groups from a copy (moto's own loop failed when another
    # request changed them meanwhile); FIFO order per group must hold as before.
    import boto3

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"groups-{uuid.uuid4().hex[:8]}.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for group, body in (("a", "a1"), ("a", "a2"), ("b", "b1")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    # While a1 is in flight, a2 waits behind it: the next receive hands out group b only
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                   VisibilityTimeout=60).get("Messages", [])] == ["b1"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])] == ["a2"]
    sqs.delete_queue(QueueUrl=url)
