"""How the staff ticket page tells a ticket's history and shows what the citizen sent.

Every entry reads in Vietnamese: what happened, who did it by name (a colleague's name rather than
their account, the citizen by the channel they wrote on, an agency by its name, the system as
such), and its details with Vietnamese labels and names instead of ids. Nothing raw reaches the
page: an unknown event kind reads "Cập nhật", an unknown detail is left out. The JSON API keeps the
codes (chalicelib.services.lookup.staff_timeline); this is the page's reading of them.

What the citizen sent is gathered from the first message (the ticket: photos, attachments, the
browser's or Zalo's location) and from every later message (their timeline events), so a photo or
location sent as a Zalo follow-up is shown like the first.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Sequence

from chalicelib.domain.clock import local_text
from chalicelib.domain.reference import ReferenceData

UNKNOWN_EVENT = "Cập nhật"
CHANNEL_NAMES = {"web": "Web", "sms": "SMS", "zalo": "Zalo", "facebook": "Facebook",
                 "email": "Email", "open311": "Open311",
                 "phone": "Điện thoại", "status_page": "Trang tra cứu"}
# Who each kind of message to staff goes to; every other kind goes to the citizen (or a follower).
STAFF_RECIPIENTS = {"assigned": "cơ quan xử lý", "deadline_warning": "cơ quan xử lý", "digest": "cơ quan xử lý",
                    "escalation": "lãnh đạo", "callback_soon": "tổng đài viên", "callback_overdue": "tổng đài viên",
                    "admin_alert": "quản trị viên"}
OUTBOUND_LABELS = {
    "ack": "Xác nhận đã tiếp nhận", "status": "Trả lời tra cứu tình trạng", "welcome": "Lời chào (Zalo)",
    "staff_reply": "Tin nhắn của tổng đài", "kb_answer": "Trả lời tự động (hỏi đáp)", "answer": "Trả lời chính thức", "rejected": "Báo không tiếp nhận",
    "redirected": "Hướng dẫn gửi nơi khác", "merged": "Báo gộp phản ánh", "survey": "Phiếu đánh giá",
    "rating_thanks": "Cảm ơn đánh giá", "verify": "Mã xác nhận theo dõi", "reopened": "Báo đã mở lại phản ánh",
    "assigned": "Thư giao xử lý", "deadline_warning": "Thư cảnh báo sắp đến hạn", "escalation": "Báo quá hạn",
    "callback_soon": "Nhắc sắp đến giờ gọi lại", "callback_overdue": "Nhắc quá giờ gọi lại",
    "admin_alert": "Cảnh báo cho quản trị", "digest": "Thư tổng hợp ngày",
}
WHY_LABELS = {"blank": "tin nhắn trống", "repeated": "cùng một nội dung gửi lặp lại nhiều lần",
              "anonymised": "phản ánh đã được ẩn danh", "erasure": "người dân yêu cầu xoá dữ liệu",
              "request": "người dân yêu cầu xoá dữ liệu", "retention": "hết thời hạn lưu trữ"}
EMAIL_EXCERPT = 400     # characters of an e-mail shown when its entry is opened (never the whole letter)
LINE_EXCERPT = 140      # characters of an entry's text on its one-line summary
SENT_KINDS = ("message_in",)  # later messages whose photos, files and location are shown with the first's


def actor_label(actor: str | None, ref: ReferenceData, names: Mapping[str, str]) -> str:
    """Who did it, as people say it: a colleague's name (their e-mail when the directory does not
    know it), "Người dân (Zalo)", an agency's name, or "Hệ thống"."""
    kind, _, who = (actor or "").partition(":")
    if kind == "staff":
        return names.get(who) or who or "Nhân viên"
    if kind == "citizen":
        channel = CHANNEL_NAMES.get(who)
        return f"Người dân ({channel})" if channel else "Người dân"
    if kind == "agency":
        agency = ref.agencies.get(who)
        return agency.name if agency else "Cơ quan xử lý"
    return "Hệ thống"


