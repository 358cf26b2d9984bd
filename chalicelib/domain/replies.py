"""Automated replies to citizens. Zalo keeps diacritics; SMS is folded to GSM-7 and must fit one
segment (tests render each template with worst-case values). Variables are clipped so that a long
agency name can never push an SMS into a second, billed segment."""
from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.domain.messages import MESSAGING_APPS
from chalicelib.domain.sms import fits_one_segment, sms_text

AGENCY_MAX = 40


@dataclass(frozen=True)
class Reply:
    zalo: str
    sms: str

    def for_channel(self, channel: str) -> str:
        return self.zalo if channel in MESSAGING_APPS else self.sms  # the apps take the longer text


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 3].rstrip() + "..."


NOTICE_LABEL = "Dữ liệu cá nhân"  # the privacy notice's link in messages (/rieng-tu)


def _first_fitting(candidates: list[str]) -> str:
    """The first wording whose SMS form fits one GSM-7 segment; the last one always does."""
    return next((sms_text(text) for text in candidates if fits_one_segment(sms_text(text))), sms_text(candidates[-1]))


STATUS_LABEL = "Tình trạng"  # the personal status link's label in messages (/s/<token>)


def _zalo(text: str, notice_link: str | None, status_link: str | None) -> str:
    """The Zalo form of an acknowledgement (no segments): the text, then each link on its own line."""
    if status_link:
        text += f"\nXem tình trạng phản ánh của bạn: {status_link}"
    if notice_link:
        text += f"\n{NOTICE_LABEL} của bạn được xử lý thế nào: {notice_link}"
    return text


def acknowledgement(code: str, hotline: str, notice_link: str | None = None, related: str | None = None,
                    split: bool = False, status_link: str | None = None) -> Reply:
    """Sent once per new ticket (never per message). On Zalo it always links the privacy notice and
    the reporter's status link (`status_link`, /s/<token>); by SMS only what still fits one segment:
    both links in a short wording, else the notice (the law asks for it first), else the status link,
    else neither (a long site address leaves no room).
    With `related` (the sender's earlier ticket) it says the message became a ticket of its own:
    apart from that one (`split`: another subject), or following it up (that one is closed or quiet)."""
    if related:
        return _new_beside(code, hotline, notice_link, related, split, status_link)
    text = (f"Đường dây nóng 1022 đã tiếp nhận phản ánh của bạn. Mã tra cứu: {code}. "
            f"Để tra cứu, nhắn: TT {code}. Hotline {hotline}.")
    short = f"Đường dây nóng 1022 đã tiếp nhận phản ánh, mã {code}. Tra cứu: nhắn TT {code}."
    candidates = []
    if status_link and notice_link:
        candidates.append(f"1022 đã nhận phản ánh, mã {code}. {STATUS_LABEL}: {status_link} "
                          f"{NOTICE_LABEL}: {notice_link}")
    if notice_link:
        candidates += [f"{text} {NOTICE_LABEL}: {notice_link}",
                       f"{short} Hotline {hotline}. {NOTICE_LABEL}: {notice_link}",
                       f"{short} {NOTICE_LABEL}: {notice_link}"]
    if status_link:
        candidates += [f"Đường dây nóng 1022 đã tiếp nhận phản ánh, mã {code}. Xem tình trạng: {status_link}",
                       f"1022 đã nhận phản ánh, mã {code}. {STATUS_LABEL}: {status_link}"]
    return Reply(zalo=_zalo(text, notice_link, status_link), sms=_first_fitting([*candidates, text]))


