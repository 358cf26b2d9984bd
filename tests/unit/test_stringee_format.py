"""Stringee's formats (reference/telephony.md §2-5): signatures computed as Stringee documents them,
requests as it sends them, with the odd shapes a real PBX and API Gateway produce."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import quote

import pytest

from chalicelib.channels import stringee
from chalicelib.domain.errors import ValidationFailed
from chalicelib.notify.stringee import api_token
from devstack.stringee import check_token

SECRET = "project-signing-secret"
ROUTE = "/webhooks/stringee/answer"


def _sign(data: str | bytes, secret: str = SECRET) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha1).digest()).decode()


def test_signature_is_base64_hmac_sha1_of_the_request_uri() -> None:
    uri = "/answer_url?from=user_1&to=user_2&fromInternal=true&userId=user_1&projectId=22512&callId=c1&custom="
    assert stringee.signature(uri, SECRET) == _sign(uri)
    assert stringee.verify_get([uri], _sign(uri), SECRET)


# Written out by hand — not by our encoder — from reference/telephony.md §4's answer_url example (its callId from
# §3's event example), and its signature computed once under SECRET and pasted: a change in how we rebuild the
# Request-URI that no longer matches the documented form fails here.
DOCUMENTED_URI = ("/answer_url?from=user_1&to=user_2&fromInternal=true&userId=user_1&projectId=22512"
                  "&callId=call-vn-1-ZD3IDIXS1J-1515820305477&custom=")
DOCUMENTED_SIGNATURE = "qtHtlLoL0v/P6DzGPX1Ik0zuKoo="
# A call from the phone network under the execute-api stage, its custom text with spaces (%20) and Vietnamese
# letters (UTF-8, percent-encoded as RFC 3986 does: the part of the encoding the reference does not show).
STAGED_URI = ("/api/webhooks/stringee/answer?from=84909982888&to=842763661022&fromInternal=false"
              "&uuid=call-vn-1-ZD3IDIXS1J-1515820305477&custom=Ph%C3%B2ng%20ti%E1%BA%BFp%20d%C3%A2n")
STAGED_SIGNATURE = "xSyfJCdjDFSilLohJmCR28K56SM="


def test_the_documented_request_uri_written_out_verifies_from_the_decoded_query_in_any_order() -> None:
    documented = {"callId": "call-vn-1-ZD3IDIXS1J-1515820305477", "custom": "", "from": "user_1",
                  "fromInternal": "true", "projectId": "22512", "to": "user_2", "userId": "user_1"}  # sorted
    assert stringee.verify_get(stringee.request_uri_candidates("", "/answer_url", documented), DOCUMENTED_SIGNATURE,
                               SECRET)
    staged = {"from": "84909982888", "to": "842763661022", "fromInternal": "false",
              "uuid": "call-vn-1-ZD3IDIXS1J-1515820305477", "custom": "Phòng tiếp dân"}  # decoded, as received
    assert stringee.verify_get(stringee.request_uri_candidates("/api", ROUTE, staged), STAGED_SIGNATURE, SECRET)
    assert STAGED_URI in stringee.request_uri_candidates("/api", ROUTE, staged)
    assert not stringee.verify_get(stringee.request_uri_candidates("", ROUTE, staged), STAGED_SIGNATURE, SECRET)


# The query as Stringee requested it; the app sees only the decoded parameters, in whatever order API Gateway gives.
SENT = [("from", "0909982888"), ("to", "842763661022"), ("fromInternal", "false"), ("uuid", "call-vn-1-ABC-1")]


@pytest.mark.parametrize("received_order", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]])
@pytest.mark.parametrize("prefix, public", [("/api", "/api"), ("", ""), ("/api", "api/"), ("", "/api")])
def test_a_get_verifies_whatever_order_the_query_arrives_in_with_or_without_the_stage(
        received_order: list[int], prefix: str, public: str) -> None:
    # Given Stringee signed the path it requested (under the stage prefix or at a custom domain's root)
    signed_uri = prefix + ROUTE + "?" + "&".join(f"{k}={v}" for k, v in SENT)
    # When the app sees the decoded query in another order, and rebuilds with its public prefix
    received = {SENT[i][0]: SENT[i][1] for i in received_order}
    candidates = stringee.request_uri_candidates(public, ROUTE, received)
    # Then the signature holds; at most 12 candidates are tried
    assert stringee.verify_get(candidates, _sign(signed_uri), SECRET)
    assert len(candidates) <= 12


def test_a_query_signed_in_an_undocumented_order_verifies_when_it_arrives_as_sent() -> None:
    order = [("uuid", "c-9"), ("to", "842763661022"), ("from", "0909982888"), ("zone", "x")]
    uri = ROUTE + "?" + "&".join(f"{k}={v}" for k, v in order)
    assert stringee.verify_get(stringee.request_uri_candidates("", ROUTE, dict(order)), _sign(uri), SECRET)


def test_spaces_are_signed_as_percent_20_and_other_characters_percent_encoded() -> None:
    query = {"from": "user 1", "to": "842763661022", "fromInternal": "true", "userId": "user 1",
             "projectId": "22512", "callId": "c1", "custom": '{"note":"Hỏi đáp"}'}
    uri = ROUTE + "?" + "&".join(f"{k}={quote(v, safe='-_.~')}" for k, v in query.items())
    assert "%20" in uri and "+" not in uri
    assert stringee.verify_get(stringee.request_uri_candidates("", ROUTE, query), _sign(uri), SECRET)
    plus = uri.replace("%20", "+")  # form-encoding is not what Stringee signs
    assert not stringee.verify_get(stringee.request_uri_candidates("", ROUTE, query), _sign(plus), SECRET)


def test_a_get_with_a_forged_missing_or_foreign_signature_fails() -> None:
    query = dict(SENT)
    candidates = stringee.request_uri_candidates("/api", ROUTE, query)
    genuine = "/api" + ROUTE + "?" + "&".join(f"{k}={v}" for k, v in SENT)
    assert not stringee.verify_get(candidates, _sign(genuine, "another-secret"), SECRET)
    assert not stringee.verify_get(candidates, None, SECRET)
    assert not stringee.verify_get(candidates, "", SECRET)
    assert not stringee.verify_get(candidates, _sign(genuine), "")  # no secret configured: nothing verifies
    # a signature of the same query with another caller does not carry over
    tampered = {**query, "from": "0912345678"}
    assert not stringee.verify_get(stringee.request_uri_candidates("/api", ROUTE, tampered), _sign(genuine), SECRET)


def test_a_post_verifies_the_exact_body_only() -> None:
    body = b'{"call_status":"ended","call_id":"c1","duration":12}'
    assert stringee.verify_post(body, _sign(body), SECRET)
    assert stringee.verify_post(body, " " + _sign(body) + "\n", SECRET)  # header whitespace
    assert not stringee.verify_post(body.replace(b"12", b"13"), _sign(body), SECRET)
    assert not stringee.verify_post(body, None, SECRET)
    assert not stringee.verify_post(body, "not base64 at all ✓", SECRET)


def test_public_prefix_prefers_the_configured_path_even_when_empty() -> None:
    assert stringee.public_prefix(None, "/api") == "/api"
    assert stringee.public_prefix("", "/api") == ""
    assert stringee.public_prefix("hotline/", "") == "/hotline"


def test_an_offer_from_the_phone_network_and_from_an_app_client() -> None:
    offer = stringee.parse_offer({"from": "84909982888", "to": "842763661022", "fromInternal": "false",
                                  "uuid": "call-vn-1-X", "sipHeader": "kept"})
    assert (offer.call_id, offer.caller, offer.called, offer.from_internal) == ("call-vn-1-X", "84909982888",
                                                                                 "842763661022", False)
    assert offer.extra == {"sipHeader": "kept"}
    app = stringee.parse_offer({"from": "user_1", "to": "842763661022", "fromInternal": "true", "userId": "user_1",
                                "projectId": "22512", "callId": "call-vn-1-Y", "custom": ""})
    assert (app.call_id, app.from_internal, app.user_id, app.project_id) == ("call-vn-1-Y", True, "user_1", "22512")


def test_an_offer_without_caller_is_kept_but_one_without_call_id_is_refused() -> None:
    assert stringee.parse_offer({"uuid": "c1"}).caller == ""
    with pytest.raises(ValidationFailed) as refused:
        stringee.parse_offer({"from": "0909982888", "uuid": " "})
    assert refused.value.errors[0].field == "uuid" and refused.value.errors[0].vi
    with pytest.raises(ValidationFailed):
        stringee.parse_offer({"uuid": "c" * 500})


def test_an_ended_event_as_documented() -> None:
    body = json.dumps({"call_status": "ended", "project_id": 25, "account_sid": "AC1", "timestamp_ms": 1515859261381,
                       "type": "stringee_call", "call_id": "call-vn-1-ZD3IDIXS1J-1515820305477",
                       "from": {"number": "84899199866", "alias": "84899199866", "is_online": False, "type": "external"},
                       "to": {"number": "op_lan", "alias": "op_lan", "is_online": True, "type": "internal"},
                       "clientCustomData": "route:1", "callCreatedReason": "EXTERNAL_CALL_IN",
                       "endCallCause": "486 Busy Here", "endedBy": "EXTERNAL", "callType": "external_to_internal",
                       "duration": 17, "answerDuration": 0, "brandNew": {"x": 1}}).encode()
    event = stringee.parse_event(body)
    assert (event.call_id, event.status, event.timestamp_ms) == ("call-vn-1-ZD3IDIXS1J-1515820305477", "ended",
                                                                 1515859261381)
    assert (event.from_number, event.from_type, event.to_number, event.to_type) == ("84899199866", "external",
                                                                                     "op_lan", "internal")
    assert (event.duration_s, event.answer_duration_s, event.end_cause, event.ended_by, event.custom) == (
        17, 0, "486 Busy Here", "EXTERNAL", "route:1")
    assert event.raw["brandNew"] == {"x": 1}  # unknown fields are kept


def test_an_event_with_odd_but_readable_fields() -> None:
    event = stringee.parse_event(b'{"call_status":"agentEnded","call_id":12345,"duration":"12.6",'
                                 b'"answerDuration":"","from":"84909982888","customData":"x"}')
    assert (event.call_id, event.status, event.duration_s, event.answer_duration_s) == ("12345", "agentEnded", 13, None)
    assert (event.from_number, event.from_type, event.to_number, event.custom) == ("84909982888", "", "", "x")
    assert event.timestamp_ms is None


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[1,2]", b'{"call_id":"c1"}', b'{"call_status":"ended"}',
    b'{"call_status":"ended","call_id":{"a":1}}', b'{"call_status":"ended","call_id":"c1","duration":"long"}',
    b'{"call_status":"ended","call_id":"c1","duration":-5}', b'{"call_status":"ended","call_id":"c1","duration":true}',
    b'{"call_status":"ended","call_id":"c1","from":{"number":["x"]}}', b"\xff\xfe", b"{" * 100_000,
])
def test_an_unreadable_event_is_a_validation_error(body: bytes) -> None:
    with pytest.raises(ValidationFailed) as refused:
        stringee.parse_event(body)
    assert refused.value.errors[0].vi and refused.value.errors[0].en


@pytest.mark.parametrize("body", [
    b'{"call_id":"c1","recording_url":"https://rec.stringee.com/r/1.wav","duration":18}',
    b'{"callId":"c1","recordingUrl":"https://rec.stringee.com/r/1.wav","recordDuration":"18","extra":1}',
    b"uuid=c1&url=https%3A%2F%2Frec.stringee.com%2Fr%2F1.wav&duration=18",
])
def test_a_voicemail_post_is_read_under_any_of_the_likely_names(body: bytes) -> None:
    recording = stringee.parse_recording(body)
    assert (recording.call_id, recording.url, recording.duration_s) == ("c1", "https://rec.stringee.com/r/1.wav", 18)


@pytest.mark.parametrize("body", [b'{"call_id":"c1"}', b'{"call_id":"c1","url":"javascript:alert(1)"}',
                                  b'{"url":"https://rec.stringee.com/r/1.wav"}'])
def test_a_voicemail_post_without_a_link_or_a_call_is_refused(body: bytes) -> None:
    with pytest.raises(ValidationFailed):
        stringee.parse_recording(body)


def test_scco_actions_as_stringee_documents_them() -> None:
    action = stringee.connect("internal", "op_lan", "842763661022", "Tổng đài 1022", 20,
                              "https://x/api/webhooks/stringee/next", custom="route:0")
    assert action["action"] == "connect" and action["to"] == {"type": "internal", "number": "op_lan", "alias": "op_lan"}
    assert action["from"]["number"] == "842763661022" and action["timeout"] == 20
    assert action["continueOnFail"] is True and action["onFailEventUrl"].endswith("/next")
    assert "continueOnFail" not in stringee.connect("external", "84909982888", "842763661022", "", 20, None)
    with pytest.raises(ValueError):
        stringee.connect("sip", "x", "y", "", 20, None)
    assert stringee.talk("Xin chào")["action"] == "talk" and stringee.talk("x")["voice"] == stringee.VOICE_DEFAULT
    message = stringee.record_message("https://x/voicemail", timeout_s=90)
    assert (message["action"], message["eventUrl"], message["timeout"], message["format"]) == (
        "recordMessage", "https://x/voicemail", "90000", "wav")
    assert stringee.record("https://x/rec") == {"action": "record", "eventUrl": "https://x/rec", "format": "mp3"}
    json.dumps([action, message])  # an SCCO is plain JSON


KEY_SID, KEY_SECRET = "SK.test", "a-test-api-key-secret-of-32-bytes-or-more"


def test_the_callout_token_is_what_stringee_checks() -> None:
    now = time.time()
    assert check_token(api_token(KEY_SID, KEY_SECRET, now), KEY_SID, KEY_SECRET, now) is None


def test_the_callout_jwt_decoded_by_hand_is_as_the_reference_says() -> None:
    now = 1_764_500_000.7
    token = api_token(KEY_SID, KEY_SECRET, now)
    head, body, signature = token.split(".")

    def part(text: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    assert part(head) == {"typ": "JWT", "alg": "HS256", "cty": "stringee-api;v=1"}
    claims = part(body)
    assert claims == {"jti": f"{KEY_SID}-1764500000", "iss": KEY_SID, "exp": 1_764_503_600, "rest_api": True}
    assert claims["exp"] - int(now) == 3600 and claims["iss"] == KEY_SID and claims["rest_api"] is True
    mac = hmac.new(KEY_SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert signature == base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_our_query_token_covers_call_try_and_kind() -> None:
    token = stringee.query_token(SECRET, "call-1", "2", "")
    assert stringee.query_token_ok(SECRET, token, "call-1", "2", "")
    for call, tried, kind in (("call-2", "2", ""), ("call-1", "3", ""), ("call-1", "2", "recording")):
        assert not stringee.query_token_ok(SECRET, token, call, tried, kind)
    assert not stringee.query_token_ok("", token, "call-1", "2") and not stringee.query_token_ok(SECRET, None, "call-1")
    assert stringee.connect("external", "+84912000111", "842763661022", "", 20, None)["to"]["number"] == "84912000111"


def test_the_fake_refuses_bad_callout_tokens() -> None:
    import jwt

    now = time.time()
    assert check_token(api_token(KEY_SID, "another-secret-that-is-long-enough-32b", now), KEY_SID, KEY_SECRET) \
        .startswith("invalid token")
    assert check_token(api_token(KEY_SID, KEY_SECRET, now - 4000), KEY_SID, KEY_SECRET) == "token expired"
    assert check_token(api_token("SK.other", KEY_SECRET, now), KEY_SID, KEY_SECRET) == "unknown API key"
    claims = {"jti": f"{KEY_SID}-1", "iss": KEY_SID, "exp": int(now) + 600, "rest_api": True}
    wrong_cty = jwt.encode(claims, KEY_SECRET, algorithm="HS256", headers={"cty": "stringee-api;v=2"})
    assert check_token(wrong_cty, KEY_SID, KEY_SECRET) == "wrong token header"
    not_rest = jwt.encode({**claims, "rest_api": False}, KEY_SECRET, algorithm="HS256",
                          headers={"cty": "stringee-api;v=1"})
    assert check_token(not_rest, KEY_SID, KEY_SECRET) == "not a REST API token"
    assert check_token(None, KEY_SID, KEY_SECRET) == "missing X-STRINGEE-AUTH"
    assert check_token("garbage", KEY_SID, KEY_SECRET).startswith("invalid token")
