"""The learned router: a compact naive Bayes text classifier beside the keyword rules.

Pure Python (it trains in a scheduled Lambda and predicts inside routing, no numpy). Features of
the folded, shorthand-expanded text (classify.normalise): words, word pairs, and character 3-5-grams
inside each word (so 'ngap' and 'ngapp' or a missing tone still share most of their evidence). Each
example counts a feature once (presence, not frequency: short messages repeat little).

The trained weights are a JSON artifact {"kind": "nb-v1", "version", ...} stored and versioned by
the model store; `load` turns one into a Model (cached by version). `evaluate` gives the figures the
promotion rule (`not_worse`) and the bench compare.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from chalicelib.domain.reference import ReferenceData

KIND = "nb-v1"
DATA = Path(__file__).resolve().parent.parent / "data"
TRIAGE = "khac"                 # the label for "not a case for any agency": operators' triage
# Feature settings, stored in the artifact so a model always predicts with the features it was trained on.
CONFIG: dict[str, Any] = {
    "char": [3, 5],             # character n-gram lengths inside " word " (inclusive)
    "alpha": 1.0,               # additive smoothing
    "complement": True,         # complement naive Bayes (evidence against the other classes): steadier on small sets
    "idf": False,               # weight features by inverse document frequency
    "weights": {"w": 1.0, "b": 1.0, "c": 0.1},  # per feature kind: a word's char-grams are many, each counts less
    "keyword_weight": 3.0,      # each reference keyword phrase is one pseudo-example of its category, this heavy
    "min_df": 1,                # a feature seen in fewer examples (weighted) is dropped (size, noise)
    "max_features": 40000,      # the most frequent features only: the artifact stays around 1 MB of JSON
    "correction_weight": 4.0,   # a staff correction (this province's own citizens, checked by staff) counts as this
                                # many packaged examples: a few corrections of one wording outweigh the writers' guesses
    "correction_min_df": 3,     # a feature only corrections have must come from this many of them: a rare word
                                # one citizen wrote (a neighbour's name redaction missed) never enters the artifact
    "temperature": 2.0,         # probabilities = softmax(log joint / temperature)
}
# Promotion tolerances (not_worse): one message in a few hundred is noise, not a regression.
ACCURACY_TOLERANCE = 0.005
WRONG_AGENCY_TOLERANCE = 0.005
CONFIDENTIAL_FP_TOLERANCE = 0
TRIAGE_TOLERANCE = 0.05  # five messages in a hundred more to triage, with no fewer misrouted, is worse


@dataclass(frozen=True)
class Example:
    """One labelled message: what a citizen wrote and the category staff (or the labelled set) gave it."""

    text: str
    category: str
    area: str | None = None
    channel: str = "web"
    correction: bool = False   # a citizen's own (redacted) words from a staff correction, not packaged data


def features(normalised: str, config: dict[str, Any] | None = None) -> set[str]:
    """Returns the distinct features of normalised text (classify.normalise): 'w:duong',
    'b:duong ngap', 'c: ngap' ..."""
    low, high = (config or CONFIG)["char"]
    words = normalised.split()
    found = {f"w:{w}" for w in words}
    found.update(f"b:{a} {b}" for a, b in zip(words, words[1:]))
    if (config or CONFIG)["weights"].get("s"):  # word pairs one word apart ('ngap nuoc' in 'ngap het nuoc')
        found.update(f"s:{a} {b}" for a, b in zip(words, words[2:]))
    for word in words:
        padded = f" {word} "
        for n in range(low, high + 1):
            found.update(f"c:{padded[i:i + n]}" for i in range(len(padded) - n + 1))
    return found


def _normalised(text: str, ref: ReferenceData) -> str:
    from chalicelib.domain.classify import normalise

    return normalise(text, ref.abbreviations)


def train(examples: list[Example], ref: ReferenceData, version: str, now_iso: str,
          config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Returns the artifact trained on `examples` plus each category's keyword phrases (as
    pseudo-examples). Deterministic: the same input gives the same artifact. Unknown categories
    (no longer in the reference data) are left out."""
    config = {**CONFIG, **(config or {})}
    classes = sorted(ref.categories)
    index = {c: i for i, c in enumerate(classes)}
    weighted: list[tuple[set[str], int, float]] = []
    used = 0
    packaged: set[str] = set()          # features of the labelled sets and keywords (no one's personal data)
    from_corrections: Counter[str] = Counter()
    for example in examples:
        if example.category in index:
            feats = features(_normalised(example.text, ref), config)
            weight = float(config.get("correction_weight", 1.0)) if example.correction else 1.0
            weighted.append((feats, index[example.category], weight))
            if example.correction:
                from_corrections.update(feats)
            else:
                packaged |= feats
            used += 1
    if config["keyword_weight"]:
        for category in ref.categories.values():
            for phrase, _ in category.keywords:
                feats = features(f" {phrase} ", config)
                packaged |= feats
                weighted.append((feats, index[category.id], config["keyword_weight"]))
    doc_freq: Counter[str] = Counter()
    class_docs = [0.0] * len(classes)
    for feats, label, weight in weighted:
        class_docs[label] += weight
        for feat in feats:
            doc_freq[feat] += weight
    floor = config.get("correction_min_df", 1)
    frequent = sorted((f for f, n in doc_freq.items()
                       if n >= config["min_df"] and (f in packaged or from_corrections[f] >= floor)),
                      key=lambda f: (-doc_freq[f], f))
    kept = sorted(frequent[:int(config["max_features"])])
    keep = set(kept)
    counts: dict[str, dict[int, float]] = {f: {} for f in kept}
    for feats, label, weight in weighted:
        for feat in feats & keep:
            counts[feat][label] = counts[feat].get(label, 0.0) + weight
    return {
        "kind": KIND, "version": version, "trained_at": now_iso, "n_examples": used,
        "n_pseudo_examples": len(weighted) - used, "classes": classes, "config": config,
        "class_docs": [round(n, 3) for n in class_docs],
        # feature -> [class index, weighted count, class index, weighted count, ...] (sparse)
        "counts": {f: [x for label, n in sorted(c.items()) for x in (label, round(n, 3))] for f, c in counts.items()},
    }


