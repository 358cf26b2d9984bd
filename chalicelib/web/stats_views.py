"""The statistics pages: /staff/thong-ke (the figures of a period, filtered; chalicelib.services.stats),
/staff/thong-ke/phan-anh (the tickets behind one figure, rows as in the inbox) and the public /thong-ke
(the month's figures per agency, no personal data).

Who sees what: supervisors and admins every agency and the per-operator table; an agency officer only
their own agency (the service restricts the figures; the page hides the agency filter); an operator the
hotline's figures without the per-operator table (the service gives `operators` to supervisors and
admins only, and the page asks `may("operator_statistics")` as well).

Filters ride in GET query parameters: dates, a grain and reference ids, never personal data. Charts are
inline SVG (chalicelib/web/charts.py) with the same numbers in a table beside each one.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import urlencode

from chalice import Response

from chalicelib.domain.clock import VN_TZ, local_text
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.web import charts
from chalicelib.web import session as sessions
from chalicelib.web.urls import url

QUERY_KEYS = ("from", "to", "grain", "channel", "category", "agency", "area")
GRAINS = {"day": "Ngày", "week": "Tuần", "month": "Tháng", "quarter": "Quý", "year": "Năm"}
FIGURES = {"received": "Tiếp nhận", "answered": "Đã trả lời", "on_time": "Trả lời đúng hạn", "late": "Trả lời trễ hạn",
           "open": "Đang xử lý", "overdue_open": "Đang quá hạn", "reopened": "Mở lại", "rejected": "Không tiếp nhận",
           "redirected": "Hướng dẫn nơi khác", "merged": "Gộp vào phản ánh khác"}
DIMENSIONS = {"agency": "Cơ quan xử lý", "category": "Lĩnh vực", "channel": "Kênh tiếp nhận", "area": "Xã, phường"}
PRIVATE = {"Cache-Control": "no-store"}


def _pct(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _minutes(value: Any) -> str:
    """A duration in minutes as people say it: '45 phút', '3 giờ 20 phút', '2 ngày 4 giờ'."""
    if value is None:
        return "–"
    minutes = int(round(float(value)))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} ngày {hours} giờ"
    if hours:
        return f"{hours} giờ {mins} phút"
    return f"{mins} phút"


def bucket_text(bucket: str) -> str:
    """A series bucket as people write it: 2026-11-30 -> 30/11, 2026-W49 -> T49/2026, 2026-11 -> 11/2026,
    2026-Q4 -> Q4/2026, 2026 -> 2026."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", bucket):
        return f"{bucket[8:10]}/{bucket[5:7]}"
    if re.fullmatch(r"\d{4}-W\d{2}", bucket):
        return f"T{bucket[6:]}/{bucket[:4]}"
    if re.fullmatch(r"\d{4}-(\d{2}|Q\d)", bucket):
        return f"{bucket[5:]}/{bucket[:4]}"
    return bucket


def date_text(iso: str | None) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}" if iso and re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso) else (iso or "")


def _kept(raw: Mapping[str, str]) -> dict[str, str]:
    return {key: raw[key] for key in QUERY_KEYS if raw.get(key)}


def _link(kept: Mapping[str, str], figure: str, **more: str) -> str:
    return url("/staff/thong-ke/phan-anh") + "?" + urlencode({**kept, **more, "figure": figure})


def _query_of(figures: Mapping[str, Any], raw: Mapping[str, str]) -> dict[str, str]:
    """The query the page was computed for (the period as the service resolved it), for its links."""
    kept = _kept(raw)
    period = figures.get("period") or {}
    for key in ("from", "to", "grain"):
        if period.get(key):
            kept[key] = str(period[key])
    return {key: kept[key] for key in QUERY_KEYS if key in kept}


