"""The public Q&A (chalicelib/web/hoidap_views.py): /hoi-dap (search by GET ?q=, never logged), a category's
articles, an article page; the suggestion endpoint the report form and the phone intake call while a question
is typed (POST JSON: the text never in a URL), and the script that calls it."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.http import JSON_UTF8, html_page, json_api
from chalicelib.web.routes_common import ANY, form_body, lambda_context, staff_page

bp = Blueprint(__name__)


@bp.route("/hoi-dap", methods=["GET"])
@html_page(lambda_context)
def hoidap_home() -> Response:
    from chalicelib.web import hoidap_views

    return hoidap_views.home(bp.current_request.query_params or {})


@bp.route("/hoi-dap/linh-vuc/{category}", methods=["GET"])
@html_page(lambda_context)
def hoidap_category(category: str) -> Response:
    from chalicelib.web import hoidap_views

    return hoidap_views.category(category)


@bp.route("/hoi-dap/{article_id}", methods=["GET"])
@html_page(lambda_context)
def hoidap_article(article_id: str) -> Response:
    from chalicelib.web import hoidap_views

    return hoidap_views.article(article_id)


@bp.route("/hoi-dap/{article_id}/van-ban", methods=["GET"])
@html_page(lambda_context)
def hoidap_source_pdf(article_id: str) -> Response:
    from chalicelib.web import hoidap_views

    return hoidap_views.source_pdf(article_id)


@bp.route("/api/v1/kb/suggest", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def kb_suggest() -> Response:
    from chalicelib.web import hoidap_views
    from chalicelib.web.api import parse_json_body

    return Response(hoidap_views.suggest(parse_json_body(bp.current_request)), headers=JSON_UTF8)


@bp.route("/static/kb.js", methods=["GET"])
def kb_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("kb.js", "application/javascript; charset=utf-8")


@bp.route("/staff/hoi-dap/tu-dong-tra-loi", methods=["GET", "POST"], content_types=ANY)
@staff_page
def kb_auto_answer() -> Response:
    """Supervisors: in which categories SMS/Zalo questions are answered from the knowledge base automatically."""
    from chalicelib.web import kb_console

    request = bp.current_request
    if request.method == "GET":
        return kb_console.auto_answer_page(request.headers)
    return kb_console.auto_answer_submit(request.headers, form_body())


@bp.route("/staff/hoi-dap/dung-nhieu", methods=["GET"])
@staff_page
def kb_most_used() -> Response:
    """Supervisors: a month's articles by how often they answered (?thang=yyyy-mm)."""
    from chalicelib.web import kb_console

    return kb_console.most_used_page(bp.current_request.headers, bp.current_request.query_params or {})
