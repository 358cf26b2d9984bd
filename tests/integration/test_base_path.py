"""The site works wherever API Gateway serves it: at a custom domain's root and under the stage
prefix of the execute-api URL (/api/). Requests go through devstack's StageGateway (API Gateway's
routing: prefix off for the route, the client's path kept in requestContext.path, our 404 for
what the API lacks) with a cookie jar that honours Path, as a browser does. A crawler follows
every link and form of the citizen and staff pages and checks every URL the app emits."""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html import unescape
from typing import Any, Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import ROOT, unique_phone

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_URLS = re.compile(r'\b(href|action|src|data-uploads)="([^"]*)"')
# A Vietnamese mobile (0[35789] + 8 digits) or landline (02 + 9 digits) number, national or +84, once
# the URL is decoded and the separators people type (spaces, dots, dashes, brackets) are taken out.
_PHONE = re.compile(r"(?<!\d)(?:84|0)(?:[35789]\d{8}|2\d{9})(?!\d)")


def phones_in(url: str) -> list[str]:
    """The phone numbers `url` (or an access log line) carries, however they are spelled or encoded."""
    from urllib.parse import unquote_plus

    return _PHONE.findall(re.sub(r"[\s.\-()+]", "", unquote_plus(unquote_plus(url))))


@dataclass
class Site:
    """A browser-ish client: keeps cookies by Path, records every URL the app emits."""

    gateway: Any
    base: str
    jar: dict[str, tuple[str, str]] = field(default_factory=dict)
    emitted: list[tuple[str, str]] = field(default_factory=list)  # (where, url)
    requested: list[str] = field(default_factory=list)  # what an access log would keep: method and URL

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        from chalice.test import HTTPResponse

        self.requested.append(f"{method} {path}")
        bare = path.split("?", 1)[0]
        sent = "; ".join(f"{name}={value}" for name, (value, scope) in self.jar.items()
                         if bare == scope or bare.startswith(scope.rstrip("/") + "/"))
        headers = {"Cookie": sent} if sent else {}
        body = urlencode(form).encode() if form is not None else b""
        if form is not None:
            headers.update(FORM)
        response = HTTPResponse.create_from_dict(self.gateway.handle_request(method, path, headers, body))
        self._keep_cookies(response.headers.get("Set-Cookie"))
        if "Location" in response.headers:
            self.emitted.append((f"{method} {path} Location", response.headers["Location"]))
        if response.headers.get("Content-Type", "").startswith("text/html"):
            for attribute, value in _URLS.findall(response.body.decode()):
                self.emitted.append((f"{method} {path} {attribute}", unescape(value)))
        return response

    def _keep_cookies(self, values: Any) -> None:
        for value in ([values] if isinstance(values, str) else values or []):
            pair, *attributes = [part.strip() for part in value.split(";")]
            name, _, content = pair.partition("=")
            scope = next((a.split("=", 1)[1] for a in attributes if a.lower().startswith("path=")), "/")
            if "Max-Age=0" in attributes:
                self.jar.pop(name, None)
            else:
                self.jar[name] = (content, scope)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Any:
        return self.request("POST", path, form)

    def page(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.body.decode()


@pytest.fixture(params=["", "/api"], ids=["at-root", "under-api"])
def site(stack: Any, request: pytest.FixtureRequest) -> Iterator[Site]:
    from chalice.cli.factory import CLIFactory

    import app
    from devstack.gateway import StageGateway

    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="dev")
    yield Site(StageGateway(app.app, config, request.param), request.param)


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return unescape(match.group(1))


def _action(html: str, marker: str) -> str:
    """The action of the first form after `marker` in the page."""
    match = re.search(r'<form[^>]*action="([^"]*)"', html[html.index(marker):])
    assert match, marker
    return unescape(match.group(1))


def _crawl(site: Site, start: list[str], limit: int = 60) -> set[str]:
    """GETs every same-site page reachable from `start` by links and GET forms; returns the paths."""
    seen: set[str] = set()
    queue = deque(start)
    while queue and len(seen) < limit:
        target = queue.popleft().split("#", 1)[0]
        if target in seen or not target.startswith("/"):
            continue
        seen.add(target)
        response = site.get(target)
        assert response.status_code < 500, target
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            continue
        for attribute, value in _URLS.findall(response.body.decode()):
            value = unescape(value)
            if attribute == "href" or (attribute == "src" and value.endswith(".js")):
                queue.append(value)
    return seen


