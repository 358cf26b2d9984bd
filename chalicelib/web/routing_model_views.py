"""The admin page of routing that learns, /staff/quan-tri/dinh-tuyen: the active model and its figures
on the fixed holdout, its confusion table, the history of training runs (promoted or refused, and
why), the corrections recorded lately; "Huấn luyện lại ngay" and per version "Quay lại phiên bản
này" for admins (supervisors read). Session cookie + CSRF token; plain forms, no script needed."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from chalice import Response

from chalicelib.domain.errors import Missing
from chalicelib.domain.permissions import require
from chalicelib.web import session as sessions
from chalicelib.web.staff_views import _page, redirect

PATH = "/staff/quan-tri/dinh-tuyen"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _confusion(figures: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for pair, n in (figures.get("confusion") or {}).items():
        truth, _, guess = pair.partition(" -> ")
        rows.append({"truth": truth, "guess": guess, "n": n})
    return rows


def _render(session: sessions.PageSession, status: int = 200, message: str | None = None) -> Response:
    from chalicelib.services import model_training
    from chalicelib.store import routing_model
    from chalicelib.store.reference import load_reference

    pointer = routing_model.pointer()
    runs = routing_model.history()
    asked = routing_model.pending_request()
    active = next((run for run in runs if run.version == pointer.version), None)
    if active is None and pointer.version:
        active = routing_model.run(pointer.version)
    holdout = (active.figures.get("holdout") or {}).get("new") if active else None
    return _page(session, "staff/admin_routing_model.html", status=status, message=message, pointer=pointer,
                 active=active, holdout=holdout, asked=asked, confusion=_confusion(holdout or {}), runs=runs,
                 recent=model_training.recent_corrections(_now()), recent_days=model_training.RECENT_DAYS,
                 categories=load_reference().categories, may_change=session.user.roles & {"admin"})


def page(headers: Mapping[str, str]) -> Response:
    session = sessions.page_session(headers)
    require(session.user, "routing_model_view")
    return _render(session)


def submit(headers: Mapping[str, str], form: Mapping[str, str]) -> Response:
    """'retrain' asks the retrain schedule for a run; 'rollback' makes `version` active again, 'keywords' turns the model off,
    provided the active model is still `expected` (what the page showed): else 409 with the page as it is now."""
    from chalicelib.services import model_training
    from chalicelib.store import routing_model

    session = sessions.page_session(headers)
    sessions.check_form_origin(headers, session, form)
    require(session.user, "routing_model")
    action = form.get("action") or ""
    if action == "retrain":
        model_training.request_retrain(session.user.actor, _now())
        done = ("Đã yêu cầu huấn luyện lại. Kết quả có trong lịch sử huấn luyện sau ít phút "
                f"(chậm nhất {model_training.RETRAIN_EVERY_MINUTES} phút).")
    elif action in ("rollback", "keywords"):
        version = (form.get("version") or "").strip() if action == "rollback" else None
        if action == "rollback" and not version:
            raise Missing()
        try:
            model_training.rollback(version, (form.get("expected") or "").strip() or None, session.user.actor, _now())
        except routing_model.ModelChanged as changed:
            return _render(session, status=409, message=changed.message_vi)
        done = f"Đã quay lại phiên bản {version}." if version else "Đã tắt mô hình: định tuyến chỉ theo từ khoá."
    else:
        raise Missing()
    return redirect(PATH, [*session.set_cookies, sessions.flash_cookie(done[:280])])
