"""Where the site lives: every URL the app emits starts with the request's base path.

API Gateway serves a REST API at https://<id>.execute-api.<region>.amazonaws.com/<stage>/ and,
with a custom domain and an empty base-path mapping, at https://<domain>/. The routes never see
that prefix (Chalice's `request.path` is the route template), but `requestContext.path` is the
path the client used; the base path is what precedes the route's own segments. It is set once
per request (the app's middleware) and read by templates (`url('/tra-cuu')`), redirects, the
staff cookies' Path and the JavaScript.
"""
from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any, Mapping

_BASE: ContextVar[str] = ContextVar("base_path", default="")
_SEGMENT = re.compile(r"(/[A-Za-z0-9._~-]+)*")  # a plain path prefix, nothing a browser would reinterpret


def base_path_of(client_path: str, route: str, uri_params: Mapping[str, Any] | None = None) -> str:
    """Returns the prefix before the route in the path the client used ('' at the domain root,
    '/api' under the stage), never ending in '/'. Segments are counted rather than compared,
    so a percent-encoded parameter in the client's path does not matter."""
    concrete = route.format(**(uri_params or {}))
    route_segments = [part for part in concrete.split("/") if part]
    client_segments = [part for part in (client_path or "").split("?", 1)[0].split("/") if part]
    if len(client_segments) < len(route_segments):
        return ""
    kept = client_segments[: len(client_segments) - len(route_segments)]
    base = "".join("/" + part for part in kept)
    return base if _SEGMENT.fullmatch(base) else ""


def use_base(base: str) -> Any:
    """Sets this request's base path; returns the token that `reset_base` takes."""
    return _BASE.set(base if _SEGMENT.fullmatch(base) else "")


def reset_base(token: Any) -> None:
    _BASE.reset(token)


def base() -> str:
    """This request's base path ('' or '/api')."""
    return _BASE.get()


def url(path: str) -> str:
    """The path a browser should use for the app's route `path` ('/staff/inbox' -> '/api/staff/inbox')."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"not a route path: {path!r}")
    return _BASE.get() + path


_SAFE_TARGET = re.compile(r"/staff/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")


def staff_target(target: str | None, default: str = "/staff/inbox") -> str:
    """A sign-in's `next`: a staff route path (no base path) or `default`. Nothing that could leave
    the staff console: no scheme, no '//', no backslash, no '..' segment, no control characters."""
    target = target or ""
    path = target.split("?", 1)[0]
    if not _SAFE_TARGET.fullmatch(target) or "//" in path or ".." in path.split("/") or "%2e" in path.lower():
        return default
    return target
