"""Use case: answer an SMS, Zalo or Messenger question from the knowledge base, automatically — only when one
published article matches it with high confidence (chalicelib/domain/kb_search.CONFIDENT, and no second
article as confident), only in the categories supervisors switched on (services.kb.set_auto_answer), and
only when the citizen asks (the router tagged the ticket a question, chalicelib/domain/questions.py): a
complaint that shares words with an article waits for its agency, not for a how-to.

Runs once, right after the router decided the ticket's category (chalicelib/services/routing.py). The
short answer and the article's public link go through the ticket's outbound path (stored with the
timeline event in one transaction, then queued); the ticket stays open for an operator to confirm or
answer properly. A citizen SMS takes one segment: it carries the short answer when that fits with the
link, else the article's title and the link. Any failure leaves the ticket to the operators, untouched.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from chalicelib.config import settings
from chalicelib.domain.sms import fits_one_segment, sms_text
from chalicelib.observability import logger

ACTOR = "system:kb"
KIND = "kb_answer"          # the outbound message's kind
EVENT = "kb_auto_answer"    # the timeline event's kind
CHANNELS = ("sms", "zalo", "facebook")  # Messenger: sent as a RESPONSE, the question just came in
TEXT = 500                  # characters of the question searched
QUESTION = "question"       # the ticket's kind the router gives a message that asks


def confident_match(hits: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The one article to answer with: the best hit at or above CONFIDENT, the runner-up below it."""
    from chalicelib.domain.kb_search import CONFIDENT

    if not hits or float(hits[0].get("confidence") or 0) < CONFIDENT:
        return None
    if len(hits) > 1 and float(hits[1].get("confidence") or 0) >= CONFIDENT:
        return None
    return hits[0]


def texts(code: str, hit: Mapping[str, Any], link: str | None) -> tuple[str, str]:
    """(Zalo and Messenger text, SMS text) of the automatic answer."""
    short = " ".join(str(hit.get("short_answer") or hit.get("answer") or "").split())
    title = " ".join(str(hit.get("title") or "").split())
    tail = f" Xem: {link}" if link else ""
    zalo = (f"1022 - {code}: {short}{tail} (Trả lời tự động theo hướng dẫn chính thức; tổng đài viên sẽ xem lại "
            f"phản ánh của bạn.)")
    candidates = [f"1022 {code}: {short}{tail}", f"1022 {code}: Huong dan \"{title}\"{tail}"]
    for text in candidates:
        if fits_one_segment(sms_text(text)):
            return zalo, sms_text(text)
    room = 150 - len(sms_text(f"1022 {code}: ..{tail}"))
    return zalo, sms_text(f"1022 {code}: {title[:max(room, 20)].rstrip()}..{tail}")[:160]


def after_routing(code: str, now: datetime) -> str | None:
    """Answers the routed ticket `code` from the knowledge base when allowed; returns the article id
    used, or None (not an SMS/Zalo/Messenger question, a complaint rather than a question, category not
    switched on, no confident match, no route)."""
    from chalicelib.domain.errors import Conflict
    from chalicelib.services import console, kb
    from chalicelib.store import tickets

    ticket = tickets.get_ticket(code)
    if ticket.channel not in CHANNELS or not ticket.category or ticket.anonymised_at or ticket.kind != QUESTION:
        return None
    switched_on = kb.auto_answer_categories()
    if ticket.category not in switched_on or kb.is_confidential(ticket.category):
        return None
    hit = confident_match(kb.search(" ".join(str(ticket.text or "").split())[:TEXT], public=True,
                                    category=ticket.category, agency=ticket.agency, limit=2, now=now))
    # The category is only a boost in the search: an article of another category (maybe one never
    # switched on) can rank first, and must not answer.
    if hit is None or hit.get("category") != ticket.category or hit.get("category") not in switched_on:
        return None
    route = console._route(ticket)
    if route is None:
        return None
    link = settings().public_url(f"/hoi-dap/{hit['id']}")
    zalo, sms = texts(ticket.tracking_code, hit, link)
    message = _message(route, ticket.tracking_code, zalo if route[0] != "sms" else sms, now,
                       reply_to=ticket.last_inbound_ref if route[0] == "zalo" else None)
    event = tickets.NewEvent(
        kind=EVENT, actor=ACTOR, at=now,
        public_text=f"Tự động trả lời bằng bài «{hit['title']}»; tổng đài viên sẽ xem lại phản ánh.",
        detail={"kb_article": hit["id"], "kb_version": hit["version"], "kb_title": str(hit["title"])[:200],
                "confidence": round(float(hit.get("confidence") or 0), 3), "channel": route[0]})
    try:
        tickets.update(ticket, event, now, {}, outbound=[message])
    except Conflict:  # the citizen wrote again meanwhile: the operators take it from here
        return None
    console._send([message])
    try:
        kb.record_use(hit["id"], hit["version"], ticket.tracking_code, ACTOR, now)
    except Exception as exc:  # noqa: BLE001 - the answer went; only the counter is missing
        logger().warning("knowledge base use not counted", extra={"error_type": type(exc).__name__})
    logger().info("ticket answered from the knowledge base", extra={"ticket": ticket.tracking_code,
                                                                    "article": hit["id"]})
    return str(hit["id"])


def _message(route: tuple[str, str, str, str | None], code: str, text: str, now: datetime,
             reply_to: str | None = None) -> Any:
    """The outbound answer; on Zalo it quotes the citizen's last message (`reply_to`), as every Zalo
    reply does, so it is sent (and billed) as a reply inside the interaction window, not a proactive
    message (docs/channels.md)."""
    from chalicelib.store import outbound

    channel, provider, recipient, device = route
    item = outbound.new_outbound(KIND, channel, provider, recipient, text, now, automated=True)
    item.tracking_code = code
    if reply_to:
        item.reply_to = reply_to
    if device:
        item.provider_ref = device
    return item
