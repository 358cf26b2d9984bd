"""The API contract (chalicelib/web/openapi.py): a valid OpenAPI 3.1 document, served at
/api/v1/openapi.json, naming every JSON route of app.py, and true: real responses of every
operation — successes and errors — match the status codes and JSON bodies it documents."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

import app
from tests.conftest import bearer, unique_phone
from tests.integration.test_followers import sent_code
from tests.fuzz import signing

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EXERCISED: set[tuple[str, str]] = set()
# What these tests deliberately never do: a successful PUT of the reference data would change it
# for every other test in the session (its 400 and 409 are exercised).
NOT_EXERCISED = {("/api/v1/admin/reference", "put", "200")}


@pytest.fixture(scope="module")
def document(client: Any) -> dict[str, Any]:
    response = client.http.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


def _validator(document: dict[str, Any], pointer: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource("urn:openapi", Resource.from_contents(document,
                                                                              default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:openapi#{pointer}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def conforms(document: dict[str, Any], path: str, method: str, response: Any) -> Any:
    """Checks `response` against the document's operation (`path` as the document names it): its
    status is documented, and a JSON body validates against that status's schema. Returns the body."""
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path} answered {status}, not documented"
    documented = operation["responses"][status]
    if "$ref" in documented:
        documented = document["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    media = response.headers["Content-Type"].split(";")[0]
    assert media in documented["content"], f"{method.upper()} {path} {status} answered {media}, not documented"
    EXERCISED.add((path, method, status))
    if media != "application/json":
        return response.body.decode()
    body = json.loads(response.body)
    pointer = "/".join(["", "paths", _escape(path), method, "responses", status, "content", _escape(media), "schema"])
    if "$ref" in operation["responses"][status]:
        pointer = "/components/responses/" + operation["responses"][status]["$ref"].rsplit("/", 1)[1] + \
                  "/content/application~1json/schema"
    errors = sorted(_validator(document, pointer).iter_errors(body), key=str)
    assert not errors, f"{method.upper()} {path} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return body


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    validate(document)
    assert document["openapi"].startswith("3.1") and document["servers"] == [
        {"url": "/", "description": "this site (its base path included)"}]
    broken = {**document, "paths": {"/x": {"get": {"responses": {"200": {"content": "text"}}}}}}
    with pytest.raises(OpenAPIValidationError):  # the validator does catch a broken document
        validate(broken)


def test_the_server_follows_the_base_path() -> None:
    from chalicelib.web.openapi import document
    from chalicelib.web.urls import reset_base, url, use_base

    token = use_base("/api")
    try:
        assert document(url("/"))["servers"][0]["url"] == "/api"
    finally:
        reset_base(token)


def test_every_json_route_of_the_app_is_documented(document: dict[str, Any]) -> None:
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    for path, methods in app.app.routes.items():
        if not path.startswith(("/api/", "/webhooks/")):
            continue
        for method in methods:
            # SMSSync GETs only ?task=send; eSMS's POST is the same MO as its GET (documented once)
            if (path, method) in {("/webhooks/sms/esms", "POST")}:
                continue
            assert (path, method.lower()) in documented, f"{method} {path} is not in the OpenAPI document"
    open311 = {path for path in document["paths"] if path.startswith("/open311/v2/")}
    assert open311 == {f"/open311/v2/{name}.json" for name in (
        "discovery", "services", "services/{service_code}", "requests", "requests/{service_request_id}",
        "tokens/{token_id}", "servicerequestupdates")}


# Every operation, called for real: each documented success, and the errors a client meets


@pytest.fixture(scope="module")
def filed(client: Any, document: dict[str, Any]) -> dict[str, str]:
    phone = unique_phone()
    response = client.http.post("/api/v1/reports", headers=JSON, body=json.dumps(
        {"description": "Đèn đường hẻm 5 tắt cả tuần", "phone": phone, "category": "chieu-sang",
         "area": "tan-ninh", "lat": 11.3, "lon": 106.1}).encode())
    receipt = conforms(document, "/api/v1/reports", "post", response)
    return {"code": receipt["tracking_code"], "phone": phone}


def test_the_public_api(client: Any, document: dict[str, Any], filed: dict[str, str], providers: Any) -> None:
    c, code = client.http, filed["code"]
    conforms(document, "/api/v1/openapi.json", "get", c.get("/api/v1/openapi.json"))
    for body in (b'{"phone": "0912345678"}', b"[" * 40 + b"]" * 40, b'{"description": "x", "phone": "1"}'):
        conforms(document, "/api/v1/reports", "post", c.post("/api/v1/reports", headers=JSON, body=body))
    big = json.dumps({"description": "x", "phone": "0912345678", "pad": "a" * 600_000}).encode()
    conforms(document, "/api/v1/reports", "post", c.post("/api/v1/reports", headers=JSON, body=big))
    conforms(document, "/api/v1/reports/similar", "get", c.get("/api/v1/reports/similar?category=chieu-sang&area=tan-ninh"))
    conforms(document, "/api/v1/reports/similar", "get", c.get("/api/v1/reports/similar?area=" + "x" * 3000))
    conforms(document, "/api/v1/kb/suggest", "post", c.post("/api/v1/kb/suggest", headers=JSON,
                                                              body='{"text": "làm căn cước cho con"}'.encode()))
    conforms(document, "/api/v1/kb/suggest", "post", c.post("/api/v1/kb/suggest", headers=JSON, body=b'{"text": 1}'))
    status = f"/api/v1/reports/{code}?phone_last4={filed['phone'][-4:]}"
    assert conforms(document, "/api/v1/reports/{code}", "get", c.get(status))["tracking_code"] == code
    conforms(document, "/api/v1/reports/{code}", "get", c.get(f"/api/v1/reports/{code}?phone_last4=0000"))
    follower = unique_phone()
    follow = c.post(f"/api/v1/reports/{code}/followers", headers=JSON, body=json.dumps({"phone": follower}).encode())
    conforms(document, "/api/v1/reports/{code}/followers", "post", follow)
    conforms(document, "/api/v1/reports/{code}/followers", "post",
             c.post("/api/v1/reports/TN-ZZZZZZ/followers", headers=JSON, body=b'{"phone": "0912345678"}'))
    verify = f"/api/v1/reports/{code}/followers/verify"
    conforms(document, "/api/v1/reports/{code}/followers/verify", "post",
             c.post(verify, headers=JSON, body=json.dumps({"phone": follower, "otp": "x"}).encode()))
    secret = sent_code(providers, follower, code)
    conforms(document, "/api/v1/reports/{code}/followers/verify", "post",
             c.post(verify, headers=JSON, body=json.dumps({"phone": follower, "otp": secret}).encode()))
    conforms(document, "/api/v1/uploads", "post",
             c.post("/api/v1/uploads", headers=JSON, body=b'{"content_type": "image/png", "size": 2048}'))
    conforms(document, "/api/v1/uploads", "post",
             c.post("/api/v1/uploads", headers=JSON, body=b'{"content_type": "text/html", "size": 2048}'))
    conforms(document, "/api/v1/public/answers", "get", c.get("/api/v1/public/answers?from=2026-01-01"))
    conforms(document, "/api/v1/public/answers", "get", c.get("/api/v1/public/answers?from=0001-01-01"))
    conforms(document, "/api/v1/reference", "get", c.get("/api/v1/reference"))


def test_the_staff_and_admin_apis(client: Any, document: dict[str, Any], staff: dict[str, str],
                                  filed: dict[str, str]) -> None:
    c, code = client.http, filed["code"]
    admin, operator = bearer(staff["admin"]), bearer(staff["operator"])
    conforms(document, "/api/v1/staff/me", "get", c.get("/api/v1/staff/me", headers=operator))
    conforms(document, "/api/v1/staff/me", "get", c.get("/api/v1/staff/me"))
    for query in ("", "?view=overdue", f"?q={code}", f"?q={filed['phone']}", "?status=nope"):  # a phone: 400
        conforms(document, "/api/v1/staff/tickets", "get", c.get("/api/v1/staff/tickets" + query, headers=operator))
    ticket = conforms(document, "/api/v1/staff/tickets/{code}", "get", c.get(f"/api/v1/staff/tickets/{code}",
                                                                            headers=operator))
    conforms(document, "/api/v1/staff/tickets/{code}", "get", c.get("/api/v1/staff/tickets/TN-ZZZZZZ",
                                                                    headers=operator))
    action = "/api/v1/staff/tickets/{code}/actions/{action}"
    note = json.dumps({"version": ticket["version"], "text": "Đã gọi lại cho người dân"}).encode()
    conforms(document, action, "post", c.post(f"/api/v1/staff/tickets/{code}/actions/note",
                                              headers={**operator, **JSON}, body=note))
    conforms(document, action, "post", c.post(f"/api/v1/staff/tickets/{code}/actions/note",
                                              headers={**operator, **JSON}, body=note))  # stale version: 409
    conforms(document, "/api/v1/staff/callers", "post", c.post("/api/v1/staff/callers", headers={**operator, **JSON},
                                                              body=json.dumps({"phone": filed["phone"]}).encode()))
    for query in ({"q": "đèn đường hẻm"}, {"q": code}, {"q": filed["phone"]}, {"q": "x"}, {"q": "hẻm", "after": "?"}):
        conforms(document, "/api/v1/staff/search", "post", c.post("/api/v1/staff/search", headers={**operator, **JSON},
                                                                  body=json.dumps(query).encode()))
    intake = json.dumps({"description": "Người dân gọi báo ổ gà", "phone": unique_phone()}).encode()
    conforms(document, "/api/v1/staff/intake", "post", c.post("/api/v1/staff/intake", headers={**operator, **JSON},
                                                              body=intake))
    conforms(document, "/api/v1/admin/reference", "get", c.get("/api/v1/admin/reference", headers=admin))
    conforms(document, "/api/v1/admin/reference", "get", c.get("/api/v1/admin/reference", headers=operator))
    current = c.get("/api/v1/admin/reference", headers=admin).json_body
    conforms(document, "/api/v1/admin/reference", "put", c.put(
        "/api/v1/admin/reference", headers={**admin, **JSON, "If-Match": str(current["version"])},
        body=json.dumps({**current["document"], "categories": "không phải danh sách"}).encode()))
    conforms(document, "/api/v1/admin/reference", "put", c.put(
        "/api/v1/admin/reference", headers={**admin, **JSON, "If-Match": "1"},
        body=json.dumps({**current["document"], "version": current["version"] + 1}).encode()))
    conforms(document, "/api/v1/admin/contacts", "get", c.get("/api/v1/admin/contacts", headers=admin))
    conforms(document, "/api/v1/admin/stats", "get", c.get("/api/v1/admin/stats?month=2026-11", headers=operator))
    conforms(document, "/api/v1/admin/stats", "get", c.get("/api/v1/admin/stats?month=11-2026", headers=operator))
    conforms(document, "/api/v1/admin/quarantine", "get", c.get("/api/v1/admin/quarantine", headers=admin))
    versions = "/api/v1/admin/reference/versions"
    listed = conforms(document, versions, "get", c.get(versions, headers=admin))
    conforms(document, versions, "get", c.get(versions + "?before=x", headers=admin))
    one = versions + "/{number}"
    conforms(document, one, "get", c.get(f"{versions}/{listed['versions'][0]['version']}", headers=admin))
    conforms(document, one, "get", c.get(f"{versions}/999999", headers=admin))
    conforms(document, one, "get", c.get(f"{versions}/1", headers=operator))


def _send(client: Any, signed: signing.Signed) -> Any:
    return client.http.request(signed.method, signed.path, headers=signed.headers, body=signed.body)


def test_the_webhooks(client: Any, document: dict[str, Any], providers: Any) -> None:
    zalo = {"app_id": "1022000000000000001", "event_name": "user_send_text", "sender": {"id": "2468"},
            "recipient": {"id": "3886"}, "message": {"msg_id": uuid.uuid4().hex, "text": "Đường ngập"}}
    conforms(document, "/webhooks/zalo", "post", _send(client, signing.zalo_event(zalo)))
    conforms(document, "/webhooks/zalo", "post", _send(client, signing.zalo_event({**zalo, "message": "?"})))
    conforms(document, "/webhooks/zalo", "post", client.http.post("/webhooks/zalo", headers=JSON, body=b"{}"))
    conforms(document, "/webhooks/zalo", "post", client.http.post("/webhooks/zalo", headers=JSON,
                                                                  body=b"{" * 70_000))
    page = {"object": "page", "entry": [{"id": "1048", "messaging": [{"sender": {"id": "2468"}, "timestamp": 1,
                                                                     "message": {"mid": uuid.uuid4().hex, "text": "Ngập"}}]}]}
    conforms(document, "/webhooks/facebook", "post", _send(client, signing.facebook_event(json.dumps(page).encode())))
    conforms(document, "/webhooks/facebook", "post", client.http.post("/webhooks/facebook", headers=JSON, body=b"{}"))
    handshake = {"hub.mode": "subscribe", "hub.verify_token": "local-facebook-verify-token", "hub.challenge": "42"}
    conforms(document, "/webhooks/facebook", "get", client.http.get("/webhooks/facebook?" + urlencode(handshake)))
    conforms(document, "/webhooks/facebook", "get", client.http.get("/webhooks/facebook?hub.mode=subscribe"))
    gateway = json.dumps({"deviceId": "phone-1", "event": "sms:received", "id": uuid.uuid4().hex, "payload": {
        "messageId": "m1", "message": "Ngập", "phoneNumber": unique_phone(), "simNumber": 1,
        "receivedAt": "2026-11-28T08:00:00.000+07:00"}}).encode()
    conforms(document, "/webhooks/sms/android-gateway", "post", _send(client, signing.android_gateway_event(gateway)))
    message = {"from": unique_phone(), "message": "Ngập", "message_id": uuid.uuid4().hex, "device_id": "phone-2",
               "sent_timestamp": str(int(time.time() * 1000))}
    conforms(document, "/webhooks/sms/smssync", "post", _send(client, signing.smssync_message(message)))
    conforms(document, "/webhooks/sms/smssync", "post",
             _send(client, signing.smssync_sent(b'{"queued_messages": []}')))
    conforms(document, "/webhooks/sms/smssync", "get", client.http.get(
        "/webhooks/sms/smssync?" + urlencode({"task": "send", "secret": "local-smssync-secret"})))
    conforms(document, "/webhooks/sms/smssync", "get", client.http.get("/webhooks/sms/smssync?task=send&secret=x"))
    mo = {"sender": "84" + unique_phone()[1:], "content": "PA ngap", "serviceNumber": "8041", "keyword": "PA",
          "smsid": uuid.uuid4().hex, "receiverTime": time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 7 * 3600))}
    conforms(document, "/webhooks/sms/esms", "get", _send(client, signing.esms_mo(mo)))


