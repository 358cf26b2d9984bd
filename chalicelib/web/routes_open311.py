"""Open311 GeoReport v2 (chalicelib/web/open311.py): /open311/v2/<resource>.json|.xml"""
from __future__ import annotations

import functools
from typing import Any

from chalice import Blueprint, Response

from chalicelib.web.routes_common import ANY, base_url, form_body, lambda_context, notice_url

bp = Blueprint(__name__)


def open311_endpoint(view: Any) -> Any:
    """The spec's error handling, imported on the first Open311 request (not at cold start)."""
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.web.open311 import endpoint

        return endpoint(lambda_context)(view)(*args, **kwargs)
    return guarded


@bp.route("/open311/v2/{resource}", methods=["GET", "POST"], content_types=ANY)
@open311_endpoint
def open311_resource(resource: str) -> Response:
    from chalicelib.domain.open311 import Open311Error
    from chalicelib.services import open311
    from chalicelib.web.open311 import respond, split_format

    request = bp.current_request
    name, fmt = split_format(resource)
    query = request.query_params or {}
    if request.method == "POST" and name == "requests":
        return respond("created", fmt, open311.create(form_body(), request.headers.get("idempotency-key"), notice_url(),
                                                      base_url()))
    if request.method == "GET" and name == "discovery":
        return respond("discovery", fmt, open311.discovery(base_url()))
    if request.method == "GET" and name == "services":
        return respond("services", fmt, open311.service_list())
    if request.method == "GET" and name == "requests":
        rows, more = open311.requests(query)
        response = respond("requests", fmt, rows)
        if more:  # the next page (RFC 8288; relative to this URL, so any base path works): the body stays the spec's
            response.headers["Link"] = f'<?{more}>; rel="next"'
        return response
    if request.method == "GET" and name == "servicerequestupdates":
        return respond("updates", fmt, open311.updates(query))
    raise Open311Error(404, [("404", f"No resource {name} / Không có tài nguyên {name}")])


@bp.route("/open311/v2/{collection}/{item}", methods=["GET"])
@open311_endpoint
def open311_item(collection: str, item: str) -> Response:
    from chalicelib.domain.open311 import Open311Error
    from chalicelib.services import open311
    from chalicelib.web.open311 import respond, split_format

    name, fmt = split_format(item)
    if collection == "services":
        return respond("service_definition", fmt, open311.service_definition(name))
    if collection == "requests":
        return respond("requests", fmt, open311.one_request(name))
    if collection == "tokens":
        return respond("tokens", fmt, open311.token(name))
    raise Open311Error(404, [("404", f"No resource {collection} / Không có tài nguyên {collection}")])
