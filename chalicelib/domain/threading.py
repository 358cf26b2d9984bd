"""Where a citizen's message belongs: a status query, one of the sender's tickets, or a new ticket.

The rules ask what the message is about rather than guess from timing alone:

- `TT <code>` (tra cứu) asks for a ticket's status; `MOI`/`MỚI` first forces a new ticket;
- a quoted tracking code of one of the sender's own tickets names the ticket;
- otherwise the message goes to the sender's ticket it continues: one whose category the message
  also talks about first, else the most recent one. A message that clearly talks about something
  else (another category, confidently classified, or another commune/ward) continues none of them:
  it becomes a new ticket linked to the open one it was split from.
- Once a ticket is chosen, its status decides: open → the message joins it; answered or closed →
  it is reopened within `reopen_days` of the answer (a plain "thank you" only joins it), after that
  a new ticket linked to it; rejected, redirected or merged → a new ticket linked to it.

Pure: the caller classifies the new text and the candidate tickets (`topic`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping, Sequence

from chalicelib.domain.classify import category_scores, classify, normalise
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.reference import ReferenceData, ThreadRules
from chalicelib.domain.text import fold
from chalicelib.domain.tracking import ALPHABET, parse_code

THREAD_WINDOW = timedelta(days=7)  # an open ticket quiet for longer is joined only by a message on its subject
SAME_SCORE = 2.0  # a message scoring the ticket's own category this high talks about it
_STATUS_QUERY = re.compile(r"^\s*tt\b[\s:.\-]*(.*)$", re.IGNORECASE | re.DOTALL)
_FORCE_NEW = re.compile(r"^\s*(moi|mới)\b[\s:.\-]*", re.IGNORECASE)
_FINISHED = frozenset({Status.ANSWERED, Status.CLOSED})
# A message that only thanks or agrees: on an answered ticket it is kept, not a reason to reopen it.
_THANKS = re.compile(r"\b(cam on|cam an|camon|thank|thanks|thankyou|tks|ok|oke|okay|hai long|da nhan|dong y)\b")
_POLITE = re.compile(r"\b(xin )?(cam on|cam an|camon)\b")
_NOT_YET = frozenset({"van", "chua", "khong", "ko", "k", "lai", "nhung", "sao", "tiep", "con", "nua", "bao"})
_THANKS_WORDS = 12


@dataclass(frozen=True)
class Topic:
    """What a text is about, as far as threading cares: the category the classifier is sure of
    (None: not sure), the commune/ward it names, and every category's keyword score."""

    category: str | None = None
    area: str | None = None
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SenderTicket:
    """What threading needs to know of one of the sender's tickets. `category`/`area` are the
    ticket's own, or (not yet categorised) what its text says."""

    tracking_code: str
    status: str
    updated_at: datetime
    answered_at: datetime | None = None
    category: str | None = None
    area: str | None = None


@dataclass(frozen=True)
class Decision:
    kind: str               # "status_query" | "append" | "reopen" | "new"
    tracking_code: str | None
    text: str               # the message text with a MOI/TT keyword removed
    related_to: str | None = None  # "new": the sender's ticket it continues or was split from
    why: str | None = None  # "new" with related_to: another_topic | another_area | answered_long_ago | not_open | quiet


def topic_of(text: str, ref: ReferenceData, category: str | None = None, area: str | None = None) -> Topic:
    """Returns what `text` is about (the same classifier routing uses); `category`/`area`, when
    known (a categorised ticket), win over the text's."""
    text = _POLITE.sub(" ", fold(text))  # "cảm ơn" would read as ồn (noise): politeness says nothing of the subject
    decided = classify(text, ref, category, area)
    return Topic(decided.category, decided.area, category_scores(normalise(text, ref.abbreviations), ref))


def ticket_topic(text: str, ref: ReferenceData, category: str | None, area: str | None) -> tuple[str | None, str | None]:
    """A ticket's (category, area) for threading: its own, else the classifier's best guess of its
    text (a ticket still in triage has a subject too, the classifier is just not sure enough)."""
    if category and area:
        return category, area
    decided = classify(text, ref, category, area)
    guess = decided.category or (decided.runner_up if decided.category_score >= SAME_SCORE else None)
    return category or guess, decided.area


def is_thanks(text: str) -> bool:
    """True for a short message that only thanks or agrees ('cảm ơn', 'ok đã nhận'), not for
    'cảm ơn nhưng vẫn chưa sửa'."""
    words = re.findall(r"[a-z0-9]+", fold(text))
    return (0 < len(words) <= _THANKS_WORDS and bool(_THANKS.search(" ".join(words)))
            and not _NOT_YET.intersection(words))


