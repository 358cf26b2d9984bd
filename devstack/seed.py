"""Demo data for the local stack: the shipped reference data and a few tickets to look at."""
from __future__ import annotations

from pathlib import Path
from typing import Any

DEMO_REPORTS: list[dict[str, Any]] = [
    {"description": "Đường Cách Mạng Tháng Tám đoạn gần chợ bị ngập sâu sau mưa, xe máy chết máy.",
     "category": "ngap-ung", "area": "tan-ninh", "address": "Đường CMT8, gần chợ Tây Ninh",
     "name": "Nguyễn Văn An", "phone": "0912345678", "consent_publish": True},
    {"description": "Đèn đường hẻm 12 tắt cả tuần nay, buổi tối rất tối và nguy hiểm.",
     "category": "chieu-sang", "area": "long-hoa", "address": "Hẻm 12, khu phố 3",
     "name": "Trần Thị Bình", "phone": "0987654321"},
    {"description": "Xin hỏi thủ tục đăng ký khai sinh cho con cần giấy tờ gì và nộp ở đâu?",
     "category": "thu-tuc-hanh-chinh", "area": "duc-hoa", "phone": "0356789012"},
    {"description": "Rác thải tập kết ven đường nhiều ngày chưa thu gom, bốc mùi.",
     "area": "ben-cau", "phone": "0701234567"},
]


def seed(demo_tickets: bool = True) -> list[str]:
    """Stores the reference data (if absent), the demo knowledge base and demo tickets; returns the
    demo tracking codes."""
    from chalicelib.domain.errors import Conflict
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake
    from chalicelib.store.reference import load_reference, save_reference, seed_document

    try:
        save_reference(seed_document(), expected_version=None)
    except Conflict:
        pass
    seed_roster()
    if not demo_tickets:
        return []
    seed_kb()
    ref = load_reference()
    return [intake.submit(validate_submission(r, ref))["tracking_code"] for r in DEMO_REPORTS]


KB_SEED = Path(__file__).resolve().parent / "kb_seed.json"
_KB_DAY = __import__("re").compile(r"\{([+-]?[0-9]{1,4}):([^{}]{1,20})\}")


def kb_articles(day: Any, path: Path = KB_SEED) -> list[dict[str, Any]]:
    """The demo articles as of `day` (a date: the load day in Vietnam). The seed stores an
    announcement's dates relative to the day it is loaded, so the demo shows valid announcements
    whenever it runs: a whole number in valid_from, valid_until or the source's date is that many
    days from `day`, and "{+N:<strftime format>}" in a text is `day` + N days in that format."""
    import json
    from datetime import date, timedelta

    def shifted(value: Any) -> Any:
        return (day + timedelta(days=value)).isoformat() if isinstance(value, int) else value

    def filled(value: Any) -> Any:
        if isinstance(value, str):
            return _KB_DAY.sub(lambda m: (day + timedelta(days=int(m.group(1)))).strftime(m.group(2)), value)
        if isinstance(value, list):
            return [filled(v) for v in value]
        return value

    assert isinstance(day, date)
    articles = []
    for article in json.loads(path.read_text(encoding="utf-8"))["articles"]:
        article = {key: filled(value) for key, value in article.items()}
        article["source"] = {**article["source"], "date": shifted(article["source"].get("date"))}
        article.update(valid_from=shifted(article.get("valid_from")), valid_until=shifted(article.get("valid_until")))
        articles.append(article)
    return articles


def seed_kb(now: Any = None) -> int:
    """Loads the demo knowledge base (devstack/kb_seed.json: articles and announcements written for
    this project, every source a sample marked as demo data) as published; returns how many were
    added (none when they are already there)."""
    from datetime import datetime, timezone

    from chalicelib.domain.clock import VN_TZ
    from chalicelib.services import kb

    now = now or datetime.now(timezone.utc)
    return kb.load_published(kb_articles(now.astimezone(VN_TZ).date()), "staff:seed", now)


