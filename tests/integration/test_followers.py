"""Followers are strangers: following a ticket takes a one-time code sent by SMS to the number that
follows (web form and JSON API; at most five guesses per code, however many arrive at once), and a
follower — or the reporter of a merged ticket — receives a notice of the status with the hotline, and
the answer only once staff published it: never what staff wrote, even redacted."""
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


def report(description: str, name: str, phone: str, category: str = "ngap-ung", area: str = "long-an",
           **more: str) -> str:
    fields = {"description": description, "phone": phone, "name": name, "category": category, "area": area, **more}
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


def _act(client: Any, token: str, code: str, action: str, **fields: str) -> None:
    version = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(token)).json_body["version"]
    done = client.http.post(f"/api/v1/staff/tickets/{code}/actions/{action}", headers=bearer(token, **JSON_TYPE),
                            body=json.dumps({"version": version, **fields}, ensure_ascii=False).encode())
    assert done.status_code == 200, done.body
    pump()


def _kinds(phone: str) -> dict[str, Any]:
    return {marker.kind: marker for marker in people.markers(e164(phone))}


def test_a_stranger_follows_only_with_the_code_sent_to_their_phone_and_never_gets_the_reporters_data(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    # Given a report whose reporter gave her name and number
    reporter, stranger = unique_phone(), unique_phone()
    spelled = f"{reporter[:4]} {reporter[4:7]} {reporter[7:]}"
    code = report("Cống khu phố 3 phường Long An bị tắc, nước tràn vào nhà", "Nguyễn Thị Lan", reporter,
                  consent_publish="1")
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
    # Then the reporter reads the answer as written; the stranger is told the ticket was answered, and
    # where to ask, and nothing staff wrote: no name, no number, not even the answer's redacted words
    status = client.http.get(f"/api/v1/reports/{code}?phone_last4={reporter[-4:]}").json_body
    assert status["answer"] == answer
    (to_stranger,) = [t for t in texts_to(providers, stranger) if code in t and "theo doi:" in t]
    assert to_stranger.startswith(f"Phan anh {code} ban theo doi: Da tra loi.") and "1022" in to_stranger
    for staff_wrote in ("Lan", "Nguyen", reporter[-6:], spelled, "nao vet", "can bo"):
        assert staff_wrote not in to_stranger, staff_wrote
    sent = [m for m in outbound.of_ticket(code) if m.kind == "answer" and m.recipient == e164(stranger)]
    assert len(sent) == 1 and "nạo vét" not in sent[0].text
    # When staff publish the answer (its redacted form) and the ticket is reopened and answered again,
    # the stranger then gets the published answer with the status
    token = staff["supervisor"]
    _act(client, token, code, "publish", public_answer="UBND phường đã nạo vét cống khu phố 3.")
    _act(client, token, code, "reopen", reason="Người dân báo cống lại tắc")
    resolve(client, staff, code, f"Chào chị Lan, đã nạo vét lại lần hai; gọi {spelled} nếu còn tắc.")
    again = [t for t in texts_to(providers, stranger) if code in t and "theo doi:" in t][-1]
    assert "Tra loi da cong khai: UBND phuong da nao vet cong khu pho 3." in again
    assert "lan hai" not in again and "Lan" not in again and reporter[-6:] not in again


def test_wrong_codes_expiry_and_new_codes(client: Any, providers: Any) -> None:
    from chalicelib.domain.verification import MAX_ATTEMPTS

    reporter, stranger = unique_phone(), unique_phone()
    code = report("Nước ngập sâu đường vào chợ Long An", "Trần Văn Bình", reporter)
    intake.follow(code, stranger)
    secret = sent_code(providers, stranger, code)
    wrong = "000000" if secret != "000000" else "111111"
    with pytest.raises(ValidationFailed) as slip:  # not six digits: told so, not counted
        intake.follow_confirmed(code, stranger, secret[:5])
    assert "6 chữ số" in slip.value.errors[0].vi
    for left in range(MAX_ATTEMPTS - 1, 0, -1):
        with pytest.raises(ValidationFailed) as refused:
            intake.follow_confirmed(code, stranger, wrong)
        assert f"còn {left} lần" in refused.value.errors[0].vi
    with pytest.raises(ValidationFailed):
        intake.follow_confirmed(code, stranger, wrong)
    # Five wrong codes: the right one no longer works either
    with pytest.raises(ValidationFailed) as used_up:
        intake.follow_confirmed(code, stranger, secret)
    assert "quá nhiều lần" in used_up.value.errors[0].vi and tickets.get_ticket(code).followers is None
    # A new code starts afresh; a code used after its 15 minutes is refused
    asked_at = datetime.now(timezone.utc)
    intake.follow(code, stranger, now=asked_at)
    fresh = sent_code(providers, stranger, code)
    with pytest.raises(ValidationFailed) as expired:
        intake.follow_confirmed(code, stranger, fresh, now=asked_at + timedelta(minutes=15, seconds=1))
    assert "hết hạn" in expired.value.errors[0].vi
    assert intake.follow_confirmed(code, stranger, f"{fresh[:3]} {fresh[3:]}",
                                   now=asked_at + timedelta(minutes=14))["tracking_code"] == code
    assert [f.recipient for f in tickets.get_ticket(code).followers] == [e164(stranger)]


def test_the_reporters_own_number_gets_a_code_like_anyone_and_nothing_changes(providers: Any) -> None:
    # The answer to a follow request never tells whether the number reported (or follows) the ticket
    reporter = unique_phone()
    code = report("Đường ngập ở ấp 4 xã Long An", "Lê Văn Tám", reporter)
    assert intake.follow(code, reporter) == code
    assert intake.follow_confirmed(code, reporter, sent_code(providers, reporter, code))["tracking_code"] == code
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
    assert done.status_code == 201 and done.json_body["tracking_code"] == code and done.json_body["following"] is True
    assert "/s/" in done.json_body["status_url"]  # the follower's own status link
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


def test_the_reporter_of_a_merged_ticket_is_told_the_original_was_answered_not_what_staff_wrote(
        client: Any, staff: dict[str, str], providers: Any) -> None:
    first, second = unique_phone(), unique_phone()
    original = report("Cống thoát nước ấp 2 Long An bị nghẹt", "Hồ Thị Nguyệt", first)
    duplicate = report("Ấp 2 Long An cống nghẹt, nước tràn", "Mai Văn Sáu", second)
    token = staff["operator"]
    version = client.http.get(f"/api/v1/staff/tickets/{duplicate}", headers=bearer(token)).json_body["version"]
    merged = client.http.post(f"/api/v1/staff/tickets/{duplicate}/actions/merge", headers=bearer(token, **JSON_TYPE),
                              body=json.dumps({"version": version, "merged_into": original}).encode())
    assert merged.status_code == 200, merged.body
    answer = f"Kính gửi chị Hồ Thị Nguyệt ({first}), số 12 hẻm 4 ấp 2: đã thông cống ấp 2."
    resolve(client, staff, original, answer)
    (to_merged,) = [t for t in texts_to(providers, second) if original in t and "theo doi:" in t]
    assert to_merged.startswith(f"Phan anh {original} ban theo doi: Da tra loi.")
    for staff_wrote in ("Nguyet", first[-7:], "hem 4", "thong cong"):
        assert staff_wrote not in to_merged, staff_wrote
    assert client.http.get(f"/api/v1/reports/{original}?phone_last4={first[-4:]}").json_body["answer"] == answer


def test_twenty_guesses_at_once_on_one_code_get_at_most_five_compared(
        providers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.domain import verification

    code = report("Nắp cống vỡ trước chợ Long An", "Huỳnh Văn Tư", unique_phone())
    stranger = unique_phone()
    intake.follow(code, stranger)
    secret = sent_code(providers, stranger, code)
    wrong = "000000" if secret != "000000" else "111111"
    compared, lock, real = [], threading.Lock(), verification.matches

    def counting(stored: str, guess: str) -> bool:
        with lock:
            compared.append(guess)
        return real(stored, guess)

    monkeypatch.setattr(verification, "matches", counting)

    def guess(_: int) -> str:
        try:
            intake.follow_confirmed(code, stranger, wrong)
        except ValidationFailed as refused:
            return refused.errors[0].vi
        return "followed"

    # When twenty wrong guesses on one code arrive at once (a script racing the counter)
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(guess, range(20)))
    # Then at most five were compared at all, the rest refused as used up, and the code is spent
    assert len(compared) <= verification.MAX_ATTEMPTS and "followed" not in answers
    assert sum("quá nhiều lần" in a for a in answers) >= 20 - verification.MAX_ATTEMPTS
    assert _kinds(stranger)["VERIFY"].attempts == verification.MAX_ATTEMPTS
    with pytest.raises(ValidationFailed) as spent:
        intake.follow_confirmed(code, stranger, secret)
    assert "quá nhiều lần" in spent.value.errors[0].vi and tickets.get_ticket(code).followers is None


def test_code_checks_keep_an_hourly_limit_per_source_address(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.config import settings

    code = report("Cống ấp 5 Long An bốc mùi", "Lý Thị Hạnh", unique_phone())
    address = f"203.0.113.{int(unique_phone()[-2:])}"
    monkeypatch.setenv("FORM_CAP_PER_IP_HOUR", "3")
    settings.cache_clear()
    try:
        for _ in range(3):  # three numbers' codes from one address: each is looked at
            with pytest.raises(ValidationFailed):
                intake.follow_confirmed(code, unique_phone(), "123456", source_ip=address)
        with pytest.raises(TooManyRequests):  # the fourth is refused before any code is read
            intake.follow_confirmed(code, unique_phone(), "123456", source_ip=address)
    finally:
        settings.cache_clear()


def test_the_code_is_masked_in_the_stored_sms_once_sent_and_never_shown_to_the_admin(providers: Any) -> None:
    from chalicelib.domain.permissions import StaffUser
    from chalicelib.services import data_requests

    admin = StaffUser("admin-sub", "quantri@demo.1022.vn", "Quản trị", frozenset({"admin"}))
    code = report("Đèn đường ấp 6 Long An hỏng", "Tôn Thất Minh", unique_phone())
    stranger = unique_phone()
    intake.follow(code, stranger)
    (marker,) = [m for m in people.markers(e164(stranger)) if m.kind == "OUTBOX"]
    waiting = outbound.get_outbound(*marker.ref.split("|"))
    live = _CODE.search(waiting.text)
    assert waiting.state == "pending" and live  # the SMS to send holds the code until it is out
    # An admin who looks the number up (or exports it) before the SMS went sees the code masked
    held = data_requests.search(admin, stranger)
    texts = [r["fields"].get("text", "") for r in held.records if r["kind"] == "outbound"]
    assert texts and all(live.group(2) not in t and "******" in t for t in texts)
    exported = data_requests.export(admin, stranger, "json").body
    assert live.group(2) not in (exported if isinstance(exported, str) else exported.decode())
    # Once sent, the citizen has the code on their phone; the stored SMS keeps it masked
    secret = sent_code(providers, stranger, code)
    kept = outbound.get_outbound(*marker.ref.split("|"))
    assert kept.state == "sent" and secret not in kept.text
    assert kept.text == waiting.text.replace(secret, "******")
    # the code still works: only its hash is used
    assert intake.follow_confirmed(code, stranger, secret)["tracking_code"] == code
