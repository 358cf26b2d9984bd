"""Knowledge-base articles (bài hỏi đáp): the official answers operators and citizens read.

An article has a working copy that staff edit and, once a supervisor publishes it, a live version
readers see. Editing a published article makes a new draft version; readers keep the live one until
that draft is published in its turn. Its lifecycle is a table:

    draft ──submit──▶ review ──publish──▶ published ──expire──▶ expired
      ▲                 │                     │  └──supersede──▶ superseded
      └─────return──────┘◀───── edit ─────────┘   (expired / superseded: edit → draft, publish again)

Pure rules only: who may do what (chalicelib/domain/permissions.py holds the roles), validation
(Vietnamese and English messages), validity at a moment, the short answer for SMS/Zalo, diffs.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Mapping

from chalicelib.domain.errors import DomainError, IllegalTransition, NotFound, collector
from chalicelib.domain.permissions import ADMIN, AGENCY_OFFICER, SUPERVISOR, StaffUser, allowed
from chalicelib.domain.text import fold, nfc

DRAFT, REVIEW, PUBLISHED, EXPIRED, SUPERSEDED = "draft", "review", "published", "expired", "superseded"
STATUSES = (DRAFT, REVIEW, PUBLISHED, EXPIRED, SUPERSEDED)
STATUS_LABELS_VI = {DRAFT: "Bản nháp", REVIEW: "Chờ duyệt", PUBLISHED: "Đã đăng", EXPIRED: "Hết hiệu lực",
                    SUPERSEDED: "Bị thay thế"}
ARTICLE, ANNOUNCEMENT = "article", "announcement"
KINDS = {ARTICLE: "Bài hỏi đáp", ANNOUNCEMENT: "Thông báo"}

# action -> (statuses it starts from, status it leads to). "save" keeps review as review, else draft.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({DRAFT}), REVIEW),
    "return": (frozenset({REVIEW}), DRAFT),
    "publish": (frozenset({DRAFT, REVIEW}), PUBLISHED),
    "expire": (frozenset({PUBLISHED}), EXPIRED),
    "supersede": (frozenset({PUBLISHED}), SUPERSEDED),
}
# Expire and supersede withdraw the LIVE version: they apply whenever one is set, even while an edit of
# it waits as a draft or in review (that working copy keeps its status; next_status(..., live=True)).
WITHDRAW = frozenset({"expire", "supersede"})
# Which permission each action needs (chalicelib/domain/permissions.py ACTIONS).
ACTION_PERMISSION = {"save": "kb_edit", "submit": "kb_edit", "return": "kb_publish", "publish": "kb_publish",
                     "expire": "kb_publish", "supersede": "kb_publish"}
ACTION_LABELS_VI = {"save": "Lưu", "submit": "Gửi duyệt", "return": "Trả lại để sửa", "publish": "Đăng",
                    "expire": "Thôi hiệu lực", "supersede": "Đánh dấu bị thay thế"}

MAX_QUESTIONS = 8
MAX_QUESTION = 300
MAX_TITLE = 200
MAX_ANSWER = 6000
SHORT_ANSWER = 300
MAX_SOURCE = 300
PDF_MAX_BYTES = 20 * 1024 * 1024
PDF_TYPE = "application/pdf"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}$")
_URL = re.compile(r"^https?://[^\s<>\"']{3,500}$")


class ArticleNotFound(NotFound):
    """No such article, or not one this reader may see (the same answer for both)."""

    message_vi = "Không tìm thấy bài hỏi đáp."
    message_en = "No such article."


class ArticleChanged(DomainError):
    """Somebody saved the article since this form was opened (409); the form keeps what was typed."""

    message_vi = ("Bài này vừa được người khác sửa. Nội dung bạn nhập vẫn giữ nguyên bên dưới: "
                  "hãy mở bài ở thẻ khác, xem thay đổi rồi lưu lại.")
    message_en = "Someone else changed this article meanwhile. Your text is kept below: review their change and save again."


@dataclass(frozen=True)
class Draft:
    """What an editor submits (validated): the content of one version."""

    kind: str
    title: str
    questions: tuple[str, ...]
    answer: str
    short_answer: str
    category: str
    agency: str
    source_number: str
    source_date: str | None
    source_body: str
    source_url: str
    valid_from: str | None
    valid_until: str | None

    def fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "questions": list(self.questions), "answer": self.answer,
                "short_answer": self.short_answer, "category": self.category, "agency": self.agency,
                "source_number": self.source_number, "source_date": self.source_date,
                "source_body": self.source_body, "source_url": self.source_url, "valid_from": self.valid_from,
                "valid_until": self.valid_until}


def may(user: StaffUser, action: str, agency: str | None) -> bool:
    """Whether `user` may do `action` on an article of `agency`: officers only on their own agency's
    articles and never publish; supervisors and admins on every article."""
    if not allowed(user, ACTION_PERMISSION.get(action, action)):
        return False
    if user.roles & {SUPERVISOR, ADMIN}:
        return True
    return AGENCY_OFFICER in user.roles and user.agency is not None and agency == user.agency


def may_see(user: StaffUser, agency: str | None, status: str = PUBLISHED) -> bool:
    """Every staff role reads every published article (operators answer from them); a working copy
    not published (draft, in review, expired, superseded) only its own agency's officers,
    supervisors and admins."""
    if not allowed(user, "kb_view"):
        return False
    return status == PUBLISHED or may_see_unpublished(user, agency)


def may_see_unpublished(user: StaffUser, agency: str | None) -> bool:
    """Whether `user` reads an article's versions that are not published: supervisors and admins,
    and the officers of the article's agency."""
    if user.roles & {SUPERVISOR, ADMIN}:
        return True
    return AGENCY_OFFICER in user.roles and user.agency is not None and agency == user.agency