def acknowledgement_email(code: str, hotline: str, status_link: str | None = None,
                          notice_link: str | None = None, by_sms: bool = False) -> tuple[str, str]:
    """(subject, text) of the e-mail that acknowledges a report from the web form, the API or
    Open311 whose reporter gave an e-mail address: the code and the reporter's status link, which
    the confirmation page shows only once (and an e-mail-only reporter has no phone digits for
    /tra-cuu). `by_sms`: answers go to the reporter's phone, else to this address."""
    lines = [f"Đường dây nóng 1022 đã tiếp nhận phản ánh của bạn. Mã tra cứu: {code}."]
    if status_link:
        lines.append(f"Xem tình trạng phản ánh của bạn (đường dẫn riêng, xin đừng chia sẻ): {status_link}")
    where = "nhắn tin đến số điện thoại của bạn" if by_sms else "gửi thư đến địa chỉ này"
    lines.append(f"Khi có trả lời, chúng tôi sẽ {where}. Hỏi thêm: gọi {hotline}.")
    if notice_link:
        lines.append(f"{NOTICE_LABEL} của bạn được xử lý thế nào: {notice_link}")
    lines.append("Thư này được gửi tự động, xin đừng trả lời thư.")
    return f"[1022] Đã tiếp nhận phản ánh {code}", "\n\n".join(lines)


def _new_beside(code: str, hotline: str, notice_link: str | None, related: str, split: bool,
                status_link: str | None = None) -> Reply:
    relation = f"tách riêng với phản ánh {related}" if split else f"tiếp nối phản ánh {related}"
    text = (f"Đường dây nóng 1022 đã tiếp nhận phản ánh mới của bạn, {relation}. Mã tra cứu: {code}. "
            f"Để tra cứu, nhắn: TT {code}. Hotline {hotline}.")
    short = f"1022 đã tiếp nhận phản ánh mới, mã {code}, {relation}. Tra cứu: nhắn TT {code}."
    candidates = []
    if notice_link:
        candidates += [f"{text} {NOTICE_LABEL}: {notice_link}", f"{short} {NOTICE_LABEL}: {notice_link}"]
    if status_link:
        candidates.append(f"1022 đã nhận phản ánh mới, mã {code}, {relation}. {STATUS_LABEL}: {status_link}")
    candidates += [text, f"{short} Hotline {hotline}.", short]
    return Reply(zalo=_zalo(text, notice_link, status_link), sms=_first_fitting(candidates))


def reopened(code: str, hotline: str) -> Reply:
    """Sent when the citizen's message reopened their answered ticket: it says which ticket has it."""
    text = (f"Đường dây nóng 1022 đã nhận tin nhắn của bạn và mở lại phản ánh {code} để xử lý tiếp. "
            f"Tra cứu: nhắn TT {code}. Hotline {hotline}.")
    return Reply(zalo=text, sms=_first_fitting([text, f"1022 đã nhận tin nhắn, mở lại phản ánh {code} để xử lý tiếp. "
                                                      f"Tra cứu: nhắn TT {code}."]))


def status(code: str, label: str, agency: str | None) -> Reply:
    """The answer to `TT <code>` from the ticket's own reporter."""
    where = f" Cơ quan xử lý: {_clip(agency, AGENCY_MAX)}." if agency else ""
    text = f"Phản ánh {code}: {label}.{where}"
    return Reply(zalo=text, sms=sms_text(text))


def not_found(hotline: str) -> Reply:
    """The one answer for an unknown code and for a code reported from another number."""
    text = (f"Không tìm thấy phản ánh với mã này cho số điện thoại/tài khoản của bạn. "
            f"Vui lòng kiểm tra lại mã hoặc gọi {hotline}.")
    return Reply(zalo=text, sms=sms_text(text))


def usage(hotline: str, notice_link: str | None = None) -> Reply:
    """Sent on a Zalo follow: how to use the channel, and (with the site's address) where the
    privacy notice is."""
    text = (f"Chào bạn! Gửi phản ánh, kiến nghị bằng cách nhắn nội dung tại đây. "
            f"Tra cứu: nhắn TT <mã>. Gửi phản ánh mới: bắt đầu bằng MỚI. Hotline {hotline}.")
    if not notice_link:
        return Reply(zalo=text, sms=sms_text(text))
    return Reply(zalo=f"{text}\n{NOTICE_LABEL} của bạn được xử lý thế nào: {notice_link}",
                 sms=_first_fitting([f"{text} {NOTICE_LABEL}: {notice_link}", text]))


