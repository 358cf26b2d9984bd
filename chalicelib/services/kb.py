"""Use cases of the knowledge base: articles and their workflow, the published index readers search,
gaps, uses, the auto-answer switch, and the daily expiry.

Readers (the console, /hoi-dap, the form's suggestions, auto-answers) never query articles: they
search the published index (chalicelib/domain/kb_search.py), built whenever the set of live articles
changes and kept per container; a container looks at the index's pointer at most once a minute
(chalicelib/store/kb.py), so a publish reaches every reader within 60 s. Validity is checked at read
time, so an article past its valid-until leaves every list at once, before the daily schedule
marks it expired.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any, Mapping

from chalicelib.domain import kb as rules
from chalicelib.domain.errors import AlreadyExists, FieldError, Forbidden, ValidationFailed
from chalicelib.domain.permissions import StaffUser, allowed, require
from chalicelib.observability import logger
from chalicelib.store import kb as store

GAPS_PAGE = 50
PUBLIC_PDF_LINK_S = 300     # a citizen's link to an article's PDF source works five minutes
STAFF_PDF_LINK_S = 3600
MAX_GAP = 1000


def _reference() -> Any:
    from chalicelib.store.reference import load_reference

    return load_reference()


def _public_path(article_id: str) -> str:
    from chalicelib.web.urls import url

    return url(f"/hoi-dap/{article_id}")


def _content(item: Any) -> dict[str, Any]:
    """An article version as readers and the index see it."""
    return {"id": item.article_id, "version": int(item.version), "kind": item.kind, "title": item.title,
            "questions": list(item.questions or []), "answer": item.answer,
            "short_answer": item.short_answer or rules.short_answer(item.answer), "category": item.category,
            "agency": item.agency, "valid_from": item.valid_from, "valid_until": item.valid_until,
            "status": rules.PUBLISHED,
            "source": {"number": item.source_number or "", "date": item.source_date or "",
                       "body": item.source_body or "", "url": item.source_url or "",
                       "pdf": bool(item.source_pdf)},
            "updated_at": item.updated_at.isoformat()}


# The published index


def rebuild_index(now: datetime | None = None) -> dict[str, Any]:
    """Builds the index of every live article and stores it (chalicelib/store/kb.py); returns the
    document. Publishing, expiring and withdrawing call it; so does a reader finding none stored."""
    from chalicelib.domain import kb_search

    seq, found = store.live_versions()
    articles = [_content(item) for item in sorted(found, key=lambda i: i.article_id)]
    document = {"seq": seq, "built_at": (now or datetime.now(timezone.utc)).isoformat(),
                "articles": {a["id"]: a for a in articles}, "search": kb_search.build_index(articles)}
    store.store_index(seq, document)
    logger().info("kb index built", extra={"articles": len(articles), "seq": seq})
    return document


def _index() -> dict[str, Any]:
    return store.cached_index(rebuild_index)


def _hit(article: Mapping[str, Any], score: float = 0.0, confidence: float = 0.0, text: str = "") -> dict[str, Any]:
    hit = dict(article)
    hit.update(score=round(score, 4), confidence=round(confidence, 4), url=_public_path(article["id"]),
               question=_best_question(article.get("questions") or [], text))
    return hit


def _best_question(questions: list[str], text: str) -> str:
    """The phrasing sharing most words with `text` (the first one when nothing is typed)."""
    from chalicelib.domain.text import fold

    if not questions:
        return ""
    words = set(fold(text).split())
    return max(questions, key=lambda q: (len(words & set(fold(q).split())), -questions.index(q)))


def search(text: str, *, public: bool, category: str | None = None, agency: str | None = None, limit: int = 5,
           now: datetime) -> list[dict[str, Any]]:
    """The published articles valid at `now` best matching `text`: dicts {id, version, title, question,
    answer, short_answer, source, category, agency, score, confidence, url}. `public` readers and staff
    see the same articles (drafts are never searched)."""
    from chalicelib.domain import kb_search

    document = _index()
    articles = document.get("articles") or {}
    found = kb_search.search(document.get("search") or {}, text, category=category, agency=agency, now=now,
                             limit=limit)
    return [_hit(articles[article_id], score, confidence, text) for article_id, score, confidence in found
            if article_id in articles and rules.valid_at(articles[article_id]["valid_from"],
                                                        articles[article_id]["valid_until"], now)]


def _live(now: datetime) -> list[dict[str, Any]]:
    return [a for a in (_index().get("articles") or {}).values() if rules.valid_at(a["valid_from"], a["valid_until"], now)]


def by_category(category: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The valid published articles (not announcements) of a category, by title."""
    now = now or datetime.now(timezone.utc)
    return sorted((_hit(a) for a in _live(now) if a["category"] == category and a["kind"] == rules.ARTICLE),
                  key=lambda a: a["title"])