def _assert_no_phone_in_any_url(site: Site) -> None:
    """No URL the pages emitted (links, forms, scripts, redirects) and none this client requested
    carries a phone number: phones travel in request bodies only, so no access log keeps them."""
    assert site.emitted and site.requested
    assert not [(where, value) for where, value in site.emitted if phones_in(value)]
    assert not [line for line in site.requested if phones_in(line)]


def _assert_all_under_base(site: Site) -> None:
    _assert_no_phone_in_any_url(site)
    assert site.emitted
    for where, value in site.emitted:
        if urlsplit(value).scheme in ("http", "https"):
            continue  # photos on the bucket's own origin
        assert value.startswith(site.base + "/") and not value.startswith("//"), (where, value)


def test_every_url_on_the_citizen_pages_is_under_the_base_path(site: Site) -> None:
    # Given the citizen form, at the root or under /api/
    form = site.page(site.base + "/")
    assert _action(form, "<main>") == site.base + "/"
    assert f'data-uploads="{site.base}/api/v1/uploads"' in form
    # When a citizen sends two reports of the same thing and follows the first instead of a third
    fields = {"description": "Ổ gà lớn trước chợ Long Hoa, xe máy dễ té ngã.", "category": "giao-thong",
              "area": "long-hoa", "phone": unique_phone(), "form_token": _field(form, "form_token")}
    confirmation = site.post(_action(form, "<main>"), {**fields, "confirm_new": "1"})
    code = re.search(r'id="tracking-code">([^<]+)<', confirmation.body.decode()).group(1)
    again = site.post(site.base + "/", {**fields, "phone": unique_phone(),
                                         "form_token": _field(site.page(site.base + "/"), "form_token")})
    duplicates = again.body.decode()
    assert code in duplicates
    followed = site.post(_action(duplicates, "<main>"), {"code": code, "phone": unique_phone()})
    assert followed.status_code == 200 and code in followed.body.decode()
    # ... and browses every page a link or a search leads to
    pages = _crawl(site, [site.base + "/", f"{site.base}/tra-cuu?code={code}&phone_last4=0000",
                          site.base + "/cong-khai"])
    assert {site.base + "/tra-cuu", site.base + "/cong-khai", site.base + "/static/report.js"} <= pages
    # Then every link, form, script and redirect the app emitted stays under the base path
    _assert_all_under_base(site)


def _sign_in(site: Site, email: str, asked: str = "/staff/inbox") -> Any:
    from devstack.seed import DEMO_PASSWORD

    redirect = site.get(site.base + asked)
    assert redirect.status_code == 303
    assert redirect.headers["Location"] == f"{site.base}/staff/sign-in?{urlencode({'next': asked})}"
    page = site.page(redirect.headers["Location"])
    assert _field(page, "next") == asked
    return site.post(_action(page, "<main>"), {"email": email, "password": DEMO_PASSWORD, "next": asked})


