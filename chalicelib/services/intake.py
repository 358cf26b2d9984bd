"""Use case: a citizen's report becomes a ticket, its first timeline event and a routing message."""
from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable

from chalicelib import queues
from chalicelib.config import settings
from chalicelib.domain.errors import AlreadyExists, DomainError
from chalicelib.domain.lifecycle import LABELS_VI, Status
from chalicelib.domain.notice import notice_version
from chalicelib.domain.reports import Submission, due_at_for
from chalicelib.domain.status_links import REPORTER
from chalicelib.domain.tracking import new_code
from chalicelib.observability import logger
from chalicelib.store import tickets
from chalicelib.store.reference import load_reference

_CODE_ATTEMPTS = 5


class IdempotencyKeyReused(DomainError):
    message_vi = "Mã Idempotency-Key này đã được dùng cho một phản ánh khác."
    message_en = "This Idempotency-Key was already used for a different report."


class SubmissionInProgress(DomainError):
    message_vi = "Phản ánh này đang được xử lý, vui lòng đợi giây lát."
    message_en = "This submission is still being processed; please wait a moment."


def submit(submission: Submission, idempotency_key: str | None = None, context: Any = None,
           form_token: str | None = None, source_ip: str | None = None) -> dict[str, Any]:
    """Creates the ticket and returns the receipt {tracking_code, status, status_label, due_at}.

    With an API idempotency key (Powertools, its own table), a retry returns the first receipt
    and writes no ticket; the same key with a different report raises IdempotencyKeyReused. The
    stored receipt holds no status link (the idempotency table keeps it 24 h): the first answer
    carries the link drawn with the ticket, a retry a fresh one for the same ticket.
    With a form token (the hidden field of one rendered form), posting the same content twice
    gives one ticket at no extra AWS call: the marker rides in the ticket's own transaction.
    Edited content under the same token (back button, fix, resend) is a new report.
    Citizens' reports count against an hourly limit per source IP and per phone (in the ticket's own
    transaction; TooManyRequests, nothing stored); uploaded photos must be there and be images.
    """
    limits = _limits(submission, source_ip)
    if form_token:
        return _create(submission, dedup_key=f"form#{form_token}#{_fingerprint(submission)}", limits=limits)
    if not idempotency_key:
        return _create(submission, limits=limits)
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    function, config = _idempotent_create()
    if context is not None:
        config.register_lambda_context(context)
    drawn = _DRAWN.set(None)
    try:
        receipt = function(request={"key": idempotency_key, "submission": asdict(submission), "limits": limits})
        path = _DRAWN.get()
    except IdempotencyValidationError as exc:
        raise IdempotencyKeyReused() from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise SubmissionInProgress() from exc
    finally:
        _DRAWN.reset(drawn)
    if path is None and not submission.entered_by:  # a retry: the stored receipt has no link
        from chalicelib.services import status_links

        path = status_links.page_path(status_links.issue(receipt["tracking_code"], REPORTER))
    return {**receipt, "status_path": path} if path else receipt


# The status link drawn by the idempotent create of this request: handed to `submit` beside the
# receipt, so the receipt Powertools stores never holds it.
_DRAWN: ContextVar[str | None] = ContextVar("status_path_drawn", default=None)


