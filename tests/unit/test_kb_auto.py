"""The automatic answer's rules (chalicelib/services/kb_auto.py): one confident article or none, and a citizen SMS
of one segment whatever the article's length."""
from __future__ import annotations

from chalicelib.domain.kb_search import CONFIDENT
from chalicelib.domain.sms import fits_one_segment
from chalicelib.services.kb_auto import confident_match, texts

HIT = {"id": "can-cuoc-tre-em-duoi-14", "version": 3, "title": "Làm căn cước cho trẻ em dưới 14 tuổi",
       "short_answer": "Trẻ dưới 6 tuổi: cha mẹ đăng ký trên VNeID; từ 6 đến dưới 14 tuổi: đưa trẻ đến Công an xã.",
       "answer": "…"}


def test_only_one_confident_article_answers() -> None:
    sure, unsure = CONFIDENT + 0.05, CONFIDENT - 0.2
    assert confident_match([{**HIT, "confidence": sure}]) is not None
    assert confident_match([{**HIT, "confidence": sure}, {"id": "x", "confidence": unsure}])["id"] == HIT["id"]
    assert confident_match([{**HIT, "confidence": sure}, {"id": "x", "confidence": sure}]) is None  # two: ask a person
    assert confident_match([{**HIT, "confidence": unsure}]) is None
    assert confident_match([]) is None


def test_the_sms_is_one_segment_and_zalo_carries_the_short_answer() -> None:
    link = "https://1022.tayninh.gov.vn/hoi-dap/can-cuoc-tre-em-duoi-14"
    zalo, sms = texts("TN-7KXQ4M", HIT, link)
    assert HIT["short_answer"] in zalo and link in zalo
    assert fits_one_segment(sms) and sms.isascii() and sms.startswith("1022 TN-7KXQ4M:") and sms.endswith(link)
    short = {**HIT, "short_answer": "Nop tai Cong an xa."}
    assert texts("TN-7KXQ4M", short, link)[1] == f"1022 TN-7KXQ4M: Nop tai Cong an xa. Xem: {link}"
    long_title = {**HIT, "title": "Hướng dẫn " * 30}
    clipped = texts("TN-7KXQ4M", long_title, link)[1]
    assert fits_one_segment(clipped) and clipped.endswith(link) and ".." in clipped
    assert fits_one_segment(texts("TN-7KXQ4M", HIT, None)[1])


# after_routing, with the ticket store, the switch and the search faked: which tickets it answers, and how


class _Ticket:
    def __init__(self, **fields: object) -> None:
        self.__dict__.update(channel="zalo", category="thu-tuc-hanh-chinh", agency="cong-an-tinh",
                             anonymised_at=None, tracking_code="TN-AAAA11", text="thu tuc lam can cuoc cho con",
                             reporter_zalo_id="z123", reporter_phone=None, reporter_email=None,
                             last_inbound_ref="zmsg-42", reply_via=None, kind="question")
        self.__dict__.update(fields)


def _faked(monkeypatch: object, ticket: _Ticket, hits: list[dict], switched_on: set[str],
           confidential: set[str] = frozenset()) -> dict:
    from datetime import datetime, timezone  # noqa: F401

    from chalicelib.services import console, kb
    from chalicelib.store import tickets

    seen: dict = {"searched": 0, "updates": []}

    def search(*_: object, **__: object) -> list[dict]:
        seen["searched"] += 1
        return hits

    monkeypatch.setattr(tickets, "get_ticket", lambda code: ticket)
    monkeypatch.setattr(tickets, "update", lambda t, event, now, sets, outbound: seen["updates"].append(outbound))
    monkeypatch.setattr(kb, "auto_answer_categories", lambda: frozenset(switched_on))
    monkeypatch.setattr(kb, "is_confidential", lambda category: category in confidential)
    monkeypatch.setattr(kb, "search", search)
    monkeypatch.setattr(kb, "record_use", lambda *_, **__: None)
    monkeypatch.setattr(console, "_send", lambda messages: None)

    class _Settings:
        sms_provider = "sns"

        def public_url(self, path: str) -> str:
            return "https://1022.example.vn" + path

    from chalicelib.services import kb_auto

    monkeypatch.setattr(kb_auto, "settings", _Settings)
    monkeypatch.setattr(console, "settings", _Settings)
    return seen


