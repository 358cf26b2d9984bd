"""Binds the PynamoDB models to the configured table and to the shared DynamoDB client."""
from __future__ import annotations

from functools import lru_cache

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.store.models import MODELS
from chalicelib.store.transactions import RetryingConnection


@lru_cache(maxsize=1)
def bind() -> RetryingConnection:
    """Points every model at the tickets table; returns a Connection for transactions.

    PynamoDB would otherwise open its own botocore session (~55 ms on the first request);
    handing it the shared client keeps one session per container. The transactions' connection
    re-sends a TransactWriteItems cancelled by a concurrent transaction (chalicelib.store.transactions).
    """
    shared = aws.client("dynamodb")
    for model in MODELS:
        model.Meta.table_name = settings().tickets_table
        model._connection = None
        model._get_connection().connection._client = shared
    connection = RetryingConnection(region=settings().region)
    connection._client = shared
    return connection
