"""Knowledge-base search accuracy and speed (issue 17).

The labelled questions (tests/data/kb_questions.jsonl: real-style questions with and without
diacritics, SMS shorthand and typos, each with the article that answers it; about a fifth held out
and never used to tune) run through the real index build (chalicelib.domain.kb_search.build_index
over the demo articles in devstack/kb_seed.json) and search, at a fixed day when the demo
announcements are valid. It measures top-1 and top-3 accuracy on the labelled (tuning) part and on
the held-out part, how often a confident hit (kb_search.CONFIDENT, what an auto-answer needs) is
wrong, the p50 of a search in-process, and the index's size (JSON, gzipped as stored in S3); the
same index grown to 2,000 articles (size, load and build time, p50).

With --stack it also seeds the articles into the in-process emulator through
chalicelib.services.kb.load_published and times chalicelib.services.kb.search there (p50: the
index read from S3 once and cached per container, as on Lambda).

`python -m bench.kb` prints the figures and merges them into bench/results.json with their own
`kb_measured_at` (`make bench-kb`: with --stack, about 10 seconds; separate from `make bench`).
--no-record prints only; --misses lists the labelled (never the held-out) questions not ranked first.
"""
from __future__ import annotations

import gzip
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import ROOT

SEED = ROOT / "devstack" / "kb_seed.json"
QUESTIONS = ROOT / "tests" / "data" / "kb_questions.jsonl"
# A day on which every demo announcement but one (an expired power cut) is valid.
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
SCALE = 2000   # articles, for the figures at a province's size


def seed_articles(path: Path = SEED) -> list[dict[str, Any]]:
    """The demo articles as the index receives them (published), dated as loaded on NOW's day
    (devstack/seed.kb_articles: announcements' dates are relative to the load day)."""
    from chalicelib.domain.clock import VN_TZ
    from devstack.seed import kb_articles

    articles = kb_articles(NOW.astimezone(VN_TZ).date(), path)
    return [{**a, "version": 1, "status": "published"} for a in articles]


def questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(index: dict[str, Any], rows: list[dict[str, Any]], now: datetime = NOW) -> dict[str, Any]:
    """Top-1/top-3 accuracy over `rows` with an article; confident hits and confident wrong hits
    (a wrong article, or any article for a question none answers); the misses."""
    from chalicelib.domain import kb_search

    answered = [r for r in rows if r["article"]]
    top1 = top3 = confident = confident_wrong = 0
    misses = []
    for row in rows:
        hits = kb_search.search(index, row["text"], now=now, limit=3)
        ids = [h[0] for h in hits]
        sure = bool(hits) and hits[0][2] >= kb_search.CONFIDENT
        confident += sure
        if sure and ids[0] != row["article"]:
            confident_wrong += 1
        if not row["article"]:
            continue
        top1 += bool(ids) and ids[0] == row["article"]
        top3 += row["article"] in ids
        if not ids or ids[0] != row["article"]:
            misses.append((row["text"], row["article"], ids))
    n = len(answered) or 1
    return {"n": len(answered), "top1": top1 / n, "top3": top3 / n, "confident": confident,
            "confident_wrong": confident_wrong, "misses": misses}


def _p50_ms(run, samples: list[str]) -> float:
    times = []
    for text in samples:
        start = time.perf_counter()
        run(text)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def measure(stack: bool = False) -> dict[str, Any]:
    from chalicelib.domain import kb_search

    articles = seed_articles()
    start = time.perf_counter()
    index = kb_search.build_index(articles)
    build_ms = (time.perf_counter() - start) * 1000
    rows = questions()
    tuning = evaluate(index, [r for r in rows if not r["holdout"]])
    held = evaluate(index, [r for r in rows if r["holdout"]])
    texts = [r["text"] for r in rows]
    raw = json.dumps(index, ensure_ascii=False, separators=(",", ":")).encode()
    figures: dict[str, Any] = {
        "kb_articles": len(articles),
        "kb_questions_labelled": tuning["n"],
        "kb_questions_holdout": held["n"],
        "kb_top1_labelled": round(tuning["top1"], 3),
        "kb_top3_labelled": round(tuning["top3"], 3),
        "kb_top1_holdout": round(held["top1"], 3),
        "kb_top3_holdout": round(held["top3"], 3),
        "kb_confident_hits": tuning["confident"] + held["confident"],
        "kb_confident_wrong": tuning["confident_wrong"] + held["confident_wrong"],
        "kb_search_p50_ms": _p50_ms(lambda t: kb_search.search(index, t, now=NOW), texts),
        "kb_index_build_ms": round(build_ms, 1),
        "kb_index_bytes": len(raw),
        "kb_index_gzip_bytes": len(gzip.compress(raw)),
    }
    figures.update(_at_scale(articles, texts))
    if stack:
        figures.update(_service_p50(articles, texts))
    return figures