def charts_of(figures: Mapping[str, Any], kept: Mapping[str, str]) -> dict[str, Any]:
    """The SVG of each chart on the staff page, from the service's figures."""
    series = figures.get("series") or []
    buckets = [bucket_text(str(b["bucket"])) for b in series]
    agencies = (figures.get("by") or {}).get("agency") or []
    return {
        "trend": charts.line_chart("Tiếp nhận và trả lời theo thời gian", buckets, [
            {"name": "Tiếp nhận", "values": [b["received"] for b in series]},
            {"name": "Đã trả lời", "values": [b["answered"] for b in series]}]),
        "on_time_trend": charts.line_chart("Tỉ lệ trả lời đúng hạn theo thời gian (%)", buckets, [
            {"name": "Đúng hạn", "values": [_pct(b.get("on_time_pct")) for b in series]}], unit="%", max_value=100),
        "agencies": charts.bar_chart("Tỉ lệ trả lời đúng hạn theo cơ quan (%)", [
            {"label": a["name"], "value": _pct(a.get("on_time_pct")), "note": f"({a['on_time']}/{a['answered']})",
             "href": _link(kept, "answered", agency=a["key"]) if a.get("key") else None} for a in agencies],
            unit="%", max_value=100, css_class="bars agencies"),
        "backlog": charts.bar_chart("Phản ánh đang xử lý theo thời gian từ khi tiếp nhận", [
            {"label": b["bucket"], "value": b["count"], "note": f"({b['overdue']} quá hạn)" if b.get("overdue") else ""}
            for b in figures.get("backlog_age") or []], css_class="bars backlog"),
        "ratings": charts.bar_chart("Đánh giá của người dân (số phiếu theo số sao)", [
            {"label": f"{stars} sao", "value": ((figures.get("totals") or {}).get("rating_dist") or {}).get(str(stars), 0)}
            for stars in (5, 4, 3, 2, 1)], css_class="bars ratings"),
    }


def _heat(heat: Mapping[str, Any]) -> dict[str, Any]:
    """The category × commune table with each cell's shade (0..1 of the largest cell)."""
    cells = heat.get("cells") or []
    top = max([max(row) for row in cells if row] + [0]) or 1
    return {"rows": heat.get("rows") or [], "cols": heat.get("cols") or [],
            "cells": [[{"n": n, "shade": round(n / top, 2)} for n in row] for row in cells]}


def _options(user: Any) -> dict[str, Any]:
    from chalicelib.domain.inbox import CHANNELS
    from chalicelib.store.reference import load_reference
    from chalicelib.web.staff_views import CHANNEL_LABELS

    ref = load_reference()
    return {"grains": GRAINS, "channels": [(c, CHANNEL_LABELS.get(c, c)) for c in CHANNELS],
            "categories": sorted(((c.id, c.name) for c in ref.categories.values()), key=lambda c: c[1]),
            "areas": sorted(((a.id, a.name) for a in ref.areas.values()), key=lambda a: a[1]),
            "agencies": sorted(((a.id, a.name) for a in ref.agencies.values()), key=lambda a: a[1]),
            "own_agency": None if user.sees_every_agency else (ref.agencies[user.agency].name
                                                               if user.agency in ref.agencies else user.agency)}


def _when(text: str | None) -> str | None:
    return local_text(datetime.fromisoformat(text)) if text else None


