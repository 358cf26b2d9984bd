"""The retention schedule on the emulator: every ticket is watched for its personal data from the
moment it is made, and the nightly job removes, as each one's time comes, the texts of messages sent
(90 days), the photos (12 months), then the person (24 months after the last activity, a category's
own period, 36 months for an open ticket nobody touched), keeping held tickets with the reason. Run
twice, it changes nothing the second time.

The tickets of these tests are aged into 2020: the job's runs up to 2023 see only them."""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.domain.reports import validate_submission
from chalicelib.domain.retention import add_months, purge_shard
from chalicelib.services import intake, privacy, routing
from chalicelib.store import cursors, outbound, ratings, tickets
from chalicelib.store.connection import bind
from chalicelib.store.models import OutboundModel, TicketModel, ticket_pk
from chalicelib.store.privacy import ERASED
from chalicelib.store.reference import current_document, load_reference, save_reference
from tests.conftest import bearer, unique_phone
from tests.integration.test_channels import gateway_post, pump
from tests.integration.test_citizen_side import _upload, jpeg_with_exif

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}
VN = timezone(timedelta(hours=7))
T0 = datetime(2020, 1, 15, 9, 0, tzinfo=VN)  # when the tickets of these tests were last worked on


def _act(client: Any, token: str, code: str, action: str, **fields: Any) -> Any:
    version = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(token)).json_body["version"]
    answer = client.http.post(f"/api/v1/staff/tickets/{code}/actions/{action}", headers=bearer(token, **JSON_TYPE),
                              body=json.dumps({"version": version, **fields}, ensure_ascii=False).encode())
    assert answer.status_code == 200, answer.body
    return answer


def _report(**fields: str) -> str:
    submission = validate_submission({"phone": unique_phone(), **fields}, load_reference())
    code = intake.submit(submission)["tracking_code"]
    routing.route(code)
    return code


def _age(code: str, when: datetime, watch: bool = True) -> None:
    """Test set-up: the ticket (and its messages) as if last worked on at `when`, and, with `watch`,
    its retention mark where the stopped deadline watch would have put it then."""
    ticket = tickets.get_ticket(code)
    actions = [TicketModel.created_at.set(when - timedelta(days=3)), TicketModel.updated_at.set(when)]
    if ticket.answered_at:
        actions.append(TicketModel.answered_at.set(when))
    if ticket.last_inbound_at:
        actions.append(TicketModel.last_inbound_at.set(when - timedelta(days=3)))
    if watch:
        actions += [TicketModel.watch_shard.set(purge_shard(code)), TicketModel.watch_stage.set("purge"),
                    TicketModel.watch_at.set((when - timedelta(days=3) + timedelta(days=90)).isoformat())]
    ticket.update(actions=actions)
    for message in outbound.of_ticket(code):
        message.update(actions=[OutboundModel.created_at.set(when - timedelta(days=3))])


