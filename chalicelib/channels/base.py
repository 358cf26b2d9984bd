"""What every provider adapter shares: its errors and small helpers. An adapter verifies, parses
into an InboundMessage, and does nothing else."""
from __future__ import annotations

import hmac
import json
from typing import Any

from chalicelib.domain.errors import DomainError

MAX_BODY_BYTES = 64 * 1024


class SignatureInvalid(DomainError):
    """Missing, wrong or stale signature: 401, nothing stored."""

    message_vi = "Chữ ký không hợp lệ."
    message_en = "Invalid signature."


class PayloadInvalid(DomainError):
    """An authenticated provider sent something we cannot read: 400, and the raw body is quarantined."""

    message_vi = "Dữ liệu không đúng định dạng; đã lưu lại để kiểm tra."
    message_en = "Malformed payload; it was kept for review."

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.quarantine_id: str | None = None


class BodyTooLarge(DomainError):
    message_vi = "Dữ liệu gửi lên quá lớn."
    message_en = "Request body too large."


def check_size(raw: bytes) -> None:
    """Raises BodyTooLarge above MAX_BODY_BYTES (no provider sends more for one message)."""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge()


def same(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two secrets or signatures."""
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def json_object(raw: bytes) -> dict[str, Any]:
    """Returns the JSON object in `raw`; raises PayloadInvalid otherwise."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadInvalid("not JSON") from exc
    if not isinstance(body, dict):
        raise PayloadInvalid("not a JSON object")
    return body
