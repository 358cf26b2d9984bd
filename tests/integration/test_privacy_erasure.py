"""Erasure and access on request, on the emulator: an admin finds everything held about a phone
number or a Zalo id and erases it. Afterwards no key prefix and no index of the table, no object in
the bucket and nothing the providers are handed later holds that number, name or id, while the
tickets' anonymous facts still count (statistics, the Open311 listing). Tickets under legal hold
are kept, with the reason."""
from __future__ import annotations

import json
import os
import re
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.permissions import StaffUser
from chalicelib.services import privacy, routing, satisfaction
from chalicelib.store import audit, people, ratings, tickets
from chalicelib.store.reference import load_reference
from devstack.worker import poll_once
from tests.conftest import bearer, unique_phone
from tests.integration.test_channels import gateway_post, pump, zalo_follow, zalo_post
from tests.integration.test_citizen_side import _upload, jpeg_with_exif

import app

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}
VN = timezone(timedelta(hours=7))
ADMIN = StaffUser("admin-sub", "quantri@demo.1022.vn", "Quản trị", frozenset({"admin"}))
SUPERVISOR = StaffUser("sup-sub", "giamsat@demo.1022.vn", "Giám sát", frozenset({"supervisor"}))
OPERATOR = StaffUser("op-sub", "tongdai@demo.1022.vn", "Tổng đài", frozenset({"operator"}))
# The table's indexes and their partition keys (infra/resources.json).
INDEXES = {"by_agency_due": "agency_open", "by_status_due": "status", "by_phone": "reporter_phone",
           "by_zalo": "reporter_zalo_id", "by_watch": "watch_shard", "by_open": "open_queue",
           "by_public": "public_shard", "by_place": "place_open", "by_update": "update_day",
           "by_month": "created_month"}


# Reading the table as an inspector would: raw items, every page, by key and by index


def _raw(pk_name: str, value: str, index: str | None = None) -> list[dict[str, Any]]:
    pages = boto3.client("dynamodb").get_paginator("query").paginate(
        TableName=settings().tickets_table, KeyConditionExpression="#k = :v",
        ExpressionAttributeNames={"#k": pk_name}, ExpressionAttributeValues={":v": {"S": value}},
        **({"IndexName": index} if index else {}))
    return [item for page in pages for item in page["Items"]]


def _held(partitions: Iterable[str], indexes: dict[str, Iterable[str]]) -> str:
    """Every item of these table partitions and index partitions, as one text to search."""
    items = [item for pk in partitions for item in _raw("pk", pk)]
    items += [item for index, values in indexes.items() for value in values
              for item in _raw(INDEXES[index], value, index)]
    return json.dumps(items, ensure_ascii=False, default=_readable)


def _readable(value: Any) -> str:
    """A binary attribute as its text: an e-mail's HTML is stored zlib-compressed."""
    try:
        return zlib.decompress(value).decode("utf-8")
    except (zlib.error, TypeError, UnicodeDecodeError):
        return repr(value)


def _bucket_keys() -> list[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=os.environ["ATTACHMENTS_BUCKET"])
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _staff_act(client: Any, token: str, code: str, action: str, **fields: Any) -> Any:
    version = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(token)).json_body["version"]
    return client.http.post(f"/api/v1/staff/tickets/{code}/actions/{action}", headers=bearer(token, **JSON_TYPE),
                            body=json.dumps({"version": version, **fields}, ensure_ascii=False).encode())


def _code(html: str) -> str:
    found = re.search(r'id="tracking-code">([^<]+)<', html)
    assert found, html
    return found.group(1)


def _pump_all_but_notifications() -> None:
    """Runs the inbound and routing consumers only: what they queue for the notifier stays queued."""
    for _ in range(10):
        if not (poll_once(app.handle_inbound, "handle_inbound", settings().inbound_queue_url, 10, wait_s=0)
                + poll_once(app.route_tickets, "route_tickets", settings().routing_queue_url, 10, wait_s=0)):
            return


