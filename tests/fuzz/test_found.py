"""The inputs that crashed the app (500) under fuzzing, one test per root cause: each is now a 4xx in
our error shape, nothing is written for a refused request, and a signed but unreadable webhook
payload is kept in quarantine."""
from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fuzz import signing

JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 30_000 + b"]" * 30_000  # under the webhooks' 64 KB size cap, 30 times Python's recursion limit


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The body's `error` object, after checking the status and our error shape (Vietnamese first)."""
    assert response.status_code == status, response.body[:300]
    error = json.loads(response.body)["error"]
    assert {"code", "message", "message_en"} <= set(error) and error["code"] != "internal_error"
    return error


def quarantined(quarantine_id: str) -> Any:
    from chalicelib.store.models import QuarantineModel

    return QuarantineModel.get("QUARANTINE", quarantine_id)


def report(**fields: Any) -> dict[str, Any]:
    return {"description": "Cống thoát nước trước chợ bị tắc", "phone": "0912345678", **fields}


# Root cause 1: JSON bodies parsed with Python's recursive parser, before any bound


def test_a_deeply_nested_report_body_is_refused_as_invalid_json(client: Any) -> None:
    # Given a report body nested 30,000 levels deep (as short as 60 KB)
    response = client.http.post("/api/v1/reports", headers=JSON, body=DEEP)
    # Then it is a 400 naming the body, not a crash
    error = error_of(response, 400)
    assert error["code"] == "validation_failed" and "body" in error["fields"]
    assert "JSON" in error["fields"]["body"]["message"]


def test_a_deeply_nested_zalo_body_is_refused_before_its_signature_is_checked(client: Any, providers: Any) -> None:
    # Given the same nesting posted to the Zalo webhook, whose signature covers a timestamp inside the body
    response = client.http.post("/webhooks/zalo", headers={**JSON, "X-ZEvent-Signature": "mac=00"}, body=DEEP)
    # Then it is refused as unverifiable (401), with nothing parsed deeply and nothing stored
    assert error_of(response, 401)["code"] == "unauthorized"


def test_a_signed_smssync_delivery_report_nested_too_deep_is_quarantined(client: Any, providers: Any) -> None:
    # Given SMSSync's task=sent (its secret is in the query) with a body nested too deep
    signed = signing.smssync_sent(DEEP)
    response = client.http.post(signed.path, headers=signed.headers, body=signed.body)
    # Then it is a 400 malformed_payload and the payload is kept for review
    error = error_of(response, 400)
    assert error["code"] == "malformed_payload" and quarantined(error["quarantine_id"]).provider == "smssync"


def test_a_page_cursor_that_decodes_to_deep_json_is_an_invalid_page(client: Any) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 1200 + b"]" * 1200).decode()
    response = client.http.get("/api/v1/public/answers?" + urlencode({"after": cursor}))
    assert "after" in error_of(response, 400)["fields"]


def test_query_strings_are_bounded_in_count_and_length_on_every_kind_of_route(client: Any) -> None:
    long_value = "x" * 5000
    api = client.http.get("/api/v1/reports/similar?" + urlencode({"category": long_value}))
    assert "category" in error_of(api, 400)["fields"]
    many = client.http.get("/api/v1/public/answers?" + "&".join(f"p{n}=1" for n in range(40)))
    assert "query" in error_of(many, 400)["fields"]
    page = client.http.get("/cong-khai?" + urlencode({"area": long_value}))
    assert page.status_code == 400 and "quá dài" in page.body.decode()
    open311 = client.http.get("/open311/v2/requests.json?" + urlencode({"service_code": long_value}))
    assert open311.status_code == 400 and json.loads(open311.body)[0]["code"] == "service_code"


# Root cause 2: numbers of any size reached float()/int()


def test_a_huge_integer_as_a_coordinate_is_a_field_error(client: Any) -> None:
    body = json.dumps(report()).encode()[:-1] + b', "lat": 1' + b"0" * 400 + b"}"
    response = client.http.post("/api/v1/reports", headers=JSON, body=body)
    assert error_of(response, 400)["code"] == "validation_failed"


