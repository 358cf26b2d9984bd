"""Threading that asks what a message is about: follow-ups stay with their ticket, a new complaint
becomes a ticket of its own (measured on tests/data/threading_eval.jsonl, and on a blind holdout,
tests/data/threading_holdout.jsonl), an answered ticket is reopened or followed up by a linked one,
and the setting that decides it is validated."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from bench.threading import HOLDOUT, accuracy, cases
from chalicelib.domain import replies
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.reference import ThreadRules, parse_reference
from chalicelib.domain.sms import is_gsm7, segments
from chalicelib.domain.text import fold
from chalicelib.domain.threading import SenderTicket, decide, is_thanks, topic_of
from chalicelib.store.reference import seed_document

REF = parse_reference(seed_document())
NOW = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
POTHOLE = SenderTicket("TN-7KXQ4M", "assigned", NOW - timedelta(days=2), None, "giao-thong", "tan-ninh")


def _decide(text: str, *mine: SenderTicket) -> tuple[str, str | None, str | None]:
    decision = decide(text, list(mine), NOW, "TN", topic_of(text, REF), REF.threading)
    return decision.kind, decision.tracking_code, decision.related_to


def _answered(days_ago: float, status: str = "answered") -> SenderTicket:
    at = NOW - timedelta(days=days_ago)
    return SenderTicket("TN-ABCDEF", status, at, at, "chieu-sang", "long-hoa")


def test_the_labelled_set_is_varied_and_realistic() -> None:
    rows = cases()
    labels = Counter(row["label"] for row in rows)
    assert len(rows) >= 100 and labels["follow_up"] >= 50 and labels["new"] >= 40
    assert sum(1 for row in rows if fold(row["text"]) == row["text"].lower()) >= len(rows) / 4  # typed without diacritics
    categories = {row["ticket"]["category"] for row in rows} - {None}
    assert categories == set(REF.categories) - {"khac"}
    assert {row["ticket"]["status"] for row in rows} >= {"received", "triage", "assigned", "in_progress", "answered"}


def test_follow_ups_stay_and_new_complaints_split_on_the_labelled_set() -> None:
    figures = accuracy()
    assert figures["threading_follow_ups_kept"] >= 0.9, figures["threading_misses"]
    assert figures["threading_new_split"] >= 0.85, figures["threading_misses"]


def test_the_blind_holdout_is_other_messages_and_its_figures_are_reported_beside() -> None:
    # Given messages written without reading the rules (never tuned on): none of them in the labelled set
    holdout, tuned = cases(HOLDOUT), {row["text"] for row in cases()}
    labels = Counter(row["label"] for row in holdout)
    assert len(holdout) >= 40 and labels["follow_up"] >= 20 and labels["new"] >= 20
    assert not {row["text"] for row in holdout} & tuned
    # Then the figures on it are what docs/benchmark.md reports (the bars sit below the labelled set's:
    # the rules were tuned there, so the holdout is the honest estimate)
    figures = accuracy()
    assert figures["threading_holdout_cases"] == len(holdout)
    assert figures["threading_holdout_follow_ups_kept"] >= 0.8, figures["threading_holdout_misses"]
    assert figures["threading_holdout_new_split"] >= 0.6, figures["threading_holdout_misses"]


@pytest.mark.parametrize("text", ["cảm ơn", "khi nào xong vậy", "Khi nao thi sua?", "", "Gửi thêm hình ảnh"])
def test_a_follow_up_with_nothing_new_in_it_joins_the_open_ticket(text: str) -> None:
    assert _decide(text, POTHOLE) == ("append", POTHOLE.tracking_code, None)


def test_burning_rubbish_in_another_commune_is_a_new_ticket_linked_to_the_pothole() -> None:
    kind, code, related = _decide("Có người đốt rác khói mù mịt ở xã Bến Cầu", POTHOLE)
    assert (kind, code, related) == ("new", None, POTHOLE.tracking_code)
    decision = decide("o ga o xa Thu Thua cung nhieu lam", [POTHOLE], NOW, "TN",
                      topic_of("o ga o xa Thu Thua cung nhieu lam", REF), REF.threading)
    assert (decision.kind, decision.related_to, decision.why) == ("new", POTHOLE.tracking_code, "another_area")


def test_a_message_on_the_subject_of_one_of_two_tickets_goes_to_that_one() -> None:
    lights = SenderTicket("TN-LLLLLL", "assigned", NOW - timedelta(days=3), None, "chieu-sang", "long-hoa")
    assert _decide("đèn đường vẫn tắt, tối om", POTHOLE, lights)[1] == "TN-LLLLLL"
    assert _decide("ổ gà càng to hơn", lights, POTHOLE)[1] == POTHOLE.tracking_code


def test_an_answered_ticket_is_reopened_within_the_window_and_followed_up_after_it() -> None:
    assert _decide("đèn sửa được 2 hôm lại tắt", _answered(3)) == ("reopen", "TN-ABCDEF", None)
    assert _decide("đèn sửa được 2 hôm lại tắt", _answered(3, "closed"))[0] == "reopen"
    assert _decide("đèn sửa được 2 hôm lại tắt", _answered(20)) == ("new", None, "TN-ABCDEF")
    assert _decide("den lai tat", _answered(200)) == ("new", None, None)  # past the link window: unrelated
    # a quoted code names the ticket, whatever the text says
    assert _decide("TN-ABCDEF cúp điện", _answered(1)) == ("reopen", "TN-ABCDEF", None)


def test_thanks_on_an_answered_ticket_joins_it_without_reopening() -> None:
    assert _decide("Cảm ơn anh chị nhiều", _answered(1)) == ("append", "TN-ABCDEF", None)
    assert is_thanks("ok da nhan") and is_thanks("Cám ơn!") and not is_thanks("cảm ơn nhưng đèn vẫn chưa sáng")
    assert _decide("cảm ơn nhưng đèn vẫn chưa sáng", _answered(1))[0] == "reopen"


def test_a_message_without_a_word_on_an_answered_ticket_joins_it_without_reopening() -> None:
    # a second "5" after the survey was answered, an emoji, a lone "?"
    for text in ("5", " 4 ", "👍", "?"):
        assert _decide(text, _answered(1)) == ("append", "TN-ABCDEF", None), text
    assert _decide("5 ngày rồi đèn lại tắt", _answered(1))[0] == "reopen"


def test_the_reopen_window_is_reference_data() -> None:
    never = ThreadRules(reopen_days=0, link_days=30)
    assert decide("den lai tat", [_answered(1)], NOW, "TN", topic_of("den lai tat", REF), never).kind == "new"
    assert REF.threading == ThreadRules(reopen_days=7, link_days=60)


@pytest.mark.parametrize("block,field", [({"reopen_days": -1}, "threading.reopen_days"),
                                         ({"reopen_days": "7"}, "threading.reopen_days"),
                                         ({"link_days": 3}, "threading.link_days"),
                                         ([7], "threading")])
def test_a_bad_threading_setting_is_refused_in_both_languages(block: object, field: str) -> None:
    document = seed_document()
    document["threading"] = block
    with pytest.raises(ValidationFailed) as refused:
        parse_reference(document)
    (error,) = refused.value.errors
    assert error.field == field and error.vi and error.en and error.vi != error.en


def test_replies_say_which_ticket_and_fit_one_sms() -> None:
    code, other, hotline = "TN-WWWWWW", "TN-WWWWWX", "0276 1022 / 0276 3822 999"
    link = "https://phananh.tayninh.gov.vn/duong-day-nong-1022/rieng-tu"
    for reply in (replies.reopened(code, hotline), replies.acknowledgement(code, hotline, link, other, split=True),
                  replies.acknowledgement(code, hotline, None, other)):
        assert is_gsm7(reply.sms) and segments(reply.sms) == 1, reply.sms
        assert code in reply.sms and code in reply.zalo
    assert "mở lại phản ánh TN-WWWWWW" in replies.reopened(code, hotline).zalo
    assert "tách riêng với phản ánh TN-WWWWWX" in replies.acknowledgement(code, hotline, link, other, split=True).zalo
