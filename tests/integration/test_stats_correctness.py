"""Statistics against the tickets: a month of tickets made and worked through the real use cases
(intake, routing, the staff console's actions, callbacks, ratings, anonymisation) at chosen moments,
with the hard cases — a late answer, an extension, a reopened ticket answered twice, a transfer
between agencies, a merge, a ticket answered after a month boundary and two public holidays
(1–2/9/2026), an anonymised ticket, a rejection later reopened, a redirection — and every dashboard
figure compared with a recomputation that does not ask the app's statistics code anything: deadlines
are worked out here from the creation time, the category's allowed working days, the holiday
calendar and the story's extensions and reopenings (README "Statistics"); durations, buckets,
percentiles and the backlog's ages here too; staff workload from what the story's staff did; the
questions / complaints split from which tickets the story wrote as questions. Then the backfill
rebuilds the very same counter items."""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.reports import validate_submission
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
NOW = datetime(2026, 10, 1, 9, 0, tzinfo=VN_TZ)
# The spec, written out here rather than imported: duration buckets (upper bounds, minutes), the
# backlog's ages (upper bounds, hours since received), callbacks done within 30 minutes.
BUCKET_UPPER = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 960, 1440, 2880, 5760, 11520, 23040, 46080, 10**9)
AGES_H = (24, 72, 168, 720)
CLOSED = {"answered", "closed", "rejected", "redirected", "merged"}
EVENT_FIGURES = ("reopened", "rejected", "redirected", "merged")


def at(day: str, hm: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=VN_TZ)


@dataclass
class Story:
    codes: dict[str, str] = field(default_factory=dict)
    actions: list[tuple[str, str, str, datetime]] = field(default_factory=list)  # (code, e-mail, action, when)
    extensions: dict[str, int] = field(default_factory=dict)  # working days granted, by code
    questions: set[str] = field(default_factory=set)  # the codes written as questions

    def new(self, role: str, when: datetime, category: str = "giao-thong", area: str = "tan-ninh",
            question: bool = False) -> str:
        text = "Cho hỏi thủ tục xin phép đào đường để lắp ống nước làm ở đâu" if question else "Đường hỏng cần sửa"
        fields = {"description": f"{text} {uuid.uuid4().hex[:6]}", "phone": unique_phone(),
                  "name": "Dân", "category": category, "area": area}
        code = intake._create(validate_submission(fields, load_reference()), now=when)["tracking_code"]
        routing.route(code, now=when + timedelta(minutes=1))
        self.codes[role] = code
        if question:
            self.questions.add(code)
        return code

    def act(self, user: StaffUser, role: str, action: str, when: datetime, **form: str) -> None:
        code = self.codes[role]
        console.act(user, code, action, {"version": str(tickets.get_ticket(code).version), **form}, now=when)
        self.actions.append((code, user.email, action, when))
        if action == "extend":
            self.extensions[code] = int(form["working_days"])


