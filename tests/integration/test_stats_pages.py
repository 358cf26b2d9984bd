"""The statistics pages through the app (chalice test client, the emulator's Cognito sign-in): who sees
what on /staff/thong-ke (an agency officer only their agency, no agency filter; operators no
per-operator table), the tickets behind a figure, and the public /thong-ke with no personal data."""
from __future__ import annotations

import re
import sys
import types
from typing import Any

import pytest

FIXTURE: dict[str, Any] = {
    "period": {"from": "2026-11-01", "to": "2026-11-30", "grain": "day"},
    "filters": {},
    "totals": {"received": 1234, "answered": 40, "on_time": 30, "late": 10, "open": 7, "overdue_open": 2,
               "reopened": 1, "rejected": 2, "redirected": 3, "merged": 4, "callbacks_due": 5, "callbacks_done": 4,
               "callbacks_within_30": 3, "rating_count": 6, "rating_mean": 4.2,
               "rating_dist": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 4},
               "first_action_p50_working_min": 15, "first_action_p90_working_min": 120,
               "first_action_p50_calendar_min": 30, "first_action_p90_calendar_min": 960,
               "answer_p50_working_min": 480, "answer_p90_working_min": 2880,
               "answer_p50_calendar_min": 1440, "answer_p90_calendar_min": 5760, "on_time_pct": 75.0,
               "kinds": {"question": {"received": 234, "answered": 12, "on_time": 11, "on_time_pct": 91.7},
                         "complaint": {"received": 1000, "answered": 28, "on_time": 19, "on_time_pct": 67.9}}},
    "series": [{"bucket": "2026-11-02", "received": 20, "answered": 10, "on_time": 8, "late": 2, "on_time_pct": 80.0},
               {"bucket": "2026-11-03", "received": 20, "answered": 30, "on_time": 22, "late": 8,
                "on_time_pct": 73.3}],
    "by": {"agency": [{"key": "so-xay-dung", "name": "Sở <Xây dựng>", "received": 30, "answered": 30, "on_time": 24,
                       "late": 6, "on_time_pct": 80.0, "open": 5, "overdue_open": 1}],
           "category": [], "channel": [], "area": []},
    "backlog_age": [{"bucket": "< 1 ngày", "count": 3, "overdue": 0}, {"bucket": "1–3 ngày", "count": 4, "overdue": 2}],
    "heat": {"rows": ["Ngập úng"], "cols": ["Tân Ninh", "Phú Hải"], "cells": [[3, 0]]},
    "operators": [{"name": "Lê Thị Mai (tổng đài)", "handled": 12, "answered": 9}],
}