class Model:
    """A loaded artifact: predicts category probabilities for a message."""

    def __init__(self, artifact: dict[str, Any]) -> None:
        if artifact.get("kind") != KIND:
            raise ValueError(f"unknown model kind {artifact.get('kind')!r}")
        self.version: str = str(artifact["version"])
        self.classes: list[str] = list(artifact["classes"])
        self.config: dict[str, Any] = {**CONFIG, **artifact.get("config", {})}
        k = len(self.classes)
        class_docs = [float(n) for n in artifact["class_docs"]]
        if len(class_docs) != k:
            raise ValueError("class_docs does not match classes")
        alpha = float(self.config["alpha"])
        total = sum(class_docs) or 1.0
        self.log_prior = [math.log((n + 1.0) / (total + k)) for n in class_docs]
        kinds = self.config["weights"]
        # Multinomial over feature occurrences (each counted once per example), smoothed:
        # log P(feature | class) = log((count + alpha) / (class total + alpha * vocabulary)).
        sparse: dict[str, list[tuple[int, float]]] = {}
        totals = [0.0] * k
        for feat, flat in artifact["counts"].items():
            pairs = [(int(flat[i]), float(flat[i + 1])) for i in range(0, len(flat), 2)]
            for label, n in pairs:
                totals[label] += n
            sparse[feat] = pairs
        vocabulary = max(len(sparse), 1)
        docs = sum(class_docs) or 1.0
        complement = bool(self.config.get("complement"))
        if complement:  # complement NB: evidence against each class from all the other classes
            grand = sum(totals)
            totals = [grand - t for t in totals]
            self.log_prior = [0.0] * k
        denominators = [math.log(t + alpha * vocabulary) for t in totals]
        unseen = [math.log(alpha) - d for d in denominators]
        self.table: dict[str, tuple[float, list[float]]] = {}
        for feat, pairs in sparse.items():
            if complement:
                whole = sum(n for _, n in pairs)
                counts = [whole] * k
                for label, n in pairs:
                    counts[label] = whole - n
                row = [-(math.log(n + alpha) - d) for n, d in zip(counts, denominators)]
            else:
                row = list(unseen)
                for label, n in pairs:
                    row[label] = math.log(n + alpha) - denominators[label]
            weight = float(kinds.get(feat[0], 1.0))
            if self.config.get("idf"):
                weight *= math.log(docs / sum(n for _, n in pairs)) + 1.0
            self.table[feat] = (weight, row)

    def scores(self, normalised: str) -> list[float]:
        """Log joint per class for normalised text (features the model never saw are ignored)."""
        total = list(self.log_prior)
        for feat in features(normalised, self.config):
            found = self.table.get(feat)
            if found is None:
                continue
            weight, row = found
            for i, value in enumerate(row):
                total[i] += weight * value
        return total

    def predict(self, text: str, ref: ReferenceData) -> list[tuple[str, float]]:
        """Returns (category, probability) for every class, best first."""
        scores = self.scores(_normalised(text, ref))
        temperature = float(self.config["temperature"]) or 1.0
        top = max(scores)
        exps = [math.exp((s - top) / temperature) for s in scores]
        norm = sum(exps)
        ranked = sorted(zip(self.classes, (e / norm for e in exps)), key=lambda cp: (-cp[1], cp[0]))
        return ranked


