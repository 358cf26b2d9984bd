"""Anonymous listings read a bounded number of index pages per request: a filter that matches
nothing answers quickly with an empty page and a way to read on, never a walk through the month."""
from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import aws
from chalicelib.services import open311
from chalicelib.store import public, tickets
from chalicelib.store.connection import bind
from chalicelib.store.models import TicketModel, ticket_pk
from chalicelib.store.reference import load_reference
from tests.integration.test_open311 import _valid


@contextlib.contextmanager
def dynamodb_queries() -> Iterator[list[str]]:
    """Counts the Query calls of the app's shared DynamoDB client (PynamoDB's too). The hook goes on
    the client: a client copies its session's hooks when it is created, which happened already."""
    calls: list[str] = []

    def count(**_: Any) -> None:  # a value returned here would replace the call
        calls.append("Query")

    events = aws.client("dynamodb").meta.events
    events.register("before-call.dynamodb.Query", count)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb.Query", count)


_STORED: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _remove_stored_tickets() -> Iterator[None]:
    """These bare tickets are "received" and never routed: left in the shared table, a later sweeper run
    in another test would route 160 of them into the inbox other tests read."""
    yield
    with TicketModel.batch_write() as batch:
        for code in _STORED:
            batch.delete(TicketModel(pk=ticket_pk(code)))
    _STORED.clear()


def _tickets(count: int, first: datetime, **fields: Any) -> list[str]:
    """Stores `count` tickets created an hour apart from `first` (test set-up, straight to the table)."""
    bind()
    codes = []
    with TicketModel.batch_write() as batch:
        for n in range(count):
            code = f"TN-B{uuid.uuid4().hex[:10].upper()}"
            at = first + timedelta(hours=n)
            values = {"status": "received", **{k: v(at, code) if callable(v) else v for k, v in fields.items()}}
            batch.save(TicketModel(pk=ticket_pk(code), tracking_code=code, channel="web", text="Phản ánh thử",
                                   created_at=at, updated_at=at, created_month=at.strftime("%Y-%m"), **values))
            codes.append(code)
    _STORED.extend(codes)
    return codes


def _follow(client: Any, path: str, query: str) -> tuple[Any, str | None]:
    response = client.http.get(f"{path}?{query}")
    assert response.status_code == 200, response.body
    link = response.headers.get("link") or response.headers.get("Link")
    if not link:
        return response, None
    assert link.startswith("<?") and link.endswith('>; rel="next"')
    return response, link[2:link.index(">")]


def test_open311_requests_with_no_match_read_a_bounded_number_of_pages_and_link_onwards(
        client: Any, monkeypatch: Any) -> None:
    # Given a month of 100 street-light reports and, at its very start, two flooding reports
    monkeypatch.setattr(tickets, "OPEN311_PAGE", 5)  # small pages: 100 tickets are 20 of them
    start = datetime(2024, 3, 1, 1, 0, tzinfo=timezone.utc)
    flooding = _tickets(2, start, category="ngap-ung")
    _tickets(100, start + timedelta(hours=2), category="chieu-sang")
    query = "service_code=ngap-ung&start_date=2024-03-01T00:00:00Z&end_date=2024-04-01T00:00:00Z"
    # When an integrator asks for the flooding reports of that month
    with dynamodb_queries() as calls:
        first, onwards = _follow(client, "/open311/v2/requests.json", query)
    # Then one request reads at most MAX_QUERIES pages and answers an empty list with a next link
    assert 1 <= len(calls) <= open311.MAX_QUERIES
    assert _valid("requests.json", first.json_body) == [] and onwards
    assert parse_qs(onwards)["service_code"] == ["ngap-ung"]
    # When it follows the links, each request stays within the bound, and nothing comes twice
    found: list[str] = []
    for _ in range(10):
        with dynamodb_queries() as calls:
            page, onwards = _follow(client, "/open311/v2/requests.json", onwards)
        assert len(calls) <= open311.MAX_QUERIES
        found += [r["service_request_id"] for r in _valid("requests.json", page.json_body)]
        if onwards is None:
            break
    # Then the last page holds the two flooding reports, newest first, and no further link
    assert found == flooding[::-1] and onwards is None


def test_open311_cursor_from_another_range_is_refused(client: Any) -> None:
    from chalicelib.services.console import encode_cursor

    cursor = encode_cursor({"created_month": {"S": "2020-01"}})
    response = client.http.get(f"/open311/v2/requests.json?after={cursor}")
    assert response.status_code == 400 and response.json_body[0]["code"] == "after"


def test_public_answers_with_no_match_read_a_bounded_number_of_pages_and_offer_more(
        client: Any, monkeypatch: Any) -> None:
    # Given 60 published answers of one commune and, answered before them all, one of another
    monkeypatch.setattr(public, "FILTERED_PAGE", 5)
    areas = sorted(load_reference().areas)
    busy, quiet = areas[0], areas[1]

    def published(area: str) -> dict[str, Any]:
        return {"area": area, "public_shard": public.SHARD, "status": "answered", "public_question": "Hỏi",
                "public_answer": "Đáp", "answered_at": lambda at, code: at,
                "public_sort": lambda at, code: f"{at.isoformat()}#{code}"}

    start = datetime(2024, 5, 2, 1, 0, tzinfo=timezone.utc)
    (lonely,) = _tickets(1, start, **published(quiet))
    _tickets(60, start + timedelta(hours=1), **published(busy))
    query = f"area={quiet}&from=2024-05-01&to=2024-05-31"
    # When someone filters the public listing by the quiet commune
    with dynamodb_queries() as calls:
        first = client.http.get(f"/api/v1/public/answers?{query}")
    # Then the request read at most MAX_PAGES pages and answers "none yet, read on"
    assert 1 <= len(calls) <= public.MAX_PAGES
    assert first.json_body["answers"] == [] and first.json_body["next"]
    # When the reader follows "next" until it ends, every request stays within the bound
    found, after = [], first.json_body["next"]
    for _ in range(10):
        with dynamodb_queries() as calls:
            page = client.http.get(f"/api/v1/public/answers?{query}&after={after}").json_body
        assert len(calls) <= public.MAX_PAGES
        found += [a["code"] for a in page["answers"]]
        after = page["next"]
        if not after:
            break
    assert found == [lonely] and not after


def test_the_public_listing_without_filter_is_still_one_query_per_page(client: Any) -> None:
    with dynamodb_queries() as calls:
        page = client.http.get("/api/v1/public/answers?from=2024-05-01&to=2024-05-31").json_body
    assert len(page["answers"]) == 20 and page["next"] and len(calls) == 1
    assert urlsplit("?after=" + page["next"]).query