def categories_with_articles(now: datetime | None = None) -> list[tuple[str, str, int]]:
    """[(category id, name, number of valid published articles)] in the reference data's order."""
    counts: dict[str, int] = {}
    for a in _live(now or datetime.now(timezone.utc)):
        if a["kind"] == rules.ARTICLE:
            counts[a["category"]] = counts.get(a["category"], 0) + 1
    return [(c.id, c.name, counts[c.id]) for c in _reference().categories.values() if counts.get(c.id)]


def announcements(now: datetime) -> list[dict[str, Any]]:
    """The announcements valid at `now`, newest valid-from first."""
    return sorted((_hit(a) for a in _live(now) if a["kind"] == rules.ANNOUNCEMENT),
                  key=lambda a: (a["valid_from"] or "", a["id"]), reverse=True)


def article(article_id: str, *, user: StaffUser | None = None, now: datetime | None = None) -> dict[str, Any]:
    """A citizen (no `user`) reads the live version of a valid published article; staff read the
    working copy of any article they may see, with `live` (the published version's content or None)
    and `actions` (what they may do). Raises ArticleNotFound."""
    now = now or datetime.now(timezone.utc)
    if user is None:
        found = (_index().get("articles") or {}).get(article_id)
        if found is None or not rules.valid_at(found["valid_from"], found["valid_until"], now):
            raise rules.ArticleNotFound()
        return _hit(found)
    require(user, "kb_view")
    item = store.get(article_id) if rules.is_id(article_id) else None
    if item is None:
        raise rules.ArticleNotFound()
    if not rules.may_see(user, item.agency, item.status):
        # Staff who may not read unpublished work read the live version, when there is one.
        live = store.version(article_id, int(item.live_version)) if item.live_version else None
        if live is None:
            raise rules.ArticleNotFound()
        view = _staff_view(user, live)
        view.update(status=rules.PUBLISHED, live_version=item.live_version, actions=[])
        return view
    return _staff_view(user, item)


def _staff_view(user: StaffUser, item: Any) -> dict[str, Any]:
    view = _content(item)
    live_version = getattr(item, "live_version", None)
    view.update(status=item.status, owner=item.owner, updated_by=item.updated_by, live_version=live_version,
                source_pdf=item.source_pdf, url=_public_path(item.article_id),
                actions=rules.actions_for(user, item.status, item.agency, live=live_version is not None))
    return view


def source_pdf_link(article_id: str, *, user: StaffUser | None = None) -> str:
    """A short-lived link to an article's PDF source (the live version's for citizens); raises
    ArticleNotFound when there is none."""
    if user is None:
        live = (_index().get("articles") or {}).get(article_id)
        if live is not None and not rules.valid_at(live["valid_from"], live["valid_until"], datetime.now(timezone.utc)):
            live = None   # withdrawn or past its validity: as for the article page
        item = store.version(article_id, live["version"]) if live and live["source"].get("pdf") else None
    else:
        require(user, "kb_view")
        item = store.get(article_id) if rules.is_id(article_id) else None
        if item is not None and not rules.may_see(user, item.agency, item.status):
            item = store.version(article_id, int(item.live_version)) if item.live_version else None
    if item is None or not item.source_pdf:
        raise rules.ArticleNotFound()
    return store.pdf_url(item.source_pdf, PUBLIC_PDF_LINK_S if user is None else STAFF_PDF_LINK_S)


# Staff: drafting, the workflow, history


def staff_list(user: StaffUser, status: str, agency: str | None = None) -> list[dict[str, Any]]:
    """The articles in `status` (working copy), newest change first; `agency` narrows it (an officer's
    page defaults to their own agency)."""
    require(user, "kb_view")
    if status not in rules.STATUSES:
        status = rules.PUBLISHED
    rows = [{"id": m.article_id, "title": m.title, "agency": m.agency, "category": m.category, "kind": m.kind,
             "version": int(m.version or 0), "valid_until": m.valid_until, "updated_at": m.updated_at,
             "live_version": int(m.n) if m.n else None,
             "editable": rules.may(user, "save", m.agency)}
            for m in store.listing(status) if (not agency or m.agency == agency)
            and rules.may_see(user, m.agency, status)]
    return sorted(rows, key=lambda r: r["updated_at"] or datetime.min.replace(tzinfo=timezone.utc), reverse=True)