@pytest.fixture(scope="module")
def api_key(stack: Any) -> str:
    from chalicelib.domain.permissions import user_from_claims
    from chalicelib.services import open311

    admin = user_from_claims({"sub": "s", "email": "quantri@demo.1022.vn", "cognito:groups": ["admin"]})
    return open311.add_integrator(admin, "Kiểm thử hợp đồng API")["api_key"]


def test_open311_json_forms(client: Any, document: dict[str, Any], api_key: str) -> None:
    c = client.http
    for path in ("/open311/v2/discovery.json", "/open311/v2/services.json"):
        conforms(document, path, "get", c.get(path))
    definition = "/open311/v2/services/{service_code}.json"
    conforms(document, definition, "get", c.get("/open311/v2/services/ngap-ung.json"))
    conforms(document, definition, "get", c.get("/open311/v2/services/khong-co.json"))
    fields = {"api_key": api_key, "service_code": "ngap-ung", "lat": "11.3", "long": "106.1",
              "description": "Nước ngập qua đầu gối"}
    created = conforms(document, "/open311/v2/requests.json", "post",
                       c.post("/open311/v2/requests.json", headers=FORM, body=urlencode(fields).encode()))
    for bad in ({**fields, "api_key": "sai"}, {**fields, "lat": "1e999"}, {**fields, "service_code": "khong-co"}):
        conforms(document, "/open311/v2/requests.json", "post",
                 c.post("/open311/v2/requests.json", headers=FORM, body=urlencode(bad).encode()))
    code = created[0]["service_request_id"]
    conforms(document, "/open311/v2/requests/{service_request_id}.json", "get",
             c.get(f"/open311/v2/requests/{code}.json"))
    conforms(document, "/open311/v2/requests/{service_request_id}.json", "get", c.get("/open311/v2/requests/TN-ZZZZZZ.json"))
    conforms(document, "/open311/v2/tokens/{token_id}.json", "get", c.get(f"/open311/v2/tokens/{code}.json"))
    for query in ({}, {"status": "open", "service_code": "ngap-ung"}, {"start_date": "0001-01-01T00:00:00Z"}):
        conforms(document, "/open311/v2/requests.json", "get", c.get("/open311/v2/requests.json?" + urlencode(query)))
    for query in ({}, {"start_date": "2026-11-01T00:00:00+07:00", "end_date": "2026-11-20T00:00:00+07:00"},
                  {"end_date": "9999-12-31T00:00:00Z"}):
        conforms(document, "/open311/v2/servicerequestupdates.json", "get",
                 c.get("/open311/v2/servicerequestupdates.json?" + urlencode(query)))


