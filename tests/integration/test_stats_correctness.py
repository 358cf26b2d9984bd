"""Statistics against the tickets: a month of tickets made and worked through the real use cases
(intake, routing, the staff console's actions, callbacks, anonymisation) at chosen moments, with the
hard cases — a late answer, an extension, a reopened ticket answered twice, a transfer between
agencies, a merge, a ticket answered after a month boundary and two public holidays (1–2/9/2026), an
anonymised ticket, a rejection and a redirection — and every period figure compared with a
recomputation from the tickets and their timelines. Then the backfill rebuilds the same counters."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import stats as rules
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.reports import validate_submission
from chalicelib.domain.working_time import working_seconds_between
from chalicelib.services import console, intake, privacy, routing, satisfaction
from chalicelib.services import stats as service
from chalicelib.store import callbacks, tickets
from chalicelib.store.reference import load_reference
from tests.conftest import unique_phone

SUPERVISOR = StaffUser(sub="s-stats", email="giamsat-stats@demo.1022.vn", name="Giám sát thống kê",
                       roles=frozenset({"supervisor"}))
OPERATOR = StaffUser(sub="o-stats", email="tongdai-stats@demo.1022.vn", name="Tổng đài thống kê",
                     roles=frozenset({"operator"}))
OFFICER = StaffUser(sub="a-stats", email="cand-stats@demo.1022.vn", name="Cán bộ", roles=frozenset({"agency_officer"}),
                    agency="cong-an-tinh")
PERIOD = {"from": "2026-08-01", "to": "2026-09-30", "grain": "day"}


def at(day: str, hm: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=VN_TZ)


def _new(when: datetime, category: str = "giao-thong", area: str = "tan-ninh") -> str:
    fields = {"description": f"Đường hỏng cần sửa {uuid.uuid4().hex[:6]}", "phone": unique_phone(), "name": "Dân",
              "category": category, "area": area}
    code = intake._create(validate_submission(fields, load_reference()), now=when)["tracking_code"]
    routing.route(code, now=when + timedelta(minutes=1))
    return code


def _act(user: StaffUser, code: str, action: str, when: datetime, **form: str) -> None:
    version = tickets.get_ticket(code).version
    console.act(user, code, action, {"version": str(version), **form}, now=when)


@pytest.fixture(scope="module")
def month(stack: Any) -> dict[str, str]:
    """The month's tickets, by role in the story."""
    made: dict[str, str] = {}
    made["on_time"] = _new(at("2026-08-17"))
    _act(SUPERVISOR, made["on_time"], "start", at("2026-08-17", "10:00"))
    _act(SUPERVISOR, made["on_time"], "resolve", at("2026-08-18", "10:00"), answer="Đã sửa.")
    satisfaction.rate_on_web(made["on_time"], tickets.get_ticket(made["on_time"]).survey_token, "4", "",
                             now=at("2026-08-19"))
    made["late"] = _new(at("2026-08-03"))
    _act(OPERATOR, made["late"], "note", at("2026-08-04"), text="Đang chờ cơ quan.")
    _act(SUPERVISOR, made["late"], "resolve", at("2026-08-20"), answer="Đã sửa muộn.")
    made["extended"] = _new(at("2026-08-10"))  # 5 working days: due 17/8, extended by 10
    _act(SUPERVISOR, made["extended"], "extend", at("2026-08-13"), working_days="10", reason="Cần khảo sát")
    _act(SUPERVISOR, made["extended"], "resolve", at("2026-08-19"), answer="Xong sau gia hạn.")
    made["reopened"] = _new(at("2026-08-05"), "moi-truong", "binh-minh")
    _act(OPERATOR, made["reopened"], "resolve", at("2026-08-06"), answer="Đã xử lý.")
    _act(SUPERVISOR, made["reopened"], "reopen", at("2026-08-07"), reason="Người dân báo chưa xong")
    _act(OPERATOR, made["reopened"], "resolve", at("2026-08-12"), answer="Đã xử lý lần hai.")
    made["transferred"] = _new(at("2026-08-11"), "giao-thong", "binh-minh")
    _act(SUPERVISOR, made["transferred"], "assign", at("2026-08-12"), agency="cong-an-tinh", reason="Đúng thẩm quyền")
    _act(OFFICER, made["transferred"], "resolve", at("2026-08-14"), answer="Công an đã xử lý.")
    made["original"] = _new(at("2026-08-12", "08:00"), "chieu-sang", "ninh-thanh")
    made["duplicate"] = _new(at("2026-08-12", "08:30"), "chieu-sang", "ninh-thanh")
    _act(OPERATOR, made["duplicate"], "merge", at("2026-08-12", "11:00"), merged_into=made["original"])
    _act(OPERATOR, made["original"], "callback", at("2026-08-24"), due="2026-08-25T10:00", reason="Hỏi thêm")
    done_at = at("2026-08-25", "10:10")
    callback = next(c for c in callbacks.of_ticket(made["original"]) if c.status is not None)
    _act(OPERATOR, made["original"], "callback_done", done_at, callback=callback.sk, outcome="Đã gọi")
    made["boundary"] = _new(at("2026-08-31", "16:00"))  # 1–2/9 are holidays
    _act(SUPERVISOR, made["boundary"], "resolve", at("2026-09-03"), answer="Đã sửa sau lễ.")
    made["anonymised"] = _new(at("2026-08-20"), "dien-nuoc", "long-hoa")
    _act(OPERATOR, made["anonymised"], "resolve", at("2026-08-21"), answer="Đã có điện.")
    privacy.anonymise_ticket(tickets.get_ticket(made["anonymised"]), at("2026-08-28"), "staff:quantri@demo.1022.vn",
                             "Yêu cầu xóa")
    made["rejected"] = _new(at("2026-08-14"), "khac", "hoa-thanh")
    _act(OPERATOR, made["rejected"], "reject", at("2026-08-14", "15:00"), reason="Không thuộc phạm vi")
    made["redirected"] = _new(at("2026-08-15"), "khac", "hoa-thanh")
    _act(OPERATOR, made["redirected"], "redirect", at("2026-08-17"), reason="Tòa án", redirected_to="Tòa án tỉnh")
    return made


