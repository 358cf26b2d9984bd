"""The acknowledgement with the reporter's personal status link: one GSM-7 segment whatever the site's address,
both links with a custom domain, the notice before the status link when only one fits, always both on Zalo."""
from __future__ import annotations

import pytest

from chalicelib.domain import replies
from chalicelib.domain.sms import fits_one_segment, is_gsm7
from chalicelib.domain.status_links import digest, new_token, well_formed

CODE, HOTLINES = "TN-WWWWWW", ["0276 1022", "0276 1022 / 0276 3822 999"]
BASES = ["https://1022.tayninh.gov.vn", "https://hotline1022.tayninh.gov.vn/api",
         "https://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com/api", "https://" + "x" * 200]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("hotline", HOTLINES)
@pytest.mark.parametrize("related", [None, "TN-AAAAAA"])
def test_the_acknowledgement_stays_one_segment_with_the_status_link(base: str, hotline: str, related: str | None
                                                                    ) -> None:
    status, notice = f"{base}/s/{new_token()}", f"{base}/rieng-tu"
    reply = replies.acknowledgement(CODE, hotline, notice, related, status_link=status)
    assert is_gsm7(reply.sms) and fits_one_segment(reply.sms), (len(reply.sms), reply.sms)
    assert status in reply.zalo and notice in reply.zalo


def test_with_a_custom_domain_both_links_fit_and_the_notice_comes_first_when_only_one_does() -> None:
    custom, middling, api = (f"{base}/s/{new_token()}" for base in BASES[:3])
    both = replies.acknowledgement(CODE, HOTLINES[1], f"{BASES[0]}/rieng-tu", status_link=custom).sms
    assert custom in both and f"{BASES[0]}/rieng-tu" in both and CODE in both
    # a longer address: the privacy notice (the law asks for it) rather than the status link
    one = replies.acknowledgement(CODE, HOTLINES[0], f"{BASES[1]}/rieng-tu", status_link=middling).sms
    assert f"{BASES[1]}/rieng-tu" in one and middling not in one
    # execute-api's address leaves no room for the notice; the status link still fits
    assert api in replies.acknowledgement(CODE, HOTLINES[1], f"{BASES[2]}/rieng-tu", status_link=api).sms


def test_a_token_is_128_random_bits_kept_only_as_its_digest() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(len(t) == 22 and well_formed(t) for t in tokens)
    token = tokens.pop()
    assert len(digest(token)) == 64 and token not in digest(token)
    assert not well_formed(token[:-1]) and not well_formed(token + "A") and not well_formed("../" + token[3:])


def test_a_kept_message_has_the_token_masked_and_nothing_else() -> None:
    from chalicelib.domain.status_links import without_token

    token = new_token()
    sent = f"1022 da nhan phan anh, ma TN-7KXQ4M. Tinh trang: https://1022.tayninh.gov.vn/s/{token} Du lieu ca nhan: x"
    assert without_token(sent) == sent.replace(token, "******")
    # not a link's token: a path of another shape, or a longer run of the same characters
    for other in ("https://a.vn/tra-cuu?code=TN-7KXQ4M", f"https://a.vn/s/{token}x", "/s/short"):
        assert without_token(other) == other
