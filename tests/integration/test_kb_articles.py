"""Knowledge-base articles on the emulator: who may draft, edit and publish; a stale save is refused with
nothing lost; every save is a version with a diff; the daily expiry withdraws an article and e-mails its
owner once, and search drops it at once anyway; PDF sources upload like photos; the gaps list."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain import kb as rules
from chalicelib.domain.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from chalicelib.domain.permissions import user_from_claims
from chalicelib.services import kb
from chalicelib.store import kb as kb_store

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)


def _user(role: str, agency: str | None = None, email: str | None = None) -> Any:
    claims = {"sub": f"kb-{role}", "email": email or f"{role}@demo.1022.vn", "name": role, "cognito:groups": [role]}
    if agency:
        claims["custom:agency"] = agency
    return user_from_claims(claims)


OFFICER = _user("agency_officer", "so-xay-dung", "soxaydung@demo.1022.vn")
POLICE = _user("agency_officer", "cong-an-tinh", "congan@demo.1022.vn")
OPERATOR = _user("operator")
SUPERVISOR = _user("supervisor")
ADMIN = _user("admin")


def _form(word: str, **changes: Any) -> dict[str, Any]:
    form = {"kind": "article", "title": f"Cấp phép xây dựng nhà ở riêng lẻ {word}",
            "questions": f"xin giấy phép xây nhà {word} ở đâu\nxin phep xay nha {word} mat bao lau",
            "answer": f"Nộp hồ sơ {word} tại Trung tâm Phục vụ hành chính công; thời hạn 15 ngày.",
            "category": "dat-dai", "agency": "so-xay-dung", "source_number": "12/2026/QĐ-UBND",
            "source_date": "2026-01-15", "source_body": "UBND tỉnh (dữ liệu mẫu)", "valid_from": "2026-01-01"}
    form.update(changes)
    return form


def _word() -> str:
    """A made-up word only this test's article contains, so searches find exactly it."""
    return "kbz" + uuid.uuid4().hex[:6]


@pytest.fixture(autouse=True)
def _fresh_cache(stack: Any) -> None:
    kb_store.forget_index()


def test_an_officer_drafts_their_agency_article_a_supervisor_publishes_it_and_search_finds_it() -> None:
    word = _word()
    # Given an officer of Sở Xây dựng drafting (the form's agency is ignored: always their own)
    draft = kb.create(OFFICER, _form(word, agency="cong-an-tinh"), NOW)
    assert draft["agency"] == "so-xay-dung" and draft["status"] == rules.DRAFT
    assert "publish" not in draft["actions"] and "submit" in draft["actions"]
    # The officer may not publish, and another agency's officer may not even see the draft
    with pytest.raises(Forbidden):
        kb.save(OFFICER, draft["id"], 1, None, "publish", NOW)
    with pytest.raises(rules.ArticleNotFound):
        kb.save(POLICE, draft["id"], 1, _form(word), "save", NOW)
    with pytest.raises(Forbidden):
        kb.create(OPERATOR, _form(word), NOW)
    assert draft["id"] not in _found(f"xin phep xay nha {word}", NOW)   # drafts are never searched
    # When the officer submits and the supervisor publishes
    reviewed = kb.save(OFFICER, draft["id"], 1, None, "submit", NOW)
    assert reviewed["status"] == rules.REVIEW
    published = kb.save(SUPERVISOR, draft["id"], 2, None, "publish", NOW)
    assert published["status"] == rules.PUBLISHED and published["live_version"] == 3
    # Then citizens and operators find it, folded and without diacritics
    hits = kb.search(f"xin phep xay nha {word} o dau", public=True, now=NOW)
    assert hits[0]["id"] == draft["id"]
    hit = hits[0]
    assert hit["version"] == 3 and hit["source"]["number"] == "12/2026/QĐ-UBND"
    assert hit["url"].endswith(f"/hoi-dap/{draft['id']}") and len(hit["short_answer"]) <= 300
    assert word in hit["question"]
    assert kb.article(draft["id"])["title"] == _form(word)["title"]
    # An admin may do everything, also on another agency's article
    kb.save(ADMIN, draft["id"], 3, _form(word, answer="Đã sửa bởi quản trị."), "save", NOW)


