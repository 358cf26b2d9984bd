"""The citizen side on the emulator: photos (presigned POST to S3, checks, metadata stripped
before publication), duplicate suggestions and following, the public listing with redaction,
satisfaction surveys, and the abuse limits."""
from __future__ import annotations

import json
import re
import struct
import uuid
import zlib
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from chalicelib.domain.reports import validate_submission
from chalicelib.domain.sms import fits_one_segment
from chalicelib.services import intake, routing
from chalicelib.store import tickets
from chalicelib.store.reference import load_reference
from tests.conftest import bearer, unique_phone
from tests.integration.test_channels import gateway_post, pump
from tests.integration.test_followers import sent_code

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}
GPS = b"GPSLatitude 11.3101 N GPSLongitude 106.0987 E"


SCAN = b"\x12\xff\x00\x34\xff\xd0\x56"


def jpeg_with_exif() -> bytes:
    """A tiny JPEG as phones write them: EXIF with Orientation 6 and GPS, a comment, a scan with a
    stuffed byte and a restart marker, and after the image a trailer with more GPS (an embedded
    preview / maker data)."""
    tiff = (b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0)
            + struct.pack("<I", 0) + GPS)
    exif = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    comment = b"\xff\xfe" + struct.pack(">H", 12) + b"taken here"
    quant = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(64))
    return (b"\xff\xd8" + app1 + comment + quant + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + SCAN + b"\xff\xd9"
            + b"\xff\xd8\xff\xe1 preview " + GPS)


def png_with_text() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"Comment\x00" + GPS)
            + chunk(b"eXIf", GPS) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _upload(client: Any, content: bytes, content_type: str) -> str:
    grant = client.http.post("/api/v1/uploads", headers=JSON_TYPE, body=json.dumps(
        {"content_type": content_type, "size": len(content)}).encode())
    assert grant.status_code == 201, grant.body
    body = grant.json_body
    sent = requests.post(body["url"], data=body["fields"], files={"file": ("photo", content, content_type)}, timeout=10)
    assert sent.status_code in (200, 204), sent.text
    return body["key"]


def _form(client: Any, fields: dict[str, str], **headers: str) -> Any:
    return client.http.post("/", headers={**FORM, **headers}, body=urlencode(fields).encode())


def _code(html: str) -> str:
    return re.search(r'id="tracking-code">([^<]+)<', html).group(1)


# Photos


def test_photos_upload_straight_to_storage_and_ride_with_the_report(client: Any, stack: Any) -> None:
    jpeg, png = _upload(client, jpeg_with_exif(), "image/jpeg"), _upload(client, png_with_text(), "image/png")
    page = _form(client, {"description": "Ổ gà sâu trước chợ, có ảnh", "phone": unique_phone(), "confirm_new": "1",
                          "photos": f"{jpeg},{png}", "lat": "11.31", "lon": "106.1"})
    assert page.status_code == 200, page.body
    ticket = tickets.get_ticket(_code(page.body.decode()))
    # Claimed: copied to keys of the ticket's own, so the upload link can no longer change them.
    assert [a.content_type for a in ticket.attachments] == ["image/jpeg", "image/png"]
    assert all(a.key.startswith("photos/") and a.key not in (jpeg, png) for a in ticket.attachments)
    from chalicelib.store import photos

    assert photos.read(ticket.attachments[0].key) == jpeg_with_exif()
    assert (ticket.lat, ticket.lon) == (11.31, 106.1)
    csp = client.http.get("/").headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1" in csp  # the browser may POST to the bucket, nowhere else


@pytest.mark.parametrize("content_type,size,message", [
    ("application/pdf", 1000, "Chỉ nhận ảnh JPEG, PNG hoặc HEIC."),
    ("image/jpeg", 10 * 1024 * 1024 + 1, "Mỗi ảnh tối đa 10 MB."),
    ("image/gif", 10, "Chỉ nhận ảnh JPEG, PNG hoặc HEIC."),
])
def test_uploads_of_the_wrong_type_or_size_are_refused(client: Any, stack: Any, content_type: str, size: int,
                                                      message: str) -> None:
    response = client.http.post("/api/v1/uploads", headers=JSON_TYPE,
                                body=json.dumps({"content_type": content_type, "size": size}).encode())
    assert response.status_code == 400 and response.json_body["error"]["fields"]["photos"]["message"] == message


