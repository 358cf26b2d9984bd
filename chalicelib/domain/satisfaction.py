"""Satisfaction surveys (đánh giá hài lòng): one per answered ticket, on the reporter's channel;
the rating is 1-5 (5 = very satisfied), from a text reply ("5", "DG 4", "3 sao") or the web page."""
from __future__ import annotations

import re

from chalicelib.domain.replies import Reply, long_message_notice
from chalicelib.domain.sms import fits_one_segment, sms_text
from chalicelib.domain.text import fold

_RATING = re.compile(r"(?:dg|danh gia)?\s*([1-5])\s*(?:sao|diem|\*)?")
LABELS_VI = {1: "Rất không hài lòng", 2: "Không hài lòng", 3: "Bình thường", 4: "Hài lòng", 5: "Rất hài lòng"}


def parse_rating(text: str) -> int | None:
    """Returns 1-5 when the whole message is a rating, else None ("5 người bị thương" is not)."""
    match = _RATING.fullmatch(fold(text or ""))
    return int(match.group(1)) if match else None


def survey(code: str, link: str | None) -> Reply:
    """The one survey after the answer. Zalo/SMS reporters reply with a digit; others get a link."""
    ask = f"Bạn hài lòng với trả lời phản ánh {code} không? "
    zalo = ask + "Nhắn một số từ 1 (không hài lòng) đến 5 (rất hài lòng)."
    sms = ask + (f"Danh gia tai: {link}" if link else "Nhan 1-5 (5 = rat hai long).")
    return Reply(zalo=zalo + (f" Hoặc đánh giá tại: {link}" if link else ""), sms=sms_text(sms))


def thanks(rating: int) -> Reply:
    text = f"Cảm ơn bạn đã đánh giá ({rating}/5). Ý kiến của bạn giúp cơ quan phục vụ tốt hơn."
    return Reply(zalo=text, sms=sms_text(text))


RATE_BY_REPLY = "Nhan 1-5 de danh gia (5 = rat hai long)."
RATE_SHORT = "Nhan 1-5 de danh gia."


def answer_sms(code: str, answer: str, status_link: str | None, rating_link: str | None, hotline: str) -> str:
    """The one SMS an SMS or web reporter gets for the answer, with the survey folded in: never
    longer than one GSM-7 segment. `answer` is the answer as an SMS (replies.answer). With
    `rating_link` None the reporter rates by replying a digit (they wrote to a number that reads
    replies); otherwise they rate on the web page, which also shows the answer in full. First that
    fits: the whole answer and the prompt; a notice with the code and where to read it, and the
    prompt; the plain long-answer notice (the survey is then left out rather than split)."""
    if rating_link is None:
        candidates = [f"{answer} {RATE_BY_REPLY}", f"{answer} {RATE_SHORT}"]
        if status_link:
            candidates += [f"1022: Phan anh {code} da co tra loi, xem tai {status_link} . {RATE_BY_REPLY}",
                           f"1022: {code} co tra loi: {status_link} . {RATE_SHORT}"]
        candidates.append(f"1022: Phan anh {code} da co tra loi. Goi {hotline} de nghe. {RATE_BY_REPLY}")
    else:
        candidates = [f"{answer} Danh gia: {rating_link}",
                      f"1022: Phan anh {code} da co tra loi. Xem va danh gia tai {rating_link}",
                      f"1022: {code} da co tra loi, xem va danh gia: {rating_link}"]
    for text in candidates:
        if fits_one_segment(sms_text(text)):
            return sms_text(text)
    return long_message_notice(code, status_link, hotline)
