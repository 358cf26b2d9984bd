"""Deciding a ticket's category and commune/ward from what the citizen wrote.

Citizens write with and without diacritics and in SMS shorthand ("duong bi ngap", "ko co nc"):
the text is folded (đ -> d included), shorthand is expanded token by token, then configurable
keyword phrases add their weights per category. Below the configured score or margin the answer
is "don't know" and the ticket goes to the operators' triage queue instead of a guess.

With a learned model (chalicelib/domain/learn.py, trained on labelled messages and operators'
corrections) the keywords stay rules and the two decide together (see `classify`): agreeing routes,
a confident model routes alone, disagreeing or unsure goes to triage, and a confidential category
needs its own keyword evidence matched as written ('chắn đường', a tree blocking the road, is not
'chặn đường', waylaying) and the model's agreement.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalicelib.domain.questions import is_question
from chalicelib.domain.reference import Area, ReferenceData
from chalicelib.domain.text import fold, nfc, strip_diacritics

_TOKEN = re.compile(r"[a-z0-9]+")
_WORD = re.compile(r"[^\W_]+")
_PREFIXES = {"phuong": ("phuong", "p", "f", "ph"), "xa": ("xa", "x")}


@dataclass(frozen=True)
class Classification:
    category: str | None
    category_score: float
    area: str | None
    runner_up: str | None = None
    source: str = "keywords"        # "staff" | "keywords" | "model" | "both" (who decided; triage: who was unsure)
    confidence: float = 0.0         # 0-1
    question: bool = False          # the citizen asks (a question) rather than complains


# Combination thresholds (defaults; the reference data's "routing" block overrides them).
TRIAGE_CATEGORY = "khac"
THRESHOLDS: dict[str, float] = {
    "model_alone": 0.9,      # the model routes alone (no keyword decision) from this probability
    "model_weak": 0.9,       # ... or from this one when weak keywords lean the same way
    "model_override": 1.01,  # a model this sure overrides a keyword decision for a non-confidential category
    "confidential_agree": 0.2,  # a confidential keyword decision needs the model to give it this much ...
    "confidential_rank": 1,  # ... and to rank it among its first N
    "confidential_score": 0.0,   # ... and keyword evidence of at least this score
    "confidential_margin": 0.0,  # ... this far ahead of the next category
    "doubt_keywords": 99.0,  # a non-confidential choice goes to triage when a confidential category has this keyword score
    "doubt_keywords_p": 0.0,  # ... that the model gives at least this (a model sure it is dumping, not theft: no doubt)
    "doubt_model": 1.01,     # ... or this model probability
    "model_agree": 0.0,      # keywords and model agreeing route when the model gives at least this
    "model_veto": 0.97,      # a keyword decision the model contradicts with this probability goes to triage
    "keyword_floor": 0.2,    # ... or when the model gives the keywords' category less than this
    "keyword_strong": 4.0,   # keywords this sure (score and margin) route a non-confidential category anyway
    "keyword_rank": 3,       # ... as does a keyword category among the model's first N (0: not used)
    "strong_veto": 1.01,     # ... unless the model is this sure of another (non-confidential) category
    "strong_veto_floor": 0.0,  # ... and gives the keywords' category less than this
    "confidential_model": 1.01,  # otherwise triage: a model this sure of a confidential category with some of its own
    "confidential_other": 0.1,   # keywords (as written) routes it, if the other one has no keyword and less than this
    "confidential_keywords": 1.0,  # ... "some of its own keywords": a keyword score of at least this
    "agency_alone": 1.01,    # otherwise triage: the model's categories sending this message to one agency sum to this
    "agency_doubt": 0.1,     # ... and no confidential category has a keyword or this model probability: routed
    "confidential_alone": 1.01,  # otherwise triage: a model this sure of a confidential category routes it with no
                                 # keyword, unless a look-alike of its keywords is written ('chắn đường')
    "confidential_strong": 99.0,  # ... or its own keywords (as written) this strong, the model giving it at least
    "confidential_strong_p": 1.01,  # this much; in all three, the other confidential category has less than
                                    # `confidential_other` and no keyword (unless the model gives this one at least
    "confidential_over": 1.01,      # this: the two share words, 'bảo kê' is racketeering or a bribe)
}


def _marked(token: str) -> bool:
    """True when a token carries Vietnamese tone or vowel marks (đ alone does not count: SMS writes 'đc')."""
    plain = token.replace("đ", "d")
    return strip_diacritics(plain) != plain


def tokens(text: str, abbreviations: dict[str, str]) -> list[tuple[str, str]]:
    """Returns (folded, as written in lower case) per word, shorthand expanded. A word written with
    marks is a real word, never shorthand ('hỏng' is not 'hong' = 'không')."""
    found: list[tuple[str, str]] = []
    for word in _WORD.findall(nfc(text).lower()):
        parts = _TOKEN.findall(fold(word))
        if len(parts) == 1 and not _marked(word) and parts[0] in abbreviations:
            found.extend((part, part) for part in abbreviations[parts[0]].split())
        elif len(parts) == 1:
            found.append((parts[0], word))
        else:
            found.extend((part, part) for part in parts)
    return found


def normalise(text: str, abbreviations: dict[str, str]) -> str:
    """Returns folded text with shorthand expanded: 'Đg ko có nc' -> 'duong khong co nuoc'."""
    return " " + " ".join(folded for folded, _ in tokens(text, abbreviations)) + " "


def _contains(haystack: str, phrase: str) -> bool:
    return f" {phrase} " in haystack


def _written_match(phrase: str, written: list[str]) -> bool:
    """True when the phrase (as written in the reference data) occurs in the written words: a word
    the citizen wrote with marks must carry the phrase's marks ('chắn' is not 'chặn'); an unmarked
    word matches any marking."""
    wanted = phrase.split()
    for start in range(len(written) - len(wanted) + 1):
        if all(_word_match(k, written[start + i]) for i, k in enumerate(wanted)):
            return True
    return False


_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng


def _spelling(word: str) -> tuple[str, str]:
    """A marked word as (letters with their vowel marks, its tone): 'tuý' and 'túy' are one spelling."""
    decomposed = unicodedata.normalize("NFD", word)
    return (unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES)),
            "".join(sorted(c for c in decomposed if c in _TONES)))


def _word_match(keyword: str, word: str) -> bool:
    if fold(keyword) != fold(word):
        return False
    return not _marked(word) or not _marked(keyword) or _spelling(keyword) == _spelling(word)


def category_scores(normalised: str, ref: ReferenceData, written: list[str] | None = None) -> dict[str, float]:
    """Returns each category's keyword score for already-normalised text.

    A phrase inside a longer matched phrase of the same category counts once (the longer one),
    so 'ngap ung' does not also score 'ngap'. With `written` (the words as written, see tokens),
    a confidential category's phrases must also match as written: no folded look-alikes."""
    scores: dict[str, float] = {}
    for category in ref.categories.values():
        strict = written is not None and category.confidential
        forms = dict(zip(category.keywords, category.written)) if strict else {}
        matched: list[str] = []
        score = 0.0
        for phrase, weight in sorted(category.keywords, key=lambda kw: -len(kw[0])):
            if _contains(normalised, phrase) and not any(phrase in longer for longer in matched):
                if strict and not _written_match(forms.get((phrase, weight), phrase), written or []):
                    continue
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