def test_a_fake_or_missing_photo_is_refused_and_the_rest_of_the_form_is_kept(client: Any, stack: Any) -> None:
    not_an_image = _upload(client, b"%PDF-1.4 not a photo at all", "image/jpeg")
    fields = {"description": "Cây đổ chắn ngang đường", "phone": unique_phone(), "name": "Lâm Văn Tú",
              "confirm_new": "1", "photos": not_an_image}
    page = _form(client, fields)
    html = page.body.decode()
    assert page.status_code == 400 and "Chỉ nhận ảnh JPEG, PNG, HEIC" in html
    assert "Cây đổ chắn ngang đường" in html and 'value="Lâm Văn Tú"' in html
    missing = _form(client, {**fields, "photos": f"uploads/{uuid.uuid4().hex}/photo.jpg"})
    assert missing.status_code == 400 and "chưa tải lên xong" in missing.body.decode()
    forged = _form(client, {**fields, "photos": "../../etc/passwd"})
    assert forged.status_code == 400 and tickets.by_phone("+84" + fields["phone"][1:]) == []


def test_published_photos_lose_their_gps_and_metadata(client: Any, staff: dict[str, str]) -> None:
    from chalicelib.store import photos

    jpeg, png = _upload(client, jpeg_with_exif(), "image/jpeg"), _upload(client, png_with_text(), "image/png")
    fields = {"description": "Nắp cống vỡ trước số 12 đường CMT8, gọi Nguyễn Văn Tư 0912 111 222",
              "phone": unique_phone(), "name": "Nguyễn Văn Tư", "category": "giao-thong", "area": "tan-ninh",
              "consent_publish": "1", "confirm_new": "1", "photos": f"{jpeg},{png}"}
    code = _code(_form(client, fields).body.decode())
    routing.route(code)
    _resolve(client, staff, code, "Đã thay nắp cống mới.")
    assert _act(client, staff, code, "publish").status_code == 200
    ticket = tickets.get_ticket(code)
    assert len(ticket.photos_public) == 2
    clean_jpeg, clean_png = (photos.read(key) for key in ticket.photos_public)
    for clean in (clean_jpeg, clean_png):
        assert GPS not in clean and b"taken here" not in clean and b"preview" not in clean
    # The JPEG keeps its image (tables, the scan with its stuffed byte and restart marker) and only its
    # orientation, so a portrait photo stays upright; nothing follows the end-of-image marker.
    assert clean_jpeg.startswith(b"\xff\xd8\xff\xe1") and clean_jpeg.endswith(SCAN + b"\xff\xd9")
    assert struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) in clean_jpeg and bytes(range(64)) in clean_jpeg
    assert clean_png.startswith(b"\x89PNG") and b"IDAT" in clean_png and b"tEXt" not in clean_png
    assert GPS in photos.read(ticket.attachments[0].key)  # the original stays as sent, for staff only


# Public listing


def _act(client: Any, staff: dict[str, str], code: str, action: str, **fields: str) -> Any:
    version = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(staff["operator"])).json_body["version"]
    return client.http.post(f"/api/v1/staff/tickets/{code}/actions/{action}", headers=bearer(
        staff["operator"], **JSON_TYPE), body=json.dumps({"version": version, **fields}, ensure_ascii=False).encode())


def _resolve(client: Any, staff: dict[str, str], code: str, answer: str) -> None:
    response = _act(client, staff, code, "resolve", answer=answer)
    assert response.status_code == 200, response.body


def _report(description: str, consent: bool = True, name: str = "", phone: str | None = None,
            category: str = "moi-truong", area: str = "ben-cau") -> str:
    fields = {"description": description, "phone": phone or unique_phone(), "name": name, "category": category,
              "area": area, "consent_publish": "1" if consent else ""}
    code = intake.submit(validate_submission(fields, load_reference()))["tracking_code"]
    routing.route(code)
    return code