def _validated(user: StaffUser, form: Mapping[str, Any]) -> rules.Draft:
    ref = _reference()
    officer_only = not (user.roles & {"supervisor", "admin"})
    return rules.validate(form, ref.categories.keys(), ref.agencies.keys(),
                          user_agency=user.agency if officer_only else None)


def _pdf(form: Mapping[str, Any], article_id: str, current: str | None) -> str | None:
    """The article's PDF after this save: a new upload kept, the current one unless removed."""
    upload = str(form.get("source_pdf_upload") or "")
    if upload:
        if not store.is_pdf_upload(upload):
            raise ValidationFailed([FieldError("source_pdf", "Tệp tải lên không hợp lệ.", "Invalid upload.")])
        kept = store.keep_pdf(upload, article_id)
        if kept is None:
            raise ValidationFailed([FieldError("source_pdf", "Chưa nhận được tệp PDF hợp lệ, vui lòng tải lại.",
                                               "No valid PDF arrived; please upload it again.")])
        return kept
    if str(form.get("source_pdf_remove") or "") == "1":
        return None
    return current


def create(user: StaffUser, form: Mapping[str, Any], now: datetime, *, article_id: str | None = None,
           action: str = "save") -> dict[str, Any]:
    """Stores a new article at version 1 (a draft; 'submit' sends it to review, 'publish' is for
    supervisors). Raises Forbidden, ValidationFailed, IllegalTransition, ArticleChanged (id taken)."""
    draft = _validated(user, form)
    if not rules.may(user, action, draft.agency) or not rules.may(user, "save", draft.agency):
        raise Forbidden()
    article_id = article_id or rules.new_id(draft.title, secrets.token_hex(2))
    if not rules.is_id(article_id):
        raise ValidationFailed([FieldError("id", "Mã bài không hợp lệ.", "Invalid article id.")])
    status = rules.next_status(rules.DRAFT, action)
    fields = {**draft.fields(), "source_pdf": _pdf(form, article_id, None)}
    item = store.create(article_id, store.Change(fields, status, action, user.actor,
                                                 "publish" if status == rules.PUBLISHED else None), user.email, now)
    if status == rules.PUBLISHED:
        rebuild_index(now)
    return _staff_view(user, item)


def save(user: StaffUser, article_id: str, expected_version: int, form: Mapping[str, Any] | None, action: str,
         now: datetime) -> dict[str, Any]:
    """Applies `action` to an article, with the form's content when given (a new version either way):
    save, submit, return, publish, expire, supersede. Raises ArticleNotFound, Forbidden,
    ValidationFailed, IllegalTransition, ArticleChanged (someone saved since `expected_version`)."""
    current = store.get(article_id) if rules.is_id(article_id) else None
    if current is None or not rules.may_see(user, current.agency, current.status):
        raise rules.ArticleNotFound()
    if action not in rules.ACTION_PERMISSION or not rules.may(user, action, current.agency):
        raise Forbidden()
    if current.version != expected_version:
        raise rules.ArticleChanged()
    fields: dict[str, Any] = {}
    if form is not None:
        draft = _validated(user, form)
        if not rules.may(user, "save", draft.agency):
            raise Forbidden()   # an officer cannot hand an article to another agency
        fields = {**draft.fields(), "source_pdf": _pdf(form, article_id, current.source_pdf)}
    status = rules.next_status(current.status, action, live=current.live_version is not None)
    live = {"publish": "publish", "expire": "withdraw", "supersede": "withdraw"}.get(action)
    live_version = current.live_version
    item = store.update(current, expected_version, store.Change(fields, status, action, user.actor, live), now)
    if live:
        rebuild_index(now)
    if action == "supersede" and live_version is not None:
        _notify_owner(item, int(live_version), now, superseded=True)
    return _staff_view(user, item)


def history(user: StaffUser, article_id: str) -> list[dict[str, Any]]:
    """Every version, newest first: {version, status, action, by, at, title}; staff who may not read
    unpublished work (rules.may_see_unpublished) get the published versions only."""
    require(user, "kb_view")
    current = store.get(article_id) if rules.is_id(article_id) else None
    if current is None or not rules.may_see(user, current.agency, current.status) and not current.live_version:
        raise rules.ArticleNotFound()
    everything = rules.may_see_unpublished(user, current.agency)
    return [{"version": int(v.version), "status": v.status, "action": v.action, "by": v.updated_by,
             "at": v.updated_at, "title": v.title, "live": v.version == current.live_version}
            for v in store.versions(article_id) if everything or v.action == "publish"]