def _sure(**fields: object) -> dict:
    return {**HIT, "category": "thu-tuc-hanh-chinh", "confidence": CONFIDENT + 0.1, **fields}


def test_an_article_of_another_category_never_answers_even_when_it_ranks_first(monkeypatch: object) -> None:
    from datetime import datetime, timezone

    from chalicelib.services.kb_auto import after_routing

    now = datetime(2026, 11, 30, 3, tzinfo=timezone.utc)
    # the ticket's category is switched on, the confident article belongs to one that never was
    seen = _faked(monkeypatch, _Ticket(), [_sure(category="dat-dai")], {"thu-tuc-hanh-chinh"})
    assert after_routing("TN-AAAA11", now) is None and seen["updates"] == []
    # ... nor one of a category that is switched on but is not the ticket's
    seen = _faked(monkeypatch, _Ticket(), [_sure(category="dat-dai")], {"thu-tuc-hanh-chinh", "dat-dai"})
    assert after_routing("TN-AAAA11", now) is None and seen["updates"] == []
    seen = _faked(monkeypatch, _Ticket(), [_sure()], {"thu-tuc-hanh-chinh"})
    assert after_routing("TN-AAAA11", now) == HIT["id"] and len(seen["updates"]) == 1


def test_a_complaint_is_never_answered_from_the_knowledge_base_however_well_it_matches(monkeypatch: object) -> None:
    from datetime import datetime, timezone

    from chalicelib.services.kb_auto import after_routing

    complaint = _Ticket(kind="complaint", text="lam can cuoc cho con 2 thang r chua co, ai chiu trach nhiem")
    seen = _faked(monkeypatch, complaint, [_sure()], {"thu-tuc-hanh-chinh"})
    assert after_routing("TN-AAAA11", datetime(2026, 11, 30, 3, tzinfo=timezone.utc)) is None
    assert seen["searched"] == 0 and seen["updates"] == []


def test_a_confidential_category_is_never_answered_even_if_switched_on_before_the_rule(monkeypatch: object) -> None:
    from datetime import datetime, timezone

    from chalicelib.services.kb_auto import after_routing

    ticket = _Ticket(category="tham-nhung-tieu-cuc")
    seen = _faked(monkeypatch, ticket, [_sure(category="tham-nhung-tieu-cuc")], {"tham-nhung-tieu-cuc"},
                  confidential={"tham-nhung-tieu-cuc"})
    assert after_routing("TN-AAAA11", datetime(2026, 11, 30, 3, tzinfo=timezone.utc)) is None
    assert seen["searched"] == 0 and seen["updates"] == []


def test_the_zalo_answer_quotes_the_citizens_last_message_so_it_is_billed_as_a_reply(monkeypatch: object) -> None:
    from datetime import datetime, timezone

    from chalicelib.services.kb_auto import after_routing

    seen = _faked(monkeypatch, _Ticket(), [_sure()], {"thu-tuc-hanh-chinh"})
    assert after_routing("TN-AAAA11", datetime(2026, 11, 30, 3, tzinfo=timezone.utc)) == HIT["id"]
    (message,) = seen["updates"][0]
    assert message.channel == "zalo" and message.reply_to == "zmsg-42"
    # an SMS answer quotes nothing
    sms = _Ticket(channel="sms", reporter_zalo_id=None, reporter_phone="+84912345678", last_inbound_ref=None)
    seen = _faked(monkeypatch, sms, [_sure()], {"thu-tuc-hanh-chinh"})
    after_routing("TN-AAAA11", datetime(2026, 11, 30, 3, tzinfo=timezone.utc))
    (message,) = seen["updates"][0]
    assert message.channel == "sms" and message.reply_to is None
