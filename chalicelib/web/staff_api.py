"""The staff JSON API: the same use cases as the console pages, for integrations and scripts.
Bearer ID tokens only; every answer is JSON, every error the usual {error: {...}} body."""
from __future__ import annotations

from typing import Any, Mapping

from chalicelib.domain.permissions import StaffUser, require
from chalicelib.web.session import api_user


def user(headers: Mapping[str, str]) -> StaffUser:
    """Raises Unauthenticated (401) without a valid ID token of our pool."""
    return api_user(headers)


def admin(headers: Mapping[str, str]) -> StaffUser:
    """Raises Unauthenticated (401) or Forbidden (403) unless the caller is an admin."""
    caller = api_user(headers)
    require(caller, "edit_reference")
    return caller


def me(headers: Mapping[str, str]) -> dict[str, Any]:
    caller = api_user(headers)
    return {"email": caller.email, "name": caller.name, "roles": sorted(caller.roles), "agency": caller.agency}


def inbox(headers: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any]:
    from chalicelib.services import console

    caller = api_user(headers)
    if (query.get("q") or "").strip():
        return console.search(caller, query["q"], by_phone=False)  # a phone: POST /api/v1/staff/callers
    page = console.inbox(caller, query)
    return {"tickets": page["tickets"], "next": page["next"], "filters": page["filters"].as_query()}


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def ticket(headers: Mapping[str, str], code: str) -> dict[str, Any]:
    from chalicelib.services import console

    view = console.ticket_page(api_user(headers), code)
    t = view["ticket"]
    return {"tracking_code": t.tracking_code, "version": t.version, "status": t.status, "text": t.text,
            "summary": view["summary"], "reporter": view["reporter"], "answer": t.answer,
            "merged_into": t.merged_into, "related_to": view["related_to"],
            "followers": [f.tracking_code for f in t.followers or []],
            "consents": {"publish": bool(t.consent_publish), "contact": bool(t.consent_contact),
                         "notice_version": t.notice_version},
            "timeline": [{key: _iso(value) for key, value in entry.items()} for entry in view["timeline"]],
            "callbacks": [{"id": c.sk, "due_at": c.due_at.isoformat(), "reason": c.reason, "operator": c.operator,
                           "open": c.status is not None, "outcome": c.outcome} for c in view["callbacks"]],
            "actions": sorted(action for action, ok in view["can"].items() if ok)}


def act(caller: StaffUser, code: str, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
    from chalicelib.services import console

    form = {key: str(value) for key, value in body.items() if value is not None}
    message = console.act(caller, code, action, form)
    return {"ok": True, "message": message}


def caller(caller: StaffUser, phone: str) -> dict[str, Any]:
    from chalicelib.services import console

    return {"tickets": console.caller_history(caller, phone)}


def search(caller: StaffUser, body: Mapping[str, Any]) -> dict[str, Any]:
    """The console's search box as JSON: {code}, {tickets} (a caller's, hotline roles) or the
    free-text {results, next, since, index_behind} (chalicelib.web.search_views.api_results)."""
    from chalicelib.services import console
    from chalicelib.web.search_views import api_results

    after = body.get("after")
    found = console.search(caller, str(body.get("q") or ""), after=str(after) if after else None)
    return api_results(found["results"]) if "results" in found else found


def intake(caller: StaffUser, body: Mapping[str, Any]) -> dict[str, Any]:
    from chalicelib.services import console

    return console.phone_intake(caller, {key: str(value) for key, value in body.items() if value is not None})