def version_diff(user: StaffUser, article_id: str, old: int, new: int) -> dict[str, Any]:
    """What changed from version `old` to `new`: {old, new, changes} (chalicelib.domain.kb.diff)."""
    require(user, "kb_view")
    current = store.get(article_id) if rules.is_id(article_id) else None
    if current is None:
        raise rules.ArticleNotFound()
    before, after = store.version(article_id, old), store.version(article_id, new)
    if before is None or after is None:
        raise rules.ArticleNotFound()
    if not rules.may_see_unpublished(user, current.agency) and not (before.action == after.action == "publish"):
        raise rules.ArticleNotFound()   # others compare published versions only
    fields = [*store.CONTENT_FIELDS]
    return {"old": old, "new": new, "title": current.title,
            "changes": rules.diff({f: getattr(before, f) for f in fields}, {f: getattr(after, f) for f in fields})}


def pdf_upload(user: StaffUser, body: Mapping[str, Any]) -> dict[str, Any]:
    """A presigned POST for one PDF source (≤ 20 MB, application/pdf): {url, fields, key}. Raises
    Forbidden or ValidationFailed."""
    require(user, "kb_edit")
    content_type = str(body.get("content_type") or "").lower()
    try:
        size = int(body.get("size") or 0)
    except (TypeError, ValueError):
        size = 0
    if content_type != rules.PDF_TYPE:
        raise ValidationFailed([FieldError("source_pdf", "Chỉ nhận tệp PDF.", "Only PDF files.")])
    if not 0 < size <= rules.PDF_MAX_BYTES:
        raise ValidationFailed([FieldError("source_pdf", "Tệp PDF tối đa 20 MB.", "A PDF must be at most 20 MB.")])
    return store.presigned_pdf(rules.PDF_MAX_BYTES, rules.PDF_TYPE)


def load_published(articles: list[Mapping[str, Any]], actor: str, now: datetime) -> int:
    """Stores each article (with its own `id`) as published version 1 unless it exists, then builds
    the index once; returns how many were added (the demo seed: devstack/seed.py)."""
    ref = _reference()
    added = 0
    for source in articles:
        form = dict(source)
        src = form.get("source") or {}
        form.update(source_number=src.get("number"), source_date=src.get("date"), source_body=src.get("body"),
                    source_url=src.get("url"))
        draft = rules.validate(form, ref.categories.keys(), ref.agencies.keys())
        fields = {**draft.fields(), "source_pdf": None}
        try:
            store.create(str(source["id"]), store.Change(fields, rules.PUBLISHED, "publish", actor, "publish"),
                         actor.removeprefix("staff:"), now)
            added += 1
        except rules.ArticleChanged:
            continue   # already there
    rebuild_index(now)
    return added


# The daily expiry


def expire_due(now: datetime) -> dict[str, int]:
    """The `kb_expiry` schedule: every live article whose valid-until day has passed is withdrawn
    (status expired when it was the working copy) and its owner e-mailed once per version.
    Returns {expired, emails}."""
    today = rules.local_day(now)
    due = [m for m in store.live_markers() if m.valid_until and m.valid_until < today]
    expired = emails = 0
    for marker in due:
        item = store.get(marker.article_id)
        if item is None or item.live_version is None:
            continue
        emails += _notify_owner(item, int(item.live_version), now)
        status = rules.EXPIRED if item.status == rules.PUBLISHED else item.status
        try:
            store.update(item, int(item.version),
                         store.Change({}, status, "expire", "system:kb_expiry", "withdraw"), now)
            expired += 1
        except rules.ArticleChanged:
            continue   # edited this very moment: tomorrow's run takes it (search already hides it)
    if expired:
        rebuild_index(now)
    return {"expired": expired, "emails": emails}


def _notify_owner(item: Any, live_version: int, now: datetime, superseded: bool = False) -> int:
    """Queues the owner's e-mail about the expired (or superseded) article once (its key is fixed per
    version)."""
    from chalicelib import queues
    from chalicelib.config import settings
    from chalicelib.notify.staff import Contact, messages
    from chalicelib.store import outbound

    if "@" not in (item.owner or ""):
        return 0   # loaded articles (the demo seed) have no person to tell
    link = settings().public_url(f"/staff/hoi-dap/{item.article_id}")
    if superseded:
        subject = f"Bài hỏi đáp bị thay thế: {item.title}"[:200]
        text = (f"Bài “{item.title}” đã được giám sát viên đánh dấu bị thay thế và không còn được gợi ý cho tổng "
                "đài viên và người dân. Nếu cần, hãy cập nhật nội dung theo văn bản mới rồi gửi duyệt lại.")
    else:
        subject = f"Bài hỏi đáp hết hiệu lực: {item.title}"[:200]
        text = (f"Bài “{item.title}” đã hết hiệu lực từ ngày {item.valid_until} và không còn được gợi ý cho tổng "
                "đài viên và người dân. Vui lòng cập nhật nội dung, hiệu lực rồi gửi duyệt lại.")
    kind = "superseded" if superseded else "expired"
    sent = 0
    for index, message in enumerate(messages(
            "kb_expired", Contact(email=item.owner), subject, text,
            "", now, template="kb_expired", link=link, title=item.title, valid_until=item.valid_until)):
        message.sk = f"OUT#kb-{kind}#{live_version}#{index}"
        try:
            outbound.add_unattached(message, f"OUTBOX#kb#{item.article_id}")
        except AlreadyExists:
            continue
        queues.send_notifications([(message.pk, message.sk)])
        sent += 1
    return sent


