"""Staff search at a province's year: 100,000 synthetic tickets (Vietnamese texts built from a
hotline's usual complaints, streets, landmarks, names, addresses; one in six typed without
diacritics, as SMS often are) over the last 12 months, on the in-process emulator.

It measures
  - the index: each month's SQLite FTS5 file built in-process from the tickets (the indexer's own
    `document` and `Shard`), its bytes (gzip, as stored in S3) and the build time;
  - search latency through the real use case (chalicelib.services.search.search: the state item,
    the months' files, the tickets newer than the index, the candidates read back from DynamoDB),
    p50/p95 over a mix of queries, warm (files cached in /tmp) and cold (every file downloaded
    first), for an operator and for an agency officer, and the AWS calls of a warm search;
  - the indexer's cost per ticket: simulated runs every 5 minutes, by day with 2 new tickets a run
    and by night with none, the whole-month re-reads as they fall due, every AWS call counted
    (S3 PUT/GET, DynamoDB request units from the bytes it read and wrote), priced with
    bench/prices.json; and what an inverted index of one DynamoDB item per word would cost instead.

`python -m bench.search` prints the figures and merges them into bench/results.json with their own
`search_measured_at` (`make bench-search`, about 3 minutes; separate from `make bench`).
BENCH_SEARCH_TICKETS changes the size.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import random
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from bench import ROOT

STACK_NAME = "hotline1022-bench-search"
TICKETS = int(os.environ.get("BENCH_SEARCH_TICKETS", "100000"))
WARM_SAMPLES = 8      # per query
COLD_SAMPLES = 2      # per query
DAY_RUNS, NIGHT_RUNS, PER_DAY_RUN = 24, 12, 2
# A year of 100,000 tickets is 274 a day, nearly all between 07:00 and 20:00: 156 of the day's
# 288 runs find about 2 new tickets, the other 132 none.
RUNS_PER_DAY = {"day": 156, "night": 132}

HO = ("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Trương Đinh Lâm Mai Tô Hà "
      "Cao Lưu Châu").split()
DEM = "Văn Thị Hữu Đức Minh Thanh Ngọc Quốc Thành Xuân Kim Hoài Công Bảo Như Thu Mỹ Gia".split()
TEN = ("An Bình Chi Dũng Hà Hải Hạnh Hiếu Hoa Hùng Hương Khánh Lan Linh Long Mai Nam Nga Phúc Phương Quân Sơn "
       "Tâm Thảo Trang Trung Tuấn Vy Yến Bảy Tám Năm Sáu Lợi Lộc Thịnh Tài Nhân Nghĩa Trí Tín Hậu Cúc Đào Lệ "
       "Tuyết Hồng Nhung Quyên Thư Duyên Giang Kiệt Khoa Vinh Phong Toàn Thắng").split()
STREETS = ["Nguyễn Trãi", "Lê Lợi", "Trần Hưng Đạo", "Cách Mạng Tháng Tám", "Điện Biên Phủ", "30 Tháng 4",
           "Hùng Vương", "Nguyễn Văn Linh", "Lý Thường Kiệt", "Hoàng Lê Kha", "Trưng Nữ Vương", "Phạm Văn Đồng",
           "Võ Văn Truyện", "Nguyễn Chí Thanh", "Quốc lộ 22B", "Đường tỉnh 781", "Bời Lời", "Huỳnh Tấn Phát",
           "Lạc Long Quân", "Âu Cơ", "Nguyễn Huệ", "Hai Bà Trưng", "Bà Triệu", "Phan Chu Trinh", "Trần Phú",
           "Nguyễn Thái Học", "Tôn Đức Thắng", "Lê Duẩn", "Nguyễn Du", "Ngô Quyền", "Yersin", "Pasteur",
           "Đường số 3", "Đường số 12", "Hẻm 45", "Hẻm 7", "Quốc lộ 1", "Quốc lộ 62", "Đường Cà Na", "Mạc Đĩnh Chi"]
LANDMARKS = ["chợ Long Hoa", "chợ phường", "trường tiểu học Kim Đồng", "trường THCS Nguyễn Du", "cầu Quan",
             "bến xe", "trạm y tế", "nhà văn hoá ấp", "UBND xã", "công viên", "chùa Gò Kén", "khu công nghiệp",
             "ngã tư Bình Minh", "vòng xoay", "cây xăng", "bệnh viện đa khoa", "sân vận động"]
ISSUES = [
    ("giao-thong", "Đường {s} đoạn gần số {n} bị sụt lún, có ổ gà lớn, xe máy đi qua rất nguy hiểm."),
    ("giao-thong", "Xe tải chở cát chạy quá tốc độ trên đường {s}, làm rơi vãi cát đá, bụi mù mịt cả ngày."),
    ("giao-thong", "Biển báo giao thông ở ngã ba đường {s} gần {l} bị gãy đổ {t}, xe cộ đi lại lộn xộn."),
    ("giao-thong", "Đèn tín hiệu giao thông ở nút {s} với {s2} không hoạt động {t}, giờ cao điểm kẹt xe."),
    ("ngap-ung", "Cống thoát nước trên đường {s} bị tắc, mỗi lần mưa nước ngập sâu vào nhà dân khu phố {k}."),
    ("ngap-ung", "Nắp hố ga trước nhà số {n} đường {s} bị vỡ, rất nguy hiểm cho người đi đường vào ban đêm."),
    ("ngap-ung", "Mưa lớn chiều qua, đoạn từ {l} đến đường {s} ngập gần nửa mét, nước rút rất chậm."),
    ("chieu-sang", "Đèn chiếu sáng trên đường {s} từ số {n} đến {l} đã hỏng {t}, buổi tối rất tối."),
    ("chieu-sang", "Cột đèn gần {l} bị nghiêng, dây điện lòng thòng, sợ gây tai nạn cho trẻ em đi học."),
    ("moi-truong", "Rác thải sinh hoạt bị đổ bừa bãi ở bãi đất trống cạnh {l}, bốc mùi hôi thối, ruồi muỗi nhiều."),
    ("moi-truong", "Có người đốt rác, đốt rơm rạ gần khu dân cư ấp {k}, khói bụi làm trẻ em bị ho."),
    ("moi-truong", "Xe thu gom rác không đến khu phố {k} đường {s} {t}, rác ùn ứ trước cửa nhà."),
    ("moi-truong", "Cơ sở sản xuất gần {l} xả nước thải màu đen ra kênh, cá chết nổi trắng."),
    ("dien-nuoc", "Khu vực ấp {k} mất nước sinh hoạt {t} mà không có thông báo, bà con phải đi mua nước."),
    ("dien-nuoc", "Điện chập chờn liên tục ở khu phố {k} đường {s}, làm hư hỏng tủ lạnh, máy bơm của dân."),
    ("dat-dai", "Nhà số {n} đường {s} xây dựng lấn chiếm vỉa hè, vật liệu để tràn ra lòng đường."),
    ("dat-dai", "Tôi nộp hồ sơ cấp giấy chứng nhận quyền sử dụng đất {t} nhưng đến nay chưa có kết quả."),
    ("dat-dai", "Công trình xây dựng gần {l} làm việc đến khuya, tiếng ồn và bụi ảnh hưởng các hộ xung quanh."),
    ("thu-tuc-hanh-chinh", "Xin hỏi thủ tục đăng ký thường trú cho con mới sinh cần những giấy tờ gì, nộp ở đâu."),
    ("thu-tuc-hanh-chinh", "Tôi làm hồ sơ cấp lại căn cước ở {l} {t}, hẹn trả kết quả nhưng chưa nhận được."),
    ("y-te", "Trạm y tế gần {l} thiếu thuốc điều trị huyết áp, người bệnh phải ra nhà thuốc mua giá cao."),
    ("y-te", "Nhân viên y tế tại {l} thái độ không đúng mực khi tiếp đón người bệnh lớn tuổi."),
    ("giao-duc", "Trường {l} thu các khoản ngoài quy định đầu năm học, phụ huynh khu phố {k} thắc mắc."),
    ("an-sinh", "Chế độ trợ cấp người cao tuổi tháng này chưa được chi trả, đề nghị kiểm tra giúp gia đình."),
    ("an-sinh", "Gia đình tôi thuộc hộ cận nghèo ở ấp {k} nhưng chưa được cấp thẻ bảo hiểm y tế năm nay."),
    ("an-ninh-trat-tu", "Nhóm thanh niên tụ tập đua xe trái phép trên đường {s} mỗi tối, gây mất trật tự."),
    ("an-ninh-trat-tu", "Quán karaoke ở đường {s} gần {l} hát to đến khuya, ảnh hưởng giấc ngủ người già."),
    ("tham-nhung-tieu-cuc", "Cán bộ địa chính xã gợi ý chi thêm tiền để hồ sơ đất của gia đình được giải quyết nhanh."),
    ("khac", "Cây xanh trên đường {s} bị nghiêng, có nguy cơ ngã đổ khi mưa bão, đề nghị cắt tỉa."),
    ("khac", "Chó thả rông ở khu phố {k} đường {s} cắn người, đề nghị nhắc nhở các hộ nuôi."),
]
TIMES = ["từ tuần trước", "ba ngày nay", "hơn một tháng nay", "từ đầu tháng", "hai tuần nay", "từ hôm qua"]
EXTRA = ["Rất mong cơ quan chức năng sớm xử lý.", "Tôi đã phản ánh nhiều lần nhưng chưa được giải quyết.",
         "Xin cảm ơn.", "Người dân trong khu vực rất bức xúc.", "Đề nghị kiểm tra và xử lý dứt điểm.",
         "Có hình ảnh kèm theo.", "Liên hệ tôi nếu cần thêm thông tin.", "Sự việc kéo dài đã lâu.",
         "Trẻ em và người già đi lại rất khó khăn.", "Mong được phản hồi sớm."]
# The mix staff type: streets, communes, issues, names (common and rare), phrases, a word's beginning
QUERIES = ["nguyen trai", "Bến Cầu", "cống tắc", "đèn đường hỏng", "trần văn", "rác thải chợ", '"hố ga"',
           "karaoke", "thuoc huyet ap", "hoàng lê kha ngập", "trợ cấp người cao tuổi", "căn cước", "cây xăng*",
           "lâm ngọc quyên", "số 17 lê lợi", "không có kết quả nào zzqx"]


def _name(chooser: random.Random) -> str:
    return f"{chooser.choice(HO)} {chooser.choice(DEM)} {chooser.choice(TEN)}"


def synthetic(n: int, now: datetime, reference: dict[str, Any], chooser: random.Random) -> dict[str, Any]:
    """Ticket n of the year (the newest first), as the fields the app stores."""
    from chalicelib.domain.text import strip_diacritics

    category, template = chooser.choice(ISSUES)
    street, landmark = chooser.choice(STREETS), chooser.choice(LANDMARKS)
    text = template.format(s=street, s2=chooser.choice(STREETS), n=chooser.randint(1, 400), k=chooser.randint(1, 15),
                           l=landmark, t=chooser.choice(TIMES))
    for _ in range(chooser.choice((0, 1, 1, 2, 3))):
        text += " " + chooser.choice(EXTRA)
    if chooser.random() < 0.3:
        text += " " + chooser.choice(ISSUES)[1].format(s=street, s2=street, n=chooser.randint(1, 400),
                                                       k=chooser.randint(1, 15), l=landmark, t=chooser.choice(TIMES))
    channel = ("web", "sms", "zalo", "phone")[n % 4]
    if channel == "sms" and chooser.random() < 0.6:
        text = strip_diacritics(text)
    areas = reference["areas"]
    agencies = {c["id"]: c.get("agency") for c in reference["categories"]}
    return {"code": f"TN-S{n:06d}", "created": now - timedelta(seconds=(365 * 86400 / TICKETS) * n + 600),
            "category": category, "area": chooser.choice(areas)["id"], "agency": agencies.get(category) or "ubnd-tan-ninh",
            "channel": channel, "text": text, "name": _name(chooser) if chooser.random() < 0.8 else None,
            "address": f"số {chooser.randint(1, 400)} {street}, khu phố {chooser.randint(1, 15)}"
            if chooser.random() < 0.7 else None}


def _models(fields: dict[str, Any]) -> tuple[Any, Any]:
    from chalicelib.store.models import TicketBodyModel, TicketModel, ticket_pk

    created = fields["created"]
    ticket = TicketModel(pk=ticket_pk(fields["code"]), tracking_code=fields["code"], channel=fields["channel"],
                         reporter_phone=f"+8491{abs(hash(fields['code'])) % 10**7:07d}", category=fields["category"],
                         area=fields["area"], agency=fields["agency"], status="answered", created_at=created,
                         updated_at=created + timedelta(days=3), created_month=created.strftime("%Y-%m"), version=1)
    body = TicketBodyModel(pk=ticket.pk, text=fields["text"], reporter_name=fields["name"], address=fields["address"])
    return ticket, body


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]]


def _load(table: str, rows: list[dict[str, Any]]) -> float:
    backend = _backend()
    started = time.perf_counter()
    for fields in rows:
        for item in _models(fields):
            backend.put_item(table, item.serialize())
    return time.perf_counter() - started


def _ticket_objects(rows: list[dict[str, Any]]) -> Iterator[Any]:
    """The tickets as the indexer reads them (ticket and body merged)."""
    for fields in rows:
        ticket, body = _models(fields)
        ticket.text, ticket.reporter_name, ticket.address = body.text, body.reporter_name, body.address
        yield ticket


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return round(statistics.median(samples) * 1000, 1), round(cuts[18] * 1000, 1)


class Meter:
    """Counts the AWS calls on the app's botocore session, the bytes S3 stores, and DynamoDB
    request units from the sizes of the items read and written (on-demand rules, eventually
    consistent reads at half a unit per 4 KB unless asked otherwise)."""

    def __init__(self, session: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.rru = 0.0
        self.wru = 0.0
        self.put_bytes = 0
        self.aws_seconds = 0.0
        self._started = threading.local()
        session.register("before-send", self._send)
        session.register("response-received", self._received)
        session.register("before-call", self._count)
        session.register("before-parameter-build", self._sizes)
        session.register("after-call.dynamodb", self._after)

    def _send(self, **_: Any) -> None:
        self._started.at = time.perf_counter()

    def _received(self, **_: Any) -> None:
        started = getattr(self._started, "at", None)
        if started is not None:
            self.aws_seconds += time.perf_counter() - started
            self._started.at = None

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _sizes(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "PutObject":
            body = params.get("Body")
            self.put_bytes += len(body.getbuffer()) if hasattr(body, "getbuffer") else len(body or b"")
        if model.name in ("PutItem", "DeleteItem"):
            self.wru += max(1, math.ceil(self.size(params.get("Item") or params.get("Key")) / 1024))

    def size(self, item: Any) -> int:
        """An item's size as the meter counts it (its JSON length; a subclass may size binary values)."""
        return len(json.dumps(item))

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        size = self.size
        if model.name == "Query":
            self.rru += max(0.5, math.ceil(sum(size(i) for i in parsed.get("Items", [])) / 4096) * 0.5)
        elif model.name == "BatchGetItem":
            self.rru += sum(math.ceil(size(i) / 4096) * 0.5 for items in parsed.get("Responses", {}).values()
                            for i in items)
        elif model.name == "GetItem":
            self.rru += max(1, math.ceil(size(parsed.get("Item", {})) / 4096))

    def snapshot(self) -> tuple[Counter[str], float, float, int]:
        return self.calls.copy(), self.rru, self.wru, self.put_bytes


