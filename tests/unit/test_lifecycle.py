"""The lifecycle table, checked pair by pair against the product's written rules."""
from __future__ import annotations

import itertools

import pytest

from chalicelib.domain.errors import IllegalTransition, ValidationFailed
from chalicelib.domain.lifecycle import LABELS_VI, Status, check_transition, is_open

S = Status
# The allowed moves, as the hotline's process describes them (independent of the code's table).
ALLOWED = {
    (S.RECEIVED, S.TRIAGE), (S.RECEIVED, S.ASSIGNED),
    (S.TRIAGE, S.ASSIGNED), (S.TRIAGE, S.ANSWERED),
    (S.ASSIGNED, S.TRIAGE), (S.ASSIGNED, S.IN_PROGRESS), (S.ASSIGNED, S.AWAITING_CALLBACK), (S.ASSIGNED, S.ANSWERED),
    (S.IN_PROGRESS, S.TRIAGE), (S.IN_PROGRESS, S.ASSIGNED), (S.IN_PROGRESS, S.AWAITING_CALLBACK), (S.IN_PROGRESS, S.ANSWERED),
    (S.AWAITING_CALLBACK, S.ASSIGNED), (S.AWAITING_CALLBACK, S.IN_PROGRESS), (S.AWAITING_CALLBACK, S.ANSWERED),
    (S.ANSWERED, S.CLOSED), (S.ANSWERED, S.REOPENED),
    (S.CLOSED, S.REOPENED), (S.REJECTED, S.REOPENED), (S.REDIRECTED, S.REOPENED), (S.MERGED, S.REOPENED),
    (S.REOPENED, S.TRIAGE), (S.REOPENED, S.ASSIGNED), (S.REOPENED, S.IN_PROGRESS), (S.REOPENED, S.ANSWERED),
}
# Rejecting, redirecting and merging are possible from every open status.
for source in (S.RECEIVED, S.TRIAGE, S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_CALLBACK, S.REOPENED):
    ALLOWED |= {(source, S.REJECTED), (source, S.REDIRECTED), (source, S.MERGED)}

DETAILS = {"reason": "Không thuộc thẩm quyền", "redirected_to": "Tòa án nhân dân tỉnh", "merged_into": "TN-7KXQ4M"}


@pytest.mark.parametrize("current,target", list(itertools.product(Status, Status)))
def test_every_pair_follows_the_rules(current: Status, target: Status) -> None:
    # Given a ticket in `current`, when staff move it to `target` with the details they'd give
    if (current, target) in ALLOWED:
        check_transition(current, target, DETAILS)  # then it is accepted
    else:
        with pytest.raises(IllegalTransition):  # then it is refused as illegal (HTTP 409)
            check_transition(current, target, DETAILS)


@pytest.mark.parametrize("target,needed", [(S.REJECTED, {"reason"}), (S.REDIRECTED, {"reason", "redirected_to"}),
                                           (S.MERGED, {"merged_into"})])
def test_side_exits_need_their_reason(target: Status, needed: set[str]) -> None:
    with pytest.raises(ValidationFailed) as failed:
        check_transition(S.TRIAGE, target, {"reason": "   "})
    assert {e.field for e in failed.value.errors} == needed


def test_closed_tickets_can_only_be_reopened_with_a_reason() -> None:
    with pytest.raises(ValidationFailed):
        check_transition(S.CLOSED, S.REOPENED, {})
    check_transition(S.CLOSED, S.REOPENED, {"reason": "Người dân phản hồi chưa được khắc phục"})


def test_open_statuses_and_labels() -> None:
    assert is_open(S.AWAITING_CALLBACK) and not is_open(S.ANSWERED) and not is_open(S.MERGED)
    assert set(LABELS_VI) == set(Status)
