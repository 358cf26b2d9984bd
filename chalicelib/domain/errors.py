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


class SearchIndexRefused(Unavailable):
    """S3 refused to hand over a month's search file (403: the function's role lacks a grant). Not
    "no file": with s3:ListBucket on search/ a missing file answers 404 (infra/iam.py)."""

    message_vi = ("Chưa tìm được theo chữ: hệ thống không đọc được chỉ mục tìm kiếm (bị từ chối quyền truy cập). "
                  "Tìm theo mã phản ánh hoặc số điện thoại vẫn dùng được; vui lòng báo quản trị hệ thống.")
    message_en = ("Free-text search is unavailable: the search index could not be read (access denied). "
                  "Search by tracking code or phone still works; please tell the administrator.")


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


class Unauthenticated(DomainError):
    """No valid staff sign-in: missing, forged, expired or foreign token (401)."""

    message_vi = "Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Vui lòng đăng nhập lại."
    message_en = "Not signed in, or the session expired. Please sign in again."

    def __init__(self, reason: str = "invalid", expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


class Forbidden(DomainError):
    """Signed in, but the role may not do this (403). Tickets of another agency answer NotFound."""

    message_vi = "Tài khoản của bạn không có quyền thực hiện thao tác này."
    message_en = "Your account may not do this."


class WrongCredentials(DomainError):
    """Sign-in refused; one message whether the email exists or not."""

    message_vi = "Email hoặc mật khẩu không đúng."
    message_en = "Wrong email or password."


class TicketNotFound(NotFound):
    """Staff side: no such ticket, or not one this account may see (the same answer for both)."""

    message_vi = "Không tìm thấy phản ánh."
    message_en = "No such ticket."


class Missing(NotFound):
    """Staff side: a template, callback or record that is not (or no longer) there."""

    message_vi = "Không tìm thấy mục này (có thể đã bị xoá hoặc thay đổi)."
    message_en = "Not found (it may have been deleted or changed)."


class TooManyRequests(DomainError):
    """A rate limit per IP or per phone number was reached (429); nothing was stored."""

    message_vi = "Bạn đã gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau hoặc gọi đường dây nóng."
    message_en = "Too many requests in a short time. Please try again later or call the hotline."
