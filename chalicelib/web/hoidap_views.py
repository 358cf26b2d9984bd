"""The public Q&A (/hoi-dap, chalicelib/web/routes_hoidap.py): a search form, the categories with their
articles, one article with its source and date, and the valid announcements on top. No JavaScript needed;
the report form's and the phone intake's suggestions read `suggest` (a POST JSON endpoint: the question
typed never travels in a URL). The search words of /hoi-dap?q= are never logged (nothing here logs)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from chalice import Response

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.web.pages import render
from chalicelib.web.urls import url

MAX_QUERY = 300        # characters of a question searched (longer input is cut, never refused on a page)
MAX_SUGGEST_TEXT = 2000  # characters the suggestion endpoint accepts (a report's text is at most this long)
SUGGESTIONS = 3
RESULTS = 10


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _common() -> dict[str, Any]:
    from chalicelib.web.views import _common as citizen_common

    return citizen_common()


def _date(value: Any) -> str:
    """An ISO date (or time) as people read it: 05/03/2025."""
    text = str(value or "")[:10]
    try:
        return datetime.strptime(text, "%Y-%m-%d").strftime("%d/%m/%Y")
    except ValueError:
        return text


def announcements(now: datetime | None = None) -> list[dict[str, Any]]:
    """The valid announcements as pages show them (the cached index: no table read). A failure to
    read them never breaks the page that shows them."""
    try:
        from chalicelib.services import kb

        items = kb.announcements(now or _now())
    except Exception:  # noqa: BLE001 - the page comes first; the announcements are an extra
        from chalicelib.observability import logger

        logger().warning("announcements unavailable")
        return []
    return [{**a, "link": url(f"/hoi-dap/{a['id']}"), "from": _date(a.get("valid_from")),
             "until": _date(a.get("valid_until"))} for a in items]


def _hit_view(hit: Mapping[str, Any]) -> dict[str, Any]:
    source = hit.get("source") or {}
    return {**hit, "link": url(f"/hoi-dap/{hit['id']}"), "source_date": _date(source.get("date"))}


def search(text: str, category: str | None = None, agency: str | None = None, limit: int = RESULTS,
           now: datetime | None = None) -> list[dict[str, Any]]:
    """Published articles valid now that answer `text`, best first, with their public link."""
    from chalicelib.services import kb

    text = " ".join((text or "").split())[:MAX_QUERY]
    if not text:
        return []
    return [_hit_view(h) for h in kb.search(text, public=True, category=category or None, agency=agency or None,
                                            limit=limit, now=now or _now())]


def _categories() -> list[dict[str, Any]]:
    from chalicelib.services import kb

    return [{"id": cid, "name": name, "count": n, "link": url(f"/hoi-dap/linh-vuc/{cid}")}
            for cid, name, n in kb.categories_with_articles()]


def _missing() -> Response:
    return render("hoidap_missing.html", status=404, **_common())


def home(query: Mapping[str, str]) -> Response:
    """/hoi-dap: the search form (GET ?q=), its results, the categories with their articles, the announcements."""
    q = " ".join((query.get("q") or "").split())[:MAX_QUERY]
    results = search(q) if q else None
    return render("hoidap.html", q=q, results=results, categories=_categories(), notices=announcements(),
                  **_common())


def category(category_id: str) -> Response:
    """/hoi-dap/linh-vuc/<id>: every published article of one category."""
    from chalicelib.services import kb
    from chalicelib.store.reference import load_reference

    ref = load_reference()
    found = ref.categories.get(category_id)
    if found is None:
        return _missing()
    items = [_hit_view(a) for a in kb.by_category(category_id)]
    return render("hoidap_category.html", category=found, articles=items, notices=announcements(), **_common())


def article(article_id: str) -> Response:
    """/hoi-dap/<id>: one published, valid article: the question, the answer, its source and date."""
    from chalicelib.services import kb
    from chalicelib.store.reference import load_reference

    from chalicelib.domain.errors import NotFound
    from chalicelib.domain.kb import ArticleNotFound

    try:
        found = kb.article(article_id[:80])
    except (NotFound, ArticleNotFound):  # never published, withdrawn or past its validity: the same page
        return _missing()
    ref = load_reference()
    source = dict(found.get("source") or {})
    category = ref.categories.get(str(found.get("category") or ""))
    agency = ref.agencies.get(str(found.get("agency") or ""))
    view = {**found, "source": source, "source_date": _date(source.get("date")),
            "category_name": category.name if category else None, "agency_name": agency.name if agency else None,
            "updated": _date(found.get("published_at") or found.get("updated_at") or found.get("valid_from")),
            "valid_until_text": _date(found.get("valid_until")) if found.get("valid_until") else None}
    link = source.get("url") or ""
    safe_link = link if str(link).startswith(("https://", "http://", "/")) else ""
    pdf_link = url(f"/hoi-dap/{found['id']}/van-ban") if source.get("pdf") else None
    return render("hoidap_article.html", a=view, source_link=safe_link, pdf_link=pdf_link, category_link=url(
        f"/hoi-dap/linh-vuc/{found.get('category')}") if category else None, **_common())


def source_pdf(article_id: str) -> Response:
    """/hoi-dap/<id>/van-ban: a 303 to a five-minute link to the PDF of a published, valid article's
    source document; the article's missing page otherwise."""
    from chalicelib.domain.errors import NotFound
    from chalicelib.domain.kb import ArticleNotFound
    from chalicelib.services import kb

    try:
        link = kb.source_pdf_link(article_id[:80])
    except (NotFound, ArticleNotFound):
        return _missing()
    return Response(body="", status_code=303, headers={"Location": link, "Cache-Control": "no-store",
                                                       "Referrer-Policy": "no-referrer"})


def suggest(body: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The suggestion endpoint's answer: at most three articles for the question typed so far
    ({"text", "category"?}); short texts get none. The text is bounded and never logged."""
    text = body.get("text")
    category_id = body.get("category")
    if not isinstance(text, str) or len(text) > MAX_SUGGEST_TEXT:
        raise ValidationFailed([FieldError("text", f"Nội dung là chữ, tối đa {MAX_SUGGEST_TEXT} ký tự.",
                                           f"text: a string of at most {MAX_SUGGEST_TEXT} characters.")])
    if category_id is not None and (not isinstance(category_id, str) or len(category_id) > 40):
        raise ValidationFailed([FieldError("category", "Lĩnh vực không hợp lệ.", "category: a category id.")])
    if len(text.split()) < 2:
        return {"articles": []}
    hits = search(text, category=category_id or None, limit=SUGGESTIONS, now=now)
    keys = ("id", "version", "title", "question", "answer", "short_answer", "category")
    return {"articles": [{**{k: h.get(k) for k in keys}, "url": h["link"]} for h in hits]}
