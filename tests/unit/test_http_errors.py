"""Domain errors map to one HTTP status each, with Vietnamese and English messages."""
from __future__ import annotations

import pytest

from chalicelib.domain.errors import (
    AlreadyExists, Conflict, FieldError, IllegalTransition, NotFound, Unavailable, ValidationFailed,
)
from chalicelib.domain.lifecycle import Status, check_transition
from chalicelib.services.intake import IdempotencyKeyReused
from chalicelib.web.http import error_body, status_for


def test_an_illegal_transition_is_a_409_conflict() -> None:
    with pytest.raises(IllegalTransition) as illegal:
        check_transition(Status.CLOSED, Status.ASSIGNED)
    assert status_for(illegal.value) == 409
    assert error_body(illegal.value)["error"]["message"] == "Không thể chuyển phản ánh sang trạng thái này."


@pytest.mark.parametrize("error,status", [
    (ValidationFailed([FieldError("phone", "vi", "en")]), 400), (NotFound(), 404), (Conflict(), 409),
    (AlreadyExists(), 409), (Unavailable(), 503), (IdempotencyKeyReused(), 422)])
def test_each_error_has_its_status_and_both_languages(error: Exception, status: int) -> None:
    assert status_for(error) == status
    body = error_body(error)["error"]
    assert body["message"] and body["message_en"] and body["message"] != body["message_en"]
