"""Running cost per ticket, measured from what the code really calls, writes and sends.

A day of tickets goes through the real handlers on the local stack (`chalice.test.Client` for
every HTTP request, the SQS consumers as Lambda would run them, the schedules' own functions with
the clock moved on), one ticket's whole life after another. Hooks on the app's botocore session
record every AWS call; for each DynamoDB write the item is read back from the emulator before and
after it (outside the counted calls), so its size, the indexes it lands in and whether an index key
moved are known; SMS are taken where they leave (SNS Publish, the fake gateways, the SMSSync
phone's poll) and counted in segments. DynamoDB's capacity rules and bench/prices.json turn that
into units and dollars.

`python -m bench.cost` prints the breakdown and records the figures in bench/results.json
(`--no-record`: print only; `--figures PATH`: write them to PATH instead, which `python -m bench`
uses); BENCH_COST_TICKETS sets the day's size (default 100, about three minutes). docs/cost.md
explains the model and what it found.

The day (per 100 tickets; a provincial hotline's mix):
  channels   35 phone intake, 20 web form + 5 JSON API, 20 Zalo, 15 SMS (8 eSMS short code,
             5 android-sms-gateway, 2 SMSSync), 5 Open311
  each       submitted -> acknowledged (SMS/Zalo) -> routed (or triaged by an operator) -> the agency
             notified -> viewed -> a staff reply to the citizen -> answered (with the survey) -> closed,
             plus one inbox page load per ticket
  of those   50 marked in progress by the agency, 10 transferred to another agency, 10 with a
             callback (and its reminder), 15 past the 80 % deadline warning, 3 of them escalated at
             the deadline, 30 with a follow-up (SMS/Zalo: a second message; web/phone/Open311: a
             status lookup), 40 % of surveys rated (a digit reply, or the web rating page), 5
             reopened and answered again, 30 % of web reports with one photo
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode

from bench import ROOT

PRICES = ROOT / "bench" / "prices.json"
RESULTS = ROOT / "bench" / "results.json"
STACK_NAME = "hotline1022-cost"
TICKETS = int(os.environ.get("BENCH_COST_TICKETS", "100"))

# Per 100 tickets (see the module docstring).
CHANNELS = {"phone": 35, "web_form": 20, "web_api": 5, "zalo": 20, "sms_esms": 8, "sms_android_gateway": 5,
            "sms_smssync": 2, "open311": 5}
SHARES = {"start": 50, "transfer": 10, "callback": 10, "warning": 15, "escalation": 3, "follow_up": 30,
          "reopen": 5}
RATED_SHARE = 0.40   # of the surveys sent
PHOTO_SHARE = 0.30   # of web reports
CATEGORY_MIX = {"giao-thong": 15, "moi-truong": 15, "ngap-ung": 12, "thu-tuc-hanh-chinh": 12, "dien-nuoc": 10,
                "chieu-sang": 8, "dat-dai": 8, "an-sinh": 6, "y-te": 5, "giao-duc": 4, "an-ninh-trat-tu": 3,
                "khac": 2}


# DynamoDB capacity rules -------------------------------------------------------------------------
#
# Item size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
# the sum of attribute name lengths and value sizes; a string is its UTF-8 bytes; a number about
# 1 byte per two significant digits + 1; binary its raw bytes; null and Boolean 1 byte; a List or
# Map 3 bytes + its elements + 1 byte per element (a Map element also has its name).
#
# Units (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
# and the on-demand pricing page's key terms): a write is 1 unit per 1 KB, rounded up per item; a
# transactional write 2 per 1 KB; PutItem/UpdateItem/DeleteItem are sized on the larger of the item
# before and after; a read is 1 unit per 4 KB strongly consistent, half eventually consistent, 2
# transactional; a Query sums the sizes of the items it read (before any filter; a projection
# expression does not reduce it) and rounds the total up to 4 KB; a BatchGetItem rounds each item;
# a read of a missing item still takes the minimum.
#
# Indexes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations):
# a table write costs the index nothing when the item is in the index neither before nor after;
# entering or leaving costs one write of the entry; a changed index key costs two (delete the old
# entry, put the new one); a change to projected attributes only costs one; a change the projection
# does not see costs nothing. Writes are sized on the index entry (the table's keys, the index keys
# and the projected attributes), in place on the larger of the two entries. Index writes are not
# doubled in a transaction: the transactional factor applies to the table write only (measured on
# DynamoDB by the dynamodb-conformance suite: github.com/nubo-db/dynoxide pull 188). A
# ConditionCheck in a transaction is a transactional write of the item it reads.

WRITE_UNIT = 1024
READ_UNIT = 4096


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "")
    mantissa = digits.split("e")[0].split("E")[0].strip("0") or "0"
    return math.ceil(len(mantissa) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """The size in bytes of one DynamoDB attribute value (wire form, e.g. {"S": "x"}), name excluded."""
    (kind, content), = value.items()
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        return _number_size(content)
    if kind == "B":
        return len(content if isinstance(content, bytes) else content.encode("utf-8"))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in content)
    if kind == "NS":
        return sum(_number_size(n) for n in content)
    if kind == "BS":
        return sum(len(b) for b in content)
    if kind == "L":
        return 3 + sum(value_size(element) + 1 for element in content)
    if kind == "M":
        return 3 + sum(len(name.encode("utf-8")) + value_size(element) + 1 for name, element in content.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """The size in bytes of an item: attribute names plus values."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in (item or {}).items())


