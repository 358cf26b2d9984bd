"""Knowledge-base search: finding the article that answers a question as people write it.

Pure: no AWS. `build_index(articles)` turns the published articles into a small JSON-serialisable
dict (built on publish, stored gzipped in S3 and cached per Lambda container by the store);
`search(index, text, ...)` ranks the articles for a question.

How a text becomes terms (the same for articles and questions):
  1. folded (no diacritics, lower case, đ -> d) and SMS shorthand expanded token by token with the
     classifier's normalisation (chalicelib.domain.classify.normalise) and the reference data's
     abbreviations plus the KB's own (chalicelib/data/kb_synonyms.json "shorthand": cccd, bhyt, gpxd);
  2. synonym phrases replaced, longest first (kb_synonyms.json "phrases": 'chung minh nhan dan' ->
     'can cuoc', 'so do' -> 'giay chung nhan quyen su dung dat', 'chich ngua' -> 'tiem chung');
  3. filler words dropped ('cho em hoi', 'a', 'nhe'), then every word and every pair of neighbouring
     words is a term (Vietnamese words are mostly two syllables: 'can cuoc', 'khai sinh').
A question's word the index has never seen is corrected when one edit (a letter missing, extra,
swapped or wrong) or a split ('cancuoc') makes it a known word.

Ranking is BM25F: the question phrasings weigh most, then the title, then the answer; a category or
agency given by the caller (the ticket's) multiplies the score of articles in it. The confidence of a
hit (0..1) is how much of the question (by word rarity) its phrasings and title cover, times how
clearly it beats the next article; auto-answers use only hits at or above CONFIDENT.
"""
from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from chalicelib.domain.classify import normalise
from chalicelib.domain.clock import VN_TZ

DATA = Path(__file__).resolve().parent.parent / "data"
INDEX_FORMAT = 2

# Field weights (question phrasings, title, answer) and BM25 constants.
FIELDS = ("q", "t", "a")
WEIGHTS = {"q": 3.0, "t": 2.0, "a": 0.5}
B = {"q": 0.6, "t": 0.4, "a": 0.75}
K1 = 1.2
PAIR_WEIGHT = 0.6          # a pair of neighbouring words, against a single word
CATEGORY_BOOST = 1.3
AGENCY_BOOST = 1.15
MAX_QUERY_CHARS = 2000     # a question is read up to here (a long ticket: its beginning), bounding the work
CONFIDENT = 0.7            # auto-answer only at or above this (no wrong confident hit on the labelled set)

# Words that carry no meaning for matching (folded). Question words ('bao lau', 'o dau') are not
# here: synonyms turn them into 'thoi gian giai quyet', 'noi nop ho so', which articles contain.
STOPWORDS = frozenset("""
a ad ah ai anh ay biet cac cai cau chi chiu cho chu chua co cua cung da dang day de di dum duoc em gi giup gium ha hay
hien hoi hong khi khong kinh la lam luc ma may minh mot muon nao nay neu nghe nhe nhi nhieu nho nhu nhung no
oi on phai rang rat roi sao se sau ta the thi thoi toi trong tu va van vay ve vi viec voi vua xem xin
""".split())
# Not filler here: 'can' (can cuoc), 'con' (a child), 'sinh' (khai sinh), 'so' (so do), 'nha' (a house).

