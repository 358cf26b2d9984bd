"""The ticket lifecycle as one explicit transition table.

    received -> triage -> assigned -> in_progress -> awaiting_callback -> answered -> closed
    side exits: rejected (reason), redirected (to another body, reason), merged (into a ticket)
    reopened: from answered / closed / rejected / redirected / merged, back into the queue

Citizen-visible status is this one; delivery of each outbound message has its own state.
"""
from __future__ import annotations

from enum import Enum

from chalicelib.domain.errors import FieldError, IllegalTransition, ValidationFailed


class Status(str, Enum):
    RECEIVED = "received"
    TRIAGE = "triage"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_CALLBACK = "awaiting_callback"
    ANSWERED = "answered"
    CLOSED = "closed"
    REJECTED = "rejected"
    REDIRECTED = "redirected"
    MERGED = "merged"
    REOPENED = "reopened"


S = Status
_SIDE_EXITS = {S.REJECTED, S.REDIRECTED, S.MERGED}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.RECEIVED: frozenset({S.TRIAGE, S.ASSIGNED} | _SIDE_EXITS),
    S.TRIAGE: frozenset({S.ASSIGNED, S.ANSWERED} | _SIDE_EXITS),  # the operator answers a question at once
    S.ASSIGNED: frozenset({S.TRIAGE, S.IN_PROGRESS, S.AWAITING_CALLBACK, S.ANSWERED} | _SIDE_EXITS),
    S.IN_PROGRESS: frozenset({S.TRIAGE, S.ASSIGNED, S.AWAITING_CALLBACK, S.ANSWERED} | _SIDE_EXITS),  # transfer
    S.AWAITING_CALLBACK: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.ANSWERED} | _SIDE_EXITS),
    S.ANSWERED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REJECTED: frozenset({S.REOPENED}),
    S.REDIRECTED: frozenset({S.REOPENED}),
    S.MERGED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.TRIAGE, S.ASSIGNED, S.IN_PROGRESS, S.ANSWERED} | _SIDE_EXITS),
}

OPEN_STATUSES = frozenset({S.RECEIVED, S.TRIAGE, S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_CALLBACK, S.REOPENED})

# What each target needs besides the status itself.
_REQUIRES = {
    S.REJECTED: ("reason",),
    S.REDIRECTED: ("reason", "redirected_to"),
    S.MERGED: ("merged_into",),
    S.REOPENED: ("reason",),
}

# Citizen-facing labels (Vietnamese), also used on the public status page.
LABELS_VI: dict[Status, str] = {
    S.RECEIVED: "Đã tiếp nhận",
    S.TRIAGE: "Đang phân loại",
    S.ASSIGNED: "Đã chuyển cơ quan xử lý",
    S.IN_PROGRESS: "Đang xử lý",
    S.AWAITING_CALLBACK: "Chờ gọi lại",
    S.ANSWERED: "Đã trả lời",
    S.CLOSED: "Đã đóng",
    S.REJECTED: "Không tiếp nhận",
    S.REDIRECTED: "Đã hướng dẫn gửi cơ quan khác",
    S.MERGED: "Đã gộp với phản ánh khác",
    S.REOPENED: "Đã mở lại",
}


def check_transition(current: Status, target: Status, details: dict[str, str] | None = None) -> None:
    """Returns None when `current -> target` is allowed and carries what the target needs.

    Raises IllegalTransition for a move the table does not have, and ValidationFailed when a
    required detail (reason, redirected_to, merged_into) is missing or blank.
    """
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current.value, target.value)
    details = details or {}
    missing = [name for name in _REQUIRES.get(target, ()) if not str(details.get(name) or "").strip()]
    if missing:
        raise ValidationFailed([
            FieldError(name, "Cần nhập thông tin này cho thao tác đã chọn.", "Required for this action.")
            for name in missing
        ])


def is_open(status: Status) -> bool:
    """Returns True while the ticket still needs work (it counts against an agency's queue)."""
    return status in OPEN_STATUSES
