"""The staff search page (/staff/search) and what the inbox's search box shows: a tracking code
goes to the ticket, a phone lists the caller's tickets (hotline roles), anything else is a
free-text search (chalicelib.services.search) shown as cards, newest first, a page at a time.

The query rides in POST bodies only (the form, and the "next page" button's hidden fields): a
name or a phone never lands in a URL or an access log.
"""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from chalice import Response

from chalicelib.domain.errors import SearchIndexRefused, ValidationFailed
from chalicelib.web import session as sessions

PRIVATE = {"Cache-Control": "no-store"}  # results can hold names and addresses


def _show(session: sessions.PageSession, q: str, status: int = 200, **context: Any) -> Response:
    from chalicelib.web.staff_views import _page

    context = {"results": None, "rows": None, "error": None, **context}
    response = _page(session, "staff/search.html", status=status, q=q, **context)
    response.headers.update(PRIVATE)
    return response


def _month_text(month: str) -> str:
    return f"{month[5:7]}/{month[:4]}"


def dispatch(session: sessions.PageSession, q: str, after: str | None = None, by_phone: bool = True) -> Response:
    """Runs the console's search for `q` and answers with the ticket (a code), the caller's tickets
    (a phone) or the results page; an empty, too short or refused query gets the page with why."""
    from chalicelib.services import console
    from chalicelib.web.staff_views import redirect

    try:
        result = console.search(session.user, q, by_phone=by_phone, after=after)
    except ValidationFailed as failed:
        messages = [e.vi for e in failed.errors]
        return _show(session, q, status=400, error=" ".join(messages) or failed.message_vi)
    except SearchIndexRefused as refused:
        return _show(session, q, status=503, error=refused.message_vi)
    if "code" in result:
        return redirect(f"/staff/tickets/{quote(result['code'])}", session.set_cookies)
    if "tickets" in result:
        return _show(session, q, rows=result["tickets"])
    found = result["results"]
    return _show(session, q, results=found, since=_month_text(found["since"]), after=after)


def page(headers: Mapping[str, str], form: Mapping[str, str] | None = None) -> Response:
    """GET: the empty search form; POST (the form, or its "next page" button): the results."""
    session = sessions.page_session(headers)
    if form is None:
        return _show(session, "")
    sessions.check_form_origin(headers, session, form)
    return dispatch(session, (form.get("q") or "").strip(), form.get("after") or None)


def api_results(found: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form of a results page: each excerpt as its text and the [start, end) of each match."""
    def marked(pieces: list[tuple[str, bool]] | None) -> dict[str, Any] | None:
        if pieces is None:
            return None
        text, marks, at = "", [], 0
        for piece, hit in pieces:
            if hit:
                marks.append([at, at + len(piece)])
            text += piece
            at += len(piece)
        return {"text": text, "marks": marks}

    return {"results": [{**card, "excerpt": marked(card["excerpt"]), "address": marked(card["address"]),
                         "reporter": marked(card["reporter"])} for card in found["tickets"]],
            "next": found["next"], "since": found["since"], "index_behind": found["index_behind"]}
