"""Free-text search rules, with no storage in sight: how text becomes index words (folded
Vietnamese: 'Đường Nguyễn Trãi' and 'duong nguyen trai' are the same words), how a query typed in
the staff console becomes terms, the SQLite FTS5 expression for them, the same match in Python
(for tickets newer than the index), the highlighted excerpt of a result, the months the index
covers and the opaque key of a results page.

A query is words and "quoted phrases", all of which must match (AND); a word ending in * matches
every word it begins ('ngu*' finds 'Nguyễn'). Newest first, no ranking.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.text import fold

# The three columns of the index: what the citizen wrote, who they are, where it is.
BODY, NAME, PLACE = "body", "name", "place"
COLUMNS = (BODY, NAME, PLACE)
WITHOUT_NAME = (BODY, PLACE)
MIN_CHARS = 2      # letters or digits in the whole query
MAX_CHARS = 200
MAX_WORDS = 12
MONTHS = 13        # the month now and the 12 before it: at least a whole year back
_WORD = re.compile(r"[^\W_]+")
_CHUNK = re.compile(r'"([^"]*)"?|(\S+)')


def words(text: str | None) -> list[str]:
    """The index words of `text`: folded (lower case, no diacritics, đ -> d), split on anything
    that is not a letter or digit. 'Số 12/3 Lê Lợi' -> ['so', '12', '3', 'le', 'loi']."""
    return _WORD.findall(fold(text or ""))


def looks_like_phone(text: str) -> bool:
    """Digits with the usual separators, 9 digits or more: a phone to look up, not words to find."""
    return bool(re.fullmatch(r"[+\d\s().-]{9,24}", text.strip())) and sum(c.isdigit() for c in text) >= 9


def indexed(*texts: str | None) -> str:
    """The text one index column holds: the words of `texts`, one space apart (the FTS5 tokenizer
    then sees exactly the words Python sees, so both match alike)."""
    return " ".join(word for text in texts for word in words(text))


@dataclass(frozen=True)
class Term:
    """One word or phrase that must appear; `prefix`: its last word may go on ('ngu' -> 'nguyen')."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]

    @property
    def words(self) -> frozenset[str]:
        return frozenset(word for term in self.terms for word in term.words)


def _refused(vi: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldError("q", vi, en)])


def parse(text: str | None) -> Query:
    """Returns the query's terms; raises ValidationFailed (field q) when it is empty, shorter than
    MIN_CHARS letters and digits, longer than MAX_CHARS or of more than MAX_WORDS words."""
    raw = (text or "").strip()
    if not raw:
        raise _refused("Nhập mã phản ánh, số điện thoại, họ tên, địa chỉ hoặc nội dung cần tìm.",
                       "Enter a tracking code, a phone, a name, an address or words to find.")
    if len(raw) > MAX_CHARS:
        raise _refused(f"Nội dung tìm quá dài: tối đa {MAX_CHARS} ký tự.", f"At most {MAX_CHARS} characters.")
    terms: list[Term] = []
    for phrase, bare in _CHUNK.findall(raw):
        chunk = phrase if phrase else bare
        found = tuple(words(chunk))
        if not found:
            continue
        prefix = not phrase and chunk.endswith("*") and len(found[-1]) >= MIN_CHARS
        term = Term(found, prefix)
        if term not in terms:
            terms.append(term)
    every = [word for term in terms for word in term.words]
    if sum(len(word) for word in every) < MIN_CHARS:
        raise _refused(f"Từ khoá quá ngắn: nhập ít nhất {MIN_CHARS} chữ cái hoặc chữ số.",
                       f"Too short: enter at least {MIN_CHARS} letters or digits.")
    if len(every) > MAX_WORDS:
        raise _refused(f"Nhập tối đa {MAX_WORDS} từ; bớt những từ chung chung.", f"At most {MAX_WORDS} words.")
    return Query(tuple(terms))


def fts(query: Query, columns: Iterable[str] | None = None) -> str:
    """The FTS5 MATCH expression: every term (a quoted phrase; words are letters and digits only,
    so nothing needs escaping), in the given columns only when `columns` is set."""
    expression = " AND ".join('"' + " ".join(term.words) + '"' + ("*" if term.prefix else "")
                              for term in query.terms)
    return f"{{{' '.join(columns)}}} : ({expression})" if columns is not None else expression


