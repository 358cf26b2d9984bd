"""The retention schedule as reference data (validated like the rest: a bad schedule is refused
whole) and the pure rules that apply it to a ticket."""
from __future__ import annotations

import copy
import importlib.util
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.reference import parse_reference
from chalicelib.domain.retention import (
    HOLD_RECHECK,
    Retention,
    TicketFacts,
    add_months,
    first_check,
    hold_reason,
    plan,
    purge_shard,
    purge_watch,
    scrub,
)
from chalicelib.store.reference import seed_document
from tests.conftest import ROOT

T0 = datetime(2026, 1, 31, 10, 0, tzinfo=timezone.utc)


def _refused(**retention: object) -> set[str]:
    document = copy.deepcopy(seed_document())
    document["retention"].update(retention)
    with pytest.raises(ValidationFailed) as refused:
        parse_reference(document)
    return {error.field for error in refused.value.errors}


def test_the_shipped_schedule_is_the_provinces_and_a_document_without_one_gets_the_defaults() -> None:
    shipped = parse_reference(seed_document()).retention
    assert (shipped.closed_months, shipped.inactive_open_months, shipped.photos_months, shipped.outbound_text_days,
            shipped.quarantine_days, shipped.log_days, shipped.notice_version) == (24, 36, 12, 90, 30, 90, "2026-12")
    assert shipped.months_for("tham-nhung-tieu-cuc") == 60 and shipped.months_for("giao-thong") == 24
    assert shipped.months_for(None) == 24 and shipped.legal_hold_categories == frozenset()
    older = copy.deepcopy(seed_document())
    del older["retention"]
    assert parse_reference(older).retention == Retention()


def test_logs_are_kept_as_long_as_the_schedule_says_in_the_packaged_stack() -> None:
    spec = importlib.util.spec_from_file_location("infra_package", ROOT / "infra" / "package.py")
    assert spec and spec.loader
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    assert parse_reference(seed_document()).retention.log_days == package.LOG_RETENTION_DAYS["prod"]


@pytest.mark.parametrize("change, field", [
    ({"closed_months": 0}, "retention.closed_months"),
    ({"closed_months": "24"}, "retention.closed_months"),
    ({"closed_months": True}, "retention.closed_months"),
    ({"inactive_open_months": 241}, "retention.inactive_open_months"),
    ({"photos_months": 25}, "retention.photos_months"),                 # longer than the ticket itself
    ({"category_months": {"an-ninh-trat-tu": 6}}, "retention.photos_months"),  # a category shorter than photos
    ({"outbound_text_days": 800}, "retention.outbound_text_days"),
    ({"category_months": {"khong-co": 12}}, "retention.category_months.khong-co"),
    ({"category_months": {"giao-thong": 1.5}}, "retention.category_months.giao-thong"),
    ({"legal_hold_categories": ["khong-co"]}, "retention.legal_hold_categories.khong-co"),
    ({"legal_hold_categories": "dat-dai"}, "retention.legal_hold_categories"),
    ({"log_days": 100}, "retention.log_days"),                          # CloudWatch takes 90 or 120, not 100
    ({"quarantine_days": 0}, "retention.quarantine_days"),
    ({"notice_version": ""}, "retention.notice_version"),
    ({"notice_version": "2026/12 <b>"}, "retention.notice_version"),
])
def test_a_bad_schedule_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    assert field in _refused(**change)


def test_every_problem_is_named_at_once_and_a_non_object_is_refused() -> None:
    assert {"retention.closed_months", "retention.log_days"} <= _refused(closed_months=-1, log_days=2)
    document = copy.deepcopy(seed_document())
    document["retention"] = [24]
    with pytest.raises(ValidationFailed) as refused:
        parse_reference(document)
    assert [e.field for e in refused.value.errors] == ["retention"]


def test_months_are_calendar_months() -> None:
    assert add_months(T0, 1) == datetime(2026, 2, 28, 10, 0, tzinfo=timezone.utc)
    assert add_months(datetime(2027, 1, 31, tzinfo=timezone.utc), 13) == datetime(2028, 2, 29, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 12, 5, tzinfo=timezone.utc), 1) == datetime(2027, 1, 5, tzinfo=timezone.utc)
    assert add_months(T0, 24) == datetime(2028, 1, 31, 10, 0, tzinfo=timezone.utc)


