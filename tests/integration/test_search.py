"""Free-text search on the emulator: the indexer writes each month's FTS5 file to S3, a search
finds tickets by words of their text, the reporter's name, the address or the commune, typed with
or without diacritics, newest first and a page at a time, within the staff member's scope; a
confidential reporter's name finds nothing for an agency officer; an anonymised ticket leaves
the results at once and the index at the next run; a ticket newer than the index is found."""
from __future__ import annotations

import json
import random
import string
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib import aws
from chalicelib.domain import search as rules
from chalicelib.domain.errors import Conflict, SearchIndexRefused, ValidationFailed
from chalicelib.domain.permissions import StaffUser
from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake, privacy, routing
from chalicelib.services import search as service
from chalicelib.store import cursors, search_index, tickets
from chalicelib.store.reference import load_reference
from tests.conftest import ROOT, bearer, unique_phone

JSON_TYPE = {"Content-Type": "application/json"}
OPERATOR = StaffUser("op", "op@demo.1022.vn", "Tổng đài", frozenset({"operator"}))
BUILDING = StaffUser("xd", "xd@demo.1022.vn", "Sở Xây dựng", frozenset({"agency_officer"}), "so-xay-dung")
POLICE = StaffUser("ca", "ca@demo.1022.vn", "Công an", frozenset({"agency_officer"}), "cong-an-tinh")


def _word() -> str:
    """A made-up word no other test writes (letters only, so it also fits in a name)."""
    return "".join(random.choice("bcdghklmnpqrstvx") for _ in range(3)) + random.choice("aeiou") + \
        "".join(random.choice(string.ascii_lowercase) for _ in range(4))


def _report(description: str, category: str, area: str, name: str = "", address: str = "") -> str:
    code = intake.submit(validate_submission({"description": description, "phone": unique_phone(), "name": name,
                                              "address": address, "category": category, "area": area},
                                             load_reference()))["tracking_code"]
    routing.route(code)
    return code


def _later() -> datetime:
    """A clock just past the indexer's settling time: it takes every ticket made so far, none after."""
    return datetime.now(timezone.utc) + service.SETTLE


def _index() -> None:
    """Runs the indexer until it has every ticket made so far (other tests' tickets share the table)."""
    for _ in range(20):
        if service.index(_later())["indexed"] < service.NEW_PER_RUN:
            return
    raise AssertionError("the indexer never caught up")


def _codes(user: StaffUser, text: str, after: str | None = None) -> list[str]:
    return [card["code"] for card in service.search(user, text, after)["tickets"]]


def _in_index(code: str) -> bool:
    month = rules.month_of(tickets.get_ticket(code).created_at)
    path = search_index.cached(month)
    if path is None:
        return False
    with search_index.reader(path) as shard:
        return code in shard.versions()


@pytest.fixture(scope="module")
def street(stack: Any) -> dict[str, Any]:
    """Three tickets on one made-up street, in two agencies' categories, indexed; then one more."""
    word = _word()
    first = _report(f"Cống thoát nước đường {word.title()} Nguyễn Trãi bị tắc, nước tràn lên nhà dân.",
                    "ngap-ung", "tan-ninh", name="Lê Văn Cường", address=f"số 12 hẻm {word.title()}")
    health = _report(f"Trạm y tế gần đường {word.title()} thiếu thuốc huyết áp.", "y-te", "ben-cau")
    second = _report(f"Mặt đường {word.title()} Nguyễn Trãi lún sâu, xe máy ngã hai lần.", "giao-thong", "tan-ninh")
    _index()
    return {"word": word, "first": first, "health": health, "second": second}


