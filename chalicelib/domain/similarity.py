"""Which open reports a new one may be about: duplicate suggestions ranked by what the texts say
and where the reports are, among the open tickets of the same category in the same commune.

Evidence, each only where both reports have it:
- text: the overlap (Jaccard) of the reports' distinctive words, folded (no diacritics, lower
  case): each syllable and each pair of neighbouring syllables, without the words every report of
  the category uses (its routing keywords, "đèn", "ngập") and without filler words ("bị", "xin").
  What is left is mostly where and what exactly: a street's name, a house or alley number, a
  school, a market;
- distance: the great-circle distance between the two locations (haversine); beyond FAR_M they
  are different places whatever the words;
- streets: the named streets, alleys and hamlets ("đường Trần Hưng Đạo", "hẻm 12", "ấp Bình Hòa").
  When both reports name one and no name is shared, they are about different places and the
  candidate is not offered (unless both locations are within NEAR_M: a street corner).

A candidate is offered when its score reaches OFFER_AT. With no evidence either way (no
distinctive word on one side, no location on one side), it scores NO_EVIDENCE: offered, after
every candidate with evidence for it, as category and commune alone would offer it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence, TypeVar

from chalicelib.domain.text import fold

T = TypeVar("T")

FAR_M = 800.0      # farther apart than this: not the same place
NEAR_M = 120.0     # this close: the same place, whatever street each report names
OFFER_AT = 0.15
NO_EVIDENCE = OFFER_AT
TEXT_WEIGHT = 0.6  # with both kinds of evidence: text 0.6, nearness 0.4
SAME_STREET_BONUS = 0.25
EARTH_RADIUS_M = 6_371_000.0

# Words that say where a place name follows (folded; two-word markers first).
MARKERS = ("quoc lo", "tinh lo", "khu pho", "duong", "hem", "kiet", "ql", "dt", "ap", "kp", "xom", "thon")
_MARKER_WORDS = frozenset(word for marker in MARKERS for word in marker.split())
# Filler of reports: never part of a place's name, never evidence of the same matter.
STOPWORDS = frozenset("""
a ah ai anh ay bao bat be bi biet boi ca cac cai can canh cho chua co con cua cung da dang day de den di do doi du
duoc duoi em gan gap gi gio giai giup gium hay het hoac hom hon hu hong khi khien khong kia kiem la lai lam len luc
ma may moi mong mot muon nao nay neu ngay nghi ngoai nguoi nhieu nho nhu nhung noi nua o on phai qua quyet ra rat
roi sang sao sau se so suot ta tai tat thang the thi toi tra trong truoc tuan va vao ve vi voi vui vuc xin xu
xuong yeu dan khu nha
""".split())
_WORD = re.compile(r"[a-z0-9]+")
_CLAUSE = re.compile(r"[,.;:!?()\n]+")  # a place's name never runs across these


@dataclass(frozen=True)
class Place:
    """What a report says and where: its text (the address appended), its location if any."""

    text: str
    lat: float | None = None
    lon: float | None = None

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None


def words(text: str) -> list[str]:
    """The folded syllables of `text`: 'Hẻm 12/5, Trưng Nữ Vương' -> ['hem', '12', '5', 'trung', 'nu', 'vuong']."""
    return _WORD.findall(fold(text))


def common_words(phrases: Iterable[str]) -> frozenset[str]:
    """The syllables of a category's keyword phrases (folded): words every report of it may use."""
    return frozenset(word for phrase in phrases for word in words(phrase))


def _distinctive(word: str, common: frozenset[str]) -> bool:
    return word not in STOPWORDS and word not in common and word not in _MARKER_WORDS


def features(text: str, common: frozenset[str] = frozenset()) -> frozenset[str]:
    """The distinctive words of `text` and the pairs of neighbouring words with one of them in it."""
    seq = words(text)
    single = {w for w in seq if _distinctive(w, common)}
    pairs = {f"{a} {b}" for a, b in zip(seq, seq[1:])
             if (_distinctive(a, common) or _distinctive(b, common)) and a not in STOPWORDS and b not in STOPWORDS}
    return frozenset(single | pairs)


def streets(text: str, common: frozenset[str] = frozenset()) -> frozenset[tuple[str, ...]]:
    """The places `text` names after a marker, as their first name words: 'đường Trần Hưng Đạo bị
    ngập' -> ('tran', 'hung'); 'hẻm 12/5' -> ('12', '5'). A name is at most three words, stops at a
    filler or another marker, and a number is followed only by numbers (12/5), so what follows it is
    not taken for its name. A name does not start with one of the `common` words ('mặt đường nứt':
    "nứt" says what, not where)."""
    found: set[tuple[str, ...]] = set()
    for clause in _CLAUSE.split(text):
        found |= _named(words(clause), common)
    return frozenset(found)


def _named(seq: list[str], common: frozenset[str]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    i = 0
    while i < len(seq):
        marker = next((m for m in MARKERS if seq[i:i + len(m.split())] == m.split()), None)
        if marker is None:
            i += 1
            continue
        i += len(marker.split())
        name: list[str] = []
        while i < len(seq) and len(name) < 3 and seq[i] not in STOPWORDS and seq[i] not in _MARKER_WORDS:
            if (name and name[0][0].isdigit() != seq[i][0].isdigit()) or (not name and seq[i] in common):
                break
            name.append(seq[i])
            i += 1
        if name:
            found.add(tuple(name[:2]))
    return found


def _same_street(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    shared = min(len(a), len(b))
    return a[:shared] == b[:shared]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def score(report: Place, candidate: Place, common: frozenset[str] = frozenset()) -> float | None:
    """How likely `candidate` is about the same matter as `report`, 0..1+; None when it must not be
    offered (another place: too far, or another street and not near)."""
    distance = (haversine_m(report.lat, report.lon, candidate.lat, candidate.lon)  # type: ignore[arg-type]
                if report.located and candidate.located else None)
    if distance is not None and distance > FAR_M:
        return None
    ours, theirs = streets(report.text, common), streets(candidate.text, common)
    same_street = any(_same_street(a, b) for a in ours for b in theirs)
    if ours and theirs and not same_street and not (distance is not None and distance <= NEAR_M):
        return None
    mine, other = features(report.text, common), features(candidate.text, common)
    text = jaccard(mine, other) if mine and other else None
    nearness = 1 - distance / FAR_M if distance is not None else None
    if text is None and nearness is None:
        value = NO_EVIDENCE
    elif text is None:
        value = max(nearness or 0.0, NO_EVIDENCE)  # near, and no words to weigh: at least no evidence
    elif nearness is None:
        value = text
    else:
        value = TEXT_WEIGHT * text + (1 - TEXT_WEIGHT) * nearness
    return value + (SAME_STREET_BONUS if same_street else 0.0)


def rank(report: Place, candidates: Sequence[tuple[T, Place]], common: frozenset[str] = frozenset(),
         limit: int = 5) -> list[tuple[T, float]]:
    """The candidates worth offering (score >= OFFER_AT), best first, at most `limit`; among equal
    scores the input's order (newest first) is kept."""
    scored = [(item, value) for item, place in candidates
              if (value := score(report, place, common)) is not None and value >= OFFER_AT]
    return sorted(scored, key=lambda pair: -pair[1])[:limit]
