"""The privacy notice in automated messages (the SMS budget holds with worst-case values), the
follower's status notice, one-time codes (and their SMS kept masked), and the notice's figures."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib.domain import replies, verification
from chalicelib.domain.notice import DEFAULTS, NOTICE_VERSION, facts, notice_version, outbound_text_days
from chalicelib.domain.sms import fits_one_segment, is_gsm7

WORST_CODE, WORST_HOTLINE = "TN-WWWWWW", "0276 1022 / 0276 3822 999"
LINKS = ["https://1022.tayninh.gov.vn/rieng-tu",
         "https://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com/api/rieng-tu",
         "https://" + "x" * 200 + "/rieng-tu"]


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("hotline", ["0276 1022", WORST_HOTLINE])
def test_the_acknowledgement_and_welcome_stay_one_gsm7_segment_whatever_the_link(link: str, hotline: str) -> None:
    for reply in (replies.acknowledgement(WORST_CODE, hotline, link), replies.usage(hotline, link)):
        assert is_gsm7(reply.sms) and fits_one_segment(reply.sms), (len(reply.sms), reply.sms)
        assert link in reply.zalo  # Zalo has no segments: it always points to the notice


def test_the_sms_acknowledgement_links_the_notice_whenever_a_wording_with_it_fits() -> None:
    short, api, too_long = LINKS
    assert short in replies.acknowledgement(WORST_CODE, WORST_HOTLINE, short).sms  # the hotline is given up first
    with_hotline = replies.acknowledgement(WORST_CODE, "0276 1022", short).sms
    assert short in with_hotline and "0276 1022" in with_hotline and WORST_CODE in with_hotline
    # execute-api's address is too long for any wording: the plain acknowledgement, never two segments
    assert api not in replies.acknowledgement(WORST_CODE, WORST_HOTLINE, api).sms
    plain = replies.acknowledgement(WORST_CODE, WORST_HOTLINE)
    assert replies.acknowledgement(WORST_CODE, WORST_HOTLINE, too_long).sms == plain.sms
    assert plain.sms.startswith("Duong day nong 1022 da tiep nhan") and "rieng-tu" not in plain.zalo


def test_a_follower_gets_the_status_and_the_hotline_and_only_a_published_answer() -> None:
    notice = replies.for_follower("TN-7KXQ4M", "Đã trả lời", WORST_HOTLINE)
    assert notice.zalo == f"Phản ánh TN-7KXQ4M bạn theo dõi: Đã trả lời. Hỏi thêm: gọi {WORST_HOTLINE}."
    assert is_gsm7(notice.sms) and fits_one_segment(notice.sms)  # worst code and hotline: still one SMS
    published = replies.for_follower("TN-7KXQ4M", "Đã trả lời", "0276 1022", "Đã nạo vét cống khu phố 3.")
    assert "Trả lời đã công khai: Đã nạo vét cống khu phố 3." in published.zalo
    assert published.sms.startswith("Phan anh TN-7KXQ4M ban theo doi: Da tra loi. Tra loi da cong khai: Da nao vet")
    assert not notice.sms.startswith(replies.NOTICE_PREFIX)  # never taken for a long message's notice


def test_one_time_codes_are_kept_as_salted_hashes_and_checked_strictly() -> None:
    secret = verification.new_secret()
    assert len(secret) == verification.DIGITS and secret.isdigit()
    stored = verification.secret_hash(secret)
    assert secret not in stored and stored != verification.secret_hash(secret)  # a fresh salt each time
    assert verification.matches(stored, secret) and verification.matches(stored, f" {secret[:3]}-{secret[3:]} ")
    wrong = f"{(int(secret) + 1) % 10 ** verification.DIGITS:06d}"
    for guess in (wrong, "", secret[:-1], secret + "0", "１２３４５６", "abcdef"):
        assert not verification.matches(stored, guess), guess
    sms = replies.verification_code(WORST_CODE, "999999", 15).sms
    assert fits_one_segment(sms) and is_gsm7(sms) and "999999" in sms and "15 phut" in sms
    # once sent, the SMS is kept with the code masked; other texts are left as they are
    assert replies.without_code(sms) == sms.replace("999999", "******")
    answer = replies.answer(WORST_CODE, "Ma xac nhan theo doi phan anh X: 123456").sms
    assert replies.without_code(answer) == answer


def test_the_notice_states_the_schedule_and_falls_back_to_the_defaults() -> None:
    categories = {"an-ninh-trat-tu": SimpleNamespace(name="An ninh trật tự"), "khac": SimpleNamespace(name="Khác")}
    bare = SimpleNamespace(categories=categories)
    assert notice_version(bare) == NOTICE_VERSION and outbound_text_days(bare) == DEFAULTS["outbound_text_days"]
    assert facts(bare).figures == DEFAULTS and facts(bare).pitr_days == 35
    retention = SimpleNamespace(notice_version="2027-03", closed_months=18, outbound_text_days=30,
                                category_months={"an-ninh-trat-tu": 60, "gone": 1},
                                legal_hold_categories=["an-ninh-trat-tu"])
    stated = facts(SimpleNamespace(categories=categories, retention=retention))
    assert stated.version == "2027-03" and stated.figures["closed_months"] == 18
    assert stated.figures["outbound_text_days"] == 30 and stated.figures["photos_months"] == DEFAULTS["photos_months"]
    assert stated.category_months == [("An ninh trật tự", 60)] and stated.legal_hold_categories == ["An ninh trật tự"]
