"""Links from strangers: how a supplied URL is classified, and the staff attachments list as it is
rendered (autoescaped HTML, read without a browser): no <a href> to a sender's URL, ever; an image
only for https on an allowed host."""
from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from chalicelib.domain.links import attachment_views, classify, host_of, image_sources

HOSTS = ("zdn.vn", "zadn.vn", "hotline-attachments.s3.ap-southeast-1.amazonaws.com")
ZALO_IMAGE = "https://f20-zpc.zdn.vn/8455474394186582335/0f5c8a1e2f7e6a2b3c4d.jpg"


@pytest.mark.parametrize("url, host", [
    ("javascript:alert(document.cookie)", ""),
    ("JaVa\tScRiPt:alert(1)", ""),                                  # browsers drop the tab: still javascript:
    ("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", ""),
    ("http://f20-zpc.zdn.vn/a.jpg", "f20-zpc.zdn.vn"),             # the right host, but not https
    ("https://evil.example/a.jpg", "evil.example"),
    ("https://zdn.vn.evil.example/a.jpg", "zdn.vn.evil.example"),   # an allowed name as a prefix
    ("https://evilzdn.vn/a.jpg", "evilzdn.vn"),                     # an allowed name as a suffix, not a domain
    ("https://f20-zpc.zdn.vn@evil.example/a.jpg", "evil.example"),  # user info: the host is after '@'
    ("https://f20-zpc.zdn.vn:8443/a.jpg", "f20-zpc.zdn.vn"),        # another port
    ("https://203.0.113.9/a.jpg", "203.0.113.9"),
    ("https://f20-zpc.zdn.vn/a b.jpg", "f20-zpc.zdn.vn"),           # a space: not a plain URL
    ("https://f20-zpc.zdn.vn/a.jpg\" onerror=\"alert(1)", "f20-zpc.zdn.vn"),
])
def test_a_strangers_url_is_text_with_its_host(url: str, host: str) -> None:
    link = classify(url, HOSTS)
    assert not link.image and link.image_url is None
    assert link.host == host


def test_a_backslash_counts_as_a_slash_as_in_browsers() -> None:
    # Python's urlsplit would say evil.example; a browser goes to the Zalo host and never loads an image from it here
    assert host_of("https://f20-zpc.zdn.vn\\@evil.example/a.jpg") == ("https", "f20-zpc.zdn.vn")
    assert not classify("https://f20-zpc.zdn.vn\\@evil.example/a.jpg", HOSTS).image


@pytest.mark.parametrize("url", [ZALO_IMAGE, "https://s120-ava-talk.zadn.vn/2/a/3/7/3/120/014b.jpg",
                                 "HTTPS://F20-ZPC.ZDN.VN/a.jpg?w=120",
                                 "https://hotline-attachments.s3.ap-southeast-1.amazonaws.com/photos/1/a.jpg"])
def test_https_on_an_allowed_host_may_be_an_image(url: str) -> None:
    link = classify(url, HOSTS)
    assert link.image and link.image_url == url


def test_long_urls_are_shortened_for_display_only() -> None:
    link = classify("https://evil.example/" + "a" * 1000, HOSTS)
    assert link.host == "evil.example" and len(link.text) == 301 and link.text.endswith("…")


def test_image_sources_cover_each_host_and_its_subdomains() -> None:
    assert image_sources(["zdn.vn", " zadn.vn "]) == "https://zdn.vn https://*.zdn.vn https://zadn.vn https://*.zadn.vn"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, Any]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def _render(attachments: list[dict[str, str]]) -> _Tags:
    from chalicelib.web.pages import _environment

    sent = [{"id": "sent-0", "label": "Khi gửi phản ánh", "photos": [], "files": attachment_views(attachments, HOSTS),
             "place": None}]
    html = _environment().get_template("staff/_attachments.html").render(sent=sent)
    parsed = _Tags()
    parsed.feed(html)
    return parsed


def test_the_staff_list_links_nowhere_and_shows_each_host() -> None:
    # Given a Zalo message and an Open311 request carrying every kind of supplied URL
    strangers = ["javascript:alert(1)", "http://evil.example/login", "https://evil.example/anh.jpg",
                 "https://f20-zpc.zdn.vn@evil.example/x.jpg"]
    page = _render([{"key": url, "filename": "", "content_type": "image"} for url in strangers]
                   + [{"key": ZALO_IMAGE, "filename": "", "content_type": "image"},
                      {"key": "https://f20-zpc.zdn.vn/doc.pdf", "filename": "hop-dong.pdf", "content_type": "file"},
                      {"key": "https://evil.example/m.jpg", "filename": "media_url", "content_type": ""}])
    # Then no element links anywhere, and no attribute carries a stranger's URL but the Zalo image's src
    assert [tag for tag, _ in page.tags if tag == "a"] == []
    images = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert images == [ZALO_IMAGE]
    for tag, attrs in page.tags:
        assert not any("evil.example" in str(value) or "javascript:" in str(value) for value in attrs.values()), tag
    # And each stranger's URL is there as text, with the host it really goes to
    for url in strangers:
        assert url in page.text
    assert page.text.count("Tên miền: evil.example") == 4  # http, https, user-info trick, media_url
    assert "(không có: javascript:)" in page.text
    # And a Zalo file is text too (only images become images), with its name
    assert "https://f20-zpc.zdn.vn/doc.pdf" in page.text and "hop-dong.pdf" in page.text


def test_our_own_storage_keys_are_plain_names() -> None:
    page = _render([{"key": "photos/3f2a/anh.jpg", "filename": "anh.jpg", "content_type": "image/jpeg"}])
    assert [tag for tag, _ in page.tags if tag in ("a", "img")] == [] and "anh.jpg" in page.text