def _at_scale(articles: list[dict[str, Any]], texts: list[str], size: int = SCALE) -> dict[str, Any]:
    """A province's knowledge base grown to `size` articles: the demo ones repeated under new ids,
    each with 20 words drawn from the others' texts added to its title and answer (so the vocabulary
    and the answers' lengths grow too): index size, the time to parse it (a cold container's JSON
    load), build time and the p50 of a search."""
    import random

    from chalicelib.domain import kb_search

    rng = random.Random(17)
    pool = [w for a in articles for w in f"{a['title']} {a['answer']}".split()]
    grown = []
    for n in range(size):
        extra = " ".join(rng.choice(pool) for _ in range(20))
        base = articles[n % len(articles)]
        grown.append({**base, "id": f"{base['id']}-{n}", "title": f"{base['title']} {extra[:40]}",
                      "answer": f"{base['answer']} {extra}"})
    start = time.perf_counter()
    index = kb_search.build_index(grown)
    build_s = time.perf_counter() - start
    packed = gzip.compress(json.dumps(index, ensure_ascii=False, separators=(",", ":")).encode())
    start = time.perf_counter()
    json.loads(gzip.decompress(packed))
    parse_ms = (time.perf_counter() - start) * 1000
    return {f"kb_{size}_index_gzip_bytes": len(packed), f"kb_{size}_index_load_ms": round(parse_ms, 1),
            f"kb_{size}_index_build_s": round(build_s, 2),
            f"kb_{size}_search_p50_ms": _p50_ms(lambda t: kb_search.search(index, t, now=NOW), texts)}


def _service_p50(articles: list[dict[str, Any]], texts: list[str]) -> dict[str, Any]:
    """chalicelib.services.kb.search on the in-process emulator with the seed loaded as published
    (devstack/seed.py's loader): the p50 of a warm search (index cached in the container), the first
    search of a container (the index read from S3), and the seed's load time."""
    from devstack.emulator import bring_up, stage_environment

    local = bring_up(port=0, stack_name="hotline1022-bench-kb")
    try:
        stage_environment("dev")
        from chalicelib.config import settings
        from chalicelib.services import kb
        from chalicelib.store import kb as kb_store
        from chalicelib.store.reference import save_reference, seed_document

        settings.cache_clear()
        save_reference(seed_document(), expected_version=None)
        start = time.perf_counter()
        kb.load_published(articles, "staff:bench", NOW)
        load_s = time.perf_counter() - start
        kb_store.forget_index()
        start = time.perf_counter()
        first = kb.search(texts[0], public=True, now=NOW)
        cold_ms = (time.perf_counter() - start) * 1000
        assert first and first[0]["id"] == "can-cuoc-tre-em-duoi-14", first[:1]
        return {"kb_service_search_p50_ms": _p50_ms(lambda t: kb.search(t, public=True, now=NOW), texts),
                "kb_service_first_search_ms": round(cold_ms, 1), "kb_seed_load_s": round(load_s, 2)}
    finally:
        local.stop()


def main(arguments: list[str]) -> None:
    from bench.report import record
    from chalicelib.domain import kb_search

    figures = measure(stack="--stack" in arguments)
    if "--misses" in arguments:   # the labelled (tuning) part only: held-out misses are not for tuning
        index = kb_search.build_index(seed_articles())
        for miss in evaluate(index, [r for r in questions() if not r["holdout"]])["misses"]:
            print(miss)
    record(figures, "kb", arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
