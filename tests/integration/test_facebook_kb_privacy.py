"""The fanpage beside the knowledge base and personal data, on the emulator through the real webhook and
consumers: a Messenger question is answered from the knowledge base where supervisors switched it on (as
a RESPONSE through the fake Graph API); an admin finds a person by their Messenger id (PSID), the page
names it so, and erasure removes their fanpage tickets, repeat counters and kept photos; the privacy notice
has the Messenger section Meta's app settings link to as the data-deletion instructions."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from chalicelib.services import kb, privacy
from chalicelib.store import outbound, tickets
from chalicelib.store.models import AttachmentMap
from tests.integration.test_channels import pump
from tests.integration.test_facebook_inbound import body, item, post, psid
from tests.integration.test_kb_console import SUPERVISOR, published  # noqa: F401 - the published articles

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TODAY = f"{datetime.now(timezone.utc):%Y%m%d}"


def _ask(client: Any, person: str, text: str) -> str:
    assert post(client, body([item(person, text)])).status_code == 200
    pump()
    (ticket,) = [t for t in tickets.by_zalo(person) if t.channel == "facebook"]
    return ticket.tracking_code


def test_a_messenger_question_is_answered_from_the_knowledge_base_where_switched_on(
        client: Any, providers: Any, published: None) -> None:  # noqa: F811
    person = psid()
    categories, version = kb.auto_answer_settings()
    kb.set_auto_answer(SUPERVISOR, "thu-tuc-hanh-chinh", True, version)
    try:
        # Given supervisors let the knowledge base answer administrative questions
        # When a person asks one on the fanpage
        code = _ask(client, person, "Cho em hỏi thủ tục làm căn cước cho con ạ")
    finally:
        _, version = kb.auto_answer_settings()
        kb.set_auto_answer(SUPERVISOR, "thu-tuc-hanh-chinh", "thu-tuc-hanh-chinh" in categories, version)
    # Then the article's short answer goes back on Messenger, as an ordinary response, and the ticket stays open
    (answer,) = [m for m in outbound.of_ticket(code) if m.kind == "kb_answer"]
    assert answer.channel == "facebook" and answer.state == "sent"
    sent = [m for m in providers.state.outbox if m["provider"] == "facebook" and m["to"] == person]
    assert [m["messaging_type"] for m in sent if "Công an cấp xã" in m["text"]] == ["RESPONSE"]
    assert "kb_auto_answer" in [e.kind for e in tickets.timeline(code)]
    assert tickets.get_ticket(code).status in ("assigned", "triage")


def _keep_photo(code: str) -> str:
    """A photo kept with the ticket as the fanpage's image copy keeps one (photos/<hash>/photo.jpg)."""
    from chalicelib import aws
    from chalicelib.store import photos
    from chalicelib.store.models import TicketModel

    key = f"photos/{hashlib.sha256(uuid.uuid4().bytes).hexdigest()[:32]}/photo.jpg"
    aws.client("s3").put_object(Bucket=photos.bucket(), Key=key, Body=b"\xff\xd8\xff\xd9", ContentType="image/jpeg")
    ticket = tickets.get_ticket(code)
    ticket.update(actions=[TicketModel.attachments.set([AttachmentMap(key=key, filename="photo.jpg", content_type="image/jpeg")])])
    return key


def _in_bucket(key: str) -> bool:
    from chalicelib import aws
    from chalicelib.store import photos

    return bool(aws.client("s3").list_objects_v2(Bucket=photos.bucket(), Prefix=key).get("KeyCount"))


def test_an_admin_finds_a_messenger_person_by_psid_and_erasure_removes_their_tickets_counters_and_photos(
        client: Any, providers: Any, staff: dict[str, str]) -> None:
    person = psid()
    text = f"Đèn đường hỏng trước nhà số {uuid.uuid4().int % 1000}, phường Tân Ninh"
    # Given a person reported on the fanpage, with a photo kept, and a repeat counter named after them
    code = _ask(client, person, text)
    photo = _keep_photo(code)
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
    assert len(counters) == 1 and TODAY in counters[0]
    # When they are erased
    report = privacy.erase_person(person, requester="Chính chủ", reason="Yêu cầu xoá qua fanpage",
                                  approver="Chánh văn phòng", actor="staff:quantri@demo.1022.vn",
                                  now=datetime.now(timezone.utc))
    # Then the ticket is anonymised, the counter and the kept photo are gone, and the id finds nothing
    assert report.anonymised == [code] and report.counters_deleted >= 1
    erased = tickets.get_ticket(code)
    assert erased.anonymised_at and erased.reporter_zalo_id is None
    assert not _in_bucket(photo)
    assert privacy.find_person(person).tickets == []


def test_the_privacy_notice_has_the_messenger_section_meta_links_to_for_data_deletion(client: Any) -> None:
    page = client.http.get("/rieng-tu").body.decode()
    section = page[page.index('id="messenger"'):]
    assert "mã người dùng Messenger" in section and "Yêu cầu xoá dữ liệu" in section
    assert "không xoá bản chúng tôi đã lưu" in section
