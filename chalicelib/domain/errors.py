"""Domain errors. The web layer maps each class to one HTTP status (see chalicelib/web/http.py)."""
from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error the domain and the store raise on purpose."""

    message_vi = "Yêu cầu không hợp lệ."
    message_en = "Invalid request."


@dataclass(frozen=True)
class FieldError:
    """One bad field: a Vietnamese message first, an English one too."""

    field: str
    vi: str
    en: str


class ValidationFailed(DomainError):
    """Input is invalid; `errors` names every bad field."""

    message_vi = "Thông tin gửi lên chưa hợp lệ."
    message_en = "Some fields are invalid."

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(e.field for e in errors))
        self.errors = errors


class NotFound(DomainError):
    """No such thing, or the caller may not know it exists (same answer for both)."""

    message_vi = "Không tìm thấy phản ánh với mã và số điện thoại này."
    message_en = "No report matches this code and phone number."


class IllegalTransition(DomainError):
    """The lifecycle table does not allow this status change."""

    message_vi = "Không thể chuyển phản ánh sang trạng thái này."
    message_en = "This status change is not allowed."

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"{current} -> {target}")
        self.current = current
        self.target = target


class Conflict(DomainError):
    """Somebody else changed the record first (optimistic locking)."""

    message_vi = "Phản ánh vừa được người khác cập nhật. Vui lòng tải lại và thử lại."
    message_en = "The ticket was changed by someone else. Reload and try again."


class AlreadyExists(DomainError):
    """A conditional create found the key taken (e.g. a tracking-code collision)."""


class Unavailable(DomainError):
    """A backing service is throttling or down; the caller may retry."""

    message_vi = "Hệ thống đang bận, vui lòng thử lại sau ít phút."
    message_en = "The service is busy; please try again in a few minutes."


@dataclass
class _Collector:
    errors: list[FieldError] = field(default_factory=list)

    def add(self, name: str, vi: str, en: str) -> None:
        self.errors.append(FieldError(name, vi, en))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def collector() -> _Collector:
    """Returns an accumulator so a validator can report every bad field at once."""
    return _Collector()
