"""Use case: a message from a citizen by SMS, Zalo or Messenger (the inbound consumer); a Messenger
delivery / read receipt marks our own messages (chalicelib.store.receipts).

One provider message has at most one effect, however often it is delivered: every effect is
written in one transaction with the message's dedup marker.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from chalicelib import queues
from chalicelib.config import settings
from chalicelib.domain import replies
from chalicelib.domain.errors import AlreadyExists, Conflict, TooManyRequests
from chalicelib.domain.lifecycle import LABELS_VI, Status, check_transition
from chalicelib.domain.messages import MESSAGING_APPS, InboundMessage
from chalicelib.domain.notice import notice_version, outbound_text_days
from chalicelib.domain.text import fold
from chalicelib.domain.satisfaction import parse_rating
from chalicelib.domain.satisfaction import thanks as survey_thanks
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.threading import Decision, SenderTicket, decide, ticket_topic, topic_of
from chalicelib.observability import count, logger
from chalicelib.domain.status_links import new_token
from chalicelib.services import routing, satisfaction, status_links
from chalicelib.services.intake import public_summary, store_new_ticket
from chalicelib.store import outbound, receipts, tickets
from chalicelib.store.models import OutboundModel, TicketModel
from chalicelib.store.reference import load_reference

ATTACHMENT_ONLY_TEXT = "[Tin nhắn không có chữ, chỉ có tệp/ảnh đính kèm]"
BLANK_TEXT = "[Tin nhắn trống]"
HOLD_AFTER_REPEATS = 20  # the same text this many times in a day from one sender is held for operators
_FOLLOWS_UP = ("answered_long_ago", "quiet")
REOPEN_REASON = "Người dân nhắn tin lại sau khi phản ánh đã được trả lời."
# Why a message from a sender with an earlier ticket became a ticket of its own (the new ticket's timeline).
SPLIT_REASONS = {
    "another_topic": "Nội dung thuộc lĩnh vực khác với phản ánh {code} đang xử lý nên được tiếp nhận thành phản ánh mới.",
    "another_area": "Nội dung nói về địa bàn khác với phản ánh {code} đang xử lý nên được tiếp nhận thành phản ánh mới.",
    "answered_long_ago": "Người dân nhắn tin lại khi phản ánh {code} đã trả lời quá thời hạn mở lại nên được "
                         "tiếp nhận thành phản ánh mới.",
    "not_open": "Người dân nhắn tin lại về phản ánh {code} đã kết thúc xử lý nên được tiếp nhận thành phản ánh mới.",
    "quiet": "Phản ánh {code} đã lâu không có cập nhật nên tin nhắn được tiếp nhận thành phản ánh mới.",
}


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def _repeat_counter(message: InboundMessage, text: str, now: datetime) -> str:
    """Counts the same text from the same sender today, whether it opened a ticket or joined one
    (inside the write's own transaction: no extra call)."""
    return f"REPEAT#{_digest(message.sender + '#' + fold(text))}#{now:%Y%m%d}"


def _hold(message: InboundMessage, fields: dict[str, object], first: tickets.NewEvent, why: str) -> str:
    """Stores the message as a ticket held in triage for an operator: no acknowledgement, no routing."""
    held = {**fields, "status": Status.TRIAGE.value, "held": True,
            "text": fields["text"] if why != "blank" else BLANK_TEXT}
    event = tickets.NewEvent(kind="held", actor=first.actor, at=first.at, detail={**(first.detail or {}), "why": why})
    code, stored = store_new_ticket(held, event, message.dedup_key)
    if stored is None:
        return "duplicate"
    logger().warning("message held for operators", extra={"ticket": code, "why": why, "channel": message.channel})
    return "held"


def receive(message: InboundMessage, now: datetime | None = None, read_again: bool = True) -> str:
    """Handles one inbound message; returns what happened ('created', 'appended', 'reopened', 'status',
    'rated', 'welcomed', 'ignored', 'duplicate', 'receipt'). A lone 1-5 answers a waiting satisfaction survey;
    where any other message goes is chalicelib.domain.threading's decision.
    Raises Conflict when the ticket it joins changed between our read and our write twice running
    (`read_again`: decide once more on a fresh read after the first)."""
    now = now or datetime.now(timezone.utc)
    if message.kind == "unfollow":
        return "ignored"
    if message.kind in ("delivered", "read"):  # a Messenger receipt: marks our messages, opens nothing
        receipts.record(message.sender, message.kind, message.received_at, tuple(message.text.split()), now)
        return "receipt"
    if message.channel == "facebook" and message.attachments:
        message = _kept_photos(message)
    if message.kind == "follow":
        return _answer(message, replies.usage(settings().hotline, notice_link()), None, now, kind="welcome")
    history = _history(message)
    rating = parse_rating(message.text)
    if rating is not None and message.kind == "message":
        reply = None
        if message.channel in MESSAGING_APPS:  # thanked in the app (free); by SMS the answer was the last message
            reply = _outbound(message, "rating_thanks", survey_thanks(rating).for_channel(message.channel), now)
            _with_device(reply, message)
        rated = satisfaction.rate_by_reply(history, rating, message.channel, now, message.dedup_key, reply)
        if rated == "duplicate":
            return "duplicate"
        if rated is not None:
            if reply is not None:
                queues.send_notifications([(reply.pk, reply.sk)])
            return "rated"
    ref = load_reference()
    decision = decide(message.text, [_sender_ticket(t, ref) for t in history], now, settings().tracking_prefix,
                      topic_of(message.text, ref), ref.threading)
    if decision.kind == "status_query":
        return _status_query(message, decision.tracking_code, history, now)
    if decision.kind in ("append", "reopen") and decision.tracking_code:
        ticket = next(t for t in history if t.tracking_code == decision.tracking_code)
        try:
            if decision.kind == "reopen":
                return _reopen(message, ticket, decision.text, now, ref)
            return _append(message, ticket, decision.text, now)
        except Conflict:
            if not read_again:
                raise
            # Routing (or staff) changed the ticket since we read it, often the first message's own
            # routing: decide again on a fresh read now rather than after SQS's visibility timeout.
            return receive(message, now, read_again=False)
    earlier = next((t for t in history if t.tracking_code == decision.related_to), None)
    return _create(message, decision.text, now, decision, earlier)


def _kept_photos(message: InboundMessage) -> InboundMessage:
    """Meta's image links (fbcdn, lookaside) expire: each image is copied into the photo bucket, shown
    to staff as a web form's photos are. The key is drawn from the message's own id, so a redelivery
    writes the same object. A copy that fails (gone, too big, not an image, S3 down) keeps the link:
    the message itself is never lost for it."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.channels import facebook
    from chalicelib.domain.images import CONTENT_TYPES, MAX_BYTES, sniff
    from chalicelib.store import photos

    import time

    kept, deadline = [], time.monotonic() + facebook.COPY_BUDGET_S
    for index, attachment in enumerate(message.attachments):
        if attachment.get("type") == "image" and not photos.is_photo_key(attachment.get("url", "")):
            try:
                data, _ = facebook.fetch_image(attachment.get("url", ""), MAX_BYTES, settings().facebook_media_hosts,
                                               deadline)
                content_type = sniff(data)
                if content_type is None:
                    raise facebook.NotKept("type")
                key = photos.keep_copy(f"{message.dedup_key}#{index}", data, content_type, CONTENT_TYPES[content_type])
                attachment = {**attachment, "url": key, "type": content_type}  # shown as an uploaded photo is
            except (facebook.NotKept, BotoCoreError, ClientError) as exc:
                count("MessengerPhotoNotKept", reason=str(exc.args[0]) if isinstance(exc, facebook.NotKept)
                      else "s3")
                logger().warning("messenger photo kept as a link only", extra={"why": type(exc).__name__})
        kept.append(attachment)
    return replace(message, attachments=kept)


def _history(message: InboundMessage) -> list[TicketModel]:
    """The sender's tickets, newest first: by phone for SMS; by app user id (a Zalo id, a Messenger
    PSID) otherwise. Both apps' ids share the by_zalo index, so only this channel's tickets count."""
    if message.channel not in MESSAGING_APPS:
        return tickets.by_phone(message.sender)
    return [t for t in tickets.by_zalo(message.sender) if t.channel == message.channel]


def _sender_ticket(ticket: TicketModel, ref: ReferenceData) -> SenderTicket:
    """What threading weighs of one of the sender's tickets (a ticket in triage: what its text says)."""
    category, area = ticket_topic(ticket.text or "", ref, ticket.category, ticket.area)
    return SenderTicket(ticket.tracking_code, ticket.status, ticket.updated_at, ticket.answered_at, category, area)