def _cold_cache() -> None:
    from chalicelib.store import search_index

    search_index._cache_etags.clear()
    shutil.rmtree(search_index.CACHE_DIR, ignore_errors=True)


def _build(rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Each month's file from the tickets, in-process (the indexer's code), published to S3."""
    from chalicelib.services import search as service
    from chalicelib.store import cursors, search_index
    from chalicelib.store.reference import load_reference

    ref = load_reference()
    by_month: dict[str, list[Any]] = {}
    started = time.perf_counter()
    for ticket in _ticket_objects(rows):
        by_month.setdefault(ticket.created_month, []).append(service.document(ticket, ref))
    files, raw, stored = {}, {}, {}
    for month, docs in by_month.items():
        shard, etag = search_index.open_copy(month, empty=True)
        shard.put(docs)
        shard.compact()
        raw[month] = shard.path.stat().st_size
        stored[month] = len(gzip.compress(shard.path.read_bytes(), search_index.GZIP_LEVEL))
        files[month] = search_index.publish(shard, month, etag)
    build_s = time.perf_counter() - started
    state = service.State(high=now - service.SETTLE, files=files, read={m: now.isoformat() for m in files})
    assert cursors.save(cursors.read(service.CURSOR), state.dump(), now)
    return {"build_s": round(build_s, 1), "raw": raw, "stored": stored, "months": len(files)}


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _index_part(service: Any, text: str, user: Any) -> int:
    """What a search spends in the months' files alone (cached): the first page's candidates."""
    from chalicelib.domain import search as rules
    from chalicelib.store import cursors

    state = service.State.load(cursors.read(service.CURSOR).value)
    window = rules.months(datetime.now(timezone.utc))
    stream = service._from_files(state, window, rules.parse(text), user, (), None)
    return sum(1 for _, _ in zip(range(2 * service.PAGE), stream))


def _searches(meter: Meter) -> dict[str, Any]:
    from chalicelib.domain.permissions import StaffUser
    from chalicelib.services import search as service

    operator = StaffUser("op", "op@x", "op", frozenset({"operator"}))
    officer = StaffUser("xd", "xd@x", "xd", frozenset({"agency_officer"}), "so-xay-dung")
    found = {q: len(service.search(operator, q)["tickets"]) for q in QUERIES}  # warms every file
    index_only = [_timed(lambda q=q: _index_part(service, q, operator)) for q in QUERIES for _ in range(WARM_SAMPLES)]
    aws_before = meter.aws_seconds
    warm = [_timed(lambda q=q: service.search(operator, q)) for q in QUERIES for _ in range(WARM_SAMPLES)]
    aws_share = (meter.aws_seconds - aws_before) / sum(warm)
    officer_warm = [_timed(lambda q=q: service.search(officer, q)) for q in QUERIES for _ in range(WARM_SAMPLES // 2)]
    second_page = []
    for q in QUERIES:
        first = service.search(operator, q)
        if first["next"]:
            second_page.append(_timed(lambda q=q, after=first["next"]: service.search(operator, q, after)))
    cold = []
    for q in QUERIES:
        for _ in range(COLD_SAMPLES):
            _cold_cache()
            cold.append(_timed(lambda q=q: service.search(operator, q)))
    before, *_ = meter.snapshot()
    service.search(operator, "nguyen trai")
    after, *_ = meter.snapshot()
    calls = after - before
    _cold_cache()
    before, *_ = meter.snapshot()
    service.search(operator, "lâm ngọc quyên")  # a rare name: every month's file
    cold_calls = meter.snapshot()[0] - before
    return {"found": found, "index_only": _percentiles(index_only), "warm": _percentiles(warm), "aws_share": aws_share, "cold": _percentiles(cold),
            "officer_warm": _percentiles(officer_warm), "second_page": _percentiles(second_page or [0.0]),
            "calls": dict(calls), "cold_calls": dict(cold_calls)}


def _indexer(meter: Meter, rows_so_far: int, now: datetime, reference: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Runs the indexer every simulated 5 minutes: DAY_RUNS with PER_DAY_RUN new tickets each, then
    NIGHT_RUNS with none, the first of which is due to re-read an older month (each is, once a
    day). Returns what each run cost, by phase."""
    from chalicelib.config import settings
    from chalicelib.services import search as service
    from chalicelib.store import cursors

    chooser = random.Random(7)
    table = settings().tickets_table
    clock = now
    runs: dict[str, list[dict[str, Any]]] = {"day": [], "night": []}
    for phase, count, per_run in (("day", DAY_RUNS, PER_DAY_RUN), ("night", NIGHT_RUNS, 0)):
        for run in range(count):
            clock += timedelta(minutes=5)
            fresh = [{**synthetic(rows_so_far + i, clock, reference, chooser),
                      "code": f"TN-N{uuid.uuid4().hex[:6].upper()}", "created": clock - timedelta(minutes=3, seconds=i)}
                     for i in range(per_run)]
            rows_so_far += per_run
            _load(table, fresh)
            if phase == "night" and run == 0:  # an older month's daily re-read falls due in this run
                cursor = cursors.read(service.CURSOR)
                state = service.State.load(cursor.value)
                state.read[sorted(state.files)[1]] = (clock - timedelta(days=2)).isoformat()
                assert cursors.save(cursor, state.dump(), clock)
            calls0, rru0, wru0, bytes0 = meter.snapshot()
            seconds = _timed(lambda: service.index(clock))
            calls1, rru1, wru1, bytes1 = meter.snapshot()
            runs[phase].append({"tickets": per_run, "seconds": seconds, "calls": calls1 - calls0, "rru": rru1 - rru0,
                                "wru": wru1 - wru0, "put_bytes": bytes1 - bytes0})
    return runs


