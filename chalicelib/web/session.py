"""Staff sessions over HTTP: where the ID token comes from, cookies, and cross-site request checks.

Pages: the ID token rides in an HttpOnly, Secure, SameSite=Strict cookie scoped to the console's
path (/staff under the site's base path: /api/staff on the execute-api URL), next
to a refresh-token cookie (a silent refresh when the 15-minute ID token runs out; a refresh token
revoked by a sign-out, a lock or a role change sends the person to sign in again) and a random
CSRF token that every form posts back (double submit; compared in constant time). The JSON API
takes only `Authorization: Bearer <ID token>`: no cookie is ever accepted there, so a forged
cross-site request carries nothing.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any, Mapping
from urllib.parse import quote, unquote

from chalicelib.domain.errors import Forbidden, Unauthenticated
from chalicelib.domain.permissions import StaffUser
from chalicelib.web.urls import url

ID_COOKIE, REFRESH_COOKIE, CSRF_COOKIE, FLASH_COOKIE = "hl_id", "hl_refresh", "hl_csrf", "hl_flash"
REFRESH_MAX_AGE = 12 * 3600


class CsrfRejected(Forbidden):
    message_vi = "Phiên làm việc của biểu mẫu không hợp lệ. Vui lòng tải lại trang và thử lại."
    message_en = "This form's session is invalid. Reload the page and try again."


def cookies(headers: Mapping[str, str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie") or "")
    except Exception:  # a malformed Cookie header is no session, not a crash
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _attributes() -> str:
    return f"Path={url('/staff')}; HttpOnly; Secure; SameSite=Strict"


def set_cookie(name: str, value: str, max_age: int | None = None) -> str:
    age = f"; Max-Age={max_age}" if max_age is not None else ""
    return f"{name}={value}; {_attributes()}{age}"


def clear_cookie(name: str) -> str:
    return f"{name}=; {_attributes()}; Max-Age=0"


def flash_cookie(message: str) -> str:
    return set_cookie(FLASH_COOKIE, quote(message, safe=""), max_age=60)


def flash_of(jar: Mapping[str, str]) -> str | None:
    value = jar.get(FLASH_COOKIE)
    return unquote(value)[:300] if value else None


def session_cookies(id_token: str, refresh_token: str | None, csrf: str | None = None) -> list[str]:
    """The cookies of a fresh sign-in (a new CSRF token unless one is kept)."""
    values = [set_cookie(ID_COOKIE, id_token), set_cookie(CSRF_COOKIE, csrf or secrets.token_urlsafe(24))]
    if refresh_token:
        values.append(set_cookie(REFRESH_COOKIE, refresh_token, max_age=REFRESH_MAX_AGE))
    return values


def signed_out_cookies() -> list[str]:
    return [clear_cookie(name) for name in (ID_COOKIE, REFRESH_COOKIE, CSRF_COOKIE, FLASH_COOKIE)]


def bearer(headers: Mapping[str, str]) -> str | None:
    value = (headers.get("authorization") or "").strip()
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def api_user(headers: Mapping[str, str]) -> StaffUser:
    """The JSON API's caller, from the bearer token only. Raises Unauthenticated."""
    from chalicelib import identity

    return identity.verify(bearer(headers))


@dataclass
class PageSession:
    """The staff member of a page request, and cookies to send back (a refreshed token, a cleared flash)."""

    user: StaffUser
    csrf: str
    flash: str | None = None
    set_cookies: list[str] = field(default_factory=list)


def page_session(headers: Mapping[str, str]) -> PageSession:
    """Verifies the session cookie (refreshing an expired ID token once with the refresh cookie).
    Raises Unauthenticated."""
    from chalicelib import identity

    jar = cookies(headers)
    outgoing: list[str] = []
    try:
        user = identity.verify(jar.get(ID_COOKIE))
    except Unauthenticated as expired:
        if not (expired.expired and jar.get(REFRESH_COOKIE)):
            raise
        fresh = identity.refresh(jar[REFRESH_COOKIE])
        assert fresh.id_token is not None
        user = identity.verify(fresh.id_token)
        outgoing.append(set_cookie(ID_COOKIE, fresh.id_token))
    csrf = jar.get(CSRF_COOKIE) or ""
    flash = flash_of(jar)
    if flash:
        outgoing.append(clear_cookie(FLASH_COOKIE))
    return PageSession(user, csrf, flash, outgoing)


def check_form_origin(headers: Mapping[str, str], session: PageSession, form: Mapping[str, Any]) -> None:
    """Raises CsrfRejected unless the form carries the session's CSRF token and the browser did
    not mark the request cross-site (SameSite=Strict already keeps the cookies off those)."""
    if (headers.get("sec-fetch-site") or "").lower() == "cross-site":
        raise CsrfRejected()
    given = str(form.get("csrf") or "")
    if not session.csrf or not hmac.compare_digest(session.csrf.encode(), given.encode()):
        raise CsrfRejected()