def notice_link() -> str | None:
    """The privacy notice's address for messages (None when the site's address is not configured)."""
    return settings().public_url("/rieng-tu")


def _reply_provider(message: InboundMessage) -> str:
    """Replies go back the way the message came; SMSSync replies wait for the phone to poll."""
    return message.reply_via.split(":", 1)[0] if message.reply_via else settings().sms_provider


def _outbound(message: InboundMessage, kind: str, text: str, now: datetime) -> OutboundModel:
    item = outbound.new_outbound(kind, message.channel, _reply_provider(message), message.sender, text, now)
    item.reply_to = message.quotable_id
    return item


def _answer(message: InboundMessage, reply: replies.Reply, code: str | None, now: datetime, kind: str) -> str:
    item = _outbound(message, kind, reply.for_channel(message.channel), now)
    _with_device(item, message)
    expires = None if code else now + timedelta(days=outbound_text_days(load_reference()))
    try:
        tickets.store_reply(message.dedup_key, item, code, expires)
    except AlreadyExists:
        return "duplicate"
    queues.send_notifications([(item.pk, item.sk)])
    return "status" if kind == "status" else "welcomed"


def _with_device(item: OutboundModel, message: InboundMessage) -> None:
    # SMSSync phones fetch their own queue: remember which phone should send the reply.
    if message.reply_via.startswith("smssync:"):
        item.provider_ref = message.reply_via.split(":", 1)[1] or "default"