@pytest.fixture(scope="module")
def month(stack: Any) -> Story:
    s = Story()
    s.new("on_time", at("2026-08-17"), question=True)
    s.act(SUPERVISOR, "on_time", "start", at("2026-08-17", "10:00"))
    s.act(SUPERVISOR, "on_time", "resolve", at("2026-08-18", "10:00"), answer="Đã sửa.")
    satisfaction.rate_on_web(s.codes["on_time"], tickets.get_ticket(s.codes["on_time"]).survey_token, "4", "",
                             now=at("2026-08-19"))
    s.new("late", at("2026-08-03"), question=True)
    # taking a ticket into one's own list is not work on it (README "Statistics"): not among the actions
    console.act(OPERATOR, s.codes["late"], "claim", {"version": str(tickets.get_ticket(s.codes["late"]).version)},
                now=at("2026-08-03", "10:00"))
    s.act(OPERATOR, "late", "note", at("2026-08-04"), text="Đang chờ cơ quan.")
    s.act(SUPERVISOR, "late", "resolve", at("2026-08-20"), answer="Đã sửa muộn.")
    s.new("extended", at("2026-08-10"))  # 5 working days: due 17/8, extended by 10
    s.act(SUPERVISOR, "extended", "extend", at("2026-08-13"), working_days="10", reason="Cần khảo sát")
    s.act(SUPERVISOR, "extended", "resolve", at("2026-08-19"), answer="Xong sau gia hạn.")
    s.new("reopened", at("2026-08-05"), "moi-truong", "binh-minh")
    s.act(OPERATOR, "reopened", "resolve", at("2026-08-06"), answer="Đã xử lý.")
    s.act(SUPERVISOR, "reopened", "reopen", at("2026-08-07"), reason="Người dân báo chưa xong")
    s.act(OPERATOR, "reopened", "resolve", at("2026-08-12"), answer="Đã xử lý lần hai.")
    s.new("transferred", at("2026-08-11"), "giao-thong", "binh-minh")
    s.act(SUPERVISOR, "transferred", "assign", at("2026-08-12"), agency="cong-an-tinh", reason="Đúng thẩm quyền")
    s.act(OFFICER, "transferred", "resolve", at("2026-08-14"), answer="Công an đã xử lý.")
    s.new("original", at("2026-08-12", "08:00"), "chieu-sang", "ninh-thanh")
    s.new("duplicate", at("2026-08-12", "08:30"), "chieu-sang", "ninh-thanh")
    s.act(OPERATOR, "duplicate", "merge", at("2026-08-12", "11:00"), merged_into=s.codes["original"])
    s.act(OPERATOR, "original", "callback", at("2026-08-24"), due="2026-08-25T10:00", reason="Hỏi thêm")
    callback = next(c for c in callbacks.of_ticket(s.codes["original"]) if c.status is not None)
    s.act(OPERATOR, "original", "callback_done", at("2026-08-25", "10:10"), callback=callback.sk, outcome="Đã gọi")
    s.new("boundary", at("2026-08-31", "16:00"))  # 1–2/9 are holidays
    s.act(SUPERVISOR, "boundary", "resolve", at("2026-09-03"), answer="Đã sửa sau lễ.")
    s.new("anonymised", at("2026-08-20"), "dien-nuoc", "long-hoa")
    s.act(OPERATOR, "anonymised", "resolve", at("2026-08-21"), answer="Đã có điện.")
    # data care by an admin, not work on the ticket: not among the story's actions
    privacy.anonymise_ticket(tickets.get_ticket(s.codes["anonymised"]), at("2026-08-28"),
                             "staff:quantri@demo.1022.vn", "Yêu cầu xóa")
    s.new("rejected", at("2026-08-14"), "khac", "hoa-thanh")
    s.act(OPERATOR, "rejected", "reject", at("2026-08-14", "15:00"), reason="Không thuộc phạm vi")
    s.act(SUPERVISOR, "rejected", "reopen", at("2026-08-18"), reason="Thuộc phạm vi")  # counted rejected, now open
    s.new("redirected", at("2026-08-15"), "khac", "hoa-thanh")
    s.act(OPERATOR, "redirected", "redirect", at("2026-08-17"), reason="Tòa án", redirected_to="Tòa án tỉnh")
    s.new("fresh", at("2026-09-30", "16:00"), question=True)  # still open at NOW: under a day old
    s.new("week", at("2026-09-25"))  # 6 days old at NOW, due after it
    return s


# --- working time, written here: office periods on working days (holidays off, make-up Saturdays on)

def _periods(day: date) -> list[tuple[datetime, datetime]]:
    calendar = load_reference().calendar
    working = day in calendar.makeup_saturdays or (day.weekday() < 5 and day not in calendar.holidays)
    return [(datetime.combine(day, a, VN_TZ), datetime.combine(day, b, VN_TZ)) for a, b in calendar.periods] \
        if working else []


def _work_seconds(start: datetime, end: datetime) -> float:
    total, day = 0.0, start.astimezone(VN_TZ).date()
    while day <= end.astimezone(VN_TZ).date():
        total += sum(max((min(b, end) - max(a, start)).total_seconds(), 0) for a, b in _periods(day))
        day += timedelta(days=1)
    return total


