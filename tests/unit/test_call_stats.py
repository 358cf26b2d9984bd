"""What calls and callback tasks add to the call-centre counters, and the figures they give."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain import call_stats
from chalicelib.domain.clock import VN_TZ


def test_a_call_counts_in_its_vn_hour_and_a_call_back_is_no_call_to_the_hotline() -> None:
    at = datetime(2027, 3, 31, 23, 30, tzinfo=VN_TZ)
    assert call_stats.slot(at) == ("2027-03", "C#31#23")
    assert call_stats.on_call_end({"route": "operators"}, "answered", 14, 80) == {
        "calls": 1, "answered": 1, "in_hours": 1, "wait_answered_s": 14, "talk_s": 80}
    assert call_stats.on_call_end({"route": "closed"}, "voicemail", 30, 0) == {"calls": 1, "voicemail": 1}
    assert call_stats.on_call_end({"direction": "out"}, "answered", 5, 60) == {}
    assert call_stats.on_relabel({"route": "closed"}, "after_hours", "voicemail") == {"after_hours": -1, "voicemail": 1}


def test_callbacks_are_bucketed_by_minutes_and_the_median_names_its_bucket() -> None:
    assert call_stats.on_task_closed("not_needed", 5) == {"cb_closed": 1}
    assert call_stats.on_task_closed("called_back", 31) == {"cb_closed": 1, "cb_done": 1, "cb_le_60m": 1}
    assert call_stats.bucket_field(15) == "cb_le_15m" and call_stats.bucket_field(2000) == "cb_over"
    items = [{"sk": "C#01#09", "calls": 3, "in_hours": 3, "answered": 2, "abandoned": 1, "wait_answered_s": 30,
              "cb_closed": 3, "cb_done": 3, "cb_le_15m": 1, "cb_le_240m": 2},
             {"sk": "C#02#09", "calls": 1, "in_hours": 1, "missed": 1}]
    figures = call_stats.summarise(items)
    assert figures["per_hour"][9] == 4 and sum(figures["per_hour"]) == 4
    assert (figures["answered_pct"], figures["abandon_pct"], figures["asa_s"]) == (50.0, 25.0, 15)
    assert figures["callback_median"] == "≤ 4 giờ"
    assert call_stats.summarise([])["answered_pct"] is None and call_stats.summarise([])["callback_median"] is None
