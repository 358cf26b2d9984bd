"""Bounded replays on every webhook, through the real routes on the emulator: a correctly signed
request that is too old (whatever unsigned headers claim), dated in the future, undated, or from
outside the provider's allowlist is refused with nothing stored, nothing queued and a metric by
provider and reason; within the window a replay is a no-op (one ticket, one acknowledgement)."""
from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.channels import android_gateway, esms, zalo
from chalicelib.config import settings
from chalicelib.store import outbound, tickets
from devstack.fakes import LOCAL_SECRETS as S
from tests.conftest import drain, unique_phone
from tests.integration.test_channels import pump

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
VN = timezone(timedelta(hours=7))


@pytest.fixture(autouse=True)
def _empty_queues(stack: Any, providers: Any, sqs: Any) -> None:
    for url in (settings().inbound_queue_url, settings().routing_queue_url, settings().notifications_queue_url):
        drain(sqs, url)


def _items() -> int:
    import boto3

    return boto3.client("dynamodb").describe_table(TableName=settings().tickets_table)["Table"]["ItemCount"]


def _rejections(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"CloudWatchMetrics"' in line]
    return [(m["provider"], m["reason"]) for m in lines if "WebhookRejected" in m]


@pytest.fixture
def nothing_stored(sqs: Any) -> Iterator[None]:
    """Asserts, after the test, that nothing was stored, quarantined or queued meanwhile."""
    before, quarantined = _items(), len(outbound.quarantined(limit=500))
    yield
    assert drain(sqs, settings().inbound_queue_url) == []
    assert _items() == before
    assert len(outbound.quarantined(limit=500)) == quarantined


def _zalo(client: Any, sent_at: datetime, text: str = "Đèn đường tắt", user: str | None = None,
          msg_id: str | None = None, **headers: str) -> Any:
    stamp = str(int(sent_at.timestamp() * 1000))
    body = json.dumps({"app_id": S["zalo_app_id"], "user_id_by_app": "1", "event_name": "user_send_text",
                       "timestamp": stamp, "sender": {"id": user or f"z{uuid.uuid4().int % 10**18}"},
                       "recipient": {"id": "388613280878808645"},
                       "message": {"msg_id": msg_id or uuid.uuid4().hex, "text": text}}, ensure_ascii=False).encode()
    mac = zalo.signature(S["zalo_app_id"], body, stamp, S["zalo_oa_secret_key"])
    return client.http.post("/webhooks/zalo", headers={**JSON, "X-ZEvent-Signature": f"mac={mac}", **headers},
                            body=body)


def _gateway(client: Any, stamp: str, phone: str | None = None) -> Any:
    body = json.dumps({"deviceId": "phone-1", "event": "sms:received", "id": uuid.uuid4().hex, "webhookId": "w",
                       "payload": {"messageId": "m1", "message": "Ngập nước", "phoneNumber": phone or unique_phone(),
                                   "simNumber": 1, "receivedAt": datetime.now(VN).isoformat()}}).encode()
    return client.http.post("/webhooks/sms/android-gateway", body=body, headers={
        **JSON, "X-Timestamp": stamp, "X-Signature": android_gateway.signature(body, stamp, S["android_gateway_signing_key"])})


def _smssync(client: Any, **fields: str) -> Any:
    form = {"from": unique_phone(), "message": "Rác", "message_id": uuid.uuid4().hex, "sent_to": "0276",
            "secret": S["smssync_secret"], "device_id": "phone-3", **fields}
    return client.http.post("/webhooks/sms/smssync", headers=FORM, body=urlencode(form).encode())


def _mo(received: datetime | None, sender: str, smsid: str | None = None, content: str = "Den duong hong") -> dict[str, str]:
    params = {"sender": sender, "content": content, "serviceNumber": "8041", "keyword": content.split()[0],
              "cpid": S["esms_cpid"], "smsid": smsid or uuid.uuid4().hex,
              "receiverTime": received.astimezone(VN).strftime("%Y%m%d%H%M%S") if received else ""}
    params["sign"] = esms.signatures(params, S["esms_private_key"])[0]
    return params


def _esms(client: Any, params: dict[str, str]) -> Any:
    return client.http.get("/webhooks/sms/esms?" + urlencode(params))


def _now() -> datetime:
    return datetime.now(timezone.utc)


# Zalo


def test_zalo_every_stale_or_future_signed_event_is_refused_with_its_reason(
        client: Any, nothing_stored: None, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    cases = [
        (_now() - timedelta(days=40), {"num_retry": "1000"}, "stale"),   # the unsigned header cannot widen it
        (_now() - timedelta(hours=3), {"num_retry": "5"}, "stale"),      # past the longest retry schedule
        (_now() - timedelta(minutes=20), {}, "stale"),                   # a first delivery is fresh
        (_now() + timedelta(days=3), {}, "future"),
        (_now() + timedelta(minutes=10), {"num_retry": "1"}, "future"),
    ]
    for sent_at, headers, _ in cases:
        response = _zalo(client, sent_at, **headers)
        assert response.status_code == 401 and response.json_body["error"]["code"] == "unauthorized"
    assert _rejections(capsys) == [("zalo", reason) for *_, reason in cases]


def test_zalo_a_real_retry_within_its_schedule_is_taken_once(client: Any, providers: Any) -> None:
    # Given Zalo retries an event 100 minutes after it happened (its fifth retry comes ~111 min after)
    user, msg_id, sent_at = f"z{uuid.uuid4().int % 10**18}", uuid.uuid4().hex, _now() - timedelta(minutes=100)
    assert _zalo(client, sent_at, "Cây đổ chắn đường", user=user, msg_id=msg_id, num_retry="4").status_code == 200
    # When the same signed body comes again (another retry, or a replay inside the window)
    assert _zalo(client, sent_at, "Cây đổ chắn đường", user=user, msg_id=msg_id, num_retry="5").status_code == 200
    pump()
    # Then there is one ticket and one acknowledgement
    (ticket,) = tickets.by_zalo(user)
    assert [m.kind for m in outbound.of_ticket(ticket.tracking_code)].count("ack") == 1
    assert len([m for m in providers.state.outbox if m["to"] == user]) == 1


# android-sms-gateway


@pytest.mark.parametrize("stamp, reason", [
    (lambda: str(int(time.time()) - 6 * 60), "stale"),
    (lambda: str(int(time.time()) + 6 * 60), "future"),
    (lambda: "9" * 400, "undated"),      # a huge number: refused, never an overflow
    (lambda: "١٧٠٠٠٠٠٠٠٠", "undated"),    # Arabic-Indic digits pass str.isdigit(), not our check
])
def test_android_gateway_signed_requests_outside_five_minutes_are_refused(
        client: Any, nothing_stored: None, capsys: pytest.CaptureFixture[str], stamp: Any, reason: str) -> None:
    capsys.readouterr()
    assert _gateway(client, stamp()).status_code == 401
    assert _rejections(capsys) == [("android_gateway", reason)]


# SMSSync


@pytest.mark.parametrize("sent, reason", [
    (lambda: str(int((time.time() - 4 * 86400) * 1000)), "stale"),   # four days: past its 72 h
    (lambda: str(int(time.time() + 3600)), "future"),                # an hour ahead (in seconds, as the docs say)
    (lambda: "", "undated"),
])
def test_smssync_posts_outside_their_window_or_undated_are_refused(
        client: Any, nothing_stored: None, capsys: pytest.CaptureFixture[str], sent: Any, reason: str) -> None:
    capsys.readouterr()
    assert _smssync(client, sent_timestamp=sent()).status_code == 401
    assert _rejections(capsys) == [("smssync", reason)]


# eSMS


@pytest.mark.parametrize("age, reason", [
    (timedelta(days=365), "stale"),
    (timedelta(hours=2), "stale"),
    (timedelta(minutes=-10), "future"),
    (None, "undated"),
])
def test_esms_a_signed_mo_outside_its_hour_is_refused(client: Any, nothing_stored: None,
                                                      capsys: pytest.CaptureFixture[str],
                                                      age: timedelta | None, reason: str) -> None:
    capsys.readouterr()
    response = _esms(client, _mo(_now() - age if age is not None else None, "84" + unique_phone()[1:]))
    assert response.status_code == 401 and response.json_body["error"]["code"] == "unauthorized"
    assert _rejections(capsys) == [("esms", reason)]


def test_esms_replays_inside_the_window_are_no_ops_whatever_sender_they_carry(client: Any, providers: Any) -> None:
    # Given a citizen's signed MO, processed
    citizen, other = unique_phone(), unique_phone()
    params = _mo(_now() - timedelta(minutes=2), "84" + citizen[1:], content="Den duong hem 7 tat")
    assert _esms(client, params).status_code == 200
    pump()
    (ticket,) = tickets.by_phone("+84" + citizen[1:])
    # When the same signed MO is replayed as is, and with the unsigned sender changed
    assert _esms(client, params).status_code == 200
    assert _esms(client, {**params, "sender": "84" + other[1:]}).status_code == 200
    pump()
    # Then nothing more happened: one ticket, one acknowledgement, nothing for the other number
    assert [t.tracking_code for t in tickets.by_phone("+84" + citizen[1:])] == [ticket.tracking_code]
    assert [m.kind for m in outbound.of_ticket(ticket.tracking_code)].count("ack") == 1
    assert tickets.by_phone("+84" + other[1:]) == []
    assert [m for m in providers.state.outbox if m["to"] == "+84" + other[1:]] == []
    assert len([m for m in providers.state.outbox if m["to"] == "+84" + citizen[1:]]) == 1


def test_esms_one_signed_mo_has_one_effect_even_when_a_forged_sender_comes_first(client: Any,
                                                                                providers: Any) -> None:
    """What the unsigned sender leaves open, and what it does not: whoever holds a signed MO before
    we process it can have it filed under another number, once; the genuine delivery is then a no-op."""
    citizen, victim = unique_phone(), unique_phone()
    params = _mo(_now(), "84" + citizen[1:], content="Hoi thu tuc")
    assert _esms(client, {**params, "sender": "84" + victim[1:]}).status_code == 200
    assert _esms(client, params).status_code == 200
    pump()
    filed = tickets.by_phone("+84" + victim[1:]) + tickets.by_phone("+84" + citizen[1:])
    assert len(filed) == 1
    acks = [m for m in providers.state.outbox if m["to"] in ("+84" + victim[1:], "+84" + citizen[1:])]
    assert len(acks) == 1


# Source allowlists


@pytest.fixture
def esms_only_from(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ESMS_SOURCE_CIDRS", "203.0.113.0/24,2001:db8::/32")
    monkeypatch.setenv("ZALO_SOURCE_CIDRS", "198.51.100.16/28")
    settings.cache_clear()
    yield
    monkeypatch.delenv("ESMS_SOURCE_CIDRS")
    monkeypatch.delenv("ZALO_SOURCE_CIDRS")
    settings.cache_clear()


def _from(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    from chalice.local import LambdaEventConverter

    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)


def test_an_allowlist_refuses_other_sources_before_anything_else(client: Any, esms_only_from: None, sqs: Any,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    before = _items()
    capsys.readouterr()
    # Given eSMS may call only from 203.0.113.0/24 and Zalo only from 198.51.100.16/28:
    # a correctly signed, fresh MO and Zalo event from the test client's 127.0.0.1 are refused
    phone = unique_phone()
    refused_mo = _esms(client, _mo(_now(), "84" + phone[1:]))
    refused_zalo = _zalo(client, _now())
    assert (refused_mo.status_code, refused_zalo.status_code) == (403, 403)
    assert refused_mo.json_body["error"]["code"] == "forbidden"
    assert _rejections(capsys) == [("esms", "source"), ("zalo", "source")]
    assert drain(sqs, settings().inbound_queue_url) == [] and _items() == before
    # And the other providers, with no list, still take any source
    assert _gateway(client, str(int(time.time()))).status_code == 200
    # When the MO comes from eSMS's network, it is taken
    _from(monkeypatch, "203.0.113.77")
    assert _esms(client, _mo(_now(), "84" + phone[1:])).status_code == 200
    assert sorted(m["provider"] for m in drain(sqs, settings().inbound_queue_url)) == ["android_gateway", "esms"]


def test_the_template_passes_each_providers_allowlist_to_the_api_function() -> None:
    from infra.deploy import PARAMETERS
    from tests.conftest import ROOT

    api = json.loads((ROOT / "infra" / "api.json").read_text())
    variables = api["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    for provider in ("zalo", "android_gateway", "smssync", "esms"):
        variable = f"{provider.upper()}_SOURCE_CIDRS"
        parameter = variables[variable]["Ref"]
        declared = api["Parameters"][parameter]
        assert declared["Default"] == "" and PARAMETERS[parameter] == variable
        pattern = re.compile(declared["AllowedPattern"])
        for good in ("", "203.0.113.0/24", "203.0.113.7/32,2001:db8::/32"):
            assert pattern.fullmatch(good)
        for bad in ("203.0.113.0/24, 10.0.0.0/8", "203.0.113.7", "any"):
            assert not pattern.fullmatch(bad)