def display_rows(tickets: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The service's ticket summaries (ids, ISO times) as the inbox's rows (names, local times); the
    text column says when and whether the ticket was answered on time."""
    from chalicelib.domain.lifecycle import LABELS_VI, Status
    from chalicelib.store.reference import load_reference

    ref = load_reference()
    rows = []
    for t in tickets:
        status = Status(t["status"])
        answered = _when(t.get("answered_at"))
        verdict = {True: "đúng hạn", False: "trễ hạn"}.get(t.get("answered_on_time"), "")
        rows.append({"code": t["code"], "status_label": LABELS_VI[status], "channel": t.get("channel"),
                     "category": getattr(ref.categories.get(t.get("category") or ""), "name", None),
                     "area": getattr(ref.areas.get(t.get("area") or ""), "name", None),
                     "agency": getattr(ref.agencies.get(t.get("agency") or ""), "name", None),
                     "created": _when(t.get("created_at")), "due": _when(t.get("due_at")),
                     "overdue": bool(t.get("overdue")),
                     "excerpt": f"Trả lời lúc {answered}" + (f" ({verdict})" if verdict else "") if answered else ""})
    return rows


def _show(session: sessions.PageSession, template: str, status: int = 200, **context: Any) -> Response:
    from chalicelib.web.staff_views import _page

    response = _page(session, template, status=status, **context)
    response.headers.update(PRIVATE)
    return response


def page(headers: Mapping[str, str], raw: Mapping[str, str]) -> Response:
    """GET /staff/thong-ke: the filter form, headline figures, charts with their tables."""
    from chalicelib.domain.permissions import allowed, require
    from chalicelib.services import stats
    from chalicelib.store.reference import load_reference
    from chalicelib.web import call_views

    session = sessions.page_session(headers)
    require(session.user, "statistics")
    now = datetime.now(timezone.utc)
    options = _options(session.user)
    try:
        query = stats.parse_query(raw, load_reference(), now)
    except ValidationFailed as failed:
        return _show(session, "staff/stats.html", status=400, figures=None, form=_kept(raw), options=options,
                     errors=[e.vi for e in failed.errors] or [failed.message_vi])
    figures = stats.figures(session.user, query, now)
    kept = _query_of(figures, raw)
    totals = figures.get("totals") or {}
    return _show(session, "staff/stats.html", figures=figures, totals=totals, form=kept, options=options, errors=[],
                 charts=charts_of(figures, kept), heat=_heat(figures.get("heat") or {}), dimensions=DIMENSIONS,
                 show_operators=allowed(session.user, "operator_statistics") and "operators" in figures,
                 link=lambda figure, **more: _link(kept, figure, **more), minutes=_minutes, pct=_pct,
                 figure_labels=FIGURES, bucket_text=bucket_text, date_text=date_text,
                 calls=call_views.stats_section(session.user, kept.get("from"), kept.get("to")))


def tickets_page(headers: Mapping[str, str], raw: Mapping[str, str]) -> Response:
    """GET /staff/thong-ke/phan-anh?figure=…: the tickets behind a figure, a page at a time, within scope."""
    from chalicelib.domain.permissions import require
    from chalicelib.services import stats
    from chalicelib.store.reference import load_reference

    session = sessions.page_session(headers)
    require(session.user, "statistics")
    now = datetime.now(timezone.utc)
    figure = raw.get("figure") or ""
    if figure not in FIGURES:
        raise ValidationFailed([FieldError("figure", "Số liệu không hợp lệ.", "Unknown figure.")])
    query = stats.parse_query(raw, load_reference(), now)
    found = stats.tickets_behind(session.user, query, figure, raw.get("after") or None)
    kept = _kept(raw)
    next_link = _link(kept, figure, after=found["next"]) if found.get("next") else None
    return _show(session, "staff/stats_tickets.html", rows=display_rows(found["tickets"]), figure=figure, figure_label=FIGURES[figure],
                 next_link=next_link, back_link=url("/staff/thong-ke") + ("?" + urlencode(kept) if kept else ""),
                 form=kept, options=_options(session.user), grains=GRAINS, date_text=date_text)


def _months(now: datetime, count: int = 24) -> list[str]:
    """This month and the ones before it, newest first, as yyyy-mm."""
    local = now.astimezone(VN_TZ)
    year, month = local.year, local.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def public_page(raw: Mapping[str, str]) -> Response:
    """GET /thong-ke?thang=yyyy-mm: the month's figures per agency, as the province publishes them."""
    from chalicelib.services import stats
    from chalicelib.web.pages import render
    from chalicelib.web.views import _common

    months = _months(datetime.now(timezone.utc))
    month = raw.get("thang") or months[0]
    if month not in months:
        return render("public_stats.html", status=400, month=months[0], months=months, data=None, charts=None,
                      error="Chọn một tháng trong danh sách.", month_text=_month_text, **_common())
    data = stats.public_month(month)
    agencies = sorted(data.get("agencies") or [], key=lambda a: a.get("key") in (None, "-"))  # unassigned last
    data = {**data, "agencies": agencies}
    chart = charts.bar_chart(f"Tỉ lệ trả lời đúng hạn theo cơ quan, tháng {_month_text(month)} (%)", [
        {"label": a["name"], "value": _pct(a.get("on_time_pct"))} for a in agencies], unit="%", max_value=100,
        css_class="bars agencies")
    response = render("public_stats.html", month=month, months=months, data=data, chart=chart, error=None,
                      month_text=_month_text, pct=_pct, **_common())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _month_text(month: str) -> str:
    return f"{month[5:7]}/{month[:4]}"

