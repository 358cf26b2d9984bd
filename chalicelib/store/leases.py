"""Exclusive leases by conditional write: exactly one holder until it releases or the lease ends."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.errors import Conflict
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import LeaseModel


def acquire(name: str, holder: str, now: datetime, seconds: int = 60) -> bool:
    """Takes the lease if nobody holds it (or the holder's time ran out); returns whether we hold it."""
    bind()
    lease = LeaseModel(pk=f"LEASE#{name}", holder=holder, until=int(now.timestamp()) + seconds,
                       expires_at=now + timedelta(seconds=seconds + 3600))
    try:
        with translate():
            lease.save(condition=LeaseModel.pk.does_not_exist() | (LeaseModel.until < int(now.timestamp())))
    except Conflict:
        return False
    return True


def release(name: str, holder: str) -> None:
    """Gives the lease back, only if we still hold it."""
    bind()
    try:
        with translate():
            LeaseModel(pk=f"LEASE#{name}").delete(condition=LeaseModel.holder == holder)
    except Conflict:
        pass  # the lease ran out and someone else holds it now