def _recomputed(codes: list[str], start: date, end: date) -> dict[str, Any]:
    """The figures of [start, end] from the tickets and their timelines (read by the app's own
    queries: BatchGetItem of the tickets, Query of each timeline)."""
    calendar = load_reference().calendar
    out: dict[str, Any] = {name: 0 for name in rules.COUNTS if name != "rating_sum"}
    out["rating_dist"] = {str(n): 0 for n in range(1, 6)}
    rating_sum = 0
    by_agency: dict[str, dict[str, int]] = {}
    hist = {name: [0] * len(rules.BUCKET_UPPER) for name in rules.HISTOGRAMS}

    def inside(moment: datetime) -> bool:
        return start <= moment.astimezone(VN_TZ).date() <= end

    def minutes(a: datetime, b: datetime) -> tuple[int, int]:
        return (rules.bucket(working_seconds_between(calendar, a, b) / 60),
                rules.bucket((b - a).total_seconds() / 60))

    for ticket in tickets.whole(codes):
        agency = ticket.agency or rules.NONE
        line = by_agency.setdefault(agency, {"received": 0, "answered": 0, "on_time": 0, "late": 0})
        if inside(ticket.created_at):
            out["received"] += 1
            line["received"] += 1
        first_staff = None
        for event in tickets.timeline(ticket.tracking_code):
            if event.actor.startswith("staff:") and first_staff is None and event.kind not in ("created", "merged_from"):
                first_staff = event.at
                if inside(event.at):
                    w, c = minutes(ticket.created_at, event.at)
                    hist["fa_w"][w] += 1
                    hist["fa_c"][c] += 1
            if not inside(event.at):
                continue
            if event.kind == "answered":
                on_time = event.detail["on_time"]
                out["answered"] += 1
                out["on_time" if on_time else "late"] += 1
                row = by_agency.setdefault(event.detail["agency"] or rules.NONE,
                                           {"received": 0, "answered": 0, "on_time": 0, "late": 0})
                row["answered"] += 1
                row["on_time" if on_time else "late"] += 1
                w, c = minutes(ticket.created_at, event.at)
                hist["an_w"][w] += 1
                hist["an_c"][c] += 1
            elif event.kind in ("reopened", "rejected", "redirected", "merged"):
                out[event.kind] += 1
            elif event.kind == "rated":
                out["rating_count"] += 1
                rating_sum += event.detail["rating"]
                out["rating_dist"][str(event.detail["rating"])] += 1
        for callback in callbacks.of_ticket(ticket.tracking_code):
            if inside(callback.due_at):
                out["callbacks_due"] += 1
                if callback.status is None and callback.outcome and not callback.outcome.startswith("Không cần"):
                    out["callbacks_done"] += 1
                    out["callbacks_within_30"] += 1  # the story's callback is done 10 minutes late
    out["rating_mean"] = round(rating_sum / out["rating_count"], 2) if out["rating_count"] else None
    out["by_agency"] = {key: row for key, row in by_agency.items() if any(row.values())}
    for name, label in (("fa", "first_action"), ("an", "answer")):
        for kind, word in (("w", "working"), ("c", "calendar")):
            out[f"{label}_p50_{word}_min"] = rules.percentile(hist[f"{name}_{kind}"], 0.5)
            out[f"{label}_p90_{word}_min"] = rules.percentile(hist[f"{name}_{kind}"], 0.9)
    return out