def test_the_public_listing_shows_only_approved_consented_answers_with_personal_data_masked(
        client: Any, staff: dict[str, str]) -> None:
    text = ("Tôi là Trần Thị Bích Ngọc, nhà ở số 5 hẻm 3. Rác ùn ứ 2 tuần. Gọi tôi 0987 654 321 hoặc "
            "+84 912-345-678, sdt0911222333, email ngoc.tran@gmail.com hay chồng tôi anh Hùng (hung.le@yahoo.com, "
            "0276.3822.123). Chị Ngọc và Tran Thi Bich Ngoc đều là tôi.")
    code = _report(text, name="Trần Thị Bích Ngọc")
    hidden = _report("Rác ven kênh xã Bến Cầu bốc mùi", consent=False)
    pending = _report("Rác ven chợ xã Bến Cầu chưa thu gom")
    _resolve(client, staff, code, "Kính gửi chị Bích Ngọc: UBND xã đã thu gom ngày 28/11.")
    for each in (hidden, pending):
        _resolve(client, staff, each, "UBND xã đã thu gom ngày 28/11.")
    assert _act(client, staff, hidden, "publish").status_code == 400  # no consent, no publication
    assert _act(client, staff, code, "publish").status_code == 200
    page = client.http.get("/api/v1/public/answers?category=moi-truong&area=ben-cau").json_body
    listed = {a["code"]: a for a in page["answers"]}
    assert code in listed and hidden not in listed and pending not in listed
    question = listed[code]["question"]
    for personal in ("Bích Ngọc", "Bich Ngoc", "0987", "654 321", "912-345", "0911", "gmail", "yahoo", "3822", "Ngọc"):
        assert personal not in question, personal
    assert "Rác ùn ứ 2 tuần" in question and "hẻm 3" in question and "]]" not in question
    assert listed[code]["answer"] == "Kính gửi chị [đã ẩn]: UBND xã đã thu gom ngày 28/11."
    assert listed[code]["on_time"] is True
    assert listed[code]["agency"] == "UBND Xã Bến Cầu" and listed[code]["category"] == "Môi trường, rác thải"
    html = client.http.get("/cong-khai?category=moi-truong").body.decode()
    assert code in html and "0987" not in html and "Trần Thị" not in html
    assert code not in json.dumps(client.http.get("/api/v1/public/answers?category=giao-thong").json_body)
    assert client.http.get("/api/v1/public/answers?from=28-11-2026").status_code == 400
    import base64

    forged = base64.urlsafe_b64encode(json.dumps({"pk": {"S": "x"}}).encode()).decode()
    assert client.http.get(f"/cong-khai?after={forged}").status_code == 400
    (request,) = client.http.get(f"/open311/v2/requests/{code}.json").json_body  # published: the redacted texts
    assert request["status_notes"] == listed[code]["answer"] and request["description"] == question
    assert request["address"] is None
    assert _act(client, staff, code, "unpublish").status_code == 200
    assert code not in json.dumps(client.http.get("/api/v1/public/answers?category=moi-truong").json_body)


# Duplicates and following


def test_a_citizen_sees_open_reports_like_theirs_and_follows_one(client: Any, staff: dict[str, str],
                                                                 providers: Any) -> None:
    original = _report("Cống thoát nước khu phố 2 phường Long An bị tắc, gọi 0912 000 111",
                       category="ngap-ung", area="long-an", name="Đỗ Văn Hải")
    phone = unique_phone()
    fields = {"description": "Nước ngập khu phố 2 Long An", "phone": phone, "category": "ngap-ung", "area": "long-an",
              "form_token": uuid.uuid4().hex}
    page = _form(client, fields)
    html = page.body.decode()
    assert page.status_code == 200 and "Có phản ánh tương tự" in html and original in html
    assert "0912 000 111" not in html and "Đỗ Văn Hải" not in html  # public summaries only
    assert tickets.by_phone("+84" + phone[1:]) == []  # nothing filed yet
    similar = client.http.get("/api/v1/reports/similar?category=ngap-ung&area=long-an").json_body["tickets"]
    assert original in [t["code"] for t in similar] and "0912" not in json.dumps(similar)
    asked = client.http.post("/theo-doi", headers=FORM, body=urlencode({**fields, "code": original}).encode())
    assert asked.status_code == 200 and original in asked.body.decode() and 'name="otp"' in asked.body.decode()
    secret = sent_code(providers, phone, original)  # the follow counts once the number proves itself
    confirm = urlencode({"code": original, "phone": phone, "otp": secret}).encode()
    followed = client.http.post("/theo-doi", headers=FORM, body=confirm)
    assert followed.status_code == 200 and original in followed.body.decode()
    again = client.http.post("/theo-doi", headers=FORM, body=confirm)
    assert again.status_code == 400  # the code was used up; following twice changes nothing
    assert [f.recipient for f in tickets.get_ticket(original).followers] == ["+84" + phone[1:]]
    _resolve(client, staff, original, "Đã nạo vét cống khu phố 2.")
    pump()
    view = client.http.get(f"/api/v1/staff/tickets/{original}", headers=bearer(staff["operator"])).json_body
    answers = [m for m in view["timeline"] if m["type"] == "message_out" and m["kind"] == "answer"]
    assert len(answers) == 2 and all(m["delivery"] == "sent" for m in answers)
    # "Send a new one anyway" files it.
    new = _form(client, {**fields, "confirm_new": "1"})
    assert new.status_code == 200 and _code(new.body.decode()).startswith("TN-")


