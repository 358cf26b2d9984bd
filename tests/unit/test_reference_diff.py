"""What the history page says changed between two reference documents, and how the admin forms'
text (keywords, dates, office hours) becomes the document: pure functions, on the shipped seed."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.reference import parse_reference
from chalicelib.domain.reference_diff import diff, summary
from chalicelib.domain.reference_edit import edit_calendar, keyword_lines, parse_keywords
from chalicelib.store.reference import seed_document


@pytest.fixture
def seed() -> dict[str, Any]:
    return seed_document()


def _section(sections: list[Any], key: str) -> Any:
    return next(s for s in sections if s.key == key)


def test_rules_holidays_agencies_and_keywords_are_named_as_people_read_them(seed: dict[str, Any]) -> None:
    edited = copy.deepcopy(seed)
    rule = next(r for r in edited["routing_rules"] if r.get("category") == "chieu-sang" and r.get("area") == "tan-ninh")
    rule["agency"] = "so-xay-dung"
    edited["calendar"]["holidays"]["2027"].remove("2027-09-02")
    edited["calendar"]["holidays"]["2027"].append("2027-12-31")
    next(a for a in edited["areas"] if a["id"] == "long-hoa")["agency"] = "so-noi-vu"
    keywords = next(c for c in edited["categories"] if c["id"] == "ngap-ung")["keywords"]
    keywords[0][1] = 6
    sections = diff(seed, edited)
    assert [s.key for s in sections] == ["categories", "areas", "routing_rules", "calendar"]
    assert _section(sections, "routing_rules").changed[0].label == "Lĩnh vực Đèn chiếu sáng công cộng · Phường Tân Ninh"
    assert _section(sections, "routing_rules").changed[0].changes == ("UBND Phường Tân Ninh → Sở Xây dựng",)
    assert _section(sections, "areas").changed[0].changes == ("Cơ quan xử lý: UBND Phường Long Hoa → Sở Nội vụ",)
    calendar = _section(sections, "calendar")
    assert calendar.added == ("Ngày nghỉ lễ 31/12/2027",) and calendar.removed == ("Ngày nghỉ lễ 02/09/2027",)
    assert _section(sections, "categories").changed[0].changes == ("Đổi trọng số: «ngap» 4 → 6",)
    assert summary(sections) == ("Lĩnh vực: sửa 1 (Ngập úng, thoát nước); Xã, phường: sửa 1 (Phường Long Hoa); "
                                 "Quy tắc chuyển cơ quan: sửa 1; Lịch làm việc: thêm 1, bỏ 1")
    assert diff(seed, copy.deepcopy(seed)) == []


def test_keyword_lines_read_back_as_they_were_written_and_bad_lines_are_named() -> None:
    assert parse_keywords("ổ gà = 3\n\n  Đèn   Đỏ = 2,5\nbiển báo") == [["ổ gà", 3], ["đèn đỏ", 2.5], ["biển báo", 1]]
    assert keyword_lines([["ổ gà", 3], ["đèn đỏ", 2.5]]) == "ổ gà = 3\nđèn đỏ = 2,5"
    with pytest.raises(ValidationFailed) as refused:
        parse_keywords("ổ gà = 0\nđèn/đỏ = 1\nbiển báo = 30")
    assert refused.value.errors[0].vi == (
        "Từ khoá chưa đúng: dòng 1: trọng số phải là số lớn hơn 0 và không quá 20; dòng 2: cụm từ chỉ gồm chữ và "
        "số, tối đa 60 ký tự; dòng 3: trọng số phải là số lớn hơn 0 và không quá 20.")


def test_the_calendar_form_groups_holidays_by_year_and_refuses_overlapping_hours(seed: dict[str, Any]) -> None:
    edited = edit_calendar(seed, {"office_hours": "13:30-17:00\n7:30-11:30", "holidays": "2027-01-01\n01/01/2028",
                                  "makeup_saturdays": "09/01/2027"})
    assert edited["calendar"]["office_hours"] == [["07:30", "11:30"], ["13:30", "17:00"]]
    assert edited["calendar"]["holidays"] == {"2027": ["2027-01-01"], "2028": ["2028-01-01"]}
    calendar = parse_reference({**edited, "version": 3}).calendar
    assert calendar is not None and calendar.years == frozenset({2027, 2028})
    assert seed["calendar"]["holidays"]["2026"]  # the input document is left as it was
    with pytest.raises(ValidationFailed) as refused:
        edit_calendar(seed, {"office_hours": "07:30-12:00\n11:30-17:00", "holidays": "", "makeup_saturdays": ""})
    assert [e.field for e in refused.value.errors] == ["office_hours"]
