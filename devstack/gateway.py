"""API Gateway's part of a request, locally: the stage prefix, and our 404 page for what the API lacks.

On AWS the site is https://<id>.execute-api.<region>.amazonaws.com/api/ (or a custom domain at /).
API Gateway takes the stage off to find the route, keeps the path the client used in
`requestContext.path`, and answers a path or a method the API does not have itself, with the
gateway response infra/api.json gives it (our 404 page); a path outside the stage gets its own 403. `chalice local` serves at / and answers
those with a JSON 403; StageGateway does what API Gateway does, under any base path.
"""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalGateway


def normalise_base_path(value: str | None) -> str:
    """'' for the root; otherwise '/api' style: one leading slash, none at the end."""
    stripped = (value or "").strip().strip("/")
    return f"/{stripped}" if stripped else ""


def outside_stage_response() -> dict[str, Any]:
    """What execute-api answers for a path outside every stage (e.g. the browser's automatic /favicon.ico at
    the origin root): API Gateway's own 403, which no gateway response of the API can change."""
    return {"statusCode": 403, "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {},
            "body": '{"message":"Forbidden"}'}


def not_found_response(base_path: str) -> dict[str, Any]:
    """The 404 API Gateway sends for a path or method the API lacks (infra/api.json), as a proxy response.
    Its links are under the base path, as on execute-api (with a custom domain they go to that domain)."""
    from chalicelib.config import settings
    from chalicelib.web.pages import not_found_html

    config = settings()
    html = not_found_html(config.province_name, config.hotline, home=base_path)
    return {"statusCode": 404, "headers": {"Content-Type": "text/html; charset=utf-8"}, "multiValueHeaders": {},
            "body": html}


class StageGateway(LocalGateway):
    """chalice local's gateway with API Gateway's routing around it (`base_path` '' or '/api'), and
    with `dev`, the local stack's own pages (devstack/clock.py's /dev/lich, devstack/stringee.py's
    /dev/goi-thu: one object or a list of them), which AWS never has."""

    def __init__(self, app_object: Any, config: Any, base_path: str = "", stage: str = "api", dev: Any = None) -> None:
        super().__init__(app_object, config)
        self.base_path = normalise_base_path(base_path)
        self.stage = stage
        self.dev = [page for page in (dev if isinstance(dev, (list, tuple)) else [dev]) if page is not None]

    def route_path(self, path: str) -> str | None:
        """The route part of a client's path ('/api/tra-cuu?x' -> '/tra-cuu?x'), None outside the base path."""
        bare, mark, query = path.partition("?")
        if self.base_path:
            if bare != self.base_path and not bare.startswith(self.base_path + "/"):
                return None
            bare = bare[len(self.base_path):] or "/"
        return bare + mark + query

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        route_path = self.route_path(path)
        if route_path is None:
            return outside_stage_response()
        for page in self.dev:
            if page.handles(route_path):
                return page.handle(method, route_path, headers, body, self.base_path)
        context = self._generate_lambda_context()
        try:
            event = self._generate_lambda_event(method, route_path, headers, body)
        except ValueError:  # no such route
            return not_found_response(self.base_path)
        route = event["requestContext"]["resourcePath"]
        if method == "OPTIONS" and not self._has_user_defined_options_method(event):
            return {"statusCode": 200, "headers": self._autogen_options_headers(event), "multiValueHeaders": {},
                    "body": None}
        if method not in self._app_object.routes[route]:  # API Gateway has no such method either
            return not_found_response(self.base_path)
        event["requestContext"].update(path=path.split("?", 1)[0], stage=self.stage)
        event, context = self._authorizer.authorize(route_path, event, context)
        return self._app_object(event, context)


class StageRequestHandler(ChaliceRequestHandler):
    """chalice local's HTTP handler, with StageGateway in front of the app."""

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any,
                 base_path: str = "", dev: Any = None) -> None:
        self.local_gateway = StageGateway(app_object, config, base_path, dev=dev)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)