# Gaps, uses, auto-answers


def add_gap(user: StaffUser, code: str | None, text: str, now: datetime, category: str | None = None) -> None:
    """Notes a question no article answers (the supervisors' gaps list)."""
    from chalicelib.domain.text import nfc

    require(user, "kb_gap")
    text = nfc(text)[:MAX_GAP]
    if not text:
        raise ValidationFailed([FieldError("text", "Cần nội dung câu hỏi.", "The question is required.")])
    from chalicelib.domain.retention import add_months

    # Kept no longer than a ticket of the category keeps its personal data (the retention schedule);
    # erasing the ticket deletes it at once (services.privacy).
    expires_at = add_months(now, _reference().retention.months_for(category))
    store.add_gap(text, code or None, category, user.actor, now, expires_at=expires_at)


def gaps(user: StaffUser, after: str | None = None) -> dict[str, Any]:
    """A page of gaps, newest first: {gaps: [{text, code, category, by, at, key}], next}."""
    require(user, "kb_gaps")
    items, following = store.gaps(after or None, GAPS_PAGE)
    return {"gaps": [{"text": g.text, "code": g.code, "category": g.category, "by": g.actor, "at": g.updated_at,
                      "key": g.sk} for g in items], "next": following}


def record_use(article_id: str, version: int, code: str | None, actor: str, now: datetime) -> None:
    """Counts one use of an article in an answer (the month's most used)."""
    live = (_index().get("articles") or {}).get(article_id)
    title = live["title"] if live else article_id
    store.count_use(local_month(now), article_id, title)


def local_month(now: datetime) -> str:
    """The month (yyyy-mm) in Vietnam: use counts are kept by the month people there live in."""
    from chalicelib.domain.clock import VN_TZ

    return now.astimezone(VN_TZ).strftime("%Y-%m")


def most_used(month: str) -> list[dict[str, Any]]:
    """[{id, title, uses}] of `month` (yyyy-mm), most used first."""
    return sorted(({"id": u.article_id, "title": u.title, "uses": int(u.n or 0)} for u in store.uses(month)),
                  key=lambda u: (-u["uses"], u["title"] or ""))


def auto_answer_categories() -> frozenset[str]:
    return store.auto_answer()[0]


def is_confidential(category: str | None) -> bool:
    """Whether `category` is confidential in the reference data (never answered automatically)."""
    found = _reference().categories.get(category or "")
    return bool(found is not None and found.confidential)


def auto_answer_settings() -> tuple[frozenset[str], int]:
    """(categories answered automatically, the switch's version for set_auto_answer)."""
    return store.auto_answer()


def set_auto_answer(user: StaffUser, category: str, on: bool, expected_version: int,
                    now: datetime | None = None) -> int:
    """Turns automatic answers on or off for `category`; returns the switch's new version. Raises
    Forbidden, ValidationFailed (unknown category) or Conflict (changed since `expected_version`)."""
    from chalicelib.domain.errors import Conflict

    if not allowed(user, "kb_auto_answer"):
        raise Forbidden()
    if category not in _reference().categories:
        raise ValidationFailed([FieldError("category", "Lĩnh vực không hợp lệ.", "Unknown category.")])
    if on and is_confidential(category):
        raise ValidationFailed([FieldError(
            "category", "Lĩnh vực bảo mật không được trả lời tự động: tổng đài viên phải xem từng phản ánh.",
            "A confidential category cannot be answered automatically: an operator must read each report.")])
    current, version = store.auto_answer()
    if version != expected_version:
        raise Conflict()
    wanted = current | {category} if on else current - {category}
    return store.set_auto_answer(frozenset(wanted), expected_version, user.actor, now or datetime.now(timezone.utc))