@pytest.fixture
def fake_stats(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """chalicelib.services.stats answering the contract's shapes from FIXTURE (what each call got)."""
    import chalicelib.services

    seen: dict[str, Any] = {}
    fake = types.ModuleType("chalicelib.services.stats")

    def parse_query(raw: Any, ref: Any, now: Any) -> dict[str, Any]:
        return dict(raw)

    def figures(user: Any, query: Any, now: Any) -> dict[str, Any]:
        seen["figures"] = (user, query)
        return dict(FIXTURE)

    def tickets_behind(user: Any, query: Any, figure: str, after: Any) -> dict[str, Any]:
        seen["behind"] = (user, query, figure, after)
        return {"tickets": [{"code": "HUE-ABC123", "status": "answered", "channel": "web", "category": "ngap-ung",
                             "agency": "so-xay-dung", "area": "tan-ninh", "created_at": "2026-11-02T01:00:00+00:00",
                             "due_at": "2026-11-05T10:00:00+00:00", "answered_at": "2026-11-06T02:30:00+00:00",
                             "answered_on_time": False, "overdue": False}], "next": "abc"}

    def public_month(month: str) -> dict[str, Any]:
        seen["month"] = month
        return {"month": month, "totals": {"received": 55, "answered": 50, "on_time_pct": 90.0, "open": 5},
                "agencies": [{"key": "so-xay-dung", "name": "Sở Xây dựng", "received": 30, "answered": 28,
                              "on_time": 26, "late": 2, "on_time_pct": 92.9}]}

    fake.__dict__.update(parse_query=parse_query, figures=figures, tickets_behind=tickets_behind,
                         public_month=public_month)
    monkeypatch.setitem(sys.modules, "chalicelib.services.stats", fake)
    monkeypatch.setattr(chalicelib.services, "stats", fake, raising=False)
    return seen


def _get(client: Any, token: str, path: str, status: int = 200) -> str:
    response = client.http.get(path, headers={"Cookie": f"hl_id={token}; hl_csrf=tok"})
    assert response.status_code == status, response.body[:500]
    return response.body.decode()


def test_a_supervisor_sees_every_figure_with_its_chart_table_and_links(client: Any, staff: dict[str, str],
                                                                       fake_stats: dict[str, Any]) -> None:
    page = _get(client, staff["supervisor"], "/staff/thong-ke?grain=day&agency=so-xay-dung")
    assert 'id="nav-stats"' in page
    headline = page[page.index('id="headline"'):page.index("</ul>", page.index('id="headline"'))]
    assert "1.234" in headline and "75,0%" in headline and "8 giờ 0 phút" in headline
    # on-time % per agency: the chart (escaped name, linked to the list behind it) and the same numbers in a table
    assert "Sở &lt;Xây dựng&gt;: 80%" in page and "Sở <Xây dựng>" not in page
    agency_row = page[page.index('data-agency="so-xay-dung"'):]
    assert "80,0%" in agency_row[:agency_row.index("</tr>")]
    links = re.findall(r'href="(/staff/thong-ke/phan-anh\?[^"]+)"', page)
    assert "/staff/thong-ke/phan-anh?from=2026-11-01&amp;to=2026-11-30&amp;grain=day&amp;agency=so-xay-dung" \
           "&amp;figure=received" in links
    assert page.count('role="img"') == 6 and 'id="operator-table"' in page and "Lê Thị Mai" in page  # 6: calls per hour
    assert 'id="f-agency"' in page
    questions = page[page.index('id="kind-question"'):page.index("</tr>", page.index('id="kind-question"'))]
    assert "Câu hỏi" in questions and ">234<" in questions and "91,7%" in questions
    assert "1.000" in page[page.index('id="kind-complaint"'):]


def test_an_operator_gets_no_per_operator_table_even_if_offered(client: Any, staff: dict[str, str],
                                                                fake_stats: dict[str, Any]) -> None:
    page = _get(client, staff["operator"], "/staff/thong-ke")
    assert 'id="headline"' in page and 'id="operator-table"' not in page and "Lê Thị Mai (tổng đài)" not in \
        page.split("</header>")[1]


def test_an_agency_officer_has_no_agency_filter_and_is_told_the_scope(client: Any, staff: dict[str, str],
                                                                     fake_stats: dict[str, Any]) -> None:
    page = _get(client, staff["officer"], "/staff/thong-ke")
    assert 'id="f-agency"' not in page and 'id="operator-table"' not in page
    assert "Thống kê tiếp nhận, xử lý phản ánh · Sở Xây dựng" in page
    user, _ = fake_stats["figures"]
    assert user.agency == "so-xay-dung"


def test_the_tickets_behind_a_figure_page_through_the_service(client: Any, staff: dict[str, str],
                                                              fake_stats: dict[str, Any]) -> None:
    page = _get(client, staff["supervisor"], "/staff/thong-ke/phan-anh?figure=late&from=2026-11-01&to=2026-11-30")
    assert "<h1>Trả lời trễ hạn</h1>" in page and 'id="next-page"' in page and "after=abc" in page
    assert fake_stats["behind"][2:] == ("late", None)
    row = page[page.index('data-code="HUE-ABC123"'):]
    row = row[:row.index("</tr>")]
    assert "Ngập úng" in row and "Sở Xây dựng" in row and "02/11/2026 08:00" in row
    assert "Trả lời lúc 06/11/2026 09:30 (trễ hạn)" in row
    _get(client, staff["supervisor"], "/staff/thong-ke/phan-anh?figure=phone", status=400)


def test_the_stats_pages_need_a_staff_session(client: Any, fake_stats: dict[str, Any]) -> None:
    response = client.http.get("/staff/thong-ke")
    assert response.status_code == 303 and "/staff/sign-in" in response.headers["Location"]


def test_the_public_page_shows_a_month_per_agency_without_staff_or_people(client: Any,
                                                                           fake_stats: dict[str, Any]) -> None:
    response = client.http.get("/thong-ke?thang=" + "2026-11")
    page = response.body.decode()
    assert response.status_code == 200 and fake_stats["month"] == "2026-11"
    assert "tháng 11/2026" in page and "Sở Xây dựng: 92,9%" in page and "92,9%" in page
    assert 'id="footer-stats"' in page
    assert client.http.get("/thong-ke?thang=1999-01").status_code == 400


# Through the real service (chalicelib.services.stats): counters written by the handlers, the scope applied


def _report(description: str, category: str, name: str) -> str:
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake, routing
    from chalicelib.store.reference import load_reference
    from tests.conftest import unique_phone

    fields = {"description": description, "phone": unique_phone(), "category": category, "name": name}
    code = intake.submit(validate_submission(fields, load_reference()))["tracking_code"]
    routing.route(code)
    return code


def _agency_rows(page: str) -> list[str]:
    table = page[page.index('id="agency-table"'):]
    return re.findall(r'data-agency="([^"]+)"', table[:table.index("</table>")])


def test_each_role_sees_its_scope_of_the_real_figures(client: Any, staff: dict[str, str]) -> None:
    name = "Trần Thị Bích Ngọc"
    _report("Ổ gà lớn trên đường Lê Lợi trước trường học, xe máy dễ ngã.", "giao-thong", name)
    _report("Nhóm thanh niên tụ tập gây mất trật tự ban đêm ở công viên.", "an-ninh-trat-tu", name)
    supervisor = _get(client, staff["supervisor"], "/staff/thong-ke")
    assert {"so-xay-dung", "cong-an-tinh"} <= set(_agency_rows(supervisor))
    assert 'id="operator-table"' in supervisor
    officer = _get(client, staff["officer"], "/staff/thong-ke")
    assert _agency_rows(officer) == ["so-xay-dung"] and 'id="operator-table"' not in officer
    assert "Công an tỉnh" not in officer.split("</form>", 1)[1]  # the filter's lists aside, no other agency
    operator = _get(client, staff["operator"], "/staff/thong-ke")
    assert 'id="headline"' in operator and 'id="operator-table"' not in operator
    # the list behind "received" for the officer: their agency's tickets only
    behind = _get(client, staff["officer"], "/staff/thong-ke/phan-anh?figure=received")
    assert "Sở Xây dựng" in behind and "Công an tỉnh" not in behind.split("</header>", 1)[1]
    # a bad period: the form again with why, the choices kept
    bad = _get(client, staff["supervisor"], "/staff/thong-ke?from=2026-13-01&agency=so-xay-dung", status=400)
    assert 'id="stats-errors"' in bad and '<option value="so-xay-dung" selected>' in bad
    public = client.http.get("/thong-ke").body.decode()
    assert "Sở Xây dựng" in public and "Công an tỉnh" in public
    assert name not in public and "@demo.1022.vn" not in public and "tổng đài)" not in public
