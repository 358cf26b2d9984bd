"""Where operators and citizens meet the knowledge base, on the emulator (real routes, no browser): the ticket
page suggests the article beside the reply box and "Dùng bài này" works without JavaScript (typed text kept,
nothing sent); the reply records which article and version answered it and counts the use; "Không có bài phù
hợp" adds a gap with personal data masked; /hoi-dap finds the article typed without diacritics, shows its
source and date, lists categories, 404s an unknown article; announcements head the report form, /hoi-dap and
the console; the suggestion endpoint is bounded; an SMS question is answered automatically only where
supervisors switched it on, and the ticket stays open."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.domain.permissions import user_from_claims
from chalicelib.services import kb
from chalicelib.store import kb as kb_store
from chalicelib.store import outbound, tickets
from tests.conftest import unique_phone

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
SUPERVISOR = user_from_claims({"sub": "k3-sup", "email": "giamsat@demo.1022.vn", "cognito:groups": ["supervisor"]})
ARTICLE = "k3-can-cuoc-tre-em"
NOTICE = "k3-thong-bao-cat-nuoc"
EXPIRED = "k3-can-cuoc-quy-dinh-cu"
QUESTION = "Cho tôi hỏi thủ tục làm căn cước cho con"


def _articles() -> list[dict[str, Any]]:
    today = datetime.now(timezone.utc).date()
    return [
        {"id": ARTICLE, "kind": "article", "title": "Làm thẻ căn cước cho trẻ em dưới 14 tuổi",
         "questions": "thủ tục làm căn cước cho con\nlàm căn cước cho trẻ em ở đâu\ncon 6 tuổi có làm căn cước được không",
         "answer": "Cha, mẹ hoặc người giám hộ đưa trẻ đến Công an cấp xã nơi cư trú hoặc nộp trên Cổng dịch vụ "
                   "công quốc gia; trẻ dưới 6 tuổi không cần thu nhận vân tay và ảnh. Lệ phí theo quy định.",
         "category": "thu-tuc-hanh-chinh", "agency": "cong-an-tinh",
         "source": {"number": "17/2024/TT-BCA", "date": "2024-05-15", "body": "Bộ Công an (dữ liệu mẫu)",
                    "url": "https://vanban.example.vn/17-2024-tt-bca"}, "valid_from": "2024-07-01"},
        {"id": NOTICE, "kind": "announcement", "title": "Tạm ngưng cấp nước khu vực phường Tân Ninh",
         "questions": "cắt nước phường tân ninh",
         "answer": "Tạm ngưng cấp nước từ 8 giờ đến 17 giờ để sửa đường ống (dữ liệu mẫu).",
         "category": "dien-nuoc", "agency": "so-xay-dung",
         "source": {"number": "45/TB-CTN", "date": str(today), "body": "Công ty cấp nước (dữ liệu mẫu)"},
         "valid_from": str(today - timedelta(days=1)), "valid_until": str(today + timedelta(days=2))},
        {"id": EXPIRED, "kind": "article", "title": "Làm căn cước cho con theo quy định cũ",
         "questions": "thủ tục làm căn cước cho con\nlàm căn cước cho con ở đâu",
         "answer": "Hướng dẫn cũ, đã hết hiệu lực (dữ liệu mẫu).", "category": "thu-tuc-hanh-chinh",
         "agency": "cong-an-tinh", "source": {"number": "01/2020/TT-BCA", "date": "2020-01-01", "body": "Bộ Công an"},
         "valid_from": "2020-01-01", "valid_until": str(today - timedelta(days=1))},
    ]


@pytest.fixture(scope="module")
def published(stack: Any) -> None:
    kb.load_published(_articles(), "staff:giamsat@demo.1022.vn", datetime.now(timezone.utc))
    kb_store.forget_index()


def _report(client: Any, text: str) -> str:
    created = client.http.post("/api/v1/reports", headers=JSON, body=json.dumps(
        {"description": text, "category": "thu-tuc-hanh-chinh", "area": "tan-ninh", "phone": unique_phone(),
         "consent_contact": True}, ensure_ascii=False).encode())
    assert created.status_code == 201, created.body
    return created.json_body["tracking_code"]


def _post(client: Any, token: str, code: str, fields: dict[str, str]) -> Any:
    return client.http.post(f"/staff/tickets/{code}", headers={**FORM, "Cookie": f"hl_id={token}; hl_csrf=c"},
                            body=urlencode({"csrf": "c", **fields}).encode())


def test_the_ticket_page_suggests_the_article_and_one_click_answers_with_it(
        client: Any, staff: dict[str, str], providers: Any, published: None) -> None:
    code = _report(client, QUESTION)
    page = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"})
    html = page.body.decode()
    # The article is suggested beside the reply box, its button carrying the answer and its source
    suggestions = re.search(r'id="kb-suggestions">(.*?)</ul>', html, re.S)
    assert suggestions and "Làm thẻ căn cước cho trẻ em dưới 14 tuổi" in suggestions.group(1)
    assert kb.article(EXPIRED, user=SUPERVISOR)["live_version"] and EXPIRED not in suggestions.group(1)  # expired
    button = re.search(rf'name="kb_use" value="({ARTICLE}:\d+)" data-text="([^"]*)"', html)
    assert button and "Công an cấp xã" in unescape(button.group(2)) and "17/2024/TT-BCA" in unescape(button.group(2))
    version = re.search(r'name="version" value="(\d+)"', html).group(1)  # type: ignore[union-attr]
    # Without JavaScript: "Dùng bài này" brings the form back, typed text first, the answer after it, nothing sent
    asked = _post(client, staff["operator"], code, {"version": version, "action": "reply", "kb_use": button.group(1),
                                                    "text": "Chào anh,"})
    body = asked.body.decode()
    box = re.search(r'<textarea id="reply-text" name="text">(.*?)</textarea>', body, re.S)
    assert asked.status_code == 200 and box and unescape(box.group(1)).startswith("Chào anh,\n\nCha, mẹ hoặc người")
    assert f'name="kb_article" class="kb-article" value="{button.group(1)}"' in body
    assert "reply" not in [e.kind for e in tickets.timeline(code)]
    # When the reply is sent, its timeline event names the article and version, and the use is counted
    month = kb.local_month(datetime.now(timezone.utc))
    before = next((u["uses"] for u in kb.most_used(month) if u["id"] == ARTICLE), 0)
    sent = _post(client, staff["operator"], code, {"version": version, "action": "reply", "kb_article": button.group(1),
                                                   "text": unescape(box.group(1)), "sms": "1"})
    assert sent.status_code == 303
    (reply,) = [e for e in tickets.timeline(code) if e.kind == "reply"]
    assert reply.detail["kb_article"] == ARTICLE and reply.detail["kb_version"] == int(button.group(1).split(":")[1])
    assert next(u["uses"] for u in kb.most_used(month) if u["id"] == ARTICLE) == before + 1
    used = client.http.get(f"/staff/hoi-dap/dung-nhieu?thang={month}", headers={"Cookie": f"hl_id={staff['supervisor']}"})
    assert re.search(rf'href="/staff/hoi-dap/bai/{ARTICLE}">[^<]+</a></td><td>{before + 1}</td>', used.body.decode())
    assert client.http.get("/staff/hoi-dap/dung-nhieu", headers={"Cookie": f"hl_id={staff['operator']}"}).status_code == 403
    again = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    assert "Theo bài hỏi đáp:</span> <span class=\"text\">Làm thẻ căn cước cho trẻ em dưới 14 tuổi (bản" in again
    # The official answer written from the article records it too (once the ticket is routed)
    from tests.integration.test_channels import pump

    pump()
    again = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    version = re.search(r'name="version" value="(\d+)"', again).group(1)  # type: ignore[union-attr]
    resolved = _post(client, staff["operator"], code, {"version": version, "action": "resolve",
                                                       "kb_article": button.group(1), "answer": "Chào anh, " + button.group(2)})
    assert resolved.status_code == 303
    (answered,) = [e for e in tickets.timeline(code) if e.kind == "answered"]
    assert answered.detail["kb_article"] == ARTICLE
    assert next(u["uses"] for u in kb.most_used(month) if u["id"] == ARTICLE) == before + 2


def test_no_fitting_article_adds_a_gap_with_personal_data_masked(client: Any, staff: dict[str, str],
                                                                  published: None) -> None:
    phone = unique_phone()
    code = _report(client, f"Xin hỏi thủ tục đổi tên cho con, gọi tôi số {phone} nhé")
    html = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    version = re.search(r'name="version" value="(\d+)"', html).group(1)  # type: ignore[union-attr]
    assert 'id="kb-gap">Không có bài phù hợp</button>' in html
    done = _post(client, staff["operator"], code, {"version": version, "action": "kb_gap"})
    assert done.status_code == 303
    gap = next(g for g in kb.gaps(SUPERVISOR)["gaps"] if g["code"] == code)
    assert "đổi tên cho con" in gap["text"] and phone not in gap["text"] and phone[-4:] not in gap["text"]
    assert gap["category"] == "thu-tuc-hanh-chinh"


def test_a_gap_masks_the_reporters_name_and_goes_when_the_ticket_is_anonymised(
        client: Any, staff: dict[str, str], published: None) -> None:
    from chalicelib.services import privacy

    created = client.http.post("/api/v1/reports", headers=JSON, body=json.dumps(
        {"description": "Tôi là Lê Thị Hồng Nhung, hỏi thủ tục đổi họ cho con; chị Nhung ở ấp 3", "name":
         "Lê Thị Hồng Nhung", "category": "thu-tuc-hanh-chinh", "area": "tan-ninh", "phone": unique_phone(),
         "consent_contact": True}, ensure_ascii=False).encode())
    code = created.json_body["tracking_code"]
    html = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    version = re.search(r'name="version" value="(\d+)"', html).group(1)  # type: ignore[union-attr]
    assert _post(client, staff["operator"], code, {"version": version, "action": "kb_gap"}).status_code == 303
    gap = next(g for g in kb.gaps(SUPERVISOR)["gaps"] if g["code"] == code)
    assert "đổi họ cho con" in gap["text"] and "Nhung" not in gap["text"] and "Hồng" not in gap["text"]
    privacy.anonymise_ticket(tickets.get_ticket(code), datetime.now(timezone.utc), "staff:admin@demo.1022.vn", "test")
    assert not [g for g in kb.gaps(SUPERVISOR)["gaps"] if g["code"] == code]


def test_a_failing_article_check_never_stops_a_reply(client: Any, staff: dict[str, str], published: None,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    code = _report(client, QUESTION)
    html = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"}).body.decode()
    version = re.search(r'name="version" value="(\d+)"', html).group(1)  # type: ignore[union-attr]

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("index unreadable qzx-secret")

    monkeypatch.setattr(kb, "article", broken)
    sent = _post(client, staff["operator"], code, {"version": version, "action": "reply",
                                                   "kb_article": f"{ARTICLE}:1", "text": "Chào anh, đã nhận."})
    assert sent.status_code == 303
    (reply,) = [e for e in tickets.timeline(code) if e.kind == "reply"]
    assert "kb_article" not in (reply.detail or {})
    assert any(getattr(r, "error_type", None) == "RuntimeError" for r in caplog.records)
    assert "qzx-secret" not in caplog.text and not any("qzx-secret" in str(r.__dict__) for r in caplog.records)


def test_a_confidential_category_cannot_be_switched_to_automatic_answers(client: Any, staff: dict[str, str],
                                                                         published: None) -> None:
    from chalicelib.domain.errors import ValidationFailed

    _, version = kb.auto_answer_settings()
    with pytest.raises(ValidationFailed) as refused:
        kb.set_auto_answer(SUPERVISOR, "tham-nhung-tieu-cuc", True, version)
    (error,) = refused.value.errors
    assert "bảo mật" in error.vi and "confidential" in error.en
    page = "/staff/hoi-dap/tu-dong-tra-loi"
    shown = client.http.get(page, headers={"Cookie": f"hl_id={staff['supervisor']}"}).body.decode()
    assert 'id="switch-thu-tuc-hanh-chinh"' in shown and 'switch-tham-nhung-tieu-cuc' not in shown
    assert 'switch-an-ninh-trat-tu' not in shown and 'id="auto-answer-cost"' in shown
    cookie = {**FORM, "Cookie": f"hl_id={staff['supervisor']}; hl_csrf=c"}
    posted = client.http.post(page, headers=cookie, body=urlencode(
        {"csrf": "c", "switch_version": str(version), "category": "tham-nhung-tieu-cuc", "on": "1"}).encode())
    assert posted.status_code == 400 and "tham-nhung-tieu-cuc" not in kb.auto_answer_categories()


def test_the_public_qa_finds_it_without_diacritics_and_shows_source_and_date(client: Any, published: None) -> None:
    found = client.http.get("/hoi-dap?" + urlencode({"q": "lam can cuoc cho con"}))
    html = found.body.decode()
    assert found.status_code == 200 and f'href="/hoi-dap/{ARTICLE}"' in html
    first = re.search(r'<article class="card result">.*?href="([^"]+)"', html, re.S)
    assert first and first.group(1) == f"/hoi-dap/{ARTICLE}"
    assert 'href="/hoi-dap/linh-vuc/thu-tuc-hanh-chinh"' in html and "<script" not in html
    article = client.http.get(f"/hoi-dap/{ARTICLE}").body.decode()
    assert "Làm thẻ căn cước cho trẻ em dưới 14 tuổi" in article and "17/2024/TT-BCA ngày 15/05/2024" in article
    assert "Bộ Công an (dữ liệu mẫu)" in article and 'href="https://vanban.example.vn/17-2024-tt-bca"' in article
    listed = client.http.get("/hoi-dap/linh-vuc/thu-tuc-hanh-chinh").body.decode()
    assert f'href="/hoi-dap/{ARTICLE}"' in listed
    assert client.http.get("/hoi-dap/khong-co-bai-nay").status_code == 404
    assert EXPIRED not in html and client.http.get(f"/hoi-dap/{EXPIRED}").status_code == 404
    assert client.http.get("/hoi-dap/linh-vuc/khong-co").status_code == 404
    nothing = client.http.get("/hoi-dap?q=xyzzy+qwerty").body.decode()
    assert 'id="no-results"' in nothing


def test_announcements_head_the_form_the_qa_and_the_console(client: Any, staff: dict[str, str],
                                                             published: None) -> None:
    title = "Tạm ngưng cấp nước khu vực phường Tân Ninh"
    for page in (client.http.get("/"), client.http.get("/hoi-dap"),
                 client.http.get("/staff/inbox", headers={"Cookie": f"hl_id={staff['operator']}"})):
        html = page.body.decode()
        assert page.status_code == 200 and 'id="announcements"' in html and title in html
        assert html.index('id="announcements"') < html.index("<h1")


def test_the_suggestion_endpoint_answers_a_question_being_typed_and_is_bounded(client: Any, published: None) -> None:
    asked = client.http.post("/api/v1/kb/suggest", headers=JSON, body=json.dumps(
        {"text": "thu tuc lam can cuoc cho con", "category": "thu-tuc-hanh-chinh"}).encode())
    assert asked.status_code == 200
    assert asked.json_body["articles"][0]["id"] == ARTICLE and asked.json_body["articles"][0]["url"] == f"/hoi-dap/{ARTICLE}"
    assert client.http.post("/api/v1/kb/suggest", headers=JSON, body=b'{"text": "can"}').json_body == {"articles": []}
    too_long = client.http.post("/api/v1/kb/suggest", headers=JSON, body=json.dumps({"text": "a " * 1001}).encode())
    assert too_long.status_code == 400 and "text" in too_long.json_body["error"]["fields"]
    assert client.http.post("/api/v1/kb/suggest", headers=JSON, body=b'{"text": 5}').status_code == 400


def test_an_sms_question_is_answered_automatically_only_where_switched_on(client: Any, providers: Any,
                                                                          staff: dict[str, str], published: None) -> None:
    from tests.integration.test_channels import gateway_post, pump, zalo_post

    def ask() -> str:
        phone = unique_phone()
        assert gateway_post(client, phone, "thu tuc lam can cuoc cho con o dau").status_code == 200
        pump()
        (ticket,) = tickets.by_phone("+84" + phone[1:])
        return ticket.tracking_code

    # Switched off: no automatic answer
    off = ask()
    assert "kb_auto_answer" not in [e.kind for e in tickets.timeline(off)]
    categories, version = kb.auto_answer_settings()
    # An operator may not switch it; a supervisor does, on the page, over the version the page showed
    page = "/staff/hoi-dap/tu-dong-tra-loi"
    assert client.http.get(page, headers={"Cookie": f"hl_id={staff['operator']}"}).status_code == 403
    shown = client.http.get(page, headers={"Cookie": f"hl_id={staff['supervisor']}"}).body.decode()
    assert 'id="switch-thu-tuc-hanh-chinh">Bật</button>' in shown or "thu-tuc-hanh-chinh" in categories
    switch = {"csrf": "c", "switch_version": str(version), "category": "thu-tuc-hanh-chinh", "on": "1"}
    cookie = {**FORM, "Cookie": f"hl_id={staff['supervisor']}; hl_csrf=c"}
    assert client.http.post(page, headers=cookie, body=urlencode(switch).encode()).status_code == 303
    stale = client.http.post(page, headers=cookie, body=urlencode({**switch, "on": "0"}).encode())
    assert stale.status_code == 409 and "thu-tuc-hanh-chinh" in kb.auto_answer_categories()
    try:
        code = ask()
        events = {e.kind: e for e in tickets.timeline(code)}
        answered = events["kb_auto_answer"]
        assert answered.detail["kb_article"] == ARTICLE and "Tự động trả lời bằng bài" in answered.public_text
        (message,) = [m for m in outbound.of_ticket(code) if m.kind == "kb_answer"]
        assert message.channel == "sms" and message.text.startswith(f"1022 {code}:") and len(message.text) <= 160
        assert tickets.get_ticket(code).status in ("assigned", "triage")  # left open for an operator to confirm
        # By Zalo: the short answer itself, with diacritics
        user = f"z{uuid.uuid4().int % 10**18}"
        assert zalo_post(client, user, "Cho em hỏi thủ tục làm căn cước cho con ạ").status_code == 200
        pump()
        (zalo_ticket,) = tickets.by_zalo(user)
        (sent,) = [m for m in outbound.of_ticket(zalo_ticket.tracking_code) if m.kind == "kb_answer"]
        assert sent.channel == "zalo" and "Công an cấp xã" in sent.text and "tổng đài viên sẽ xem lại" in sent.text
        assert sent.reply_to and sent.reply_to == tickets.get_ticket(zalo_ticket.tracking_code).last_inbound_ref
    finally:
        _, version = kb.auto_answer_settings()
        kb.set_auto_answer(SUPERVISOR, "thu-tuc-hanh-chinh", "thu-tuc-hanh-chinh" in categories, version)



def test_the_words_searched_are_in_no_log_and_a_failing_search_never_breaks_the_ticket_page(
        client: Any, staff: dict[str, str], published: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    code = _report(client, "Hỏi về thủ tục làm căn cước cho con")

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("index unreadable")

    monkeypatch.setattr(kb, "search", broken)
    words = "bí mật riêng tư qzx"
    assert client.http.get("/hoi-dap?" + urlencode({"q": words})).status_code == 500
    asked = client.http.post("/api/v1/kb/suggest", headers=JSON, body=json.dumps({"text": words}).encode())
    assert asked.status_code == 500 and asked.json_body["error"]["request_id"]
    page = client.http.get(f"/staff/tickets/{code}", headers={"Cookie": f"hl_id={staff['operator']}"})
    assert page.status_code == 200 and 'id="kb-suggestions"' not in page.body.decode()
    logged = caplog.text + " ".join(json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records)
    assert "knowledge base suggestions unavailable" in logged and asked.json_body["error"]["request_id"] in logged
    for secret in ("bí mật", "qzx", "căn cước cho con"):
        assert secret not in logged