def write_units(size: int) -> int:
    """Write units for one item of `size` bytes (1 KB each, rounded up, at least one)."""
    return max(1, math.ceil(size / WRITE_UNIT))


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    """Read units for `size` bytes read at once (4 KB each, rounded up, at least one)."""
    units = max(1, math.ceil(size / READ_UNIT))
    return units * 2 if transactional else units if consistent else units / 2


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None
    projection: str                 # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()

    def entry(self, item: dict[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The item as this index stores it, or None when the item is not in the index."""
        if not item or self.hash_key not in item or (self.range_key and self.range_key not in item):
            return None
        if self.projection == "ALL":
            return item
        keep = set(table_keys) | {self.hash_key} | ({self.range_key} if self.range_key else set())
        if self.projection == "INCLUDE":
            keep |= set(self.include)
        return {name: value for name, value in item.items() if name in keep}

    def key_of(self, entry: dict[str, Any]) -> tuple[Any, ...]:
        return (json.dumps(entry[self.hash_key], sort_keys=True),
                json.dumps(entry[self.range_key], sort_keys=True) if self.range_key else None)


def index_write_units(old: dict[str, Any] | None, new: dict[str, Any] | None, index: Index,
                      table_keys: tuple[str, ...]) -> tuple[int, bool]:
    """(write units, whether the index key moved) that one table write costs `index`."""
    before, after = index.entry(old, table_keys), index.entry(new, table_keys)
    if before is None and after is None:
        return 0, False
    if before is None:
        return write_units(item_size(after)), False
    if after is None:
        return write_units(item_size(before)), False
    if index.key_of(before) != index.key_of(after):
        return write_units(item_size(before)) + write_units(item_size(after)), True
    if before == after:
        return 0, False
    return max(write_units(item_size(before)), write_units(item_size(after))), False


@dataclass
class WriteCost:
    table_units: int
    index_units: dict[str, int]
    moved: list[str]
    size: int               # the larger of the item before and after (what the table write is sized on)


def write_cost(old: dict[str, Any] | None, new: dict[str, Any] | None, indexes: list[Index],
               table_keys: tuple[str, ...], transactional: bool) -> WriteCost:
    """The capacity one item write takes on the table and on each index."""
    size = max(item_size(old), item_size(new))
    table = write_units(size) * (2 if transactional else 1)
    units, moved = {}, []
    for index in indexes:
        cost, key_moved = index_write_units(old, new, index, table_keys)
        if cost:
            units[index.name] = cost
        if key_moved:
            moved.append(index.name)
    return WriteCost(table, units, moved, size)


def table_schemas() -> dict[str, tuple[tuple[str, ...], list[Index]]]:
    """Logical table name -> (key attribute names, global secondary indexes), from infra/resources.json."""
    resources = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))["Resources"]
    schemas = {}
    for logical, spec in resources.items():
        if spec["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = spec["Properties"]
        keys = tuple(k["AttributeName"] for k in properties["KeySchema"])
        indexes = []
        for gsi in properties.get("GlobalSecondaryIndexes", []):
            schema = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
            projection = gsi["Projection"]
            indexes.append(Index(gsi["IndexName"], schema["HASH"], schema.get("RANGE"), projection["ProjectionType"],
                                 tuple(projection.get("NonKeyAttributes", ()))))
        schemas[logical] = (keys, indexes)
    return schemas


def segments(text: str) -> int:
    """SMS segments of `text`: GSM-7 160 (153 per part when concatenated), else UCS-2 70 (67)."""
    from chalicelib.domain.sms import segments as count

    return count(text)


# Recording ---------------------------------------------------------------------------------------

Tally = Counter  # keys are tuples: ("call", service, op), ("wru", "table"), ("sms", route, audience, "segments") ...


def _item_kind(table: str, key: dict[str, Any]) -> str:
    """What a DynamoDB item is, for the breakdown (never its content)."""
    if table == "IdempotencyTable":
        return "idempotency record"
    pk, sk = key.get("pk", {}).get("S", ""), key.get("sk", {}).get("S", "")
    if sk == "TICKET":
        return "ticket"
    for prefix, kind in (("EVENT#", "timeline event"), ("OUT#", "outbound message"), ("CALLBACK#", "callback")):
        if sk.startswith(prefix):
            return kind
    if sk == "DEDUP":
        return "dedup marker"
    if sk == "RATING":
        return "rating"
    for prefix, kind in (("RATE#", "rate counter"), ("STATS", "rating statistics"), ("CURSOR#", "job cursor"),
                         ("APIKEY#", "api key"), ("LEASE#", "lease"), ("REF", "reference data")):
        if pk.startswith(prefix):
            return kind
    return pk.split("#", 1)[0].lower() or "other"


_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


class Recorder:
    """botocore hooks on the app's session: every call, every DynamoDB write with its images, every
    SMS and e-mail, into the tally of the current `channel` (a ticket's channel, or a schedule's
    idle run). Its own reads of the emulator use another session and are never counted."""

    def __init__(self, session: Any) -> None:
        self.tallies: dict[str, Tally] = {}
        self.channel = "setup"
        self.paused = False
        self.citizens: set[str] = set()   # last 9 digits of every reporter's phone, and Zalo ids
        self.writes: list[dict[str, Any]] = []  # one row per item write (size, units), for the breakdown
        self._probe: Any = None
        self._tables: dict[str, str] = {}
        self._schemas = table_schemas()
        session.register("before-parameter-build.dynamodb", self._before_dynamodb)
        session.register("after-call", self._after_call)

    # plumbing

    @property
    def tally(self) -> Tally:
        return self.tallies.setdefault(self.channel, Tally())

    @contextmanager
    def pause(self) -> Iterator[None]:
        paused, self.paused = self.paused, True
        try:
            yield
        finally:
            self.paused = paused

    def bind(self) -> None:
        """Points the recorder at the stack's tables (after it is up)."""
        import boto3

        self._probe = boto3.session.Session().client("dynamodb")
        self._tables = {os.environ["TICKETS_TABLE"]: "TicketsTable",
                        os.environ["IDEMPOTENCY_TABLE"]: "IdempotencyTable"}

    def _schema(self, table: str) -> tuple[tuple[str, ...], list[Index]]:
        return self._schemas[self._tables[table]]

    def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return self._probe.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _key(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self._schema(table)[0]}

    # DynamoDB writes: the images before (here) and after (in _after_call)

    def _targets(self, op: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if op == "PutItem":
            return [{"table": params["TableName"], "key": self._key(params["TableName"], params["Item"]), "txn": False}]
        if op in ("UpdateItem", "DeleteItem"):
            return [{"table": params["TableName"], "key": params["Key"], "txn": False, "delete": op == "DeleteItem"}]
        if op == "TransactWriteItems":
            targets = []
            for entry in params["TransactItems"]:
                (action, body), = entry.items()
                key = body["Key"] if "Key" in body else self._key(body["TableName"], body["Item"])
                targets.append({"table": body["TableName"], "key": key, "txn": True, "delete": action == "Delete",
                                "check": action == "ConditionCheck"})
            return targets
        if op == "BatchWriteItem":
            targets = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        targets.append({"table": table, "key": self._key(table, request["PutRequest"]["Item"]),
                                        "txn": False})
                    else:
                        targets.append({"table": table, "key": request["DeleteRequest"]["Key"], "txn": False,
                                        "delete": True})
            return targets
        return []

    def _before_dynamodb(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.paused or self._probe is None:
            return
        targets = self._targets(model.name, params)
        for target in targets:
            target["before"] = self._get(target["table"], target["key"])
        context["cost_writes"] = targets
        context["cost_params"] = params

    # every call

    def _after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any],
                    **_: Any) -> None:
        if self.paused:
            return
        service = model.service_model.service_name
        op = model.name
        ok = http_response.status_code < 300
        tally = self.tally
        tally[("call", service, op)] += 1
        if service == "dynamodb" and self._probe is not None:
            params = context.get("cost_params", {})
            if context.get("cost_writes"):
                self._writes(op, context["cost_writes"], ok, tally)
            elif ok:
                tally[("rru",)] += self._read_units(op, params, parsed)
        elif service == "sqs" and ok:
            self._sqs(op, context, tally)
        elif service == "sns" and op == "Publish" and ok:
            request = context.get("cost_sns") or {}
            self.sms("sns", request.get("PhoneNumber", ""), request.get("Message", ""))
        elif service == "ses" and op in ("SendEmail", "SendRawEmail") and ok:
            tally[("email",)] += context.get("cost_recipients", 1)
        elif service == "s3":
            tally[("s3", "put" if op in ("PutObject", "CopyObject", "PostObject") else "get")] += 1

    def _writes(self, op: str, targets: list[dict[str, Any]], ok: bool, tally: Tally) -> None:
        if not ok:
            # A failed condition on a single write still takes a write of the item as it is; a
            # cancelled transaction is counted apart (DynamoDB reports no capacity for it).
            if op == "TransactWriteItems":
                tally[("cancelled_transactions",)] += 1
                return
            for target in targets:
                units = write_units(item_size(target["before"]))
                tally[("wru", "table")] += units
                tally[("failed_writes",)] += 1
            return
        for target in targets:
            table = target["table"]
            keys, indexes = self._schema(table)
            kind = _item_kind(self._tables[table], target["key"])
            after = target["before"]
            if target.get("check"):
                cost = WriteCost(2 * write_units(item_size(target["before"])), {}, [], item_size(target["before"]))
            else:
                after = None if target.get("delete") else self._get(table, target["key"])
                cost = write_cost(target["before"], after, indexes, keys, target["txn"])
            tally[("wru", "table")] += cost.table_units
            tally[("wru", "table_txn" if target["txn"] else "table_plain")] += cost.table_units
            tally[("item_writes", kind)] += 1
            tally[("item_wru", kind, "table")] += cost.table_units
            tally[("item_bytes", kind)] += cost.size
            for name, units in cost.index_units.items():
                tally[("wru", "index", name)] += units
                tally[("item_wru", kind, "index")] += units
            for name in cost.moved:
                tally[("index_key_moves", name)] += 1
            self.writes.append({"kind": kind, "table": self._tables[table], "txn": target["txn"],
                                "check": bool(target.get("check")), "before": target["before"], "after": after,
                                "channel": self.channel})

    # DynamoDB reads

    def _read_units(self, op: str, params: dict[str, Any], parsed: dict[str, Any]) -> float:
        if op == "GetItem":
            item = parsed.get("Item")
            if item is not None and "ProjectionExpression" in params:
                item = self._get(params["TableName"], params["Key"])
            return read_units(item_size(item), bool(params.get("ConsistentRead")))
        if op == "BatchGetItem":
            units = 0.0
            for table, request in params["RequestItems"].items():
                found = parsed.get("Responses", {}).get(table, [])
                consistent = bool(request.get("ConsistentRead"))
                units += sum(read_units(item_size(i), consistent) for i in found)
                units += (len(request["Keys"]) - len(found)) * read_units(0, consistent)
            return units
        if op == "TransactGetItems":
            return sum(read_units(item_size(r.get("Item")), True, transactional=True)
                       for r in parsed.get("Responses", []))
        if op == "Query":
            items = parsed.get("Items", [])
            if any(name in params for name in ("FilterExpression", "ProjectionExpression", "Select")):
                items = self._evaluated(params)
            table = params["TableName"]
            keys, indexes = self._schema(table)
            index = next((i for i in indexes if i.name == params.get("IndexName")), None)
            size = sum(item_size(index.entry(i, keys) if index else i) for i in items)
            return read_units(size, bool(params.get("ConsistentRead")) and index is None)
        return 0.0

    def _evaluated(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The items a Query read before its filter and projection (what its capacity is sized on)."""
        query = {k: v for k, v in params.items() if k not in ("FilterExpression", "ProjectionExpression", "Select",
                                                               "ExpressionAttributeNames", "ExpressionAttributeValues",
                                                               "ReturnConsumedCapacity")}
        used = set(_PLACEHOLDER.findall(params.get("KeyConditionExpression", "")))
        names = {k: v for k, v in params.get("ExpressionAttributeNames", {}).items() if k in used}
        values = {k: v for k, v in params.get("ExpressionAttributeValues", {}).items() if k in used}
        if names:
            query["ExpressionAttributeNames"] = names
        if values:
            query["ExpressionAttributeValues"] = values
        return self._probe.query(**query).get("Items", [])

    # SQS, SNS, SES: what the request carried

    def _sqs(self, op: str, context: dict[str, Any], tally: Tally) -> None:
        queue, payload = context.get("cost_sqs", ("", 0))
        kind = "fifo" if queue.endswith(".fifo") else "standard"
        # A request is billed per 64 KB chunk of its payload.
        tally[("sqs", kind)] += max(1, math.ceil(payload / 65536))

    def note_request(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """Keeps what the SQS/SNS/SES requests carried (registered for those services' parameter builds)."""
        service, op = model.service_model.service_name, model.name
        if service == "sqs":
            bodies = [params.get("MessageBody", "")] + [e.get("MessageBody", "") for e in params.get("Entries", [])]
            context["cost_sqs"] = (params.get("QueueUrl", ""), sum(len(b.encode("utf-8")) for b in bodies))
        elif service == "sns" and op == "Publish":
            context["cost_sns"] = {"PhoneNumber": params.get("PhoneNumber", ""), "Message": params.get("Message", "")}
        elif service == "ses":
            destination = params.get("Destination") or {}
            context["cost_recipients"] = max(1, sum(len(destination.get(k, [])) for k in
                                                    ("ToAddresses", "CcAddresses", "BccAddresses"))
                                             + len(params.get("Destinations", [])))

    def sms(self, route: str, recipient: str, text: str) -> None:
        """Counts one SMS that left through `route` ('sns', 'esms', 'android_gateway', 'smssync')."""
        digits = re.sub(r"\D", "", recipient)[-9:]
        audience = "citizen" if digits in self.citizens else "staff"
        count = segments(text)
        self.tally[("sms", route, audience, "messages")] += 1
        self.tally[("sms", route, audience, "segments")] += count
        self.tally[("sms_kind", sms_kind(text, audience))] += count
        self.tally[("sms_encoding", "gsm7" if _is_gsm7(text) else "ucs2")] += 1

    def zalo(self, count: int = 1) -> None:
        self.tally[("zalo",)] += count


_SMS_KINDS = (("Ban hai long", "survey"), ("Duong day nong 1022 da tiep nhan", "acknowledgement"),
              ("1022 da nhan phan anh", "acknowledgement"),  # its short wording, with the status link
              ("Cam on ban da danh gia", "rating thanks"), ("co tin tra loi moi", "notice of a long message"),
              ("co tin moi", "notice of a long message"), ("Tra loi phan anh", "answer"),
              ("da co tra loi", "notice of a long answer, with the survey"), ("QUA HAN", "staff: escalation"),
              ("1022 - phan anh", "staff reply"), ("Giao xu ly", "staff: assignment"),
              ("sap den han", "staff: 80 % deadline warning"), ("goi lai", "staff: callback reminder"))


def sms_kind(text: str, audience: str) -> str:
    """Which message an SMS is, from the start of the app's own templates (for the breakdown)."""
    kind = next((kind for marker, kind in _SMS_KINDS if marker in text), "other")
    return kind if kind.startswith("staff") or audience == "citizen" else f"staff: {kind}"


def _is_gsm7(text: str) -> bool:
    from chalicelib.domain.sms import is_gsm7

    return is_gsm7(text)


# The day -----------------------------------------------------------------------------------------

VN = timezone(timedelta(hours=7))
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}

TEXTS = {
    "giao-thong": "Mặt đường đoạn trước chợ {area} có nhiều ổ gà lớn, mưa xuống đọng nước, xe máy đi ban đêm rất nguy "
                  "hiểm, tuần trước đã có người té ngã. Đề nghị cơ quan chức năng sớm sửa chữa.",
    "moi-truong": "Rác thải tập kết ven đường gần trường tiểu học ở {area} nhiều ngày chưa thu gom, bốc mùi hôi thối, "
                  "ruồi nhặng nhiều. Đề nghị cho xe thu gom rác định kỳ.",
    "ngap-ung": "Cống thoát nước đường chính {area} bị tắc, mỗi lần mưa là ngập sâu nửa mét, nước tràn vào nhà dân, "
                "xe cộ chết máy. Đề nghị nạo vét cống thoát nước.",
    "thu-tuc-hanh-chinh": "Tôi nộp hồ sơ làm giấy khai sinh cho con tại UBND {area} đã trễ hẹn hai tuần mà chưa có "
                          "kết quả, cán bộ hẹn nhiều lần. Xin hỏi bao giờ tôi nhận được?",
    "dien-nuoc": "Khu dân cư ấp 3 {area} bị cúp điện liên tục mấy ngày nay, điện yếu không chạy được máy bơm nước, "
                 "ảnh hưởng sinh hoạt. Đề nghị điện lực kiểm tra.",
    "chieu-sang": "Đèn đường hẻm 5 khu phố 2 {area} không sáng cả tuần nay, buổi tối rất tối, người dân đi lại "
                  "nguy hiểm, sợ trộm cắp. Đề nghị sửa đèn chiếu sáng.",
    "dat-dai": "Hộ bên cạnh lấn chiếm đất nhà tôi ở {area} khoảng 20 mét vuông, tôi đã gửi đơn tranh chấp đất lên "
               "xã từ tháng trước nhưng chưa được giải quyết.",
    "an-sinh": "Gia đình tôi thuộc hộ nghèo ở {area}, mẹ tôi là người cao tuổi nhưng chưa nhận được trợ cấp hai tháng "
               "nay. Xin hỏi lý do và khi nào được nhận.",
    "y-te": "Trạm y tế {area} thiếu vắc xin tiêm chủng cho trẻ, phụ huynh phải chờ và quay lại nhiều lần mà vẫn chưa "
            "được tiêm. Đề nghị kiểm tra.",
    "giao-duc": "Trường học ở {area} thu thêm nhiều khoản ngoài học phí đầu năm, phụ huynh học sinh rất bức xúc. "
                "Đề nghị kiểm tra các khoản thu.",
    "an-ninh-trat-tu": "Gần đây ở {area} có nhiều vụ mất trộm xe máy vào ban đêm, người dân lo lắng. Đề nghị công an "
                       "tăng cường tuần tra.",
    "khac": "Xin hỏi một việc chung chung không rõ lĩnh vực, mong được hướng dẫn.",
}
REPLY = ("Cơ quan đã tiếp nhận phản ánh và sẽ cử cán bộ kiểm tra hiện trường trong tuần này; "
         "kết quả sẽ được thông báo cho bạn.")
ANSWER = ("Ngày {day}, {agency} đã cử cán bộ kiểm tra hiện trường tại địa điểm bạn phản ánh. Đơn vị phụ trách đã "
          "khắc phục xong và sẽ tiếp tục theo dõi; nếu tình trạng tái diễn, bạn vui lòng phản ánh lại qua đường dây "
          "nóng 1022. Cảm ơn bạn đã đồng hành cùng chính quyền.")
FOLLOW_UP = "Cho hoi phan anh cua toi da duoc xu ly chua, tinh trang van nhu cu"


@dataclass
class Plan:
    """One ticket's life in the day: its channel and which of the optional steps it takes."""

    n: int
    channel: str
    category: str
    area: str
    phone: str
    flags: set[str] = field(default_factory=set)
    code: str = ""


def plan_day(tickets: int, ref: Any, seed: int = 1022) -> list[Plan]:
    """The day's tickets: channels and optional steps in the shares above, spread at random (seeded)."""
    rng = random.Random(seed)

    def spread(mix: dict[str, int]) -> list[str]:
        total = sum(mix.values())
        labels = [label for label, share in mix.items() for _ in range(round(share * tickets / total))]
        labels = (labels + [max(mix, key=mix.get)] * tickets)[:tickets]
        rng.shuffle(labels)
        return labels

    channels, categories = spread(CHANNELS), spread(CATEGORY_MIX)
    areas = sorted(ref.areas)
    plans = [Plan(n, channels[n], categories[n], areas[rng.randrange(len(areas))], f"09{n + 10_000_000:08d}"[:10])
             for n in range(tickets)]
    for flag, share in SHARES.items():
        for plan in rng.sample(plans, round(share * tickets / 100)):
            plan.flags.add(flag)
    for plan in plans:
        if "escalation" in plan.flags:
            plan.flags.add("warning")
        if rng.random() < RATED_SHARE:
            plan.flags.add("rated")
        if plan.channel.startswith("web") and rng.random() < PHOTO_SHARE:
            plan.flags.add("photo")
    return plans


def _jpeg() -> bytes:
    """A tiny JPEG as a phone writes one (markers only; enough for the type sniffing)."""
    quant = b"\xff\xdb\x00\x43\x00" + bytes(range(64))
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + quant + b"\xff\xd9"


class Day:
    """Drives the tickets through the app as citizens, providers, staff and Lambda would."""

    def __init__(self, client: Any, recorder: Recorder, tokens: dict[str, str], fakes: Any, api_key: str,
                 ref: Any) -> None:
        self.client, self.recorder, self.tokens, self.fakes = client, recorder, tokens, fakes
        self.api_key, self.ref = api_key, ref
        self._outbox_seen = 0

    # plumbing

    def http(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
             expect: tuple[int, ...] = (200, 201, 303)) -> Any:
        """One request through API Gateway to the API handler."""
        response = self.client.http.request(method, path, headers=headers or {}, body=body)
        self.recorder.tally[("api",)] += 1
        self.recorder.tally[("lambda", "api")] += 1
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {path.split('?')[0]}: {response.status_code} {response.body[:300]!r}")
        return response

    def pump(self, smssync_device: str | None = None) -> None:
        """Runs the SQS consumers until the queues are empty (one Lambda invocation per message: at a
        hotline's rate batches hold one message), then hands what waits for an SMSSync phone to it."""
        import app
        from chalicelib.config import settings
        from devstack.worker import poll_once

        handlers = [(app.handle_inbound, "handle_inbound", settings().inbound_queue_url, 10),
                    (app.route_tickets, "route_tickets", settings().routing_queue_url, 10),
                    (app.send_notifications, "send_notifications", settings().notifications_queue_url, 3)]
        for _ in range(30):
            moved = 0
            for handler, name, url, batch in handlers:
                received = poll_once(handler, name, url, batch, wait_s=0)
                if received:
                    fifo = url.endswith(".fifo")
                    self.recorder.tally[("lambda", name)] += received
                    # Lambda's poller: the receive that got it and the delete after it.
                    self.recorder.tally[("sqs", "fifo" if fifo else "standard")] += 2 * received
                moved += received
            if not moved:
                break
        self._collect_outbox()
        if smssync_device:
            self._smssync_poll(smssync_device)

    def _collect_outbox(self) -> None:
        """SMS and Zalo messages the fake providers took since the last look."""
        with self.fakes.state.lock:
            new = self.fakes.state.outbox[self._outbox_seen:]
            self._outbox_seen = len(self.fakes.state.outbox)
        for message in new:
            if message["provider"] == "zalo":
                self.recorder.zalo()
            else:
                self.recorder.sms(message["provider"], message["to"], message["text"])

    def _smssync_poll(self, device: str) -> None:
        """The SMSSync phone polls for its SMS (only when it has some: its idle polls are a fixed
        cost), sends them from its SIM and confirms them."""
        from chalicelib.store import outbound
        from devstack.fakes import LOCAL_SECRETS

        with self.recorder.pause():
            waiting = outbound.queued(outbound.device_queue(device))
        if not waiting:
            return
        secret = LOCAL_SECRETS["smssync_secret"]
        task = self.http("GET", f"/webhooks/sms/smssync?task=send&secret={secret}&device_id={device}").json_body
        messages = task["payload"]["messages"]
        for message in messages:
            self.recorder.sms("smssync", message["to"], message["message"])
        self.http("POST", f"/webhooks/sms/smssync?task=sent&secret={secret}", JSON_TYPE,
                  json.dumps({"queued_messages": [m["uuid"] for m in messages]}).encode())

    def _ticket(self, code: str) -> Any:
        from chalicelib.store import tickets

        with self.recorder.pause():
            return tickets.get_ticket(code)

    def _schedule(self, name: str, run: Any) -> None:
        """One scheduled run (its idle cost is the fixed part: subtracted from the ticket). Like the
        idle runs, it reads the reference data afresh: a schedule's container has let it expire."""
        from chalicelib.store import reference

        self.recorder.tally[("schedule_runs", name)] += 1
        reference._cache = None
        run()

    # citizen side

    def _text(self, plan: Plan) -> str:
        area = self.ref.areas[plan.area].name
        text = TEXTS[plan.category].format(area=area)
        if plan.channel.startswith("sms"):
            from chalicelib.domain.text import strip_diacritics

            return strip_diacritics(text)  # SMS from a feature phone: no diacritics
        return text

    def _upload(self) -> str:
        import requests

        photo = _jpeg()
        grant = self.http("POST", "/api/v1/uploads", JSON_TYPE,
                          json.dumps({"content_type": "image/jpeg", "size": len(photo)}).encode()).json_body
        sent = requests.post(grant["url"], data=grant["fields"], files={"file": ("photo.jpg", photo, "image/jpeg")},
                             timeout=10)
        if sent.status_code not in (200, 204):
            raise RuntimeError(f"photo upload: {sent.status_code}")
        self.recorder.tally[("s3", "put")] += 1  # the browser's POST straight to the bucket
        return grant["key"]

    def _provider_request(self, plan: Plan, text: str) -> Any:
        from devstack.sign import signed_requests

        provider = {"zalo": "zalo", "sms_esms": "esms", "sms_android_gateway": "android_gateway",
                    "sms_smssync": "smssync"}[plan.channel]
        requests = signed_requests("http://local", plan.phone, text, zalo_user=f"bench-zalo-{plan.n}")
        return next(r for r in requests if r.provider == provider)

    def _send_as_citizen(self, plan: Plan, text: str) -> None:
        request = self._provider_request(plan, text)
        path = "/" + request.url.split("://", 1)[1].split("/", 1)[1]
        self.http(request.method, path, request.headers, request.body)

    def submit(self, plan: Plan) -> str:
        """The report through its channel; returns the tracking code."""
        from chalicelib.store import tickets

        text = self._text(plan)
        chosen = {"category": plan.category, "area": plan.area} if plan.category != "khac" else {}
        if plan.channel == "phone":
            intake = {"phone": plan.phone, "description": text, "name": "Người gọi", "form_token": uuid.uuid4().hex,
                      **chosen}
            return self.http("POST", "/api/v1/staff/intake", self._bearer("operator", JSON_TYPE),
                             json.dumps(intake, ensure_ascii=False).encode()).json_body["tracking_code"]
        if plan.channel == "web_form":
            fields = {"description": text, "phone": plan.phone, "name": "Nguyễn Văn A", "form_token": uuid.uuid4().hex,
                      "confirm_new": "1", "address": "Số 12, khu phố 3", **chosen}
            if "photo" in plan.flags:
                fields["photos"] = self._upload()
            html = self.http("POST", "/", FORM, urlencode(fields).encode()).body.decode()
            return re.search(r'id="tracking-code">([^<]+)<', html).group(1)
        if plan.channel == "web_api":
            body: dict[str, Any] = {"description": text, "phone": plan.phone, **chosen}
            if "photo" in plan.flags:
                body["photos"] = [self._upload()]
            headers = {**JSON_TYPE, "Idempotency-Key": uuid.uuid4().hex}
            return self.http("POST", "/api/v1/reports", headers,
                             json.dumps(body, ensure_ascii=False).encode()).json_body["tracking_code"]
        if plan.channel == "open311":
            fields = {"api_key": self.api_key, "service_code": plan.category, "description": text,
                      "lat": "11.31", "long": "106.1", "phone": plan.phone, "attribute[area]": plan.area}
            return self.http("POST", "/open311/v2/requests.json", FORM,
                             urlencode(fields).encode()).json_body[0]["service_request_id"]
        self._send_as_citizen(plan, text)
        self.pump(self._device(plan))
        with self.recorder.pause():
            history = (tickets.by_zalo(f"bench-zalo-{plan.n}") if plan.channel == "zalo"
                       else tickets.by_phone("+84" + plan.phone[1:]))
        return history[0].tracking_code

    def _device(self, plan: Plan) -> str | None:
        return "phone-2" if plan.channel == "sms_smssync" else None

    # staff side

    def _bearer(self, role: str, headers: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **(headers or {})}

    def _role_for(self, code: str) -> str:
        return "officer" if self._ticket(code).agency == "so-xay-dung" else "operator"

    def view(self, role: str, code: str) -> dict[str, Any]:
        return self.http("GET", f"/api/v1/staff/tickets/{code}", self._bearer(role)).json_body

    def act(self, role: str, code: str, action: str, **fields: Any) -> None:
        version = self.view(role, code)["version"]
        self.http("POST", f"/api/v1/staff/tickets/{code}/actions/{action}", self._bearer(role, JSON_TYPE),
                  json.dumps({"version": version, **fields}, ensure_ascii=False).encode())

    def _callback_due(self) -> datetime:
        """A callback time inside the hotline's hours (07:00-20:00), at least 30 minutes ahead."""
        local = datetime.now(VN) + timedelta(minutes=30)
        if not 8 <= local.hour < 19:
            local = (local + timedelta(days=1)).replace(hour=9, minute=0)
        return local.replace(second=0, microsecond=0)

    # one ticket's life

    def live(self, plan: Plan) -> None:
        from chalicelib.services import schedules

        device = self._device(plan)
        code = plan.code = self.submit(plan)
        self.pump(device)  # routing, the agency's notification, the acknowledgement
        if self._ticket(code).status == "triage":
            self.act("operator", code, "categorise", category="moi-truong", area=plan.area)
            self.pump(device)
        self.http("GET", "/api/v1/staff/tickets", self._bearer("operator"))  # the inbox this ticket sits in
        role = self._role_for(code)
        if "start" in plan.flags:
            self.act(role, code, "start")
        self.act(role, code, "reply", text=REPLY)
        self.pump(device)
        if "transfer" in plan.flags:
            current = self._ticket(code).agency
            other = next(a for a in sorted(self.ref.agencies) if a != current and a.startswith("ubnd"))
            self.act("operator", code, "assign", agency=other, reason="Thuộc thẩm quyền địa phương")
            self.pump(device)
            role = self._role_for(code)
        if "callback" in plan.flags:
            due = self._callback_due()
            self.act("operator", code, "callback", due=due.strftime("%Y-%m-%dT%H:%M"), reason="Hỏi thêm vị trí")
            self._schedule("callback_reminders",
                           lambda: schedules.callback_reminders(now=due.astimezone(timezone.utc) - timedelta(minutes=10)))
            self.pump(device)
            callback = self.view("operator", code)["callbacks"][0]["id"]
            self.act("operator", code, "callback_done", callback=callback, outcome="Đã gọi lại, xác định vị trí")
        if "warning" in plan.flags:
            ticket = self._ticket(code)
            if ticket.warn_at is not None:
                moment = ticket.warn_at + timedelta(minutes=1)
                self._schedule("deadline_watch", lambda: schedules.deadline_watch(now=moment))
                self.pump(device)
                if "escalation" in plan.flags:
                    moment = self._ticket(code).due_at + timedelta(minutes=1)
                    self._schedule("deadline_watch", lambda: schedules.deadline_watch(now=moment))
                    self.pump(device)
        if "follow_up" in plan.flags:
            self.follow_up(plan, code)
            self.pump(device)
        agency_id = self._ticket(code).agency
        agency = self.ref.agencies[agency_id].name if agency_id in self.ref.agencies else "Cơ quan chức năng"
        self.act(role, code, "resolve", answer=ANSWER.format(day=datetime.now(VN).strftime("%d/%m"), agency=agency))
        self.pump(device)
        if "rated" in plan.flags:
            self.rate(plan, code)
            self.pump(device)
        self.act("operator", code, "close")
        if "reopen" in plan.flags:
            self.act("operator", code, "reopen", reason="Người dân phản ánh chưa được khắc phục")
            self.act(self._role_for(code), code, "resolve", answer=ANSWER.format(
                day=datetime.now(VN).strftime("%d/%m"), agency=agency))
            self.pump(device)
            self.act("operator", code, "close")

    def follow_up(self, plan: Plan, code: str) -> None:
        if plan.channel == "zalo" or plan.channel.startswith("sms"):
            self._send_as_citizen(plan, FOLLOW_UP)
            return
        self.http("GET", f"/api/v1/reports/{code}?phone_last4={plan.phone[-4:]}")

    def rate(self, plan: Plan, code: str) -> None:
        if plan.channel == "zalo" or plan.channel.startswith("sms"):
            self._send_as_citizen(plan, "5")
            return
        token = self._ticket(code).survey_token
        self.http("GET", f"/danh-gia/{code}?t={token}")
        self.http("POST", f"/danh-gia/{code}", FORM, urlencode({"t": token, "rating": "4", "comment": ""}).encode())


# Pricing -----------------------------------------------------------------------------------------


def load_prices() -> dict[str, Any]:
    return json.loads(PRICES.read_text(encoding="utf-8"))


def _value(prices: dict[str, Any], name: str) -> float:
    return float(prices["prices"][name]["value"])


def price_lines(tally: Tally, tickets: int, prices: dict[str, Any]) -> dict[str, float]:
    """USD per ticket for each service line, from a tally of `tickets` tickets."""
    lam = prices["lambda_assumptions"]
    per = 1 / tickets
    gb = lam["memory_mb"] / 1024
    invocations = {name: count for (kind, *rest), count in tally.items() if kind == "lambda" for name in rest}
    seconds = sum(count * lam["ms_per_invocation"].get(name, lam["ms_per_invocation"]["default"]) / 1000
                  for name, count in invocations.items())
    n_invocations = sum(invocations.values())
    seconds += n_invocations * lam["cold_start_share"] * lam["init_ms"] / 1000
    sms = {route: sum(v for k, v in tally.items() if k[:2] == ("sms", route) and k[3] == "segments")
           for route in ("sns", "esms", "android_gateway", "smssync")}
    vnd = prices["usd_per_vnd"]
    log_bytes = tally[("log", "warning")] + n_invocations * prices["logs"]["platform_bytes_per_invocation"]
    return {
        "api_gateway": tally[("api",)] * _value(prices, "api_gateway_rest_per_million") / 1e6 * per,
        "lambda_requests": n_invocations * _value(prices, "lambda_requests_per_million") / 1e6 * per,
        "lambda_duration": seconds * gb * _value(prices, "lambda_gb_second") * per,
        "dynamodb_writes": tally[("wru", "table")] * _value(prices, "dynamodb_wru_per_million") / 1e6 * per
        + sum(v for k, v in tally.items() if k[:2] == ("wru", "index")) * _value(
            prices, "dynamodb_wru_per_million") / 1e6 * per,
        "dynamodb_reads": tally[("rru",)] * _value(prices, "dynamodb_rru_per_million") / 1e6 * per,
        "sqs_standard": tally[("sqs", "standard")] * _value(prices, "sqs_standard_per_million") / 1e6 * per,
        "sqs_fifo": tally[("sqs", "fifo")] * _value(prices, "sqs_fifo_per_million") / 1e6 * per,
        "sns_sms": sms["sns"] * prices["sms_routes"]["sns"]["usd_per_segment"] * per,
        "esms_sms": sms["esms"] * prices["sms_routes"]["esms"]["vnd_per_segment"] * vnd * per,
        "sim_sms": (sms["android_gateway"] * prices["sms_routes"]["android_gateway"]["vnd_per_segment"]
                    + sms["smssync"] * prices["sms_routes"]["smssync"]["vnd_per_segment"]) * vnd * per,
        "zalo": tally[("zalo",)] * prices["zalo"]["usd_per_message"] * per,
        "ses_email": tally[("email",)] * _value(prices, "ses_per_thousand") / 1000 * per,
        "s3_requests": (tally[("s3", "put")] * _value(prices, "s3_put_per_thousand")
                        + tally[("s3", "get")] * _value(prices, "s3_get_per_thousand")) / 1000 * per,
        "cloudwatch_logs": log_bytes / 1e9 * _value(prices, "logs_ingestion_per_gb") * per,
    }


CORE = ("api_gateway", "lambda_requests", "lambda_duration", "dynamodb_writes", "dynamodb_reads", "sqs_standard",
        "sqs_fifo")
MESSAGING = ("sns_sms", "esms_sms", "ses_email")
OTHER = ("sim_sms", "zalo", "s3_requests", "cloudwatch_logs")


def fixed_monthly(idle: dict[str, Tally], prices: dict[str, Any]) -> dict[str, float]:
    """USD a month that does not depend on the number of tickets: the schedules' runs (each at its
    measured idle cost), Lambda's queue pollers, the SMSSync phone's polls, the daily digest."""
    month = prices["fixed"]["days_per_month"]
    runs = prices["fixed"]["schedule_runs_per_day"]
    total: dict[str, float] = Counter()
    for name, per_day in runs.items():
        tally = Tally({("lambda", "schedule"): 1})
        tally.update(idle.get(name, Tally()))
        for line, usd in price_lines(tally, 1, prices).items():
            total[f"schedules:{line}"] += usd * per_day * month
    pollers = prices["fixed"]["sqs_poller_requests_per_month"]
    total["sqs_pollers"] = (pollers["standard"] * _value(prices, "sqs_standard_per_million")
                            + pollers["fifo"] * _value(prices, "sqs_fifo_per_million")) / 1e6
    polls = prices["fixed"]["smssync_polls_per_day"] * month
    total["smssync_polls"] = polls * (_value(prices, "api_gateway_rest_per_million")
                                      + _value(prices, "lambda_requests_per_million")) / 1e6
    total["digest_email"] = (prices["fixed"]["digest_emails_per_day"] * month
                             * _value(prices, "ses_per_thousand") / 1000)
    total["cloudwatch_alarms"] = prices["fixed"]["alarms"] * _value(prices, "cloudwatch_alarm_per_month")
    return {k: v for k, v in total.items() if v}


# Running the day ---------------------------------------------------------------------------------


def _subtract_idle(tallies: dict[str, Tally], idle: dict[str, Tally]) -> dict[str, Tally]:
    """Each ticket's tally without the idle cost of the schedule runs it took part in (those runs
    happen whether or not there is a ticket: they are the fixed part)."""
    net = {}
    for channel, tally in tallies.items():
        result = Tally(tally)
        for (kind, *rest), runs in tally.items():
            if kind != "schedule_runs":
                continue
            for key, value in idle.get(rest[0], Tally()).items():
                result[key] -= value * runs
        net[channel] = result
    return net


@contextmanager
def _stdout_to(path: Path) -> Iterator[None]:
    """Sends file descriptor 1 (the app's JSON log lines, as on Lambda) to `path` for the block."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "ab") as sink:
        os.dup2(sink.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _log_bytes(chunk: bytes) -> tuple[int, int]:
    """(all bytes, bytes of lines at WARNING or above) of captured log output."""
    shipped = 0
    for line in chunk.splitlines(keepends=True):
        try:
            record = json.loads(line)
        except ValueError:
            record = None  # not a log record (a traceback): it ships as it is
        level = record.get("level") if isinstance(record, dict) else None
        # A line without a level (an EMF metric, a traceback) ships at any log level.
        if level is None or level in ("WARNING", "ERROR", "CRITICAL"):
            shipped += len(line)
    return len(chunk), shipped


def run_day(tickets: int = TICKETS) -> dict[str, Any]:
    """Brings the local stack up, runs the day, returns the tallies (per channel and idle runs)."""
    from devstack.emulator import bring_up

    local = bring_up(port=0, stack_name=STACK_NAME)
    fakes = None
    try:
        from devstack.emulator import stage_environment

        stage_environment("dev")
        os.environ["SMS_DEFAULT_PROVIDER"] = json.loads((ROOT / ".chalice" / "config.json").read_text(
            encoding="utf-8"))["environment_variables"]["SMS_DEFAULT_PROVIDER"]  # as deployed: citizen SMS by SNS
        from chalicelib import aws
        from chalicelib.config import settings

        settings.cache_clear()
        session = aws.botocore_session()
        recorder = Recorder(session)
        for service in ("sqs", "sns", "ses"):
            session.register(f"before-parameter-build.{service}", recorder.note_request)
        from chalice.test import Client

        from chalicelib.domain.permissions import user_from_claims
        from chalicelib.services import open311
        from chalicelib.store.reference import load_reference, save_reference, seed_document
        from devstack.fakes import seed_provider_secrets, start_fakes
        from devstack.seed import DEMO_PASSWORD, seed_staff

        with recorder.pause():
            save_reference(seed_document(), expected_version=None)
            fakes = start_fakes()
            os.environ.update(fakes.environment())
            settings.cache_clear()
            seed_provider_secrets(fakes, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
            from chalicelib import identity

            seed_staff()
            roles = {"operator": "tongdai@demo.1022.vn", "officer": "soxaydung@demo.1022.vn"}
            tokens = {role: identity.sign_in(email, DEMO_PASSWORD).id_token for role, email in roles.items()}
            admin = user_from_claims({"sub": "bench", "email": "quantri@demo.1022.vn", "cognito:groups": ["admin"]})
            api_key = open311.add_integrator(admin, "Ứng dụng đô thị thông minh")["api_key"]
            ref = load_reference()
        recorder.bind()
        plans = plan_day(tickets, ref)
        for plan in plans:
            recorder.citizens.add(plan.phone[-9:])
        import app

        log = Path(tempfile.mkstemp(prefix="bench-cost-", suffix=".log")[1])
        with _stdout_to(log), Client(app.app, stage_name="dev", project_dir=str(ROOT)) as client:
            day = Day(client, recorder, tokens, fakes, api_key, ref)
            idle = _idle_runs(recorder)
            # Warm, as a Lambda container is after its first requests: a whole life with every
            # step, not counted (its channel is none of the day's).
            recorder.channel = "warmup"
            warm = Plan(-1, "web_form", "ngap-ung", "tan-ninh", "0919999999", set(SHARES) | {"rated"})
            recorder.citizens.add(warm.phone[-9:])
            day.live(warm)
            started = time.perf_counter()
            for plan in plans:
                recorder.channel = plan.channel
                before = log.stat().st_size
                day.live(plan)
                sys.stdout.flush()
                with open(log, "rb") as captured:
                    captured.seek(before)
                    every, warning = _log_bytes(captured.read())
                recorder.tally[("log", "all")] += every
                recorder.tally[("log", "warning")] += warning
            elapsed = time.perf_counter() - started
        log.unlink()
        return {"tallies": recorder.tallies, "idle": idle, "plans": plans, "writes": recorder.writes,
                "elapsed_s": elapsed, "stored": stored_bytes(recorder, [p.code for p in plans])}
    finally:
        if fakes is not None:
            fakes.stop()
        local.stop()


def _idle_runs(recorder: Recorder) -> dict[str, Tally]:
    """Each schedule's calls when it finds nothing to do, at an hour when the hotline is open. A
    scheduled function runs every 5 minutes or more, after the container's reference data cache
    (60 s) has expired, so each run reads it again. The digest's first run of a day walks every
    agency; its later runs that day find the day's cursor at the end."""
    from chalicelib.services import delivery, routing, schedules
    from chalicelib.store import reference

    opening = datetime.now(VN).replace(hour=9, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    runs = {"sweep_unrouted": lambda: (routing.requeue_unrouted(), delivery.requeue_stale()),
            "callback_reminders": lambda: schedules.callback_reminders(now=opening),
            "deadline_watch": lambda: schedules.deadline_watch(now=datetime.now(timezone.utc)),
            "daily_digest_first": lambda: schedules.daily_digest(),
            "daily_digest_rest": lambda: schedules.daily_digest()}
    idle = {}
    for name, run in runs.items():
        reference._cache = None
        recorder.channel = f"idle:{name}"
        run()
        idle[name] = recorder.tallies.pop(recorder.channel, Tally())
    recorder.channel = "setup"
    return idle


# What the writes would cost otherwise (for the cuts) -------------------------------------------------

# Fields that make a ticket or a message large and that no index query reads.
BIG_ATTRIBUTES = frozenset({"text", "answer", "public_summary", "public_question", "public_answer", "attachments",
                            "followers", "html", "detail", "last_error", "address", "reporter_name", "subject",
                            "photos_public", "survey_token", "public_text"})


def _without(item: dict[str, Any] | None, names: frozenset[str]) -> dict[str, Any] | None:
    return None if item is None else {k: v for k, v in item.items() if k not in names}


def rewritten_units(writes: list[dict[str, Any]], schemas: dict[str, tuple[tuple[str, ...], list[Index]]],
                    lean_indexes: bool = False, keys_only: bool = False, transactional: bool = True,
                    drop: frozenset[str] = frozenset()) -> float:
    """Write units of the recorded writes under another design: ALL indexes projecting everything
    but BIG_ATTRIBUTES (`lean_indexes`), every index KEYS_ONLY, single conditional writes instead of
    transactions, or the attributes in `drop` not stored at all."""
    units = 0.0
    for write in writes:
        keys, indexes = schemas[write["table"]]
        before, after = _without(write["before"], drop), _without(write["after"], drop)
        if write["check"]:
            units += write_units(item_size(before)) * (2 if transactional else 1)
            continue
        units += write_units(max(item_size(before), item_size(after))) * (2 if write["txn"] and transactional else 1)
        for index in indexes:
            old, new = before, after
            if keys_only:
                index = Index(index.name, index.hash_key, index.range_key, "KEYS_ONLY")
            elif lean_indexes and index.projection == "ALL":
                old, new = _without(before, BIG_ATTRIBUTES), _without(after, BIG_ATTRIBUTES)
            units += index_write_units(old, new, index, keys)[0]
    return units


def what_if(writes: list[dict[str, Any]], tickets: int) -> dict[str, float]:
    """Write units per ticket now and under each change the numbers point to."""
    schemas = table_schemas()
    day = [w for w in writes if w["channel"] in CHANNELS]
    same_status = [w for w in day if w["kind"] == "ticket" and w["before"] and w["after"]
                   and w["before"].get("status") == w["after"].get("status")]
    scenarios = {
        "now": rewritten_units(day, schemas),
        "lean_index_projections": rewritten_units(day, schemas, lean_indexes=True),
        "keys_only_indexes": rewritten_units(day, schemas, keys_only=True),
        "single_conditional_writes": rewritten_units(day, schemas, transactional=False),
        "no_email_html_stored": rewritten_units(day, schemas, drop=frozenset({"html"})),
        "all_three": rewritten_units(day, schemas, lean_indexes=True, transactional=False,
                                     drop=frozenset({"html"})),
        "ticket_rewrites_without_status_change": rewritten_units(same_status, schemas),
    }
    return {name: _round(units / tickets, 1) for name, units in scenarios.items()}


def stored_bytes(recorder: Recorder, codes: list[str]) -> dict[str, int]:
    """What a ticket leaves in the table a day later (its partition: the ticket, its timeline, its
    messages, callbacks, rating) and in the indexes, with DynamoDB's 100 bytes per item and entry."""
    table, index_bytes = 0, 0
    name = os.environ["TICKETS_TABLE"]
    keys, indexes = recorder._schema(name)
    for code in codes:
        pages = recorder._probe.get_paginator("query").paginate(
            TableName=name, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": f"TICKET#{code}"}})
        for item in (i for page in pages for i in page["Items"]):
            table += item_size(item) + 100
            index_bytes += sum(item_size(e) + 100 for e in (i.entry(item, keys) for i in indexes) if e is not None)
    return {"table": round(table / len(codes)), "indexes": round(index_bytes / len(codes))}


# Figures -----------------------------------------------------------------------------------------


def _sum(tallies: dict[str, Tally], channels: list[str] | None = None) -> Tally:
    total = Tally()
    for channel, tally in tallies.items():
        if channels is None or channel in channels:
            for key, value in tally.items():
                total[key] += value
    return total


def _round(value: float, places: int = 4) -> float:
    return float(round(Decimal(str(value)), places))


def figures(day: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    """The flat figures for bench/results.json and the detail behind them (`cost_detail`)."""
    plans = day["plans"]
    tickets = len(plans)
    by_channel = {channel: [p for p in plans if p.channel == channel] for channel in CHANNELS}
    net = _subtract_idle({c: t for c, t in day["tallies"].items() if c in CHANNELS}, day["idle"])
    total = _sum(net)
    lines = price_lines(total, tickets, prices)
    core = sum(lines[k] for k in CORE)
    messaging = sum(lines[k] for k in MESSAGING)
    fixed = fixed_monthly(day["idle"], prices)
    fixed_total = sum(fixed.values())

    def segments_of(tally: Tally, audience: str) -> float:
        return sum(v for k, v in tally.items() if k[0] == "sms" and k[2] == audience and k[3] == "segments")

    sms_web_channels = [c for c in CHANNELS if c.startswith(("sms", "web"))]
    sms_web_tickets = sum(len(by_channel[c]) for c in sms_web_channels)
    wru = total[("wru", "table")] + sum(v for k, v in total.items() if k[:2] == ("wru", "index"))
    per_channel = {}
    for channel, group in by_channel.items():
        if not group:
            continue
        tally = net.get(channel, Tally())
        channel_lines = price_lines(tally, len(group), prices)
        per_channel[channel] = {
            "tickets": len(group),
            "usd_per_1000_aws_core": _round(sum(channel_lines[k] for k in CORE) * 1000),
            "usd_per_1000_messaging": _round(sum(channel_lines[k] for k in MESSAGING) * 1000),
            "sms_segments_citizen": _round(segments_of(tally, "citizen") / len(group), 2),
            "sms_segments_staff": _round(segments_of(tally, "staff") / len(group), 2),
            "ddb_wru": _round((tally[("wru", "table")] + sum(v for k, v in tally.items() if k[:2] == ("wru", "index")))
                              / len(group), 1),
            "ddb_rru": _round(tally[("rru",)] / len(group), 1),
            "api_requests": _round(tally[("api",)] / len(group), 1),
        }
    kinds = sorted({k[1] for k in total if k[0] == "item_writes"})
    items = {kind: {"writes_per_ticket": _round(total[("item_writes", kind)] / tickets, 2),
                    "avg_bytes": round(total[("item_bytes", kind)] / max(1, total[("item_writes", kind)])),
                    "table_wru_per_ticket": _round(total[("item_wru", kind, "table")] / tickets, 2),
                    "index_wru_per_ticket": _round(total[("item_wru", kind, "index")] / tickets, 2)}
             for kind in kinds}
    items = dict(sorted(items.items(), key=lambda kv: -(kv[1]["table_wru_per_ticket"] + kv[1]["index_wru_per_ticket"])))
    indexes = {k[2]: _round(v / tickets, 2) for k, v in sorted(total.items(), key=lambda kv: -kv[1])
               if k[:2] == ("wru", "index")}
    moves = {k[1]: _round(v / tickets, 2) for k, v in total.items() if k[0] == "index_key_moves"}
    calls = {f"{k[1]}.{k[2]}": _round(v / tickets, 2) for k, v in sorted(total.items(), key=lambda kv: -kv[1])
             if k[0] == "call"}
    sms = {f"{k[1]}/{k[2]}": {"messages": _round(total[("sms", k[1], k[2], "messages")] / tickets, 3),
                              "segments": _round(v / tickets, 3)}
           for k, v in total.items() if k[0] == "sms" and k[3] == "segments"}
    monthly = {}
    for volume in (30_000, 150_000):
        bill = {line: usd * volume for line, usd in lines.items()}
        bill["fixed"] = fixed_total
        top = max(bill, key=bill.get)
        monthly[str(volume)] = {"usd": _round(sum(bill.values()), 2), "aws_core_usd": _round(core * volume, 2),
                                "messaging_usd": _round(messaging * volume, 2), "fixed_usd": _round(fixed_total, 2),
                                "dominant_line": top, "dominant_share": _round(bill[top] / sum(bill.values()), 3)}
    lambda_calls = {k[1]: _round(v / tickets, 2) for k, v in total.items() if k[0] == "lambda"}
    flat = {
        "usd_per_1000_tickets_aws_core": _round(core * 1000),
        "usd_per_1000_tickets_messaging": _round(messaging * 1000),
        "sms_segments_per_ticket_citizen": _round(segments_of(total, "citizen") / tickets, 3),
        "sms_segments_per_ticket_staff": _round(segments_of(total, "staff") / tickets, 3),
        "sms_segments_per_sms_web_ticket_citizen": _round(segments_of(_sum(net, sms_web_channels), "citizen")
                                                          / max(1, sms_web_tickets), 3),
        "ddb_write_units_per_ticket": _round(wru / tickets, 1),
        "ddb_read_units_per_ticket": _round(total[("rru",)] / tickets, 1),
        "api_requests_per_ticket": _round(total[("api",)] / tickets, 2),
        "emails_per_ticket": _round(total[("email",)] / tickets, 2),
        "lambda_invocations_per_ticket": _round(sum(v for k, v in total.items() if k[0] == "lambda") / tickets, 2),
        "monthly_usd_30000_tickets": monthly["30000"]["usd"],
        "monthly_usd_150000_tickets": monthly["150000"]["usd"],
        "monthly_dominant_line": monthly["30000"]["dominant_line"],
    }
    detail = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tickets": tickets,
        "measured_in_s": round(day["elapsed_s"], 1),
        "usd_per_1000_by_line": {k: _round(v * 1000, 4) for k, v in sorted(lines.items(), key=lambda kv: -kv[1])},
        "fixed_usd_per_month": {k: _round(v, 3) for k, v in sorted(fixed.items(), key=lambda kv: -kv[1])},
        "monthly": monthly,
        "by_channel": per_channel,
        "dynamodb_items": items,
        "dynamodb_index_wru_per_ticket": indexes,
        "dynamodb_index_key_moves_per_ticket": moves,
        "dynamodb_table_wru_per_ticket": {
            "transactional": _round(total[("wru", "table_txn")] / tickets, 1),
            "single": _round(total[("wru", "table_plain")] / tickets, 1)},
        "dynamodb_failed_writes": total[("failed_writes",)],
        "dynamodb_cancelled_transactions": total[("cancelled_transactions",)],
        "sms_per_ticket": sms,
        "sms_segments_per_ticket_by_message": {k[1]: _round(v / tickets, 3) for k, v in sorted(
            total.items(), key=lambda kv: -kv[1]) if k[0] == "sms_kind"},
        "dynamodb_wru_per_ticket_what_if": what_if(day["writes"], tickets),
        "dynamodb_stored_bytes_per_ticket": day["stored"],
        "dynamodb_storage_usd_per_month_per_1000_tickets_kept": _round(
            (day["stored"]["table"] + day["stored"]["indexes"]) * 1000 / 1e9
            * _value(prices, "dynamodb_storage_per_gb_month"), 4),
        "sms_encodings": {k[1]: total[k] for k in total if k[0] == "sms_encoding"},
        "zalo_messages_per_ticket": _round(total[("zalo",)] / tickets, 2),
        "lambda_invocations_per_ticket": lambda_calls,
        "aws_calls_per_ticket": calls,
        "log_bytes_per_ticket": {"info_and_above": round(total[("log", "all")] / tickets),
                                 "warning_and_above": round(total[("log", "warning")] / tickets)},
        "idle_schedule_calls": {name: {f"{k[1]}.{k[2]}": v for k, v in tally.items() if k[0] == "call"}
                                for name, tally in day["idle"].items()},
        "mix": {"channels_per_100": CHANNELS, "steps_per_100": SHARES, "rated_share_of_surveys": RATED_SHARE,
                "photo_share_of_web": PHOTO_SHARE, "categories_per_100": CATEGORY_MIX},
        "prices_checked": prices["checked"],
    }
    return {**flat, "cost_detail": detail}


def detail_table(detail: dict[str, Any]) -> str:
    """The cost breakdown as text: per service line, per channel, the largest DynamoDB items."""
    if not detail:
        return ""
    out = [f"running cost, measured {detail['measured_at'][:10]} on {detail['tickets']} tickets "
           f"(list prices checked {detail['prices_checked']})", ""]
    out.append(f"{'line':<18} {'USD / 1000 tickets':>19}")
    for line, usd in detail["usd_per_1000_by_line"].items():
        out.append(f"{line:<18} {usd:>19.4f}")
    out.append("")
    out.append(f"{'channel':<20} {'n':>4} {'core $/1k':>10} {'msg $/1k':>9} {'SMS cit':>8} {'SMS staff':>9} "
               f"{'WRU':>7} {'RRU':>6} {'API':>5}")
    for channel, row in detail["by_channel"].items():
        out.append(f"{channel:<20} {row['tickets']:>4} {row['usd_per_1000_aws_core']:>10.4f} "
                   f"{row['usd_per_1000_messaging']:>9.2f} {row['sms_segments_citizen']:>8.2f} "
                   f"{row['sms_segments_staff']:>9.2f} {row['ddb_wru']:>7.1f} {row['ddb_rru']:>6.1f} "
                   f"{row['api_requests']:>5.1f}")
    out.append("")
    out.append(f"{'DynamoDB item':<20} {'writes/t':>8} {'bytes':>6} {'table WRU/t':>11} {'index WRU/t':>11}")
    for kind, row in detail["dynamodb_items"].items():
        out.append(f"{kind:<20} {row['writes_per_ticket']:>8.2f} {row['avg_bytes']:>6} "
                   f"{row['table_wru_per_ticket']:>11.2f} {row['index_wru_per_ticket']:>11.2f}")
    out.append("index WRU per ticket: " + ", ".join(
        f"{k}={v}" for k, v in detail["dynamodb_index_wru_per_ticket"].items()))
    out.append("WRU per ticket if: " + ", ".join(f"{k}={v}" for k, v in detail["dynamodb_wru_per_ticket_what_if"].items()))
    out.append("SMS segments per ticket: " + ", ".join(
        f"{k}={v}" for k, v in detail["sms_segments_per_ticket_by_message"].items()))
    out.append("")
    for volume, bill in detail["monthly"].items():
        out.append(f"month at {int(volume):,} tickets: ${bill['usd']:,.2f} (AWS core ${bill['aws_core_usd']:,.2f}, "
                   f"messaging ${bill['messaging_usd']:,.2f}, fixed ${bill['fixed_usd']:,.2f}); "
                   f"largest line {bill['dominant_line']} ({bill['dominant_share']:.0%})")
    return "\n".join(out)


def measure_here(tickets: int = TICKETS) -> dict[str, Any]:
    return figures(run_day(tickets), load_prices())


def measure() -> dict[str, Any]:
    """Runs the day in a fresh interpreter (its own emulator and clients); returns its figures."""
    import subprocess

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "figures.json"
        subprocess.run([sys.executable, "-m", "bench.cost", "--figures", str(path)], cwd=ROOT, check=True)
        return json.loads(path.read_text(encoding="utf-8"))


def _record(found: dict[str, Any]) -> None:
    """Merges the figures into bench/results.json, keeping every other figure as it was."""
    from bench import report

    previous = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    measured_at = previous.pop("measured_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    for key in ("targets", "minimums"):
        previous.pop(key, None)
    report.write({**previous, **found}, measured_at, RESULTS)


def main(arguments: list[str]) -> None:
    found = measure_here()
    if "--figures" in arguments:
        Path(arguments[arguments.index("--figures") + 1]).write_text(json.dumps(found), encoding="utf-8")
        return
    from bench import report

    detail = found.get("cost_detail", {})
    print(report.table({k: v for k, v in found.items() if k != "cost_detail"}))
    print("\n" + detail_table(detail))
    if "--no-record" not in arguments:
        _record(found)
        print(f"\nrecorded in {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
