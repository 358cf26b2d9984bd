"""The search's rules without AWS: folding and words, the query a staff member types, the FTS5
expression and the Python match agreeing on the same documents, the highlighted excerpt, the
months the index covers, the page key; and one month's index file (SQLite FTS5) on its own."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib.domain import search as rules
from chalicelib.domain.errors import ValidationFailed
from chalicelib.store.search_index import Doc, Shard


def test_words_are_folded_vietnamese_split_on_anything_but_letters_and_digits() -> None:
    assert rules.words("Đường NGUYỄN Trãi, số 12/3 (hẻm Đồng-Khởi)") == [
        "duong", "nguyen", "trai", "so", "12", "3", "hem", "dong", "khoi"]
    assert rules.words("Lưu Thị Ưng ở ấp Bàu Sen") == ["luu", "thi", "ung", "o", "ap", "bau", "sen"]
    assert rules.indexed("Cống  tắc", None, "Xã Bến Cầu") == "cong tac xa ben cau"


def test_a_query_is_words_phrases_and_word_beginnings() -> None:
    query = rules.parse('  "Nguyễn Văn" 30/4 ngập* ngập* a ')
    assert query.terms == (rules.Term(("nguyen", "van")), rules.Term(("30", "4")), rules.Term(("ngap",), prefix=True),
                           rules.Term(("a",)))
    assert query.words == {"nguyen", "van", "30", "4", "ngap", "a"}
    assert rules.parse("an x*").terms == (rules.Term(("an",)), rules.Term(("x",)))  # one letter begins no word


@pytest.mark.parametrize("text,reason", [
    ("", "Nhập mã phản ánh"), ("   ", "Nhập mã phản ánh"), ("à", "ít nhất 2"), ('" "', "ít nhất 2"), ("!!", "ít nhất 2"),
    ("x" * 201, "tối đa 200"), (" ".join(f"đường{n}" for n in range(13)), "tối đa 12 từ")])
def test_an_empty_short_or_long_query_is_refused_in_vietnamese(text: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        rules.parse(text)
    assert refused.value.errors[0].field == "q" and reason in refused.value.errors[0].vi


def test_the_fts_expression_quotes_every_term_and_can_leave_the_name_out() -> None:
    query = rules.parse('duong "nguyen trai" ngu*')
    assert rules.fts(query) == '"duong" AND "nguyen trai" AND "ngu"*'
    assert rules.fts(query, rules.WITHOUT_NAME) == '{body place} : ("duong" AND "nguyen trai" AND "ngu"*)'


_SYLLABLES = ["nguyen", "van", "an", "duong", "trai", "le", "loi", "cong", "tac", "ngap", "ben", "cau", "12", "3",
              "hem", "tan", "ninh", "thi", "mai", "den", "hong"]


def _shard(tmp_path: Path, docs: list[Doc]) -> Shard:
    shard = Shard(tmp_path / "month.sqlite")
    shard.put(docs)
    return shard


def _doc(n: int, body: str, name: str = "", place: str = "", agency: str | None = "so-xay-dung",
         category: str | None = "ngap-ung") -> Doc:
    return Doc(f"TN-A{n:05d}", 1_700_000_000_000_000 + n, "2026-11-01T00:00:00+00:00", agency, category, "tan-ninh",
               body, name, place)


def test_python_and_sqlite_fts5_find_the_same_documents(tmp_path: Path) -> None:
    """Tickets newer than the index are matched in Python: the same query must find the same ones."""
    chooser = random.Random(1022)
    docs = [_doc(n, " ".join(chooser.choices(_SYLLABLES, k=12)), " ".join(chooser.choices(_SYLLABLES, k=3)),
                 " ".join(chooser.choices(_SYLLABLES, k=4))) for n in range(300)]
    shard = _shard(tmp_path, docs)
    queries = ["nguyen", "duong trai", '"nguyen van"', "ng* 12", '"cong tac" ben', "tan ninh hong", '"le loi"*', "zzz"]
    for text in queries:
        query = rules.parse(text)
        for within in (None, rules.WITHOUT_NAME):
            expected = [d.code for d in reversed(docs) if rules.matches(
                query, {rules.BODY: d.body, rules.NAME: d.name, rules.PLACE: d.place}, within or rules.COLUMNS)]
            found = [hit.code for hit in shard.find(rules.fts(query, within), None, 1000)]
            assert found == expected, (text, within)
    assert shard.find(rules.fts(rules.parse("zzz")), None, 10) == []


def test_the_index_file_narrows_by_agency_and_category_newest_first_after_a_key(tmp_path: Path) -> None:
    shard = _shard(tmp_path, [_doc(1, "cong tac", "tran an"), _doc(2, "cong tac", "tran an", agency="so-y-te"),
                              _doc(3, "cong tac", "tran an", category="an-ninh-trat-tu"), _doc(4, "den hong")])
    every = rules.fts(rules.parse("cong tac"))
    assert [h.code for h in shard.find(every, None, 10)] == ["TN-A00003", "TN-A00002", "TN-A00001"]
    assert [h.code for h in shard.find(every, None, 10, agency="so-xay-dung")] == ["TN-A00003", "TN-A00001"]
    assert [h.code for h in shard.find(every, None, 10, agency="so-xay-dung",
                                       without_categories=("an-ninh-trat-tu",))] == ["TN-A00001"]
    assert [h.code for h in shard.find(every, 1_700_000_000_000_003, 1)] == ["TN-A00002"]


def test_a_ticket_indexed_again_keeps_its_place_and_one_dropped_is_gone(tmp_path: Path) -> None:
    shard = _shard(tmp_path, [_doc(1, "cong tac"), _doc(2, "den hong")])
    twin = Doc("TN-TWIN01", 1_700_000_000_000_001, "x", None, None, None, "cong tac", "", "")
    assert shard.put([twin, _doc(1, "cong tac ngap")]) == 2   # same microsecond as TN-A00001: sorts just after it
    assert [h.code for h in shard.find('"cong"', None, 10)] == ["TN-TWIN01", "TN-A00001"]
    assert [h.code for h in shard.find('"ngap"', None, 10)] == ["TN-A00001"] and len(shard) == 3
    assert shard.drop(["TN-A00001", "TN-NONE00"]) == 1
    assert shard.find('"ngap"', None, 10) == [] and set(shard.versions()) == {"TN-TWIN01", "TN-A00002"}


def _marked(pieces: list[tuple[str, bool]]) -> list[str]:
    return [text for text, hit in pieces if hit]


def test_the_excerpt_marks_the_words_found_in_the_original_spelling() -> None:
    query = rules.parse("nguyen trai ngap*")
    text = "Cống thoát nước trên đường Nguyễn Trãi bị tắc, nước ngập sâu."
    pieces = rules.highlight(text, query)
    assert "".join(piece for piece, _ in pieces) == text
    assert _marked(pieces) == ["Nguyễn", "Trãi", "ngập"]
    assert _marked(rules.highlight("Ông NGUYỄN, bà nguyen", rules.parse("Nguyễn"))) == ["NGUYỄN", "nguyen"]


def test_a_long_text_is_cut_around_the_first_match_on_word_boundaries() -> None:
    text = "Mở đầu dài dòng " * 30 + "nắp cống bị mất ở đầu hẻm" + " rồi kết thúc" * 30
    pieces = rules.highlight(text, rules.parse("nap cong"), width=120)
    shown = "".join(piece for piece, _ in pieces)
    assert shown.startswith("…") and shown.endswith("…") and len(shown) <= 122
    assert shown[1:].split()[0] in ("Mở", "đầu", "dài", "dòng") and shown[:-1].split()[-1] in ("rồi", "kết", "thúc")
    assert _marked(pieces) == ["nắp", "cống"]
    assert rules.highlight("Không liên quan", rules.parse("nap")) == [("Không liên quan", False)]


def test_months_order_keys_and_page_tokens() -> None:
    now = datetime(2026, 1, 15, 3, 0, tzinfo=timezone.utc)
    assert rules.months(now)[:2] == ["2026-01", "2025-12"] and rules.months(now)[-1] == "2025-01"
    assert len(rules.months(now)) == 13
    assert rules.order_key(datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)) == 1_000_000
    token = rules.encode_after(1_700_000_000_000_123, "TN-7KXQ4M")
    assert rules.decode_after(token) == (1_700_000_000_000_123, "TN-7KXQ4M") and rules.decode_after(None) is None
    for bad in ("?", "Đ", rules.encode_after(0, "TN-7KXQ4M"), rules.encode_after(5, "<script>")):
        with pytest.raises(ValidationFailed):
            rules.decode_after(bad)


@pytest.mark.parametrize("text,phone", [("0912 345 678", True), ("+84 912.345.678", True), ("(0276) 3822 123", True),
                                         ("12", False), ("số 123", False), ("0912 ngập", False)])
def test_a_phone_is_told_from_words(text: str, phone: bool) -> None:
    assert rules.looks_like_phone(text) is phone