def test_the_watch_starts_when_the_first_message_text_may_expire_on_a_p_shard_of_its_own() -> None:
    schedule = Retention()
    assert first_check(schedule, T0) == T0 + timedelta(days=90)
    shards = {purge_shard(f"TN-{n:06d}") for n in range(200)}
    assert shards == {"P#0", "P#1", "P#2", "P#3"} and purge_shard("TN-7KXQ4M") == purge_shard("TN-7KXQ4M")
    assert purge_watch("TN-7KXQ4M", T0) == {"watch_shard": purge_shard("TN-7KXQ4M"), "watch_stage": "purge",
                                             "watch_at": "2026-01-31T10:00:00+00:00"}


def _closed(**facts: object) -> TicketFacts:
    return TicketFacts(**{"open": False, "category": "giao-thong", "last_activity": T0, **facts})  # type: ignore[arg-type]


def test_a_closed_tickets_texts_then_photos_then_person_go_each_in_its_time() -> None:
    schedule = parse_reference(seed_document()).retention
    facts = _closed(has_photos=True, texts_sent=(T0 - timedelta(days=5), T0))
    early = plan(schedule, facts, T0 + timedelta(days=30))
    assert not (early.anonymise or early.remove_photos or early.clear_texts_sent_by)
    assert early.next_check == T0 - timedelta(days=5) + timedelta(days=90)  # the first text's time
    texts = plan(schedule, facts, T0 + timedelta(days=88))
    assert texts.clear_texts_sent_by == T0 - timedelta(days=2) and texts.next_check == T0 + timedelta(days=90)
    photos = plan(schedule, _closed(has_photos=True), add_months(T0, 12))
    assert photos.remove_photos and not photos.anonymise and photos.next_check == add_months(T0, 24)
    person = plan(schedule, _closed(has_photos=True, texts_sent=(T0,)), add_months(T0, 24))
    assert person.anonymise and person.next_check is None


def test_each_category_open_tickets_and_later_activity_have_their_own_time() -> None:
    schedule = parse_reference(seed_document()).retention
    two_years = add_months(T0, 24)
    assert not plan(schedule, _closed(category="tham-nhung-tieu-cuc"), two_years).anonymise
    assert plan(schedule, _closed(category="tham-nhung-tieu-cuc"), two_years).next_check == add_months(T0, 60)
    assert not plan(schedule, _closed(open=True), two_years).anonymise           # untouched but open: 36 months
    assert plan(schedule, _closed(open=True), add_months(T0, 36)).anonymise
    worked_again = plan(schedule, _closed(last_activity=add_months(T0, 6)), two_years)
    assert not worked_again.anonymise and worked_again.next_check == add_months(T0, 30)


def test_a_held_ticket_is_kept_whole_and_looked_at_again_in_a_month() -> None:
    schedule = Retention(legal_hold_categories=frozenset({"dat-dai"}))
    moment = add_months(T0, 100)
    held = plan(schedule, _closed(kept_because="Tạm giữ theo yêu cầu: Toà án", has_photos=True,
                                  texts_sent=(T0,)), moment)
    assert held.kept_because and not (held.anonymise or held.remove_photos or held.clear_texts_sent_by)
    assert held.next_check == moment + HOLD_RECHECK
    assert hold_reason(schedule, "Toà án thụ lý", "giao-thong") == "Tạm giữ theo yêu cầu: Toà án thụ lý"
    assert hold_reason(schedule, None, "dat-dai", "Đất đai, xây dựng") == (
        "Lĩnh vực “Đất đai, xây dựng” được lưu giữ theo quy định (danh mục lưu trữ).")
    assert hold_reason(schedule, None, "giao-thong") is None and hold_reason(schedule, "", None) is None


def test_an_events_detail_keeps_its_facts_and_loses_the_person() -> None:
    detail = {"channel": "sms", "text": "Tôi là Lê Văn Tám, gọi 0912 345 678 hoặc tam@gmail.com",
              "attachments": [{"url": "https://zalo/x.jpg", "name": "nha-toi.jpg"}], "location": [11.31, 106.09],
              "rating": 4, "comment": "Anh Tám rất hài lòng", "nested": {"reason": "Gọi lại anh Tám"}}
    cleaned = scrub(detail, ["Lê Văn Tám"])
    assert set(cleaned) == {"channel", "text", "rating", "nested"} and cleaned["rating"] == 4
    assert cleaned["text"] == "Tôi là [đã ẩn], gọi [đã ẩn] hoặc [đã ẩn]"
    assert cleaned["nested"] == {"reason": "Gọi lại anh [đã ẩn]"}