# Satisfaction


def _sent_kinds(client: Any, staff: dict[str, str], code: str) -> list[str]:
    timeline = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(staff["operator"])).json_body["timeline"]
    return [m["kind"] for m in timeline if m["type"] == "message_out"]


def _texts_to(providers: Any, phone: str) -> list[str]:
    return [m["text"] for m in providers.state.outbox if m["to"] == "+84" + phone[1:]]


def test_an_sms_reporter_gets_one_answer_sms_with_the_survey_and_rates_once(client: Any, staff: dict[str, str],
                                                                            providers: Any) -> None:
    phone = unique_phone()
    assert gateway_post(client, phone, "Đèn đường phường Tân Ninh hỏng cả tuần").status_code == 200
    pump()
    (ticket,) = tickets.by_phone("+84" + phone[1:])
    _resolve(client, staff, ticket.tracking_code, "Điện lực đã thay bóng.")
    pump()
    kinds = _sent_kinds(client, staff, ticket.tracking_code)
    assert kinds.count("survey") == 0 and kinds.count("answer") == 1
    # The reporter's whole SMS conversation: the acknowledgement, then one answer carrying the survey prompt.
    ack, answer = _texts_to(providers, phone)
    assert ticket.tracking_code in ack and fits_one_segment(answer)
    assert answer == f"Tra loi phan anh {ticket.tracking_code}: Dien luc da thay bong. Nhan 1-5 de danh gia (5 = rat hai long)."
    message_id = uuid.uuid4().hex
    assert gateway_post(client, phone, " 4 ", envelope_id=message_id).status_code == 200
    assert gateway_post(client, phone, " 4 ", envelope_id=message_id).status_code == 200  # redelivered
    assert gateway_post(client, phone, "5").status_code == 200  # a second rating is not a rating
    pump()
    from chalicelib.store import ratings

    assert ratings.of_ticket(ticket.tracking_code).rating == 4
    assert not [t for t in _texts_to(providers, phone) if "Cam on ban da danh gia" in t]  # no thank-you SMS
    # The later "5" is an ordinary message kept on the answered ticket for staff: no new ticket, no reopening
    assert len(tickets.by_phone("+84" + phone[1:])) == 1
    assert tickets.get_ticket(ticket.tracking_code).status == "answered"
    assert [e for e in tickets.timeline(ticket.tracking_code)
            if e.kind == "message_in" and (e.detail or {}).get("text", "").strip() == "5"]
    stats = client.http.get(f"/api/v1/admin/stats?month={ticket.created_at:%Y-%m}",
                            headers=bearer(staff["supervisor"])).json_body
    assert stats["ratings"] >= 1 and any(c["category"] == ticket.category for c in stats["categories"])
    # Re-answering after a reopen sends no second survey.
    _act(client, staff, ticket.tracking_code, "reopen", reason="Bóng lại hỏng")
    _resolve(client, staff, ticket.tracking_code, "Đã thay bóng lần hai.")
    pump()
    kinds = _sent_kinds(client, staff, ticket.tracking_code)
    assert kinds.count("survey") == 0 and kinds.count("answer") == 2
    assert "danh gia" not in _texts_to(providers, phone)[-1]


def test_a_zalo_reporter_gets_the_survey_and_the_thanks_as_zalo_messages(client: Any, staff: dict[str, str],
                                                                          providers: Any) -> None:
    from tests.integration.test_channels import zalo_post

    user = f"z{uuid.uuid4().int % 10**12}"
    assert zalo_post(client, user, "Đèn đường phường Tân Ninh hỏng cả tuần").status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(user)
    _resolve(client, staff, ticket.tracking_code, "Điện lực đã thay bóng.")
    pump()
    assert zalo_post(client, user, "5").status_code == 200
    pump()
    ack, answer, survey, thanks = [m["text"] for m in providers.state.outbox if m["to"] == user]
    assert "Điện lực đã thay bóng." in answer and "hài lòng" in survey and "(5/5)" in thanks