@pytest.mark.parametrize("lat", ["1e999", "-1e400", "NaN", "Infinity"])
def test_non_finite_coordinates_are_refused_as_json_or_as_a_coordinate(client: Any, lat: str) -> None:
    body = json.dumps(report()).encode()[:-1] + f', "lat": {lat}}}'.encode()
    assert error_of(client.http.post("/api/v1/reports", headers=JSON, body=body), 400)["code"] == "validation_failed"
    as_text = client.http.post("/api/v1/reports", headers=JSON, body=json.dumps(report(lat=lat)).encode())
    assert "lat" in error_of(as_text, 400)["fields"]


def test_an_upload_of_infinite_size_is_refused(client: Any) -> None:
    response = client.http.post("/api/v1/uploads", headers=JSON, body=b'{"content_type": "image/jpeg", "size": 1e999}')
    assert error_of(response, 400)["code"] == "validation_failed"


# Root cause 3: signed Zalo events whose fields have types the parser did not expect


ODD_ZALO_EVENTS = [
    {"event_name": "user_send_text", "sender": {"id": "u1"}, "message": "chỉ là chuỗi"},
    {"event_name": "user_send_text", "sender": {"id": "u1"}, "message": ["msg_id", "text"]},
    {"event_name": "user_send_image", "sender": {"id": "u1"}, "message": {"msg_id": "m1", "attachments": ["ảnh"]}},
    {"event_name": "user_send_image", "sender": {"id": "u1"},
     "message": {"msg_id": "m1", "attachments": {"type": "image"}}},
    {"event_name": "user_send_location", "sender": {"id": "u1"},
     "message": {"msg_id": "m1", "attachments": [{"type": "location", "payload": "10.1,106.2"}]}},
    {"event_name": "user_send_location", "sender": {"id": "u1"},
     "message": {"msg_id": "m1", "attachments": [{"type": "location", "payload": {
         "coordinates": {"latitude": "1e999", "longitude": "106.2"}}}]}},
    {"event_name": "user_send_location", "sender": {"id": "u1"},
     "message": {"msg_id": "m1", "location": {"latitude": [], "longitude": {}}}},
    {"event_name": "user_send_text", "sender": "u1", "message": {"msg_id": "m1", "text": "x"}},
    {"event_name": "user_send_text", "sender": {"id": {"nested": 1}}, "message": {"msg_id": ["m1"], "text": "x"}},
    {"event_name": "follow", "follower": ["u1"]},
    {"event_name": "user_send_text", "sender": {"id": "u1"}, "message": {"msg_id": "m1", "text": {"vi": "x"}}},
]


@pytest.mark.parametrize("event", ODD_ZALO_EVENTS, ids=range(len(ODD_ZALO_EVENTS)))
def test_a_signed_zalo_event_with_fields_of_unexpected_types_is_quarantined(
        client: Any, providers: Any, event: dict[str, Any]) -> None:
    # Given a correctly signed, fresh event whose fields are not the types Zalo documents
    signed = signing.zalo_event({"app_id": "1022000000000000001", "recipient": {"id": "oa"}, **event})
    # When Zalo delivers it
    response = client.http.post(signed.path, headers=signed.headers, body=signed.body)
    # Then it is a 400 malformed_payload, and the raw body is kept in quarantine for an operator
    error = error_of(response, 400)
    assert error["code"] == "malformed_payload"
    assert quarantined(error["quarantine_id"]).raw == signed.body.decode()


# Root cause 5: a lone surrogate ("\\ud800") is valid JSON but no text; storing it failed as a 503


def test_a_report_whose_text_holds_a_lone_surrogate_is_invalid_json_not_a_busy_service(client: Any) -> None:
    body = json.dumps(report()).encode().replace(b'"description": "', b'"description": "\\ud800 ')
    assert b"\\ud800" in body
    error = error_of(client.http.post("/api/v1/reports", headers=JSON, body=body), 400)
    assert error["fields"]["body"]["message"] == "Dữ liệu JSON không hợp lệ."