def classify(text: str, ref: ReferenceData, category: str | None = None, area: str | None = None,
             model: Any = None) -> Classification:
    """Returns the category and area for a ticket. Values the citizen or an operator chose
    (`category`, `area`) win ("staff"); otherwise the keywords and, when given, the learned model (a
    learn.Model) decide together, or None (triage) when they are not sure enough or disagree.

    With a model (thresholds: THRESHOLDS, overridden by the reference data's "routing" block; see decide):
    - a confidential category needs its own keywords (matched as written) sure and `confidential_margin`
      ahead, and the model's agreement (among its first `confidential_rank` and at least `confidential_agree`);
      else triage;
    - keywords and model agree: routed ("both");
    - a model at least `model_override` sure of a non-confidential category overrides keywords short of
      `keyword_strong` ("model");
    - the keywords decided and the model does not contradict them (it gives their category at least
      `keyword_floor`, or ranks it among its first `keyword_rank`, and its own choice is below
      `model_veto`), or the keyword evidence is strong (`keyword_strong`, unless the model is
      `strong_veto` sure of another category and gives theirs less than `strong_veto_floor`): routed ("keywords");
    - the keywords did not decide: the model alone routes from `model_alone` (`model_weak` when the
      weak keywords lean the same way), never to "khac" nor to a confidential category (see below);
    - a choice beside a (another) confidential category the model gives `doubt_model` (or its keywords
      score `doubt_keywords` and the model gives it `doubt_keywords_p`) goes to triage: a doubtful
      confidential case is the operators', and so is one torn between the two confidential categories;
    - a second look at what would go to triage (see _second_look): a confidential category with clear
      evidence (its own keywords and the model, or a very sure model and no look-alike) routes; a model
      torn between categories that send this message to one agency (summed `agency_alone`, no
      confidential doubt) routes to that agency's first choice;
    - anything else goes to triage. A model that fails to predict leaves the keywords alone.
    Confidential keywords match as written: 'chắn đường' is not 'chặn đường'."""
    pairs = tokens(text, ref.abbreviations)
    normalised = " " + " ".join(folded for folded, _ in pairs) + " "
    found_area = area or detect_area(normalised, ref)
    question = is_question(text)
    if category:
        return Classification(category, float("inf"), found_area, source="staff", confidence=1.0, question=question)
    scores = category_scores(normalised, ref, [w for _, w in pairs])
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    top, score = ranked[0] if ranked else (None, 0.0)
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    runner = ranked[1][0] if len(ranked) > 1 else None
    sure = top is not None and score >= ref.min_score and score - second >= ref.min_margin
    predicted: list[tuple[str, float]] = []
    if model is not None:
        try:
            predicted = list(model.predict(text, ref))
        except Exception:  # noqa: BLE001 - a broken model never fails the routing: keywords decide alone
            predicted = []
    if not predicted:
        if not sure:
            return Classification(None, score, found_area, runner_up=top, question=question)
        confidence = min(1.0, (score - second) / (2 * ref.min_score)) if ref.min_score else 1.0
        return Classification(top, score, found_area, runner_up=runner, confidence=round(confidence, 3),
                              question=question)
    folded = category_scores(normalised, ref)  # confidential phrases matched folded only: look-alikes
    lookalikes = frozenset(c for c, n in folded.items() if n > scores.get(c, 0.0))
    category_id, source, confidence, runner_up = decide(scores, predicted, ref, area=found_area,
                                                        lookalikes=lookalikes)
    return Classification(category_id, score, found_area, runner_up=runner_up, source=source,
                          confidence=round(confidence, 3), question=question)


