"""The fanpage beside the knowledge base and personal data, on the emulator through the real webhook and
consumers: a Messenger question is answered from the knowledge base where supervisors switched it on (as
a RESPONSE through the fake Graph API); an admin finds a person by their Messenger id (PSID), the page
names it so, and erasure removes their fanpage tickets, repeat counters and kept photos; the privacy notice
has the Messenger section Meta's app settings link to as the data-deletion instructions."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.services import kb, privacy
from chalicelib.store import kb as kb_store
from chalicelib.store import outbound, photos, tickets
from tests.integration.test_channels import pump
from tests.integration.test_facebook_inbound import body, item, post, psid
from tests.integration.test_kb_console import SUPERVISOR

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ARTICLE = {  # its own article: the knowledge-base tests' articles are theirs to create and change
    "id": "fb-xac-nhan-tinh-trang-hon-nhan", "kind": "article",
    "title": "Xin giấy xác nhận tình trạng hôn nhân",
    "questions": "thủ tục xin giấy xác nhận tình trạng hôn nhân\nxin giấy xác nhận độc thân ở đâu",
    "answer": "Nộp tờ khai tại Ủy ban nhân dân cấp xã nơi cư trú hoặc trên Cổng dịch vụ công; nhận kết quả "
              "trong 3 ngày làm việc (dữ liệu mẫu).",
    "category": "thu-tuc-hanh-chinh", "agency": "van-phong-ubnd",
    "source": {"number": "123/2015/NĐ-CP", "date": "2015-11-15", "body": "Chính phủ (dữ liệu mẫu)"},
    "valid_from": "2016-01-01"}
TODAY = f"{datetime.now(timezone.utc):%Y%m%d}"


def _ask(client: Any, person: str, text: str, **message: Any) -> str:
    assert post(client, body([item(person, text, **message)])).status_code == 200
    pump()
    (ticket,) = [t for t in tickets.by_zalo(person) if t.channel == "facebook"]
    return ticket.tracking_code


@pytest.fixture(scope="module")
def published(stack: Any) -> None:
    kb.load_published([ARTICLE], "staff:giamsat@demo.1022.vn", datetime.now(timezone.utc))
    kb_store.forget_index()


def test_a_messenger_question_is_answered_from_the_knowledge_base_where_switched_on(
        client: Any, providers: Any, published: None) -> None:
    person = psid()
    categories, version = kb.auto_answer_settings()
    kb.set_auto_answer(SUPERVISOR, "thu-tuc-hanh-chinh", True, version)
    try:
        # Given supervisors let the knowledge base answer administrative questions
        # When a person asks one on the fanpage
        code = _ask(client, person, "Cho em hỏi thủ tục xin giấy xác nhận tình trạng hôn nhân ạ")
    finally:
        _, version = kb.auto_answer_settings()
        kb.set_auto_answer(SUPERVISOR, "thu-tuc-hanh-chinh", "thu-tuc-hanh-chinh" in categories, version)
    # Then the article's short answer goes back on Messenger, as an ordinary response, and the ticket stays open
    (answer,) = [m for m in outbound.of_ticket(code) if m.kind == "kb_answer"]
    assert answer.channel == "facebook" and answer.state == "sent"
    sent = [m for m in providers.state.outbox if m["provider"] == "facebook" and m["to"] == person]
    assert [m["messaging_type"] for m in sent if "Ủy ban nhân dân cấp xã" in m["text"]] == ["RESPONSE"]
    assert "kb_auto_answer" in [e.kind for e in tickets.timeline(code)]
    assert tickets.get_ticket(code).status in ("assigned", "triage")


def _in_bucket(key: str) -> bool:
    from chalicelib import aws
    from chalicelib.store import photos

    return bool(aws.client("s3").list_objects_v2(Bucket=photos.bucket(), Prefix=key).get("KeyCount"))


def _report_with_two_photos(client: Any, providers: Any, person: str, text: str) -> tuple[str, list[str]]:
    """A fanpage report with a photo, and a later message with another; returns the code and both kept keys."""
    image = {"type": "image", "payload": {"url": f"{providers.base}/fbcdn/photo.jpg"}}
    code = _ask(client, person, text, attachments=[image])
    assert post(client, body([item(person, "Thêm ảnh", attachments=[image])])).status_code == 200
    pump()
    kept = [a.key for a in tickets.get_ticket(code).attachments] + [
        a["url"] for e in tickets.timeline(code) if e.kind == "message_in" for a in e.detail["attachments"]]
    assert len(set(kept)) == 2 and all(photos.is_photo_key(k) and _in_bucket(k) for k in kept)
    return code, kept


def test_an_admin_finds_a_messenger_person_by_psid_and_erasure_removes_their_tickets_counters_and_photos(
        client: Any, providers: Any, staff: dict[str, str]) -> None:
    person = psid()
    text = f"Đèn đường hỏng trước nhà số {uuid.uuid4().int % 1000}, phường Tân Ninh"
    # Given a person reported on the fanpage with a photo, and sent another one later (both copied into the
    # bucket: the first is on the ticket, the later one on its message's event only), a repeat counter named after them
    code, kept = _report_with_two_photos(client, providers, person, text)
    # When an admin looks their Messenger id up on the personal-data page
    cookie = {**FORM, "Cookie": f"hl_id={staff['admin']}; hl_csrf=c"}
    page = client.http.post("/staff/du-lieu-ca-nhan", headers=cookie,
                            body=urlencode({"csrf": "c", "step": "search", "person": person}).encode()).body.decode()
    # Then it is named as a Messenger id, with their ticket and its repeat counter
    assert "Zalo / Messenger" in page  # the search box says what it takes
    held_title = page[page.index('id="held-title"'):][:300]
    assert "mã người dùng Messenger" in held_title and person in held_title and "Zalo" not in held_title
    found = privacy.find_person(person)
    assert [t["code"] for t in found.tickets] == [code]
    counters = [r["key"] for r in found.records if r["kind"] == "counter" and r["key"].startswith("RATE#REPEAT#")]
    assert len(counters) == 2 and all(TODAY in c for c in counters)  # one per text they sent today
    # and the page's messages to them left receipt markers named after them
    from chalicelib.store.models import MessengerSentModel

    assert list(MessengerSentModel.query(f"FBOUT#{person}"))
    assert [r for r in found.records if r["kind"] == "receipt_marker" and r["key"].startswith(f"FBOUT#{person}|")]
    # When they are erased
    report = privacy.erase_person(person, requester="Chính chủ", reason="Yêu cầu xoá qua fanpage",
                                  approver="Chánh văn phòng", actor="staff:quantri@demo.1022.vn",
                                  now=datetime.now(timezone.utc))
    # Then the ticket is anonymised, the counter and the kept photo are gone, and the id finds nothing
    assert report.anonymised == [code] and report.counters_deleted >= 1
    erased = tickets.get_ticket(code)
    assert erased.anonymised_at and erased.reporter_zalo_id is None
    assert not any(_in_bucket(k) for k in kept)
    assert privacy.find_person(person).tickets == []
    assert list(MessengerSentModel.query(f"FBOUT#{person}")) == []  # no receipt marker names them any more


def test_retention_removes_the_kept_photos_of_later_messages_too_and_once(client: Any, providers: Any) -> None:
    from collections import defaultdict

    from chalicelib.domain.retention import add_months, purge_shard
    from chalicelib.store.models import TicketModel
    from chalicelib.store.reference import load_reference

    person = psid()
    code, kept = _report_with_two_photos(client, providers, person, "Cây đổ chắn đường ấp 3")
    tickets.get_ticket(code).update(actions=[  # on the retention watch, as once its deadline watch ends
        TicketModel.watch_shard.set(purge_shard(code)), TicketModel.watch_stage.set("purge")])
    # When the retention job comes 13 months later (photos are kept 12, the ticket longer)
    later, counts = add_months(datetime.now(timezone.utc), 13), defaultdict(int)
    privacy._apply_schedule(tickets.get_ticket(code), load_reference(), later, counts)
    # Then both photos are gone, the later message's too, and the next run finds none left to remove
    assert counts["photos_removed"] == 1 and counts["anonymised"] == 0
    assert not any(_in_bucket(k) for k in kept)
    privacy._apply_schedule(tickets.get_ticket(code), load_reference(), later, counts)
    assert counts["photos_removed"] == 1


def test_the_privacy_notice_has_the_messenger_section_meta_links_to_for_data_deletion(client: Any) -> None:
    page = client.http.get("/rieng-tu").body.decode()
    section = page[page.index('id="messenger"'):]
    assert "mã người dùng Messenger" in section and "Yêu cầu xoá dữ liệu" in section
    assert "không xoá bản chúng tôi đã lưu" in section