def test_a_stale_save_is_refused_and_the_published_version_stays_until_the_edit_is_published() -> None:
    word = _word()
    first = kb.create(SUPERVISOR, _form(word), NOW, action="publish")
    assert first["status"] == rules.PUBLISHED
    # Two editors open version 1; the officer saves first
    kb.save(OFFICER, first["id"], 1, _form(word, answer="Nộp hồ sơ trực tuyến trên Cổng dịch vụ công."), "save", NOW)
    with pytest.raises(rules.ArticleChanged):
        kb.save(SUPERVISOR, first["id"], 1, _form(word, answer="Bản của giám sát"), "save", NOW)
    # Readers still see the published version 1 while version 2 is a draft
    working = kb.article(first["id"], user=SUPERVISOR)
    assert working["status"] == rules.DRAFT and working["live_version"] == 1 and working["version"] == 2
    assert kb.article(first["id"])["answer"].startswith("Nộp hồ sơ " + word)
    with pytest.raises(IllegalTransition):
        kb.save(SUPERVISOR, first["id"], 2, None, "return", NOW)   # a draft is not in review
    kb.save(SUPERVISOR, first["id"], 2, None, "publish", NOW)
    kb_store.forget_index()
    assert kb.article(first["id"])["answer"] == "Nộp hồ sơ trực tuyến trên Cổng dịch vụ công."
    # History lists every version, and the diff shows the answer's change
    assert [h["version"] for h in kb.history(OPERATOR, first["id"])] == [3, 1]   # operators: published versions
    history = kb.history(OFFICER, first["id"])
    assert [(h["version"], h["action"]) for h in history] == [(3, "publish"), (2, "save"), (1, "publish")]
    assert history[0]["live"] and not history[2]["live"]
    changes = kb.version_diff(SUPERVISOR, first["id"], 1, 3)["changes"]
    assert [c["field"] for c in changes] == ["answer", "short_answer"]
    assert ("+", "Nộp hồ sơ trực tuyến trên Cổng dịch vụ công.") in changes[0]["lines"]
    assert any(op == "-" for op, _ in changes[0]["lines"])


def test_bad_input_names_each_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        kb.create(SUPERVISOR, _form("x", title="", questions="", category="nope", valid_from="2026-05-01",
                                    valid_until="2026-04-01", source_url="javascript:alert(1)"), NOW)
    assert {e.field for e in refused.value.errors} == {"title", "questions", "category", "valid_until", "source_url"}


def test_an_article_past_valid_until_leaves_search_at_once_and_the_schedule_expires_it_mailing_the_owner_once(
        stack: Any) -> None:
    word = _word()
    owner = _user("supervisor", email=f"owner-{word}@demo.1022.vn")
    made = kb.create(owner, _form(word, valid_until="2026-12-01"), NOW, action="publish")
    assert kb.search(f"xin phep xay nha {word}", public=False, now=NOW)[0]["id"] == made["id"]
    # The day after valid-until (in Vietnam), before any schedule ran: gone from search and the public page
    later = datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc)   # 00:30 on 2 Dec in Vietnam
    assert made["id"] not in _found(f"xin phep xay nha {word}", later)
    with pytest.raises(rules.ArticleNotFound):
        kb.article(made["id"], now=later)
    # The schedule on 1 Dec (still valid) leaves it alone; on 2 Dec it expires it and mails the owner once
    assert kb.article(made["id"], user=SUPERVISOR)["status"] == rules.PUBLISHED
    kb.expire_due(later - timedelta(hours=1))
    assert kb.article(made["id"], user=SUPERVISOR)["status"] == rules.PUBLISHED
    first = kb.expire_due(later)
    kb.expire_due(later + timedelta(days=1))   # the next day's run: no second e-mail (counted below)
    assert first["expired"] >= 1 and first["emails"] >= 1
    expired = kb.article(made["id"], user=SUPERVISOR)
    assert expired["status"] == rules.EXPIRED and expired["live_version"] is None
    mails = _mails(made["id"])
    assert len(mails) == 1 and mails[0].recipient == owner.email and made["title"] in (mails[0].subject or "")
    # Expired: out of the index for good, even when read with an early date
    kb_store.forget_index()
    assert made["id"] not in _found(f"xin phep xay nha {word}", NOW)


