"""What every provider adapter shares: its errors and small helpers. An adapter verifies, parses
into an InboundMessage, and does nothing else."""
from __future__ import annotations

import hmac
import ipaddress
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import DomainError, Forbidden

MAX_BODY_BYTES = 64 * 1024
MAX_AHEAD = timedelta(minutes=5)  # a provider's clock may run this far ahead of ours, no further


class SignatureInvalid(DomainError):
    """Missing, wrong or stale signature: 401, nothing stored. `reason` names which, for the
    metric: 'signature', 'stale' (older than the provider's window), 'future' (dated ahead of
    our clock beyond MAX_AHEAD) or 'undated' (no time to bound its age by)."""

    message_vi = "Chữ ký không hợp lệ."
    message_en = "Invalid signature."

    def __init__(self, reason: str = "signature") -> None:
        super().__init__(reason)
        self.reason = reason


class SourceNotAllowed(Forbidden):
    """The request came from an address outside the provider's configured allowlist: 403, nothing stored."""

    reason = "source"


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


def check_size(raw: bytes, limit: int = MAX_BODY_BYTES) -> None:
    """Raises BodyTooLarge above `limit`, by default MAX_BODY_BYTES (no provider sends more for one message)."""
    if len(raw) > limit:
        raise BodyTooLarge()


def epoch_number(text: object) -> int:
    """Returns the integer in a provider's epoch field ('1700000000000'); raises SignatureInvalid
    ('undated') for anything else (signs, decimals, non-ASCII digits, absurd lengths)."""
    value = str(text if text is not None else "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 16:
        raise SignatureInvalid("undated")
    return int(value)


def check_age(sent_ms: int, now: datetime, max_age: timedelta, max_ahead: timedelta = MAX_AHEAD) -> None:
    """Raises SignatureInvalid('stale') when `sent_ms` (epoch milliseconds, from signed material)
    is older than `max_age` at `now`, and SignatureInvalid('future') when it is ahead of `now` by
    more than `max_ahead`. Integer arithmetic: no timestamp, however large, can overflow it."""
    age_ms = int(now.timestamp() * 1000) - sent_ms
    if age_ms > max_age // timedelta(milliseconds=1):
        raise SignatureInvalid("stale")
    if -age_ms > max_ahead // timedelta(milliseconds=1):
        raise SignatureInvalid("future")


def check_source(source_ip: str | None, allowed: str) -> None:
    """Raises SourceNotAllowed unless `allowed` (comma-separated CIDRs, e.g. '203.0.113.0/24,
    2001:db8::/32') is empty (any source) or holds `source_ip`. An unknown or unreadable source
    is refused once a list is set; a malformed list entry raises ValueError (a deployment error,
    which the template's AllowedPattern prevents)."""
    networks = [ipaddress.ip_network(entry.strip(), strict=False) for entry in allowed.split(",") if entry.strip()]
    if not networks:
        return
    try:
        address = ipaddress.ip_address((source_ip or "").strip())
    except ValueError:
        raise SourceNotAllowed() from None
    if not any(address.version == network.version and address in network for network in networks):
        raise SourceNotAllowed()


def same(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two secrets or signatures."""
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def json_object(raw: bytes) -> dict[str, Any]:
    """Returns the JSON object in `raw`, read by the bounded parser every webhook and the API share
    (chalicelib/domain/bounds.py); raises PayloadInvalid otherwise (not JSON, nested too deep, a
    string or number too long)."""
    from chalicelib.domain.bounds import Unreadable, load_json

    try:
        body = load_json(raw, lenient=True)
    except Unreadable as exc:
        raise PayloadInvalid(exc.reason) from exc
    if not isinstance(body, dict):
        raise PayloadInvalid("not a JSON object")
    return body
