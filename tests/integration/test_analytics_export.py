"""The nightly analytics export on the emulator: tickets made and worked through the real services are
exported to their creation day's partition in S3; the partition, downloaded, answers the README's
Athena queries (run as written, with DuckDB) with the figures the tickets themselves give; it holds
no personal data; a rerun writes the same object."""
from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

from chalicelib.domain.analytics import day_bounds, iso, local_day
from chalicelib.domain.clock import VN_TZ
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.reports import validate_submission
from chalicelib.domain.working_time import working_seconds_between
from chalicelib.services import analytics_export, console, intake, routing
from chalicelib.store import analytics, callbacks, ratings, tickets
from chalicelib.store.reference import load_reference
from tests.conftest import unique_phone

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = StaffUser("op", "op@demo.1022.vn", "Tổng đài", frozenset({"operator"}))
SUPERVISOR = StaffUser("gs", "gs@demo.1022.vn", "Giám sát", frozenset({"supervisor"}))
_DUCK_TYPES = {"string": "VARCHAR", "boolean": "BOOLEAN", "bigint": "BIGINT", "int": "INTEGER"}


def _report(description: str, phone: str, name: str) -> str:
    code = intake.submit(validate_submission({"description": description, "phone": phone, "name": name,
                                              "address": "Số 12 đường Lê Lợi"}, load_reference()))["tracking_code"]
    routing.route(code)
    return code


def _act(user: StaffUser, code: str, action: str, now: datetime, **form: str) -> None:
    console.act(user, code, action, {"version": str(tickets.get_ticket(code).version), **form}, now=now)


def _readme_queries() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Analysis in Athena", 1)[1].split("\n## ", 1)[0]
    queries = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(queries) == 3
    return queries