def _found(text: str, now: datetime) -> list[str]:
    return [h["id"] for h in kb.search(text, public=True, now=now, limit=20)]


def _mails(article_id: str) -> list[Any]:
    from chalicelib.store.connection import bind
    from chalicelib.store.models import OutboundModel

    bind()
    return list(OutboundModel.query(f"OUTBOX#kb#{article_id}"))


def test_a_pdf_source_is_uploaded_with_a_presigned_post_checked_for_type_and_size() -> None:
    import requests

    with pytest.raises(ValidationFailed):
        kb.pdf_upload(OFFICER, {"content_type": "image/png", "size": 1000})
    with pytest.raises(ValidationFailed):
        kb.pdf_upload(OFFICER, {"content_type": "application/pdf", "size": 21 * 1024 * 1024})
    with pytest.raises(Forbidden):
        kb.pdf_upload(OPERATOR, {"content_type": "application/pdf", "size": 1000})
    grant = kb.pdf_upload(OFFICER, {"content_type": "application/pdf", "size": 1000})
    body = b"%PDF-1.4\n% demo\n" + b"0" * 100
    sent = requests.post(grant["url"], data=grant["fields"], files={"file": ("qd.pdf", body, "application/pdf")},
                         timeout=10)
    assert sent.status_code in (200, 204)
    word = _word()
    made = kb.create(OFFICER, _form(word, source_pdf_upload=grant["key"]), NOW)
    assert made["source_pdf"].startswith(f"kb/sources/{made['id']}/")
    link = kb.source_pdf_link(made["id"], user=OFFICER)
    assert requests.get(link, timeout=10).content == body
    # An upload that is not a PDF is refused and the article is not changed
    bad = kb.pdf_upload(OFFICER, {"content_type": "application/pdf", "size": 10})
    requests.post(bad["url"], data=bad["fields"], files={"file": ("x.pdf", b"<html>", "application/pdf")},
                  timeout=10)
    with pytest.raises(ValidationFailed):
        kb.save(OFFICER, made["id"], 1, _form(word, source_pdf_upload=bad["key"]), "save", NOW)
    assert kb.article(made["id"], user=OFFICER)["version"] == 1


def test_gaps_are_listed_newest_first_for_supervisors_only() -> None:
    word = _word()
    for n in range(3):
        kb.add_gap(OPERATOR, None, f"hỏi về {word} lần {n}", NOW + timedelta(days=400, seconds=n))
    with pytest.raises(Forbidden):
        kb.gaps(OPERATOR)
    page = kb.gaps(SUPERVISOR)
    mine = [g["text"] for g in page["gaps"] if word in g["text"]]
    assert mine == [f"hỏi về {word} lần 2", f"hỏi về {word} lần 1", f"hỏi về {word} lần 0"]
    with pytest.raises(ValidationFailed):
        kb.add_gap(OPERATOR, None, "   ", NOW)


def test_uses_and_the_auto_answer_switch() -> None:
    word = _word()
    made = kb.create(SUPERVISOR, _form(word), NOW, action="publish")
    month = "2031-01"
    at = datetime(2031, 1, 5, tzinfo=timezone.utc)
    for _ in range(2):
        kb.record_use(made["id"], 1, None, OPERATOR.actor, at)
    assert kb.most_used(month)[0] == {"id": made["id"], "title": made["title"], "uses": 2}
    categories, version = kb.auto_answer_settings()
    with pytest.raises(Forbidden):
        kb.set_auto_answer(OFFICER, "dat-dai", True, version)
    new = kb.set_auto_answer(SUPERVISOR, "dat-dai", True, version)
    assert "dat-dai" in kb.auto_answer_categories()
    with pytest.raises(Conflict):
        kb.set_auto_answer(SUPERVISOR, "dat-dai", False, version)   # a stale switch
    kb.set_auto_answer(SUPERVISOR, "dat-dai", False, new)
    assert "dat-dai" not in kb.auto_answer_categories()


# The staff pages (session cookie + CSRF), through the app


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"hl_id={token}; hl_csrf=a"}


