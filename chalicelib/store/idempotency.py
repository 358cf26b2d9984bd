"""The Powertools idempotency record store (its own table), on the shared DynamoDB client."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib import aws
from chalicelib.config import settings


@lru_cache(maxsize=1)
def persistence_layer() -> Any:
    """Returns the DynamoDB persistence layer for Powertools idempotency (built on first use:
    its import costs ~60 ms of cold start that most requests never need)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings().idempotency_table, boto3_client=aws.client("dynamodb"))