def _inverted_index(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What one DynamoDB item per distinct word of a ticket would take (pk=WORD#<word>,
    sk=<created>#<code>): a write unit per word on create and again on anonymisation, and a query
    reads a common word's whole posting list."""
    from chalicelib.domain import search as rules
    from chalicelib.store.reference import load_reference

    areas = {a.id: a.name for a in load_reference().areas.values()}
    frequency: Counter[str] = Counter()
    distinct = []
    for fields in rows:
        words = set(rules.words(fields["text"])) | set(rules.words(fields["name"])) | \
            set(rules.words(fields["address"])) | set(rules.words(areas.get(fields["area"])))
        distinct.append(len(words))
        frequency.update(words)
    common, count = frequency.most_common(1)[0]
    return {"words_per_ticket": round(statistics.mean(distinct), 1), "common_word": common,
            "common_word_tickets": count}


def measure_here() -> dict[str, Any]:
    from devstack.emulator import bring_up, stage_environment

    local = bring_up(port=0, stack_name=STACK_NAME)
    try:
        stage_environment("dev")
        from chalicelib import aws
        from chalicelib.config import settings
        from chalicelib.store.reference import save_reference, seed_document

        settings.cache_clear()
        meter = Meter(aws.botocore_session())  # before any client is made: a client copies the hooks it finds
        reference = seed_document()
        save_reference(reference, expected_version=None)
        now = datetime.now(timezone.utc)
        chooser = random.Random(1022)
        rows = [synthetic(n, now, reference, chooser) for n in range(TICKETS)]
        print(f"bench.search: loading {TICKETS:,} tickets…", file=sys.stderr, flush=True)
        load_s = _load(settings().tickets_table, rows)
        print("bench.search: building the index…", file=sys.stderr, flush=True)
        built = _build(rows, now)
        tail = [{**synthetic(TICKETS + i, now, reference, chooser), "code": f"TN-T{i:05d}",
                 "created": now - timedelta(seconds=30 + i)} for i in range(5)]
        _load(settings().tickets_table, tail)  # newer than the index: matched by the search directly
        print("bench.search: searching…", file=sys.stderr, flush=True)
        searched = _searches(meter)
        print("bench.search: running the indexer…", file=sys.stderr, flush=True)
        runs = _indexer(meter, TICKETS + len(tail), now, reference)
        inverted = _inverted_index(rows)
    finally:
        local.stop()
    return _figures(rows, load_s, built, searched, runs, inverted)


def _price(name: str) -> float:
    return float(json.loads((ROOT / "bench" / "prices.json").read_text(encoding="utf-8"))["prices"][name]["value"])


def _figures(rows: list[dict[str, Any]], load_s: float, built: dict[str, Any], searched: dict[str, Any],
             runs: dict[str, list[dict[str, Any]]], inverted: dict[str, Any]) -> dict[str, Any]:
    put, get = _price("s3_put_per_thousand") / 1000, _price("s3_get_per_thousand") / 1000
    rru, wru = _price("dynamodb_rru_per_million") / 1e6, _price("dynamodb_wru_per_million") / 1e6
    gb_s, invoke = _price("lambda_gb_second"), _price("lambda_requests_per_million") / 1e6
    tickets_per_day = TICKETS / 365

    def measures(run: dict[str, Any]) -> dict[str, float]:
        return {"s3_put": run["calls"].get("s3.PutObject", 0), "s3_get": run["calls"].get("s3.GetObject", 0),
                "rru": run["rru"], "wru": run["wru"], "seconds": run["seconds"]}

    day: Counter[str] = Counter()
    reread, *quiet = runs["night"]  # the first night run re-read an older month
    for phase, sample in (("day", runs["day"]), ("night", quiet)):
        for run in sample:
            for key, value in measures(run).items():
                day[key] += value * RUNS_PER_DAY[phase] / len(sample)
    for key, value in measures(reread).items():  # each older month once a day
        extra = value - statistics.mean(measures(run)[key] for run in quiet)
        day[key] += max(0.0, extra) * (built["months"] - 2)
    usd_day = (day["s3_put"] * put + day["s3_get"] * get + day["rru"] * rru + day["wru"] * wru +
               day["seconds"] * 0.5 * gb_s + 288 * invoke)
    index_bytes = sum(built["stored"].values())
    words = inverted["words_per_ticket"]
    return {
        "search_tickets": len(rows),
        "search_emulator_load_s": round(load_s, 1),
        "search_index_build_s": built["build_s"],
        "search_index_months": built["months"],
        "search_index_bytes": index_bytes,
        "search_index_bytes_per_ticket": round(index_bytes / len(rows), 1),
        "search_index_month_bytes_max": max(built["stored"].values()),
        "search_index_month_bytes_unzipped_max": max(built["raw"].values()),
        "search_index_query_p50_ms": searched["index_only"][0],
        "search_index_query_p95_ms": searched["index_only"][1],
        "search_p50_ms_warm": searched["warm"][0],
        "search_p95_ms_warm": searched["warm"][1],
        "search_warm_share_in_emulator_calls": round(searched["aws_share"], 2),
        "search_p50_ms_cold": searched["cold"][0],
        "search_p95_ms_cold": searched["cold"][1],
        "search_officer_p50_ms_warm": searched["officer_warm"][0],
        "search_second_page_p50_ms_warm": searched["second_page"][0],
        "search_aws_calls_warm": searched["calls"],
        "search_aws_calls_cold_rare_name": searched["cold_calls"],
        "search_results_per_query": searched["found"],
        "search_indexer_run_ms_p50_day": round(statistics.median(r["seconds"] for r in runs["day"]) * 1000, 1),
        "search_indexer_run_ms_p50_night": round(statistics.median(r["seconds"] for r in quiet) * 1000, 1),
        "search_indexer_put_bytes_p50_day": int(statistics.median(r["put_bytes"] for r in runs["day"])),
        "search_indexer_per_day": {key: round(value, 1) for key, value in day.items()},
        "search_indexer_s3_puts_per_ticket": round(day["s3_put"] / tickets_per_day, 2),
        "search_indexer_s3_gets_per_ticket": round(day["s3_get"] / tickets_per_day, 2),
        "search_indexer_rru_per_ticket": round(day["rru"] / tickets_per_day, 1),
        "search_indexer_wru_per_ticket": round(day["wru"] / tickets_per_day, 2),
        "search_indexer_usd_per_1000_tickets": round(usd_day / tickets_per_day * 1000, 4),
        "search_inverted_index_words_per_ticket": words,
        "search_inverted_index_wru_per_ticket": round(words * 2, 1),
        "search_inverted_index_usd_per_1000_tickets_writes": round(words * 2 * wru * 1000, 4),
        "search_inverted_index_common_word": inverted["common_word"],
        "search_inverted_index_common_word_tickets": inverted["common_word_tickets"],
        "search_inverted_index_common_word_rru_per_query": round(
            math.ceil(inverted["common_word_tickets"] * 120 / 4096) * 0.5, 1),
    }


def main(arguments: list[str]) -> None:
    from bench import report

    report.record(measure_here(), "search", arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
