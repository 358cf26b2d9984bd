"""Personal data on request and on schedule (Law on Personal Data Protection, 91/2025/QH15):

- `find_person`: everything held about a phone number or Zalo id (the admin's answer to "what do
  you hold about 0912 345 678?", and the export's content);
- `erase_person`: anonymise it now, on the person's request (requester, reason, approver audited);
- `set_legal_hold`: keep a ticket whole past its retention (supervisor, admin), or lift that;
- `anonymise_expired`: the scheduled job that applies the retention schedule (reference data).

Anonymising a ticket removes the person and keeps the facts statistics need: category, area,
agency, channel, status, dates, deadline and on-time, the rating's score. A ticket under legal hold
(its own flag, or its category in the schedule's list) is never anonymised; it is reported as kept,
with the reason. Nothing here logs or audits a phone number, Zalo id, name or text.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from chalicelib.config import settings
from chalicelib.domain import retention as schedule
from chalicelib.domain.errors import Conflict, FieldError, NotFound, TicketNotFound, ValidationFailed, collector
from chalicelib.domain.lifecycle import Status, is_open
from chalicelib.domain.permissions import StaffUser, check_visible, require
from chalicelib.domain.redact import redact
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.text import fold
from chalicelib.domain.tracking import parse_code
from chalicelib.observability import logger
from chalicelib.store import audit, callbacks, calls, cursors, outbound, people, photos, ratings, tickets
from chalicelib.store import privacy as store
from chalicelib.services import status_links
from chalicelib.store.models import BODY_FIELDS, EventModel, OutboundModel, TicketModel
from chalicelib.store.reference import load_reference

SYSTEM = "system:retention"
PER_SHARD = 25          # x 4 shards: a page of the job
# A scheduled run goes on for pages while they come full, starting none after 150 s of its Lambda's 300 s
# (.chalice/config.json: a page of 100 anonymisations, some 20 calls each, fits in the rest): up to 4,000
# tickets a run, 18 runs a night (every 10 minutes, 02:00-04:50).
RUN_PAGES, RUN_SECONDS = 40, 150
RETRY_AFTER = timedelta(days=1)  # a ticket whose retention failed is tried again the next night
ENROL_PAGE = 100        # tickets from before retention existed, enrolled per run until all are
ENROL_EMPTY_MONTHS = 12 # that many months without a ticket before the oldest: the walk is done
# Tickets anonymised per erasure call: some 20-30 calls each, so a call stays well inside the API
# Lambda's 30 s; the report says how many remain and the admin runs the erasure again.
ERASE_TICKETS = 20
ATTEMPTS = 3            # reads of a ticket that changes under an erasure before giving up (Conflict)
# Rate-limit counters live 2 days past their last use and DynamoDB's TTL may take days more to
# delete them: an erasure looks this far back.
COUNTER_WINDOW = timedelta(days=7)
CALLBACK_CLOSED = "Không cần gọi: dữ liệu cá nhân của người dân đã được xoá."
_PHONE_LIKE = re.compile(r"^\+?[\d\s.\-()]+$")
_ZALO_ID = re.compile(r"^[A-Za-z0-9_\-]{6,64}$")
_NOT_A_PERSON = FieldError("value", "Nhập số điện thoại (ví dụ 0912 345 678) hoặc mã người dùng Zalo.",
                           "Enter a phone number (e.g. 0912 345 678) or a Zalo user id.")
# What a ticket item holds of its reporter, as the access export lists it (its body's own fields apart;
# never its followers: they are other people).
_TICKET_PERSONAL = ("reporter_name", "reporter_phone", "reporter_email", "reporter_zalo_id", "address", "lat",
                    "lon", "answer", "public_question", "public_answer", "public_summary", "photos_public",
                    "consent_publish", "consent_contact", "notice_version", "legal_hold")


@dataclass(frozen=True)
class PersonData:
    """What is held about one person: the tickets they appear on and every record found."""

    kind: str                 # "phone" | "zalo" (a Zalo id or a Messenger PSID: both are app user ids)
    value: str                # E.164 or the Zalo id / PSID: shown to the admin, never logged
    tickets: list[dict[str, Any]]
    records: list[dict[str, Any]]

    @property
    def account_label(self) -> str:
        """What the value is, for the page: an app user id is named by the channel of the tickets it
        reported (Zalo ids and Messenger PSIDs look alike; both apps' ids share one index)."""
        if self.kind != "zalo":
            return "số điện thoại"
        channels = {t.get("channel") for t in self.tickets if t.get("role") == "reporter"}
        if channels == {"facebook"}:
            return "mã người dùng Messenger"
        return "mã người dùng Zalo hoặc Messenger" if "facebook" in channels else "tài khoản Zalo"


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure did: tickets anonymised, tickets the person no longer follows, tickets kept
    (with why), and how many person markers and rate-limit counters were deleted."""

    anonymised: list[str]
    unfollowed: list[str]
    kept: list[tuple[str, str]]   # (code, why it is kept)
    markers_deleted: int
    counters_deleted: int
    remaining: int = 0            # tickets of theirs left for the next call (ERASE_TICKETS a call)


def person_of(value_text: str) -> tuple[str, str]:
    """Returns ("phone", E.164), ("zalo", id) or, for a number in international form that is not
    Vietnamese, ("caller", '+digits': the key calls to the hotline mark it by) for what an admin
    typed. Raises ValidationFailed
    (field `value`) when it is neither: a number that is not a Vietnamese phone is refused, never
    taken for a Zalo id."""
    from chalicelib.domain.phones import normalise_phone

    text = (value_text or "").strip()
    digits = sum(c.isdigit() for c in text)
    if _PHONE_LIKE.match(text) and text.startswith(("+", "00")) and 8 <= digits <= 15:
        try:
            return "phone", normalise_phone(text, "value")
        except ValidationFailed:  # a foreign number: only calls to the hotline carry it (chalicelib.store.calls)
            from chalicelib.domain.calls import raw_caller_key

            return "caller", raw_caller_key("+" + text[2:] if text.startswith("00") else text)
    if _PHONE_LIKE.match(text) and digits <= 12:
        return "phone", normalise_phone(text, "value")
    if _ZALO_ID.match(text):
        return "zalo", text
    raise ValidationFailed([_NOT_A_PERSON])


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def _key(item: Any) -> str:
    return f"{item.pk}|{item.sk}"


def _kept_because(ticket: TicketModel, ref: ReferenceData) -> str | None:
    category = ref.categories.get(ticket.category or "")
    return schedule.hold_reason(ref.retention, ticket.legal_hold, ticket.category, category.name if category else None)


def _summary(ticket: TicketModel, role: str, ref: ReferenceData) -> dict[str, Any]:
    return {"code": ticket.tracking_code, "role": role, "status": ticket.status, "category": ticket.category,
            "channel": ticket.channel, "created_at": _iso(ticket.created_at),
            "anonymised": ticket.anonymised_at is not None, "kept_because": _kept_because(ticket, ref)}


# Finding


def find_person(value_text: str) -> PersonData:
    """Everything held about a phone (any spelling), Zalo id or Messenger PSID: the tickets they reported or follow
    and every item that carries them — the ticket and its body, timeline events, messages sent,
    callbacks, the rating, person markers and rate-limit counters — with the data as stored.
    Raises ValidationFailed when `value_text` is neither a phone nor a Zalo id."""
    kind, value = person_of(value_text)
    ref = load_reference()
    own = store.reporter_tickets(kind, value) if kind != "caller" else []  # a foreign number: calls only
    markers = people.markers(value)
    followed = _followed(own, markers, value)
    found_tickets = [_summary(t, "reporter", ref) for t in own] + [_summary(t, "follower", ref) for t in followed]
    records: list[dict[str, Any]] = []
    for ticket in own:
        records += _reporter_records(ticket)
    for ticket in followed:
        records += _follower_records(ticket, value)
    for marker in markers:
        records.append({"ticket": marker.ref if marker.kind in ("FOLLOW", "VERIFY") else None, "kind": "marker",
                        "key": _key(marker), "at": _iso(marker.at),
                        "fields": {"kind": marker.kind, "ref": marker.ref, "expires_at": _iso(marker.expires_at)}})
        if marker.kind == "OUTBOX":
            message = outbound.get_outbound(*marker.ref.split("|", 1))
            if message is not None:
                records.append(_outbound_record(message))
        if marker.kind == "CALL":  # a call to or from the hotline (chalicelib.store.calls)
            call = calls.get(marker.ref)
            if call is not None:
                records.append({"ticket": None, "kind": "call", "key": f"CALL#{marker.ref}|CALL",
                                "at": _iso(call.get("created_at")), "fields": _call_fields(call)})
    if kind == "zalo":  # a Messenger PSID: the page's sent messages wait for their receipts under it
        from chalicelib.store import receipts

        for sent in receipts.of(value):
            records.append({"ticket": None, "kind": "receipt_marker", "key": f"{sent.pk}|{sent.sk}", "at": None,
                            "fields": {"message": f"{sent.out_pk}|{sent.out_sk}",
                                       "expires_at": _iso(sent.expires_at)}})
    if kind == "phone":
        for task in calls.tasks_of(value):
            records.append({"ticket": None, "kind": "call_task", "key": _key(task), "at": _iso(task.first_at),
                            "fields": {"calls": task.calls, "call_ids": sorted(task.call_ids or ()),
                                       "due_at": _iso(task.due_at), "outcome": task.outcome}})
    for counter in store.counters(_counter_names(kind, value, own, datetime.now(timezone.utc))):
        records.append({"ticket": None, "kind": "counter", "key": _key(counter), "at": None,
                        "fields": {"n": counter.n, "expires_at": _iso(counter.expires_at)}})
    return PersonData(kind, value, found_tickets, records)


def _call_fields(call: dict[str, Any]) -> dict[str, Any]:
    """A call's stored facts as the access request shows them (times as ISO text)."""
    return {name: (_iso(value) if isinstance(value, datetime) else sorted(value) if isinstance(value, set) else value)
            for name, value in call.items() if name not in ("pk", "sk", "rings")}


def _followed(own: list[TicketModel], markers: list[Any], value: str) -> list[TicketModel]:
    """The tickets the person follows: by a follow of their own (FOLLOW# markers, written too for
    every follower a merge moves) or because their ticket was merged into it, and the ones the
    tickets they follow were merged into (merges from before the merge wrote markers); only those
    whose followers still list them."""
    codes = [m.ref for m in markers if m.kind == "FOLLOW"] + [t.merged_into for t in own if t.merged_into]
    mine = {t.tracking_code for t in own}
    found, seen = [], set(mine)
    while codes:
        code = codes.pop(0)
        if code in seen:
            continue
        seen.add(code)
        ticket = _fresh(code)
        if ticket is None:
            continue
        if any(f.recipient == value for f in ticket.followers or []):
            found.append(ticket)
            if ticket.merged_into:
                codes.append(ticket.merged_into)
    return found


def _fields(item: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(item, name) for name in names if getattr(item, name, None) not in (None, [], "")}


def _event_record(code: str, event: EventModel) -> dict[str, Any] | None:
    fields = _fields(event, ("public_text", "detail"))
    if not fields:
        return None
    return {"ticket": code, "kind": "event", "key": _key(event), "at": _iso(event.at), "fields": {"kind": event.kind,
                                                                                                   **fields}}


def _outbound_record(message: OutboundModel) -> dict[str, Any]:
    return {"ticket": message.tracking_code, "kind": "outbound", "key": _key(message), "at": _iso(message.created_at),
            "fields": {"channel": message.channel, "state": message.state,
                       **_fields(message, ("recipient", "subject", "text"))}}


def _reporter_records(ticket: TicketModel) -> list[dict[str, Any]]:
    code = ticket.tracking_code
    records = [{"ticket": code, "kind": "ticket", "key": f"{ticket.pk}|{ticket.sk}", "at": _iso(ticket.created_at),
                "fields": _fields(ticket, _TICKET_PERSONAL)},
               {"ticket": code, "kind": "body", "key": f"{ticket.pk}|TICKET#BODY", "at": _iso(ticket.created_at),
                "fields": _fields(ticket, BODY_FIELDS)}]
    records += [r for r in (_event_record(code, e) for e in tickets.timeline(code)) if r]
    # the messages sent to them (not the agency's e-mails, nor the answers to the ticket's followers)
    theirs = {ticket.reporter_phone, ticket.reporter_zalo_id, ticket.reporter_email} - {None}
    records += [_outbound_record(m) for m in outbound.of_ticket(code) if m.recipient in theirs]
    records += [{"ticket": code, "kind": "callback", "key": _key(c), "at": _iso(c.created_at),
                 "fields": {"due_at": _iso(c.due_at), **_fields(c, ("reason", "outcome"))}}
                for c in callbacks.of_ticket(code)]
    rating = ratings.of_ticket(code)
    if rating is not None:
        records.append({"ticket": code, "kind": "rating", "key": _key(rating), "at": _iso(rating.at),
                        "fields": _fields(rating, ("rating", "comment", "channel"))})
    return records


def _follower_records(ticket: TicketModel, value: str) -> list[dict[str, Any]]:
    """What a ticket the person follows holds of them: their follower entry, messages sent to them."""
    code = ticket.tracking_code
    entries = [f.attribute_values for f in ticket.followers or [] if f.recipient == value]
    records = [{"ticket": code, "kind": "ticket", "key": f"{ticket.pk}|{ticket.sk}", "at": None,
                "fields": {"followers": entries}}]
    return records + [_outbound_record(m) for m in outbound.of_ticket(code) if m.recipient == value]


def _counter_names(kind: str, value: str, own: list[TicketModel], now: datetime) -> list[str]:
    """The rate-limit counters that may carry the person in their name, as chalicelib.store.outbound
    (AUTO#), services.intake (FORM#PHONE#, FOLLOW#) and services.conversations (REPEAT#) name them,
    for every hour and day of COUNTER_WINDOW."""
    from chalicelib.services.conversations import ATTACHMENT_ONLY_TEXT

    hours = [now - timedelta(hours=n) for n in range(int(COUNTER_WINDOW.total_seconds() // 3600) + 1)]
    names = [f"AUTO#{people.person_digest(value)}#{hour:%Y%m%d%H}" for hour in hours]
    if kind == "phone":
        names += [f"{prefix}#{_digest(value)}#{hour:%Y%m%d%H}" for prefix in ("FORM#PHONE", "FOLLOW") for hour in hours]
    since = now - COUNTER_WINDOW
    days = {f"{now - timedelta(days=n):%Y%m%d}" for n in range(COUNTER_WINDOW.days + 1)}
    for ticket in own:
        if ticket.channel not in ("sms", "zalo", "facebook") or ticket.updated_at < since:
            continue
        texts = {e.detail.get("text") or "" for e in tickets.timeline(ticket.tracking_code)
                 if e.kind in ("created", "message_in", "held") and isinstance(e.detail, dict)}
        # a message with only attachments is counted by its empty text, stored with a placeholder
        texts = {"" if text == ATTACHMENT_ONLY_TEXT else text for text in texts}
        names += [f"REPEAT#{_digest(value + '#' + fold(text))}#{day}" for text in texts for day in days]
    return names


# Anonymising one ticket


def _last_activity(ticket: TicketModel) -> datetime:
    return max(moment for moment in (ticket.updated_at, ticket.last_inbound_at, ticket.answered_at) if moment)


def _photo_keys(ticket: TicketModel) -> list[str]:
    return [a.key for a in ticket.attachments or [] if photos.is_photo_key(a.key)]


def _kept_in(event: EventModel) -> list[str]:
    """Photos a citizen message's event points at in the bucket: a Messenger image is copied there (its
    link expires), and one sent after the first message is on that message's event only, not the ticket."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    urls = [a.get("url") for a in detail.get("attachments") or [] if isinstance(a, dict)]
    return [url for url in urls if isinstance(url, str) and photos.is_photo_key(url)]


def _follow_up_photos(ticket: TicketModel) -> list[str]:
    """The kept photos of a fanpage ticket's messages since its photos were last removed (none for
    other channels, whose message attachments are links, so their timelines are not read for it)."""
    if ticket.channel != "facebook":
        return []
    keys: list[str] = []
    for event in tickets.timeline(ticket.tracking_code):
        keys = [] if event.kind == "photos_removed" else keys + _kept_in(event)
    return keys


def _delete_photos(ticket: TicketModel) -> int:
    """Deletes the ticket's photos and their public copies from the bucket; returns how many."""
    keys = _photo_keys(ticket) + [k for k in ticket.photos_public or [] if photos.is_public_key(k)]
    for key in keys:
        photos.delete(key)
    return len(keys)


def _delete_message_photos(ticket: TicketModel, keys: list[str]) -> int:
    """Deletes the kept photos of the ticket's messages that are not the ticket's own; returns how many."""
    more = [key for key in dict.fromkeys(keys) if key not in _photo_keys(ticket)]
    for key in more:
        photos.delete(key)
    return len(more)


def anonymise_ticket(ticket: TicketModel, now: datetime, actor: str, why: str,
                     names: list[str] | None = None) -> dict[str, Any]:
    """Removes the person from the ticket and every item of it, masking the reporter's name and any
    other `names` they are known by in every text; returns what was removed (names of fields and
    counts, never the data). The ticket is claimed first (store.claim: not held, as read), so a hold
    or a change that came first stops it before anything is removed; each step is idempotent and
    the ticket item is written last (with `anonymised_at` and the `anonymised` event), so a run that
    stops halfway is finished by the next. On a ticket already anonymised the steps run again and
    find nothing left (the counts are 0). Raises Conflict when the ticket changed before the claim
    (nothing removed) or after it (what was removed stays removed; the claim makes the next run
    finish it, and no hold can be set meanwhile)."""
    code = ticket.tracking_code
    done = ticket.anonymised_at is not None
    names = list(dict.fromkeys([*([ticket.reporter_name] if ticket.reporter_name else []), *(names or [])]))
    removed: dict[str, Any] = {"why": why,
                               "reporter_fields": sorted(n for n in store.REPORTER_FIELDS if getattr(ticket, n, None))}
    if not done:
        store.claim(ticket, now)
    events, kept_photos = 0, []
    for event in tickets.timeline(code):
        kept_photos += _kept_in(event)
        public_text = redact(event.public_text, names) if event.public_text else event.public_text
        detail = schedule.scrub(event.detail, names) if event.detail else event.detail
        if (public_text, detail) != (event.public_text, event.detail):
            store.rewrite_event(event, public_text, {**(detail or {}), "redacted": True})
            events += 1
    messages = 0
    for message in outbound.of_ticket(code):
        if (message.recipient, message.text) != (store.ERASED, store.ERASED):
            store.erase_outbound(message, redact(message.subject, names) if message.subject else None)
            messages += 1
    redacted_callbacks = 0
    for callback in callbacks.of_ticket(code):
        reason, outcome = redact(callback.reason, names), redact(callback.outcome, names) if callback.outcome else None
        if (reason, outcome) != (callback.reason, callback.outcome) or callback.status is not None:
            store.redact_callback(callback, reason, outcome or CALLBACK_CLOSED if callback.status else outcome)
            redacted_callbacks += 1
    rating = ratings.of_ticket(code)
    commented = bool(rating and rating.comment)
    if rating is not None and commented:
        store.drop_comment(rating)
    deleted = _delete_photos(ticket) + _delete_message_photos(ticket, kept_photos)
    body = store.body(code)
    text = redact(ticket.text or "", names)
    if body is not None and (body.text, body.attachments, body.reporter_name, body.reporter_email,
                             body.address) != (text, None, None, None, None):
        store.strip_body(body, text, None, reporter=True)
    from chalicelib.services import search

    search.forget(ticket, now)  # its words leave the search index at the indexer's next run
    from chalicelib.store import kb as kb_store

    gaps_deleted = kb_store.delete_gaps_of(code)  # questions noted for the knowledge base from this ticket
    from chalicelib.store import training

    corrections_deleted = training.delete_of(code)  # its text kept as a routing example (services/model_training.py)
    original = _leave_original(ticket, actor, now) if ticket.merged_into else None
    for follower in ticket.followers or []:  # their markers point at this ticket: it holds nobody now
        people.delete(people.marker(follower.recipient, "FOLLOW", code, now))
    links = status_links.forget_ticket(code)  # the reporter's and the followers' links stop working
    removed.update(events_redacted=events, messages_erased=messages, callbacks_redacted=redacted_callbacks,
                   photos_deleted=deleted, rating_comment=commented,
                   followers_removed=len(ticket.followers or []), status_links_deleted=links,
                   kb_gaps_deleted=gaps_deleted, routing_examples_deleted=corrections_deleted)
    if original is not None:
        removed.update(original_followers_removed=original[0], original_kept=original[1] is not None)
    if done:
        return removed
    sets: dict[str, Any] = {"anonymised_at": now, "anonymising_at": None,
                            "answer": redact(ticket.answer, names) if ticket.answer else None,
                            "public_question": redact(ticket.public_question, names) if ticket.public_question else None,
                            "public_answer": redact(ticket.public_answer, names) if ticket.public_answer else None,
                            "public_summary": redact(ticket.public_summary, names) if ticket.public_summary else None}
    if body is None:  # a ticket from before bodies had their own item keeps its text on itself
        sets["text"] = text
    event = tickets.NewEvent("anonymised", actor, now, detail=removed)
    store.anonymise(ticket, sets, event, off_watch=ticket.watch_stage in (None, schedule.PURGE_STAGE))
    return removed


def _leave_original(ticket: TicketModel, actor: str, now: datetime) -> tuple[int, str | None]:
    """A merged ticket's reporter leaves the ticket it was merged into: their follower entry (the
    merge's) and the messages sent to them there go, unless they still follow it otherwise or report
    it. The merge's other entries (people who followed this ticket) stay, with a FOLLOW# marker on the
    original so they remain findable. A held original is left as it is (L3: a hold keeps the ticket
    whole), its entries' markers kept. Returns (entries removed, the hold's reason or None)."""
    code, target = ticket.tracking_code, ticket.merged_into or ""
    reporter = {ticket.reporter_phone, ticket.reporter_zalo_id, ticket.reporter_email} - {None}
    outcome: tuple[int, str | None] = (0, None)
    staying: set[str] = set()

    def change(original: TicketModel) -> None:
        nonlocal outcome, staying
        moved = [f for f in original.followers or [] if f.tracking_code == code]
        gone = [] if (because := _kept_because(original, load_reference())) else [
            f for f in moved if f.recipient in reporter]
        keep = [f for f in original.followers or [] if f not in gone]
        for follower in moved:
            if follower not in gone:
                store.keep_follow_marker(follower.recipient, target, now)
        if gone:
            store.unfollow(original, [f.attribute_values for f in keep],
                           tickets.NewEvent("follower_removed", actor, now, detail={"why": "anonymised",
                                                                                    "merged_from": code}))
        staying = {f.recipient for f in keep} | {original.reporter_phone, original.reporter_zalo_id,
                                                 original.reporter_email}
        outcome = (len(gone), because)

    if _with_retries(target, change) is None:
        return outcome
    leaving = reporter - staying
    for message in outbound.of_ticket(target):
        if message.recipient in leaving:
            store.erase_outbound(message, message.subject)
    if outcome[0]:
        for value in leaving:
            people.delete(people.marker(value, "FOLLOW", target, now))
    return outcome


# Erasure on request


def _fresh(code: str) -> TicketModel | None:
    try:
        return tickets.get_ticket(code)
    except NotFound:
        return None


def _with_retries(code: str, change: Callable[[TicketModel], None]) -> TicketModel | None:
    """Applies `change` to a fresh read of the ticket, again when it changed meanwhile (Conflict)."""
    for attempt in range(ATTEMPTS):
        ticket = _fresh(code)
        if ticket is None:
            return None
        try:
            change(ticket)
            return ticket
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise
    return None


def _unfollow(code: str, value: str, actor: str, now: datetime, ref: ReferenceData) -> tuple[bool, str | None]:
    """Takes the person off a ticket's followers and clears the messages sent to them there; a
    held ticket is left whole (docs/privacy.md: a hold keeps the ticket as it is, its followers
    too). Returns (whether anything of theirs was removed, the hold's reason when held)."""
    done, because = False, None

    def change(ticket: TicketModel) -> None:
        nonlocal done, because
        because = _kept_because(ticket, ref) if ticket.anonymised_at is None else None
        keep = [f.attribute_values for f in ticket.followers or [] if f.recipient != value]
        if because or len(keep) == len(ticket.followers or []):
            return
        store.unfollow(ticket, keep, tickets.NewEvent("follower_removed", actor, now, detail={"why": "erasure"}))
        done = True

    _with_retries(code, change)
    if because:
        return False, because
    for message in outbound.of_ticket(code):
        if message.recipient == value:
            store.erase_outbound(message, message.subject)
            done = True
    done = bool(status_links.forget_follower(code, value)) or done
    return done, None


def erase_person(value_text: str, *, requester: str, reason: str, approver: str, actor: str,
                 now: datetime, names: list[str] | None = None, limit: int | None = None) -> ErasureReport:
    """Anonymises, now, everything held about a phone or Zalo id (find_person's tickets and
    records), except tickets under legal hold — theirs and the ones they follow, left whole — which
    are listed as kept with the reason. At most `limit` (ERASE_TICKETS) of their tickets are
    anonymised per call, so a call fits the API's time; `remaining` in the report says how many wait
    for the admin to run it again (each call finishes what the last left). Recorded in the admins'
    audit trail before anything is removed (who asked, why, who approved, masked of the person) and
    after (the tickets' codes and the counts): never the person, not even a digest.
    Texts are redacted of phones, e-mails and the names the person gave on any ticket, and of
    `names` (how the person says they are called: an SMS or Zalo reporter gave none the system knows).
    Raises ValidationFailed (missing requester/reason/approver, not a phone or Zalo id), Conflict
    (a ticket kept changing under it; what was done stays done, and running it again finishes)."""
    errors = collector()
    for name, given in (("requester", requester), ("reason", reason), ("approver", approver)):
        if not (given or "").strip():
            errors.add(name, "Cần nhập thông tin này để xoá dữ liệu.", "Required to erase personal data.")
    errors.raise_if_any()
    kind, value = person_of(value_text)
    ref = load_reference()
    limit = ERASE_TICKETS if limit is None else limit
    anonymised: list[str] = []
    kept: list[tuple[str, str]] = []
    unfollowed: list[str] = []
    own = store.reporter_tickets(kind, value) if kind != "caller" else []  # a foreign number: calls only
    # the tickets that give a name last: each call then still knows the names of those it leaves
    own.sort(key=lambda t: t.reporter_name is not None)
    counters = store.counters(_counter_names(kind, value, own, now))

    # what the person is called on any ticket, and what they told the admin
    names = list(dict.fromkeys([*(t.reporter_name for t in own if t.reporter_name),
                                *(n.strip() for n in names or [] if n and n.strip())]))
    # The person is often the requester: the trail masks their names, numbers and addresses in what
    # the admin typed, so the record of an erasure never holds what it erased.
    request = {"requester": redact(requester, names), "reason": redact(reason, names),
               "approver": redact(approver, names), "person_kind": kind}
    audit.record("personal_data_erasure_started", actor, now, **request,
                 tickets=[t.tracking_code for t in own])

    def kept_or_note(code: str, because: str | None, removed: bool) -> None:
        if because and code not in (c for c, _ in kept):
            kept.append((code, because))
        elif removed and not because and code not in unfollowed:
            unfollowed.append(code)

    remaining = 0
    for ticket in own:
        code = ticket.tracking_code
        if len(anonymised) >= limit:
            remaining += 1
            continue
        outcome: dict[str, Any] = {}

        def anonymise(fresh: TicketModel) -> None:
            # a claimed ticket lost part of its data already: it is finished whatever else holds it
            because = _kept_because(fresh, ref) if fresh.anonymising_at is None else None
            outcome.clear()
            if because:
                outcome["kept"] = because
            elif fresh.anonymised_at is None:  # the index may still list a ticket anonymised a moment ago
                outcome.update(anonymise_ticket(fresh, now, actor, "request", names))

        if _with_retries(code, anonymise) is None:
            continue
        if "kept" in outcome:
            kept.append((code, outcome["kept"]))
            continue
        anonymised.append(code)
        if ticket.merged_into and "original_kept" in outcome:
            original = _fresh(ticket.merged_into)
            because = _kept_because(original, ref) if original and outcome["original_kept"] else None
            kept_or_note(ticket.merged_into, because, bool(outcome.get("original_followers_removed")))
    markers = people.markers(value)
    deleted = 0
    for marker in markers:
        if marker.kind == "FOLLOW":
            for code in _follow_chain(marker.ref, value):
                removed, because = _unfollow(code, value, actor, now, ref)
                kept_or_note(code, because, removed)
                if because and code == marker.ref:
                    break
                if because:  # still on a held ticket its follow was merged into: findable there
                    store.keep_follow_marker(value, code, now)
            else:
                people.delete(marker)
                deleted += 1
            continue
        if marker.kind == "OUTBOX":
            store.delete_outbound(*marker.ref.split("|", 1))
        if marker.kind == "CALL":
            calls.forget(marker.ref)
        people.delete(marker)
        deleted += 1
    for counter in counters:
        store.delete_counter(counter)
    if kind == "zalo":  # a Messenger PSID: the receipt markers of what the page sent them
        from chalicelib.store import receipts

        deleted += receipts.forget(value)
    if kind == "phone":
        deleted += calls.forget_tasks(value)
    report = ErasureReport(anonymised, unfollowed, kept, deleted, len(counters), remaining)
    finished = max(now, datetime.now(timezone.utc))  # the trail shows when it ended, after it began
    audit.record("personal_data_erased", actor, finished, **request, anonymised=anonymised, unfollowed=unfollowed,
                 kept=[code for code, _ in kept], remaining=remaining,
                 markers_deleted=report.markers_deleted, counters_deleted=report.counters_deleted)
    logger().info("personal data erased on request", extra={"anonymised": len(anonymised), "kept": len(kept),
                                                             "unfollowed": len(unfollowed), "remaining": remaining})
    return report


def _follow_chain(code: str, value: str) -> list[str]:
    """The followed ticket and, while the person is on it and it was merged, the ones it was merged
    into (merges from before the merge wrote FOLLOW# markers left only the first)."""
    chain = [code]
    ticket = _fresh(code)
    while ticket is not None and ticket.merged_into and ticket.merged_into not in chain and any(
            f.recipient == value for f in ticket.followers or []):
        chain.append(ticket.merged_into)
        ticket = _fresh(ticket.merged_into)
    return chain


# Legal hold


MAX_HOLD_REASON = 500


def set_legal_hold(user: StaffUser, code: str, reason: str | None, now: datetime | None = None) -> None:
    """Keeps the ticket whole past its retention, for `reason` (supervisors and admins); None lifts
    the hold, and the retention schedule applies again from the next run. Raises Forbidden,
    TicketNotFound, ValidationFailed (blank or long reason, a ticket anonymised or being anonymised),
    Conflict."""
    require(user, "legal_hold")
    now = now or datetime.now(timezone.utc)
    parsed = parse_code(code, settings().tracking_prefix)
    ticket = _fresh(parsed) if parsed else None
    if ticket is None:
        raise TicketNotFound()
    check_visible(user, ticket.agency)
    text = None if reason is None else reason.strip()
    if text is not None and not text or len(text or "") > MAX_HOLD_REASON:
        raise ValidationFailed([FieldError("reason", f"Cần nêu lý do tạm giữ (tối đa {MAX_HOLD_REASON} ký tự).",
                                           f"A legal hold needs a reason (at most {MAX_HOLD_REASON} characters).")])
    if text and ticket.anonymised_at is not None:
        raise ValidationFailed([FieldError("reason", "Phản ánh đã được ẩn danh: không còn dữ liệu cá nhân để giữ.",
                                           "The ticket is anonymised: no personal data is left to hold.")])
    if text and ticket.anonymising_at is not None:
        raise ValidationFailed([FieldError("reason", "Phản ánh đang được ẩn danh (một phần dữ liệu đã xoá): "
                                                     "không thể giữ nữa.",
                                           "The ticket is being anonymised (some of its data is gone): "
                                           "it can no longer be held.")])
    if text is None and not ticket.legal_hold:
        return
    # Back on the retention watch, due now, unless it is watched already (its deadline, or a hold
    # that is only being reworded): the next run checks it against the schedule.
    watch = None
    if ticket.anonymised_at is None and (ticket.watch_stage is None or (
            text is None and ticket.watch_stage == schedule.PURGE_STAGE)):
        watch = schedule.purge_watch(ticket.tracking_code, now)
    event = tickets.NewEvent("legal_hold_set" if text else "legal_hold_lifted", user.actor, now,
                             detail={"reason": text} if text else {"was": ticket.legal_hold})
    store.set_hold(ticket, text, event, watch)


# The scheduled job


def anonymise_expired(now: datetime | None = None, per_shard: int = PER_SHARD, pages: int = 1,
                      seconds: float | None = None) -> dict[str, int]:
    """Applies the retention schedule to the tickets whose retention mark has come, a page at a
    time (at most `per_shard` of each of the four P# shards): anonymises those past their time,
    removes photos and texts of messages sent that are past theirs, keeps held tickets (looked at
    again in 30 days) and moves every other mark to the ticket's next date, so the next page is
    what is still due. Goes on for up to `pages` pages while a page was full and `seconds` have not
    passed; then enrols tickets from before the schedule existed, as many pages as time leaves
    (at least one). Returns counts. A ticket that fails is logged without personal data and its mark
    moved RETRY_AFTER later, so it never holds back the pages and the enrolment behind it; the run
    then raises PageIncomplete at its end (the alarm), with how many failed."""
    import time

    from chalicelib.services.schedules import PageIncomplete

    now = now or datetime.now(timezone.utc)
    started = time.monotonic()
    ref = load_reference()
    counts = {"anonymised": 0, "kept": 0, "photos_removed": 0, "texts_cleared": 0, "rescheduled": 0, "enrolled": 0}
    failures = tried = 0
    for _ in range(pages):
        shards = [store.purge_due(f"P#{shard}", now, per_shard) for shard in range(schedule.PURGE_SHARDS)]
        due = [ticket for shard in shards for ticket in shard]
        tried += len(due)
        for ticket in due:
            try:
                _apply_schedule(ticket, ref, now, counts)
            except Conflict:
                continue  # changed meanwhile: still due, the next page or run sees it fresh
            except Exception as exc:  # one bad ticket must not hold back the rest of the run
                failures += 1
                logger().error("retention failed for a ticket", extra={"ticket": ticket.tracking_code,
                                                                       "error_type": type(exc).__name__})
                _back_off(ticket.tracking_code, now)
        if all(len(shard) < per_shard for shard in shards) or (
                seconds is not None and time.monotonic() - started > seconds):
            break
    counts["enrolled"] = enrol_existing(now, ref.retention, pages=pages,
                                        until=started + seconds if seconds is not None else None)
    if failures:
        raise PageIncomplete(f"anonymise_expired: {failures} of {tried} tickets failed")
    return counts


def _back_off(code: str, now: datetime) -> None:
    """Moves a failed ticket's retention mark RETRY_AFTER later (the next night's run tries again),
    so the pages behind it are reached; a ticket that moved on meanwhile is left to its new mark."""
    ticket = _fresh(code)
    try:
        if ticket is not None and ticket.watch_stage == schedule.PURGE_STAGE:
            store.move_watch(ticket, now + RETRY_AFTER)
    except Exception as exc:  # it stays due: the page is smaller by it next time, never stuck on it
        logger().error("retention could not postpone a ticket", extra={"ticket": code,
                                                                       "error_type": type(exc).__name__})


def _apply_schedule(ticket: TicketModel, ref: ReferenceData, now: datetime, counts: dict[str, int]) -> None:
    if ticket.anonymised_at is not None:
        store.move_watch(ticket, None)
        return
    if ticket.anonymising_at is not None:  # a run stopped halfway through it: this one finishes it
        anonymise_ticket(ticket, now, SYSTEM, "retention")
        counts["anonymised"] += 1
        return
    messages = outbound.of_ticket(ticket.tracking_code)
    held = [m for m in messages if m.text != store.ERASED and m.state not in store.WAITING]
    facts = schedule.TicketFacts(
        open=is_open(Status(ticket.status)), category=ticket.category, last_activity=_last_activity(ticket),
        kept_because=_kept_because(ticket, ref), texts_sent=tuple(m.created_at for m in held),
        has_photos=bool(_photo_keys(ticket) or ticket.photos_public or _follow_up_photos(ticket)))
    plan = schedule.plan(ref.retention, facts, now)
    if plan.anonymise:
        anonymise_ticket(ticket, now, SYSTEM, "retention")
        counts["anonymised"] += 1
        logger().info("ticket anonymised (retention)", extra={"ticket": ticket.tracking_code})
        return
    if plan.kept_because:
        counts["kept"] += 1
    if plan.clear_texts_sent_by is not None:
        for message in held:
            if message.created_at <= plan.clear_texts_sent_by:
                store.clear_text(message)
                counts["texts_cleared"] += 1
    if plan.remove_photos:
        _remove_photos(ticket, now)  # version-checked: the ticket's version moves on with it
        counts["photos_removed"] += 1
    store.move_watch(ticket, plan.next_check)
    counts["rescheduled"] += 1


def _remove_photos(ticket: TicketModel, now: datetime) -> None:
    """Deletes the ticket's photos and public copies (their time has come before the ticket's)."""
    deleted = _delete_photos(ticket) + _delete_message_photos(ticket, _follow_up_photos(ticket))
    body = store.body(ticket.tracking_code)
    if body is not None:
        kept = [a.attribute_values for a in body.attachments or [] if not photos.is_photo_key(a.key)]
        store.strip_body(body, body.text, kept, reporter=False)
    store.remove_photos(ticket, tickets.NewEvent("photos_removed", SYSTEM, now, detail={"photos_deleted": deleted}))


def enrol_existing(now: datetime, retention: schedule.Retention, page: int = ENROL_PAGE, pages: int = 1,
                   until: float | None = None) -> int:
    """Puts tickets stored before the retention watch existed on it, up to `pages` pages of `page`
    tickets (fewer once the monotonic clock passes `until`): walks the by_month index back from the
    current month (a cursor remembers where) until ENROL_EMPTY_MONTHS months in a row hold no
    ticket, then stays done. Returns how many it enrolled."""
    import time

    enrolled = 0
    for _ in range(pages):
        done, count = _enrol_page(now, retention, page)
        enrolled += count
        if done or (until is not None and time.monotonic() > until):
            break
    return enrolled


def _enrol_page(now: datetime, retention: schedule.Retention, page: int) -> tuple[bool, int]:
    """One page of the enrolment walk; returns (whether the walk is done, how many it enrolled)."""
    import json

    cursor = cursors.read("retention_enrol")
    if cursor.value == "done":
        return True, 0
    month, start, empty = f"{now.astimezone(timezone.utc):%Y-%m}", None, 0
    if cursor.value:
        state = json.loads(cursor.value)
        month, start, empty = state["month"], state["after"], state["empty"]
    found, after = store.of_month(month, page, start)
    enrolled = 0
    for ticket in found:
        if ticket.watch_stage is None and ticket.anonymised_at is None:
            try:
                store.enrol(ticket, schedule.purge_watch(ticket.tracking_code,
                                                         schedule.first_check(retention, ticket.created_at)))
                enrolled += 1
            except Conflict:
                continue
    if after is not None:
        value = json.dumps({"month": month, "after": after, "empty": 0})
    else:
        empty = 0 if found or start else empty + 1
        value = "done" if empty >= ENROL_EMPTY_MONTHS else json.dumps(
            {"month": _month_before(month), "after": None, "empty": empty})
    cursors.save(cursor, value, now)
    return value == "done", enrolled


def _month_before(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - (number == 1)}-{(number - 2) % 12 + 1:02d}"