def _post(client: Any, path: str, token: str, form: dict[str, Any]) -> Any:
    from urllib.parse import urlencode

    return client.http.post(path, headers={**_cookie(token), "Content-Type": "application/x-www-form-urlencoded"},
                            body=urlencode({"csrf": "a", **form}).encode())


def test_the_editor_pages_keep_a_stale_edit_and_show_history_and_diff(client: Any, staff: dict[str, str]) -> None:
    word = _word()
    # The officer's new article: their agency only, no publish button
    page = client.http.get("/staff/hoi-dap/bai-moi", headers=_cookie(staff["officer"])).body.decode()
    assert 'value="publish"' not in page and 'value="submit"' in page
    made = _post(client, "/staff/hoi-dap/bai-moi", staff["officer"], {**_form(word), "action": "submit"})
    assert made.status_code == 303
    path = made.headers["Location"]
    article_id = path.rsplit("/", 1)[1]
    # The supervisor sees it waiting for review, and publishes it from the editor
    waiting = client.http.get("/staff/hoi-dap?trang-thai=review", headers=_cookie(staff["supervisor"]))
    assert waiting.status_code == 200 and article_id in waiting.body.decode()
    editor = client.http.get(path, headers=_cookie(staff["supervisor"])).body.decode()
    assert 'value="publish"' in editor and "Chờ duyệt" in editor
    assert _post(client, path, staff["supervisor"], {**_form(word), "version": "1", "action": "publish"}).status_code == 303
    # The officer saves from an old page (version 1): refused with 409, their text still in the form
    typed = "Câu trả lời mới mà cán bộ vừa gõ, không được mất."
    stale = _post(client, path, staff["officer"], {**_form(word, answer=typed), "version": "1", "action": "save"})
    assert stale.status_code == 409
    body = stale.body.decode()
    assert typed in body and "vừa được người khác sửa" in body
    # Another agency's officer cannot save it at all
    assert _post(client, path, staff["police_officer"], {**_form(word), "version": "2", "action": "save"}).status_code == 403
    # History and the diff between versions
    saved = _post(client, path, staff["officer"], {**_form(word, answer=typed), "version": "2", "action": "save"})
    assert saved.status_code == 303
    editor = client.http.get(path, headers=_cookie(staff["operator"])).body.decode()
    # operators read only, and only the published version 2, never the officer's draft (version 3)
    assert "Bản 2" in editor and "đang đăng" in editor and 'value="save"' not in editor and typed not in editor
    assert client.http.get(f"{path}/so-sanh?tu=2&den=3", headers=_cookie(staff["operator"])).status_code == 404
    diff = client.http.get(f"{path}/so-sanh?tu=2&den=3", headers=_cookie(staff["supervisor"])).body.decode()
    assert typed in diff and 'class="added"' in diff and 'class="removed"' in diff
    # The gaps list is the supervisors'
    kb.add_gap(OPERATOR, None, f"câu hỏi {word} chưa có bài", datetime.now(timezone.utc))
    assert word in client.http.get("/staff/hoi-dap/cau-hoi-chua-co", headers=_cookie(staff["supervisor"])).body.decode()
    assert client.http.get("/staff/hoi-dap/cau-hoi-chua-co", headers=_cookie(staff["operator"])).status_code == 403


def test_the_upload_grant_needs_the_csrf_token_and_a_pdf(client: Any, staff: dict[str, str]) -> None:
    import json

    headers = {"Content-Type": "application/json", "Cookie": f"hl_id={staff['officer']}; hl_csrf=a"}
    ok = client.http.post("/staff/hoi-dap/tai-len", headers=headers,
                          body=json.dumps({"csrf": "a", "content_type": "application/pdf", "size": 2000}).encode())
    assert ok.status_code == 200 and json.loads(ok.body)["key"].startswith("kb/uploads/")
    refused = client.http.post("/staff/hoi-dap/tai-len", headers=headers,
                               body=json.dumps({"csrf": "a", "content_type": "text/html", "size": 2000}).encode())
    assert refused.status_code == 400 and json.loads(refused.body)["error"]["fields"]["source_pdf"]["message_en"]
    forged = client.http.post("/staff/hoi-dap/tai-len", headers=headers,
                              body=json.dumps({"csrf": "b", "content_type": "application/pdf", "size": 2000}).encode())
    assert forged.status_code == 403


