"""Followers are strangers: following a ticket takes a one-time code sent by SMS to the number that
follows (web form and JSON API), and a follower — or the reporter of a merged ticket — receives the
answer as it would be published (the reporter's name, number and e-mail masked), never verbatim."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.domain.errors import TooManyRequests, ValidationFailed
from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake, routing
from chalicelib.store import outbound, people, tickets
from chalicelib.store.models import OutboundModel
from chalicelib.store.reference import load_reference
from tests.conftest import bearer, unique_phone
from tests.integration.test_channels import pump, sns_sms

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"Content-Type": "application/json"}
_CODE = re.compile(r"Ma xac nhan theo doi phan anh (\S+): (\d{6})")


def e164(phone: str) -> str:
    return "+84" + phone[1:]


def texts_to(providers: Any, phone: str) -> list[str]:
    """Every SMS the number was sent (the emulator's SNS, or a fake provider's outbox)."""
    return sns_sms(e164(phone)) + [m["text"] for m in providers.state.outbox if m["to"] == e164(phone)]


def sent_code(providers: Any, phone: str, code: str) -> str:
    """The one-time code the number's latest verification SMS for ticket `code` carries, as a
    citizen reads it on their phone."""
    pump()
    found = [m.group(2) for text in texts_to(providers, phone) for m in [_CODE.search(text)] if m and m.group(1) == code]
    assert found, f"no verification SMS reached {phone}"
    return found[-1]


def report(description: str, name: str, phone: str, category: str = "ngap-ung", area: str = "long-an") -> str:
    fields = {"description": description, "phone": phone, "name": name, "category": category, "area": area}
    code = intake.submit(validate_submission(fields, load_reference()))["tracking_code"]
    routing.route(code)
    return code


def resolve(client: Any, staff: dict[str, str], code: str, answer: str) -> None:
    token = staff["operator"]
    version = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(token)).json_body["version"]
    done = client.http.post(f"/api/v1/staff/tickets/{code}/actions/resolve", headers=bearer(token, **JSON_TYPE),
                            body=json.dumps({"version": version, "answer": answer}, ensure_ascii=False).encode())
    assert done.status_code == 200, done.body
    pump()


def _kinds(phone: str) -> dict[str, Any]:
    return {marker.kind: marker for marker in people.markers(e164(phone))}


def test_a_stranger_follows_only_with_the_code_sent_to_their_phone_and_never_gets_the_reporters_data(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    # Given a report whose reporter gave her name and number
    reporter, stranger = unique_phone(), unique_phone()
    spelled = f"{reporter[:4]} {reporter[4:7]} {reporter[7:]}"
    code = report("Cống khu phố 3 phường Long An bị tắc, nước tràn vào nhà", "Nguyễn Thị Lan", reporter)
    # When a stranger who knows the code asks to follow it with their own number
    fields = {"code": code, "phone": stranger}
    asked = client.http.post("/theo-doi", headers=FORM, body=urlencode(fields).encode())
    # Then nothing follows yet: the page asks for the code the number just received
    assert asked.status_code == 200 and 'name="otp"' in asked.body.decode() and code in asked.body.decode()
    assert tickets.get_ticket(code).followers is None
    secret = sent_code(providers, stranger, code)
    waiting = _kinds(stranger)["VERIFY"]
    assert waiting.ref == code and secret not in waiting.secret_hash and waiting.attempts == 0
    assert timedelta(minutes=14, seconds=59) < waiting.expires_at - waiting.at <= timedelta(minutes=15)  # TTL: seconds
    # ... a wrong code is refused and counted
    wrong = client.http.post("/theo-doi", headers=FORM, body=urlencode({**fields, "otp": "000000" if secret != "000000"
                                                                        else "111111"}).encode())
    assert wrong.status_code == 400 and "còn 4 lần" in wrong.body.decode()
    assert tickets.get_ticket(code).followers is None
    # ... and the right one makes the follow count, once, with the person marker an erasure finds
    right = client.http.post("/theo-doi", headers=FORM, body=urlencode({**fields, "otp": secret}).encode())
    assert right.status_code == 200 and 'id="followed-code"' in right.body.decode()
    assert [f.recipient for f in tickets.get_ticket(code).followers] == [e164(stranger)]
    markers = _kinds(stranger)
    assert "VERIFY" not in markers and markers["FOLLOW"].ref == code
    # When staff answer the reporter by name, with her number in the text
    answer = (f"Chào chị Nguyễn Thị Lan, UBND phường đã nạo vét cống khu phố 3; cán bộ sẽ gọi lại cho chị "
              f"theo số {spelled} để kiểm tra.")
    resolve(client, staff, code, answer)
    # Then the reporter reads the answer as written, the stranger gets its published form: no name, no number
    status = client.http.get(f"/api/v1/reports/{code}?phone_last4={reporter[-4:]}").json_body
    assert status["answer"] == answer
    (to_stranger,) = [t for t in texts_to(providers, stranger) if t.startswith("Tra loi")]
    assert "nao vet cong khu pho 3" in to_stranger and "[da an]" in to_stranger
    for personal in ("Lan", "Nguyen", reporter[-6:], spelled):
        assert personal not in to_stranger, personal
    sent = [m for m in outbound.of_ticket(code) if m.kind == "answer" and m.recipient == e164(stranger)]
    assert len(sent) == 1 and "Nguyễn" not in sent[0].text


def test_wrong_codes_expiry_and_new_codes(client: Any, providers: Any) -> None:
    from chalicelib.domain.verification import MAX_ATTEMPTS

    reporter, stranger = unique_phone(), unique_phone()
    code = report("Nước ngập sâu đường vào chợ Long An", "Trần Văn Bình", reporter)
    intake.follow(code, stranger)
    secret = sent_code(providers, stranger, code)
    wrong = "000000" if secret != "000000" else "111111"
    with pytest.raises(ValidationFailed) as slip:  # not six digits: told so, not counted
        intake.confirm_follow(code, stranger, secret[:5])
    assert "6 chữ số" in slip.value.errors[0].vi
    for left in range(MAX_ATTEMPTS - 1, 0, -1):
        with pytest.raises(ValidationFailed) as refused:
            intake.confirm_follow(code, stranger, wrong)
        assert f"còn {left} lần" in refused.value.errors[0].vi
    with pytest.raises(ValidationFailed):
        intake.confirm_follow(code, stranger, wrong)
    # Five wrong codes: the right one no longer works either
    with pytest.raises(ValidationFailed) as used_up:
        intake.confirm_follow(code, stranger, secret)
    assert "quá nhiều lần" in used_up.value.errors[0].vi and tickets.get_ticket(code).followers is None
    # A new code starts afresh; a code used after its 15 minutes is refused
    asked_at = datetime.now(timezone.utc)
    intake.follow(code, stranger, now=asked_at)
    fresh = sent_code(providers, stranger, code)
    with pytest.raises(ValidationFailed) as expired:
        intake.confirm_follow(code, stranger, fresh, now=asked_at + timedelta(minutes=15, seconds=1))
    assert "hết hạn" in expired.value.errors[0].vi
    assert intake.confirm_follow(code, stranger, f"{fresh[:3]} {fresh[3:]}", now=asked_at + timedelta(minutes=14)) == code
    assert [f.recipient for f in tickets.get_ticket(code).followers] == [e164(stranger)]


def test_the_reporters_own_number_gets_a_code_like_anyone_and_nothing_changes(providers: Any) -> None:
    # The answer to a follow request never tells whether the number reported (or follows) the ticket
    reporter = unique_phone()
    code = report("Đường ngập ở ấp 4 xã Long An", "Lê Văn Tám", reporter)
    assert intake.follow(code, reporter) == code
    assert intake.confirm_follow(code, reporter, sent_code(providers, reporter, code)) == code
    assert tickets.get_ticket(code).followers is None and "VERIFY" not in _kinds(reporter)


def test_following_by_the_json_api_takes_the_code_too(client: Any, providers: Any) -> None:
    code = report("Cống hộp đường 30/4 Long An bị vỡ", "Phạm Thị Hoa", unique_phone())
    stranger = unique_phone()
    asked = client.http.post(f"/api/v1/reports/{code}/followers", headers=JSON_TYPE,
                             body=json.dumps({"phone": stranger}).encode())
    assert asked.status_code == 202 and asked.json_body == {"tracking_code": code, "following": False,
                                                            "verify_by": "sms", "expires_in": 900, "attempts": 5}
    assert tickets.get_ticket(code).followers is None
    secret = sent_code(providers, stranger, code)
    verify = f"/api/v1/reports/{code}/followers/verify"
    wrong = client.http.post(verify, headers=JSON_TYPE, body=json.dumps({"phone": stranger, "otp": "12"}).encode())
    assert wrong.status_code == 400 and "otp" in wrong.json_body["error"]["fields"]
    other = client.http.post(verify, headers=JSON_TYPE, body=json.dumps({"phone": unique_phone(),
                                                                          "otp": secret}).encode())
    assert other.status_code == 400  # the code proves the number it was sent to, no other
    done = client.http.post(verify, headers=JSON_TYPE, body=json.dumps({"phone": stranger, "otp": secret}).encode())
    assert done.status_code == 201 and done.json_body == {"tracking_code": code, "following": True}
    assert [f.recipient for f in tickets.get_ticket(code).followers] == [e164(stranger)]


def test_the_code_sms_is_kept_like_any_message_outside_a_ticket(providers: Any) -> None:
    from chalicelib.store import outbound as store

    code = report("Ngập nước hẻm 5 Long An", "Võ Thị Mai", unique_phone())
    stranger = unique_phone()
    intake.follow(code, stranger)
    (marker,) = [m for m in people.markers(e164(stranger)) if m.kind == "OUTBOX"]
    pk, sk = marker.ref.split("|")
    message = store.get_outbound(pk, sk)
    assert isinstance(message, OutboundModel) and message.recipient == e164(stranger) and message.tracking_code is None
    assert stranger not in pk and stranger[1:] not in pk  # keys never carry the number
    assert message.expires_at == marker.expires_at
    assert timedelta(days=90, seconds=-1) < message.expires_at - message.created_at <= timedelta(days=90)


def test_follow_requests_keep_their_hourly_limit_per_number(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import settings

    code = report("Ống nước vỡ đường Long An", "Đinh Văn Lộc", unique_phone())
    monkeypatch.setenv("FORM_CAP_PER_PHONE_HOUR", "2")
    settings.cache_clear()
    try:
        stranger = unique_phone()
        for _ in range(2):
            intake.follow(code, stranger)
        with pytest.raises(TooManyRequests):
            intake.follow(code, stranger)
        assert len([m for m in people.markers(e164(stranger)) if m.kind == "OUTBOX"]) == 2  # no third SMS
    finally:
        settings.cache_clear()


def test_the_reporter_of_a_merged_ticket_gets_the_originals_answer_without_its_reporters_data(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    first, second = unique_phone(), unique_phone()
    original = report("Cống thoát nước ấp 2 Long An bị nghẹt", "Hồ Thị Nguyệt", first)
    duplicate = report("Ấp 2 Long An cống nghẹt, nước tràn", "Mai Văn Sáu", second)
    token = staff["operator"]
    version = client.http.get(f"/api/v1/staff/tickets/{duplicate}", headers=bearer(token)).json_body["version"]
    merged = client.http.post(f"/api/v1/staff/tickets/{duplicate}/actions/merge", headers=bearer(token, **JSON_TYPE),
                              body=json.dumps({"version": version, "merged_into": original}).encode())
    assert merged.status_code == 200, merged.body
    answer = f"Kính gửi chị Hồ Thị Nguyệt ({first}): đã thông cống ấp 2."
    resolve(client, staff, original, answer)
    (to_merged,) = [t for t in texts_to(providers, second) if t.startswith("Tra loi")]
    assert "da thong cong ap 2" in to_merged and "Nguyet" not in to_merged and first[-7:] not in to_merged
    assert client.http.get(f"/api/v1/reports/{original}?phone_last4={first[-4:]}").json_body["answer"] == answer
