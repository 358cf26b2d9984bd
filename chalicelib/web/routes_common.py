"""What the route blueprints (chalicelib/web/routes_*.py) share: the request and Lambda context being served,
the caller's address, form bodies, the staff pages' guard and the API's absolute URLs.

Cheap to import: what the helpers call is imported on first use, not at cold start."""
from __future__ import annotations

import functools
from typing import Any

from chalice import Blueprint
from chalice.app import Request

ANY = ["*/*"]  # content types are checked in the view, so a wrong one gets our 400, not a bare 415

# No routes of its own: app.py registers it with the others, and through it these helpers read the
# request and Lambda context of the app serving them (Chalice keeps both on the app, for every blueprint).
served = Blueprint(__name__)


def current_request() -> Request:
    return served.current_request


def lambda_context() -> Any:
    return served.lambda_context


def source_ip() -> str | None:
    return ((current_request().context or {}).get("identity") or {}).get("sourceIp")


def form_body() -> dict[str, str]:
    from chalicelib.web.pages import form_fields

    return form_fields(current_request().raw_body)


def _path() -> str:
    request = current_request()
    return request.path.format(**(request.uri_params or {}))


def staff_page(view: Any) -> Any:
    """Sign-in redirects and error pages, imported on the first staff request (not at cold start)."""
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.web.staff_views import staff_page as guard

        return guard(lambda_context, _path, lambda: current_request().headers)(view)(*args, **kwargs)
    return guarded


def _settings_base_url() -> str:
    from chalicelib.config import settings

    return settings().public_base_url.rstrip("/")


def base_url() -> str:
    """API Gateway says https in X-Forwarded-Proto; PUBLIC_BASE_URL (origin + base path) wins when configured."""
    from chalicelib.web.urls import base

    headers = current_request().headers
    return _settings_base_url() or (f"{headers.get('x-forwarded-proto', 'http')}://{headers.get('host', 'localhost')}"
                                   f"{base()}")


def notice_url() -> str:
    """The privacy notice's absolute address, as API answers link it."""
    return f"{base_url()}/rieng-tu"
