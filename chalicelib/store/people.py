"""Person markers: where a citizen appears outside their own tickets' keys (following a ticket, a
message sent with no ticket, a follow waiting for its code), so that "what do you hold about this
number?" is one Query. Keys carry a digest of the phone (E.164) or Zalo id, never the value."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import PersonMarkerModel


def person_digest(value: str) -> str:
    """The pseudonym of a phone (E.164, as stored) or Zalo id in keys: the same value gives the
    same digest, so a request about the person finds every marker."""
    return hashlib.sha256(f"person:{value}".encode("utf-8")).hexdigest()[:32]


def person_pk(value: str) -> str:
    return f"PERSON#{person_digest(value)}"


def marker(value: str, kind: str, ref: str, at: datetime, expires_at: datetime | None = None,
           **extra: Any) -> PersonMarkerModel:
    """The marker item (to save in the caller's transaction): `kind` is FOLLOW, OUTBOX or VERIFY,
    `ref` what it points at (a tracking code; an outbound item's "pk|sk")."""
    return PersonMarkerModel(pk=person_pk(value), sk=f"{kind}#{ref}", kind=kind, ref=ref, at=at,
                             expires_at=expires_at, **extra)


def markers(value: str) -> list[PersonMarkerModel]:
    """Every marker of the person with this phone (E.164) or Zalo id (one Query, paged through)."""
    bind()
    with translate():
        return list(PersonMarkerModel.query(person_pk(value), consistent_read=True))


def delete(found: PersonMarkerModel) -> None:
    bind()
    with translate():
        found.delete()