def test_the_stringee_webhooks(client: Any, document: dict[str, Any], providers: Any) -> None:
    from chalicelib.channels import stringee
    from devstack.fakes import LOCAL_SECRETS

    secret = LOCAL_SECRETS["stringee_signing_secret"]
    call = f"call-vn-1-{uuid.uuid4().hex[:10].upper()}"
    answer = f"/webhooks/stringee/answer?{urlencode({'from': unique_phone(), 'to': '842763661022', 'uuid': call})}"
    for signature in (stringee.signature(answer, secret), "Zm9yZ2Vk"):
        conforms(document, "/webhooks/stringee/answer", "get",
                 client.http.get(answer, headers={stringee.SIGNATURE_HEADER: signature}))
    next_query = urlencode({"call": call, "try": "1", "t": stringee.query_token(secret, call, "1")})
    voicemail_query = urlencode({"call": call, "kind": "voicemail", "t": stringee.query_token(secret, call, "", "voicemail")})
    posts = {"/webhooks/stringee/next": (f"?{next_query}", {"call_status": "ended", "call_id": call}),
             "/webhooks/stringee/event": ("", {"call_status": "ringing", "call_id": call, "timestamp_ms": 1}),
             "/webhooks/stringee/voicemail": (f"?{voicemail_query}", {"recording_url": "https://r.example/1.wav"})}
    for path, (query, payload) in posts.items():
        body = json.dumps(payload).encode()
        for signature in (stringee.signature(body, secret), None):
            headers = {**JSON, **({stringee.SIGNATURE_HEADER: signature} if signature else {})}
            conforms(document, path, "post", client.http.post(path + query, headers=headers, body=body))
    conforms(document, "/webhooks/stringee/event", "post", client.http.post(
        "/webhooks/stringee/event", headers={**JSON, stringee.SIGNATURE_HEADER: stringee.signature(b"{}", secret)},
        body=b"{}"))