@lru_cache(maxsize=1)
def _idempotent_create() -> tuple[Callable[..., dict[str, Any]], Any]:
    """Builds the Powertools-wrapped create on first use (its imports cost ~60 ms of cold start)."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    from chalicelib.store.idempotency import persistence_layer

    persistence = persistence_layer()
    config = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="submission",
                               expires_after_seconds=24 * 3600)

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def create(request: dict[str, Any]) -> dict[str, Any]:
        receipt = _create(Submission(**request["submission"]), limits=[tuple(x) for x in request.get("limits") or []])
        _DRAWN.set(receipt.pop("status_path", None))
        return receipt

    return create, config


def _fingerprint(submission: Submission) -> str:
    canonical = json.dumps(asdict(submission), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]


def _receipt(code: str, status: Status, due_at: datetime | None, link: str | None = None) -> dict[str, Any]:
    """The receipt; `link`, the reporter's status link token, rides in it as a route path
    (`status_path`, '/s/<token>') for the page or API answer to show (phone intake has none)."""
    from chalicelib.services import status_links

    receipt = {"tracking_code": code, "status": status.value, "status_label": LABELS_VI[status],
               "due_at": due_at.isoformat() if due_at else None}
    return {**receipt, "status_path": status_links.page_path(link)} if link else receipt


def _limits(submission: Submission, source_ip: str | None) -> list[tuple[str, int]]:
    """Hourly counters for a citizen's own report (operators entering calls are not limited)."""
    if submission.entered_by:
        return []
    limits = []
    hour = datetime.now(timezone.utc).strftime("%Y%m%d%H")
    if source_ip:
        limits.append((f"FORM#IP#{_digest(source_ip)}#{hour}", settings().form_cap_per_ip_hour))
    if submission.phone:
        limits.append((f"FORM#PHONE#{_digest(submission.phone)}#{hour}", settings().form_cap_per_phone_hour))
    return limits


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def check_photos(submission: Submission) -> Submission:
    """Returns the submission with its uploaded photos claimed (copied to keys of their own).
    Raises ValidationFailed unless every photo is in the bucket, at most 10 MB, and really the image
    type its name says (read from the first bytes of the claimed copy, which nobody can change)."""
    from dataclasses import replace

    from chalicelib.domain.errors import FieldError, ValidationFailed
    from chalicelib.domain.images import MAX_BYTES, sniff
    from chalicelib.store import photos

    claimed = []
    for attachment in submission.attachments:
        if not photos.is_upload_key(attachment.get("key", "")):
            claimed.append(attachment)
            continue
        found = photos.uploaded(attachment["key"])
        if found is not None:
            attachment = {**attachment, "key": photos.claim(attachment["key"])}
            found = photos.uploaded(attachment["key"])
        if found is None:
            raise ValidationFailed([FieldError("photos", "Ảnh chưa tải lên xong, vui lòng chọn lại ảnh.",
                                               "A photo has not finished uploading; please choose it again.")])
        size, head = found
        kind = sniff(head)
        expected = attachment.get("content_type")
        if size > MAX_BYTES or kind is None or (kind != expected and {kind, expected} != {"image/heic", "image/heif"}):
            raise ValidationFailed([FieldError("photos", "Chỉ nhận ảnh JPEG, PNG, HEIC, tối đa 10 MB mỗi ảnh.",
                                               "Only JPEG, PNG or HEIC images up to 10 MB each.")])
        claimed.append(attachment)
    return replace(submission, attachments=claimed) if submission.attachments else submission


