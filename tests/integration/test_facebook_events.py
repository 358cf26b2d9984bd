"""The fanpage's other webhook items on the emulator, through the real route and consumers: standby
items, postbacks (the "Get Started" button and the menu's buttons), delivery and read receipts
against our own messages, entries for another page, replayed old items and images copied from
Meta's expiring CDN links into the photo bucket."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from chalicelib.config import settings
from chalicelib.services import lookup
from chalicelib.store import outbound, photos, receipts, tickets
from chalicelib.web.timeline import message_entry
from devstack.fakes import FAKE_JPEG
from tests.integration.test_call_pages import Browser
from tests.integration.test_channels import pump
from tests.integration.test_facebook_inbound import PAGE, _empty_queues, item, post, psid, sent_to  # noqa: F401

NOW_MS = lambda: int(time.time() * 1000)  # noqa: E731


def entry(*messaging: dict[str, Any], page: str = PAGE, **extra: Any) -> dict[str, Any]:
    return {"id": page, "time": NOW_MS(), "messaging": list(messaging), **extra}


def raw(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"object": "page", "entry": list(entries)}, ensure_ascii=False).encode()


def dropped(capsys: pytest.CaptureFixture[str]) -> list[str]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"CloudWatchMetrics"' in line]
    return [m["reason"] for m in lines if "WebhookDropped" in m]


def test_standby_items_open_nothing_and_are_counted_without_the_persons_words(
        client: Any, providers: Any, capsys: pytest.CaptureFixture[str]) -> None:
    person = psid()
    standby = item(person, "Tin nhắn riêng do hộp thư của Meta xử lý")
    capsys.readouterr()
    assert post(client, raw({"id": PAGE, "time": NOW_MS(), "standby": [standby, standby]})).status_code == 200
    pump()
    out = capsys.readouterr().out
    assert tickets.by_zalo(person) == [] and sent_to(providers, person) == []
    assert [json.loads(line)["reason"] for line in out.splitlines() if "WebhookDropped" in line] == ["standby"] * 2
    assert "Tin nhắn riêng" not in out and person not in out


def test_get_started_is_welcomed_once_and_a_menu_button_opens_a_ticket_with_its_title(
        client: Any, providers: Any) -> None:
    person, renamed, other = psid(), psid(), psid()
    started = {"sender": {"id": person}, "recipient": {"id": PAGE}, "timestamp": NOW_MS(),
               "postback": {"title": "Get Started", "payload": "START", "mid": f"m_{uuid.uuid4().hex}"}}
    # the page's button may carry another title: its payload still says it is "Get Started"
    renamed_start = {"sender": {"id": renamed}, "recipient": {"id": PAGE}, "timestamp": NOW_MS(),
                     "postback": {"title": "Nhắn tin cho trang", "payload": "GET_STARTED"}}
    button = {"sender": {"id": other}, "recipient": {"id": PAGE}, "timestamp": NOW_MS(),
              "postback": {"title": "Hỏi thủ tục cấp phép xây dựng", "payload": "HOI_THU_TUC"}}  # no mid
    for _ in range(3):  # Meta redelivers
        assert post(client, raw(entry(started, renamed_start, button))).status_code == 200
        pump()
    for someone in (person, renamed):
        assert tickets.by_zalo(someone) == []
        (welcome,) = sent_to(providers, someone)
        assert "Gửi phản ánh" in welcome
    (ticket,) = tickets.by_zalo(other)
    assert ticket.channel == "facebook" and ticket.text == "Hỏi thủ tục cấp phép xây dựng"
    (ack,) = sent_to(providers, other)
    assert ticket.tracking_code in ack


def _sent_ack(client: Any, person: str) -> tuple[str, Any]:
    assert post(client, raw(entry(item(person, "Rác thải đổ trộm ven kênh")))).status_code == 200
    pump()
    (ticket,) = tickets.by_zalo(person)
    (ack,) = [m for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "ack"]
    assert ack.state == "sent" and ack.provider_ref
    return ticket.tracking_code, ack


def _receipt(person: str, kind: str, watermark: int, **extra: Any) -> dict[str, Any]:
    return {"sender": {"id": person}, "recipient": {"id": PAGE}, "timestamp": NOW_MS(),
            kind: {"watermark": watermark, **extra}}


def _receipt_of(code: str) -> tuple[str | None, str]:
    (ack,) = [m for m in outbound.of_ticket(code) if m.kind == "ack"]
    shown = next(e for e in lookup.staff_timeline(code) if e["type"] == "message_out" and e["kind"] == "ack")
    return ack.receipt, message_entry(shown, (), {})["receipt"]


def test_delivery_and_read_receipts_mark_our_message_up_to_their_watermark_and_never_go_back(
        client: Any, providers: Any) -> None:
    person = psid()
    code, ack = _sent_ack(client, person)
    sent_ms = int(ack.updated_at.timestamp() * 1000)
    # a watermark before our message went out says nothing about it
    assert post(client, raw(entry(_receipt(person, "read", sent_ms - 60_000)))).status_code == 200
    pump()
    assert _receipt_of(code) == (None, "")
    assert post(client, raw(entry(_receipt(person, "delivery", NOW_MS(), mids=[ack.provider_ref])))).status_code == 200
    pump()
    assert _receipt_of(code) == ("delivered", "Đã nhận")
    assert post(client, raw(entry(_receipt(person, "read", NOW_MS())))).status_code == 200
    pump()
    assert _receipt_of(code) == ("read", "Đã xem")
    # a late delivery receipt (Meta does not keep order) leaves it read
    assert post(client, raw(entry(_receipt(person, "delivery", NOW_MS(), mids=[ack.provider_ref])))).status_code == 200
    pump()
    assert _receipt_of(code) == ("read", "Đã xem")
    # a delivery receipt handled while the read one still found the marker (two consumers at once)
    receipts.remember_sent(ack, person, ack.provider_ref, ack.updated_at)
    assert post(client, raw(entry(_receipt(person, "delivery", NOW_MS())))).status_code == 200
    pump()
    assert _receipt_of(code) == ("read", "Đã xem")
    assert tickets.by_zalo(person)[0].tracking_code == code and len(sent_to(providers, person)) == 1


def test_the_ticket_page_shows_the_receipt(client: Any, providers: Any, staff: dict[str, str]) -> None:
    person = psid()
    code, _ = _sent_ack(client, person)
    assert post(client, raw(entry(_receipt(person, "read", NOW_MS())))).status_code == 200
    pump()
    page = Browser(client, staff["operator"]).get(f"/staff/tickets/{code}").body.decode()
    assert '<span class="receipt">Đã xem</span>' in page


@pytest.fixture
def page_id(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FACEBOOK_PAGE_ID", PAGE)
    settings.cache_clear()
    yield
    monkeypatch.delenv("FACEBOOK_PAGE_ID")
    settings.cache_clear()


def test_an_entry_for_another_page_is_quarantined_not_opened(client: Any, providers: Any, page_id: None,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    ours, stray = psid(), psid()
    before = len(outbound.quarantined(limit=500))
    capsys.readouterr()
    assert post(client, raw(entry(item(stray, "Tin của trang khác"), page="999999999999"),
                            entry(item(ours, "Đèn tín hiệu giao thông hỏng")))).status_code == 200
    pump()
    assert tickets.by_zalo(stray) == [] and len(tickets.by_zalo(ours)) == 1
    kept = outbound.quarantined(limit=500)
    assert len(kept) == before + 1 and "999999999999" in kept[0].raw
    assert dropped(capsys) == ["other_page"]


def test_an_item_older_than_seven_days_is_dropped_as_a_replay(client: Any, providers: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    old, recent = psid(), psid()
    replayed, late = item(old, "Phản ánh cũ gửi lại"), item(recent, "Gửi từ sáu ngày trước, mạng chậm")
    replayed["timestamp"] = NOW_MS() - 8 * 24 * 3600 * 1000
    late["timestamp"] = NOW_MS() - 6 * 24 * 3600 * 1000
    capsys.readouterr()
    assert post(client, raw(entry(replayed, late))).status_code == 200
    pump()
    assert tickets.by_zalo(old) == [] and sent_to(providers, old) == []
    assert len(tickets.by_zalo(recent)) == 1
    assert dropped(capsys) == ["too_old"]
    assert post(client, raw(entry(item(recent, "Bổ sung")))).status_code == 200
    assert "messenger items dropped" not in capsys.readouterr().out  # nothing dropped, nothing said


def test_images_are_copied_into_the_photo_bucket_and_a_failed_copy_keeps_the_link(client: Any, providers: Any,
                                                                                  staff: dict[str, str]) -> None:
    person = psid()
    cdn = f"{providers.base}/fbcdn"
    links = [f"{cdn}/photo.jpg", f"{cdn}/big.jpg", f"{cdn}/page.jpg", f"{cdn}/gone.jpg",
             cdn.replace("127.0.0.1", "localhost") + "/photo.jpg"]  # a host that is not Meta's CDN
    first = item(person, "Ổ gà lớn giữa đường", attachments=[{"type": "image", "payload": {"url": u}} for u in links])
    assert post(client, raw(entry(first))).status_code == 200
    assert post(client, raw(entry(first))).status_code == 200  # redelivered: the same copy, one ticket
    pump()
    (ticket,) = tickets.by_zalo(person)
    keys = [a.key for a in ticket.attachments]
    assert photos.is_photo_key(keys[0]) and photos.read(keys[0]) == FAKE_JPEG
    assert keys[1:] == links[1:]  # too big, not an image, gone, not Meta's host: the link stays, the message is kept
    # staff see the copy as a picture from our bucket and each link left as plain text: no page loads Meta's CDN
    answer = Browser(client, staff["operator"]).get(f"/staff/tickets/{ticket.tracking_code}")
    page, policy = answer.body.decode(), answer.headers["Content-Security-Policy"]
    assert page.count('<img src="') == 1 and f'<img src="{cdn}' not in page and 'href="' + cdn not in page
    assert all(f'<code class="link-text" style="word-break: break-all">{link}</code>' in page for link in links[1:])
    assert providers.base not in policy and "fbcdn" not in policy
    later = item(person, "Thêm ảnh", attachments=[{"type": "image", "payload": {"url": f"{cdn}/photo.jpg"}}])
    assert post(client, raw(entry(later))).status_code == 200
    pump()
    appended = [e for e in tickets.timeline(ticket.tracking_code) if e.kind == "message_in"]
    (added,) = appended[0].detail["attachments"]
    assert photos.is_photo_key(added["url"]) and added["url"] != keys[0]


def test_a_slow_cdn_keeps_the_link_within_the_copy_budget(providers: Any) -> None:
    from chalicelib.channels import facebook

    hosts, cdn = ("127.0.0.1",), f"{providers.base}/fbcdn"
    start = time.monotonic()
    with pytest.raises(facebook.NotKept):  # the CDN answers after a second, the message's budget ends first
        facebook.fetch_image(f"{cdn}/slow.jpg", 10 * 1024 * 1024, hosts, deadline=start + 0.3)
    assert time.monotonic() - start < 0.9
    with pytest.raises(facebook.NotKept, match="host"):  # a broken link is kept as it is, never a crash
        facebook.fetch_image("https://[scontent.fbcdn.net/x.jpg", 10 * 1024 * 1024, ("fbcdn.net",))
    with pytest.raises(facebook.NotKept, match="time"):  # the budget spent on earlier images: not even asked
        facebook.fetch_image(f"{cdn}/photo.jpg", 10 * 1024 * 1024, hosts, deadline=time.monotonic())
    assert facebook.fetch_image(f"{cdn}/photo.jpg", 10 * 1024 * 1024, hosts,
                                deadline=time.monotonic() + facebook.COPY_BUDGET_S) == (FAKE_JPEG, "image/jpeg")


def test_the_ack_leaves_a_marker_that_expires(client: Any) -> None:
    from chalicelib.store.models import MessengerSentModel

    person = psid()
    _, ack = _sent_ack(client, person)
    (marker,) = MessengerSentModel.query(f"FBOUT#{person}")
    assert (marker.out_pk, marker.out_sk) == (ack.pk, ack.sk) and marker.sk.endswith("#" + ack.provider_ref)
    assert timedelta(days=7) < marker.expires_at - datetime.now(timezone.utc) <= timedelta(days=8)
