"""The public listing of answers: a page of 20 from 10,000 answered, published tickets on the
emulator, its latency and how many AWS calls one page costs (no Scan)."""
from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta, timezone
from typing import Any

PUBLISHED = 10_000
SAMPLES = 100
CATEGORIES = ("giao-thong", "ngap-ung", "chieu-sang", "moi-truong", "thu-tuc-hanh-chinh")
AREAS = ("tan-ninh", "long-hoa", "ben-cau", "tan-an", "kien-tuong")


def _seed(now: datetime) -> None:
    """Writes the answered, published tickets straight into the table (25 per BatchWriteItem)."""
    from chalicelib.store.connection import bind
    from chalicelib.store.models import TicketModel, ticket_pk

    bind()
    with TicketModel.batch_write() as batch:
        for n in range(PUBLISHED):
            code = f"TN-P{n:05d}"
            answered = now - timedelta(minutes=53 * n)
            created = answered - timedelta(days=3)
            batch.save(TicketModel(
                pk=ticket_pk(code), tracking_code=code, channel="web", text="…", status="answered",
                category=CATEGORIES[n % 5], area=AREAS[(n // 5) % 5], agency="so-xay-dung",
                created_at=created, updated_at=answered, answered_at=answered, answered_on_time=n % 7 != 0,
                answer="Cơ quan đã kiểm tra và khắc phục trong ngày.", consent_publish=True,
                public_question="Đường trước nhà bị ngập sâu sau mỗi trận mưa, đề nghị nạo vét cống. [đã ẩn]",
                public_shard="PUB", public_sort=f"{answered.astimezone(timezone.utc).isoformat()}#{code}"))


def measure(client: Any, counter: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    _seed(now)
    pages = {"newest": "/cong-khai", "category": "/cong-khai?category=ngap-ung",
             "category_area": "/cong-khai?category=ngap-ung&area=tan-ninh"}
    for path in pages.values():  # warm: reference data cached, clients made
        assert client.http.get(path).status_code == 200
    with counter.window() as calls:
        page = client.http.get(pages["newest"])
    assert page.body.count(b'class="card answer"') == 20
    with counter.window() as filtered_calls:
        page = client.http.get(pages["category_area"])
    assert page.body.count(b'class="card answer"') == 20
    timings: dict[str, float] = {}
    for name, path in pages.items():
        samples = []
        for _ in range(SAMPLES if name == "newest" else SAMPLES // 4):
            started = time.perf_counter()
            response = client.http.get(path)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        timings[name] = round(statistics.median(samples) * 1000, 2)
    return {"public_list_p50_ms": timings["newest"], "public_list_category_p50_ms": timings["category"],
            "public_list_category_area_p50_ms": timings["category_area"],
            "aws_calls_per_public_page": sum(calls.values()), "aws_calls_public_breakdown": dict(calls),
            "aws_calls_per_filtered_public_page": sum(filtered_calls.values()),
            "public_list_published_tickets": PUBLISHED}