def _status_query(message: InboundMessage, code: str | None, history: list[TicketModel], now: datetime) -> str:
    """Answers `TT <code>` only to the phone / Zalo id that reported it; anyone else gets the
    same 'not found' as an unknown code."""
    own = next((t for t in history if t.tracking_code == code), None)
    if own is None:
        return _answer(message, replies.not_found(settings().hotline), None, now, kind="status")
    ref = load_reference()
    agency = ref.agencies.get(own.agency or "")
    reply = replies.status(own.tracking_code, LABELS_VI[Status(own.status)], agency.name if agency else None)
    return _answer(message, reply, own.tracking_code, now, kind="status")


def _event(message: InboundMessage, text: str, kind: str) -> tickets.NewEvent:
    detail = {"channel": message.channel, "provider": message.provider, "text": text,
              "attachments": message.attachments, "location": list(message.location) if message.location else None}
    return tickets.NewEvent(kind=kind, actor=f"citizen:{message.channel}", at=message.received_at, detail=detail)


def _append(message: InboundMessage, ticket: TicketModel, text: str, now: datetime) -> str:
    try:
        tickets.append_message(ticket, _event(message, text or ATTACHMENT_ONLY_TEXT, "message_in"),
                               message.dedup_key, now, counter=_repeat_counter(message, text, now),
                               quotable_id=message.quotable_id)
    except AlreadyExists:
        return "duplicate"
    # A Conflict (the ticket changed since we read it) propagates: `receive` reads again.
    logger().info("message threaded", extra={"ticket": ticket.tracking_code, "channel": message.channel})
    return "appended"


def _reopen(message: InboundMessage, ticket: TicketModel, text: str, now: datetime, ref: ReferenceData) -> str:
    """The citizen wrote again soon after the answer: the message joins the ticket, which goes back
    into the open queues with the category's whole allowed time from now (as a reopen by staff), and
    the citizen is told which ticket has their message. Conflict propagates: `receive` reads again."""
    check_transition(Status(ticket.status), Status.REOPENED, {"reason": REOPEN_REASON})
    reply = _outbound(message, "reopened", replies.reopened(ticket.tracking_code, settings().hotline)
                      .for_channel(message.channel), now)
    _with_device(reply, message)
    reopened = tickets.NewEvent(kind="reopened", actor=f"citizen:{message.channel}", at=now,
                                public_text="Phản ánh được mở lại để xử lý tiếp.", detail={"reason": REOPEN_REASON})
    changes = {"overdue": False, **routing.deadline_changes(ticket, ref, ticket.category, start=now)}
    try:
        tickets.append_and_reopen(ticket, _event(message, text or ATTACHMENT_ONLY_TEXT, "message_in"), reopened,
                                  message.dedup_key, now, changes, counter=_repeat_counter(message, text, now),
                                  quotable_id=message.quotable_id, outbound=[reply])
    except AlreadyExists:
        return "duplicate"
    queues.send_notifications([(reply.pk, reply.sk)])
    logger().info("ticket reopened by the citizen's message", extra={"ticket": ticket.tracking_code,
                                                                      "channel": message.channel})
    return "reopened"


