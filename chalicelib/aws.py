"""Shared AWS clients, created on first use and reused for the life of the Lambda container.

One botocore session serves boto3, PynamoDB and the Powertools idempotency layer, so each
service model is loaded once per cold start. `AWS_ENDPOINT_URL` (the local emulator) is
honoured by botocore itself: no code branch for local runs.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _session() -> Any:
    import boto3  # lazy: ~120 ms of import that routes without AWS calls never pay

    return boto3.session.Session()


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    """Returns the shared boto3 client for `service` ('dynamodb', 'sqs', ...)."""
    from chalicelib.config import settings

    return _session().client(service, region_name=settings().region)


def botocore_session() -> Any:
    """Returns the botocore session behind the shared clients (for event hooks in the bench)."""
    return _session()._session