def test_another_container_sees_a_publish_within_a_minute_and_reads_the_pointer_at_most_once_a_minute() -> None:
    word = _word()
    now = [1000.0]

    def clock() -> float:
        return now[0]

    def unused_build() -> dict[str, Any]:
        raise AssertionError("an index is stored: readers read it, they do not build")

    kb.create(SUPERVISOR, _form(_word()), NOW, action="publish")      # an index is stored
    kb_store.forget_index()
    before = kb_store.cached_index(unused_build, clock)
    # Another container publishes (this one's cache is put back as it was)
    kept = (kb_store._CACHE.key, kb_store._CACHE.document, kb_store._CACHE.checked)
    made = kb.create(SUPERVISOR, _form(word), NOW, action="publish")
    kb_store._CACHE.key, kb_store._CACHE.document, kb_store._CACHE.checked = kept
    now[0] += 59
    assert made["id"] not in kb_store.cached_index(unused_build, clock)["articles"]   # no pointer read yet
    now[0] += 2
    after = kb_store.cached_index(unused_build, clock)
    assert made["id"] in after["articles"] and after["seq"] > before["seq"]


def test_the_live_version_can_be_superseded_while_an_edit_waits_and_its_owner_is_mailed() -> None:
    word = _word()
    owner = _user("supervisor", email=f"owner-{word}@demo.1022.vn")
    made = kb.create(owner, _form(word), NOW, action="publish")
    kb.save(OFFICER, made["id"], 1, _form(word, answer="Bản sửa đang chờ duyệt."), "save", NOW)
    kb.save(OFFICER, made["id"], 2, None, "submit", NOW)
    working = kb.article(made["id"], user=SUPERVISOR)
    assert working["status"] == rules.REVIEW and working["live_version"] == 1
    assert "supersede" in working["actions"] and "expire" in working["actions"]
    after = kb.save(SUPERVISOR, made["id"], 3, None, "supersede", NOW)
    assert after["status"] == rules.REVIEW and after["live_version"] is None   # the edit waits on, nothing is live
    assert after["answer"] == "Bản sửa đang chờ duyệt."
    assert made["id"] not in _found(f"xin phep xay nha {word}", NOW)
    mails = _mails(made["id"])
    assert len(mails) == 1 and mails[0].recipient == owner.email and "bị thay thế" in (mails[0].subject or "")
    with pytest.raises(IllegalTransition):
        kb.save(SUPERVISOR, made["id"], 4, None, "expire", NOW)   # nothing live any more
    # expire likewise, on another article with a draft edit
    other = kb.create(SUPERVISOR, _form(_word()), NOW, action="publish")
    kb.save(SUPERVISOR, other["id"], 1, _form(word, answer="Nháp."), "save", NOW)
    expired = kb.save(SUPERVISOR, other["id"], 2, None, "expire", NOW)
    assert expired["status"] == rules.DRAFT and expired["live_version"] is None


def test_drafts_are_seen_only_by_their_agency_officers_supervisors_and_admins() -> None:
    word = _word()
    draft = kb.create(OFFICER, _form(word), NOW)   # so-xay-dung
    for reader in (OFFICER, SUPERVISOR, ADMIN):
        assert kb.article(draft["id"], user=reader)["status"] == rules.DRAFT
    for reader in (OPERATOR, POLICE):
        with pytest.raises(rules.ArticleNotFound):
            kb.article(draft["id"], user=reader)
        assert draft["id"] not in [r["id"] for r in kb.staff_list(reader, rules.DRAFT)]
    assert draft["id"] in [r["id"] for r in kb.staff_list(SUPERVISOR, rules.DRAFT)]
    # A published article being edited: an operator reads the live version, never the draft
    live = kb.create(SUPERVISOR, _form(word), NOW, action="publish")
    kb.save(OFFICER, live["id"], 1, _form(word, answer="Nội dung nháp chưa duyệt."), "save", NOW)
    seen = kb.article(live["id"], user=OPERATOR)
    assert seen["status"] == rules.PUBLISHED and seen["version"] == 1 and "nháp" not in seen["answer"]
    assert seen["actions"] == []
    assert kb.article(live["id"], user=OFFICER)["answer"] == "Nội dung nháp chưa duyệt."