def decide(scores: dict[str, float], predicted: list[tuple[str, float]], ref: ReferenceData,
           limits: dict[str, float] | None = None,
           area: str | None = None,
           lookalikes: frozenset[str] = frozenset()) -> tuple[str | None, str, float, str | None]:
    """The keywords + model combination (see classify): (category or None for triage, source,
    confidence, runner-up). `scores`: the keyword scores (confidential ones matched as written);
    `lookalikes`: confidential categories whose keywords match only folded (a look-alike, never evidence);
    `predicted`: the model's (category, probability), best first. Confidential categories need
    clear evidence (their own keywords and the model's agreement, or a very sure model and no
    look-alike); a doubtful case goes to triage."""
    limits = {**THRESHOLDS, **ref.routing, **(limits or {})}
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    top, score = ranked[0] if ranked else (None, 0.0)
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    sure = top is not None and score >= ref.min_score and score - second >= ref.min_margin
    probability = dict(predicted)

    def routable(category: str) -> bool:
        known = ref.categories.get(category)
        return known is not None and category != TRIAGE_CATEGORY and not known.confidential

    def doubt(chosen: str) -> bool:
        """A confidential category the keywords or the model see beside a non-confidential choice:
        the operators decide (a bribe at a school is not a school matter)."""
        return any(c.confidential and c.id != chosen
                   and ((scores.get(c.id, 0.0) >= limits["doubt_keywords"]
                         and probability.get(c.id, 0.0) >= limits["doubt_keywords_p"])
                        or probability.get(c.id, 0.0) >= limits["doubt_model"])
                   for c in ref.categories.values())

    decided = _combine(scores, predicted, ref, limits, top, score, second, sure, routable)
    if decided[0] is not None and doubt(decided[0]):  # also between the two confidential categories
        decided = None, decided[1], decided[2], decided[0]
    if decided[0] is None:
        keywords_pick = top if sure else None
        return _second_look(scores, predicted, ref, limits, area, routable, keywords_pick, lookalikes) or decided
    return decided


