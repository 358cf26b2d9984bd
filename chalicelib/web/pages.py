"""Jinja2 pages (autoescaped). The environment is built on first render, off the cold-start path."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from chalice import Response

TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML = {"Content-Type": "text/html; charset=utf-8",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
                                   "frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer"}


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from chalicelib.web.urls import url

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.globals["url"] = url  # every link, form and script: {{ url('/tra-cuu') }}, under the request's base path
    return env


def render(template: str, status: int = 200, allow: dict[str, str] | None = None, **context: Any) -> Response:
    """Returns an HTML response of `template` rendered with `context`. `allow` adds sources to the
    Content-Security-Policy (e.g. {"img-src": <the photo bucket's origin>})."""
    body = _environment().get_template(template).render(**context)
    headers = dict(HTML)
    if allow:
        extra = "; ".join(f"{directive} 'self' {source}" for directive, source in allow.items())
        headers["Content-Security-Policy"] = f"{HTML['Content-Security-Policy']}; {extra}"
    return Response(body=body, status_code=status, headers=headers)


def not_found_html(province: str, hotline: str, home: str | None = None) -> str:
    """Our 404 page ("Không tìm thấy trang"), as API Gateway answers paths the app does not have.
    Its links are under `home` (a base URL such as 'https://1022.example.vn' or '/api'); without
    it, under this request's base path."""
    context: dict[str, Any] = {"province": province, "hotline": hotline}
    if home is not None:
        context["url"] = lambda path: home.rstrip("/") + path
    return _environment().get_template("not_found.html").render(**context)


def form_fields(raw_body: bytes | None) -> dict[str, str]:
    """Returns the fields of an application/x-www-form-urlencoded body (last value wins)."""
    parsed = parse_qs((raw_body or b"").decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in parsed.items()}


STATIC = Path(__file__).resolve().parent / "static"


def static_file(name: str, content_type: str) -> Response:
    """A file shipped in chalicelib/web/static, cacheable for an hour."""
    return Response(body=(STATIC / name).read_text(encoding="utf-8"), status_code=200,
                    headers={"Content-Type": content_type, "Cache-Control": "public, max-age=3600",
                             "X-Content-Type-Options": "nosniff"})
