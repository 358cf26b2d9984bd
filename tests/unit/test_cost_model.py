"""The cost model's arithmetic (bench/cost.py), checked against hand-computed figures from DynamoDB's
documented rules and the examples on its pages:
- item sizes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
- read and write units: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
- index writes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html
and SMS segments (GSM-7 160 / 153, UCS-2 70 / 67)."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bench.cost import (
    Index,
    Recorder,
    _subtract_idle,
    index_write_units,
    item_size,
    price_lines,
    read_units,
    segments,
    table_schemas,
    write_cost,
    write_units,
)

KEYS = ("pk", "sk")
ALL = Index("by_status_due", "status", "due_sort", "ALL")
INCLUDE = Index("by_place", "place_open", "created_at", "INCLUDE", ("tracking_code", "status"))
KEYS_ONLY = Index("by_keys", "status", "due_sort", "KEYS_ONLY")


def s(text: str) -> dict[str, str]:
    return {"S": text}


def padded(size: int, **attributes: Any) -> dict[str, Any]:
    """An item of exactly `size` bytes: pk/sk, the given attributes, and padding in `pad`."""
    item = {"pk": s("P"), "sk": s("S"), **attributes}
    item["pad"] = s("")
    item["pad"] = s("x" * (size - item_size(item)))
    assert item_size(item) == size
    return item


# Item size


def test_item_size_adds_names_and_values_by_type() -> None:
    item = {"pk": s("TICKET#TN-ABC123"),            # 2 + 16
            "n": {"N": "123"},                      # 1 + (2 bytes for 3 significant digits) + 1
            "ok": {"BOOL": True},                   # 2 + 1
            "tags": {"L": [s("a"), s("bc")]},       # 4 + 3 + (1 + 1) + (2 + 1)
            "m": {"M": {"k": s("v")}},              # 1 + 3 + (1 + 1 + 1)
            "vi": s("Đường")}                       # 2 + 9 UTF-8 bytes (Đ 2, ư 2, ờ 3, n, g)
    assert item_size(item) == 18 + 4 + 3 + 12 + 7 + 11


def test_numbers_are_sized_on_their_significant_digits() -> None:
    assert item_size({"a": {"N": "1500"}}) == 1 + 1 + 1          # "15": one byte, plus one
    assert item_size({"a": {"N": "0.00120"}}) == 1 + 1 + 1       # "12"
    assert item_size({"a": {"N": "-12345"}}) == 1 + 3 + 1        # five digits: three bytes
    assert item_size({"a": {"NULL": True}, "b": {"SS": ["xy", "z"]}}) == (1 + 1) + (1 + 3)


def test_an_empty_list_or_map_is_three_bytes_plus_its_name() -> None:
    assert item_size({"list": {"L": []}, "map": {"M": {}}}) == (4 + 3) + (3 + 3)


# Write and read units (the documentation's examples)


@pytest.mark.parametrize("size,units", [(500, 1), (1024, 1), (1025, 2), (1536, 2), (3072, 3), (3500, 4)])
def test_a_write_takes_one_unit_per_kilobyte_rounded_up(size: int, units: int) -> None:
    assert write_units(size) == units


def test_a_transactional_write_doubles_the_table_write_only() -> None:
    # "a transactional write request of a 3 KB item would require six WCUs"
    assert write_cost(None, padded(3072), [], KEYS, transactional=True).table_units == 6
    # The same 1.5 KB item into an ALL index: 2 x 2 on the table, 2 on the index (not doubled).
    item = padded(1536, status=s("assigned"), due_sort=s("2026-12-01"))
    cost = write_cost(None, item, [ALL], KEYS, transactional=True)
    assert (cost.table_units, cost.index_units) == (4, {"by_status_due": 2})


def test_an_update_is_sized_on_the_larger_of_the_item_before_and_after() -> None:
    big, small = padded(2500), padded(100)
    assert write_cost(big, small, [], KEYS, transactional=False).table_units == 3
    assert write_cost(small, big, [], KEYS, transactional=False).table_units == 3


@pytest.mark.parametrize("size,consistent,transactional,units", [
    (3500, True, False, 1),   # "reading a 3,500-byte item consumes the same throughput as reading a 4 KB item"
    (8192, True, False, 2),   # "an 8 KB item: 2 read units strongly consistent,"
    (8192, False, False, 1),  # "1 eventually consistent,"
    (8192, True, True, 4),    # "4 transactional"
    (0, False, False, 0.5),   # a read of a missing item still takes the minimum
])
def test_reads_take_four_kilobyte_units(size: int, consistent: bool, transactional: bool, units: float) -> None:
    assert read_units(size, consistent, transactional) == units


class _Session:
    def register(self, *_: Any) -> None:
        pass


def _recorder() -> Recorder:
    recorder = Recorder(_Session())
    recorder._tables = {"tickets": "TicketsTable"}
    return recorder


def test_a_batch_get_rounds_each_item_and_a_query_rounds_the_total() -> None:
    recorder = _recorder()
    one, two = padded(1536), padded(6656)  # 1.5 KB and 6.5 KB
    batch = recorder._read_units("BatchGetItem", {"RequestItems": {"tickets": {
        "Keys": [{"pk": s("a")}, {"pk": s("b")}], "ConsistentRead": True}}}, {"Responses": {"tickets": [one, two]}})
    assert batch == 3  # 4 KB + 8 KB, the documentation's example
    query = recorder._read_units("Query", {"TableName": "tickets", "ConsistentRead": True}, {"Items": [one, two]})
    assert query == 2  # 8 KB read at once
    on_index = recorder._read_units("Query", {"TableName": "tickets", "IndexName": "by_place"}, {"Items": [
        padded(9000, place_open=s("x#y"), created_at=s("2026"), tracking_code=s("TN-1"))]})
    assert on_index == 0.5  # the index entry (keys and projected fields) is small; index reads are eventual


# Index writes


def test_an_item_entering_or_leaving_an_index_costs_one_write_of_its_entry() -> None:
    indexed = padded(1536, status=s("assigned"), due_sort=s("2026-12-01"))
    unindexed = {k: v for k, v in indexed.items() if k != "status"}
    assert index_write_units(None, indexed, ALL, KEYS) == (2, False)
    assert index_write_units(indexed, unindexed, ALL, KEYS) == (2, False)
    assert index_write_units(unindexed, unindexed, ALL, KEYS) == (0, False)


def test_a_changed_index_key_costs_a_delete_and_a_put() -> None:
    before = padded(3072, status=s("assigned"), due_sort=s("2026-12-01"))
    after = {**padded(200, status=s("answered"), due_sort=s("2026-12-01"))}
    assert index_write_units(before, after, ALL, KEYS) == (3 + 1, True)
    small = padded(300, status=s("assigned"), due_sort=s("a"))
    assert index_write_units(small, {**small, "status": s("in_progress")}, ALL, KEYS) == (2, True)


def test_a_change_the_projection_does_not_see_costs_the_index_nothing() -> None:
    before = padded(900, place_open=s("x#y"), created_at=s("2026"), tracking_code=s("TN-1"), status=s("assigned"))
    after = {**before, "pad": s("y" * len(before["pad"]["S"]))}
    assert index_write_units(before, after, INCLUDE, KEYS) == (0, False)
    assert index_write_units(before, after, ALL, KEYS) == (0, False)  # not in by_status_due (no due_sort)
    with_due = {**before, "due_sort": s("d")}
    assert index_write_units(with_due, {**after, "due_sort": s("d")}, ALL, KEYS) == (1, False)
    assert index_write_units(with_due, {**after, "due_sort": s("d")}, KEYS_ONLY, KEYS) == (0, False)
    assert index_write_units(before, {**before, "status": s("in_progress")}, INCLUDE, KEYS) == (1, False)


def test_the_tickets_table_indexes_come_from_the_template() -> None:
    keys, indexes = table_schemas()["TicketsTable"]
    by_name = {i.name: i for i in indexes}
    assert keys == ("pk", "sk")
    assert by_name["by_status_due"].projection == "INCLUDE" and "text" not in by_name["by_status_due"].include
    assert by_name["by_phone"].projection == "KEYS_ONLY"
    assert by_name["by_place"].projection == "INCLUDE" and "public_summary" in by_name["by_place"].include


# SMS segments


@pytest.mark.parametrize("text,count", [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),      # GSM-7: 160, then 153 per part
    ("ư" * 70, 1), ("ư" * 71, 2), ("ư" * 134, 2), ("ư" * 135, 3),      # UCS-2: 70, then 67 per part
    ("€" * 80, 1), ("€" * 81, 2),                                        # extension characters take two septets
    ("Đường" + "a" * 65, 1), ("Đường" + "a" * 66, 2),                    # one diacritic makes it all UCS-2
])
def test_sms_segments_follow_the_encoding_and_concatenation_headers(text: str, count: int) -> None:
    assert segments(text) == count


# Pricing


PRICES = {
    "prices": {name: {"value": value} for name, value in {
        "api_gateway_rest_per_million": 3.5, "lambda_requests_per_million": 0.2, "lambda_gb_second": 0.0000166667,
        "dynamodb_wru_per_million": 1.0, "dynamodb_rru_per_million": 0.2, "sqs_standard_per_million": 0.4,
        "sqs_fifo_per_million": 0.5, "ses_per_thousand": 0.1, "s3_put_per_thousand": 0.005,
        "s3_get_per_thousand": 0.0004, "logs_ingestion_per_gb": 0.5}.items()},
    "sms_routes": {"sns": {"usd_per_segment": 0.05}, "esms": {"vnd_per_segment": 800},
                   "android_gateway": {"vnd_per_segment": 350}, "smssync": {"vnd_per_segment": 350}},
    "usd_per_vnd": 0.00004, "zalo": {"usd_per_message": 0.0},
    "lambda_assumptions": {"memory_mb": 512, "ms_per_invocation": {"api": 100, "default": 100},
                           "cold_start_share": 0.0, "init_ms": 0},
    "logs": {"platform_bytes_per_invocation": 0},
}


def test_units_and_segments_become_dollars_per_ticket() -> None:
    tally = Counter({("wru", "table"): 30, ("wru", "index", "by_open"): 10, ("rru",): 5, ("api",): 2,
                     ("lambda", "api"): 2, ("sms", "sns", "citizen", "segments"): 3,
                     ("sms", "esms", "citizen", "segments"): 1, ("email",): 10})
    lines = price_lines(tally, 1, PRICES)
    assert lines["dynamodb_writes"] == pytest.approx(40 / 1e6)
    assert lines["dynamodb_reads"] == pytest.approx(1e-6)
    assert lines["api_gateway"] == pytest.approx(7e-6)
    assert lines["lambda_duration"] == pytest.approx(2 * 0.1 * 0.5 * 0.0000166667)
    assert lines["sns_sms"] == pytest.approx(0.15)
    assert lines["esms_sms"] == pytest.approx(0.032)
    assert lines["ses_email"] == pytest.approx(0.001)


def test_the_idle_cost_of_a_schedule_run_is_left_out_of_the_ticket() -> None:
    idle = {"deadline_watch": Counter({("call", "dynamodb", "Query"): 4, ("rru",): 2.0})}
    ticket = Counter({("schedule_runs", "deadline_watch"): 2, ("call", "dynamodb", "Query"): 9, ("rru",): 5.5,
                      ("wru", "table"): 6})
    net = _subtract_idle({"web_form": ticket}, idle)["web_form"]
    assert (net[("call", "dynamodb", "Query")], net[("rru",)], net[("wru", "table")]) == (1, 1.5, 6)
