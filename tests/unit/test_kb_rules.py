"""The knowledge base's pure rules: the workflow table, who may do what, validity days in Vietnam, the short
answer for SMS/Zalo, and the diff between versions."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.domain import kb as rules
from chalicelib.domain.errors import IllegalTransition
from chalicelib.domain.permissions import user_from_claims


def _user(role: str, agency: str | None = None) -> object:
    claims = {"sub": role, "email": f"{role}@x.vn", "cognito:groups": [role]}
    if agency:
        claims["custom:agency"] = agency
    return user_from_claims(claims)


def test_the_workflow_table() -> None:
    assert rules.next_status(rules.DRAFT, "submit") == rules.REVIEW
    assert rules.next_status(rules.REVIEW, "publish") == rules.PUBLISHED
    assert rules.next_status(rules.PUBLISHED, "save") == rules.DRAFT        # an edit of a published article
    assert rules.next_status(rules.REVIEW, "save") == rules.REVIEW
    assert rules.next_status(rules.EXPIRED, "save") == rules.DRAFT
    for current, action in ((rules.PUBLISHED, "submit"), (rules.DRAFT, "expire"), (rules.EXPIRED, "publish")):
        with pytest.raises(IllegalTransition):
            rules.next_status(current, action)


def test_officers_work_on_their_own_agency_and_never_publish() -> None:
    officer, supervisor, operator = _user("agency_officer", "so-y-te"), _user("supervisor"), _user("operator")
    assert rules.actions_for(officer, rules.DRAFT, "so-y-te") == ["save", "submit"]
    assert rules.actions_for(officer, rules.DRAFT, "so-xay-dung") == []
    assert rules.actions_for(supervisor, rules.REVIEW, "so-xay-dung") == ["save", "return", "publish"]
    assert rules.actions_for(supervisor, rules.PUBLISHED, "so-y-te") == ["save", "expire", "supersede"]
    assert rules.actions_for(operator, rules.DRAFT, "so-y-te") == []
    assert rules.may(_user("admin"), "publish", "so-y-te")


def test_validity_is_a_day_in_vietnam_both_ends_included() -> None:
    last_evening = datetime(2026, 12, 31, 16, 59, tzinfo=timezone.utc)   # 23:59 on 31 Dec in Vietnam
    next_morning = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)    # 00:00 on 1 Jan
    assert rules.valid_at("2026-01-01", "2026-12-31", last_evening)
    assert not rules.valid_at("2026-01-01", "2026-12-31", next_morning)
    assert not rules.valid_at("2027-01-02", None, next_morning)
    assert rules.valid_at(None, None, next_morning)


def test_the_short_answer_ends_at_a_sentence_or_a_word() -> None:
    sentence = "Nộp hồ sơ tại bộ phận một cửa. " * 20
    short = rules.short_answer(sentence)
    assert len(short) <= 300 and short.endswith(".")
    words = "nộp hồ sơ tại bộ phận một cửa " * 20
    cut = rules.short_answer(words)
    assert len(cut) <= 300 and cut.endswith("…") and not cut[:-1].endswith(" ")
    assert rules.short_answer("Ngắn gọn.") == "Ngắn gọn."


def test_the_diff_names_each_changed_field_line_by_line() -> None:
    old = {"title": "A", "questions": ["hỏi 1", "hỏi 2"], "answer": "dòng 1\ndòng 2"}
    new = {"title": "A", "questions": ["hỏi 1", "hỏi 3"], "answer": "dòng 1\ndòng 2"}
    [change] = rules.diff(old, new)
    assert change["field"] == "questions"
    assert change["lines"] == [(" ", "hỏi 1"), ("-", "hỏi 2"), ("+", "hỏi 3")]


def test_an_article_id_reads_as_its_title() -> None:
    assert rules.new_id("Thủ tục làm Căn cước cho con?", "a1b2") == "thu-tuc-lam-can-cuoc-cho-con-a1b2"
    assert rules.is_id("thu-tuc-lam-can-cuoc-cho-con-a1b2") and not rules.is_id("../x")


def test_expire_and_supersede_withdraw_the_live_version_while_a_draft_edit_waits() -> None:
    for working in (rules.DRAFT, rules.REVIEW):
        assert rules.next_status(working, "expire", live=True) == working     # the working copy keeps its status
        assert rules.next_status(working, "supersede", live=True) == working
        with pytest.raises(IllegalTransition):
            rules.next_status(working, "expire")                              # nothing live: nothing to withdraw
    assert rules.next_status(rules.PUBLISHED, "supersede", live=True) == rules.SUPERSEDED
    supervisor = _user("supervisor")
    assert {"expire", "supersede"} <= set(rules.actions_for(supervisor, rules.DRAFT, "so-y-te", live=True))
    assert not {"expire", "supersede"} & set(rules.actions_for(supervisor, rules.DRAFT, "so-y-te"))


def test_unpublished_versions_are_for_their_agency_officers_supervisors_and_admins_only() -> None:
    officer, other = _user("agency_officer", "so-y-te"), _user("agency_officer", "so-xay-dung")
    operator, supervisor, admin = _user("operator"), _user("supervisor"), _user("admin")
    for status in (rules.DRAFT, rules.REVIEW, rules.EXPIRED, rules.SUPERSEDED):
        assert [rules.may_see(u, "so-y-te", status) for u in (officer, other, operator, supervisor, admin)] == [
            True, False, False, True, True]
    assert all(rules.may_see(u, "so-y-te", rules.PUBLISHED) for u in (officer, other, operator, supervisor, admin))


def test_use_counts_are_kept_by_the_month_in_vietnam() -> None:
    from chalicelib.services.kb import local_month

    assert local_month(datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc)) == "2026-12"   # 00:30 on 1 Dec in VN
    assert local_month(datetime(2026, 11, 30, 16, 59, tzinfo=timezone.utc)) == "2026-11"


def test_only_a_missing_key_counts_as_a_missing_index_file() -> None:
    from botocore.exceptions import ClientError

    from chalicelib.store.kb import _missing

    def error(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": ""}}, "GetObject")

    assert _missing(error("NoSuchKey")) and _missing(error("404"))
    assert not _missing(error("AccessDenied")) and not _missing(error("SlowDown"))
