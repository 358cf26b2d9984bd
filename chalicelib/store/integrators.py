"""Open311 integrators and their API keys. A key is shown once; only its SHA-256 is stored."""
from __future__ import annotations

import hashlib
from datetime import datetime

from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Missing
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import ApiKeyModel, IntegratorModel


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add(integrator_id: str, name: str, key: str, actor: str, now: datetime) -> None:
    """Stores the integrator and its key lookup atomically."""
    connection = bind()
    digest = key_hash(key)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.save(IntegratorModel(sk=integrator_id, name=name, key_hash=digest, created_by=actor,
                                             created_at=now), condition=IntegratorModel.sk.does_not_exist())
            transaction.save(ApiKeyModel(pk=f"APIKEY#{digest}", integrator=integrator_id, name=name),
                             condition=ApiKeyModel.pk.does_not_exist())


def by_key(key: str) -> ApiKeyModel | None:
    """The integrator an API key belongs to, or None (unknown or revoked)."""
    bind()
    with translate():
        try:
            return ApiKeyModel.get(f"APIKEY#{key_hash(key)}", "APIKEY")
        except ApiKeyModel.DoesNotExist:
            return None


def listing() -> list[IntegratorModel]:
    bind()
    with translate():
        return list(IntegratorModel.query("INTEGRATORS"))


def revoke(integrator_id: str, now: datetime) -> None:
    """Deletes the key lookup and marks the integrator revoked, atomically."""
    connection = bind()
    with translate():
        try:
            item = IntegratorModel.get("INTEGRATORS", integrator_id, consistent_read=True)
        except IntegratorModel.DoesNotExist:
            raise Missing() from None
        with TransactWrite(connection=connection) as transaction:
            transaction.update(item, actions=[IntegratorModel.revoked_at.set(now)],
                               condition=IntegratorModel.revoked_at.does_not_exist())
            transaction.delete(ApiKeyModel(pk=f"APIKEY#{item.key_hash}"))
