"""The knowledge base in the staff console: the articles matching a ticket's text beside its reply box,
"Dùng bài này" without JavaScript (the form comes back with the article's answer after the typed text),
"Không có bài phù hợp" (a gap for supervisors), and the valid announcements on every console page."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

from chalicelib.observability import logger

SUGGESTIONS = 3
TICKET_TEXT = 500        # characters of a ticket's text searched (its opening says what it asks)
_USE = re.compile(r"([A-Za-z0-9_.-]{1,80}):([0-9]{1,6})")


def _date(value: Any) -> str:
    text = str(value or "")[:10]
    try:
        return datetime.strptime(text, "%Y-%m-%d").strftime("%d/%m/%Y")
    except ValueError:
        return text


def insert_text(hit: Mapping[str, Any]) -> str:
    """What "Dùng bài này" puts in the reply: the article's answer and the document it rests on."""
    source = hit.get("source") or {}
    cited = ", ".join(part for part in (str(source.get("number") or ""),
                                        f"ngày {_date(source.get('date'))}" if source.get("date") else "",
                                        str(source.get("body") or "")) if part)
    answer = str(hit.get("answer") or "").strip()
    return f"{answer}\n(Căn cứ: {cited}.)" if cited else answer


def suggestions(ticket: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """The published articles valid now that best answer the ticket's text (its category and agency
    ranked higher); none when the search is unavailable: the ticket page comes first."""
    from chalicelib.web.urls import url

    text = " ".join(str(ticket.text or "").split())[:TICKET_TEXT]
    if not text or ticket.anonymised_at:
        return []
    try:
        from chalicelib.services import kb

        hits = kb.search(text, public=False, category=ticket.category, agency=ticket.agency, limit=SUGGESTIONS,
                         now=now or datetime.now(timezone.utc))
    except Exception as exc:  # noqa: BLE001 - suggestions are an aid, never a reason the page fails
        logger().warning("knowledge base suggestions unavailable", extra={"error_type": type(exc).__name__})
        return []
    return [{**h, "use": f"{h['id']}:{h['version']}", "insert": insert_text(h), "link": url(f"/hoi-dap/{h['id']}")}
            for h in hits]


def parse_use(value: str | None) -> tuple[str, int] | None:
    """"<article id>:<version>" as the reply form carries it, or None."""
    found = _USE.fullmatch((value or "").strip())
    return (found.group(1), int(found.group(2))) if found else None


def with_article(form: dict[str, str], hits: list[dict[str, Any]]) -> dict[str, str]:
    """The reply form sent by "Dùng bài này" without JavaScript: the typed text kept, the article's
    answer after it, and the article remembered for the reply's timeline event. Nothing is sent."""
    chosen = next((h for h in hits if h["use"] == (form.get("kb_use") or "")), None)
    if chosen is None:
        return form
    typed = (form.get("text") or "").rstrip()
    return {**form, "text": "\n\n".join(part for part in (typed, chosen["insert"]) if part),
            "kb_article": chosen["use"]}


def add_gap(user: Any, code: str, now: datetime | None = None) -> str:
    """"Không có bài phù hợp": the ticket's question, personal data masked, to the supervisors' gaps list."""
    from chalicelib.domain.permissions import require
    from chalicelib.domain.redact import redact
    from chalicelib.services import console, kb

    require(user, "view")
    ticket = console.load(user, code)

    names = [ticket.reporter_name] if ticket.reporter_name else []
    text = redact(" ".join(str(ticket.text or "").split())[:TICKET_TEXT], names)
    kb.add_gap(user, ticket.tracking_code, text, now or datetime.now(timezone.utc), category=ticket.category)
    return "Đã ghi nhận: câu hỏi chưa có bài hỏi đáp phù hợp (giám sát viên sẽ xem để bổ sung)."


def announcements() -> list[dict[str, Any]]:
    from chalicelib.web.hoidap_views import announcements as valid

    return valid()


# The supervisors' switch: in which categories an SMS/Zalo question is answered automatically


def auto_answer_page(headers: Mapping[str, str], message: str | None = None, status: int = 200) -> Any:
    """/staff/hoi-dap/tu-dong-tra-loi: each category with its switch (supervisors and admins)."""
    from chalicelib.domain.permissions import require
    from chalicelib.services import kb
    from chalicelib.store.reference import load_reference
    from chalicelib.web import session as sessions
    from chalicelib.web.staff_views import _page

    session = sessions.page_session(headers)
    require(session.user, "kb_auto_answer")
    on, version = kb.auto_answer_settings()
    counts = {cid: n for cid, _, n in kb.categories_with_articles()}
    # Confidential categories are never answered automatically (an operator reads each report): not offered.
    rows = [{"id": c.id, "name": c.name, "on": c.id in on, "articles": counts.get(c.id, 0)}
            for c in load_reference().categories.values() if not c.confidential]
    return _page(session, "staff/kb_auto_answer.html", status=status, rows=rows, switch_version=version,
                 error=message)


def auto_answer_submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Any:
    """One category switched on or off, over the switch's version the page showed (a change made
    meanwhile is refused with the current state shown again)."""
    from chalicelib.domain.errors import Conflict, ValidationFailed
    from chalicelib.services import kb
    from chalicelib.store.reference import load_reference
    from chalicelib.web import session as sessions
    from chalicelib.web.staff_views import redirect

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    category, on = form.get("category") or "", form.get("on") == "1"
    try:
        version = int(form.get("switch_version") or "-1")
    except ValueError:
        version = -1
    try:
        kb.set_auto_answer(session.user, category, on, version)
    except Conflict:
        return auto_answer_page(headers, "Người khác vừa thay đổi cài đặt này; hãy xem lại rồi bấm lại.", 409)
    except ValidationFailed as failed:
        return auto_answer_page(headers, " ".join(e.vi for e in failed.errors) or "Lĩnh vực không hợp lệ.",
                                400)
    found = load_reference().categories.get(category)
    name = found.name if found else category
    message = (f"Đã bật trả lời tự động cho lĩnh vực {name}." if on
               else f"Đã tắt trả lời tự động cho lĩnh vực {name}.")
    return redirect("/staff/hoi-dap/tu-dong-tra-loi", [*session.set_cookies, sessions.flash_cookie(message)])


# Supervisors: the articles that answered most, month by month


def most_used_page(headers: Mapping[str, str], query: Mapping[str, str]) -> Any:
    """/staff/hoi-dap/dung-nhieu?thang=yyyy-mm: the month's articles by uses (operators' replies and answers
    written from an article, and automatic answers), with the months before and after."""
    from chalicelib.domain.permissions import require
    from chalicelib.services import kb
    from chalicelib.web import session as sessions
    from chalicelib.web.staff_views import _page

    session = sessions.page_session(headers)
    require(session.user, "kb_gaps")
    this_month = kb.local_month(datetime.now(timezone.utc))
    month = query.get("thang") or this_month
    if not re.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])", month):
        month = this_month
    year, number = int(month[:4]), int(month[5:])
    before = f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"
    after = f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"
    rows = kb.most_used(month)
    return _page(session, "staff/kb_most_used.html", rows=rows, month=month, before=before,
                 after=after if after <= this_month else None, total=sum(r["uses"] for r in rows))