def test_words_are_found_with_or_without_diacritics_newest_first(street: dict[str, Any]) -> None:
    word = street["word"]
    assert all(_in_index(street[name]) for name in ("first", "health", "second"))
    expected = [street["second"], street["first"]]
    assert _codes(OPERATOR, f"đường {word} Nguyễn Trãi") == expected
    assert _codes(OPERATOR, f"DUONG {word.upper()} nguyen trai") == expected
    assert _codes(OPERATOR, f'"{word} nguyen trai"') == expected        # a phrase
    assert _codes(OPERATOR, f'"nguyen trai {word}"') == []                # ... in its order only
    assert _codes(OPERATOR, f"{word[:5]}* thuoc") == [street["health"]]   # a word's beginning
    # the address, the commune's name and the reporter's name are searched too
    assert _codes(OPERATOR, f"hẻm {word}") == [street["first"]]
    assert _codes(OPERATOR, f"ben cau {word}") == [street["health"]]
    found = service.search(OPERATOR, f"le van cuong {word}")["tickets"]
    assert [c["code"] for c in found] == [street["first"]]
    card = found[0]
    assert card["area"] == "Phường Tân Ninh" and card["category"] and card["status_label"]
    assert [text for text, hit in card["reporter"] if hit] == ["Lê", "Văn", "Cường"]
    assert [text for text, hit in card["excerpt"] if hit] == [word.title()]


def test_an_agency_officer_finds_only_their_agencys_tickets(street: dict[str, Any]) -> None:
    assert _codes(BUILDING, street["word"]) == [street["second"], street["first"]]
    assert street["health"] not in _codes(BUILDING, f"{street['word']} thuoc")


def test_a_confidential_reporters_name_finds_nothing_for_the_agency_officer(stack: Any) -> None:
    word = _word()
    name = f"Phạm Thị {word.title()}"
    code = _report(f"Nhóm thanh niên tụ tập đua xe trái phép trên đường Hùng Vương {word[::-1]} mỗi tối.",
                   "an-ninh-trat-tu", "tan-ninh", name=name)
    assert tickets.get_ticket(code).agency == "cong-an-tinh"
    for indexed in (False, True):  # newer than the index (matched in Python), then in the index
        if indexed:
            _index()
            assert _in_index(code)
        assert _codes(POLICE, name) == []
        assert _codes(POLICE, f"{word} đua xe") == []   # the name's word with the text's: still nothing
        shown = service.search(POLICE, f"đua xe {word[::-1]}")["tickets"]
        assert [c["code"] for c in shown] == [code] and shown[0]["reporter"] is None
        assert _codes(OPERATOR, name) == [code]
        assert service.search(OPERATOR, name)["tickets"][0]["reporter"] is not None


def test_an_anonymised_ticket_leaves_the_results_at_once_and_the_index_at_the_next_run(stack: Any) -> None:
    word = _word()
    code = _report(f"Rác thải đổ trộm ở bãi đất trống {word} cạnh chợ.", "moi-truong", "long-hoa",
                   name=f"Đỗ Văn {word.title()}", address=f"ấp {word.title()}")
    _index()
    assert _in_index(code) and _codes(OPERATOR, word) == [code]
    privacy.anonymise_ticket(tickets.get_ticket(code), datetime.now(timezone.utc), "staff:admin", "erasure")
    assert _codes(OPERATOR, word) == []   # the ticket itself says so before the index knows
    assert search_index.requests(500).count((rules.month_of(tickets.get_ticket(code).created_at), code)) == 1
    assert service.index(_later())["dropped"] >= 1
    assert not _in_index(code)
    assert all(request[1] != code for request in search_index.requests(500))


def test_a_ticket_is_found_before_the_indexer_has_run(street: dict[str, Any]) -> None:
    fresh = _report(f"Cây xanh đường {street['word']} Nguyễn Trãi nghiêng sắp đổ.", "giao-thong", "tan-ninh")
    assert not _in_index(fresh)
    assert _codes(OPERATOR, f"{street['word']} nguyen trai") == [fresh, street["second"], street["first"]]
    assert _codes(BUILDING, f"{street['word']} cay xanh") == [fresh]


def test_results_come_a_page_at_a_time(stack: Any) -> None:
    word = _word()
    made = [_report(f"Ổ gà số {n} trên đường {word} cần vá.", "giao-thong", "tan-an") for n in range(service.PAGE + 3)]
    _index()
    first = service.search(OPERATOR, word)
    assert [c["code"] for c in first["tickets"]] == made[::-1][:service.PAGE] and first["next"]
    second = service.search(OPERATOR, word, first["next"])
    assert [c["code"] for c in second["tickets"]] == made[::-1][service.PAGE:] and second["next"] is None
    with pytest.raises(ValidationFailed):
        service.search(OPERATOR, word, "not-a-page")