def _counter_keys(phone: str, now: datetime, texts: Iterable[str] = (), sources: Iterable[str] = ()) -> list[str]:
    """Every rate-limit counter the person could be named in, by key as each writer names it: the
    hourly auto-reply cap, form and follow counters of the last day, the daily REPEAT counters of
    the `texts` they sent, and the daily status-lookup counters of the `sources` they looked from."""
    import hashlib

    from chalicelib.domain.text import fold
    from chalicelib.services.lookup import source_key

    digest = hashlib.sha256(phone.encode()).hexdigest()[:20]
    hours = [now - timedelta(hours=n) for n in range(25)]
    days = {f"{moment:%Y%m%d}" for moment in (now, now - timedelta(days=1), now.astimezone(VN))}
    keys = [f"RATE#{name}#{hour:%Y%m%d%H}" for hour in hours
            for name in (f"AUTO#{people.person_digest(phone)}", f"FORM#PHONE#{digest}", f"FOLLOW#{digest}")]
    keys += [f"RATE#REPEAT#{hashlib.sha256((phone + '#' + fold(text)).encode()).hexdigest()[:20]}#{day}"
             for text in texts for day in days]
    return keys + [f"RATE#LOOKUP#SRC#{source_key(source)}#{day}" for source in sources for day in days]


def _audit_text(now: datetime) -> str:
    return json.dumps(_raw("pk", f"AUDIT#{now:%Y-%m}"), ensure_ascii=False)


def _no_digest_of(value: str, text: str) -> None:
    """The audit trail names nobody, not even by the digests keys use (a brute-forceable pseudonym)."""
    import hashlib

    for digest in (people.person_digest(value), hashlib.sha256(value.encode()).hexdigest()[:20]):
        assert digest not in text


