"""The anonymised fact row of a ticket (chalicelib/domain/analytics.py): what Athena counts, and
nothing that names or reaches a person; the table in the template reads exactly these columns."""
from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from chalicelib.domain.analytics import COLUMNS, day_bounds, fact, local_day
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.reference import parse_reference
from chalicelib.services.analytics_export import encode
from chalicelib.store.reference import seed_document

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = parse_reference(seed_document()).calendar
# Monday 2026-11-23, 09:00 in Vietnam
CREATED = datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)


def _ticket(**changes: object) -> SimpleNamespace:
    fields = dict(
        tracking_code="TN-7KXQ4M", channel="sms", category="ngap-ung", agency="so-xay-dung", area="khanh-hau",
        status="answered", created_at=CREATED, due_at=CREATED + timedelta(days=7), answered_at=None,
        answered_on_time=None, anonymised_at=None, reporter_name="Nguyễn Văn An", reporter_phone="+84912345678",
        reporter_email="an@example.vn", reporter_zalo_id="z123456", text="Cống tắc trước nhà số 12",
        address="12 Lê Lợi", lat=11.3, lon=106.1, kind="complaint", route_source="both")
    fields.update(changes)
    return SimpleNamespace(**fields)


def _event(kind: str, actor: str, minutes: int, **detail: object) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, actor=actor, at=CREATED + timedelta(minutes=minutes), detail=detail or None)


def test_a_row_counts_what_happened_to_the_ticket_in_calendar_and_working_time() -> None:
    answered = CREATED + timedelta(days=1, hours=1)  # Tuesday 10:00
    callbacks = [SimpleNamespace(sk="CALLBACK#a", due_at=CREATED + timedelta(hours=2), outcome="Đã gọi"),
                 SimpleNamespace(sk="CALLBACK#b", due_at=CREATED + timedelta(hours=3), outcome="Đã gọi"),
                 SimpleNamespace(sk="CALLBACK#c", due_at=CREATED + timedelta(hours=5), outcome=None)]
    events = [
        _event("created", "citizen:sms", 0),
        _event("routed", "system:routing", 1),
        _event("deadline_warning", "system:deadlines", 20),
        _event("claimed", "staff:op@demo.1022.vn", 45),        # the first thing a person did
        _event("callback_done", "staff:op@demo.1022.vn", 130, callback="CALLBACK#a"),   # 10 min after its time
        _event("callback_done", "staff:op@demo.1022.vn", 300, callback="CALLBACK#b"),   # 2 h after its time
        _event("deadline_extended", "staff:gs@demo.1022.vn", 200),
        _event("deadline_extended", "staff:gs@demo.1022.vn", 210),
        _event("reopened", "citizen:sms", 400),
    ]
    row = fact(_ticket(answered_at=answered, answered_on_time=True), events, callbacks, 4, CALENDAR)
    assert tuple(row) == COLUMNS
    assert row["created_at"] == "2026-11-23T02:00:00Z" and row["created_month"] == "2026-11"
    assert (row["kind"], row["route_source"]) == ("complaint", "both")  # questions vs complaints, who routed it
    assert row["first_action_at"] == "2026-11-23T02:45:00Z"
    assert (row["first_action_minutes"], row["first_action_working_minutes"]) == (45, 45)
    # office hours 07:30-11:30 and 13:30-17:00: Monday 150 + 210 minutes, Tuesday 150
    assert (row["answer_minutes"], row["answer_working_minutes"]) == (25 * 60, 150 + 210 + 150)
    assert row["answered_month"] == "2026-11" and row["on_time"] is True and row["is_open"] is False
    assert (row["reopened"], row["extensions"]) == (1, 2)
    assert (row["callbacks_due"], row["callbacks_done"], row["callbacks_within_30"]) == (3, 2, 1)
    assert row["rating"] == 4 and row["anonymised"] is False


def test_a_row_holds_nothing_that_names_or_reaches_the_person_nor_the_tracking_code() -> None:
    row = fact(_ticket(status="in_progress"), [_event("created", "citizen:sms", 0)], [], None, CALENDAR)
    text = json.dumps(row, ensure_ascii=False)
    for personal in ("TN-7KXQ4M", "Nguyễn", "+8491", "0912", "an@example", "z123456", "Cống tắc", "Lê Lợi",
                     "11.3", "106.1"):
        assert personal not in text
    assert row["area"] == "khanh-hau"  # the commune is as far as a place goes
    # nobody acted yet, nothing answered: unknown, not zero
    assert row["first_action_at"] is None and row["answer_minutes"] is None and row["on_time"] is None
    assert row["is_open"] is True


def test_an_anonymised_ticket_is_still_counted_and_flagged() -> None:
    row = fact(_ticket(anonymised_at=CREATED + timedelta(days=800), channel="web", area=None), [], [], None,
               CALENDAR)
    assert row["anonymised"] is True and row["channel"] == "web" and row["area"] is None


def test_days_and_months_are_vietnam_ones() -> None:
    late_evening = datetime(2026, 11, 30, 18, 30, tzinfo=timezone.utc)  # 01:30 on 1 December in Vietnam
    assert local_day(late_evening) == date(2026, 12, 1)
    assert fact(_ticket(created_at=late_evening), [], [], None, CALENDAR)["created_month"] == "2026-12"
    start, end = day_bounds(date(2026, 12, 1))
    assert start == datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc) and end - start == timedelta(days=1)


def test_the_file_is_gzip_json_lines_and_the_same_rows_make_the_same_bytes() -> None:
    rows = [fact(_ticket(), [], [], None, CALENDAR), fact(_ticket(category="rac-thai"), [], [], 5, CALENDAR)]
    data = encode(rows)
    assert data == encode(rows)  # a rerun of a day writes an identical object
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows


def test_the_athena_table_in_the_template_reads_exactly_these_columns() -> None:
    template = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))
    table = template["Resources"]["AnalyticsTicketsTable"]["Properties"]["TableInput"]
    assert tuple(c["Name"] for c in table["StorageDescriptor"]["Columns"]) == COLUMNS
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt"]
    assert table["Parameters"]["projection.dt.format"] == "yyyy-MM-dd"
    assert table["Parameters"]["storage.location.template"]["Fn::Sub"].endswith("/analytics/tickets/dt=${!dt}/")
    rules = template["Resources"]["AttachmentsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(r.get("Prefix") == "analytics/" and r.get("ExpirationInDays") for r in rules)