def _duckdb(folder: Path) -> Any:
    """DuckDB over the downloaded partitions, typed as the Glue table types them (infra/resources.json),
    with Athena's approx_percentile."""
    template = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))
    columns = template["Resources"]["AnalyticsTicketsTable"]["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    types = ", ".join(f"'{c['Name']}': '{_DUCK_TYPES[c['Type']]}'" for c in columns)
    db = duckdb.connect()
    db.execute("CREATE MACRO approx_percentile(x, p) AS quantile_disc(x, p)")
    db.execute(f"CREATE VIEW tickets AS SELECT * FROM read_json('{folder}/analytics/tickets/*/*.jsonl.gz', "
               f"format = 'newline_delimited', columns = {{{types}}}, hive_partitioning = true, "
               f"hive_types = {{'dt': 'VARCHAR'}})")
    return db


def _rows(db: Any, sql: str) -> list[dict[str, Any]]:
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _median(values: list[int]) -> int:
    return sorted(values)[(len(values) - 1) // 2]


def test_a_day_exported_to_s3_answers_the_readme_queries_with_the_tickets_figures(stack: Any, tmp_path: Path) -> None:
    # Given three reports worked through the console: one answered and rated, one extended, answered and
    # reopened, one still open after a callback made on time
    now = datetime.now(timezone.utc)
    people = [(unique_phone(), "Trần Thị Bích"), (unique_phone(), "Lê Văn Cường"), (unique_phone(), "Phạm Thu Dung")]
    texts = ["Cống thoát nước trước chợ bị tắc, mưa là ngập cả đoạn đường.",
             "Đèn đường khu phố 3 hỏng cả tuần nay, tối không nhìn thấy gì.",
             "Rác thải ùn ứ ở đầu hẻm 45 nhiều ngày chưa được thu gom."]
    answered, extended, waiting = (_report(text, phone, name) for text, (phone, name) in zip(texts, people))
    _act(OPERATOR, answered, "resolve", now + timedelta(minutes=5), answer="Đã thông cống.")
    ticket = tickets.get_ticket(answered)
    ratings.record(answered, ticket.category, 5, None, "web", now + timedelta(minutes=6))
    _act(SUPERVISOR, extended, "extend", now + timedelta(minutes=5), working_days="2", reason="Chờ vật tư")
    _act(OPERATOR, extended, "resolve", now + timedelta(minutes=7), answer="Đã thay bóng đèn.")
    _act(OPERATOR, extended, "reopen", now + timedelta(minutes=8), reason="Đèn lại hỏng")
    due = (now + timedelta(minutes=12)).astimezone(VN_TZ)
    _act(OPERATOR, waiting, "callback", now + timedelta(minutes=2), due=due.strftime("%Y-%m-%dT%H:%M"),
         reason="Hỏi thêm vị trí")
    (callback,) = callbacks.of_ticket(waiting)
    _act(OPERATOR, waiting, "callback_done", now + timedelta(minutes=15), callback=callback.sk,
         outcome="Đã gọi, người dân chỉ rõ vị trí")
    mine = {code: tickets.get_ticket(code) for code in (answered, extended, waiting)}
    day = local_day(mine[answered].created_at)

    # When the nightly run comes after the last change (yesterday, for it, is the day of the changes)
    run = analytics_export.nightly(now + timedelta(minutes=15, days=1))
    assert run["days"] >= 1 and run["days_left"] == 0
    stored = analytics.read(day)
    assert stored is not None
    # and runs again: the partition is the same object, byte for byte
    assert analytics_export.export_day(day) >= 3 and analytics.read(day) == stored

    # Then the file holds no one's name, phone, words, address or tracking code
    text = gzip.decompress(stored).decode("utf-8")
    for personal in [*mine, *(p for person in people for p in person), *(t[:20] for t in texts), "Lê Lợi",
                     *(phone.removeprefix("0") for phone, _ in people)]:
        assert personal not in text
    rows = [json.loads(line) for line in text.splitlines()]
    by_moment = {(row["created_at"], row["category"]): row for row in rows}
    facts = {code: by_moment[(iso(t.created_at), t.category)] for code, t in mine.items()}
    assert facts[answered]["on_time"] is True and facts[answered]["rating"] == 5
    assert facts[answered]["first_action_minutes"] is not None and facts[answered]["is_open"] is False
    assert (facts[extended]["extensions"], facts[extended]["reopened"], facts[extended]["is_open"]) == (1, 1, True)
    assert (facts[waiting]["callbacks_due"], facts[waiting]["callbacks_done"],
            facts[waiting]["callbacks_within_30"]) == (1, 1, 1)

    # And the README's queries, run on the downloaded partition, give what the tickets give
    folder = tmp_path / "analytics" / "tickets" / f"dt={day.isoformat()}"
    folder.mkdir(parents=True)
    (folder / "part-0.jsonl.gz").write_bytes(stored)
    db = _duckdb(tmp_path)
    start, end = day_bounds(day)
    every = [tickets.get_ticket(code) for code in analytics.created_codes(start, end)]
    assert len(every) == len(rows)
    calendar = load_reference().calendar
    moment = iso(now + timedelta(days=1))
    on_time, by_category = _readme_queries()[0], _readme_queries()[1]
    by_category = by_category.replace("'2026-11-01'", f"'{day}'").replace("'2026-11-30'", f"'{day}'")
    backlog = _readme_queries()[2].replace("'2026-12-01T00:00:00Z'", f"'{moment}'")

    expected: dict[tuple[Any, Any], list[int]] = defaultdict(lambda: [0, 0])
    for t in every:
        if t.answered_at is not None:
            figures = expected[(t.answered_at.astimezone(VN_TZ).strftime("%Y-%m"), t.agency)]
            figures[0] += 1
            figures[1] += t.answered_on_time is True
    got = {(r["month"], r["agency"]): r for r in _rows(db, on_time)}
    assert set(got) == set(expected) and expected
    for key, (count, timely) in expected.items():
        assert (got[key]["answered"], got[key]["on_time"]) == (count, timely), key
        assert got[key]["on_time_pct"] == round(100.0 * timely / count, 1)

    minutes: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for t in every:
        if t.answered_at is not None:
            minutes[t.category].append((int(working_seconds_between(calendar, t.created_at, t.answered_at) // 60),
                                        int((t.answered_at - t.created_at).total_seconds() // 60)))
    got = {r["category"]: r for r in _rows(db, by_category)}
    assert set(got) == set(minutes)
    for category, pairs in minutes.items():
        assert got[category]["answered"] == len(pairs)
        assert got[category]["median_working_min"] == _median([w for w, _ in pairs])
        assert got[category]["median_calendar_min"] == _median([c for _, c in pairs])

    open_now: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for t in every:
        if is_open(Status(t.status)):
            open_now[t.agency][0] += 1
            open_now[t.agency][1] += t.due_at is not None and iso(t.due_at) < moment
    got = {r["agency"]: (r["open"], r["overdue"]) for r in _rows(db, backlog)}
    assert got == {agency: tuple(figures) for agency, figures in open_now.items()}
    assert got[mine[waiting].agency][0] >= 1


def test_a_day_without_tickets_has_no_file(stack: Any) -> None:
    assert analytics_export.export_day(date(2020, 1, 1)) == 0
    assert analytics.read(date(2020, 1, 1)) is None
