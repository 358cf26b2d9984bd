"""Redacting personal data from a citizen's text before it is published (phone numbers, email
addresses, and the names the reporter gave), per peers.md's lesson: publish the question, never
the person."""
from __future__ import annotations

import re

from chalicelib.domain.text import fold

MASK = "[đã ẩn]"
# Vietnamese numbers however they are written: 0912 345 678, 0912.345.678, +84 912-345-678,
# (0276) 3822 123, 84912345678 — any run of 9 to 13 digits with common separators.
_PHONE = re.compile(r"(?<!\d)\+?\(?\d(?:[\s.\-()]*\d){8,12}(?!\d)")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)
# Vietnamese given names are often words in ordinary use too ("Hoa", "An", "Bình"): a lone given
# name is masked only where it follows a form of address.
_ADDRESS_WORDS = ("anh", "chi", "chu", "co", "ba", "ong", "em", "bac", "di", "cau", "thim", "mo", "ban", "chau",
                  "thay", "con", "ten", "la")


def _name_patterns(names: list[str]) -> list[re.Pattern[str]]:
    patterns = []
    for name in names:
        words = _WORD.findall(name or "")
        if not words:
            continue
        if len(words) > 1:  # the full name, any spacing
            patterns.append(re.compile(r"\b" + r"\s+".join(map(re.escape, words)) + r"\b", re.IGNORECASE))
        # "chị Hoa", "anh Văn An", "ông Nguyễn": an address word followed by the last one or two words
        for tail in {words[-1], " ".join(words[-2:]) if len(words) > 1 else words[-1], words[0]}:
            patterns.append(re.compile(r"\b(" + "|".join(_ADDRESS_WORDS) + r")\s+" +
                                       r"\s+".join(map(re.escape, tail.split())) + r"\b", re.IGNORECASE))
    return patterns


def redact(text: str, names: list[str] | None = None) -> str:
    """Returns `text` with phone numbers, email addresses and the given `names` masked.

    Names match with or without diacritics ("Nguyễn Văn An" also hides "Nguyen Van An"); a lone
    given name is masked after a form of address ("chị Hoa")."""
    result = _EMAIL.sub(MASK, text)
    result = _PHONE.sub(MASK, result)
    folded_names = [fold(n) for n in names or [] if n and n.strip()]
    patterns = _name_patterns([n for n in (names or []) if n and n.strip()])
    # match on a folded copy so diacritic-less spellings are caught; masks are applied by position
    folded = _fold_keep_length(result)
    spans: list[tuple[int, int]] = []
    for pattern in _name_patterns(folded_names) + patterns:
        for match in pattern.finditer(folded):
            start = match.start()
            if match.groups():  # keep the form of address itself: "chị [đã ẩn]"
                start = match.end(1) + 1
            spans.append((start, match.end()))
    merged: list[list[int]] = []
    for start, end in sorted(spans):  # overlapping matches become one mask
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        if result[start:end].strip():
            result = result[:start] + MASK + result[end:]
    mask = re.escape(MASK)
    return re.sub(rf"{mask}(?:\s*{mask})+", MASK, result).strip()


def _fold_keep_length(text: str) -> str:
    """Lower-case, diacritic-free copy with the same length (one character for one)."""
    return "".join(fold(c) or c if len(fold(c)) == 1 else c for c in text)
