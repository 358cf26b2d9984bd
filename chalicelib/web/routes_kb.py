"""The knowledge base's staff pages, /staff/hoi-dap (chalicelib/web/kb_views.py): the lists, the editor and its
workflow, version diffs, PDF sources, the gaps list; and the editor's upload script."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.http import json_api
from chalicelib.web.routes_common import ANY, form_body, lambda_context, staff_page

bp = Blueprint(__name__)


@bp.route("/staff/hoi-dap", methods=["GET"])
@staff_page
def kb_list() -> Response:
    from chalicelib.web import kb_views

    return kb_views.list_page(bp.current_request.headers, bp.current_request.query_params or {})


@bp.route("/staff/hoi-dap/bai-moi", methods=["GET", "POST"], content_types=ANY)
@staff_page
def kb_new() -> Response:
    from chalicelib.web import kb_views

    request = bp.current_request
    if request.method == "GET":
        return kb_views.new_page(request.headers)
    return kb_views.new_submit(request.headers, form_body())


@bp.route("/staff/hoi-dap/bai/{article_id}", methods=["GET", "POST"], content_types=ANY)
@staff_page
def kb_article(article_id: str) -> Response:
    from chalicelib.web import kb_views

    request = bp.current_request
    if request.method == "GET":
        return kb_views.article_page(request.headers, article_id)
    return kb_views.article_submit(request.headers, article_id, form_body())


@bp.route("/staff/hoi-dap/bai/{article_id}/so-sanh", methods=["GET"])
@staff_page
def kb_diff(article_id: str) -> Response:
    from chalicelib.web import kb_views

    return kb_views.diff_page(bp.current_request.headers, article_id, bp.current_request.query_params or {})


@bp.route("/staff/hoi-dap/bai/{article_id}/van-ban", methods=["GET"])
@staff_page
def kb_pdf(article_id: str) -> Response:
    from chalicelib.web import kb_views

    return kb_views.pdf_link(bp.current_request.headers, article_id)


@bp.route("/staff/hoi-dap/cau-hoi-chua-co", methods=["GET"])
@staff_page
def kb_gaps() -> Response:
    from chalicelib.web import kb_views

    return kb_views.gaps_page(bp.current_request.headers, bp.current_request.query_params or {})


@bp.route("/staff/hoi-dap/tai-len", methods=["POST"], content_types=ANY)
@json_api(lambda_context)
def kb_upload() -> Response:
    """A presigned POST for one PDF source (session cookie + CSRF token in the JSON body)."""
    from chalicelib.web import kb_views
    from chalicelib.web.api import parse_json_body

    request = bp.current_request
    return kb_views.upload_grant(request.headers, parse_json_body(request))


@bp.route("/static/kb_edit.js", methods=["GET"])
def kb_edit_script() -> Response:
    from chalicelib.web.pages import static_file

    return static_file("kb_edit.js", "application/javascript; charset=utf-8")