_CACHE: dict[str, Model] = {}


def load(artifact: dict[str, Any]) -> Model:
    """Returns the Model for an artifact, cached by version (with its training time and size).
    Raises ValueError for an artifact it cannot read."""
    version = "|".join(str(artifact.get(key)) for key in ("version", "trained_at", "n_examples"))
    cached = _CACHE.get(version)
    if cached is None:
        try:
            cached = Model(artifact)
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"broken model artifact: {exc}") from exc
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[version] = cached
    return cached


def _jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@lru_cache(maxsize=1)
def _seed_rows() -> tuple[dict[str, Any], ...]:
    return tuple(row for path in sorted(DATA.glob("routing_train*.jsonl")) for row in _jsonl(path.name))


def seed_rows() -> list[dict[str, Any]]:
    """The labelled training pool packaged with the app: every routing_train*.jsonl (the seed set the
    keywords were tuned on, then more messages written by others)."""
    return [dict(row) for row in _seed_rows()]


def seed_examples() -> list[Example]:
    """The training pool as training examples."""
    return [Example(r["text"], r["category"], r.get("area")) for r in _seed_rows()]


def holdout_rows() -> list[dict[str, Any]]:
    """The fixed promotion holdout (written blind; never trained on)."""
    return _jsonl("routing_holdout.jsonl")


def evaluate(rows: Iterable[dict[str, Any]], ref: ReferenceData, model: Model | None) -> dict[str, Any]:
    """Routes each row {"text", "category", "area"} as the router would (classify, then the
    routing table; no agency = triage) and returns the figures the promotion rule compares."""
    from chalicelib.domain.classify import classify

    n = routed = right = wrong_agency = confidential_fp = 0
    confusion: Counter[str] = Counter()
    for row in rows:
        n += 1
        decided = classify(row["text"], ref, model=model)
        agency = ref.agency_for(decided.category, decided.area) if decided.category else None
        if agency is None:
            continue
        routed += 1
        truth = row["category"]
        if decided.category == truth:
            right += 1
        else:
            confusion[f"{truth} -> {decided.category}"] += 1
            guessed = ref.categories.get(decided.category)
            if guessed is not None and guessed.confidential:
                confidential_fp += 1
        true_agency = ref.agency_for(truth, row.get("area") or decided.area) if truth in ref.categories else None
        if agency != true_agency:
            wrong_agency += 1
    return {"n": n, "routed": routed,
            "accuracy_routed": round(right / routed, 4) if routed else 0.0,
            "triage_rate": round((n - routed) / n, 4) if n else 0.0,
            "wrong_agency_rate": round(wrong_agency / n, 4) if n else 0.0,
            "confidential_false_positives": confidential_fp,
            "confusion": dict(sorted(confusion.items(), key=lambda kv: (-kv[1], kv[0])))}


def not_worse(new: dict[str, Any], old: dict[str, Any]) -> tuple[bool, list[str]]:
    """The promotion rule: the new model's figures are not worse than the old ones on category
    accuracy (of routed messages), wrong-agency rate and confidential false positives. Tolerances
    (ACCURACY_TOLERANCE, WRONG_AGENCY_TOLERANCE: half a percentage point; confidential false
    positives: none) keep one message's noise from blocking a model. And a model that sends more
    messages to triage (beyond TRIAGE_TOLERANCE, five points) must pay for it with fewer messages sent
    to the wrong agency, or it only adds operators' work. Returns (ok, reasons in Vietnamese)."""
    reasons: list[str] = []
    if new["accuracy_routed"] < old["accuracy_routed"] - ACCURACY_TOLERANCE:
        reasons.append(f"Độ chính xác giảm: {new['accuracy_routed']:.1%} so với {old['accuracy_routed']:.1%}.")
    if new["wrong_agency_rate"] > old["wrong_agency_rate"] + WRONG_AGENCY_TOLERANCE:
        reasons.append(f"Tỷ lệ chuyển sai cơ quan tăng: {new['wrong_agency_rate']:.1%} so với "
                       f"{old['wrong_agency_rate']:.1%}.")
    if new["confidential_false_positives"] > old["confidential_false_positives"] + CONFIDENTIAL_FP_TOLERANCE:
        reasons.append(f"Chuyển nhầm vào lĩnh vực mật nhiều hơn: {new['confidential_false_positives']} so với "
                       f"{old['confidential_false_positives']}.")
    if (new["triage_rate"] > old["triage_rate"] + TRIAGE_TOLERANCE
            and new["wrong_agency_rate"] >= old["wrong_agency_rate"]):
        reasons.append(f"Tỷ lệ chờ phân loại tăng: {new['triage_rate']:.1%} so với {old['triage_rate']:.1%}, "
                       "mà không giảm chuyển sai cơ quan.")
    return not reasons, reasons
