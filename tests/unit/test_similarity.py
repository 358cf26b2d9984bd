"""Duplicate suggestions rank by what the reports say and where they are: a labelled handful of
new reports and the open reports of the same category in the same commune, each labelled as the
same matter (offered) or not (another street, another alley, another hamlet, far away)."""
from __future__ import annotations

import math

import pytest

from chalicelib.domain.reference import parse_reference
from chalicelib.domain.similarity import (
    FAR_M,
    Place,
    common_words,
    features,
    haversine_m,
    rank,
    score,
    streets,
)
from chalicelib.store.reference import seed_document

REF = parse_reference(seed_document())


def common(category: str) -> frozenset[str]:
    return common_words(phrase for phrase, _ in REF.categories[category].keywords)


def at(metres_north: float, metres_east: float = 0.0) -> tuple[float, float]:
    """A point this far from a school gate in Tân Ninh (11.31 N, 106.10 E)."""
    lat = 11.31 + metres_north / 111_195
    return lat, 106.10 + metres_east / (111_195 * math.cos(math.radians(lat)))


# (category, new report, open report, same matter?)
LABELLED = [
    ("chieu-sang", Place("Đèn đường hẻm 12 Trưng Nữ Vương tắt mấy hôm nay, tối om"),
     Place("Hẻm 12 đường Trưng Nữ Vương mất đèn, bóng đèn hư từ tuần trước"), True),
    ("chieu-sang", Place("Đèn đường hẻm 12 Trưng Nữ Vương tắt mấy hôm nay, tối om"),
     Place("Đèn đường Nguyễn Trãi không sáng, đoạn trước chợ"), False),
    ("chieu-sang", Place("Đèn đường hẻm 12 Trưng Nữ Vương tắt mấy hôm nay, tối om"),
     Place("Đèn hẻm 40 Trưng Nữ Vương bị tắt cả tuần"), False),
    ("chieu-sang", Place("Den duong Tran Hung Dao tat het tu toi qua"),
     Place("Đèn chiếu sáng đường Trần Hưng Đạo đoạn gần cầu không sáng"), True),
    ("chieu-sang", Place("Den duong Tran Hung Dao tat het tu toi qua"),
     Place("Đèn đường Trần Phú bị tắt, tối om"), False),
    ("ngap-ung", Place("Nước ngập sâu ở ấp Bình Hòa sau cơn mưa chiều qua"),
     Place("Ấp Bình Hòa ngập nặng, nước tràn vào nhà dân"), True),
    ("ngap-ung", Place("Nước ngập sâu ở ấp Bình Hòa sau cơn mưa chiều qua"),
     Place("Ngập nước ấp Long Thới, cống thoát nước bị tắc"), False),
    ("ngap-ung", Place("Cống bị tắc trước cổng trường Tiểu học Kim Đồng, nước tràn lên mặt đường"),
     Place("Nước cống đen ngòm ngay cổng trường Kim Đồng"), True),
    ("ngap-ung", Place("Cống bị tắc trước cổng trường Tiểu học Kim Đồng, nước tràn lên mặt đường"),
     Place("Cống ngầm khu chợ cá bị sập, nước đọng hôi"), False),
    # with locations: the same pothole 40 m away is offered however it is worded; 2.5 km away never
    ("giao-thong", Place("Ổ gà lớn giữa đường gần cổng trường tiểu học", *at(0)),
     Place("Đường có ổ gà sâu trước trường tiểu học, xe máy té", *at(40, 10)), True),
    ("giao-thong", Place("Ổ gà lớn giữa đường gần cổng trường tiểu học", *at(0)),
     Place("Ổ gà lớn giữa đường", *at(2500)), False),
    ("giao-thong", Place("Mặt đường bị sụt lún", *at(0)),
     Place("Sụt lún mặt đường, nguy hiểm", *at(30)), True),
    # another street, but on the same corner (within 120 m): the same place
    ("giao-thong", Place("Ổ gà ngay ngã tư đường Lê Lợi", *at(0)),
     Place("Ổ gà lớn đầu đường Hùng Vương chỗ ngã tư", *at(25, 25)), True),
]


@pytest.mark.parametrize("category,report,candidate,same", LABELLED)
def test_a_labelled_report_is_offered_exactly_when_it_is_the_same_matter(
        category: str, report: Place, candidate: Place, same: bool) -> None:
    offered = rank(report, [("open", candidate)], common(category))
    assert bool(offered) is same, (score(report, candidate, common(category)), features(report.text, common(category)),
                                   features(candidate.text, common(category)))


def test_the_same_matter_ranks_before_the_vaguer_and_other_streets_are_left_out() -> None:
    # Given the open street-light reports of one commune, newest first
    report = Place("Đèn đường hẻm 12 Trưng Nữ Vương tắt mấy hôm nay, tối om")
    candidates = [("other-street", Place("Đèn đường Nguyễn Trãi không sáng, đoạn trước chợ")),
                  ("vague", Place("Đèn đường tắt hết, tối om")),
                  ("other-alley", Place("Đèn hẻm 40 Trưng Nữ Vương bị tắt cả tuần")),
                  ("same", Place("Hẻm 12 đường Trưng Nữ Vương mất đèn, bóng đèn hư từ tuần trước"))]
    # When they are ranked for the new report
    ranked = [code for code, _ in rank(report, candidates, common("chieu-sang"))]
    # Then the same alley comes first, a report that names no place is still offered after it, and
    # the reports about another street or alley are not offered
    assert ranked == ["same", "vague"]


def test_without_words_or_places_to_compare_the_newest_come_first_as_before() -> None:
    report = Place("Rác thải bốc mùi hôi")
    candidates = [("newer", Place("Bãi rác bốc mùi")), ("older", Place("Đốt rác gây khói"))]
    assert [code for code, _ in rank(report, candidates, common("moi-truong"))] == ["newer", "older"]


def test_nearer_ranks_higher_and_nothing_beyond_the_far_limit_is_offered() -> None:
    report = Place("Sụt lún mặt đường", *at(0))
    candidates = [(metres, Place("Sụt lún mặt đường", *at(metres))) for metres in (700, 50, 300, FAR_M + 50)]
    assert [m for m, _ in rank(report, candidates, common("giao-thong"))] == [50, 300, 700]
    assert 795 < haversine_m(*at(0), *at(800)) < 805


def test_places_are_read_from_folded_text_with_or_without_diacritics() -> None:
    assert streets("Hẻm 12/5 đường Trần Hưng Đạo bị ngập") == {("12", "5"), ("tran", "hung")}
    assert streets("hem 12 tat ba hom nay") == {("12",)}
    assert streets("đèn đường tắt, mặt đường nứt", common("giao-thong")) == set()
    assert streets("Quốc lộ 22B đoạn qua ấp Bình Hòa") == {("22b",), ("binh", "hoa")}