def answer(code: str, body: str) -> Reply:
    """The official answer (written by staff; SMS folded, may take several segments)."""
    text = f"Trả lời phản ánh {code}: {body}"
    return Reply(zalo=text, sms=sms_text(text))


def staff_message(code: str, body: str) -> Reply:
    """A message staff write to the reporter while the ticket is handled."""
    text = f"1022 - phản ánh {code}: {body}"
    return Reply(zalo=text, sms=sms_text(text))


def for_follower(code: str, status_label: str, hotline: str, public_answer: str | None = None) -> Reply:
    """What anyone who is not the ticket's reporter (a follower, the reporter of a merged ticket)
    receives when the ticket's status changes: its code, the new status and the hotline, and the answer
    only as staff published it (`public_answer`, already redacted). Never what staff wrote for the
    reporter, redacted or not: a reporter's address or the name they signed with is in no pattern."""
    text = f"Phản ánh {code} bạn theo dõi: {status_label}."
    if public_answer:
        text += f" Trả lời đã công khai: {public_answer}"
    text += f" Hỏi thêm: gọi {hotline}."
    return Reply(zalo=text, sms=sms_text(text))


def verification_code(code: str, secret: str, minutes: int) -> Reply:
    """The one-time code that proves a follower's phone (one GSM-7 segment)."""
    text = (f"1022: Mã xác nhận theo dõi phản ánh {code}: {secret} (dùng trong {minutes} phút). "
            f"Nếu bạn không yêu cầu, hãy bỏ qua tin này.")
    return Reply(zalo=text, sms=sms_text(text))


# The code in a sent one-time code SMS: what `verification_code` puts after the ticket's code.
_SENT_CODE = re.compile(r"^(1022: Ma xac nhan theo doi phan anh \S+: )\d+")
CODE_MASK = "******"


def without_code(text: str) -> str:
    """`text` with the one-time code masked when it is a `verification_code` SMS (how that SMS is kept
    once sent, and shown in a person's export before); any other text unchanged."""
    return _SENT_CODE.sub(lambda found: found.group(1) + CODE_MASK, text, count=1)


def rejected(code: str, reason: str) -> Reply:
    text = f"Phản ánh {code} không được tiếp nhận. Lý do: {reason}"
    return Reply(zalo=text, sms=sms_text(text))


def redirected(code: str, where: str, reason: str) -> Reply:
    text = f"Phản ánh {code}: vui lòng gửi đến {where}. {reason}"
    return Reply(zalo=text, sms=sms_text(text))


def merged(code: str, original: str) -> Reply:
    text = f"Phản ánh {code} trùng nội dung với {original}; bạn sẽ nhận trả lời của {original}."
    return Reply(zalo=text, sms=sms_text(text))


# The timeline note (for staff) when a message went as that notice.
LONG_MESSAGE_NOTE = ("Nội dung dài hơn một tin SMS: người dân nhận tin ngắn có mã phản ánh và đường dẫn trang tra "
                     "cứu (người theo dõi: số đường dây nóng); nội dung đầy đủ có trên trang tra cứu.")


NOTICE_PREFIX = "1022: "  # how every notice sent instead of a long SMS starts (never a whole message)


def long_message_notice(code: str, status_link: str | None, hotline: str) -> str:
    """The one-segment GSM-7 SMS sent instead of a citizen message too long for one SMS: the
    tracking code and where to read it in full (the status page, else the hotline). Never longer
    than one segment, whatever the link's length."""
    candidates = []
    if status_link:
        candidates += [f"1022: Phan anh {code} co tin tra loi moi. Xem day du tai {status_link} (nhap 4 so cuoi SDT).",
                       f"1022: Phan anh {code} co tin moi. Xem tai {status_link}"]
    candidates += [f"1022: Phan anh {code} co tin tra loi moi. Goi {hotline} de nghe day du.",
                   f"1022: Phan anh {code} co tin moi. Goi {hotline}."]
    fitting = [sms_text(text) for text in candidates if fits_one_segment(sms_text(text))]
    return fitting[0] if fitting else sms_text(f"1022: {code}")[:160]