def _compare(figures: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if name == "by_agency":
            got = {row["key"]: {k: row[k] for k in ("received", "answered", "on_time", "late")}
                   for row in figures["by"]["agency"] if any(row[k] for k in ("received", "answered", "on_time", "late"))}
            assert got == value, name
        else:
            assert figures["totals"][name] == value, name


@pytest.mark.parametrize("start,end", [("2026-08-01", "2026-09-30"), ("2026-08-01", "2026-08-31"),
                                       ("2026-08-10", "2026-08-19")])
def test_every_figure_equals_a_recomputation_from_the_tickets(month: dict[str, str], start: str, end: str) -> None:
    query = service.parse_query({"from": start, "to": end}, load_reference(), at("2026-10-01"))
    figures = service.figures(SUPERVISOR, query, at("2026-10-01"))
    _compare(figures, _recomputed(list(month.values()), date.fromisoformat(start), date.fromisoformat(end)))


def test_the_hard_cases_count_as_the_law_counts_them(month: dict[str, str]) -> None:
    query = service.parse_query(PERIOD, load_reference(), at("2026-10-01"))
    figures = service.figures(SUPERVISOR, query, at("2026-10-01"))
    totals = figures["totals"]
    # late: 1; the extended ticket is on time; the reopened one answered twice; the boundary one after the holidays
    assert (totals["answered"], totals["on_time"], totals["late"]) == (8, 7, 1)
    assert (totals["reopened"], totals["rejected"], totals["redirected"], totals["merged"]) == (1, 1, 1, 1)
    assert (totals["callbacks_due"], totals["callbacks_done"], totals["callbacks_within_30"]) == (1, 1, 1)
    assert totals["on_time_pct"] == 87.5
    assert (totals["rating_count"], totals["rating_mean"], totals["rating_dist"]["4"]) == (1, 4.0, 1)
    agencies = {row["key"]: row for row in figures["by"]["agency"]}
    assert agencies["cong-an-tinh"]["received"] == 1 and agencies["cong-an-tinh"]["answered"] == 1  # the transfer
    august = service.figures(SUPERVISOR, service.parse_query({"from": "2026-08-01", "to": "2026-08-31"},
                                                             load_reference(), at("2026-10-01")), at("2026-10-01"))
    assert august["totals"]["received"] == 11 and august["totals"]["answered"] == 7  # the boundary one: September
    months = service.figures(SUPERVISOR, service.parse_query({**PERIOD, "grain": "month"}, load_reference(),
                                                             at("2026-10-01")), at("2026-10-01"))
    assert [(s["bucket"], s["received"], s["answered"]) for s in months["series"]] == [("2026-08", 11, 7),
                                                                                       ("2026-09", 0, 1)]
    assert months["totals"]["answered"] == totals["answered"]  # the month roll-ups agree with the days
    names = {row["name"]: row for row in figures["operators"]}
    assert names[OPERATOR.email]["answered"] == 3 and names[SUPERVISOR.email]["answered"] == 4


def test_an_agency_officer_sees_only_their_agency_and_no_operators(month: dict[str, str]) -> None:
    query = service.parse_query(PERIOD, load_reference(), at("2026-10-01"))
    figures = service.figures(OFFICER, query, at("2026-10-01"))
    assert "operators" not in figures
    assert {row["key"] for row in figures["by"]["agency"]} <= {"cong-an-tinh"}
    assert figures["totals"]["received"] == 1 and figures["totals"]["answered"] == 1
    behind = service.tickets_behind(OFFICER, query, "answered", None)
    assert [t["code"] for t in behind["tickets"]] == [month["transferred"]]


def test_the_public_month_has_agencies_and_no_people(month: dict[str, str]) -> None:
    data = service.public_month("2026-08")
    assert data["totals"]["received"] == 11 and "operators" not in data
    assert all(set(row) == {"key", "name", "received", "answered", "on_time", "late", "on_time_pct"}
               for row in data["agencies"])


def test_the_tickets_behind_a_figure_are_the_ones_counted(month: dict[str, str]) -> None:
    query = service.parse_query({"from": "2026-08-01", "to": "2026-08-31"}, load_reference(), at("2026-10-01"))
    late = service.tickets_behind(SUPERVISOR, query, "late", None)
    assert [t["code"] for t in late["tickets"]] == [month["late"]]
    received: list[str] = []
    after = None
    for _ in range(20):
        page = service.tickets_behind(SUPERVISOR, query, "received", after)
        received += [t["code"] for t in page["tickets"]]
        after = page["next"]
        if not after:
            break
    assert set(month.values()) <= set(received)
    assert len([c for c in received if c in month.values()]) == 11


def test_the_backfill_rebuilds_the_same_counters_from_the_tickets(month: dict[str, str]) -> None:
    query = service.parse_query(PERIOD, load_reference(), at("2026-10-01"))
    monthly = service.parse_query({**PERIOD, "grain": "month"}, load_reference(), at("2026-10-01"))
    before = [service.figures(SUPERVISOR, q, at("2026-10-01")) for q in (query, monthly)]
    from chalicelib.store import stats as store

    store.clear("2026-08", 1, 31)  # lost, as after an upgrade that did not count yet
    assert service.figures(SUPERVISOR, query, at("2026-10-01"))["totals"]["received"] == 0
    result = service.backfill("2026-08", "2026-09")
    assert result["tickets"] >= len(month)
    after = [service.figures(SUPERVISOR, q, at("2026-10-01")) for q in (query, monthly)]
    for old, new in zip(before, after):
        for part in ("totals", "series", "by", "heat", "operators"):
            assert new[part] == old[part], part


def test_open_figures_come_from_the_open_work_index_now(month: dict[str, str]) -> None:
    now = at("2026-10-01")
    query = service.parse_query({**PERIOD, "category": "chieu-sang", "area": "ninh-thanh"}, load_reference(), now)
    figures = service.figures(SUPERVISOR, query, now)
    assert figures["totals"]["open"] >= 1 and figures["totals"]["overdue_open"] >= 1  # the original, due in August
    assert sum(row["count"] for row in figures["backlog_age"]) == figures["totals"]["open"]
    listed = service.tickets_behind(SUPERVISOR, query, "overdue_open", None)
    assert month["original"] in [t["code"] for t in listed["tickets"]]
    assert month["duplicate"] not in [t["code"] for t in listed["tickets"]]  # merged: not open


def test_a_closed_months_summary_is_not_used_once_the_month_changed(month: dict[str, str]) -> None:
    """Runs last: it transfers an August ticket in October."""
    august = service.parse_query({"from": "2026-08-01", "to": "2026-08-31", "grain": "month"}, load_reference(),
                                 at("2026-10-01"))

    def police() -> int:
        figures = service.figures(SUPERVISOR, august, at("2026-10-02"))
        return next((row["received"] for row in figures["by"]["agency"] if row["key"] == "cong-an-tinh"), 0)

    assert police() == 1 and police() == 1  # the second read comes from the month's summary
    _act(SUPERVISOR, month["original"], "assign", at("2026-10-02"), agency="cong-an-tinh", reason="Đúng thẩm quyền")
    assert police() == 2  # its `received` moved on its creation day, in August
