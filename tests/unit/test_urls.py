"""The base path of a request, as API Gateway reports it, and where a sign-in may send staff next."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.web.urls import base, base_path_of, reset_base, staff_target, url, use_base

WEB = Path(__file__).resolve().parents[2] / "chalicelib" / "web"


@pytest.mark.parametrize("client_path, route, params, expected", [
    ("/api/staff/inbox", "/staff/inbox", {}, "/api"),  # execute-api: the stage comes first
    ("/staff/inbox", "/staff/inbox", {}, ""),  # custom domain, empty base-path mapping
    ("/api/", "/", {}, "/api"),
    ("/api", "/", {}, "/api"),
    ("/", "/", {}, ""),
    ("/api/staff/tickets/TN-ABC123", "/staff/tickets/{code}", {"code": "TN-ABC123"}, "/api"),
    ("/api/staff/tickets/TN%2DABC123", "/staff/tickets/{code}", {"code": "TN-ABC123"}, "/api"),  # encoded
    ("/v1/hotline/open311/v2/services.json", "/open311/v2/{resource}", {"resource": "services.json"}, "/v1/hotline"),
    ("/api/staff/inbox/", "/staff/inbox", {}, "/api"),  # a trailing slash API Gateway forgives
    ("/<script>/tra-cuu", "/tra-cuu", {}, ""),
    ("/api\n/tra-cuu", "/tra-cuu", {}, ""),  # nothing that is not a plain path segment
    ("", "/tra-cuu", {}, ""),
])
def test_the_base_path_is_what_precedes_the_route(client_path: str, route: str, params: dict[str, str],
                                                  expected: str) -> None:
    assert base_path_of(client_path, route, params) == expected


def test_urls_follow_the_requests_base_path_and_reset_after_it() -> None:
    token = use_base("/api")
    try:
        assert url("/") == "/api/" and url("/staff/inbox") == "/api/staff/inbox" and base() == "/api"
    finally:
        reset_base(token)
    assert url("/tra-cuu") == "/tra-cuu" and base() == ""
    with pytest.raises(ValueError):
        url("//evil.example/")


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/staff/", "/staff/../../x",
                                    "/staff/%2E%2E/x", "/staff\\..\\x", "/staff//evil.example", "/tra-cuu",
                                    "/staff/\nSet-Cookie: x", "/staff/inbox\n", "", None])
def test_a_next_target_outside_the_console_falls_back_to_the_inbox(target: str | None) -> None:
    assert staff_target(target) == "/staff/inbox"


def test_a_console_path_is_kept_as_next() -> None:
    assert staff_target("/staff/tickets/TN-ABC123") == "/staff/tickets/TN-ABC123"
    assert staff_target("/staff/inbox?view=mine&status=assigned") == "/staff/inbox?view=mine&status=assigned"


def test_no_template_or_script_writes_a_root_relative_url() -> None:
    """A root-relative link breaks under the stage prefix: every URL goes through url()."""
    offenders = [f"{path.relative_to(WEB)}: {line.strip()}"
                 for path in [*WEB.glob("templates/**/*.html"), *WEB.glob("static/*")]
                 for line in path.read_text(encoding="utf-8").splitlines()
                 if re.search(r'(href|action|src)="/[^/]', line) or re.search(r'fetch\(\s*["\']/', line)]
    assert offenders == []