def test_a_citizen_opens_the_pdf_source_of_a_published_valid_article_only(client: Any) -> None:
    import requests

    grant = kb.pdf_upload(SUPERVISOR, {"content_type": "application/pdf", "size": 1000})
    body = b"%PDF-1.4\n% public\n" + b"1" * 50
    requests.post(grant["url"], data=grant["fields"], files={"file": ("qd.pdf", body, "application/pdf")}, timeout=10)
    today = datetime.now(timezone.utc)
    made = kb.create(SUPERVISOR, _form(_word(), source_pdf_upload=grant["key"]), today, action="publish")
    kb_store.forget_index()
    page = client.http.get(f"/hoi-dap/{made['id']}").body.decode()
    assert f'href="/hoi-dap/{made["id"]}/van-ban" id="source-pdf"' in page
    went = client.http.get(f"/hoi-dap/{made['id']}/van-ban")
    assert went.status_code == 303 and went.headers["Cache-Control"] == "no-store"
    assert requests.get(went.headers["Location"], timeout=10).content == body
    # No PDF, a draft, or an article withdrawn: the missing page, and no link on the article page
    plain = kb.create(SUPERVISOR, _form(_word()), today, action="publish")
    kb_store.forget_index()
    assert 'id="source-pdf"' not in client.http.get(f"/hoi-dap/{plain['id']}").body.decode()
    assert client.http.get(f"/hoi-dap/{plain['id']}/van-ban").status_code == 404
    kb.save(SUPERVISOR, made["id"], 1, None, "expire", today)
    kb_store.forget_index()
    assert client.http.get(f"/hoi-dap/{made['id']}/van-ban").status_code == 404
    draft = kb.create(SUPERVISOR, _form(_word(), source_pdf_upload=grant["key"]), today)   # the upload is still there
    assert draft["source_pdf"] and client.http.get(f"/hoi-dap/{draft['id']}/van-ban").status_code == 404


def test_a_superseded_index_file_stays_for_readers_and_is_tagged_for_the_lifecycle_rule() -> None:
    from chalicelib import aws
    from chalicelib.store.photos import bucket

    kb.create(SUPERVISOR, _form(_word()), NOW, action="publish")
    old = kb_store.pointer().key
    kb.create(SUPERVISOR, _form(_word()), NOW, action="publish")
    current = kb_store.pointer().key
    assert current != old
    s3 = aws.client("s3")
    assert kb_store.read_index(old)["seq"] < kb_store.read_index(current)["seq"]   # the old file is still readable
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket(), Key=old)["TagSet"]}
    assert tags == {"kb-index": "superseded"}
    assert s3.get_object_tagging(Bucket=bucket(), Key=current)["TagSet"] == []   # the current one never expires


def test_gaps_expire_with_the_retention_schedule_and_go_when_the_ticket_is_erased(stack: Any) -> None:
    from chalicelib.store.connection import bind
    from chalicelib.store.models import KbMarkerModel

    code = "TN-" + uuid.uuid4().hex[:6].upper()
    kb.add_gap(OPERATOR, code, f"hỏi về {code}", NOW, category="dat-dai")
    kb.add_gap(OPERATOR, None, f"hỏi chung {code}", NOW)
    bind()
    (gap,) = [g for g in KbMarkerModel.query(kb_store.GAPS) if g.code == code]
    assert gap.expires_at is not None and datetime(2028, 11, 1, tzinfo=timezone.utc) < gap.expires_at < datetime(
        2029, 1, 1, tzinfo=timezone.utc)   # 24 months (closed_months), the retention schedule's default
    assert kb_store.delete_gaps_of(code) == 1
    assert not [g for g in KbMarkerModel.query(kb_store.GAPS) if g.code == code]
    assert [g for g in KbMarkerModel.query(kb_store.GAPS) if g.text == f"hỏi chung {code}"]
    assert kb_store.delete_gaps_of(code) == 0