def test_a_web_reporter_rates_through_the_link_once(client: Any, staff: dict[str, str]) -> None:
    code = _report("Hỏi thủ tục cấp đổi giấy phép lái xe", category="thu-tuc-hanh-chinh", area="tan-an")
    _resolve(client, staff, code, "Nộp hồ sơ tại Bộ phận một cửa.")
    ticket = tickets.get_ticket(code)
    sent = [m for m in client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(staff["operator"])).json_body[
        "timeline"] if m["type"] == "message_out" and m["kind"] != "assigned"]   # to the citizen
    (answer,) = sent                                    # one SMS: the answer, with the survey's link in it
    assert answer["kind"] == "answer" and fits_one_segment(answer["text"])
    assert f"/danh-gia/{code}?t={ticket.survey_token}" in answer["text"]
    assert client.http.get(f"/danh-gia/{code}?t=wrong").status_code == 404
    form = client.http.get(f"/danh-gia/{code}?t={ticket.survey_token}")
    assert form.status_code == 200 and "Rất hài lòng" in form.body.decode()
    assert "Nộp hồ sơ tại Bộ phận một cửa." in form.body.decode()   # the page the link opens shows the answer
    post = {"t": ticket.survey_token, "rating": "5", "comment": "Trả lời nhanh"}
    assert client.http.post(f"/danh-gia/{code}", headers=FORM, body=urlencode({**post, "rating": "9"}).encode()
                            ).status_code == 400
    assert client.http.post(f"/danh-gia/{code}", headers=FORM, body=urlencode(post).encode()).status_code == 200
    assert client.http.post(f"/danh-gia/{code}", headers=FORM, body=urlencode({**post, "rating": "1"}).encode()
                            ).status_code == 409
    from chalicelib.store import ratings

    stored = ratings.of_ticket(code)
    assert (stored.rating, stored.comment) == (5, "Trả lời nhanh")
    assert "5/5" in client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()


def test_the_status_page_shows_the_answer(client: Any, staff: dict[str, str]) -> None:
    phone = unique_phone()
    code = _report("Hỏi giờ làm việc bộ phận một cửa", category="thu-tuc-hanh-chinh", area="tan-an", phone=phone)
    _resolve(client, staff, code, "Từ 7 giờ đến 17 giờ, thứ Hai đến thứ Sáu.")
    html = client.http.get(f"/tra-cuu?code={code}&phone_last4={phone[-4:]}").body.decode()
    assert 'id="answer"' in html and "Từ 7 giờ đến 17 giờ" in html


# Abuse


def test_form_posts_are_limited_per_phone_and_the_input_is_kept(client: Any, stack: Any) -> None:
    from chalicelib.config import settings

    cap = settings().form_cap_per_phone_hour  # the stage's configuration (10 an hour)
    phone = unique_phone()
    fields = {"phone": phone, "confirm_new": "1", "name": "Hà Văn Lặp"}
    for n in range(cap):
        assert _form(client, {**fields, "description": f"Phản ánh {n}"}).status_code == 200
    over = _form(client, {**fields, "description": "Phản ánh thêm"})
    html = over.body.decode()
    assert over.status_code == 429 and "quá nhiều" in html and "Phản ánh thêm" in html and "Hà Văn Lặp" in html
    assert len(tickets.by_phone("+84" + phone[1:], limit=50)) == cap
    api = client.http.post("/api/v1/reports", headers=JSON_TYPE, body=json.dumps(
        {"description": "Phản ánh qua API", "phone": phone}).encode())
    assert api.status_code == 429 and api.json_body["error"]["code"] == "too_many_requests"


def test_the_honeypot_refuses_bots_and_stores_nothing(client: Any, stack: Any) -> None:
    phone = unique_phone()
    page = _form(client, {"description": "Mua bán tài khoản", "phone": phone, "website": "http://spam.example",
                          "confirm_new": "1"})
    assert page.status_code == 400 and tickets.by_phone("+84" + phone[1:]) == []
    html = page.body.decode()
    assert "Biểu mẫu không hợp lệ" in html and "Invalid form" not in html  # Vietnamese only
    assert 'class="trap" aria-hidden="true"' in client.http.get("/").body.decode()


