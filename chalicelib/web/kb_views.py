"""The staff pages of the knowledge base (/staff/hoi-dap): the article lists by status and agency, the
editor with its workflow buttons, the version history and diffs, the PDF source upload grant, the gaps
list and the month's most used articles. Session cookie + CSRF token, like every console page."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Mapping

from chalice import Response

from chalicelib.domain import kb as rules
from chalicelib.domain.errors import ValidationFailed
from chalicelib.web import session as sessions
from chalicelib.web.http import JSON_UTF8
from chalicelib.web.staff_views import _errors, _page, redirect


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _reference() -> Any:
    from chalicelib.store.reference import load_reference

    return load_reference()


def _upload_allow() -> dict[str, str]:
    from chalicelib.store.photos import upload_origin

    return {"connect-src": upload_origin()}


def list_page(headers: Mapping[str, str], query: Mapping[str, str]) -> Response:
    from chalicelib.services import kb

    session = sessions.page_session(headers)
    user = session.user
    status = query.get("trang-thai") or ""
    if status not in rules.STATUSES:
        status = rules.REVIEW if rules.may(user, "publish", None) else rules.DRAFT if user.agency else rules.PUBLISHED
    agencies = _reference().agencies
    officer_only = not (user.roles & {"supervisor", "admin", "operator"})
    # An officer's list opens on their own agency's articles; "Mọi cơ quan" (co-quan=) shows every agency's
    agency = query.get("co-quan") if "co-quan" in query else (user.agency if officer_only else None)
    agency = agency if agency in agencies else None
    rows = kb.staff_list(user, status, agency)
    month = kb.local_month(_now())
    used = kb.most_used(month)[:10] if rules.may(user, "publish", None) else []
    return _page(session, "staff/kb_list.html", rows=rows, kb_status=status, statuses=rules.STATUS_LABELS_VI,
                 agencies=agencies, agency=agency, categories=_reference().categories, kinds=rules.KINDS,
                 used=used, month=month, may_write=rules.may(user, "save", user.agency) or
                 bool(user.roles & {"supervisor", "admin"}))


def _editor(session: sessions.PageSession, article: dict[str, Any] | None, form: Mapping[str, Any],
            errors: dict[str, Any] | None = None, status: int = 200, message: str | None = None) -> Response:
    from chalicelib.services import kb

    ref = _reference()
    history = kb.history(session.user, article["id"]) if article else []
    officer_only = not (session.user.roles & {"supervisor", "admin"})
    actions = article["actions"] if article else [a for a in ("save", "submit", "publish")
                                                  if rules.may(session.user, a, session.user.agency if officer_only
                                                               else None)]
    return _page(session, "staff/kb_edit.html", status=status, allow=_upload_allow(), article=article,
                 form=form, errors=errors or {}, error=message, history=history, actions=actions,
                 action_labels=rules.ACTION_LABELS_VI, statuses=rules.STATUS_LABELS_VI, kinds=rules.KINDS,
                 categories=ref.categories, agencies=ref.agencies, officer_agency=session.user.agency
                 if officer_only else None)


def _form_of(article: dict[str, Any]) -> dict[str, Any]:
    source = article["source"]
    return {"kind": article["kind"], "title": article["title"], "questions": "\n".join(article["questions"]),
            "answer": article["answer"], "short_answer": article["short_answer"], "category": article["category"],
            "agency": article["agency"], "source_number": source["number"], "source_date": source["date"],
            "source_body": source["body"], "source_url": source["url"], "valid_from": article["valid_from"] or "",
            "valid_until": article["valid_until"] or "", "version": article["version"]}


def new_page(headers: Mapping[str, str]) -> Response:
    session = sessions.page_session(headers)
    return _editor(session, None, {"kind": "article"})


def new_submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    from chalicelib.services import kb

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    action = form.get("action") or "save"
    try:
        made = kb.create(session.user, form, _now(), action=action if action in rules.ACTION_PERMISSION else "save")
    except ValidationFailed as failed:
        return _editor(session, None, form, _errors(failed), status=400)
    return redirect(f"/staff/hoi-dap/bai/{made['id']}", [*session.set_cookies, sessions.flash_cookie(_done(action))])


def _done(action: str) -> str:
    return {"save": "Đã lưu bài.", "submit": "Đã gửi bài để giám sát duyệt.", "publish": "Đã đăng bài.",
            "return": "Đã trả bài lại để sửa.", "expire": "Bài đã thôi hiệu lực.",
            "supersede": "Đã đánh dấu bài bị thay thế."}.get(action, "Đã lưu.")


def article_page(headers: Mapping[str, str], article_id: str) -> Response:
    from chalicelib.services import kb

    session = sessions.page_session(headers)
    article = kb.article(article_id, user=session.user)
    return _editor(session, article, _form_of(article))


def article_submit(headers: Mapping[str, str], article_id: str, form: Mapping[str, str]) -> Response:
    """The editor's buttons: 'save' and 'submit' send the form's content; 'publish' too when the page
    holds the editor; 'return', 'expire' and 'supersede' change the status only. A stale version (409)
    re-renders the form with what was typed and the message."""
    from chalicelib.services import kb

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    article = kb.article(article_id, user=session.user)
    action = form.get("action") or "save"
    try:
        expected = int(form.get("version") or 0)
    except ValueError:
        expected = 0
    content = form if action in ("save", "submit", "publish") and form.get("title") is not None else None
    try:
        kb.save(session.user, article_id, expected, content, action, _now())
    except ValidationFailed as failed:
        return _editor(session, article, form, _errors(failed), status=400)
    except (rules.ArticleChanged, rules.IllegalTransition) as refused:
        kept = {**form, "version": form.get("version")}
        return _editor(session, article, kept, status=409, message=refused.message_vi)
    return redirect(f"/staff/hoi-dap/bai/{article_id}", [*session.set_cookies, sessions.flash_cookie(_done(action))])


def diff_page(headers: Mapping[str, str], article_id: str, query: Mapping[str, str]) -> Response:
    from chalicelib.services import kb

    session = sessions.page_session(headers)
    try:
        new = int(query.get("den") or 0)
        old = int(query.get("tu") or new - 1)
    except ValueError:
        raise rules.ArticleNotFound() from None
    compared = kb.version_diff(session.user, article_id, old, new)
    return _page(session, "staff/kb_diff.html", article_id=article_id, diff=compared)


def pdf_link(headers: Mapping[str, str], article_id: str) -> Response:
    from chalicelib.services import kb

    session = sessions.page_session(headers)
    return Response(body="", status_code=303, headers={"Location": kb.source_pdf_link(article_id, user=session.user),
                                                       "Cache-Control": "no-store"})


def upload_grant(headers: Mapping[str, str], body: Mapping[str, Any]) -> Response:
    """A presigned POST for a PDF source (JSON: csrf, content_type, size)."""
    from chalicelib.services import kb

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, {"csrf": body.get("csrf")})
    return Response(json.dumps(kb.pdf_upload(session.user, body)), headers=JSON_UTF8)


def gaps_page(headers: Mapping[str, str], query: Mapping[str, str]) -> Response:
    from chalicelib.services import kb

    session = sessions.page_session(headers)
    page = kb.gaps(session.user, query.get("sau") or None)
    return _page(session, "staff/kb_gaps.html", gaps=page["gaps"], next=page["next"],
                 categories=_reference().categories)