def test_an_admin_finds_everything_held_about_a_phone_and_erases_it_leaving_only_anonymous_facts(
        client: Any, staff: dict[str, str], providers: Any, stack: Any) -> None:
    # Given a citizen who reported on the web (name, e-mail, address, location, a photo, consent to
    # publish: answered, published, rated with a comment), by SMS twice (one ticket merged into a
    # neighbour's, so they follow it; one with a callback promised and a reply still waiting to go out)
    op = staff["operator"]
    phone = unique_phone()
    e164 = "+84" + phone[1:]
    name, email = "Lê Thị Hồng Nhung", f"nhung.{uuid.uuid4().hex[:6]}@gmail.com"
    started = datetime.now(timezone.utc)
    photo = _upload(client, jpeg_with_exif(), "image/jpeg")
    page = client.http.post("/", headers=FORM, body=urlencode({
        "description": f"Rác thải đổ trộm cạnh nhà tôi ở ấp 3, liên hệ chị Nhung {phone}", "phone": phone,
        "name": name, "email": email, "address": "Số 7 hẻm 12 ấp 3", "lat": "11.3101", "lon": "106.0987",
        "category": "moi-truong", "area": "ben-cau", "consent_publish": "1", "confirm_new": "1",
        "photos": photo}).encode())
    web = _code(page.body.decode())
    routing.route(web)
    assert _staff_act(client, op, web, "resolve", answer=f"Kính gửi chị {name}: xã đã thu gom.").status_code == 200
    assert _staff_act(client, op, web, "publish").status_code == 200
    token = tickets.get_ticket(web).survey_token
    assert client.http.post(f"/danh-gia/{web}", headers=FORM, body=urlencode(
        {"t": token, "rating": "4", "comment": f"Cảm ơn, {name} rất hài lòng"}).encode()).status_code == 200
    neighbour = tickets.get_ticket(_code(client.http.post("/", headers=FORM, body=urlencode({
        "description": "Đèn đường ấp 3 Bến Cầu hỏng", "phone": unique_phone(), "confirm_new": "1",
        "category": "chieu-sang", "area": "ben-cau"}).encode()).body.decode()))
    routing.route(neighbour.tracking_code)
    envelopes = [uuid.uuid4().hex, uuid.uuid4().hex]
    sms_texts = ["Đèn đường ấp 3 xã Bến Cầu không sáng", f"Tôi là {name}, hỏi về hồ sơ đất của tôi"]
    assert gateway_post(client, phone, sms_texts[0], envelope_id=envelopes[0]).status_code == 200
    pump()
    merged = next(t for t in tickets.by_phone(e164) if t.channel == "sms").tracking_code
    assert _staff_act(client, op, merged, "merge", merged_into=neighbour.tracking_code).status_code == 200
    assert _staff_act(client, op, neighbour.tracking_code, "resolve", answer="Đã thay bóng đèn.").status_code == 200
    pump()
    assert gateway_post(client, phone, sms_texts[1], envelope_id=envelopes[1]).status_code == 200
    pump()
    asked = next(t.tracking_code for t in tickets.by_phone(e164) if t.tracking_code not in (web, merged))
    due = (datetime.now(VN) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert _staff_act(client, op, asked, "callback", due=due, reason=f"Gọi lại chị {name} số {phone}").status_code == 200
    assert _staff_act(client, op, asked, "reply", text=f"Chào chị {name}, xin gửi bản sao sổ đỏ.",
                      sms="1").status_code == 200  # queued for the notifier, not sent yet
    from chalicelib.services import lookup

    lookup.status_for_citizen(web, phone[-4:], "203.0.113.77")  # they look their report up once
    stats_before = {s.sk: (s.n, s.total) for s in ratings.month_stats(f"{started:%Y-%m}")}
    photo_key = tickets.get_ticket(web).attachments[0].key
    public_keys = list(tickets.get_ticket(web).photos_public)
    assert photo_key in _bucket_keys() and all(k in _bucket_keys() for k in public_keys)

    # When the admin looks the number up (any spelling)
    found = privacy.find_person(f"{phone[:4]} {phone[4:7]} {phone[7:]}")
    # Then they see every ticket with the person's role and every record, as stored
    assert (found.kind, found.value) == ("phone", e164)
    roles = {t["code"]: t["role"] for t in found.tickets}
    assert roles == {web: "reporter", merged: "reporter", asked: "reporter", neighbour.tracking_code: "follower"}
    kinds = {r["kind"] for r in found.records}
    assert {"ticket", "body", "event", "outbound", "callback", "rating", "counter"} <= kinds
    shown = json.dumps([r["fields"] for r in found.records], ensure_ascii=False, default=str)
    assert name in shown and e164 in shown and email in shown and "Cảm ơn" in shown
    # ... and nobody else's: not the neighbour they follow, not the agency's mailbox
    agency_email = load_reference().agencies[tickets.get_ticket(web).agency].email
    assert neighbour.reporter_phone not in shown and agency_email and agency_email not in shown

    # (the counters, dedup markers and lookup counter the inspector will read by key were there)
    from chalicelib.store.models import dedup_pk

    counters = _counter_keys(e164, datetime.now(timezone.utc), sms_texts, ["203.0.113.77"])
    dedups = [dedup_pk(f"in#android_gateway#{envelope}:m1") for envelope in envelopes]
    assert {r["key"].split("|")[0] for r in found.records if r["kind"] == "counter"} <= set(counters)
    present = {key.split("#")[1] for key in counters if _raw("pk", key)}
    assert {"AUTO", "REPEAT", "LOOKUP"} <= present and all(_raw("pk", key) for key in dedups)

    # When they erase it, with the request's requester, reason and approver
    report = privacy.erase_person(phone, requester="Lê Thị Hồng Nhung (đơn ngày 30/11)", reason="Yêu cầu xoá dữ liệu",
                                  approver="Phó giám đốc Sở", actor=ADMIN.actor, now=datetime.now(timezone.utc))
    # Then every ticket of theirs is anonymised, they no longer follow the neighbour's, nothing is kept
    assert sorted(report.anonymised) == sorted([web, merged, asked]) and report.kept == []
    assert report.unfollowed == [neighbour.tracking_code] and report.counters_deleted >= 2
    # ... the reply that was still waiting never reaches the provider
    sent_before = len(providers.state.outbox)
    pump()
    later = json.dumps(providers.state.outbox[sent_before:], ensure_ascii=False)
    assert phone[1:] not in later and name not in later
    # ... and no key prefix, no index of the table holds the number, the name or the e-mail: read by
    # key as an inspector would (never a Scan) — the tickets, the person's markers, every counter that
    # could be named after them, the dedup markers of their messages, quarantine, the audit trail
    codes = [web, merged, asked, neighbour.tracking_code]
    today = datetime.now(timezone.utc).date().isoformat()
    agencies = {tickets.get_ticket(c).agency for c in codes} - {None}
    statuses = {tickets.get_ticket(c).status for c in codes}
    text = _held(
        [f"TICKET#{c}" for c in codes] + [people.person_pk(e164), f"AUDIT#{datetime.now(timezone.utc):%Y-%m}",
                                          "STATS", "QUARANTINE", *dedups] + counters,
        {"by_phone": [e164], "by_zalo": [e164], "by_month": [f"{started:%Y-%m}", f"{datetime.now(timezone.utc):%Y-%m}"],
         "by_place": ["moi-truong#ben-cau", "chieu-sang#ben-cau"], "by_update": [today], "by_public": ["PUB"],
         "by_open": ["OPEN"], "by_agency_due": agencies, "by_watch": [f"{s}#{n}" for s in "PW" for n in range(4)],
         "by_status_due": {*statuses, "out#pending", "cb#open", "cb#soon", "cb#reminded"}})
    for personal in (e164, phone, phone[1:], name, "Hồng Nhung", "Hong Nhung", email, "hẻm 12", "11.3101", "106.0987"):
        assert personal not in text, (personal, text[max(0, text.find(personal) - 600):text.find(personal) + 100])
    # ... nor the bucket: the photo and its public copies are gone
    kept_keys = _bucket_keys()
    assert photo_key not in kept_keys and not set(public_keys) & set(kept_keys)
    # ... while the anonymous facts still count: the rating's score, the Open311 listing, the timeline's facts
    assert {s.sk: (s.n, s.total) for s in ratings.month_stats(f"{started:%Y-%m}")} == stats_before
    assert ratings.of_ticket(web).rating == 4 and ratings.of_ticket(web).comment is None
    assert satisfaction.statistics(f"{started:%Y-%m}")["ratings"] >= 1
    listed = client.http.get(f"/open311/v2/requests/{web}.json").json_body
    assert listed[0]["service_request_id"] == web and listed[0]["status"] == "closed"
    anonymised = tickets.get_ticket(web)
    assert anonymised.anonymised_at and (anonymised.category, anonymised.area, anonymised.channel) == (
        "moi-truong", "ben-cau", "web") and anonymised.answered_on_time is True
    (event,) = [e for e in tickets.timeline(web) if e.kind == "anonymised"]
    assert event.detail["why"] == "request" and "reporter_phone" in event.detail["reporter_fields"]
    assert event.detail["photos_deleted"] == 1 + len(public_keys) and event.detail["rating_comment"] is True
    # ... the erasure is in the admins' audit trail, begun before anything was removed and done after,
    # with the request and the codes: without the number, the name, or any digest of the number
    now = datetime.now(timezone.utc)
    trail, _ = audit.search(now - timedelta(hours=1), now + timedelta(minutes=1), kinds=frozenset(
        {"personal_data_erased", "personal_data_erasure_started"}), limit=1000)
    (record,) = [e for e in trail if e.kind == "personal_data_erased" and sorted(e.detail["anonymised"]) == sorted(
        codes[:3])]
    (begun,) = [e for e in trail if e.kind == "personal_data_erasure_started" and sorted(e.detail["tickets"]) == sorted(
        codes[:3])]
    assert begun.at < record.at and record.detail["remaining"] == 0
    assert record.detail["approver"] == "Phó giám đốc Sở" and "Nhung" not in record.detail["requester"]
    assert "person" not in record.detail and "person" not in begun.detail
    _no_digest_of(e164, _audit_text(datetime.now(timezone.utc)))
    # ... and looking the number up again finds nothing; erasing again changes nothing
    again = privacy.find_person(phone)
    assert again.tickets == [] and again.records == []
    second = privacy.erase_person(phone, requester="x", reason="x", approver="x", actor=ADMIN.actor,
                                  now=datetime.now(timezone.utc))
    assert (second.anonymised, second.unfollowed, second.kept, second.counters_deleted) == ([], [], [], 0)


def test_a_zalo_user_is_found_and_erased_with_the_welcome_sent_to_them(client: Any, providers: Any) -> None:
    # Given a Zalo user who followed the OA (a welcome with no ticket) and then reported
    user = f"z{uuid.uuid4().int % 10**12}"
    stamp = zalo_follow(client, user)
    assert zalo_post(client, user, "Cống thoát nước trước chợ Tân Ninh bị tắc, tôi là Trịnh Văn Quý").status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(user)
    # When the admin looks the id up, they see the ticket, the acknowledgement and the welcome
    found = privacy.find_person(user)
    assert found.kind == "zalo" and [t["code"] for t in found.tickets] == [ticket.tracking_code]
    sent = [r for r in found.records if r["kind"] == "outbound" and r["fields"]["recipient"] == user]
    assert {r["ticket"] for r in sent} == {ticket.tracking_code, None}  # the ack, and the welcome (no ticket)
    (welcome_key,) = [r["key"] for r in sent if r["ticket"] is None]
    # When they erase it
    # (the person says what they are called: a Zalo reporter's name is nowhere but in what they wrote)
    report = privacy.erase_person(user, requester="Trịnh Văn Quý", reason="Yêu cầu xoá", approver="Giám đốc",
                                  actor=ADMIN.actor, now=datetime.now(timezone.utc), names=["Trịnh Văn Quý"])
    # Then the ticket is anonymised, the welcome and the person's markers are gone, and nothing holds the id
    assert report.anonymised == [ticket.tracking_code] and report.counters_deleted >= 1
    assert report.markers_deleted >= 1
    text = _held([f"TICKET#{ticket.tracking_code}", people.person_pk(user), welcome_key.split("|", 1)[0]],
                 {"by_zalo": [user], "by_month": [f"{ticket.created_at:%Y-%m}"]})
    assert user not in text, text[max(0, text.find(user) - 800):text.find(user) + 100]
    assert "Trịnh Văn Quý" not in text and "Quý" not in text
    assert tickets.by_zalo(user) == [] and privacy.find_person(user).records == []
    # and the follow event's dedup marker (kept 30 days against redelivery) is named by a digest, not the id
    follow_key = f"in#zalo#follow:{user}:{stamp}"
    assert tickets.deduplicated(follow_key) is not None
    assert "Item" not in boto3.client("dynamodb").get_item(
        TableName=settings().tickets_table, Key={"pk": {"S": f"DEDUP#{follow_key}"}, "sk": {"S": "DEDUP"}})


def _one_time_code(phone: str, code: str) -> str:
    """The code the follow's SMS carried (read from the message stored for the notifier)."""
    from chalicelib.store import outbound

    for marker in people.markers(phone):
        if marker.kind == "OUTBOX":
            message = outbound.get_outbound(*marker.ref.split("|", 1))
            if message is not None and code in message.text:
                return re.search(r": (\d{6}) ", message.text).group(1)
    raise AssertionError("no code was sent")


def test_a_stranger_who_followed_a_ticket_is_found_and_erased_without_touching_the_reporter(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake

    # Given a citizen who proved their number and follows someone else's open ticket, got its answer,
    # and asked to follow a second one without giving the code yet
    reporter = unique_phone()
    followed = intake.submit(validate_submission({"description": "Cống ngập khu phố 3 phường Long An", "phone": reporter,
                                                  "name": "Đỗ Thị Mai", "category": "ngap-ung", "area": "long-an"},
                                                 load_reference()))["tracking_code"]
    other = intake.submit(validate_submission({"description": "Cống ngập khu phố 4 phường Long An",
                                               "phone": unique_phone(), "category": "ngap-ung", "area": "long-an"},
                                              load_reference()))["tracking_code"]
    for code in (followed, other):
        routing.route(code)
    stranger = unique_phone()
    e164 = "+84" + stranger[1:]
    intake.follow(followed, stranger)
    intake.follow_confirmed(followed, stranger, _one_time_code(e164, followed))
    intake.follow(other, stranger)
    assert _staff_act(client, staff["operator"], followed, "resolve", answer="Đã nạo vét cống.").status_code == 200
    pump()
    # When the admin looks the stranger's number up: they follow one ticket, nothing of the reporter shows
    found = privacy.find_person(stranger)
    assert [(t["code"], t["role"]) for t in found.tickets] == [(followed, "follower")]
    shown = json.dumps([r["fields"] for r in found.records], ensure_ascii=False, default=str)
    assert {"FOLLOW", "VERIFY", "OUTBOX"} <= {r["fields"].get("kind") for r in found.records if r["kind"] == "marker"}
    assert "Đỗ Thị Mai" not in shown and reporter[1:] not in shown
    codes_sent = [r["key"].split("|", 1)[0] for r in found.records if r["kind"] == "outbound" and r["ticket"] is None]
    assert len(codes_sent) == 2  # the two one-time codes, sent with no ticket
    # When they erase it
    report = privacy.erase_person(stranger, requester="Chủ thuê bao", reason="Yêu cầu xoá", approver="Giám đốc",
                                  actor=ADMIN.actor, now=datetime.now(timezone.utc))
    # Then the stranger no longer follows, their markers, codes' messages and counters are gone,
    # and the reporter's ticket is as it was
    assert report.anonymised == [] and report.unfollowed == [followed] and report.markers_deleted >= 3
    assert report.counters_deleted >= 1
    kept = tickets.get_ticket(followed)
    assert kept.followers in (None, []) and kept.reporter_name == "Đỗ Thị Mai" and kept.anonymised_at is None
    text = _held([f"TICKET#{followed}", f"TICKET#{other}", people.person_pk(e164), *codes_sent], {})
    assert e164 not in text and stranger[1:] not in text
    assert privacy.find_person(stranger).records == []


def test_a_ticket_under_legal_hold_is_kept_with_the_reason_shown(client: Any) -> None:
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake

    phone = unique_phone()
    e164 = "+84" + phone[1:]
    held = intake.submit(validate_submission({"description": "Cán bộ xã nhận tiền khi làm sổ đỏ", "phone": phone,
                                              "name": "Phan Văn Lực", "category": "dat-dai", "area": "ben-cau"},
                                             load_reference()))["tracking_code"]
    free = intake.submit(validate_submission({"description": "Đường ấp 2 xuống cấp", "phone": phone,
                                              "category": "giao-thong", "area": "ben-cau"},
                                             load_reference()))["tracking_code"]
    # Only supervisors and admins hold a ticket, always with a reason
    with pytest.raises(Exception) as refused:
        privacy.set_legal_hold(OPERATOR, held, "Thanh tra tỉnh yêu cầu")
    assert type(refused.value).__name__ == "Forbidden"
    with pytest.raises(ValidationFailed):
        privacy.set_legal_hold(SUPERVISOR, held, "  ")
    privacy.set_legal_hold(SUPERVISOR, held, "Thanh tra tỉnh yêu cầu giữ hồ sơ (CV 12/TTr)")
    assert [t["kept_because"] for t in privacy.find_person(phone).tickets if t["code"] == held] == [
        "Tạm giữ theo yêu cầu: Thanh tra tỉnh yêu cầu giữ hồ sơ (CV 12/TTr)"]
    # ... and they follow someone else's ticket, held too
    neighbours = intake.submit(validate_submission({"description": "Lấn chiếm đất công ấp 2", "phone": unique_phone(),
                                                    "category": "dat-dai", "area": "ben-cau"},
                                                   load_reference()))["tracking_code"]
    intake.follow(neighbours, phone)
    intake.follow_confirmed(neighbours, phone, _one_time_code(e164, neighbours))
    privacy.set_legal_hold(SUPERVISOR, neighbours, "Hồ sơ thanh tra số 7")
    report = privacy.erase_person(phone, requester="Phan Văn Lực", reason="Yêu cầu xoá", approver="Giám đốc",
                                  actor=ADMIN.actor, now=datetime.now(timezone.utc))
    assert report.anonymised == [free] and report.unfollowed == []
    # a hold keeps a ticket whole, its followers too: both are listed as kept, with the reason, and the
    # follow stays findable for the erasure to be run again once the hold is lifted
    assert sorted(report.kept) == sorted([(held, "Tạm giữ theo yêu cầu: Thanh tra tỉnh yêu cầu giữ hồ sơ (CV 12/TTr)"),
                                          (neighbours, "Tạm giữ theo yêu cầu: Hồ sơ thanh tra số 7")])
    assert [f.recipient for f in tickets.get_ticket(neighbours).followers] == [e164]
    assert (neighbours, "follower") in {(t["code"], t["role"]) for t in privacy.find_person(phone).tickets}
    kept = tickets.get_ticket(held)
    assert kept.reporter_phone == e164 and kept.reporter_name == "Phan Văn Lực" and kept.anonymised_at is None
    assert [e.kind for e in tickets.timeline(held)].count("legal_hold_set") == 1
    # Lifting the hold (a person decides) puts the ticket back on the retention watch
    privacy.set_legal_hold(ADMIN, held, None)
    lifted = tickets.get_ticket(held)
    assert lifted.legal_hold is None and lifted.watch_stage in ("purge", "warn")


def test_what_an_admin_types_is_a_phone_or_a_zalo_id_or_refused() -> None:
    assert privacy.person_of("0912 345 678") == ("phone", "+84912345678")
    assert privacy.person_of("+84 912-345-678") == ("phone", "+84912345678")
    assert privacy.person_of("2468458835296117922") == ("zalo", "2468458835296117922")
    for wrong in ("", "0912 345", "0123456789", "a b c", "<script>"):
        with pytest.raises(ValidationFailed):
            privacy.person_of(wrong)
    with pytest.raises(ValidationFailed) as missing:
        privacy.erase_person("0912345678", requester="", reason=" ", approver="", actor="x",
                             now=datetime.now(timezone.utc))
    assert {e.field for e in missing.value.errors} == {"requester", "reason", "approver"}


def test_a_follower_of_a_ticket_merged_into_another_is_found_on_both_and_erased_from_both(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake

    # Given a citizen who proved their number and follows A, and A merged into B, which is answered
    def report(text: str) -> str:
        code = intake.submit(validate_submission({"description": text, "phone": unique_phone(), "category": "ngap-ung",
                                                  "area": "long-an"}, load_reference()))["tracking_code"]
        routing.route(code)
        return code

    first, second = report("Ngập nước trước trường tiểu học Long An"), report("Ngập đường trước trường Long An")
    stranger = unique_phone()
    e164 = "+84" + stranger[1:]
    intake.follow(first, stranger)
    intake.follow_confirmed(first, stranger, _one_time_code(e164, first))
    assert _staff_act(client, staff["operator"], first, "merge", merged_into=second).status_code == 200
    assert _staff_act(client, staff["operator"], second, "resolve", answer="Đã bơm thoát nước.").status_code == 200
    pump()
    from chalicelib.store import outbound

    # B's answer went to them (stored with the ticket they follow by, A)
    assert any(m.recipient == e164 and second in m.text for m in outbound.of_ticket(first))
    # (the merge wrote their follow on B too: found there even once A has lost its people)
    assert {m.ref for m in people.markers(e164) if m.kind == "FOLLOW"} == {first, second}
    # When the admin looks them up, they follow both; when they erase them
    assert {(t["code"], t["role"]) for t in privacy.find_person(stranger).tickets} == {
        (first, "follower"), (second, "follower")}
    report_ = privacy.erase_person(stranger, requester="Chủ thuê bao", reason="Yêu cầu xoá", approver="Giám đốc",
                                   actor=ADMIN.actor, now=datetime.now(timezone.utc))
    # Then they follow neither, nothing sent to them is kept there, and B's answer never goes to them again
    assert sorted(report_.unfollowed) == sorted([first, second]) and report_.kept == []
    assert all(f.recipient != e164 for code in (first, second) for f in tickets.get_ticket(code).followers or [])
    text = _held([f"TICKET#{first}", f"TICKET#{second}", people.person_pk(e164)], {})
    assert e164 not in text and stranger[1:] not in text
    assert privacy.find_person(stranger).records == []


def test_an_erasure_does_a_bounded_number_of_tickets_per_call_and_the_next_call_finishes(client: Any) -> None:
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake

    phone = unique_phone()
    codes = [intake.submit(validate_submission({"description": f"Hỏi thủ tục số {n}", "phone": phone},
                                               load_reference()))["tracking_code"] for n in range(3)]
    first = privacy.erase_person(phone, requester="Chủ thuê bao", reason="Yêu cầu xoá", approver="Giám đốc",
                                 actor=ADMIN.actor, now=datetime.now(timezone.utc), limit=2)
    assert len(first.anonymised) == 2 and first.remaining == 1
    assert len(privacy.find_person(phone).tickets) == 1  # what is left is still found
    second = privacy.erase_person(phone, requester="Chủ thuê bao", reason="Yêu cầu xoá", approver="Giám đốc",
                                  actor=ADMIN.actor, now=datetime.now(timezone.utc), limit=2)
    assert len(second.anonymised) == 1 and second.remaining == 0
    assert sorted(first.anonymised + second.anonymised) == sorted(codes)
    assert all(tickets.get_ticket(code).anonymised_at for code in codes)


def test_an_attachment_only_message_counter_is_found_and_erased(client: Any, providers: Any) -> None:
    import hashlib

    from tests.integration.test_stranger_links import ZALO_IMAGE

    # Given a Zalo user who sent only a photo (counted by its empty text, stored with a placeholder)
    user = f"z{uuid.uuid4().int % 10**12}"
    assert zalo_post(client, user, "", event_name="user_send_image", message={
        "msg_id": uuid.uuid4().hex, "attachments": [{"type": "image", "payload": {"url": ZALO_IMAGE}}]}
                     ).status_code == 200
    pump()
    now = datetime.now(timezone.utc)
    days = {f"{moment:%Y%m%d}" for moment in (now, now.astimezone(VN), now - timedelta(days=1))}
    keys = [f"RATE#REPEAT#{hashlib.sha256((user + '#').encode()).hexdigest()[:20]}#{day}" for day in days]
    assert any(_raw("pk", key) for key in keys)
    # Then the admin sees it, and erasing the user deletes it
    assert {r["key"].split("|")[0] for r in privacy.find_person(user).records if r["kind"] == "counter"} & set(keys)
    privacy.erase_person(user, requester="x", reason="x", approver="y", actor=ADMIN.actor, now=now)
    assert not any(_raw("pk", key) for key in keys)
