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