def _second_look(scores: dict[str, float], predicted: list[tuple[str, float]], ref: ReferenceData,
                 limits: dict[str, float], area: str | None, routable: Any,
                 keywords_pick: str | None,
                 lookalikes: frozenset[str] = frozenset()) -> tuple[str | None, str, float, str | None] | None:
    """What would go to triage, routed after all when the doubt does not matter:
    - a confidential category, the other confidential category having less than `confidential_other` and
      no keyword (keywords they share do not count when the model gives this one `confidential_over`),
      when: the model is `confidential_model` sure and it has its own keywords (matched as written,
      score at least `confidential_keywords`); or its own keywords are `confidential_strong`, ahead of
      every other category's, and the model gives it `confidential_strong_p`; or the model is
      `confidential_alone` sure and no look-alike of its keywords is written;
    - the model hesitates between categories that all send this message (in its area) to one agency:
      their probabilities summed reach `agency_alone` and no confidential category has a keyword or
      `agency_doubt`, and the keywords did not decide for another agency -> the model's first choice
      among them (the agency re-files a wrong category)."""
    probability = dict(predicted)
    confidential = [c.id for c in ref.categories.values() if c.confidential]
    pick, p = predicted[0]
    for candidate in confidential:
        q, own = probability.get(candidate, 0.0), scores.get(candidate, 0.0)
        if any(probability.get(c, 0.0) >= limits["confidential_other"]
               or (scores.get(c, 0.0) > 0 and q < limits["confidential_over"])
               for c in confidential if c != candidate):
            continue
        if candidate == pick and q >= limits["confidential_model"] and own >= limits["confidential_keywords"]:
            return candidate, "both", q, None
        if (own >= limits["confidential_strong"] and q >= limits["confidential_strong_p"]
                and all(n < own for c, n in scores.items() if c != candidate)):
            return candidate, "keywords", q, pick
        if candidate == pick and q >= limits["confidential_alone"] and candidate not in lookalikes:
            return candidate, "model", q, None
    if pick in confidential:
        return None
    if any(scores.get(c, 0.0) > 0 or probability.get(c, 0.0) >= limits["agency_doubt"] for c in confidential):
        return None
    by_agency: dict[str, float] = {}
    first: dict[str, tuple[str, float]] = {}
    for category, q in predicted:
        agency = ref.agency_for(category, area) if routable(category) else None
        if agency:
            by_agency[agency] = by_agency.get(agency, 0.0) + q
            first.setdefault(agency, (category, q))
    if not by_agency:
        return None
    agency = max(by_agency, key=lambda a: by_agency[a])
    if by_agency[agency] < limits["agency_alone"]:
        return None
    if keywords_pick is not None and ref.agency_for(keywords_pick, area) != agency:
        return None
    return first[agency][0], "model", by_agency[agency], None


def _combine(scores: dict[str, float], predicted: list[tuple[str, float]], ref: ReferenceData,
             limits: dict[str, float], top: str | None, score: float, second: float, sure: bool,
             routable: Any) -> tuple[str | None, str, float, str | None]:
    model_pick, model_p = predicted[0]
    probability = dict(predicted)
    rank = {c: i for i, (c, _) in enumerate(predicted)}
    if sure and top is not None:
        p = probability.get(top, 0.0)
        if ref.categories[top].confidential:
            # keyword evidence AND the model's agreement: among its first `confidential_rank` and this sure
            agrees = p >= limits["confidential_agree"] and rank.get(top, 99) < int(limits["confidential_rank"])
            clear = score >= limits["confidential_score"] and score - second >= limits["confidential_margin"]
            if agrees and clear and not (model_pick != top and routable(model_pick) and model_p >= limits["model_veto"]):
                return top, ("both" if model_pick == top else "keywords"), p, model_pick
            return None, "both", p, top
        if model_pick == top and p >= limits["model_agree"]:
            return top, "both", p, None
        strong = score >= limits["keyword_strong"] and score - second >= limits["keyword_strong"] / 2
        if strong and routable(model_pick) and model_p >= limits["strong_veto"] and p < limits["strong_veto_floor"]:
            strong = False  # a model all but certain of another category, giving the keywords' one nothing
        if routable(model_pick) and model_p >= limits["model_override"] and not strong:
            return model_pick, "model", model_p, top
        near = rank.get(top, 99) < int(limits["keyword_rank"])
        if strong or ((p >= limits["keyword_floor"] or near) and model_p < limits["model_veto"]):
            return top, "keywords", p, model_pick
        return None, "both", p, top
    if routable(model_pick):
        weak = top == model_pick  # the keywords lean the same way without being sure
        if model_p >= (limits["model_weak"] if weak else limits["model_alone"]):
            return model_pick, "model", model_p, top
    # A confidential category is never routed without a keyword decision (no "confidential alone" path):
    # weak keywords leaning the model's way are a doubt, and a doubt goes to the operators.
    return None, "model", model_p, model_pick
