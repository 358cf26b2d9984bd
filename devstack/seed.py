"""Demo data for the local stack: the shipped reference data and a few tickets to look at."""
from __future__ import annotations

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
    """Stores the reference data (if absent) and demo tickets; returns the demo tracking codes."""
    from chalicelib.domain.errors import Conflict
    from chalicelib.domain.reports import validate_submission
    from chalicelib.services import intake
    from chalicelib.store.reference import load_reference, save_reference, seed_document

    try:
        save_reference(seed_document(), expected_version=None)
    except Conflict:
        pass
    if not demo_tickets:
        return []
    ref = load_reference()
    return [intake.submit(validate_submission(r, ref))["tracking_code"] for r in DEMO_REPORTS]