@pytest.mark.parametrize("text", ["", "   ", "a", '""', "x" * 201])
def test_an_empty_or_too_short_query_is_refused_with_a_reason(stack: Any, text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        service.search(OPERATOR, text)
    assert refused.value.errors[0].field == "q" and refused.value.errors[0].vi


def test_two_writers_never_lose_each_others_rows(street: dict[str, Any]) -> None:
    month = rules.month_of(datetime.now(timezone.utc))
    shard, etag = search_index.open_copy(month)
    before = len(shard)
    _report(f"Nắp cống đường {street['word']} bị mất.", "ngap-ung", "tan-ninh")
    _index()   # another run publishes first
    with pytest.raises(Conflict):
        search_index.publish(shard, month, etag)
    path = search_index.cached(month)
    assert path is not None
    with search_index.reader(path) as current:
        assert len(current) > before


# Another process on the machine (the local stack `make run` or the e2e tests start) indexes its own
# bucket and keeps its own copy of this month's file in /tmp
_OTHER_INDEXER = """
import os
import sys
from chalicelib import aws
from chalicelib.store import search_index
month, bucket = sys.argv[1:]
aws.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_REGION"]})
search_index.bucket = lambda: bucket
shard, etag = search_index.open_copy(month, empty=True)
search_index.publish(shard, month, etag)
"""


def test_another_processs_copy_of_a_month_never_stands_in_for_ours(street: dict[str, Any]) -> None:
    # Given this process's copy of the month, at the index's ETag
    _index()
    month = rules.month_of(datetime.now(timezone.utc))
    assert _codes(OPERATOR, f"{street['word']} nguyen trai")[-2:] == [street["second"], street["first"]]
    # When another process publishes that month's file (empty) to another bucket
    subprocess.run([sys.executable, "-c", _OTHER_INDEXER, month, f"other-{_word()}"], cwd=ROOT, check=True,
                   timeout=60)
    # Then the search still reads this bucket's file: the street's tickets are found as before
    assert _codes(OPERATOR, f"{street['word']} nguyen trai")[-2:] == [street["second"], street["first"]]


def test_a_rebuild_recomputes_the_files_from_the_tickets(street: dict[str, Any]) -> None:
    counts = service.rebuild(_later())
    assert counts["files_written"] >= 1 and counts["indexed"] >= 3
    assert _codes(OPERATOR, f"{street['word']} nguyen trai")[-2:] == [street["second"], street["first"]]


@contextmanager
def _s3_answers(operation: str, status: int, code: str) -> Iterator[None]:
    """Meanwhile S3 answers `operation` on the search files with this error, as AWS does (the
    emulator enforces no IAM and sees no other writer)."""
    from botocore.awsrequest import AWSResponse

    def answer(params: dict[str, Any], **_: Any) -> Any:
        if f"/{search_index.PREFIX}" not in params.get("url_path", ""):
            return None
        return AWSResponse("https://injected.invalid/", status, {}, None), {
            "Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}

    events = aws.client("s3").meta.events
    events.register(f"before-call.s3.{operation}", answer, unique_id="search-s3-answer")
    try:
        yield
    finally:
        events.unregister(f"before-call.s3.{operation}", unique_id="search-s3-answer")


def test_a_refused_index_file_is_an_error_not_an_empty_month(client: Any, staff: dict[str, str],
                                                           street: dict[str, Any], monkeypatch: Any) -> None:
    # Given S3 refusing to read the search files (403: the role lost its grant), and no copy in /tmp
    monkeypatch.setattr(search_index, "_cache_etags", {})
    op, word = staff["operator"], street["word"]
    cookie = {"Cookie": f"hl_id={op}; hl_csrf=tok", "Content-Type": "application/x-www-form-urlencoded"}
    with _s3_answers("GetObject", 403, "AccessDenied"):
        # When an operator searches: the page says why in Vietnamese instead of "nothing found"
        page = client.http.post("/staff/search", headers=cookie, body=urlencode({"csrf": "tok", "q": word}).encode())
        assert page.status_code == 503 and "không đọc được chỉ mục tìm kiếm" in page.body.decode()
        assert street["first"] not in page.body.decode()
        api = client.http.post("/api/v1/staff/search", headers=bearer(op, **JSON_TYPE),
                               body=json.dumps({"q": word}).encode())
        assert api.status_code == 503 and api.json_body["error"]["message_en"].startswith("Free-text search")
        # ... and the indexer fails (its alarm) rather than write a month's file from nothing
        _report(f"Đèn đường {word} Nguyễn Trãi tắt.", "giao-thong", "tan-ninh")
        with pytest.raises(SearchIndexRefused):
            service.index(_later())
    # Then, S3 answering again, the search finds the street's tickets as before
    assert _codes(OPERATOR, f"{word} nguyen trai")[-2:] == [street["second"], street["first"]]


def test_a_rebuild_that_keeps_losing_the_race_fails_and_keeps_every_month(street: dict[str, Any]) -> None:
    # Given an index with files, and another writer replacing each file first, again and again
    before = service.State.load(cursors.read(service.CURSOR).value).files
    assert before
    with _s3_answers("PutObject", 412, "PreconditionFailed"):
        # When an admin rebuilds the index: it fails after three tries instead of dropping the month
        with pytest.raises(Conflict):
            service.rebuild(_later())
    # Then the state still lists every month's file, and the search still reads them
    assert service.State.load(cursors.read(service.CURSOR).value).files == before
    assert _codes(OPERATOR, f"{street['word']} nguyen trai")[-2:] == [street["second"], street["first"]]


def test_the_console_and_the_api_search_by_words_in_a_request_body_only(client: Any, staff: dict[str, str],
                                                                        street: dict[str, Any]) -> None:
    op, word = staff["operator"], street["word"]
    cookie = {"Cookie": f"hl_id={op}; hl_csrf=tok", "Content-Type": "application/x-www-form-urlencoded"}
    page = client.http.post("/staff/inbox", headers=cookie, body=urlencode({"csrf": "tok", "q": f"{word} trai"}).encode())
    body = page.body.decode()
    assert page.status_code == 200 and street["first"] in body and street["second"] in body
    assert body.index(street["second"]) < body.index(street["first"]) and "<mark>" in body
    assert page.headers["Cache-Control"] == "no-store"
    short = client.http.post("/staff/search", headers=cookie, body=urlencode({"csrf": "tok", "q": "a"}).encode())
    assert short.status_code == 400 and "ít nhất 2 chữ cái" in short.body.decode()
    assert client.http.post("/staff/search", headers={**cookie, "Cookie": f"hl_id={op}"},
                            body=urlencode({"q": word}).encode()).status_code == 403  # no CSRF token
    in_url = client.http.get(f"/staff/inbox?q={word}", headers={"Cookie": f"hl_id={op}"})
    assert in_url.status_code == 400 and street["first"] not in in_url.body.decode()
    api = client.http.post("/api/v1/staff/search", headers=bearer(op, **JSON_TYPE),
                           body=json.dumps({"q": f"{word} nguyễn trãi"}).encode())
    assert api.status_code == 200, api.body
    results = api.json_body["results"]
    assert [r["code"] for r in results][-2:] == [street["second"], street["first"]]
    excerpt = results[-1]["excerpt"]
    assert [excerpt["text"][a:b] for a, b in excerpt["marks"]] == [word.title(), "Nguyễn", "Trãi"]
    assert client.http.post("/api/v1/staff/search", headers=bearer(op, **JSON_TYPE),
                            body=json.dumps({"q": street["first"]}).encode()).json_body == {"code": street["first"]}
    refused = client.http.post("/api/v1/staff/search", headers=bearer(op, **JSON_TYPE), body=b'{"q": "x"}')
    assert refused.status_code == 400 and refused.json_body["error"]["fields"]["q"]["message"]
    assert client.http.get(f"/api/v1/staff/tickets?q={word}", headers=bearer(op)).status_code == 400