def _agency(ref: ReferenceData, agency_id: Any) -> str:
    agency = ref.agencies.get(str(agency_id or ""))
    return agency.name if agency else "chưa có"


def _when(value: Any) -> str:
    """A stored time (ISO, or already local text) as staff read it."""
    if isinstance(value, datetime):
        return local_text(value)
    try:
        return local_text(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _lines(kind: str, detail: Mapping[str, Any], ref: ReferenceData,
           names: Mapping[str, str]) -> list[tuple[str, str]]:
    """The details of one event that say something to a person, labelled in Vietnamese."""
    lines: list[tuple[str, str]] = []
    if kind == "call":  # chalicelib.services.telephony: a call attached to the ticket, made from it, or a call back
        return _call_lines(detail, names)
    if kind in ("routed", "recategorised"):
        category = ref.categories.get(str(detail.get("category") or ""))
        area = ref.areas.get(str(detail.get("area") or ""))
        lines.append(("Lĩnh vực", category.name if category else "chưa xác định"))
        lines.append(("Địa bàn", area.name if area else "chưa xác định"))
        lines.append(("Cơ quan xử lý", _agency(ref, detail.get("agency"))))
    elif detail.get("previous") and detail.get("agency"):
        lines.append(("Chuyển", f"{_agency(ref, detail['previous'])} → {_agency(ref, detail['agency'])}"))
    elif detail.get("agency"):
        lines.append(("Cơ quan", _agency(ref, detail["agency"])))
    if kind == "deadline_extended" and detail.get("from") and detail.get("to"):
        lines.append(("Hạn trả lời", f"{_when(detail['from'])} → {_when(detail['to'])}"))
    if detail.get("due"):
        lines.append(("Giờ hẹn gọi lại" if kind == "callback_scheduled" else "Hạn trả lời", _when(detail["due"])))
    labelled = (("reason", "Lý do"), ("outcome", "Kết quả cuộc gọi"), ("redirected_to", "Hướng dẫn gửi đến"),
                ("merged_into", "Gộp vào"), ("merged_from", "Nhận gộp từ"), ("unmerged", "Tách ra"),
                ("related_to", "Liên quan đến phản ánh"), ("question", "Câu hỏi công khai"),
                ("answer", "Trả lời công khai"), ("comment", "Nhận xét"), ("unassigned", "Thôi giao việc cho"),
                ("was", "Lý do giữ trước đó" if kind.startswith("legal_hold") else "Người nhận việc trước"))
    lines += [(label, str(detail[key])) for key, label in labelled if detail.get(key)]
    if detail.get("approver"):
        lines.append(("Người duyệt", names.get(str(detail["approver"])) or str(detail["approver"])))
    for key in ("to", "assignee", "owner", "by"):  # a colleague named in the event (claims, reassignments)
        value = str(detail.get(key) or "")
        if value:
            person = value.partition(":")[2] if value.startswith("staff:") else value
            lines.append(("Người nhận việc" if key != "by" else "Người thực hiện", names.get(person) or person))
    if detail.get("why"):
        lines.append(("Lý do", WHY_LABELS.get(str(detail["why"]), "khác")))
    if detail.get("kb_article"):
        lines.append(("Theo bài hỏi đáp", f"{detail.get('kb_title') or detail['kb_article']} (bản {detail.get('kb_version')})"))
    if kind == "reply" and detail.get("channel"):
        lines.append(("Gửi qua", CHANNEL_NAMES.get(str(detail["channel"]), "kênh của phản ánh")))
    if "on_time" in detail:
        lines.append(("Thời hạn", "đúng hạn" if detail["on_time"] else "quá hạn"))
    if detail.get("rating"):
        lines.append(("Điểm", f"{detail['rating']}/5"))
    if kind == "sms_notice" and detail.get("messages"):
        lines.append(("Số tin", str(detail["messages"])))
    if kind == "photos_removed" and detail.get("photos_deleted") is not None:
        lines.append(("Số ảnh đã xoá", str(detail["photos_deleted"])))
    return lines


CALL_HOW = {"attached": "Cuộc gọi được gắn vào phản ánh", "created": "Phản ánh được tạo từ cuộc gọi",
            "called_back": "Tổng đài gọi lại cho người dân"}


def _call_lines(detail: Mapping[str, Any], names: Mapping[str, str]) -> list[tuple[str, str]]:
    from chalicelib.domain.calls import OUT, OUTCOME_LABELS_VI

    lines = [("Cuộc gọi", CALL_HOW.get(str(detail.get("how")), "Cuộc gọi với người dân")),
             ("Chiều", "Tổng đài gọi đi" if detail.get("direction") == OUT else "Người dân gọi đến")]
    if detail.get("at"):
        lines.append(("Lúc", str(detail["at"])))
    if detail.get("outcome") in OUTCOME_LABELS_VI:
        lines.append(("Kết quả cuộc gọi", OUTCOME_LABELS_VI[str(detail["outcome"])]))
    if detail.get("talk_s"):
        minutes, seconds = divmod(int(detail["talk_s"]), 60)
        lines.append(("Thời gian nói chuyện", f"{minutes} phút {seconds} giây" if minutes else f"{seconds} giây"))
    if detail.get("answered_by"):
        lines.append(("Người nghe máy", names.get(str(detail["answered_by"])) or str(detail["answered_by"])))
    return lines


def _body(entry: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    text = detail.get("text")
    return str(text) if isinstance(text, str) and text else str(entry.get("text") or "")


def _sent_note(detail: Mapping[str, Any]) -> str:
    files = detail.get("attachments") or []
    parts = [f"{len(files)} tệp/ảnh"] if isinstance(files, list) and files else []
    if place(detail.get("location")) is not None:
        parts.append("vị trí")
    return ", ".join(parts)


def event_entry(entry: Mapping[str, Any], ref: ReferenceData, names: Mapping[str, str],
                labels: Mapping[str, str]) -> dict[str, Any]:
    """One timeline event as the page shows it: {at, when, label, actor, internal, citizen, excerpt,
    body, lines, sent, css}."""
    actor = str(entry.get("actor") or "")
    kind = str(entry.get("kind") or "")
    if kind == "routed" and actor.startswith("staff:"):  # recorded before an operator's choice had its own kind
        kind = "recategorised"
    detail = entry.get("detail") if isinstance(entry.get("detail"), dict) else {}
    citizen = actor.startswith("citizen:")
    body = _body(entry, detail)
    return {"type": "event", "at": entry["at"], "when": local_text(entry["at"]),
            "label": labels.get(kind, UNKNOWN_EVENT),
            "actor": actor_label(actor, ref, names), "citizen": citizen,
            "internal": not citizen and not entry.get("public"), "body": body,
            "excerpt": body[:LINE_EXCERPT], "lines": _lines(kind, detail, ref, names),
            "sent": _sent_note(detail) if kind in SENT_KINDS else "",
            "css": "in" if citizen else ("internal" if not entry.get("public") else "")}


# What Messenger's receipts say of a message that went out (chalicelib.store.receipts).
RECEIPT_LABELS = {"delivered": "Đã nhận", "read": "Đã xem"}


def message_entry(entry: Mapping[str, Any], citizen_kinds: Iterable[str], delivery_labels: Mapping[str, str],
                  ) -> dict[str, Any]:
    """One outbound message: {at, when, label, to, delivery, receipt, attempts, error, subject, body, excerpt, css}.
    An e-mail shows its subject and its beginning, never the whole letter."""
    kind, channel = str(entry.get("kind") or ""), str(entry.get("channel") or "")
    to_citizen = kind in set(citizen_kinds) or kind not in STAFF_RECIPIENTS  # staff get only the kinds listed there
    text = str(entry.get("text") or "")
    if channel == "email" and len(text) > EMAIL_EXCERPT:
        text = text[:EMAIL_EXCERPT].rstrip() + " …"
    subject = str(entry.get("subject") or "") if channel == "email" else ""
    recipient = "người dân" if to_citizen else STAFF_RECIPIENTS[kind]
    return {"type": "message", "at": entry["at"], "when": local_text(entry["at"]),
            "label": OUTBOUND_LABELS.get(kind, "Tin nhắn cho người dân"),
            "to": f"gửi {recipient} qua {CHANNEL_NAMES.get(channel, 'kênh khác')}",
            "delivery": delivery_labels.get(str(entry.get("delivery") or ""), "đang xử lý"),
            "receipt": RECEIPT_LABELS.get(str(entry.get("receipt") or ""), ""),
            "attempts": entry.get("attempts") or 0, "error": entry.get("last_error") or "",
            "subject": subject, "body": text, "excerpt": subject or text[:LINE_EXCERPT],
            "css": "out"}


def entries(timeline: Sequence[Mapping[str, Any]], ref: ReferenceData, names: Mapping[str, str],
            labels: Mapping[str, str], citizen_kinds: Iterable[str], delivery_labels: Mapping[str, str]
            ) -> list[dict[str, Any]]:
    """The page's timeline, oldest first (see event_entry and message_entry)."""
    kinds, shown, later = set(citizen_kinds), [], 0
    for entry in timeline:
        if entry.get("type") == "message_out":
            shown.append(message_entry(entry, kinds, delivery_labels))
            continue
        event = event_entry(entry, ref, names, labels)
        if entry.get("kind") in SENT_KINDS:
            later += 1
            event["sent_id"] = f"sent-{later}"  # its group in `sent`
        shown.append(event)
    return shown


def place(value: Any) -> dict[str, str] | None:
    """A location ([lat, lon]) as the page shows it, with a link to the place on OpenStreetMap;
    None for anything that is not a pair of coordinates in range."""
    try:
        lat, lon = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    a, b = f"{lat:.6f}", f"{lon:.6f}"
    return {"text": f"{a}, {b}", "map": f"https://www.openstreetmap.org/?mlat={a}&mlon={b}#map=18/{a}/{b}"}


def sent(ticket: Any, timeline: Sequence[Mapping[str, Any]], views: Callable[[list[dict[str, str]]], list[Any]],
         photo_url: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """What the citizen sent, message by message: the first (the ticket's photos, attachments and
    location) and every later message with any. Each group: {id, label, photos, files, place}.
    `views` makes attachment views of {key, filename, content_type} items (domain.links);
    `photo_url` gives a short-lived link for one of our own photo keys (None: not one)."""
    def group(ident: str, label: str, items: list[dict[str, str]], where: Any) -> dict[str, Any] | None:
        photos, files = [], []
        for item in items:
            link = photo_url(item.get("key", ""))
            if link:
                photos.append({"url": link, "content_type": item.get("content_type", ""),
                               "name": item.get("filename", "")})
            else:
                files.append(item)
        found = {"id": ident, "label": label, "photos": photos, "files": views(files), "place": place(where)}
        return found if photos or files or found["place"] else None

    first = [a.attribute_values if hasattr(a, "attribute_values") else dict(a) for a in ticket.attachments or []]
    lat, lon = getattr(ticket, "lat", None), getattr(ticket, "lon", None)
    groups = [group("sent-0", "Khi gửi phản ánh", first, (lat, lon) if lat is not None and lon is not None else None)]
    later = [e for e in timeline if e.get("type") == "event" and e.get("kind") in SENT_KINDS]
    for index, event in enumerate(later, start=1):
        detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
        items = [{"key": str(a.get("url") or ""), "filename": str(a.get("name") or ""),
                  "content_type": str(a.get("type") or "")}
                 for a in detail.get("attachments") or [] if isinstance(a, dict)]
        groups.append(group(f"sent-{index}", f"Tin nhắn lúc {local_text(event['at'])}", items,
                            detail.get("location")))
    return [g for g in groups if g is not None]

