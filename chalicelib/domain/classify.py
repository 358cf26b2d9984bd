"""Deciding a ticket's category and commune/ward from what the citizen wrote.

Citizens write with and without diacritics and in SMS shorthand ("duong bi ngap", "ko co nc"):
the text is folded (đ -> d included), shorthand is expanded token by token, then configurable
keyword phrases add their weights per category. Below the configured score or margin the answer
is "don't know" and the ticket goes to the operators' triage queue instead of a guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.domain.reference import Area, ReferenceData
from chalicelib.domain.text import fold

_TOKEN = re.compile(r"[a-z0-9]+")
_PREFIXES = {"phuong": ("phuong", "p", "f", "ph"), "xa": ("xa", "x")}


@dataclass(frozen=True)
class Classification:
    category: str | None
    category_score: float
    area: str | None
    runner_up: str | None = None


def normalise(text: str, abbreviations: dict[str, str]) -> str:
    """Returns folded text with shorthand expanded: 'Đg ko có nc' -> 'duong khong co nuoc'."""
    tokens = _TOKEN.findall(fold(text).replace("đ", "d"))
    return " " + " ".join(abbreviations.get(token, token) for token in tokens) + " "


def _contains(haystack: str, phrase: str) -> bool:
    return f" {phrase} " in haystack


def category_scores(normalised: str, ref: ReferenceData) -> dict[str, float]:
    """Returns each category's keyword score for already-normalised text.

    A phrase inside a longer matched phrase of the same category counts once (the longer one),
    so 'ngap ung' does not also score 'ngap'."""
    scores: dict[str, float] = {}
    for category in ref.categories.values():
        matched: list[str] = []
        score = 0.0
        for phrase, weight in sorted(category.keywords, key=lambda kw: -len(kw[0])):
            if _contains(normalised, phrase) and not any(phrase in longer for longer in matched):
                matched.append(phrase)
                score += weight
        if score:
            scores[category.id] = score
    return scores


@lru_cache(maxsize=8)
def _area_patterns(areas: tuple[Area, ...]) -> tuple[tuple[str, str], ...]:
    """(folded phrase, area id), longest first: 'phuong tan ninh', 'p tan ninh', 'tan ninh'."""
    patterns = []
    for area in areas:
        words = fold(area.name).split()
        kind, bare = words[0], " ".join(words[1:])
        for prefix in _PREFIXES.get(kind, (kind,)):
            patterns.append((f"{prefix} {bare}", area.id))
        if len(bare.split()) >= 2:  # a one-word bare name would match too much ordinary text
            patterns.append((bare, area.id))
    return tuple(sorted(patterns, key=lambda p: -len(p[0])))


def detect_area(normalised: str, ref: ReferenceData) -> str | None:
    """Returns the commune/ward the text names (the longest, earliest match), else None."""
    best: tuple[int, int, str] | None = None
    for phrase, area in _area_patterns(tuple(ref.areas.values())):
        position = normalised.find(f" {phrase} ")
        if position >= 0:
            candidate = (-len(phrase), position, area)
            best = min(best, candidate) if best else candidate
    return best[2] if best else None


def classify(text: str, ref: ReferenceData, category: str | None = None, area: str | None = None) -> Classification:
    """Returns the category and area for a ticket. Values the citizen or an operator chose
    (`category`, `area`) win; otherwise the text decides, or None when it is not sure enough."""
    normalised = normalise(text, ref.abbreviations)
    found_area = area or detect_area(normalised, ref)
    if category:
        return Classification(category, float("inf"), found_area)
    ranked = sorted(category_scores(normalised, ref).items(), key=lambda kv: -kv[1])
    if not ranked:
        return Classification(None, 0.0, found_area)
    top, score = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if score < ref.min_score or score - second < ref.min_margin:
        return Classification(None, score, found_area, runner_up=top)
    return Classification(top, score, found_area, runner_up=ranked[1][0] if len(ranked) > 1 else None)