def test_the_personal_data_api(client: Any, document: dict[str, Any], staff: dict[str, str],
                               filed: dict[str, str]) -> None:
    c, person = client.http, json.dumps({"person": filed["phone"]}).encode()
    admin, supervisor, operator = bearer(staff["admin"], **JSON), bearer(staff["supervisor"], **JSON), \
        bearer(staff["operator"], **JSON)
    conforms(document, "/api/v1/admin/people/search", "post",
             c.post("/api/v1/admin/people/search", headers=admin, body=person))
    conforms(document, "/api/v1/admin/people/search", "post",
             c.post("/api/v1/admin/people/search", headers=operator, body=person))
    conforms(document, "/api/v1/admin/people/search", "post",
             c.post("/api/v1/admin/people/search", headers=admin, body=b'{"person": "12"}'))
    for fmt in ("json", "csv", "xlsx"):
        conforms(document, "/api/v1/admin/people/export", "post",
                 c.post(f"/api/v1/admin/people/export?format={fmt}", headers=admin, body=person))
    hold = "/api/v1/staff/tickets/{code}/legal-hold"
    conforms(document, hold, "put", c.put(f"/api/v1/staff/tickets/{filed['code']}/legal-hold", headers=supervisor,
                                          body=b'{"reason": "Thanh tra tinh dang xac minh"}'))
    conforms(document, hold, "put", c.put(f"/api/v1/staff/tickets/{filed['code']}/legal-hold", headers=operator,
                                          body=b'{"reason": "x"}'))
    conforms(document, hold, "put", c.put("/api/v1/staff/tickets/TN-ZZZZZZ/legal-hold", headers=supervisor,
                                          body=b'{"reason": "x"}'))
    conforms(document, hold, "delete", c.delete(f"/api/v1/staff/tickets/{filed['code']}/legal-hold",
                                                headers=supervisor))
    erase = "/api/v1/admin/people/erase"
    conforms(document, erase, "post", c.post(erase, headers=admin, body=person))  # no requester, reason, approver
    conforms(document, erase, "post", c.post(erase, headers=admin, body=json.dumps({
        "person": unique_phone(), "requester": "Chinh chu", "reason": "Don yeu cau", "approver": "Chanh Van phong"}
    ).encode()))


def test_every_documented_success_was_checked_against_a_real_response() -> None:
    """Runs last: the tests above must between them have seen every documented 2xx."""
    from chalicelib.web.openapi import document

    if not {"/api/v1/reports/similar", "/api/v1/staff/me", "/webhooks/zalo", "/open311/v2/services.json"} <= {
            path for path, _, _ in EXERCISED}:
        pytest.skip("needs the whole module")
    doc = document("/")
    successes = {(path, method, status) for path, item in doc["paths"].items() for method, operation in item.items()
                 for status in operation["responses"] if status.startswith("2")}
    missing = successes - EXERCISED - NOT_EXERCISED
    assert not missing, f"documented but never checked against a real response: {sorted(missing)}"
