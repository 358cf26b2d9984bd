"""Starts the whole local stack the way `make run` does (python -m devstack) for real-HTTP tests,
once at / and once under /api/ exactly as API Gateway's execute-api URL serves it: every e2e and
browser test runs in both."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import ROOT

READY = "Ctrl-C stops everything."
ACCESS_LINE = re.compile(r"^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) /\S* \d{3}$")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session", params=["", "/api"], ids=["at-root", "under-api"])
def local_stack(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The running stack's addresses, read from the banner `make run` prints: `base_url` is where
    the site is (origin + base path), `origin` the server's root."""
    port, base_path = _free_port(), request.param
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TICKETS_", "ROUTING_", "IDEMPOTENCY_"))}
    command = [sys.executable, "-m", "devstack", "--port", str(port), "--emulator-port", "0"]
    process = subprocess.Popen(command + (["--base-path", base_path] if base_path else []),
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    banner: list[str] = []
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        banner.append(line)
        if READY in line:
            break
    origin = f"http://127.0.0.1:{port}"
    if READY not in "".join(banner) or f"citizen form   {origin}{base_path}/" not in "".join(banner):
        process.kill()
        pytest.fail("the local stack did not start:\n" + "".join(banner))
    outbox = next(line.split()[1] for line in banner if line.strip().startswith("outbox"))
    # Keep reading its log, or a full pipe would block the server mid-suite; keep its access log
    # (method, path, status) to check what it holds after the run.
    access_log: list[str] = []

    def read_log() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            if ACCESS_LINE.match(line):
                access_log.append(line.rstrip("\n"))

    threading.Thread(target=read_log, daemon=True).start()
    yield {"base_url": origin + base_path, "origin": origin, "base_path": base_path, "outbox": outbox,
           "access_log": access_log}
    # Ctrl-C stops everything cleanly and promptly
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    # After every e2e and browser test of the session: the access log holds no phone number (it keeps
    # URLs, as API Gateway's would; phones travel in request bodies only)
    from tests.integration.test_base_path import phones_in

    leaked = [line for line in access_log if phones_in(line)]
    assert access_log and not leaked, f"{len(leaked)} access log lines carry a phone number, e.g. {leaked[:3]}"


@pytest.fixture(scope="session")
def base_url(local_stack: dict[str, Any]) -> str:
    return local_stack["base_url"]


def code_sent(outbox: str, phone: str, code: str, wait_s: float = 20) -> str:
    """The one-time code the local outbox shows sent to `phone` (0912…) for following ticket `code`,
    as the citizen reads it on their phone (the newest, waiting for it to arrive)."""
    import html
    import requests

    pattern = re.compile(rf"<td>\+84{phone[1:]}</td><td>1022: Ma xac nhan theo doi phan anh {code}: (\d{{6}})")
    deadline = time.monotonic() + wait_s
    while True:
        found = pattern.search(html.unescape(requests.get(outbox, timeout=10).text))
        if found or time.monotonic() > deadline:
            assert found, f"no code reached {phone} in the local outbox"
            return found.group(1)
        time.sleep(0.3)


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network: no background calls home, no sandbox as root.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield instance
        instance.close()


def shot(page: Any, name: str) -> None:
    target = os.environ.get("SCREENSHOT_DIR")  # set to refresh docs/ screenshots
    if target:
        page.screenshot(path=str(Path(target) / name), full_page=True)


def sign_in(browser: Any, base_url: str, email: str, width: int = 1280) -> Any:
    """A new page of `width` px signed in as a demo staff account (demo password), on the inbox."""
    from devstack.seed import DEMO_PASSWORD

    page = browser.new_page(viewport={"width": width, "height": 900}, locale="vi-VN")
    page.goto(base_url + "/staff/inbox")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base_url + "/staff/inbox")
    return page


def fits(page: Any) -> bool:
    """True when nothing on the page sticks out sideways."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
