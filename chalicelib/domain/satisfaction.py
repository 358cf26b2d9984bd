"""Satisfaction surveys (đánh giá hài lòng): one per answered ticket, on the reporter's channel;
the rating is 1-5 (5 = very satisfied), from a text reply ("5", "DG 4", "3 sao") or the web page."""
from __future__ import annotations

import re

from chalicelib.domain.replies import Reply
from chalicelib.domain.sms import sms_text
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
