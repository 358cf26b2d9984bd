"""Open311 GeoReport v2 at /open311/v2/, validated against the official JSON Schemas
(open311/schema-validation, copied into tests/data/open311-schemas)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from tests.conftest import ROOT, bearer, unique_phone

SCHEMAS = ROOT / "tests" / "data" / "open311-schemas"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def _validator(name: str) -> Draft7Validator:
    registry: Registry = Registry()
    for path in SCHEMAS.glob("*.json"):
        registry = registry.with_resource(path.name, Resource.from_contents(
            {**json.loads(path.read_text()), "$schema": "http://json-schema.org/draft-07/schema#"}))
    schema = json.loads((SCHEMAS / name).read_text())
    return Draft7Validator(schema, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)


def _valid(name: str, body: Any) -> Any:
    errors = sorted(_validator(name).iter_errors(body), key=str)
    assert not errors, errors[0]
    return body


@pytest.fixture(scope="module")
def api_key(client: Any, staff: dict[str, str]) -> str:
    from chalicelib.domain.permissions import user_from_claims
    from chalicelib.services import open311

    admin = user_from_claims({"sub": "s", "email": "quantri@demo.1022.vn", "cognito:groups": ["admin"]})
    return open311.add_integrator(admin, "Ứng dụng Tây Ninh Smart")["api_key"]


def _post(client: Any, fields: dict[str, str], fmt: str = "json") -> Any:
    return client.http.post(f"/open311/v2/requests.{fmt}", headers=FORM, body=urlencode(fields).encode())


def test_discovery_and_services_follow_the_schemas(client: Any, stack: Any) -> None:
    discovery = client.http.get("/open311/v2/discovery.json").json_body
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    services = _valid("services.json", client.http.get("/open311/v2/services.json").json_body)
    flood = next(s for s in services if s["service_code"] == "ngap-ung")
    assert flood["group"] == "Sở Xây dựng" and flood["metadata"] is True and "ngap" in flood["keywords"]
    definition = _valid("service-definition.json", client.http.get("/open311/v2/services/ngap-ung.json").json_body)
    assert definition["attributes"][0]["code"] == "area" and {"key": "tan-ninh", "name": "Phường Tân Ninh"} in \
        definition["attributes"][0]["values"]
    xml = client.http.get("/open311/v2/services.xml")
    assert xml.headers["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(xml.body)
    assert root.tag == "services" and root.find("service/service_code") is not None
    missing = client.http.get("/open311/v2/services/khong-co.json")
    assert missing.status_code == 404 and missing.json_body[0]["code"] == "404"
    assert client.http.get("/open311/v2/services.csv").status_code == 404


def test_an_integrator_creates_a_request_and_reads_it_back(client: Any, api_key: str) -> None:
    created = _post(client, {"api_key": api_key, "service_code": "ngap-ung", "lat": "11.31", "long": "106.1",
                             "description": "Ngập sâu trước cổng trường, gọi tôi 0912 345 678",
                             "attribute[area]": "tan-ninh", "first_name": "Văn", "last_name": "Ba",
                             "phone": unique_phone(), "email": "ba@example.vn"})
    assert created.status_code == 200, created.body
    (receipt,) = created.json_body
    code = receipt["service_request_id"]
    assert code.startswith("TN-") and "token" not in receipt
    (request,) = _valid("requests.json", client.http.get(f"/open311/v2/requests/{code}.json").json_body)
    assert request["service_code"] == "ngap-ung" and request["status"] == "open"
    assert request["description"] is None and request["lat"] is None  # unpublished: no text, no place
    assert "0912" not in json.dumps(request) and "Văn Ba" not in json.dumps(request, ensure_ascii=False)
    from chalicelib.store import tickets

    ticket = tickets.get_ticket(code)
    assert ticket.channel == "open311" and ticket.area == "tan-ninh" and ticket.reporter_name == "Văn Ba"
    tokens = client.http.get(f"/open311/v2/tokens/{code}.json").json_body
    assert tokens == [{"service_request_id": code, "token": code}]
    xml = ElementTree.fromstring(client.http.get(f"/open311/v2/requests/{code}.xml").body)
    assert xml.tag == "service_requests" and xml.find("request/service_request_id").text == code


@pytest.mark.parametrize("fields,status,code", [
    ({"service_code": "ngap-ung", "lat": "1", "long": "1", "description": "x"}, 403, "api_key"),
    ({"api_key": "wrong", "service_code": "ngap-ung", "lat": "1", "long": "1", "description": "x"}, 403, "api_key"),
    ({"service_code": "khong-co", "lat": "1", "long": "1", "description": "x"}, 404, "service_code"),
    ({"service_code": "", "lat": "1", "long": "1", "description": "x"}, 400, "service_code"),
    ({"service_code": "ngap-ung", "description": "x"}, 400, "location"),
    ({"service_code": "ngap-ung", "lat": "95", "long": "1", "description": "x"}, 400, "lat"),
    ({"service_code": "ngap-ung", "address_string": "Hẻm 12", "description": "x" * 4001}, 400, "description"),
    ({"service_code": "ngap-ung", "address_string": "Hẻm 12", "description": "x", "phone": "12"}, 400, "phone"),
])
def test_bad_requests_get_the_spec_error_list(client: Any, api_key: str, fields: dict[str, str], status: int,
                                             code: str) -> None:
    if "api_key" not in fields and code != "api_key":
        fields = {**fields, "api_key": api_key}
    response = _post(client, fields)
    assert response.status_code == status
    assert isinstance(response.json_body, list) and response.json_body[0]["code"] == code
    assert response.json_body[0]["description"]
    xml = _post(client, fields, "xml")
    assert xml.status_code == status and ElementTree.fromstring(xml.body).find("error/code").text == code


def test_get_requests_filters_and_never_lists_confidential_categories(client: Any, api_key: str) -> None:
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake
    from chalicelib.store.reference import load_reference

    ok = _post(client, {"api_key": api_key, "service_code": "chieu-sang", "address_string": "Đường 30/4",
                        "description": "Đèn đường tắt"}).json_body[0]["service_request_id"]
    secret = intake.submit(validate_submission({"description": "Tố giác đánh bạc", "phone": unique_phone(),
                                                "category": "an-ninh-trat-tu"}, load_reference()))["tracking_code"]
    listed = _valid("requests.json", client.http.get("/open311/v2/requests.json?service_code=chieu-sang,ngap-ung")
                    .json_body)
    codes = [r["service_request_id"] for r in listed]
    assert ok in codes and secret not in codes and {r["service_code"] for r in listed} <= {"chieu-sang", "ngap-ung"}
    by_id = client.http.get(f"/open311/v2/requests.json?service_request_id={ok},{secret}").json_body
    assert [r["service_request_id"] for r in by_id] == [ok]
    assert client.http.get(f"/open311/v2/requests/{secret}.json").status_code == 404
    closed = client.http.get("/open311/v2/requests.json?status=closed").json_body
    assert ok not in [r["service_request_id"] for r in closed]
    now = datetime.now(timezone.utc)
    old = {"start_date": (now - timedelta(days=190)).isoformat(), "end_date": (now - timedelta(days=100)).isoformat()}
    # Other tests' tickets may sit in that window (the table is shared): none of ours, and only that window's
    in_window = client.http.get("/open311/v2/requests.json?" + urlencode(old)).json_body
    assert ok not in [r["service_request_id"] for r in in_window]
    assert all(now - timedelta(days=190) <= datetime.fromisoformat(r["requested_datetime"]) <= now - timedelta(days=100)
               for r in in_window)
    too_long = {"start_date": (now - timedelta(days=120)).isoformat(), "end_date": now.isoformat()}
    assert client.http.get("/open311/v2/requests.json?" + urlencode(too_long)).status_code == 400
    assert client.http.get("/open311/v2/requests.json?start_date=yesterday").status_code == 400
    assert client.http.get("/open311/v2/requests.json?status=pending").status_code == 400


def test_the_update_feed_shows_status_history(client: Any, api_key: str, staff: dict[str, str]) -> None:
    code = _post(client, {"api_key": api_key, "service_code": "ngap-ung", "address_string": "Đường CMT8",
                          "attribute[area]": "tan-ninh", "description": "Ngập đường CMT8"}).json_body[0]["service_request_id"]
    from chalicelib.services import routing

    routing.route(code)
    view = client.http.get(f"/api/v1/staff/tickets/{code}", headers=bearer(staff["operator"])).json_body
    client.http.post(f"/api/v1/staff/tickets/{code}/actions/resolve", headers=bearer(
        staff["operator"], **{"Content-Type": "application/json"}), body=json.dumps(
        {"version": view["version"], "answer": "Đã thông cống"}).encode())
    feed = client.http.get("/open311/v2/servicerequestupdates.json").json_body
    mine = [u for u in feed if u["service_request_id"] == code]
    assert [u["status"] for u in mine] == ["for_triage", "action_scheduled", "fixed"]
    assert [u["description"] for u in mine] == ["Đã tiếp nhận", "Đã chuyển cơ quan xử lý", "Đã trả lời"]
    assert len({u["update_id"] for u in mine}) == 3 and "thông cống" not in json.dumps(feed, ensure_ascii=False)
    (request,) = client.http.get(f"/open311/v2/requests/{code}.json").json_body
    assert request["status"] == "closed" and request["status_notes"] is None  # not published: the answer stays private


def test_admins_issue_and_revoke_api_keys(client: Any, staff: dict[str, str]) -> None:
    admin = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"hl_id={staff['admin']}; hl_csrf=a"}
    page = client.http.post("/staff/integrators", headers=admin, body=urlencode({"csrf": "a", "name": "Cổng DVC"}).encode())
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    key = page.body.decode().split('id="api-key">', 1)[1].split("<", 1)[0]
    fields = {"api_key": key, "service_code": "khac", "address_string": "x", "description": "Thử tích hợp"}
    assert _post(client, fields).status_code == 200
    from chalicelib.store import integrators

    (item,) = [i for i in integrators.listing() if i.name == "Cổng DVC"]
    assert key not in json.dumps(item.attribute_values, default=str)  # only the hash is kept
    revoked = client.http.post("/staff/integrators", headers=admin, body=urlencode({"csrf": "a", "revoke": item.sk}).encode())
    assert revoked.status_code == 303
    assert _post(client, fields).status_code == 403
    operator = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"hl_id={staff['operator']}; hl_csrf=a"}
    assert client.http.post("/staff/integrators", headers=operator,
                            body=urlencode({"csrf": "a", "name": "x"}).encode()).status_code == 403