def next_status(current: str, action: str, live: bool = False) -> str:
    """The status `action` leads to from `current` (`live`: a published version is live); raises
    IllegalTransition. Expiring or superseding the live version while a draft edit of it exists
    withdraws the live version and leaves the draft (or review) as it is."""
    if action == "save":
        return REVIEW if current == REVIEW else DRAFT
    starts, target = TRANSITIONS[action]
    if action in WITHDRAW and live and current in (DRAFT, REVIEW):
        return current
    if current not in starts:
        raise IllegalTransition(current, target)
    return target


def actions_for(user: StaffUser, status: str, agency: str | None, live: bool = False) -> list[str]:
    """The buttons the article page offers `user` (save first); `live`: a published version is live."""
    offered = []
    for action in ("save", "submit", "return", "publish", "expire", "supersede"):
        if not may(user, action, agency):
            continue
        if action == "save" or status in TRANSITIONS[action][0] or (action in WITHDRAW and live):
            offered.append(action)
    return offered


def short_answer(answer: str, limit: int = SHORT_ANSWER) -> str:
    """The answer cut to `limit` characters at a sentence or word boundary (for SMS and Zalo)."""
    text = " ".join(answer.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    sentence = max(cut.rfind(". "), cut.rfind("; "))
    if sentence >= limit // 2:
        return cut[: sentence + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _date(value: Any) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(text) from None


def validate(form: Mapping[str, Any], categories: Iterable[str], agencies: Iterable[str],
             user_agency: str | None = None) -> Draft:
    """Returns the validated content of a form (questions as a list or one per line); raises
    ValidationFailed naming every bad field. An officer's article is always their own agency's."""
    errors = collector()
    kind = str(form.get("kind") or ARTICLE)
    if kind not in KINDS:
        errors.add("kind", "Loại bài không hợp lệ.", "Unknown article kind.")
    title = nfc(str(form.get("title") or ""))
    if not title or len(title) > MAX_TITLE:
        errors.add("title", f"Cần tiêu đề (tối đa {MAX_TITLE} ký tự).", f"A title is required (at most {MAX_TITLE}).")
    raw = form.get("questions") or ""
    lines = raw if isinstance(raw, (list, tuple)) else str(raw).splitlines()
    questions = tuple(dict.fromkeys(q for q in (nfc(str(line)) for line in lines) if q))
    if kind == ARTICLE and not questions:
        errors.add("questions", "Cần ít nhất một câu hỏi như người dân thường hỏi.",
                   "At least one question, phrased as people ask it.")
    if len(questions) > MAX_QUESTIONS or any(len(q) > MAX_QUESTION for q in questions):
        errors.add("questions", f"Tối đa {MAX_QUESTIONS} câu hỏi, mỗi câu tối đa {MAX_QUESTION} ký tự.",
                   f"At most {MAX_QUESTIONS} questions of {MAX_QUESTION} characters each.")
    answer = nfc(str(form.get("answer") or "")).replace("\r\n", "\n")
    if not answer or len(answer) > MAX_ANSWER:
        errors.add("answer", f"Cần nội dung trả lời (tối đa {MAX_ANSWER} ký tự).",
                   f"An answer is required (at most {MAX_ANSWER} characters).")
    short = nfc(str(form.get("short_answer") or ""))
    if len(short) > SHORT_ANSWER:
        errors.add("short_answer", f"Trả lời ngắn tối đa {SHORT_ANSWER} ký tự.",
                   f"The short answer is at most {SHORT_ANSWER} characters.")
    category = str(form.get("category") or "")
    if category not in set(categories):
        errors.add("category", "Chọn lĩnh vực.", "Choose a category.")
    agency = user_agency or str(form.get("agency") or "")
    if agency not in set(agencies):
        errors.add("agency", "Chọn cơ quan chủ trì.", "Choose the responsible agency.")
    number, body = nfc(str(form.get("source_number") or "")), nfc(str(form.get("source_body") or ""))
    url = str(form.get("source_url") or "").strip()
    if len(number) > MAX_SOURCE or len(body) > MAX_SOURCE:
        errors.add("source_number", "Số hiệu và cơ quan ban hành tối đa 300 ký tự.",
                   "Document number and issuing body are at most 300 characters.")
    if url and not _URL.match(url):
        errors.add("source_url", "Đường dẫn văn bản phải bắt đầu bằng http:// hoặc https://.",
                   "The document link must start with http:// or https://.")
    dates: dict[str, str | None] = {}
    for name in ("source_date", "valid_from", "valid_until"):
        try:
            dates[name] = _date(form.get(name))
        except ValueError:
            dates[name] = None
            errors.add(name, "Ngày không hợp lệ (năm-tháng-ngày).", "Invalid date (yyyy-mm-dd).")
    if dates["valid_from"] and dates["valid_until"] and dates["valid_until"] < dates["valid_from"]:
        errors.add("valid_until", "Ngày hết hiệu lực phải sau ngày có hiệu lực.",
                   "Valid-until must not be before valid-from.")
    if kind == ANNOUNCEMENT and not dates["valid_until"]:
        errors.add("valid_until", "Thông báo cần ngày hết hiệu lực.", "An announcement needs a valid-until date.")
    errors.raise_if_any()
    return Draft(kind=kind, title=title, questions=questions, answer=answer, short_answer=short or short_answer(answer),
                 category=category, agency=agency, source_number=number, source_date=dates["source_date"],
                 source_body=body, source_url=url, valid_from=dates["valid_from"], valid_until=dates["valid_until"])


def local_day(now: datetime) -> str:
    """The day in Vietnam (validity dates are Vietnamese calendar days)."""
    from chalicelib.domain.clock import VN_TZ

    return now.astimezone(VN_TZ).date().isoformat()


def valid_at(valid_from: str | None, valid_until: str | None, now: datetime) -> bool:
    """Whether an article applies on `now`'s day in Vietnam (both ends included)."""
    day = local_day(now)
    return (not valid_from or valid_from <= day) and (not valid_until or day <= valid_until)


def new_id(title: str, token: str) -> str:
    """An article id readable in its public URL: the folded title's first words + a short token."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(title)).strip("-")[:48].rstrip("-")
    return f"{slug or 'bai'}-{token}"


def is_id(value: str) -> bool:
    return bool(_ID.match(value or ""))


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What changed between two versions, field by field: [{field, label, lines: [(op, text)]}] with
    op '+', '-' or ' ' per line (unchanged fields are left out)."""
    labels = {"title": "Tiêu đề", "questions": "Câu hỏi", "answer": "Trả lời", "short_answer": "Trả lời ngắn",
              "category": "Lĩnh vực", "agency": "Cơ quan", "source_number": "Số hiệu văn bản",
              "source_date": "Ngày văn bản", "source_body": "Cơ quan ban hành", "source_url": "Đường dẫn",
              "source_pdf": "Tệp PDF", "valid_from": "Hiệu lực từ", "valid_until": "Hiệu lực đến", "kind": "Loại"}
    changes = []
    for name, label in labels.items():
        before, after = _lines(old.get(name)), _lines(new.get(name))
        if before == after:
            continue
        lines = [(line[0], line[2:]) for line in difflib.ndiff(before, after) if line[:1] in "+- "]
        changes.append({"field": name, "label": label, "lines": lines})
    return changes


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value).splitlines()