def test_a_signed_zalo_message_with_a_lone_surrogate_is_kept_with_a_replacement_character(
        client: Any, providers: Any) -> None:
    from chalicelib.channels import zalo
    from chalicelib.domain.bounds import load_json

    stamp = signing.now_ms()
    raw = json.dumps({"app_id": "1022000000000000001", "event_name": "user_send_text", "timestamp": stamp,
                      "sender": {"id": "u-surrogate"}, "message": {"msg_id": uuid.uuid4().hex,
                                                                   "text": "Đường \ud83d ngập"}}).encode()
    signed = signing.zalo_event(raw, stamp)
    assert b"\\ud83d ng" in signed.body  # json.dumps escapes it as sent
    assert client.http.post(signed.path, headers=signed.headers, body=signed.body).status_code == 200
    message = zalo.parse(load_json(signed.body, lenient=True))
    assert message is not None and message.text == "Đường \ufffd ngập"


@pytest.mark.parametrize("name", [[], {}, ["user_send_text"], 7, None])
def test_a_signed_zalo_event_whose_name_is_not_a_string_is_ignored_as_an_unknown_event(
        client: Any, providers: Any, name: Any) -> None:
    signed = signing.zalo_event({"app_id": "1022000000000000001", "event_name": name, "sender": {"id": "u1"},
                                 "message": {"msg_id": uuid.uuid4().hex, "text": "x"}})
    response = client.http.post(signed.path, headers=signed.headers, body=signed.body)
    assert response.status_code == 200 and json.loads(response.body) == {"ok": True}


# Root cause 4: extreme dates in filters overflowed datetime arithmetic


@pytest.mark.parametrize("query", [{"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "1999-12-31"},
                                   {"to": "2100-01-01", "from": "2099-12-01"}])
def test_public_answers_refuse_dates_out_of_range_in_vietnamese_first(client: Any, query: dict[str, str]) -> None:
    response = client.http.get("/api/v1/public/answers?" + urlencode(query))
    fields = error_of(response, 400)["fields"]
    (name,) = [n for n in query if n in fields]
    assert "Ngày phải từ 01/01/2000 đến 31/12/2099" in fields[name]["message"]
    page = client.http.get("/cong-khai?" + urlencode(query))
    assert page.status_code == 400 and "Ngày phải từ 01/01/2000" in page.body.decode()


@pytest.mark.parametrize("resource", ["requests.json", "servicerequestupdates.json"])
@pytest.mark.parametrize("dates", [
    {"start_date": "0001-01-01T00:00:00+07:00", "end_date": "0001-01-02T00:00:00+07:00"},
    {"start_date": "9999-12-30T00:00:00Z", "end_date": "9999-12-31T23:59:59-12:00"},
    {"end_date": "0001-01-01T00:00:00Z"}])
def test_open311_refuses_dates_out_of_range_with_the_specs_error_list(
        client: Any, resource: str, dates: dict[str, str]) -> None:
    response = client.http.get(f"/open311/v2/{resource}?" + urlencode(dates))
    assert response.status_code == 400
    (error,) = json.loads(response.body)
    assert error["code"] in dates and "2000-01-01" in error["description"]


def test_a_refused_report_writes_nothing(client: Any) -> None:
    # Given a well-formed report with a unique phone, refused only for its huge coordinate
    phone = "091" + str(uuid.uuid4().int)[:7]
    body = json.dumps(report(phone=phone)).encode()[:-1] + b', "lon": 1' + b"0" * 400 + b"}"
    assert client.http.post("/api/v1/reports", headers=JSON, body=body).status_code == 400
    # Then no ticket exists for that phone
    from chalicelib.domain.phones import normalise_phone
    from chalicelib.store import tickets

    assert tickets.by_phone(normalise_phone(phone), limit=5) == []