def says_nothing(text: str) -> bool:
    """True for a message without a word: a lone digit (a second rating after the survey was
    answered), an emoji, punctuation. On an answered ticket it is kept for staff to see (flagged),
    never a reason to reopen it."""
    return not re.search(r"[a-z]", fold(text))


def _quoted_codes(text: str, prefix: str) -> list[str]:
    pattern = re.compile(rf"\b{re.escape(prefix)}[\s\-.]?[{ALPHABET}]{{6}}\b", re.IGNORECASE)
    return [code for code in (parse_code(m.group(0), prefix) for m in pattern.finditer(text)) if code]


def _last_active(ticket: SenderTicket) -> datetime:
    """When staff last finished with a ticket (its answer), else when it last changed."""
    if Status(ticket.status) in _FINISHED and ticket.answered_at is not None:
        return ticket.answered_at
    return ticket.updated_at


def match(topic: Topic, ticket: SenderTicket) -> str:
    """Returns 'same' when the message talks about the ticket's subject, 'another_area' /
    'another_topic' when it clearly talks about something else, 'unknown' when it does not say."""
    if topic.area and ticket.area and topic.area != ticket.area:
        return "another_area"
    if ticket.category and topic.scores.get(ticket.category, 0.0) >= SAME_SCORE:
        return "same"
    if topic.category and ticket.category:
        return "same" if topic.category == ticket.category else "another_topic"
    return "same" if topic.area and topic.area == ticket.area else "unknown"


def _after(ticket: SenderTicket, text: str, now: datetime, rules: ThreadRules, quiet: bool = False) -> Decision:
    """Where a message on `ticket` goes, from the ticket's status (`quiet`: an open ticket the
    message joins only by being recent, and it is not)."""
    status = Status(ticket.status)
    code = ticket.tracking_code
    if is_open(status):
        return Decision("new", None, text, code, "quiet") if quiet else Decision("append", code, text)
    if status not in _FINISHED:
        return Decision("new", None, text, code, "not_open")
    if is_thanks(text) or says_nothing(text):
        return Decision("append", code, text)
    if now - _last_active(ticket) <= timedelta(days=rules.reopen_days):
        return Decision("reopen", code, text)
    return Decision("new", None, text, code, "answered_long_ago")


def decide(text: str, sender_tickets: Sequence[SenderTicket], now: datetime, prefix: str,
           topic: Topic | None = None, rules: ThreadRules | None = None) -> Decision:
    """Returns where the message goes (see the module's rules). `sender_tickets`: the sender's
    tickets, newest first; `topic`: what the message is about (none: it says nothing)."""
    rules = rules or ThreadRules()
    topic = topic if topic is not None and not is_thanks(text) else Topic()  # "cảm ơn" is about nothing new
    status = _STATUS_QUERY.match(text)
    code = (parse_code(status.group(1), prefix) or next(iter(_quoted_codes(status.group(1), prefix)), None)
            if status else None)
    if code:  # "tt" alone is also shorthand (thông tin, thị trấn): only with a code is it a query
        return Decision("status_query", code, text.strip())
    forced = _FORCE_NEW.match(text)
    if forced and fold(forced.group(1)) == "moi":
        return Decision("new", None, text[forced.end():].strip())
    text = text.strip()
    own = {t.tracking_code: t for t in sender_tickets}
    for quoted in _quoted_codes(text, prefix):
        if quoted in own:
            return _after(own[quoted], text, now, rules)
    recent: list[tuple[SenderTicket, str]] = []
    split_from: tuple[SenderTicket, str] | None = None
    for ticket in sender_tickets:
        age = now - _last_active(ticket)
        opened = is_open(Status(ticket.status))
        if age > timedelta(days=rules.link_days) and not opened:
            continue
        found = match(topic, ticket)
        if found.startswith("another"):
            if opened and age <= THREAD_WINDOW and (split_from is None or _last_active(ticket) > _last_active(split_from[0])):
                split_from = (ticket, found)
            continue
        recent.append((ticket, found))
    if recent:
        ticket, found = max(recent, key=lambda pair: (pair[1] == "same", _last_active(pair[0])))
        quiet = found != "same" and now - _last_active(ticket) > THREAD_WINDOW
        return _after(ticket, text, now, rules, quiet)
    if split_from is not None:
        return Decision("new", None, text, split_from[0].tracking_code, split_from[1])
    return Decision("new", None, text)
