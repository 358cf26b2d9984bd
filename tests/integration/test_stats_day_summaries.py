"""Day summaries: a view reads a closed day from its summary and only today item by item; a late write
into a closed day (a transfer moving `received` to the ticket's creation day) makes that day's summary
stale in the write's own transaction, so the figures stay right; a write landing while a summary is
being built cannot leave a wrong summary valid. The app's clock for the counters is set to a day of
2031 (a month no other test writes), the tickets are made and worked through the real use cases."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.clock import VN_TZ
from chalicelib.services import stats as service
from chalicelib.store import stats as store
from chalicelib.store import tickets
from chalicelib.store.reference import load_reference
from tests.integration.test_stats_correctness import SUPERVISOR, Story, at


def _clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    monkeypatch.setattr(store, "_now", lambda: now)


def _view(now: datetime, start: str, end: str, grain: str = "day") -> dict[str, Any]:
    query = service.parse_query({"from": start, "to": end, "grain": grain}, load_reference(), now)
    return service.figures(SUPERVISOR, query, now)


def _agencies(figures: dict[str, Any]) -> dict[str, int]:
    return {row["key"]: row["received"] for row in figures["by"]["agency"] if row["received"]}


def _day(figures: dict[str, Any], day: str) -> int:
    return next(line["received"] for line in figures["series"] if line["bucket"] == day)


def _fresh(day: date) -> bool:
    """Whether `day` has a valid summary now."""
    return store.read_summaries([], [day])[1][day] is not None


def _reads(monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[str, str, int]], list[tuple[str, list[int]]]]:
    """Records the Queries of counter items (month, from sk, items returned) and the days rebuilt."""
    queries: list[tuple[str, str, int]] = []
    rebuilt: list[tuple[str, list[int]]] = []
    query, build = store._query, store.build_days

    def counted(month: str, low: str, high: str | None = None, consistent: bool = False) -> list[dict[str, Any]]:
        found = query(month, low, high, consistent)
        queries.append((month, low, len(found)))
        return found

    monkeypatch.setattr(store, "_query", counted)
    monkeypatch.setattr(store, "build_days", lambda month, numbers: rebuilt.append((month, sorted(numbers))) or
                        build(month, numbers))
    return queries, rebuilt


def test_a_late_transfer_into_a_closed_day_makes_its_summary_stale_and_the_figures_right(
        stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    now = at("2031-03-20", "15:00")
    _clock(monkeypatch, now)
    s = Story()
    s.new("moved", at("2031-03-10"))  # giao-thong: routed to its agency on the 10th
    s.new("today", at("2031-03-20", "09:00"))
    before = _view(now, "2031-03-01", "2031-03-20")
    agency = tickets.get_ticket(s.codes["moved"]).agency
    assert _agencies(before) == {agency: 2} and _day(before, "2031-03-10") == 1
    assert _fresh(date(2031, 3, 10)) and _fresh(date(2031, 3, 9))  # built on the first read

    s.act(SUPERVISOR, "moved", "assign", now, agency="cong-an-tinh", reason="Đúng thẩm quyền")
    assert not _fresh(date(2031, 3, 10)) and _fresh(date(2031, 3, 9))  # only the day written into
    after = _view(now, "2031-03-01", "2031-03-20")
    assert _agencies(after) == {agency: 1, "cong-an-tinh": 1}  # `received` moved, on its creation day
    assert _day(after, "2031-03-10") == 1 and after["totals"]["received"] == 2
    assert _fresh(date(2031, 3, 10))  # rebuilt
    year = _view(now, "2031-01-01", "2031-03-20", "month")
    assert _agencies(year) == {agency: 1, "cong-an-tinh": 1}
    public = {row["key"]: row["received"] for row in service.public_month("2031-03")["agencies"]}
    assert public == {agency: 1, "cong-an-tinh": 1}


def test_a_view_reads_closed_days_from_summaries_and_only_todays_items(stack: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    now = at("2031-04-20", "15:00")
    _clock(monkeypatch, now)
    s = Story()
    for n, day in enumerate(("2031-04-05", "2031-04-12", "2031-04-12", "2031-04-20")):
        s.new(f"t{n}", at(day), area=("tan-ninh", "binh-minh")[n % 2])
    s.act(SUPERVISOR, "t3", "resolve", now, answer="Đã sửa.")
    first = _view(now, "2031-04-01", "2031-04-20")  # builds the closed days' summaries
    queries, rebuilt = _reads(monkeypatch)
    s.new("t4", at("2031-04-20", "14:00"))  # a write to today leaves every closed day's summary valid
    views = [_view(now, "2031-04-01", "2031-04-20"), _view(now, "2031-01-01", "2031-04-20", "month"),
             _view(now, "2031-04-14", "2031-04-20")]
    public = service.public_month("2031-04")
    assert [month for month, _ in rebuilt if month == "2031-04"] == []  # (the months before: their first read)
    stats_queries = [(month, low) for month, low, _ in queries if month == "2031-04"]
    assert stats_queries and {low for _, low in stats_queries} <= {"D#20#", "O#20#"}  # today's items only
    read = sum(found for month, low, found in queries if (month, low) == ("2031-04", "D#20#"))
    assert read == 4 * len(store.days("2031-04", 20, 20))  # today's items, once in each of the 4 views
    assert [views[0]["totals"]["received"], _day(views[1], "2031-04"), views[2]["totals"]["received"]] == [5, 5, 2]
    assert public["totals"]["received"] == 5
    assert first["totals"]["received"] == 4 and views[0]["totals"]["answered"] == 1
    assert _day(views[0], "2031-04-12") == 2 and _day(views[0], "2031-04-20") == 2

    # for SETTLE after midnight the day before is still read item by item (a write begun before
    # midnight, which did not count its day as closed, lands meanwhile)
    _clock(monkeypatch, datetime(2031, 4, 21, 0, 2, tzinfo=VN_TZ))
    queries.clear()
    assert _view(now + timedelta(hours=9), "2031-04-01", "2031-04-21")["totals"]["received"] == 5
    assert {low for month, low, _ in queries if month == "2031-04"} == {"D#20#", "O#20#"}


def test_a_write_landing_while_a_day_summary_is_built_leaves_it_stale(stack: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    now = at("2031-05-20", "15:00")
    _clock(monkeypatch, now)
    s = Story()
    s.new("moved", at("2031-05-10"))
    agency = tickets.get_ticket(s.codes["moved"]).agency
    save = store.save_days

    def transfer_then_save(month: str, summaries: dict[int, tuple[dict[str, Any], int]]) -> int:
        # the items are read; the transfer lands before the summary is stored with the count read before them
        monkeypatch.setattr(store, "save_days", save)
        s.act(SUPERVISOR, "moved", "assign", now, agency="cong-an-tinh", reason="Đúng thẩm quyền")
        return save(month, summaries)

    monkeypatch.setattr(store, "save_days", transfer_then_save)
    assert _agencies(_view(now, "2031-05-01", "2031-05-20")) == {agency: 1}  # read before the transfer
    assert not _fresh(date(2031, 5, 10))  # stored, but stale: the transfer counted after its count was read
    assert _fresh(date(2031, 5, 9))
    assert _agencies(_view(now, "2031-05-01", "2031-05-20")) == {"cong-an-tinh": 1}
    assert _fresh(date(2031, 5, 10))

    # once May has closed, its month summary (the day summaries added up) says the same
    june = at("2031-06-02", "10:00")
    _clock(monkeypatch, june)
    by_month = _view(june, "2031-05-01", "2031-05-31", "month")
    assert by_month["totals"] == _view(june, "2031-05-01", "2031-05-31")["totals"]
    assert _agencies(by_month) == {"cong-an-tinh": 1} and store.summaries(["2031-05"])["2031-05"] is not None
    assert {row["key"]: row["received"] for row in service.public_month("2031-05")["agencies"]} == {"cong-an-tinh": 1}
