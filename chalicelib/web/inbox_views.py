"""The staff inbox page (views as tabs with their counts, priority sections, rows as cards on a
phone), its live poll, and the ticket page's work block (assignee, new message, presence).

Without JavaScript everything is on the page and a "Tải lại" link refreshes it; /static/staff.js
polls GET /staff/inbox/counts (the session cookie; no-store) every 25 s to say "n phản ánh mới" and
keeps the counts current, and on a ticket page posts a presence heartbeat every 30 s.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import urlencode

from chalice import Response

from chalicelib.domain.clock import local_text
from chalicelib.domain.inbox import CHANNELS, VIEWS
from chalicelib.domain.lifecycle import Status
from chalicelib.web import session as sessions
from chalicelib.web.urls import url

JSON_PRIVATE = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff"}
DESK_ONLY_VIEWS = ("triage", "held")  # an agency officer has no triage


def tabs(user: Any, counts: Mapping[str, int], current: str) -> list[dict[str, Any]]:
    """The inbox's views as links, each with its count (None where not counted)."""
    return [{"view": view, "label": label, "count": counts.get(view), "current": view == current,
             "href": url("/staff/inbox") + (f"?view={view}" if view else "")}
            for view, label in VIEWS.items() if user.sees_every_agency or view not in DESK_ONLY_VIEWS]


def inbox_page(session: sessions.PageSession, query: Mapping[str, str], found: list[dict[str, Any]] | None = None,
               q: str = "") -> Any:
    """The inbox page for `query` (a search's `found` rows above it)."""
    from chalicelib.services import inbox
    from chalicelib.store.reference import load_reference
    from chalicelib.web.staff_views import _page

    shown_at = datetime.now(timezone.utc)
    page = inbox.page(session.user, query, shown_at)
    filters = page["filters"]
    next_link = url("/staff/inbox") + "?" + urlencode({**filters.as_query(), "after": page["next"]}) \
        if page["next"] else None
    ref = load_reference()
    reload_link = url("/staff/inbox") + ("?" + urlencode(filters.as_query()) if filters.as_query() else "")
    return _page(session, "staff/inbox.html", page=page, found=found, q=q, filters=filters, next_link=next_link,
                 statuses=list(Status), categories=list(ref.categories.values()), agencies=list(ref.agencies.values()),
                 channels=CHANNELS, views=VIEWS, tabs=tabs(session.user, page["counts"], filters.view),
                 counts=page["counts"], nav_counts=lambda: page["counts"],
                 shown_at=shown_at.isoformat(timespec="seconds"), shown_local=local_text(shown_at), reload_link=reload_link,
                 view_link=lambda view: url("/staff/inbox") + f"?view={view}")


def _json(body: Any, cookies: list[str] | None = None) -> Response:
    import json

    headers: dict[str, Any] = dict(JSON_PRIVATE)
    if cookies:
        headers["Set-Cookie"] = cookies
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=200, headers=headers)


def counts(headers: Mapping[str, str], query: Mapping[str, str]) -> Response:
    """The live poll: counts per view and tickets created since `since` (JSON; the session cookie).
    Raises Unauthenticated / ValidationFailed (the JSON route's guard answers them)."""
    from chalicelib.services import inbox

    session = sessions.page_session(headers)
    return _json(inbox.poll(session.user, query.get("since") or ""), session.set_cookies)


def presence(headers: Mapping[str, str], code: str, form: Mapping[str, str]) -> Response:
    """The ticket page's heartbeat (a form post with the CSRF token): who else has it open."""
    from chalicelib.services import inbox

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    return _json(inbox.heartbeat(session.user, code), session.set_cookies)