def test_staff_sign_in_every_console_page_an_action_and_sign_out_under_the_base_path(site: Site,
                                                                                    staff: Any) -> None:
    code_response = site.post(site.base + "/", {
        "description": "Đèn đường khu phố 2 phường Tân Ninh tắt cả tuần.", "category": "chieu-sang",
        "area": "tan-ninh", "phone": unique_phone(), "confirm_new": "1",
        "form_token": _field(site.page(site.base + "/"), "form_token")})
    code = re.search(r'id="tracking-code">([^<]+)<', code_response.body.decode()).group(1)
    # Given an admin who asked for a ticket before signing in
    signed_in = _sign_in(site, "quantri@demo.1022.vn", f"/staff/tickets/{code}")
    # Then she lands on it, with session cookies the browser sends to the console's pages only
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == f"{site.base}/staff/tickets/{code}"
    assert {name: scope for name, (_, scope) in site.jar.items()} == {
        name: site.base + "/staff" for name in ("hl_id", "hl_csrf", "hl_refresh")}
    ticket = site.page(signed_in.headers["Location"])
    assert site.get(site.base + "/staff").headers["Location"] == site.base + "/staff/inbox"
    # When she works: a note on the ticket, then every console page and what it links to
    noted = site.post(_action(ticket, "<summary>Ghi chú nội bộ"),
                      {"csrf": site.jar["hl_csrf"][0], "version": _field(ticket, "version"), "action": "note",
                       "text": "Đã gọi điện lực phường."})
    assert noted.status_code == 303 and noted.headers["Location"] == f"{site.base}/staff/tickets/{code}"
    assert "Đã lưu ghi chú nội bộ." in site.page(noted.headers["Location"])
    pages = _crawl(site, [site.base + "/staff/inbox", f"{site.base}/staff/inbox?q={code}",
                          site.base + "/staff/intake", site.base + "/staff/templates",
                          site.base + "/staff/accounts", site.base + "/staff/integrators"])
    assert f"{site.base}/staff/tickets/{code}" in pages and len(pages) >= 8
    # ... and looks a caller up by phone, from the inbox's search box and the intake page's history form
    csrf = site.jar["hl_csrf"][0]
    intake = site.page(site.base + "/staff/intake")
    history = site.post(_action(intake, "Lịch sử người gọi"), {"csrf": csrf, "lookup": "1", "phone": "0912 345 678"})
    assert history.status_code == 200 and ('id="caller-history"' in history.body.decode()
                                           or 'id="no-history"' in history.body.decode())
    found = site.post(_action(site.page(site.base + "/staff/inbox"), 'role="search"'),
                      {"csrf": csrf, "q": "0912.345.678"})
    assert found.status_code == 200 and "Kết quả tìm kiếm" in found.body.decode()
    # ... and signs out with the form in the page's header
    inbox = site.page(site.base + "/staff/inbox")
    out = site.post(_action(inbox, 'class="who"'), {"csrf": site.jar["hl_csrf"][0]})
    # Then the cookies are gone (cleared on the same Path) and the console asks for a sign-in again
    assert out.headers["Location"] == site.base + "/staff/sign-in" and not site.jar
    assert site.get(site.base + "/staff/inbox").status_code == 303
    _assert_all_under_base(site)


@pytest.mark.parametrize("asked", ["//evil.example/staff/inbox", "https://evil.example/", "/staff/../../evil",
                                   "/staff/%2e%2e/%2e%2e/evil", "/staff\\..\\evil", "/tra-cuu", "javascript:alert(1)",
                                   "/staff//evil.example"])
def test_a_next_parameter_never_leads_outside_the_console(site: Site, staff: Any, asked: str) -> None:
    from devstack.seed import DEMO_PASSWORD

    page = site.page(f"{site.base}/staff/sign-in?{urlencode({'next': asked})}")
    assert _field(page, "next") == "/staff/inbox"
    done = site.post(site.base + "/staff/sign-in", {"email": "tongdai@demo.1022.vn", "password": DEMO_PASSWORD,
                                                    "next": asked})
    assert done.status_code == 303 and done.headers["Location"] == site.base + "/staff/inbox"


def test_what_the_api_lacks_gets_our_404_page_and_the_client_path_reaches_the_app(site: Site) -> None:
    from chalicelib.config import settings
    from chalicelib.web.pages import not_found_html

    ours = not_found_html(settings().province_name, settings().hotline, home=site.base)
    for method, path in [("GET", site.base + "/favicon.ico"),
                         ("GET", site.base + "/khong-co"), ("DELETE", site.base + "/tra-cuu"),
                         ("GET", site.base + "/staff/tickets")]:
        response = site.request(method, path)
        assert response.status_code == 404 and response.body.decode() == ours, (method, path)
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    if site.base:  # outside the stage there is no site: execute-api's own 403
        for path in ("/favicon.ico", "/tra-cuu"):
            assert site.get(path).status_code == 403 and site.get(path).body == b'{"message":"Forbidden"}'
        assert site.get("/api/tra-cuu").status_code == 200
        assert site.get("/api").status_code == 200  # the stage URL without its trailing slash is the root
    assert f'href="{site.base}/tra-cuu"' in ours and "Không tìm thấy trang" in ours


def test_open311_discovery_names_the_endpoint_under_the_base_path(site: Site, monkeypatch: Any) -> None:
    from chalicelib.config import settings

    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    settings.cache_clear()
    try:
        discovery = site.get(site.base + "/open311/v2/discovery.json")
        endpoint = discovery.json_body["endpoints"][0]["url"]
        assert endpoint == f"http://localhost{site.base}/open311/v2"
    finally:
        monkeypatch.undo()
        settings.cache_clear()