def _term_in(term: Term, column: list[str]) -> bool:
    size = len(term.words)
    for start in range(len(column) - size + 1):
        window = column[start:start + size]
        if window[:-1] == list(term.words[:-1]) and (
                window[-1].startswith(term.words[-1]) if term.prefix else window[-1] == term.words[-1]):
            return True
    return False


def matches(query: Query, columns: Mapping[str, str], within: Iterable[str] = COLUMNS) -> bool:
    """Whether every term is in one of the `within` columns of a document ({column: indexed text}),
    as the FTS5 expression fts(query, within) would find it."""
    split = [columns.get(name, "").split() for name in within]
    return all(any(_term_in(term, column) for column in split) for term in query.terms)


def _folded_with_positions(text: str) -> tuple[str, list[int]]:
    """`text` folded character by character, and for each folded character the index of the
    original character it came from (so a match found in folded text marks the original)."""
    folded: list[str] = []
    origin: list[int] = []
    for position, character in enumerate(text):
        piece = fold(character) if not character.isspace() else " "
        folded.append(piece)
        origin.extend([position] * len(piece))
    return "".join(folded), origin


def highlight(text: str | None, query: Query, width: int = 180) -> list[tuple[str, bool]]:
    """An excerpt of `text` of about `width` characters around the first matching word, as
    (segment, matched) pairs in order: the template marks matched segments. Without a match, the
    text's beginning (no segment marked)."""
    text = " ".join((text or "").split())
    folded, origin = _folded_with_positions(text)
    spans: list[tuple[int, int]] = []
    prefixes = {term.words[-1] for term in query.terms if term.prefix}
    for found in _WORD.finditer(folded):
        word = found.group()
        if word in query.words or any(word.startswith(p) for p in prefixes):
            spans.append((origin[found.start()], origin[found.end() - 1] + 1))
    first = spans[0] if spans else None
    start = 0
    if first and first[0] > width // 3:  # the first match a third of the way in, from a word's start
        start = first[0] - width // 3
        space = text.find(" ", start, first[0])
        start = space + 1 if space != -1 else start
    end = min(len(text), start + width)
    if end < len(text):  # ... and to a word's end
        space = text.rfind(" ", start, end)
        end = space if space > (first[1] if first else start) else end
    pieces: list[tuple[str, bool]] = [("…", False)] if start else []
    cursor = start
    for left, right in spans:
        if right <= start or left >= end:
            continue
        left, right = max(left, start), min(right, end)
        if left > cursor:
            pieces.append((text[cursor:left], False))
        pieces.append((text[left:right], True))
        cursor = right
    if cursor < end:
        pieces.append((text[cursor:end], False))
    if end < len(text):
        pieces.append(("…", False))
    return pieces


# Months and order


def month_of(moment: datetime) -> str:
    """The UTC calendar month a ticket was created in ('2026-11'): its index file (tickets keep
    the same month in created_month)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m")


def months(now: datetime, count: int = MONTHS) -> list[str]:
    """The months the index covers at `now`, newest first."""
    year, month = now.astimezone(timezone.utc).year, now.astimezone(timezone.utc).month
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return found


def order_key(created_at: datetime) -> int:
    """A ticket's place in "newest first": microseconds since 1970 (its row id in the index)."""
    return int(created_at.astimezone(timezone.utc).timestamp() * 1_000_000)


_BAD_PAGE = FieldError("after", "Trang kết quả không hợp lệ; hãy tìm lại từ đầu.",
                       "Invalid results page; search again from the start.")


def encode_after(key: int, code: str) -> str:
    """The opaque "next page" token: results continue after (key, code)."""
    return base64.urlsafe_b64encode(f"{key}:{code}".encode()).decode().rstrip("=")


def decode_after(token: str | None) -> tuple[int, str] | None:
    """Returns (key, code) of a token from encode_after, None for none; raises ValidationFailed."""
    if not token:
        return None
    try:
        key, _, code = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition(":")
        if not re.fullmatch(r"[A-Z0-9-]{3,20}", code) or not 0 < int(key) < 10 ** 17:
            raise ValueError(token)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed([_BAD_PAGE]) from None
    return int(key), code