def test_blank_or_twenty_times_repeated_messages_are_held_without_acknowledgement(client: Any, providers: Any,
                                                                                 staff: dict[str, str]) -> None:
    phone = unique_phone()
    assert gateway_post(client, phone, "   ").status_code == 200
    pump()
    (blank,) = tickets.by_phone("+84" + phone[1:])
    assert blank.held and blank.status == "triage"
    other = unique_phone()
    for n in range(21):
        assert gateway_post(client, other, "MOI Trúng thưởng 100 triệu bấm link").status_code == 200
        pump()
    made = tickets.by_phone("+84" + other[1:], limit=50)
    assert len(made) == 21 and sum(1 for t in made if t.held) == 2 and all(
        t.status == "triage" for t in made if t.held)
    for ticket in [blank] + [t for t in made if t.held]:
        view = client.http.get(f"/api/v1/staff/tickets/{ticket.tracking_code}", headers=bearer(staff["operator"]))
        assert not [m for m in view.json_body["timeline"] if m["type"] == "message_out" and m["kind"] == "ack"]
    held = client.http.get("/api/v1/staff/tickets?view=held", headers=bearer(staff["operator"])).json_body["tickets"]
    assert blank.tracking_code in [t["code"] for t in held]


def test_reports_are_limited_per_source_ip(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import settings
    from chalicelib.domain.errors import TooManyRequests

    monkeypatch.setenv("FORM_CAP_PER_IP_HOUR", "2")
    settings.cache_clear()
    try:
        ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
        for n in range(2):
            intake.submit(validate_submission({"description": f"Phản ánh {n}", "phone": unique_phone()},
                                              load_reference()), source_ip=ip)
        phone = unique_phone()
        with pytest.raises(TooManyRequests):
            intake.submit(validate_submission({"description": "Phản ánh 3", "phone": phone}, load_reference()),
                          source_ip=ip)
        assert tickets.by_phone("+84" + phone[1:]) == []  # refused whole: nothing stored
        intake.submit(validate_submission({"description": "Từ mạng khác", "phone": unique_phone()}, load_reference()),
                      source_ip="198.51.100.7")
    finally:
        settings.cache_clear()


def test_confidential_reports_are_never_suggested_or_followed(client: Any, stack: Any) -> None:
    code = _report("Tố giác đường dây cho vay nặng lãi ở ấp 2", category="an-ninh-trat-tu", area="tan-chau")
    assert client.http.get("/api/v1/reports/similar?category=an-ninh-trat-tu&area=tan-chau").json_body == {"tickets": []}
    page = _form(client, {"description": "Cho vay nặng lãi ấp 2", "phone": unique_phone(),
                          "category": "an-ninh-trat-tu", "area": "tan-chau"})
    assert page.status_code == 200 and code not in page.body.decode() and 'id="tracking-code"' in page.body.decode()
    followed = client.http.post(f"/api/v1/reports/{code}/followers", headers=JSON_TYPE,
                                body=json.dumps({"phone": unique_phone()}).encode())
    assert followed.status_code == 400 and tickets.get_ticket(code).followers is None


def test_a_code_can_be_looked_up_only_so_often(client: Any, stack: Any) -> None:
    from chalicelib.services.lookup import LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY

    phone = unique_phone()
    code = _report("Hỏi lịch tiếp công dân", category="khac", area="tan-an", phone=phone)
    for guess in range(LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY):
        assert client.http.get(f"/api/v1/reports/{code}?phone_last4={guess:04d}").status_code in (200, 404)
    assert client.http.get(f"/api/v1/reports/{code}?phone_last4={phone[-4:]}").status_code == 429
    assert client.http.get(f"/tra-cuu?code={code}&phone_last4={phone[-4:]}").status_code == 429
    # The limit is per day, not per hour: later the same day the code is still refused.
    from datetime import datetime, timedelta, timezone

    from chalicelib.domain.errors import TooManyRequests
    from chalicelib.services.lookup import status_for_citizen

    now = datetime.now(timezone.utc)
    other_hour = now + timedelta(minutes=65)
    if other_hour.date() != now.date():
        other_hour = now - timedelta(minutes=65)
    with pytest.raises(TooManyRequests):
        status_for_citizen(code, phone[-4:], "127.0.0.1", now=other_hour)  # the test client's source


def test_a_survey_link_with_a_strange_token_is_just_not_found(client: Any, staff: dict[str, str]) -> None:
    code = _report("Hỏi thủ tục", category="thu-tuc-hanh-chinh", area="tan-an")
    _resolve(client, staff, code, "Đã hướng dẫn.")
    assert client.http.get(f"/danh-gia/{code}?t=%C3%A9%C3%A9").status_code == 404