def _create(message: InboundMessage, text: str, now: datetime, decision: Decision | None = None,
            earlier: TicketModel | None = None) -> str:
    """A new ticket; with `decision.related_to`, linked to the sender's `earlier` ticket. One that
    follows up an answered or quiet ticket (not one split off as another subject) starts with its
    category and commune, so routing sends it where the earlier one went."""
    fields = {
        "channel": message.channel,
        "reporter_phone": message.sender if message.channel == "sms" else None,
        "reporter_zalo_id": message.sender if message.channel in MESSAGING_APPS else None,
        "text": text or ATTACHMENT_ONLY_TEXT,
        "public_summary": public_summary(text or ATTACHMENT_ONLY_TEXT),
        "attachments": [{"key": a.get("url", ""), "filename": a.get("name", ""), "content_type": a.get("type", "")}
                        for a in message.attachments],
        "lat": message.location[0] if message.location else None,
        "lon": message.location[1] if message.location else None,
        "reply_via": message.reply_via or None,
        "last_inbound_at": message.received_at,
        "last_inbound_ref": message.quotable_id,
        "status": Status.RECEIVED.value,
        "related_to": decision.related_to if decision else None,
        "category": earlier.category if earlier and decision and decision.why in _FOLLOWS_UP else None,
        "area": earlier.area if earlier and decision and decision.why in _FOLLOWS_UP else None,
        # Nobody ticks a box by SMS or Zalo: the acknowledgement links the notice, nothing is
        # published, and answers go back where the citizen wrote from (the service itself).
        "consent_publish": False,
        "consent_contact": False,
        "notice_version": None,  # until the acknowledgement carries the notice's link (none when held)
        "created_at": now,
        "updated_at": now,
    }
    first = _event(message, text, "created")
    related = decision.related_to if decision else None
    detail = {**(first.detail or {}), **({"related_to": related, "reason": SPLIT_REASONS[decision.why or "not_open"]
                                          .format(code=related)} if decision and related else {})}
    first = tickets.NewEvent(kind=first.kind, actor=first.actor, at=first.at,
                             public_text="Đã tiếp nhận phản ánh.", detail=detail)
    # The reporter's status link rides in the acknowledgement (drawn once: a code drawn again keeps it).
    token = new_token() if settings().public_url("/") else None
    status_link = status_links.url(token) if token else None

    def acknowledgement(code: str) -> list[OutboundModel]:
        link = notice_link()
        split = bool(decision and decision.why in ("another_topic", "another_area"))
        text = replies.acknowledgement(code, settings().hotline, link, related, split,
                                       status_link=status_link).for_channel(message.channel)
        # The notice was given only if this message links it: an SMS that had to drop the link to stay
        # one segment (or a site with no address configured) records none.
        fields["notice_version"] = notice_version(load_reference()) if link and link in text else None
        ack = _outbound(message, "ack", text, now)
        _with_device(ack, message)
        return [ack]

    if not text.strip() and not message.attachments:
        return _hold(message, fields, first, "blank")
    try:
        code, stored = store_new_ticket(fields, first, message.dedup_key, acknowledgement,
                                        limits=[(_repeat_counter(message, text, now), HOLD_AFTER_REPEATS - 1)],
                                        status_link=token)
    except TooManyRequests:
        return _hold(message, fields, first, "repeated")
    if stored is None:
        return "duplicate"
    (ack,) = stored
    # One message: routing, then the acknowledgement. If it is lost, the sweeper finds both
    # (the ticket is still `received`, the ack still pending).
    queues.send_routing(code, notify=[(ack.pk, ack.sk)])
    logger().info("ticket created", extra={"ticket": code, "channel": message.channel})
    return "created"