def _plus_working_days(start: datetime, days: int) -> datetime:
    calendar = load_reference().calendar
    left = days * sum((datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds()
                      for a, b in calendar.periods)
    day = start.astimezone(VN_TZ).date()
    while True:
        for a, b in _periods(day):
            a = max(a, start)
            if b <= a:
                continue
            if left <= (b - a).total_seconds():
                return a + timedelta(seconds=left)
            left -= (b - a).total_seconds()
        day += timedelta(days=1)


def _bucket(minutes: float) -> int:
    return next(i for i, upper in enumerate(BUCKET_UPPER) if minutes <= upper)


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    rank = max(math.ceil(share * len(values)), 1)
    return float(BUCKET_UPPER[_bucket(sorted(values)[rank - 1])])


@dataclass
class Facts:
    """What the recomputation works out of one ticket."""
    ticket: Any
    answers: list[tuple[datetime, bool, str | None]]      # when, on time, agency then
    events: list[Any]
    due: datetime | None                                  # the deadline in force now


def _facts(ticket: Any, story: Story) -> Facts:
    ref = load_reference()
    allowed = ref.categories[ticket.category].sla_working_days
    events = tickets.timeline(ticket.tracking_code)
    due = _plus_working_days(ticket.created_at, allowed)
    agency, answers = None, []
    for event in events:
        detail = event.detail or {}
        assert event.kind not in ("clock_paused", "clock_resumed", "recategorised", "returned"), \
            "the recomputation does not model this event: extend it with the story"
        if event.kind in ("routed", "assigned", "transferred"):
            agency = detail.get("agency")
        elif event.kind == "deadline_extended":
            due = _plus_working_days(due, story.extensions[ticket.tracking_code])
        elif event.kind == "reopened":
            due = _plus_working_days(event.at, allowed)  # the whole allowed time again
        elif event.kind == "answered":
            answers.append((event.at, event.at <= due, agency))
    return Facts(ticket, answers, events, due)


def _recomputed(story: Story, start: date, end: date) -> dict[str, Any]:
    """Every dashboard figure of [start, end] (VN days) and the backlog at NOW, from the story's
    tickets, their timelines and callbacks."""

    def inside(moment: datetime) -> bool:
        return start <= moment.astimezone(VN_TZ).date() <= end

    def minutes(a: datetime, b: datetime) -> tuple[float, float]:
        return _work_seconds(a, b) / 60, (b - a).total_seconds() / 60

    totals: dict[str, Any] = {name: 0 for name in ("received", "answered", "on_time", "late", *EVENT_FIGURES,
                                                   "callbacks_due", "callbacks_done", "callbacks_within_30",
                                                   "rating_count", "open", "overdue_open")}
    ratings: list[int] = []
    durations: dict[str, list[float]] = {"fa_w": [], "fa_c": [], "an_w": [], "an_c": []}
    by_agency: dict[str, dict[str, int]] = {}
    series: dict[str, dict[str, int]] = {}
    heat: dict[tuple[str, str], int] = {}
    behind: dict[str, set[str]] = {name: set() for name in ("received", "answered", "on_time", "late",
                                                            *EVENT_FIGURES)}
    backlog = [[0, 0] for _ in range(len(AGES_H) + 1)]
    kinds = {kind: {"received": 0, "answered": 0, "on_time": 0} for kind in ("question", "complaint")}

    def line(agency: str | None) -> dict[str, int]:
        return by_agency.setdefault(agency or "-", {k: 0 for k in ("received", "answered", "on_time", "late", "open",
                                                                    "overdue_open")})

    def day_line(moment: datetime) -> dict[str, int]:
        return series.setdefault(moment.astimezone(VN_TZ).date().isoformat(), {"received": 0, "answered": 0})

    first_action = {}
    for code, _, _, when in story.actions:
        first_action[code] = min(when, first_action.get(code, when))
    for ticket in tickets.whole(list(story.codes.values())):
        facts, code = _facts(ticket, story), ticket.tracking_code
        kind = kinds["question" if code in story.questions else "complaint"]
        if inside(ticket.created_at):  # `received` follows the ticket to its agency, category, commune now
            kind["received"] += 1
            totals["received"] += 1
            line(ticket.agency)["received"] += 1
            day_line(ticket.created_at)["received"] += 1
            heat[(ticket.category, ticket.area)] = heat.get((ticket.category, ticket.area), 0) + 1
            behind["received"].add(code)
        for when, on_time, agency in facts.answers:
            if inside(when):
                verdict = "on_time" if on_time else "late"
                totals["answered"] += 1
                totals[verdict] += 1
                kind["answered"] += 1
                kind["on_time"] += on_time
                line(agency)["answered"] += 1
                line(agency)[verdict] += 1
                day_line(when)["answered"] += 1
                behind["answered"].add(code)
                behind[verdict].add(code)
                work, calendar = minutes(ticket.created_at, when)
                durations["an_w"].append(work)
                durations["an_c"].append(calendar)
        if code in first_action and inside(first_action[code]):
            work, calendar = minutes(ticket.created_at, first_action[code])
            durations["fa_w"].append(work)
            durations["fa_c"].append(calendar)
        for event in facts.events:
            if inside(event.at) and event.kind in EVENT_FIGURES:
                totals[event.kind] += 1
                behind[event.kind].add(code)
            if inside(event.at) and event.kind == "rated":
                ratings.append(event.detail["rating"])
        done = {e.detail["callback"]: e.at for e in facts.events if e.kind == "callback_done"}
        for callback in callbacks.of_ticket(code):
            if inside(callback.due_at):
                totals["callbacks_due"] += 1
                if callback.sk in done:
                    totals["callbacks_done"] += 1
                    totals["callbacks_within_30"] += abs(done[callback.sk] - callback.due_at) <= timedelta(minutes=30)
        if ticket.status not in CLOSED:
            overdue = facts.due < NOW
            totals["open"] += 1
            totals["overdue_open"] += overdue
            line(ticket.agency)["open"] += 1
            line(ticket.agency)["overdue_open"] += overdue
            age = (NOW - ticket.created_at).total_seconds() / 3600
            row = backlog[next((i for i, upper in enumerate(AGES_H) if age < upper), len(AGES_H))]
            row[0] += 1
            row[1] += overdue
    totals["on_time_pct"] = round(100 * totals["on_time"] / totals["answered"], 1) if totals["answered"] else None
    totals["kinds"] = {key: {**line, "on_time_pct": round(100 * line["on_time"] / line["answered"], 1)
                             if line["answered"] else None} for key, line in kinds.items()}
    totals["rating_count"] = len(ratings)
    totals["rating_mean"] = round(sum(ratings) / len(ratings), 2) if ratings else None
    totals["rating_dist"] = {str(n): ratings.count(n) for n in range(1, 6)}
    for name, label in (("fa", "first_action"), ("an", "answer")):
        for kind, word in (("w", "working"), ("c", "calendar")):
            for share, p in ((0.5, "p50"), (0.9, "p90")):
                totals[f"{label}_{p}_{word}_min"] = _percentile(durations[f"{name}_{kind}"], share)
    operators: dict[str, tuple[int, int]] = {}
    for _, email, action, when in story.actions:
        if inside(when):
            handled, answered = operators.get(email, (0, 0))
            operators[email] = (handled + 1, answered + (action == "resolve"))
    return {"totals": totals, "by_agency": by_agency, "series": series, "heat": heat, "backlog": backlog,
            "operators": operators, "behind": behind}


def _others_open() -> tuple[list[dict[str, Any]], set[str]]:
    """Open tickets of other tests in the shared table (the backlog is of every open ticket now)."""
    from chalicelib.store import stats as store

    entries = store.open_entries()
    return entries, {e["code"] for e in entries}


@pytest.mark.parametrize("start,end", [("2026-08-01", "2026-09-30"), ("2026-08-01", "2026-08-31"),
                                       ("2026-08-10", "2026-08-19")])
def test_every_figure_equals_a_recomputation_from_the_tickets(month: Story, start: str, end: str) -> None:
    figures = service.figures(SUPERVISOR, service.parse_query({"from": start, "to": end}, load_reference(), NOW), NOW)
    expected = _recomputed(month, date.fromisoformat(start), date.fromisoformat(end))
    ours = set(month.codes.values())
    entries, _ = _others_open()
    others = [e for e in entries if e["code"] not in ours]
    totals = dict(expected["totals"])
    totals["open"] += len(others)
    totals["overdue_open"] += sum(1 for e in others if e["due"] is not None and e["due"] < NOW)
    for name, value in totals.items():
        assert figures["totals"][name] == value, name
    # by agency: received, answered, on time, late, open and overdue (the story's agencies)
    got = {row["key"]: row for row in figures["by"]["agency"]}
    for agency, line in expected["by_agency"].items():
        if agency in got:
            foreign = [e for e in others if (e["agency"] or "-") == agency]
            line = {**line, "open": line["open"] + len(foreign),
                    "overdue_open": line["overdue_open"] + sum(1 for e in foreign if e["due"] and e["due"] < NOW)}
        row = got.get(agency, {})
        assert {k: row.get(k, 0) for k in line} == line, agency
        if line["answered"]:
            assert row["on_time_pct"] == round(100 * line["on_time"] / line["answered"], 1)
    for agency in set(got) - set(expected["by_agency"]):  # other tests' open tickets only
        assert not any(got[agency][k] for k in ("received", "answered", "on_time", "late")), agency
    for row in figures["series"]:
        assert {k: row[k] for k in ("received", "answered")} == expected["series"].get(
            row["bucket"], {"received": 0, "answered": 0}), row["bucket"]
    cells = {(c, a): n for c, cs in zip(figures["heat"]["rows"], figures["heat"]["cells"])
             for a, n in zip(figures["heat"]["cols"], cs) if n}
    ref = load_reference()
    assert cells == {(ref.categories[c].name, ref.areas[a].name): n for (c, a), n in expected["heat"].items()}
    assert {row["name"]: (row["handled"], row["answered"]) for row in figures["operators"]} == expected["operators"]


def test_the_backlog_counts_open_tickets_by_age_since_received_and_how_many_are_overdue(month: Story) -> None:
    figures = service.figures(SUPERVISOR, service.parse_query(PERIOD, load_reference(), NOW), NOW)
    expected = _recomputed(month, date(2026, 8, 1), date(2026, 9, 30))["backlog"]
    # received under a day ago; 6 days ago; the original and the rejected-then-reopened one: over 30 days, overdue
    assert expected == [[1, 0], [0, 0], [1, 0], [0, 0], [2, 2]]
    entries, _ = _others_open()
    foreign = [e for e in entries if e["code"] not in set(month.codes.values())]
    received = {t.tracking_code: t.created_at for t in tickets.whole([e["code"] for e in foreign])}
    for entry in foreign:  # other tests' open tickets, in the same table
        age = (NOW - received[entry["code"]]).total_seconds() / 3600
        row = expected[next((i for i, upper in enumerate(AGES_H) if age < upper), len(AGES_H))]
        row[0] += 1
        row[1] += bool(entry["due"] and entry["due"] < NOW)
    assert [[row["count"], row["overdue"]] for row in figures["backlog_age"]] == expected


def test_the_hard_cases_count_as_the_law_counts_them(month: Story) -> None:
    figures = service.figures(SUPERVISOR, service.parse_query(PERIOD, load_reference(), NOW), NOW)
    totals = figures["totals"]
    # late: 1; the extended ticket is on time; the reopened one answered twice; the boundary one after the holidays
    assert (totals["answered"], totals["on_time"], totals["late"]) == (8, 7, 1)
    assert (totals["reopened"], totals["rejected"], totals["redirected"], totals["merged"]) == (2, 1, 1, 1)
    assert (totals["callbacks_due"], totals["callbacks_done"], totals["callbacks_within_30"]) == (1, 1, 1)
    assert totals["on_time_pct"] == 87.5
    agencies = {row["key"]: row for row in figures["by"]["agency"]}
    assert agencies["cong-an-tinh"]["received"] == 1 and agencies["cong-an-tinh"]["answered"] == 1  # the transfer
    august = service.figures(SUPERVISOR, service.parse_query({"from": "2026-08-01", "to": "2026-08-31"},
                                                             load_reference(), NOW), NOW)
    assert august["totals"]["received"] == 11 and august["totals"]["answered"] == 7  # the boundary one: September
    months = service.figures(SUPERVISOR, service.parse_query({**PERIOD, "grain": "month"}, load_reference(), NOW), NOW)
    assert [(s["bucket"], s["received"], s["answered"]) for s in months["series"]] == [("2026-08", 11, 7),
                                                                                       ("2026-09", 2, 1)]
    assert months["totals"] == totals  # the month roll-ups agree with the days
    # the router tagged the story's questions as questions, its complaints as complaints
    assert {t.tracking_code for t in tickets.whole(list(month.codes.values())) if t.kind == "question"} \
        == month.questions
    # two questions received and answered in the period, one of them late; the third still open
    assert totals["kinds"]["question"] == {"received": 3, "answered": 2, "on_time": 1, "on_time_pct": 50.0}
    assert totals["kinds"]["complaint"]["answered"] == 6 and totals["kinds"]["complaint"]["on_time"] == 6


def test_an_agency_officer_sees_only_their_agency_and_no_operators(month: Story) -> None:
    query = service.parse_query(PERIOD, load_reference(), NOW)
    figures = service.figures(OFFICER, query, NOW)
    assert "operators" not in figures
    assert {row["key"] for row in figures["by"]["agency"]} <= {"cong-an-tinh"}
    assert figures["totals"]["received"] == 1 and figures["totals"]["answered"] == 1
    behind = service.tickets_behind(OFFICER, query, "answered", None)
    assert [t["code"] for t in behind["tickets"]] == [month.codes["transferred"]]


def test_the_public_month_has_agencies_and_no_people(month: Story) -> None:
    data = service.public_month("2026-08")
    assert data["totals"]["received"] == 11 and "operators" not in data
    assert all(set(row) == {"key", "name", "received", "answered", "on_time", "late", "on_time_pct"}
               for row in data["agencies"])


def _listed(user: StaffUser, query: service.StatsQuery, figure: str) -> list[str]:
    codes: list[str] = []
    after = None
    for _ in range(20):
        page = service.tickets_behind(user, query, figure, after)
        codes += [t["code"] for t in page["tickets"]]
        after = page["next"]
        if not after:
            return codes
    raise AssertionError("too many pages")


@pytest.mark.parametrize("start,end", [("2026-08-01", "2026-08-31"), ("2026-08-10", "2026-08-19")])
def test_the_tickets_behind_each_figure_are_exactly_the_ones_it_counts(month: Story, start: str, end: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    query = service.parse_query({"from": start, "to": end}, load_reference(), NOW)
    figures = service.figures(SUPERVISOR, query, NOW)
    expected = _recomputed(month, date.fromisoformat(start), date.fromisoformat(end))["behind"]
    read: list[str] = []
    timeline = tickets.timeline
    monkeypatch.setattr(tickets, "timeline", lambda code: read.append(code) or timeline(code))
    ours = set(month.codes.values())
    for figure, codes in expected.items():
        listed = [c for c in _listed(SUPERVISOR, query, figure) if c in ours]
        assert len(listed) == len(set(listed)) and set(listed) == codes, figure
        if figure in ("received", *EVENT_FIGURES):  # one event per ticket here (a ticket answered twice is listed once)
            assert len(listed) == figures["totals"][figure], figure
    # timelines are read only for tickets that had a reopening, rejection, redirection or merge
    assert set(read) <= {month.codes[role] for role in ("reopened", "rejected", "redirected", "duplicate")}
    # rejected in the period, open again now: listed among the rejections all the same
    assert month.codes["rejected"] in expected["rejected"] and tickets.get_ticket(month.codes["rejected"]).status \
        == "reopened"


def test_the_backfill_rebuilds_the_same_counter_items(month: Story) -> None:
    from chalicelib.store import stats as store

    def snapshot() -> dict[str, dict[str, Any]]:
        items: dict[str, dict[str, Any]] = {}
        for m in ("2026-08", "2026-09"):
            for item in store.days(m, 1, 31) + store.month(m) + store.operators(m, 1, 31):
                numbers = {k: v for k, v in item.items() if k != "sk" and v not in (0, None)}
                if numbers and any(isinstance(v, int) and v for v in numbers.values()):
                    items[f"{m}/{item['sk']}"] = numbers
        return items

    before = snapshot()
    store.clear("2026-08", 1, 31)  # lost, as after an upgrade that did not count yet
    august = service.parse_query({"from": "2026-08-01", "to": "2026-08-31"}, load_reference(), NOW)
    assert service.figures(SUPERVISOR, august, NOW)["totals"]["received"] == 0
    assert service.backfill("2026-08", "2026-09")["tickets"] >= len(month.codes)
    after = snapshot()
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], key


def test_a_closed_months_summary_is_not_used_once_the_month_changed(month: Story) -> None:
    """Runs last: it transfers an August ticket in October."""
    august = service.parse_query({"from": "2026-08-01", "to": "2026-08-31", "grain": "month"}, load_reference(), NOW)

    def police() -> int:
        figures = service.figures(SUPERVISOR, august, at("2026-10-02"))
        return next((row["received"] for row in figures["by"]["agency"] if row["key"] == "cong-an-tinh"), 0)

    assert police() == 1 and police() == 1  # the second read comes from the month's summary
    month.act(SUPERVISOR, "original", "assign", at("2026-10-02"), agency="cong-an-tinh", reason="Đúng thẩm quyền")
    assert police() == 2  # its `received` moved on its creation day, in August