def _create(submission: Submission, now: datetime | None = None, dedup_key: str | None = None,
            limits: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    from chalicelib.domain.status_links import new_token
    from chalicelib.services import status_links

    now = now or datetime.now(timezone.utc)
    submission = check_photos(submission)  # after the dedup fingerprint and idempotency payload were taken
    ref = load_reference()
    due_at = due_at_for(submission, ref, now)
    fields = {
        "channel": submission.channel,
        "reporter_name": submission.name or None,
        "reporter_phone": submission.phone or None,
        "reporter_email": submission.email or None,
        "entered_by": submission.entered_by,
        "text": submission.description,
        "category": submission.category,
        "area": submission.area,
        "address": submission.address or None,
        "lat": submission.lat,
        "lon": submission.lon,
        "attachments": submission.attachments,
        "consent_publish": submission.consent_publish,
        "consent_contact": submission.consent_contact,
        "notice_version": notice_version(ref),
        "public_summary": public_summary(submission.description, submission.name),
        "status": Status.RECEIVED.value,
        "due_at": due_at,
        "created_at": now,
        "updated_at": now,
    }
    first = tickets.NewEvent(kind="created", actor=submission.entered_by or f"citizen:{submission.channel}",
                             at=now, public_text="Đã tiếp nhận phản ánh.")
    # A caller gets no message from us: the operator reads out the code, and the caller's own phone
    # opens /tra-cuu. Everyone else reads their status link on the page or in the answer they got.
    link = None if submission.entered_by else new_token()
    # A reporter who gave an e-mail address gets the link by e-mail too: the page shows it once, and
    # an e-mail-only reporter (Open311) has no phone digits for /tra-cuu.
    by_email = bool(link and submission.email)
    code, created = store_new_ticket(fields, first, dedup_key, limits=limits, status_link=link,
                                     outbound_for=lambda code: [_acknowledgement_email(code, submission, link, now)]
                                     if by_email else [])
    if created is None:
        ticket = tickets.get_ticket(code)
        # The same form posted twice (a double click): the page the browser shows is the second
        # answer, so it carries a link too; only the one who holds the form's token gets here.
        again = status_links.issue(code, REPORTER, now) if dedup_key and link else None
        return _receipt(code, Status(ticket.status), ticket.due_at, again)
    _ask_routing(code, [(m.pk, m.sk) for m in created])
    logger().info("ticket created", extra={"ticket": code, "channel": submission.channel})
    return _receipt(code, Status.RECEIVED, due_at, link)


def _acknowledgement_email(code: str, submission: Submission, token: str | None, now: datetime) -> Any:
    """The acknowledgement e-mail to a reporter who gave an e-mail address, with their status link
    (an automated reply: the hourly cap per recipient applies, so an address typed into many
    reports gets a few)."""
    from chalicelib.domain.replies import acknowledgement_email
    from chalicelib.services import status_links
    from chalicelib.store import outbound

    subject, text = acknowledgement_email(code, settings().hotline, status_links.url(token) if token else None,
                                          settings().public_url("/rieng-tu"), by_sms=bool(submission.phone))
    item = outbound.new_outbound("ack", "email", "ses", submission.email, text, now)
    item.subject = subject
    return item


def public_summary(text: str, name: str | None = None) -> str:
    """What duplicate suggestions show of a ticket: the start of its text, personal data masked."""
    from chalicelib.domain.redact import redact

    return redact(text[:2000], [name] if name else [])[:160]


def store_new_ticket(fields: dict[str, Any], first: tickets.NewEvent, dedup_key: str | None,
                     outbound_for: Callable[[str], list[Any]] = lambda code: [],
                     limits: list[tuple[str, int]] | None = None,
                     status_link: str | None = None) -> tuple[str, list[Any] | None]:
    """Stores a new ticket under a fresh tracking code, with the messages `outbound_for(code)`
    gives and, with `status_link` (a token), the reporter's status link, all in one transaction;
    returns (code, those messages).

    When `dedup_key` shows the same submission/message was stored before, returns that ticket's
    (code, None) and writes nothing. Every ticket starts on the retention watch (routing moves a
    ticket with a deadline to the deadline watch, which hands it back when it stops).
    """
    from chalicelib.domain import retention
    from chalicelib.store import status_links

    start = retention.first_check(load_reference().retention, fields["created_at"])
    for _ in range(_CODE_ATTEMPTS):
        code = new_code(settings().tracking_prefix)
        messages = outbound_for(code)
        try:
            link = status_links.items(status_link, code, REPORTER, fields["created_at"]) if status_link else None
            tickets.create_ticket({**fields, "tracking_code": code, **retention.purge_watch(code, start)}, first,
                                  dedup_key, messages, limits, also=link)
            return code, messages
        except AlreadyExists:
            earlier = tickets.deduplicated(dedup_key) if dedup_key else None
            if earlier is not None:
                return earlier, None
            logger().warning("tracking code collision, drawing again")
    raise AlreadyExists()


def _ask_routing(code: str, notify: list[tuple[str, str]] | None = None) -> None:
    """Queues routing, then the ticket's `notify` messages (keys); if SQS fails the ticket and its
    messages are already safe and the sweepers re-queue them."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        queues.send_routing(code, notify=notify or [])
    except (BotoCoreError, ClientError):
        logger().warning("routing message not sent; sweeper will retry", extra={"ticket": code})


SIMILAR_CANDIDATES = 30  # the newest open tickets of the place that the ranking reads
SIMILAR_SHOWN = 5


def similar(category: str | None, area: str | None, text: str | None = None, address: str | None = None,
            lat: float | None = None, lon: float | None = None) -> list[dict[str, Any]]:
    """Open tickets of the same category in the same commune that may be about the same matter, best
    first, as public summaries (no personal data): what a citizen may want to follow instead of filing
    the same report again. With the new report's text, address or location they are ranked by the
    words and places they share and by distance, and one about another street or far away is left out
    (chalicelib.domain.similarity); without, the newest come first."""
    from chalicelib.domain import similarity
    from chalicelib.domain.clock import local_text

    ref = load_reference()
    # Confidential categories (denunciations) are never suggested: not even that one exists.
    if not category or not area or category not in ref.categories or ref.categories[category].confidential:
        return []
    report = similarity.Place(" ".join(filter(None, [text, address])), lat, lon)
    compared = bool(report.text.strip()) or report.located
    found = tickets.open_at_place(category, area, limit=SIMILAR_CANDIDATES if compared else SIMILAR_SHOWN,
                                  whole=compared)
    common = similarity.common_words(phrase for phrase, _ in ref.categories[category].keywords)
    ranked = similarity.rank(report, [(t, similarity.Place(" ".join(filter(None, [t.text, t.address])), t.lat, t.lon))
                                      for t in found], common, limit=SIMILAR_SHOWN)
    return [{"code": t.tracking_code, "category": ref.categories[t.category].name if t.category in ref.categories
             else None, "area": ref.areas[t.area].name if t.area in ref.areas else None,
             "created": local_text(t.created_at), "status_label": LABELS_VI[Status(t.status)],
             "summary": t.public_summary or ""} for t, _ in ranked]


MAX_FOLLOWERS = 40  # one answer is one transaction: the reporter, the followers and the survey must fit


def _followable(code_text: str) -> str:
    """The code of an existing ticket; raises NotFound."""
    from chalicelib.domain.errors import NotFound
    from chalicelib.domain.tracking import parse_code

    code = parse_code(code_text, settings().tracking_prefix)
    if code is None:
        raise NotFound()
    return code


def _check_open_to_follow(ticket: Any) -> None:
    """Raises ValidationFailed unless strangers may follow the ticket: open, not confidential, not full."""
    from chalicelib.domain.errors import FieldError, ValidationFailed
    from chalicelib.domain.lifecycle import is_open

    category = load_reference().categories.get(ticket.category or "")
    if not is_open(Status(ticket.status)) or not ticket.place_open or (category and category.confidential):
        raise ValidationFailed([FieldError("code", "Phản ánh này không còn mở để theo dõi.",
                                           "This report is no longer open to follow.")])
    if len(ticket.followers or []) >= MAX_FOLLOWERS:
        raise ValidationFailed([FieldError("code", "Phản ánh này đã có nhiều người theo dõi; bạn có thể gửi "
                                           "phản ánh mới hoặc tra cứu bằng mã.",
                                           "This report has many followers already; send your own report.")])


def follow(code_text: str, phone_text: str, now: datetime | None = None, source_ip: str | None = None) -> str:
    """Asks to follow an open ticket by SMS: sends a one-time code to the phone, and the follow takes
    effect only when the code comes back (`follow_confirmed`), so nobody can make a stranger's number
    follow a ticket. Returns the code. Counts against the hourly limits per number and per source
    (one code SMS each); the same answer whether or not the number already follows or reported it.
    Raises ValidationFailed, NotFound, TooManyRequests."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.domain import replies, verification
    from chalicelib.domain.errors import TooManyRequests
    from chalicelib.domain.notice import outbound_text_days
    from chalicelib.domain.phones import normalise_phone
    from chalicelib.store import followers, outbound

    now = now or datetime.now(timezone.utc)
    phone = normalise_phone(phone_text)
    code = _followable(code_text)
    hour = now.strftime("%Y%m%d%H")
    if not outbound.take(f"FOLLOW#{_digest(phone)}#{hour}", now, settings().form_cap_per_phone_hour) or (
            source_ip and not outbound.take(f"FOLLOW#IP#{_digest(source_ip)}#{hour}", now,
                                            settings().form_cap_per_ip_hour)):
        raise TooManyRequests()
    _check_open_to_follow(tickets.get_ticket(code))
    secret = verification.new_secret()
    minutes = int(verification.VALID_FOR.total_seconds() // 60)
    text = replies.verification_code(code, secret, minutes).sms
    message = outbound.new_outbound("verify", "sms", settings().sms_provider, phone, text, now)
    followers.ask(phone, code, verification.secret_hash(secret), message, now, now + verification.VALID_FOR,
                  now + timedelta(days=outbound_text_days(load_reference())))
    try:
        queues.send_notifications([(message.pk, message.sk)])
    except (BotoCoreError, ClientError):  # stored pending: the sweeper sends it
        logger().warning("verification SMS not queued; sweeper will retry")
    return code


def follow_requested(code: str) -> dict[str, Any]:
    """The JSON answer to a follow request: nothing follows yet; the code is on its way by SMS."""
    from chalicelib.domain.verification import MAX_ATTEMPTS, VALID_FOR

    return {"tracking_code": code, "following": False, "verify_by": "sms",
            "expires_in": int(VALID_FOR.total_seconds()), "attempts": MAX_ATTEMPTS}


def follow_confirmed(code_text: str, phone_text: str, secret_text: str, now: datetime | None = None,
                     source_ip: str | None = None) -> dict[str, str]:
    """Makes the follow asked for with `follow` take effect once the phone's one-time code is given:
    the number then gets notices of the ticket's status (and its published answer), and a personal
    status link, stored with the follow. Returns {tracking_code, status_path} ('/s/<token>'; a number
    that follows or reported the ticket already gets a new link of its own).
    Each guess is counted before it is compared, so at most verification.MAX_ATTEMPTS guesses are ever
    compared against one code, however many arrive at once, within verification.VALID_FOR; then a new
    code is needed. Calls count against the hourly limit per source IP (as follow requests do).
    Raises ValidationFailed (field `otp`), NotFound, Conflict, TooManyRequests."""
    from chalicelib.domain import verification
    from chalicelib.domain.errors import Conflict, FieldError, TooManyRequests, ValidationFailed
    from chalicelib.domain.phones import normalise_phone
    from chalicelib.domain.status_links import FOLLOWER
    from chalicelib.services import status_links
    from chalicelib.store import followers, outbound

    now = now or datetime.now(timezone.utc)
    phone = normalise_phone(phone_text)
    code = _followable(code_text)
    if source_ip and not outbound.take(f"FOLLOW#VERIFY#IP#{_digest(source_ip)}#{now:%Y%m%d%H}", now,
                                       settings().form_cap_per_ip_hour):
        raise TooManyRequests()
    if verification.cleaned(secret_text) is None:  # a slip of the finger is not a guess: not counted
        raise ValidationFailed([FieldError("otp", f"Nhập đủ {verification.DIGITS} chữ số của mã xác nhận.",
                                           f"Enter the {verification.DIGITS} digits of the code.")])
    proof = followers.pending(phone, code)
    if proof is None or proof.expires_at is None or proof.expires_at <= now or not proof.secret_hash:
        raise ValidationFailed([FieldError("otp", "Mã xác nhận đã hết hạn hoặc chưa được gửi; hãy yêu cầu mã mới.",
                                           "The code has expired or was never sent; ask for a new one.")])
    used_up = ValidationFailed([FieldError("otp", "Đã nhập sai mã quá nhiều lần; hãy yêu cầu mã mới.",
                                           "Too many wrong codes; ask for a new one.")])
    counted = followers.count_attempt(proof, verification.MAX_ATTEMPTS, now)
    if counted is None:
        raise used_up
    if not verification.matches(proof.secret_hash, secret_text):
        left = verification.MAX_ATTEMPTS - counted
        if left <= 0:
            raise used_up
        raise ValidationFailed([FieldError("otp", f"Mã xác nhận không đúng (còn {left} lần thử).",
                                           f"Wrong code ({left} tries left).")])
    for _ in range(3):
        ticket = tickets.get_ticket(code)
        if phone == ticket.reporter_phone or any(f.recipient == phone for f in ticket.followers or []):
            followers.used(proof)
            reporter = phone == ticket.reporter_phone
            token = status_links.issue(code, REPORTER if reporter else FOLLOWER, now, None if reporter else phone)
            return {"tracking_code": code, "status_path": status_links.page_path(token)}
        _check_open_to_follow(ticket)
        follower = {"tracking_code": code, "channel": "sms", "provider": settings().sms_provider, "recipient": phone}
        event = tickets.NewEvent("follower_added", "citizen:web", now, detail={"channel": "sms", "verified": "sms"})
        token, link = status_links.new(code, FOLLOWER, now, phone)
        try:
            tickets.add_follower(ticket, follower, event, now, proof, verification.MAX_ATTEMPTS, also=link)
            return {"tracking_code": code, "status_path": status_links.page_path(token)}
        except Conflict:
            continue  # the ticket changed meanwhile (or the code was used in parallel): read it again
    raise Conflict()
