"""The personal status link's page (/s/<token>): the ticket's public status, or a Vietnamese 404."""
from __future__ import annotations

from chalice import Response

from chalicelib.config import settings
from chalicelib.domain.clock import local_text
from chalicelib.domain.errors import NotFound, TooManyRequests
from chalicelib.web.pages import render

# The page is the holder's alone: not kept by caches, not indexed (Referrer-Policy no-referrer is
# on every page, so its address leaves with no link followed from it).
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def status_link_page(token: str, source_ip: str | None = None) -> Response:
    """The public status behind the link (200), 'not found' (404) or 'too many lookups today' (429)."""
    from chalicelib.services import status_links

    common = {"province": settings().province_name, "hotline": settings().hotline, "local": local_text}
    try:
        response = render("status_link.html", result=status_links.status(token, source_ip), **common)
    except NotFound:
        response = render("status_link.html", status=404, **common)
    except TooManyRequests as limited:
        response = render("status_link.html", status=429, limited=limited.message_vi, **common)
    response.headers.update(PRIVATE)
    return response
