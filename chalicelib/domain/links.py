"""Links a citizen or an integrator supplied (Zalo attachment URLs, Open311 `media_url`): what the
staff pages may show as an image, and what only as text with its host visible.

A sender chooses these URLs. A clickable link would send staff wherever the sender wants (a
look-alike sign-in page, a download), so none is ever an <a>. Only a plain `https` URL on an
allowed image host (Zalo's CDN, our own bucket: settings().image_hosts) becomes an <img>; every
other one is shown as text, with the host a browser would actually go to, for staff to judge.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

MAX_SHOWN = 300  # characters of a URL shown as text; the rest is cut with an ellipsis
IMAGE_KINDS = {"image", "gif", "sticker", ""}  # Zalo's image types; "" is Open311's media_url, a photo
# A URL that may become an <img>: https, an ASCII host name (no user info, no IP literal, no
# port but 443), then a path without spaces, quotes, angle brackets or backslashes.
_PLAIN_HTTPS = re.compile(r"https://(?P<host>(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})(?::443)?"
                          r"(?:[/?#][^\s\\\"'<>`]*)?", re.IGNORECASE)
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


@dataclass(frozen=True)
class Link:
    """A supplied URL as staff may see it. `url` is only set when it may be an image source."""

    text: str        # the URL as given (browser-insignificant characters removed), shortened for display
    host: str        # the host a browser would go to, lower case; "" when there is none (javascript:, data:…)
    scheme: str      # "https", "http", "javascript", … ("" when there is none)
    image_url: str | None = None

    @property
    def image(self) -> bool:
        return self.image_url is not None


def _browser_view(url: str) -> str:
    # Browsers drop tabs and newlines anywhere in a URL and trim control characters and spaces at
    # both ends (WHATWG URL), so 'java\tscript:' is javascript: to them: judge what they would see.
    return _TAB_OR_NEWLINE.sub("", url).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12"
                                             "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")


def host_of(url: str) -> tuple[str, str]:
    """Returns (scheme, host) of `url` as a browser would read it: for http(s) a backslash counts as
    a slash and user info before '@' is not the host ('https://cdn.zdn.vn\\@evil.example/' goes to
    cdn.zdn.vn, 'https://cdn.zdn.vn@evil.example/' to evil.example). Other schemes have no host."""
    seen = _browser_view(url)
    match = _SCHEME.match(seen)
    scheme = match.group(1).lower() if match else ""
    if scheme not in ("http", "https"):
        return scheme, ""
    rest = seen[len(scheme) + 1:].replace("\\", "/").lstrip("/")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host[1:]
    else:
        host = host.split(":", 1)[0]
    return scheme, host.rstrip(".").lower()


def allowed_host(host: str, image_hosts: Iterable[str]) -> bool:
    """True when `host` is one of `image_hosts` or below one ('f20-zpc.zdn.vn' under 'zdn.vn')."""
    host = host.lower()
    return any(host == allowed or host.endswith("." + allowed)
               for allowed in (h.strip().lower().rstrip(".") for h in image_hosts) if allowed)


def classify(url: str, image_hosts: Iterable[str]) -> Link:
    """Returns how staff may see `url`: as an image when it is a plain https URL on an allowed
    host, otherwise as text with its host."""
    seen = _browser_view(url)
    scheme, host = host_of(seen)
    text = seen if len(seen) <= MAX_SHOWN else seen[:MAX_SHOWN] + "…"
    plain = _PLAIN_HTTPS.fullmatch(seen)
    image = seen if plain and allowed_host(plain.group("host"), image_hosts) and plain.group("host").lower() == host \
        else None
    return Link(text=text, host=host, scheme=scheme, image_url=image)


def is_url(value: str) -> bool:
    """True for something a browser would treat as a URL with a scheme (any scheme), as opposed
    to one of our own storage keys ('photos/<id>/a.jpg')."""
    return bool(_SCHEME.match(_browser_view(value)))


def attachment_views(attachments: Sequence[Mapping[str, str]], image_hosts: Iterable[str]
                     ) -> list[dict[str, object]]:
    """Returns each attachment ({key, filename, content_type}) as the staff page shows it:
    {"label", "content_type", "link": Link | None, "image": bool}. `image` only for an image kind on
    an allowed host; a supplied URL is otherwise a Link shown as text, never clickable."""
    hosts = list(image_hosts)
    views: list[dict[str, object]] = []
    for attachment in attachments:
        key, kind = str(attachment.get("key") or ""), str(attachment.get("content_type") or "")
        link = classify(key, hosts) if is_url(key) else None
        views.append({"label": str(attachment.get("filename") or "") or (None if link else key) or "tệp",
                      "content_type": kind, "link": link,
                      "image": bool(link and link.image and (kind in IMAGE_KINDS or kind.startswith("image/")))})
    return views


def image_sources(image_hosts: Iterable[str]) -> str:
    """The Content-Security-Policy img-src sources for `image_hosts` ('https://zdn.vn https://*.zdn.vn')."""
    hosts = [h.strip().lower().rstrip(".") for h in image_hosts if h.strip()]
    return " ".join(f"https://{h} https://*.{h}" for h in hosts)