_TOKEN = re.compile(r"[a-z0-9]+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=1)
def _default_language() -> tuple[dict[str, str], dict[str, str]]:
    """(shorthand, phrases) from the data files: the reference data's abbreviations plus the KB's."""
    reference = json.loads((DATA / "reference.json").read_text(encoding="utf-8"))
    synonyms = json.loads((DATA / "kb_synonyms.json").read_text(encoding="utf-8"))
    return _language(reference.get("abbreviations", {}), synonyms)


def _language(abbreviations: dict[str, str], synonyms: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    from chalicelib.domain.text import fold
    shorthand = {fold(k): fold(v) for k, v in (synonyms.get("shorthand") or {}).items()}
    shorthand.update({fold(k): fold(v) for k, v in abbreviations.items()})   # the classifier's win
    phrases = {" ".join(_TOKEN.findall(fold(k))): " ".join(_TOKEN.findall(fold(v)))
               for k, v in (synonyms.get("phrases") or {}).items()}
    return shorthand, {k: v for k, v in phrases.items() if k}


_STARTS: tuple[Any, dict[str, int]] = (None, {})   # the last phrases dict seen, its table (swapped whole)


def _starts(phrases: dict[str, str]) -> dict[str, int]:
    """{first word of a synonym phrase: the most words such a phrase has}, for the last `phrases`
    (the same dict for every search of a cached index)."""
    global _STARTS
    seen, table = _STARTS
    if seen is not phrases:
        table = {}
        for phrase in phrases:
            first, n = phrase.split(" ", 1)[0], phrase.count(" ") + 1
            table[first] = max(table.get(first, 0), n)
        _STARTS = (phrases, table)
    return table


def _replace_phrases(tokens: list[str], phrases: dict[str, str]) -> list[tuple[str, bool]]:
    """Each synonym phrase (longest first, left to right) replaced once; outputs are not re-read.
    Returns (word, came from a synonym): a synonym's words are kept even when they are filler
    elsewhere ('nguoi co cong' keeps its 'co')."""
    starts = _starts(phrases)
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(tokens):
        longest = starts.get(tokens[i], 0)
        for n in range(min(longest, len(tokens) - i), 0, -1):
            target = phrases.get(" ".join(tokens[i:i + n]))
            if target is not None:
                out.extend((word, True) for word in target.split())
                i += n
                break
        else:
            out.append((tokens[i], False))
            i += 1
    return out


def words(text: str, language: tuple[dict[str, str], dict[str, str]]) -> list[str]:
    """The meaningful words of `text` in order: folded, synonyms replaced, shorthand expanded,
    filler dropped. 'Thủ tục làm CCCD cho con?' -> ['thu', 'tuc', 'can', 'cuoc', 'con'].

    Synonym phrases are read first on the folded words ('so hong' is a land certificate before
    'hong' is SMS for 'khong'), then shorthand is expanded in what is left and read again
    ('cccd cong dan' -> 'can cuoc cong dan' -> 'can cuoc')."""
    shorthand, phrases = language
    out: list[tuple[str, bool]] = []
    run: list[str] = []

    def flush() -> None:
        expanded = " ".join(shorthand.get(token, token) for token in run).split()
        out.extend(_replace_phrases(expanded, phrases))
        run.clear()

    for token, kept in _replace_phrases(normalise(text or "", {}).split(), phrases):
        if kept:
            flush()
            out.append((token, True))
        else:
            run.append(token)
    flush()
    return [t for t, kept in out if kept or t not in STOPWORDS]


def terms(tokens: list[str]) -> dict[str, float]:
    """Term -> weighted count: every word, and every neighbouring pair ('can cuoc') at PAIR_WEIGHT."""
    out: dict[str, float] = {}
    for t in tokens:
        out[t] = out.get(t, 0.0) + 1.0
    for a, b in zip(tokens, tokens[1:]):
        pair = f"{a} {b}"
        out[pair] = out.get(pair, 0.0) + PAIR_WEIGHT
    return out


def _day(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.astimezone(VN_TZ).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def build_index(articles: Iterable[dict[str, Any]], *, abbreviations: dict[str, str] | None = None,
                synonyms: dict[str, Any] | None = None) -> dict[str, Any]:
    """The search index of `articles` (dicts: id, version, kind, title, questions, answer, category,
    agency, valid_from, valid_until, status). JSON-serialisable and compact: each term's postings
    are a flat list [article number, weight, ...] where the weight is the term's saturated BM25F
    term frequency in that article x 1000 (negative when only its answer has the term), so a search
    only adds numbers. The shorthand and synonyms it was built with travel in it, so a search reads
    a question exactly as the articles were read. `abbreviations`/`synonyms` default to the data
    files (reference.json's abbreviations, kb_synonyms.json)."""
    if abbreviations is None and synonyms is None:
        shorthand, phrases = _default_language()
    else:
        syn = synonyms if synonyms is not None else json.loads((DATA / "kb_synonyms.json").read_text(encoding="utf-8"))
        shorthand, phrases = _language(abbreviations or {}, syn)
    language = (shorthand, phrases)
    docs: list[dict[str, Any]] = []
    counted: list[dict[str, list[float]]] = []
    lengths: list[list[float]] = []
    for article in articles:
        docs.append({
            "id": str(article["id"]),
            "version": article.get("version"),
            "kind": article.get("kind") or "article",
            "category": article.get("category"),
            "agency": article.get("agency"),
            "valid_from": str(_day(article.get("valid_from")) or "") or None,
            "valid_until": str(_day(article.get("valid_until")) or "") or None,
            "status": article.get("status") or "published",
        })
        field_text = {"q": list(article.get("questions") or []), "t": [article.get("title") or ""],
                      "a": [article.get("answer") or ""]}
        counts: dict[str, list[float]] = {}
        length = []
        for f_i, field in enumerate(FIELDS):
            total = 0.0
            for text in field_text[field]:
                for term, count in terms(words(text, language)).items():
                    counts.setdefault(term, [0.0, 0.0, 0.0])[f_i] += count
                    total += count
            length.append(total)
        counted.append(counts)
        lengths.append(length)
    n_docs = len(docs) or 1
    average = [max(sum(length[i] for length in lengths) / n_docs, 1.0) for i in range(len(FIELDS))]
    postings: dict[str, list[int]] = {}
    for doc_n, counts in enumerate(counted):
        norms = [1 - B[f] + B[f] * lengths[doc_n][i] / average[i] for i, f in enumerate(FIELDS)]
        for term, tf in counts.items():
            pseudo = sum(WEIGHTS[f] * tf[i] / norms[i] for i, f in enumerate(FIELDS))
            weight = max(1, round(1000 * pseudo / (K1 + pseudo)))
            postings.setdefault(term, []).extend((doc_n, weight if tf[0] or tf[1] else -weight))
    return {"format": INDEX_FORMAT, "docs": docs, "postings": postings, "shorthand": shorthand, "phrases": phrases}


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + swaps + replaces + inserts)


def _corrected(tokens: list[str], postings: dict[str, Any]) -> list[str]:
    """Unknown words replaced by the most common known word one edit away, or split in two known
    words ('cancuoc' -> 'can cuoc'); left alone otherwise (and then match nothing)."""
    out: list[str] = []
    for token in tokens:
        if token in postings or len(token) < 3 or token.isdigit():
            out.append(token)
            continue
        split = next(((token[:i], token[i:]) for i in range(2, len(token) - 1)
                      if token[:i] in postings and token[i:] in postings
                      and token[:i] not in STOPWORDS and token[i:] not in STOPWORDS), None)
        if split:
            out.extend(split)
            continue
        candidates = [c for c in _edits1(token) if c in postings and c not in STOPWORDS and len(c) >= 2]
        if candidates:
            out.append(max(candidates, key=lambda c: (len(postings[c]), c)))   # the most common
        else:
            out.append(token)
    return out


def _valid(doc: dict[str, Any], today: str | None) -> bool:
    if doc.get("status", "published") != "published":
        return False
    start, end = doc.get("valid_from"), doc.get("valid_until")
    return today is None or ((not start or start <= today) and (not end or today <= end))


def search(index: dict[str, Any], text: str, category: str | None = None, agency: str | None = None,
           now: datetime | None = None, limit: int = 5) -> list[tuple[str, float, float]]:
    """The best articles for `text`: [(article id, score, confidence 0..1)], best first, at most
    `limit`; only published articles valid on `now`'s day in Vietnam (any day when `now` is None).
    An empty list when nothing matches, or for an index of another format (rebuild it)."""
    if not index or index.get("format") != INDEX_FORMAT or not index.get("docs"):
        return []
    postings: dict[str, list[int]] = index["postings"]
    language = (index.get("shorthand") or {}, index.get("phrases") or {})
    query = terms(_corrected(words((text or "")[:MAX_QUERY_CHARS], language), postings))
    if not query:
        return []
    docs = index["docs"]
    n_docs = len(docs)
    today = _day(now).isoformat() if now is not None else None
    allowed: dict[int, bool] = {}
    scores: dict[int, float] = {}
    covered: dict[int, float] = {}
    query_mass = 0.0
    for term, q_count in query.items():
        found = postings.get(term) or ()
        df = len(found) // 2 or 0.0
        idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))   # an unknown word weighs as the rarest
        share = 0.5 if " " in term else 1.0                     # the coverage counts pairs at half weight
        query_mass += share * idf
        weight = min(q_count, 2.0) * idf / 1000
        for i in range(0, len(found), 2):
            doc_n, value = found[i], found[i + 1]
            ok = allowed.get(doc_n)
            if ok is None:
                ok = allowed[doc_n] = _valid(docs[doc_n], today)
            if not ok:
                continue
            scores[doc_n] = scores.get(doc_n, 0.0) + weight * abs(value)
            if value > 0:
                covered[doc_n] = covered.get(doc_n, 0.0) + share * idf
    if not scores:
        return []
    for doc_n in scores:
        doc = docs[doc_n]
        if category and doc.get("category") == category:
            scores[doc_n] *= CATEGORY_BOOST
        if agency and doc.get("agency") == agency:
            scores[doc_n] *= AGENCY_BOOST
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], docs[kv[0]]["id"]))
    out: list[tuple[str, float, float]] = []
    top = ranked[0][1]
    for rank, (doc_n, score) in enumerate(ranked[:limit]):
        coverage = min(1.0, covered.get(doc_n, 0.0) / query_mass) if query_mass else 0.0
        if rank == 0:
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            margin = 1.0 - second / score if score else 0.0
            confidence = coverage * min(1.0, 0.4 + 1.5 * margin)
        else:
            confidence = min(coverage, score / top) * 0.5
        out.append((docs[doc_n]["id"], round(score, 4), round(confidence, 3)))
    return out


def best_question(questions: list[str], text: str, index: dict[str, Any] | None = None) -> str | None:
    """The phrasing among `questions` sharing most words with `text` (the first on a tie), for
    showing 'the question this answers'; None when there are none."""
    if not questions:
        return None
    language = (index.get("shorthand") or {}, index.get("phrases") or {}) if index else _default_language()
    wanted = set(words(text, language))
    best = max(range(len(questions)), key=lambda i: (len(wanted & set(words(questions[i], language))), -i))
    return questions[best]
