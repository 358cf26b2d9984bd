"""Knowledge-base search (chalicelib/domain/kb_search.py): how a question is read (folding, SMS
shorthand, synonyms, typos), BM25 ranking, validity, confidence, and the accuracy floor on the
labelled questions (tests/data/kb_questions.jsonl) over the demo articles (devstack/kb_seed.json)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import pytest

from bench import kb as bench_kb
from chalicelib.domain import kb_search

NOW = bench_kb.NOW
LANGUAGE = kb_search._default_language()


def _article(id: str, title: str, questions: list[str], answer: str = "Nội dung trả lời.", **extra: Any) -> dict:
    return {"id": id, "version": 1, "kind": "article", "title": title, "questions": questions, "answer": answer,
            "category": extra.pop("category", "thu-tuc-hanh-chinh"), "agency": extra.pop("agency", "van-phong-ubnd"),
            "valid_from": extra.pop("valid_from", None), "valid_until": extra.pop("valid_until", None),
            "status": extra.pop("status", "published"), **extra}


def _ids(index: dict, text: str, **kwargs: Any) -> list[str]:
    return [hit[0] for hit in kb_search.search(index, text, **kwargs)]


@pytest.fixture(scope="module")
def seed_index() -> dict:
    return kb_search.build_index(bench_kb.seed_articles())


# How a question is read


@pytest.mark.parametrize("written, plain", [
    ("Thủ tục làm CCCD cho con?", "thu tuc lam can cuoc cho con"),          # shorthand, diacritics, case
    ("đổi CMND", "doi chung minh nhan dan"),                               # both are the căn cước now
    ("ko co nc xai", "mat nuoc xai"),                                        # SMS shorthand then a synonym
    ("Sổ hồng", "giấy chứng nhận quyền sử dụng đất"),                       # land certificate, any name
    ("chích ngừa cho bé", "tiem chung cho be"),
    ("lam gpxd bao lau", "lam giay phep xay dung mat bao lau"),
])
def test_the_ways_people_write_the_same_question_read_the_same(written: str, plain: str) -> None:
    assert kb_search.words(written, LANGUAGE) == kb_search.words(plain, LANGUAGE)


def test_filler_is_dropped_but_a_synonym_keeps_its_words() -> None:
    assert kb_search.words("Cho em hỏi với ạ, làm căn cước ở đâu nhé", LANGUAGE) == ["can", "cuoc", "noi", "nop"]
    assert kb_search.words("chế độ người có công", LANGUAGE) == ["che", "do", "nguoi", "co", "cong"]


def test_a_typo_or_a_missing_space_still_finds_the_article() -> None:
    index = kb_search.build_index([
        _article("cc", "Làm căn cước", ["Làm căn cước ở đâu?"]),
        _article("ks", "Đăng ký khai sinh", ["Làm giấy khai sinh cho con"]),
    ])
    assert _ids(index, "lam can cuooc")[0] == "cc"       # a doubled letter
    assert _ids(index, "lam cancuoc")[0] == "cc"         # no space
    assert _ids(index, "dang ky khia sinh")[0] == "ks"   # swapped letters


# Ranking


def test_bm25_ranks_the_article_sharing_the_rarer_words_first() -> None:
    index = kb_search.build_index([
        _article("ket-hon", "Đăng ký kết hôn", ["Đăng ký kết hôn cần giấy tờ gì?"]),
        _article("tam-tru", "Đăng ký tạm trú", ["Đăng ký tạm trú ở đâu?"]),
        _article("thuong-tru", "Đăng ký thường trú", ["Đăng ký thường trú ở đâu?"]),
    ])
    # 'dang ky' is in every article, 'ket hon' in one
    assert _ids(index, "dang ky ket hon")[0] == "ket-hon"
    assert _ids(index, "tam tru")[0] == "tam-tru"


def test_a_question_phrasing_weighs_more_than_a_mention_in_an_answer() -> None:
    index = kb_search.build_index([
        _article("mentions", "Hộ nghèo", ["Xét hộ nghèo thế nào?"], "Hộ nghèo được cấp thẻ bảo hiểm y tế miễn phí."),
        _article("asks", "Thẻ bảo hiểm y tế", ["Mua thẻ bảo hiểm y tế ở đâu?"], "Tại bưu điện."),
    ])
    assert _ids(index, "the bao hiem y te")[0] == "asks"


def test_the_tickets_category_and_agency_lift_their_articles() -> None:
    index = kb_search.build_index([
        _article("a-dien", "Đăng ký lắp đặt mới", ["Đăng ký lắp đặt mới ở đâu?"], category="dien-nuoc",
                 agency="so-cong-thuong"),
        _article("b-nuoc", "Đăng ký lắp đặt mới", ["Đăng ký lắp đặt mới ở đâu?"], category="moi-truong",
                 agency="so-nong-nghiep-moi-truong"),
    ])
    assert _ids(index, "dang ky lap dat moi")[0] == "a-dien"            # a tie: by id
    assert _ids(index, "dang ky lap dat moi", category="moi-truong")[0] == "b-nuoc"
    assert _ids(index, "dang ky lap dat moi", agency="so-nong-nghiep-moi-truong")[0] == "b-nuoc"


def test_nothing_to_match_gives_no_hits_and_limit_is_kept(seed_index: dict) -> None:
    assert kb_search.search(seed_index, "", now=NOW) == []
    assert kb_search.search(seed_index, "ạ nhé với", now=NOW) == []
    assert kb_search.search(seed_index, "xyzzyq", now=NOW) == []
    assert kb_search.search({}, "can cuoc") == []
    assert kb_search.search({**seed_index, "format": 1}, "can cuoc") == []   # an older index: rebuild it
    assert len(kb_search.search(seed_index, "dang ky", now=NOW, limit=2)) == 2
    long_ticket = "cho em hỏi với ạ " * (kb_search.MAX_QUERY_CHARS // 17 + 1) + "can cuoc"   # read up to the bound
    assert kb_search.search(seed_index, long_ticket, now=NOW) == []


def test_the_index_survives_json_as_stored_in_s3(seed_index: dict) -> None:
    stored = json.loads(json.dumps(seed_index))
    for text in ("thu tuc lam can cuoc cho con", "mat dien", "xin phep xay nha"):
        assert kb_search.search(stored, text, now=NOW) == kb_search.search(seed_index, text, now=NOW)


# Validity


def test_only_published_articles_valid_on_the_day_in_vietnam_are_found() -> None:
    question = ["Lịch cắt điện bảo trì"]
    index = kb_search.build_index([
        _article("current", "Lịch cắt điện bảo trì", question, valid_from="2026-12-01", valid_until="2026-12-13"),
        _article("future", "Lịch cắt điện bảo trì", question, valid_from="2026-12-14"),
        _article("past", "Lịch cắt điện bảo trì", question, valid_until="2026-11-30"),
        _article("draft", "Lịch cắt điện bảo trì", question, status="draft"),
    ])
    on_13th_evening = datetime(2026, 12, 13, 16, 59, tzinfo=timezone.utc)   # 23:59 in Vietnam: the last day
    on_14th_morning = datetime(2026, 12, 13, 17, 0, tzinfo=timezone.utc)    # 00:00 on the 14th in Vietnam
    assert _ids(index, "lich cat dien", now=on_13th_evening) == ["current"]
    assert _ids(index, "lich cat dien", now=on_14th_morning) == ["future"]
    assert sorted(_ids(index, "lich cat dien")) == ["current", "future", "past"]   # no day: any date, never drafts


def test_the_expired_demo_announcement_is_not_suggested(seed_index: dict) -> None:
    question = "lich cup dien thang 10 phuong long hoa"
    assert "tb-cat-dien-10-2026" not in _ids(seed_index, question, now=NOW)
    assert _ids(seed_index, question, now=datetime(2026, 10, 15, tzinfo=timezone.utc))[0] == "tb-cat-dien-10-2026"


# Confidence


def test_a_clear_match_is_confident_an_ambiguous_one_is_not() -> None:
    index = kb_search.build_index([
        _article("cc-tre", "Làm căn cước cho trẻ em", ["Làm căn cước cho con dưới 14 tuổi"]),
        _article("cc-doi", "Cấp đổi căn cước", ["Đổi căn cước khi đủ 25 tuổi"]),
        _article("ks", "Đăng ký khai sinh", ["Làm giấy khai sinh cho con mới sinh"]),
    ])
    clear = kb_search.search(index, "lam can cuoc cho con duoi 14 tuoi")
    assert clear[0][0] == "cc-tre" and clear[0][2] >= kb_search.CONFIDENT
    assert all(hit[2] < kb_search.CONFIDENT for hit in clear[1:])
    vague = kb_search.search(index, "can cuoc")   # both căn cước articles fit
    assert vague[0][2] < kb_search.CONFIDENT


# The done-when and the labelled set


@pytest.mark.parametrize("text", ["thủ tục làm căn cước cho con", "lam can cuoc cho con", "lm cccd cho be"])
def test_the_childrens_id_card_article_answers_a_parent(seed_index: dict, text: str) -> None:
    hits = kb_search.search(seed_index, text, category="thu-tuc-hanh-chinh", now=NOW)
    assert hits[0][0] == "can-cuoc-tre-em-duoi-14"


def test_best_question_picks_the_phrasing_closest_to_what_was_asked() -> None:
    phrasings = ["Làm CCCD cho bé cần gì?", "Trẻ dưới 6 tuổi làm căn cước trên VNeID được không?"]
    assert kb_search.best_question(phrasings, "lam can cuoc tren vneid cho tre") == phrasings[1]
    assert kb_search.best_question([], "x") is None


def test_the_labelled_questions_find_their_article_in_the_top_three(seed_index: dict) -> None:
    rows = [row for row in bench_kb.questions() if not row["holdout"]]   # the held-out part is for the bench
    result = bench_kb.evaluate(seed_index, rows)
    assert result["n"] >= 150
    assert result["top3"] >= 0.9, result["misses"]
    assert result["confident_wrong"] == 0   # no auto-answer with a wrong article on the labelled set


# The demo content


def test_the_demo_articles_are_valid_varied_and_say_they_are_demo_data() -> None:
    from chalicelib.domain import kb as rules
    from chalicelib.domain.reference import parse_reference
    from chalicelib.store.reference import seed_document

    ref = parse_reference(seed_document())
    articles = bench_kb.seed_articles()
    kinds = [a["kind"] for a in articles]
    assert kinds.count("article") >= 45 and kinds.count("announcement") >= 3
    assert {a["category"] for a in articles} == set(ref.categories)   # every category has articles
    for a in articles:
        source = a["source"]
        form = {**a, "source_number": source["number"], "source_date": source["date"], "source_body": source["body"],
                "source_url": source["url"]}
        rules.validate(form, ref.categories.keys(), ref.agencies.keys())   # what the loader stores: no refusal
        assert 2 <= len(a["questions"]) <= 5 and len(a["short_answer"]) <= 300
        assert "DEMO" in source["number"] and "dữ liệu demo" in source["body"]   # never a real decision


@pytest.mark.parametrize("day", [date(2026, 11, 30), date(2029, 2, 28), date(2031, 12, 31), "today"])
def test_the_demo_announcements_are_valid_on_whatever_day_the_seed_is_loaded(day: Any) -> None:
    from chalicelib.domain import kb as rules
    from chalicelib.domain.clock import VN_TZ
    from devstack.seed import kb_articles

    if day == "today":
        day = datetime.now(timezone.utc).astimezone(VN_TZ).date()
    articles = kb_articles(day)
    noon = datetime(day.year, day.month, day.day, 5, 0, tzinfo=timezone.utc)   # noon in Vietnam
    notices = [a for a in articles if a["kind"] == "announcement"]
    valid = [a for a in notices if rules.valid_at(a["valid_from"], a["valid_until"], noon)]
    assert len(valid) >= 5 and [a["id"] for a in notices if a not in valid] == ["tb-cat-dien-10-2026"]
    for a in notices:   # every date filled in, and the texts say the dates the validity says
        assert not any("{" in text for text in [a["title"], a["answer"], a["short_answer"], *a["questions"]])
        assert a["source"]["date"] <= day.isoformat() and a["valid_from"] <= a["valid_until"]
    water = next(a for a in articles if a["id"] == "tb-ngung-cap-nuoc-tan-ninh")
    last = date.fromisoformat(water["valid_until"])
    assert f"{last:%d/%m/%Y}" in water["answer"] and f"{last:%d/%m/%Y}" in water["short_answer"]
