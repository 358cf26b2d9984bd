"""The JSON API through the real app (chalice.test.Client) on the emulator."""
from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.config import settings
from chalicelib.store import tickets
from tests.conftest import drain, unique_phone

JSON = {"Content-Type": "application/json"}


def _report(phone: str, **extra: Any) -> dict[str, Any]:
    body = {"description": "Cống thoát nước trước nhà bị tắc, nước tràn lên đường.", "phone": phone,
            "category": "ngap-ung", "area": "tan-ninh", "name": "Lê Thị Hoa", "address": "12 Trần Hưng Đạo"}
    body.update(extra)
    return body


def _post(client: Any, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Any:
    payload = raw if raw is not None else json.dumps(body).encode()
    return client.http.post("/api/v1/reports", headers=headers or JSON, body=payload)


def test_a_report_gets_a_tracking_code_a_stored_ticket_and_a_routing_message(client: Any, sqs: Any) -> None:
    drain(sqs, settings().routing_queue_url)
    phone = unique_phone()
    response = _post(client, _report(phone))
    assert response.status_code == 201
    receipt = response.json_body
    assert receipt["status"] == "received" and receipt["tracking_code"].startswith("TN-")
    stored = tickets.get_ticket(receipt["tracking_code"])
    assert stored.reporter_phone == "+84" + phone[1:] and stored.channel == "web"
    assert stored.due_at is not None
    assert drain(sqs, settings().routing_queue_url) == [
        {"type": "ticket.created", "tracking_code": receipt["tracking_code"], "notify": []}]


def test_a_retried_submission_with_the_same_key_returns_the_first_answer(client: Any) -> None:
    phone = unique_phone()
    headers = {**JSON, "Idempotency-Key": f"retry-{phone}"}
    first = _post(client, _report(phone), headers)
    again = _post(client, _report(phone), headers)
    assert first.status_code == again.status_code == 201
    # the same receipt; its status link is drawn afresh (the stored receipt holds none)
    assert {**again.json_body, "status_url": None} == {**first.json_body, "status_url": None}
    assert len(tickets.by_phone("+84" + phone[1:])) == 1


def test_the_same_key_for_a_different_report_is_refused(client: Any) -> None:
    phone = unique_phone()
    headers = {**JSON, "Idempotency-Key": f"reuse-{phone}"}
    assert _post(client, _report(phone), headers).status_code == 201
    second = _post(client, _report(phone, description="Một việc hoàn toàn khác"), headers)
    assert second.status_code == 422
    assert "Idempotency-Key" in second.json_body["error"]["message"]
    assert len(tickets.by_phone("+84" + phone[1:])) == 1


@pytest.mark.parametrize("case,headers,raw,fields", [
    ("invalid json", JSON, b'{"description": "x",', {"body"}),
    ("not an object", JSON, b'["a", "b"]', {"body"}),
    ("wrong content type", {"Content-Type": "text/plain"}, b'{"description": "x"}', {"content_type"}),
    ("no description", JSON, None, {"description"}),
    ("too long", JSON, None, {"description"}),
    ("bad phone", JSON, None, {"phone"}),
    ("unknown category and area", JSON, None, {"category", "area"}),
])
def test_bad_input_is_a_400_naming_each_field_and_nothing_is_written(
        client: Any, sqs: Any, case: str, headers: dict[str, str], raw: bytes | None, fields: set[str]) -> None:
    drain(sqs, settings().routing_queue_url)
    phone = unique_phone()
    body = _report(phone)
    if case == "no description":
        body.pop("description")
    elif case == "too long":
        body["description"] = "ngập " * 1001
    elif case == "bad phone":
        body["phone"] = "090-CALL-ME"
    elif case == "unknown category and area":
        body.update(category="bay-bay", area="sao-hoa")
    response = _post(client, body, headers, raw)
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "validation_failed" and set(error["fields"]) == fields
    assert all(f["message"] and f["message_en"] for f in error["fields"].values())
    assert tickets.by_phone("+84" + phone[1:]) == []
    assert drain(sqs, settings().routing_queue_url) == []


def test_status_needs_the_last_four_digits_and_never_tells_if_a_code_exists(client: Any) -> None:
    phone = unique_phone()
    code = _post(client, _report(phone)).json_body["tracking_code"]
    ok = client.http.get(f"/api/v1/reports/{code}?phone_last4={phone[-4:]}")
    assert ok.status_code == 200
    assert ok.json_body["tracking_code"] == code and ok.json_body["status_label"]
    assert ok.json_body["timeline"][0]["text"] == "Đã tiếp nhận phản ánh."
    # no personal data in the citizen's view either
    text = json.dumps(ok.json_body, ensure_ascii=False)
    assert phone[-8:] not in text and "Lê Thị Hoa" not in text and "Trần Hưng Đạo" not in text

    wrong_digits = (phone[-4:-1] + str((int(phone[-1]) + 1) % 10))
    unknown = client.http.get(f"/api/v1/reports/TN-ZZZZZZ?phone_last4={phone[-4:]}")
    for other in (client.http.get(f"/api/v1/reports/{code}?phone_last4={wrong_digits}"),
                  client.http.get(f"/api/v1/reports/{code}"),
                  client.http.get(f"/api/v1/reports/not-a-code?phone_last4={phone[-4:]}")):
        assert other.status_code == unknown.status_code == 404
        assert other.body == unknown.body


def test_an_unexpected_error_is_a_500_with_a_request_id_and_no_personal_data_in_logs(
        client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tickets, "create_ticket", broken)
    phone = unique_phone()
    response = _post(client, _report(phone, name="Phạm Văn Bí Mật", description="Nội dung riêng tư XYZ"))
    assert response.status_code == 500
    error = response.json_body["error"]
    assert error["code"] == "internal_error" and error["request_id"] in error["message"]
    # every record the app logged, with its structured keys
    logged = caplog.text + " ".join(json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records)
    assert error["request_id"] in logged
    for secret in (phone[1:], phone[-4:] + '"', "Phạm Văn Bí Mật", "Nội dung riêng tư"):
        assert secret not in logged


def test_reference_lists_categories_and_areas(client: Any) -> None:
    body = client.http.get("/api/v1/reference").json_body
    assert {"id": "khac", "name": "Khác"} in body["categories"]
    assert any(a["name"] == "Phường Tân Ninh" for a in body["areas"])