# Demo staff accounts `make run` creates in the emulator's Cognito pool (printed at start-up).
# Local-only passwords for a throw-away emulator; AWS accounts are created by admins in the console.
DEMO_PASSWORD = "Hotline1022demo"
DEMO_STAFF: list[dict[str, str]] = [
    {"email": "tongdai@demo.1022.vn", "name": "Lê Thị Mai (tổng đài)", "role": "operator"},
    {"email": "tongdai2@demo.1022.vn", "name": "Hồ Văn Nam (tổng đài, trực tại nhà)", "role": "operator"},
    {"email": "soxaydung@demo.1022.vn", "name": "Phạm Văn Hùng (Sở Xây dựng)", "role": "agency_officer",
     "agency": "so-xay-dung"},
    {"email": "congan@demo.1022.vn", "name": "Võ Minh Tâm (Công an tỉnh)", "role": "agency_officer",
     "agency": "cong-an-tinh"},
    {"email": "giamsat@demo.1022.vn", "name": "Đặng Quốc Việt (giám sát)", "role": "supervisor"},
    {"email": "quantri@demo.1022.vn", "name": "Ngô Thanh Hà (quản trị)", "role": "admin"},
]
# The demo duty roster: the seed's operators answer every day 07:00–20:00 (the hotline's hours), one on
# the console's softphone, one from home on their own phone (a number of the reserved demo range).
DEMO_ROSTER: list[dict[str, Any]] = [
    {"staff": "tongdai@demo.1022.vn", "name": "Lê Thị Mai", "kind": "internal", "target": "tongdai",
     "days": [0, 1, 2, 3, 4, 5, 6], "start": "07:00", "end": "20:00"},
    {"staff": "tongdai2@demo.1022.vn", "name": "Hồ Văn Nam", "kind": "external", "target": "+84909990001",
     "days": [0, 1, 2, 3, 4, 5, 6], "start": "07:00", "end": "20:00"},
]


def seed_roster() -> None:
    """Stores the demo duty roster unless one was saved already."""
    from datetime import datetime, timezone

    from chalicelib.domain.errors import Conflict
    from chalicelib.domain.roster import Roster, entry_from_document
    from chalicelib.store import roster

    if roster.current(consistent=True).version:
        return
    try:
        roster.save(Roster(entries=tuple(entry_from_document(e) for e in DEMO_ROSTER)), 0, "system:seed",
                    datetime.now(timezone.utc))
    except Conflict:
        pass


DEMO_TEMPLATES: list[dict[str, str]] = [
    {"title": "Đã chuyển cơ quan", "body": "Phản ánh {ma} đã được chuyển đến {co_quan}. Hạn trả lời: {han}. "
                                           "Cảm ơn bạn đã phản ánh."},
    {"title": "Đang khắc phục ngập", "category": "ngap-ung",
     "body": "{co_quan} đã cử lực lượng kiểm tra, khơi thông cống thoát nước tại điểm bạn phản ánh ({ma})."},
    {"title": "Hướng dẫn khai sinh", "category": "thu-tuc-hanh-chinh",
     "body": "Hồ sơ khai sinh gồm tờ khai, giấy chứng sinh và giấy tờ tùy thân của cha/mẹ; nộp tại UBND "
             "xã/phường nơi cư trú hoặc trực tuyến trên Cổng Dịch vụ công."},
]


def seed_staff(password: str = DEMO_PASSWORD) -> list[dict[str, str]]:
    """Creates the demo staff accounts (permanent passwords, no first-sign-in change) and the demo
    response templates; returns the accounts."""
    import os
    from datetime import datetime, timezone

    import boto3

    from chalicelib.store.templates import all_templates, create_template

    cognito = boto3.client("cognito-idp")
    pool = os.environ["COGNITO_USER_POOL_ID"]
    for person in DEMO_STAFF:
        attributes = [{"Name": "email", "Value": person["email"]}, {"Name": "name", "Value": person["name"]},
                      {"Name": "email_verified", "Value": "true"}]
        if person.get("agency"):
            attributes.append({"Name": "custom:agency", "Value": person["agency"]})
        cognito.admin_create_user(UserPoolId=pool, Username=person["email"], UserAttributes=attributes,
                                  MessageAction="SUPPRESS")
        cognito.admin_set_user_password(UserPoolId=pool, Username=person["email"], Password=password, Permanent=True)
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=person["email"], GroupName=person["role"])
    if not all_templates():
        now = datetime.now(timezone.utc)
        for template in DEMO_TEMPLATES:
            create_template(template.get("category"), template["title"], template["body"], "system:seed", now)
    return DEMO_STAFF
