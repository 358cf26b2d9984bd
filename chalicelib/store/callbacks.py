"""Callbacks (gọi lại) promised to citizens, and the SES contact-health records."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from chalicelib.domain.errors import Conflict
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import CallbackModel, ContactHealthModel, ticket_pk

OPEN = "cb#open"


def add(code: str, due: datetime, reason: str, operator: str, operator_email: str | None,
        operator_phone: str | None, now: datetime) -> CallbackModel:
    """Stores a promised callback on the ticket's partition, in the open-callbacks index."""
    bind()
    callback = CallbackModel(pk=ticket_pk(code), sk=f"CALLBACK#{now.isoformat()}#{secrets.token_hex(3)}",
                             tracking_code=code, due_at=due, reason=reason, operator=operator,
                             operator_email=operator_email, operator_phone=operator_phone, status=OPEN,
                             due_sort=due.astimezone(timezone.utc).isoformat(), created_at=now)
    with translate():
        callback.save(condition=CallbackModel.pk.does_not_exist())
    return callback


def due_by(moment: datetime) -> list[CallbackModel]:
    """Returns every open callback due at or before `moment`, earliest first (index query; PynamoDB
    follows the pages)."""
    bind()
    with translate():
        return list(CallbackModel.by_status_due.query(
            OPEN, CallbackModel.due_sort <= moment.astimezone(timezone.utc).isoformat()))


def mark_reminded(callback: CallbackModel, stage: str) -> bool:
    """Records that `stage` was reminded; False if it already was (so each stage is sent once,
    even when the schedule runs twice)."""
    bind()
    try:
        with translate():
            callback.update(actions=[CallbackModel.reminded.add({stage})],
                            condition=CallbackModel.reminded.does_not_exist()
                            | ~CallbackModel.reminded.contains(stage))
    except Conflict:
        return False
    return True


def close(callback: CallbackModel, outcome: str) -> None:
    """Records the outcome and takes the callback out of the open index; raises Conflict when it
    was closed already."""
    bind()
    with translate():
        callback.update(actions=[CallbackModel.outcome.set(outcome), CallbackModel.status.remove(),
                                 CallbackModel.due_sort.remove()], condition=CallbackModel.status == OPEN)


def record_contact_event(address: str, kind: str, now: datetime) -> None:
    """Counts a bounce or complaint against a staff address (one atomic ADD)."""
    bind()
    counter = ContactHealthModel.bounces if kind == "Bounce" else ContactHealthModel.complaints
    with translate():
        ContactHealthModel(sk=address.lower()).update(actions=[
            counter.add(1), ContactHealthModel.last_type.set(kind), ContactHealthModel.last_at.set(now)])


def contact_problems(limit: int = 200) -> list[ContactHealthModel]:
    """Returns the staff addresses SES reported bounces or complaints for."""
    bind()
    with translate():
        return list(ContactHealthModel.query("CONTACT_HEALTH", limit=limit))
