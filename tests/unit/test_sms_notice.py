"""The short notice sent instead of a citizen SMS that would take more than one segment."""
from __future__ import annotations

from chalicelib.domain.replies import answer, long_message_notice
from chalicelib.domain.sms import fits_one_segment, is_gsm7, segments


def test_a_long_answer_does_not_fit_one_sms_but_its_notice_does() -> None:
    long_answer = answer("TN-4WWCZA", "Sở Xây dựng đã kiểm tra hiện trường, lập biên bản và giao đơn vị thi công "
                                      "sửa chữa mặt đường trong tuần này; người dân lưu ý đi đường vòng.").sms
    assert not fits_one_segment(long_answer) and segments(long_answer) >= 2
    link = "https://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com/api/tra-cuu?code=TN-4WWCZA"
    notice = long_message_notice("TN-4WWCZA", link, "0276 1022")
    assert fits_one_segment(notice) and is_gsm7(notice)
    assert "TN-4WWCZA" in notice and link in notice


def test_the_notice_drops_words_before_the_link_and_the_link_before_the_code() -> None:
    longer = "https://hotline1022.tayninh.gov.vn/" + "x" * 50 + "/tra-cuu?code=TN-4WWCZA"  # 108 characters
    notice = long_message_notice("TN-4WWCZA", longer, "0276 1022")
    assert fits_one_segment(notice) and longer in notice  # the short wording still carries it
    too_long = "https://" + "y" * 200 + "/tra-cuu?code=TN-4WWCZA"
    fallback = long_message_notice("TN-4WWCZA", too_long, "0276 1022")
    assert fits_one_segment(fallback) and "TN-4WWCZA" in fallback and "0276 1022" in fallback


def test_without_a_site_address_the_notice_names_the_hotline() -> None:
    notice = long_message_notice("TN-4WWCZA", None, "0276 1022")
    assert fits_one_segment(notice) and "TN-4WWCZA" in notice and "0276 1022" in notice and "http" not in notice


def test_the_answer_sms_carries_the_survey_and_stays_one_segment() -> None:
    from chalicelib.domain.satisfaction import answer_sms

    site = "https://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com/api"
    status, rating = f"{site}/tra-cuu?code=TN-4WWCZA", f"{site}/danh-gia/TN-4WWCZA?t=" + "T" * 16
    short = answer("TN-4WWCZA", "Điện lực đã thay bóng đèn.").sms
    long = answer("TN-4WWCZA", "Sở Xây dựng đã kiểm tra hiện trường, lập biên bản và giao đơn vị thi công "
                               "sửa chữa mặt đường trong tuần này; người dân lưu ý đi đường vòng.").sms
    # An SMS reporter rates by replying a digit: the prompt follows the answer, or the notice.
    by_reply = answer_sms("TN-4WWCZA", short, status, None, "0276 1022")
    assert by_reply.startswith(short) and "1-5" in by_reply
    notice = answer_sms("TN-4WWCZA", long, status, None, "0276 1022")
    assert status in notice and "1-5" in notice
    # A web reporter rates on the page the link opens (it shows the answer too).
    assert answer_sms("TN-4WWCZA", short, status, "https://1022.vn/danh-gia/TN-4WWCZA?t=x",
                      "0276 1022").startswith(short)
    linked = answer_sms("TN-4WWCZA", long, status, rating, "0276 1022")
    assert rating in linked and "TN-4WWCZA" in linked
    # A link too long for any wording: the plain notice, never a second segment.
    fallback = answer_sms("TN-4WWCZA", long, status, "https://" + "y" * 200, "0276 1022")
    assert fallback == long_message_notice("TN-4WWCZA", status, "0276 1022")
    assert all(fits_one_segment(t) and is_gsm7(t) for t in (by_reply, notice, linked, fallback))
