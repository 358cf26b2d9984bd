"""Threading rules and the SMS budget (every automated SMS is one GSM-7 segment)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import replies
from chalicelib.domain.lifecycle import LABELS_VI
from chalicelib.domain.sms import is_gsm7, segments, sms_text
from chalicelib.domain.threading import SenderTicket, decide
from chalicelib.store.reference import seed_document

NOW = datetime(2026, 11, 28, 10, tzinfo=timezone.utc)
MINE = SenderTicket("TN-7KXQ4M", "assigned", NOW - timedelta(days=2))


def test_a_quoted_code_of_my_own_ticket_appends_to_it() -> None:
    old = SenderTicket("TN-ABCDEF", "in_progress", NOW - timedelta(days=30))
    assert decide("bo sung ve TN-ABCDEF: van chua sua", [MINE, old], NOW, "TN").tracking_code == "TN-ABCDEF"


def test_a_recent_open_ticket_threads_and_an_old_one_does_not() -> None:
    assert decide("den van tat", [MINE], NOW, "TN").kind == "append"
    stale = SenderTicket("TN-7KXQ4M", "assigned", NOW - timedelta(days=8))
    assert decide("den van tat", [stale], NOW, "TN").kind == "new"


@pytest.mark.parametrize("text", ["MOI duong bi ngap", "mới: đường bị ngập", "Moi - duong bi ngap"])
def test_moi_forces_a_new_ticket_and_is_removed(text: str) -> None:
    decision = decide(text, [MINE], NOW, "TN")
    assert decision.kind == "new" and decision.text.lower().replace("đ", "d").startswith("d")


@pytest.mark.parametrize("text", ["TT TN-7KXQ4M", "tt tn7kxq4m", "TT: TN 7KXQ4M"])
def test_tt_is_a_status_query(text: str) -> None:
    decision = decide(text, [], NOW, "TN")
    assert (decision.kind, decision.tracking_code) == ("status_query", "TN-7KXQ4M")


def test_words_that_merely_start_alike_are_not_keywords() -> None:
    assert decide("Moitruong o day o nhiem", [], NOW, "TN").kind == "new"
    assert decide("TTHC can ho tro", [], NOW, "TN").kind == "new"


def _worst_agency() -> str:
    return max((a["name"] for a in seed_document()["agencies"]), key=len) + " tỉnh Tây Ninh và các xã phường"


def test_every_automated_sms_fits_one_gsm7_segment_with_worst_case_values() -> None:
    code, hotline = "TN-WWWWWW", "0276 1022 / 0276 3822 999"
    worst_label = max(LABELS_VI.values(), key=len)
    rendered = [replies.acknowledgement(code, hotline), replies.status(code, worst_label, _worst_agency()),
                replies.not_found(hotline), replies.usage(hotline)]
    for reply in rendered:
        assert is_gsm7(reply.sms), reply.sms
        assert segments(reply.sms) == 1, (len(reply.sms), reply.sms)
        assert any(c in reply.zalo for c in "ăâđêôơư"), "Zalo replies keep their diacritics"


def test_segment_arithmetic() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # extension characters cost two
    assert segments("ă" * 70) == 1 and segments("ă" * 71) == 2  # UCS-2
    assert sms_text("Đã tiếp nhận – “TN-7KXQ4M”") == 'Da tiep nhan - "TN-7KXQ4M"'


def test_tt_without_a_code_is_an_ordinary_message_not_thrown_away() -> None:
    # "tt" is also shorthand for thông tin / thị trấn: without a code the text must become a report
    assert decide("TT Duong Minh Chau mat dien", [], NOW, "TN").kind == "new"
    assert decide("tt: cho hoi lich tiem chung", [MINE], NOW, "TN").kind == "append"