def _partition(code: str) -> str:
    """Every item of the ticket's partition as stored (a snapshot to compare)."""
    pages = boto3.client("dynamodb").get_paginator("query").paginate(
        TableName=settings().tickets_table, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": ticket_pk(code)}})
    return json.dumps([item for page in pages for item in page["Items"]], sort_keys=True, default=repr)


def _bucket() -> set[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=os.environ["ATTACHMENTS_BUCKET"])
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def _run(now: datetime) -> dict[str, int]:
    return privacy.anonymise_expired(now, per_shard=100)


def test_a_new_ticket_is_watched_for_its_data_and_the_deadline_watch_hands_it_back(
        client: Any, staff: dict[str, str]) -> None:
    code = intake.submit(validate_submission({"description": "Hỏi thủ tục cấp lại CCCD", "phone": unique_phone()},
                                             load_reference()))["tracking_code"]
    made = tickets.get_ticket(code)
    # Born on the retention watch: due when its first message's text is 90 days old
    assert (made.watch_shard, made.watch_stage) == (purge_shard(code), "purge")
    assert datetime.fromisoformat(made.watch_at) == made.created_at + timedelta(days=90)
    _act(client, staff["operator"], code, "categorise", category="thu-tuc-hanh-chinh", area="tan-an")
    assert tickets.get_ticket(code).watch_stage == "warn"  # its deadline is watched now
    _act(client, staff["operator"], code, "resolve", answer="Nộp hồ sơ tại công an xã.")
    assert tickets.get_ticket(code).watch_stage == "purge"  # and back on retention's when answered


def test_the_job_removes_texts_then_photos_then_the_person_each_in_its_time_and_keeps_the_facts(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    op = staff["operator"]
    # Given an answered, published, rated web report with a photo, an SMS report answered, an open
    # ticket nobody touched, a denunciation (kept 60 months) and a held ticket, all last worked on at T0
    photo = _upload(client, jpeg_with_exif(), "image/jpeg")
    page = client.http.post("/", headers=FORM, body=urlencode({
        "description": "Cây đổ chắn lối vào trường, gọi chị Vân 0912 000 333", "phone": unique_phone(),
        "name": "Đào Thị Vân", "category": "giao-thong", "area": "tan-ninh", "consent_publish": "1",
        "confirm_new": "1", "photos": photo}).encode())
    web = page.body.decode().split('id="tracking-code">', 1)[1].split("<", 1)[0]
    routing.route(web)
    _act(client, op, web, "resolve", answer="Kính gửi chị Đào Thị Vân: đã dọn cây.")
    _act(client, op, web, "publish")
    token = tickets.get_ticket(web).survey_token
    assert client.http.post(f"/danh-gia/{web}", headers=FORM, body=urlencode(
        {"t": token, "rating": "5", "comment": "Chị Vân cảm ơn"}).encode()).status_code == 200
    phone = unique_phone()
    assert gateway_post(client, phone, "Nước ngập đường vào ấp 4 xã Bến Cầu").status_code == 200
    pump()
    (sms,) = tickets.by_phone("+84" + phone[1:])
    _act(client, op, sms.tracking_code, "resolve", answer="Đã khơi thông cống.")
    pump()
    untouched = _report(description="Đèn đường ấp 1 phường Long An hỏng", category="chieu-sang", area="long-an")
    denounced = _report(description="Tố cáo cán bộ thu tiền sai quy định", category="tham-nhung-tieu-cuc",
                        area="tan-ninh", name="Hà Văn Tâm")
    _act(client, op, denounced, "resolve", answer="Đã chuyển thanh tra.")
    held = _report(description="Tranh chấp ranh đất ấp 5", category="dat-dai", area="ben-cau", name="Mai Văn Bình")
    _act(client, op, held, "resolve", answer="Đã hoà giải.")
    privacy.set_legal_hold(privacy_user(), held, "Toà án nhân dân huyện đang thụ lý (vụ 45/2019)")
    for code in (web, sms.tracking_code, untouched, denounced, held):
        _age(code, T0)
    photo_key = tickets.get_ticket(web).attachments[0].key
    public_keys = set(tickets.get_ticket(web).photos_public)
    stats = {s.sk: (s.n, s.total) for s in ratings.month_stats(f"{datetime.now(timezone.utc):%Y-%m}")}

    # When the job runs 100 days later: the texts of the messages sent are cleared, nothing else
    _run(T0 + timedelta(days=100))
    for message in outbound.of_ticket(web) + outbound.of_ticket(sms.tracking_code):
        assert message.text == ERASED and message.recipient != ERASED
    assert tickets.get_ticket(web).reporter_name == "Đào Thị Vân" and photo_key in _bucket()

    # 13 months after: the photo and its public copies are gone, the person is still there
    counts = _run(add_months(T0, 13))
    assert counts["photos_removed"] >= 1
    assert photo_key not in _bucket() and not public_keys & _bucket()
    after_photos = tickets.get_ticket(web)
    assert after_photos.attachments in (None, []) and not after_photos.photos_public
    assert after_photos.reporter_name == "Đào Thị Vân"

    # 25 months after: the closed ones are anonymised; the open one (36), the denunciation (60) and
    # the held one are not
    counts = _run(add_months(T0, 25))
    assert counts["anonymised"] >= 2 and counts["kept"] >= 1
    for code in (web, sms.tracking_code):
        ticket = tickets.get_ticket(code)
        assert ticket.anonymised_at is not None and ticket.reporter_phone is None and ticket.watch_shard is None
    gone = tickets.get_ticket(web)
    assert gone.reporter_name is None and "Vân" not in gone.text and "0912 000 333" not in gone.text
    assert "Vân" not in gone.answer and ratings.of_ticket(web).comment is None
    assert (gone.category, gone.area, gone.agency, gone.status, gone.answered_on_time) == (
        "giao-thong", "tan-ninh", tickets.get_ticket(web).agency, "answered", True)
    assert {s.sk: (s.n, s.total) for s in ratings.month_stats(f"{datetime.now(timezone.utc):%Y-%m}")} == stats
    (event,) = [e for e in tickets.timeline(web) if e.kind == "anonymised"]
    assert event.actor == "system:retention" and event.detail["why"] == "retention"
    assert all("Vân" not in json.dumps(e.detail or {}, ensure_ascii=False) + (e.public_text or "")
               for e in tickets.timeline(web))
    for code in (untouched, denounced, held):
        assert tickets.get_ticket(code).anonymised_at is None
    kept = tickets.get_ticket(held)
    assert datetime.fromisoformat(kept.watch_at) == add_months(T0, 25) + timedelta(days=30)  # looked at monthly
    assert privacy.find_person(kept.reporter_phone).tickets[0]["kept_because"].startswith("Tạm giữ theo yêu cầu")

    # Run twice: the second run changes nothing, and anonymising an anonymised ticket again (every
    # step runs once more) finds nothing left to remove
    snapshot = {code: _partition(code) for code in (web, sms.tracking_code, untouched, denounced, held)}
    again = _run(add_months(T0, 25))
    assert again == {"anonymised": 0, "kept": 0, "photos_removed": 0, "texts_cleared": 0, "rescheduled": 0,
                     "enrolled": 0}
    for code in (web, sms.tracking_code):
        redone = privacy.anonymise_ticket(tickets.get_ticket(code), add_months(T0, 26), privacy.SYSTEM, "retention")
        assert redone["reporter_fields"] == [] and not any(
            redone[n] for n in ("events_redacted", "messages_erased", "callbacks_redacted", "photos_deleted",
                                "rating_comment", "followers_removed"))
    assert {code: _partition(code) for code in snapshot} == snapshot

    # 37 months after, the untouched open ticket goes too; 61 months after, the denunciation
    _run(add_months(T0, 37))
    assert tickets.get_ticket(untouched).anonymised_at is not None
    assert tickets.get_ticket(untouched).status == "assigned"  # still open: only the person left it
    assert tickets.get_ticket(denounced).anonymised_at is None
    _run(add_months(T0, 61))
    assert tickets.get_ticket(denounced).anonymised_at is not None
    assert tickets.get_ticket(held).anonymised_at is None  # a hold lasts until a person lifts it


def privacy_user() -> Any:
    from chalicelib.domain.permissions import StaffUser

    return StaffUser("sup", "giamsat@demo.1022.vn", "Giám sát", frozenset({"supervisor"}))


def test_a_category_on_the_hold_list_is_kept_and_comes_back_to_the_schedule_when_taken_off(stack: Any) -> None:
    code = _report(description="Tố cáo sai phạm đất đai ấp 6", category="dat-dai", area="ben-cau", name="Vũ Văn Sơn")
    _age(code, T0)
    document, version = current_document()
    changed = json.loads(json.dumps(document))
    changed["version"] = (version or document["version"]) + 1
    changed.setdefault("retention", {})["legal_hold_categories"] = ["dat-dai"]
    save_reference(changed, version)
    try:
        assert _run(add_months(T0, 30))["kept"] >= 1
        ticket = tickets.get_ticket(code)
        assert ticket.anonymised_at is None and ticket.reporter_name == "Vũ Văn Sơn"
        assert privacy.find_person(ticket.reporter_phone).tickets[0]["kept_because"] == (
            "Lĩnh vực “Đất đai, xây dựng” được lưu giữ theo quy định (danh mục lưu trữ).")
    finally:
        save_reference({**document, "version": changed["version"] + 1}, changed["version"])
    # Off the list: the next look (a month later) applies the schedule again; the ticket, still open and
    # untouched, goes when its 36 months are over
    assert _run(add_months(T0, 31) + timedelta(days=1))["anonymised"] == 0
    assert tickets.get_ticket(code).anonymised_at is None
    assert _run(add_months(T0, 37))["anonymised"] >= 1
    assert tickets.get_ticket(code).anonymised_at is not None


def test_tickets_from_before_the_schedule_are_enrolled_a_page_at_a_time_once(stack: Any) -> None:
    # Given tickets stored before the retention watch existed (closed, on no watch), in mid-2019
    bind()
    month_start = datetime(2019, 6, 1, tzinfo=timezone.utc)
    old = []
    for n in range(5):
        code = f"TN-E{uuid.uuid4().hex[:8].upper()}"
        at = month_start + timedelta(days=n)
        TicketModel(pk=ticket_pk(code), tracking_code=code, channel="web", text="Phản ánh cũ", status="closed",
                    reporter_phone=f"+8491{n}000{uuid.uuid4().int % 1000:03d}", created_at=at, updated_at=at,
                    created_month="2019-06").save()
        old.append(code)
    cursor = cursors.read("retention_enrol")
    cursors.save(cursor, None, T0)  # start the walk afresh, whatever earlier tests left
    # When the job's enrolment walks back from August 2019 two tickets a run until it is done
    now = datetime(2019, 8, 10, tzinfo=timezone.utc)
    enrolled = []
    for _ in range(40):
        enrolled.append(privacy.enrol_existing(now, load_reference().retention, page=2))
        if cursors.read("retention_enrol").value == "done":
            break
    # Then each was enrolled once, due when its first message's text would be 90 days old
    assert sum(enrolled) == 5 and max(enrolled) <= 2 and cursors.read("retention_enrol").value == "done"
    for code in old:
        ticket = tickets.get_ticket(code)
        assert ticket.watch_stage == "purge" and ticket.watch_at == (ticket.created_at + timedelta(days=90)).isoformat()
    assert privacy.enrol_existing(now, load_reference().retention) == 0  # done stays done
    # ... and the job anonymises them when their time comes
    _run(add_months(month_start, 25))
    assert all(tickets.get_ticket(code).anonymised_at is not None for code in old)


@pytest.mark.parametrize("field", ["photos_months", "outbound_text_days"])
def test_a_schedule_keeping_photos_or_texts_longer_than_the_ticket_is_refused(client: Any, staff: dict[str, str],
                                                                           field: str) -> None:
    token = bearer(staff["admin"], **JSON_TYPE)
    current = client.http.get("/api/v1/admin/reference", headers=token).json_body
    bad = json.loads(json.dumps(current["document"]))
    bad["version"] = current["version"] + 1
    bad.setdefault("retention", {})[field] = 2000
    answer = client.http.put("/api/v1/admin/reference", headers={**token, "If-Match": str(current["version"])},
                             body=json.dumps(bad, ensure_ascii=False).encode())
    assert answer.status_code == 400 and f"retention.{field}" in answer.json_body["error"]["fields"]
    assert client.http.get("/api/v1/admin/reference", headers=token).json_body["version"] == current["version"]


def test_an_unreadable_provider_payload_is_kept_only_the_schedules_quarantine_days(client: Any, providers: Any) -> None:
    import time

    from chalicelib.channels import android_gateway
    from devstack.fakes import LOCAL_SECRETS as S

    body = json.dumps({"event": "sms:received", "id": uuid.uuid4().hex, "payload": {
        "message": "Tôi là Ngô Văn Khải 0912 444 555", "phoneNumber": "garbage", "receivedAt": "yesterday"}},
        ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    answer = client.http.post("/webhooks/sms/android-gateway", body=body, headers={
        **JSON_TYPE, "X-Timestamp": stamp, "X-Signature": android_gateway.signature(body, stamp,
                                                                                 S["android_gateway_signing_key"])})
    assert answer.status_code == 400
    (kept,) = [q for q in outbound.quarantined(limit=500) if q.sk == answer.json_body["error"]["quarantine_id"]]
    days = load_reference().retention.quarantine_days
    assert days == 30 and abs(kept.expires_at - kept.received_at - timedelta(days=days)) < timedelta(seconds=1)


def test_a_run_that_stops_halfway_through_a_ticket_is_finished_by_the_next_and_holds_back_nothing(
        client: Any, staff: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.services.schedules import PageIncomplete

    # Given two answered tickets whose time has come, and a failure after the first steps of one
    broken = _report(description="Cột điện nghiêng ấp 7, báo anh Lâm Văn Tùng", category="chieu-sang",
                     area="tan-ninh", name="Lâm Văn Tùng")
    fine = _report(description="Ống nước vỡ ấp 8", category="dien-nuoc", area="tan-ninh", name="Trần Thị Yến")
    for code in (broken, fine):
        _act(client, staff["operator"], code, "resolve", answer="Đã xử lý.")
        _age(code, T0)
    real = privacy._delete_photos

    def failing(ticket: TicketModel) -> int:
        if ticket.tracking_code == broken:
            raise RuntimeError("S3 unavailable")
        return real(ticket)

    monkeypatch.setattr(privacy, "_delete_photos", failing)
    night = add_months(T0, 25)
    # When the night's run meets it
    with pytest.raises(PageIncomplete):
        _run(night)
    # Then the other ticket was anonymised all the same, the broken one is half done and claimed, and
    # its mark moved to the next night, so the runs of this night are not stuck on it
    assert tickets.get_ticket(fine).anonymised_at is not None
    half = tickets.get_ticket(broken)
    assert half.anonymised_at is None and half.anonymising_at is not None and half.reporter_name == "Lâm Văn Tùng"
    assert all("Tùng" not in json.dumps(e.detail or {}, ensure_ascii=False) for e in tickets.timeline(broken))
    assert datetime.fromisoformat(half.watch_at) == night + privacy.RETRY_AFTER
    _run(night + timedelta(minutes=10))  # no PageIncomplete: nothing failed this time
    # ... and nobody can put a hold on what is half removed
    with pytest.raises(ValidationFailed):
        privacy.set_legal_hold(privacy_user(), broken, "Thanh tra yêu cầu")
    # When the next night's run comes (the failure gone), it finishes the ticket
    monkeypatch.setattr(privacy, "_delete_photos", real)
    assert _run(night + timedelta(days=1, minutes=5))["anonymised"] >= 1
    done = tickets.get_ticket(broken)
    assert done.anonymised_at is not None and done.anonymising_at is None and done.reporter_phone is None
    assert "Tùng" not in _partition(broken)
    assert [e.kind for e in tickets.timeline(broken)].count("anonymised") == 1


def test_a_merged_tickets_reporter_leaves_the_original_when_theirs_is_anonymised_first(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    from tests.integration.test_privacy_erasure import _one_time_code

    # Given a report A, a stranger who proved their number and follows A, and A merged into an open
    # ticket B that was then answered (both got B's notice)
    op = staff["operator"]
    phone, stranger = unique_phone(), unique_phone()
    reporter, follower = "+84" + phone[1:], "+84" + stranger[1:]
    first = _report(description="Cầu khỉ ấp 9 xã Tân Ninh gãy, nguy hiểm", category="giao-thong", area="tan-ninh",
                    phone=phone, name="Quách Văn Lộc")
    intake.follow(first, stranger)
    intake.follow_confirmed(first, stranger, _one_time_code(follower, first))
    second = _report(description="Cầu ấp 9 Tân Ninh hư hỏng", category="giao-thong", area="tan-ninh")
    _act(client, op, first, "merge", merged_into=second)
    _act(client, op, second, "resolve", answer="Đã báo huyện sửa cầu.")
    pump()
    # When A's time comes before B's (B still has its whole retention ahead)
    _age(first, T0)
    _run(add_months(T0, 25))
    # Then A is anonymised and its reporter no longer follows B, nor is anything of theirs kept there
    assert tickets.get_ticket(first).anonymised_at is not None
    original = tickets.get_ticket(second)
    assert original.anonymised_at is None and reporter not in [f.recipient for f in original.followers or []]
    assert all(personal not in _partition(code) for personal in (reporter, "Lộc") for code in (first, second))
    left = privacy.find_person(phone)  # only today's rate-limit counter, which lives two days
    assert left.tickets == [] and [r for r in left.records if r["kind"] != "counter"] == []
    # ... while the stranger, who chose to follow, still follows B and is still found there
    assert [f.recipient for f in original.followers] == [follower]
    assert [(t["code"], t["role"]) for t in privacy.find_person(stranger).tickets] == [(second, "follower")]
