"""The ticket page's history as staff read it (chalicelib/web/timeline.py): every entry in
Vietnamese, people by name, agencies, categories and communes by name, the citizen's own messages
never marked internal, an operator's re-categorisation called so, and no raw code anywhere; what
the citizen sent in any message, with a map link for a location."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.domain.links import attachment_views
from chalicelib.domain.reference import parse_reference
from chalicelib.store.reference import seed_document
from chalicelib.web import timeline
from chalicelib.web.staff_views import CITIZEN_KINDS, DELIVERY_LABELS, EVENT_LABELS

REF = parse_reference(seed_document())
AT = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
NAMES = {"tongdai@demo.1022.vn": "Lê Thị Mai"}
ZALO_IMAGE = "https://f21-zpc.zdn.vn/1/anh.jpg"
RAW = ["staff:", "citizen:", "system:", "agency:", "so-xay-dung", "ubnd-khanh-hau", "ngap-ung", "khanh-hau",
       "message_in", "staff_reply", "recategorised", "routed", "callback_scheduled", "deadline_extended",
       "assigned", "transferred", "ack", "pending", "sent", "previous", "reason:", "agency:", "why", "repeated",
       "2026-12-01T", "None"]


def _event(minute: int, kind: str, actor: str, public: bool = False, public_text: str | None = None,
           **detail: Any) -> dict[str, Any]:
    return {"at": AT + timedelta(minutes=minute), "type": "event", "kind": kind, "actor": actor, "public": public,
            "text": public_text, "detail": detail or None}


def _message(minute: int, kind: str, channel: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"at": AT + timedelta(minutes=minute), "type": "message_out", "kind": kind, "channel": channel,
            "provider": "ses", "text": text, "delivery": "sent", "attempts": 1, "last_error": None, **extra}


HISTORY = [
    _event(0, "created", "citizen:zalo", True, "Đã tiếp nhận phản ánh.", channel="zalo", provider="zalo",
           text="Cống tắc ở khu phố 2", attachments=[], location=None),
    _message(1, "ack", "zalo", "Đường dây nóng 1022 đã tiếp nhận phản ánh của bạn."),
    _event(2, "routed", "system:routing", True, "Đã chuyển đến Sở Xây dựng để xử lý.", status="assigned",
           agency="so-xay-dung", category="ngap-ung", area="khanh-hau", score=3.5),
    _message(3, "assigned", "email", "Cơ quan được giao xử lý phản ánh sau:\n" + "Nội dung rất dài. " * 80,
             subject="[1022] Phản ánh mới TN-ABC123"),
    _event(4, "message_in", "citizen:zalo", False, None, channel="zalo", provider="zalo", text="Ảnh thêm đây",
           attachments=[{"type": "image", "url": ZALO_IMAGE, "name": ""}], location=[10.53, 106.41]),
    _event(5, "routed", "staff:tongdai@demo.1022.vn", True, "Đã chuyển đến Sở Xây dựng để xử lý.",
           status="assigned", agency="so-xay-dung", category="ngap-ung", area="khanh-hau"),
    _event(6, "transferred", "staff:tongdai@demo.1022.vn", True, "Đã chuyển đến UBND.", agency="ubnd-khanh-hau",
           previous="so-xay-dung", reason="Đường do phường quản lý"),
    _event(7, "note", "staff:khac@demo.1022.vn", False, None, text="Người dân rất bức xúc"),
    _event(8, "callback_scheduled", "staff:tongdai@demo.1022.vn", True, "Tổng đài sẽ gọi lại.",
           due="2026-12-01T03:00:00+00:00", reason="Hỏi thêm vị trí"),
    _event(9, "deadline_extended", "staff:giamsat@demo.1022.vn", True, "Gia hạn.",
           **{"from": "2026-12-01T10:00:00+00:00", "to": "2026-12-04T10:00:00+00:00"}, reason="Khảo sát",
           approver="giamsat@demo.1022.vn"),
    _event(10, "held", "citizen:sms", False, None, why="repeated", text="spam"),
    _event(11, "something_new", "agency:so-xay-dung", False, None, mystery="x"),
    _message(12, "staff_reply", "sms", "1022 - phan anh TN-ABC123: Da chuyen."),
    _event(14, "reassigned", "staff:tongdai@demo.1022.vn", False, None, assignee="Trần Văn Bình", was="Lê Thị Mai"),
    _event(15, "reopened", "citizen:zalo", True, "Phản ánh được mở lại để xử lý tiếp.",
           reason="Người dân nhắn tin lại sau khi phản ánh đã được trả lời"),
    _message(13, "brand_new_kind", "zalo", "Tin mới"),
]


def _shown(entry: dict[str, Any]) -> list[str]:
    texts = [str(entry.get(key) or "") for key in ("label", "actor", "to", "delivery", "body", "excerpt", "sent",
                                                     "subject", "error")]
    return texts + [f"{label}: {value}" for label, value in entry.get("lines", [])]


def _entries() -> list[dict[str, Any]]:
    return timeline.entries(HISTORY, REF, NAMES, EVENT_LABELS, CITIZEN_KINDS, DELIVERY_LABELS)


def test_every_entry_reads_in_vietnamese_without_a_raw_code() -> None:
    entries = _entries()
    assert len(entries) == len(HISTORY)
    leaked = [(e["label"], text) for e in entries for text in _shown(e)
              if any(raw in text for raw in RAW) and "Nội dung rất dài" not in text]
    assert leaked == []


def test_people_agencies_categories_and_communes_are_named() -> None:
    entries = _entries()
    by_minute = {int((e["at"] - AT).total_seconds() // 60): e for e in entries}
    assert by_minute[0]["actor"] == "Người dân (Zalo)" and by_minute[10]["actor"] == "Người dân (SMS)"
    assert by_minute[2]["actor"] == "Hệ thống" and by_minute[2]["label"] == "Phân loại tự động"
    assert ("Lĩnh vực", REF.categories["ngap-ung"].name) in by_minute[2]["lines"]
    assert ("Địa bàn", REF.areas["khanh-hau"].name) in by_minute[2]["lines"]
    # an operator's choice is not "automatic", even recorded before it had its own kind
    assert by_minute[5]["label"] == "Phân loại lại (thủ công)" and by_minute[5]["actor"] == "Lê Thị Mai"
    assert ("Chuyển", f"Sở Xây dựng → {REF.agencies['ubnd-khanh-hau'].name}") in by_minute[6]["lines"]
    assert by_minute[7]["actor"] == "khac@demo.1022.vn"             # not in the directory: the e-mail, no prefix
    assert ("Giờ hẹn gọi lại", "01/12/2026 10:00") in by_minute[8]["lines"]
    assert ("Hạn trả lời", "01/12/2026 17:00 → 04/12/2026 17:00") in by_minute[9]["lines"]
    assert ("Lý do", "cùng một nội dung gửi lặp lại nhiều lần") in by_minute[10]["lines"]
    assert by_minute[11]["label"] == "Cập nhật" and by_minute[11]["actor"] == "Sở Xây dựng"
    assert by_minute[11]["lines"] == []                             # an unknown detail is left out
    assert by_minute[1]["label"] == "Xác nhận đã tiếp nhận" and by_minute[1]["to"] == "gửi người dân qua Zalo"
    assert by_minute[12]["label"] == "Tin nhắn của tổng đài" and by_minute[12]["delivery"] == "đã gửi"
    assert by_minute[13]["label"] == "Tin nhắn cho người dân"
    assert by_minute[14]["label"] == "Giao lại cho người khác" and ("Người nhận việc", "Trần Văn Bình") in \
        by_minute[14]["lines"] and ("Người nhận việc trước", "Lê Thị Mai") in by_minute[14]["lines"]
    assert by_minute[15]["label"] == "Mở lại" and by_minute[15]["actor"] == "Người dân (Zalo)"


def test_the_citizens_messages_are_never_internal_and_staff_notes_are() -> None:
    entries = {int((e["at"] - AT).total_seconds() // 60): e for e in _entries()}
    assert not entries[4]["internal"] and not entries[0]["internal"] and not entries[10]["internal"]
    assert entries[4]["body"] == "Ảnh thêm đây" and entries[4]["sent"] == "1 tệp/ảnh, vị trí"
    assert entries[7]["internal"] and entries[7]["body"] == "Người dân rất bức xúc"


def test_an_email_shows_its_subject_and_beginning_never_the_whole_letter() -> None:
    mail = next(e for e in _entries() if e.get("subject"))
    assert mail["subject"] == "[1022] Phản ánh mới TN-ABC123" and mail["excerpt"] == mail["subject"]
    assert mail["to"] == "gửi cơ quan xử lý qua Email"
    assert len(mail["body"]) <= timeline.EMAIL_EXCERPT + 2 and mail["body"].endswith("…")


class _Ticket:
    attachments = [{"key": "photos/TN-ABC123/1.jpg", "filename": "1.jpg", "content_type": "image/jpeg"},
                   {"key": "https://cdn.example.net/tai-lieu.pdf", "filename": "tai-lieu.pdf",
                    "content_type": "file"}]
    lat, lon = 10.7769, 106.7009


def test_what_the_citizen_sent_is_shown_from_every_message_with_a_map_link() -> None:
    groups = timeline.sent(_Ticket(), HISTORY, lambda items: attachment_views(items, ["zdn.vn"]),
                           lambda key: f"https://bucket.example/{key}?sig" if key.startswith("photos/") else None)
    first, later = groups
    assert first["label"] == "Khi gửi phản ánh" and [p["name"] for p in first["photos"]] == ["1.jpg"]
    assert [f["link"].host for f in first["files"]] == ["cdn.example.net"] and not first["files"][0]["image"]
    assert first["place"] == {"text": "10.776900, 106.700900", "map": "https://www.openstreetmap.org/"
                              "?mlat=10.776900&mlon=106.700900#map=18/10.776900/106.700900"}
    # a Zalo follow-up's photo and location, with the entry pointing at it
    assert later["id"] == next(e for e in _entries() if e.get("sent"))["sent_id"]
    assert later["label"] == "Tin nhắn lúc 28/11/2026 10:04"
    assert [f["link"].image_url for f in later["files"]] == [ZALO_IMAGE] and later["place"]["text"] == \
        "10.530000, 106.410000"


def test_a_location_out_of_range_or_not_a_pair_is_not_shown() -> None:
    assert timeline.place([91, 0]) is None and timeline.place(["x", 1]) is None and timeline.place(None) is None
    assert timeline.place([float("nan"), 1]) is None and timeline.place([0, 0]) is not None
