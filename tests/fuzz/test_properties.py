"""Property-based fuzzing (hypothesis) of what schemathesis cannot reach: every webhook with a VALID
signature over a fuzzed body (so the parsers behind the signature checks are what gets fuzzed),
and the citizen form posts. Against the running local stack over real HTTP (at / and under /api).

The properties: never a 5xx; a JSON error is our shape; a signed payload the app cannot read is a
400 `malformed_payload` whose raw body is in quarantine (nothing is lost); a form gets a page back.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devstack.fakes import LOCAL_SECRETS as S
from tests.fuzz import signing
from tests.fuzz.api_fuzz import staff_token

pytestmark = pytest.mark.e2e

# Seeded (derandomized): the same examples every run; `make fuzz` (bench/fuzz.py) runs many more,
# freshly random (FUZZ_RANDOM=1).
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")), database=None, deadline=None,
                derandomize=os.environ.get("FUZZ_RANDOM") != "1", suppress_health_check=list(HealthCheck))
VN = timezone(timedelta(hours=7))


class Site:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.admin = {"Authorization": f"Bearer {staff_token(base_url)}"}

    def send(self, signed: signing.Signed) -> requests.Response:
        return self.session.request(signed.method, self.base_url + signed.path, headers=signed.headers,
                                    data=signed.body, timeout=30, allow_redirects=False)

    def get(self, path_and_query: str) -> requests.Response:
        return self.session.get(self.base_url + path_and_query, timeout=30, allow_redirects=False)

    def quarantined_ids(self) -> set[str]:
        listing = self.session.get(f"{self.base_url}/api/v1/admin/quarantine", headers=self.admin, timeout=30)
        assert listing.status_code == 200
        return {entry["id"] for entry in listing.json()["payloads"]}


@pytest.fixture(scope="module")
def site(local_stack: dict[str, str]) -> Site:
    return Site(local_stack["base_url"])


def accepted_or_quarantined(site: Site, response: requests.Response) -> None:
    """The webhook property: 200, or 400 malformed_payload with the payload kept for review."""
    assert response.status_code in (200, 400), (response.status_code, response.text[:500])
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics: how many were accepted or quarantined
    if response.status_code == 400:
        error = response.json()["error"]
        assert error["code"] == "malformed_payload" and error["message"] and error["message_en"]
        assert error["quarantine_id"] in site.quarantined_ids()


# Strategies: JSON of any shape, with the values that broke parsers before (huge and non-finite
# numbers, lone surrogates, control characters), and the providers' documented shapes around them.

TEXT = st.text(st.characters(categories=["L", "N", "P", "S", "Zs", "Cc", "Cs", "Mn"]), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.integers(min_value=10**18, max_value=10**400) | \
    st.floats() | TEXT
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                      max_leaves=8)
DIGITS = st.text("0123456789", min_size=1, max_size=20)
PHONES = st.sampled_from(["0912345678", "+84 912 345 679", "84912345670", "0084912345671", "02763822111", "113",
                          "0912", "+1 650 555 1212"]) | TEXT


# Numbers and nestings where parsers break: beyond a double, beyond Python's int-from-text limit,
# not finite, and arrays nested up to 50,000 deep (Python's parser recurses once per level).
NASTY_NUMBERS = st.sampled_from(["1" + "0" * 400, "-1e400", "1e999", "NaN", "Infinity", "9" * 5000, "1e-400",
                                 "0.5", "10.8", "-0"])
def nesting(deepest: int) -> Any:
    return st.integers(1, deepest).map(lambda depth: b"[" * depth + b"]" * depth)


NESTING = nesting(50_000)
WEBHOOK_NESTING = nesting(30_000)  # within the webhooks' 64 KB


def either(shape: Any, weight: int = 2) -> Any:
    """The documented shape most of the time (`weight` to 1), anything at all otherwise."""
    return st.one_of(*[shape] * weight, VALUES)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()  # ASCII escapes: lone surrogates and NaN/Infinity go out as sent


ATTACHMENT = either(st.fixed_dictionaries({"type": either(st.sampled_from(["image", "location", "file", "link"]))},
                                          optional={"payload": either(st.fixed_dictionaries({}, optional={
                                              "url": either(TEXT), "name": either(TEXT),
                                              "coordinates": either(st.fixed_dictionaries({
                                                  "latitude": either(st.floats(-90, 90).map(str)),
                                                  "longitude": either(st.floats(-180, 180).map(str))}))}))}))
ZALO_EVENT = st.fixed_dictionaries(
    {"app_id": st.just(S["zalo_app_id"]),
     "event_name": either(st.sampled_from(["user_send_text", "user_send_image", "user_send_location",
                                           "user_send_file", "follow", "unfollow", "oa_send_text",
                                           "user_seen_message"]), weight=5),
     "sender": either(st.fixed_dictionaries({"id": either(DIGITS, weight=4)}), weight=4),
     "recipient": either(st.fixed_dictionaries({"id": DIGITS})),
     "message": either(st.fixed_dictionaries({"msg_id": either(DIGITS)}, optional={
         "text": either(TEXT), "attachments": either(st.lists(ATTACHMENT, max_size=3)),
         "location": either(st.fixed_dictionaries({"latitude": VALUES, "longitude": VALUES}))}))},
    optional={"follower": either(st.fixed_dictionaries({"id": either(DIGITS)})), "user_id_by_app": VALUES})


@FUZZ
@given(event=ZALO_EVENT)
def test_signed_zalo_events_are_queued_ignored_or_quarantined(site: Site, event: dict[str, Any]) -> None:
    stamp = signing.now_ms()
    raw = json_bytes({**event, "timestamp": stamp})
    accepted_or_quarantined(site, site.send(signing.zalo_event(raw, stamp)))


FACEBOOK_ITEM = st.fixed_dictionaries(
    {"sender": either(st.fixed_dictionaries({"id": either(DIGITS, weight=4)}), weight=4),
     "timestamp": either(st.integers(0, 2**63), weight=4)},
    optional={"message": either(st.fixed_dictionaries({"mid": either(DIGITS)}, optional={
        "text": either(TEXT), "is_echo": VALUES, "quick_reply": either(st.fixed_dictionaries({"payload": TEXT})),
        "attachments": either(st.lists(either(st.fixed_dictionaries(
            {"type": either(st.sampled_from(["image", "file", "location", "fallback"]))},
            optional={"payload": either(st.fixed_dictionaries({}, optional={"url": either(TEXT), "coordinates": either(
                st.fixed_dictionaries({"lat": either(st.floats(-90, 90)), "long": either(st.floats(-180, 180))}))}))})),
            max_size=3))}), weight=4), "delivery": VALUES, "read": VALUES})
FACEBOOK_EVENT = st.fixed_dictionaries({"object": either(st.just("page"), weight=5), "entry": either(st.lists(
    either(st.fixed_dictionaries({"id": DIGITS}, optional={"messaging": either(st.lists(FACEBOOK_ITEM, max_size=3))})),
    max_size=3))})


@FUZZ
@given(body=st.one_of(FACEBOOK_EVENT.map(json_bytes), VALUES.map(json_bytes), st.binary(max_size=300), WEBHOOK_NESTING))
def test_signed_facebook_events_are_queued_ignored_or_quarantined(site: Site, body: bytes) -> None:
    accepted_or_quarantined(site, site.send(signing.facebook_event(body)))


GATEWAY_EVENT = st.fixed_dictionaries(
    {"event": st.sampled_from(["sms:received", "sms:received", "sms:sent", "system:ping"]) | TEXT,
     "id": either(DIGITS), "deviceId": either(TEXT),
     "payload": either(st.fixed_dictionaries({"phoneNumber": either(PHONES), "receivedAt": either(
         st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                      timezones=st.just(VN)).map(lambda d: d.isoformat()))},
         optional={"message": either(TEXT), "messageId": either(DIGITS), "simNumber": VALUES}))})


@FUZZ
@given(body=st.one_of(GATEWAY_EVENT.map(json_bytes), VALUES.map(json_bytes), st.binary(max_size=300), WEBHOOK_NESTING))
def test_signed_android_gateway_events_are_queued_ignored_or_quarantined(site: Site, body: bytes) -> None:
    accepted_or_quarantined(site, site.send(signing.android_gateway_event(body)))


SMS_FIELDS = st.fixed_dictionaries(
    {"from": PHONES, "message": TEXT, "message_id": either(DIGITS).map(str)},
    optional={"sent_to": TEXT, "device_id": TEXT, "extra": TEXT})


@FUZZ
@given(fields=SMS_FIELDS, junk=st.binary(max_size=80))
def test_signed_smssync_messages_are_queued_or_quarantined(site: Site, fields: dict[str, str], junk: bytes) -> None:
    fresh = {"sent_timestamp": str(int(time.time() * 1000))}
    signed = signing.smssync_message({**{k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                                         for k, v in fields.items()}, **fresh})
    accepted_or_quarantined(site, site.send(signed))
    # the same, behind bytes that are not a form at all (the secret and time still parse out of it)
    raw = junk + b"&" + urlencode({"secret": S["smssync_secret"], **fresh}).encode()
    accepted_or_quarantined(site, site.send(signing.Signed("POST", signed.path, signed.headers, raw)))


@FUZZ
@given(body=st.one_of(st.fixed_dictionaries({"queued_messages": either(st.lists(TEXT, max_size=3))}).map(json_bytes),
                      VALUES.map(json_bytes), st.binary(max_size=200), WEBHOOK_NESTING))
def test_signed_smssync_delivery_reports_are_answered_or_quarantined(site: Site, body: bytes) -> None:
    accepted_or_quarantined(site, site.send(signing.smssync_sent(body)))


@FUZZ
@given(sender=PHONES, content=TEXT, smsid=TEXT, extra=st.dictionaries(st.sampled_from(["keyword", "serviceNumber",
                                                                                     "x"]), TEXT, max_size=2))
def test_signed_esms_messages_are_answered_or_quarantined(site: Site, sender: str, content: str, smsid: str,
                                                          extra: dict[str, str]) -> None:
    def clean(text: str) -> str:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")

    params = {**{k: clean(v) for k, v in extra.items()}, "sender": clean(sender), "content": clean(content),
              "smsid": clean(smsid) or uuid.uuid4().hex, "receiverTime": datetime.now(VN).strftime("%Y%m%d%H%M%S")}
    response = site.send(signing.esms_mo(params))
    accepted_or_quarantined(site, response)
    if response.status_code == 200:
        assert response.headers["Content-Type"].startswith("text/xml") and "<ClientResponse>" in response.text


# The JSON API: bodies of the documented shape with values where parsers break, nesting bombs, bytes.


def _report_body(fields: dict[str, Any], numbers: dict[str, str]) -> bytes:
    raw = json_bytes(fields)
    extra = ", ".join(f'"{name}": {number}' for name, number in numbers.items())
    return raw[:-1] + (b", " if fields and extra else b"") + extra.encode() + b"}" if extra else raw


REPORT_FIELDS = st.fixed_dictionaries({}, optional={
    "description": either(st.sampled_from(["Cống thoát nước bị tắc", "x" * 5001])), "phone": either(PHONES),
    "category": either(st.just("ngap-ung")), "area": either(st.just("tan-ninh")), "photos": VALUES,
    "consent_publish": VALUES, "consent_contact": VALUES, "email": either(TEXT), "otp": VALUES})
API_BODIES = st.one_of(
    st.builds(_report_body, REPORT_FIELDS, st.dictionaries(st.sampled_from(["lat", "lon", "size", "version"]),
                                                            NASTY_NUMBERS, max_size=2)),
    VALUES.map(json_bytes), NESTING, st.binary(max_size=200))


@FUZZ
@given(body=API_BODIES, path=st.sampled_from(["/api/v1/reports", "/api/v1/uploads",
                                              "/api/v1/reports/TN-ZZZZZZ/followers",
                                              "/api/v1/reports/TN-ZZZZZZ/followers/verify"]))
def test_the_json_api_answers_any_body_with_success_or_our_4xx(site: Site, body: bytes, path: str) -> None:
    response = site.send(signing.Signed("POST", path, signing.JSON, body))
    event(f"HTTP {response.status_code}")
    assert response.status_code in (201, 202, 400, 404, 409, 413, 422, 429), (response.status_code,
                                                                              response.text[:300])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] != "internal_error" and error["message"] and error["message_en"]


# Date filters: any date at all, the ends of the calendar included, on every route that filters by date

DAYS = st.one_of(st.dates(), st.sampled_from([date.min, date.max, date(1, 1, 2), date(9999, 12, 30)]))
MOMENTS = st.builds(lambda day, hours: f"{day.isoformat()}T00:00:00{'+' if hours >= 0 else '-'}{abs(hours):02d}:00",
                    DAYS, st.integers(-12, 14))


@FUZZ
@given(first=st.one_of(DAYS.map(date.isoformat), TEXT), last=st.one_of(DAYS.map(date.isoformat), TEXT),
       start=st.one_of(MOMENTS, TEXT), end=st.one_of(MOMENTS, TEXT))
def test_date_filters_answer_any_dates_with_a_listing_or_a_400(site: Site, first: str, last: str, start: str,
                                                               end: str) -> None:
    def clean(text: str) -> str:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")

    for path, query in (("/api/v1/public/answers", {"from": first, "to": last}),
                        ("/cong-khai", {"from": first, "to": last}),
                        ("/open311/v2/requests.json", {"start_date": start, "end_date": end}),
                        ("/open311/v2/servicerequestupdates.json", {"start_date": start, "end_date": end})):
        response = site.get(f"{path}?{urlencode({k: clean(v) for k, v in query.items()})}")
        event(f"{path} HTTP {response.status_code}")
        assert response.status_code in (200, 400), (path, query, response.status_code, response.text[:300])


# Citizen form posts: whatever is posted, a page comes back (the form again with messages, a
# confirmation, a refusal), never the error page of a crash.

FORM_FIELDS = st.fixed_dictionaries({}, optional={
    "description": TEXT | st.sampled_from(["Đường ngập sâu sau mưa", "x" * 6000]), "phone": PHONES,
    "category": TEXT | st.sampled_from(["ngap-ung", "khac"]), "area": TEXT | st.just("tan-ninh"),
    "address": TEXT, "name": TEXT, "email": TEXT | st.just("a@b.vn"), "consent_publish": TEXT | st.just("on"),
    "consent_contact": TEXT | st.just("1"), "otp": TEXT | st.sampled_from(["123456", ""]),
    "lat": TEXT | st.sampled_from(["1" + "0" * 400, "nan", "-inf", "1e999", "10.5"]),
    "lon": TEXT | st.sampled_from(["106.1", "9" * 50]), "photos": TEXT, "form_token": TEXT, "website": TEXT,
    "code": TEXT | st.just("TN-ZZZZZZ"), "t": TEXT, "rating": TEXT | st.sampled_from(["1", "5", "6", "-1"]),
    "comment": TEXT})
FORM_BODIES = st.one_of(FORM_FIELDS.map(lambda fields: urlencode({
    k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()}).encode()), st.binary(max_size=300))


def a_page(response: requests.Response) -> None:
    event(f"HTTP {response.status_code}")
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("text/html") and "<html" in response.text
    assert "Lỗi hệ thống" not in response.text


@FUZZ
@given(body=FORM_BODIES, path=st.sampled_from(["/", "/theo-doi"]))
def test_the_report_and_follow_forms_answer_any_post_with_a_page(site: Site, body: bytes, path: str) -> None:
    a_page(site.send(signing.Signed("POST", path, signing.FORM, body)))


@FUZZ
@given(body=FORM_BODIES, code=TEXT | st.just("TN-ZZZZZZ"))
def test_the_rating_page_answers_any_post_with_a_page(site: Site, body: bytes, code: str) -> None:
    path = "/danh-gia/" + quote(code.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), safe="")
    a_page(site.send(signing.Signed("POST", path, signing.FORM, body)))
