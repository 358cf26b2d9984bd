"""Shared AWS clients, created on first use and reused for the life of the Lambda container.

One botocore session serves boto3, PynamoDB and the Powertools idempotency layer, so each
service model is loaded once per cold start. `AWS_ENDPOINT_URL` (the local emulator) is
honoured by botocore itself: no code branch for local runs.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

# S3: presigned uploads and links must be SigV4 on the regional virtual-hosted endpoint
# (https://<bucket>.s3.<region>.amazonaws.com). botocore's legacy default presigns SigV2 on the
# global host, which a bucket answers with 307 redirects (that a browser POST does not survive)
# for up to a day after it is created. With AWS_ENDPOINT_URL set, botocore uses that endpoint
# instead (path-style on an IP address), so the emulator needs no other setting.
# SES and SNS: one short attempt each; a failed send is retried by its queue message with backoff, and
# botocore's defaults (60 s reads, 3 attempts) would not fit the notifications function's time budget.
_SEND_ONCE = {"connect_timeout": 3, "read_timeout": 5, "retries": {"total_max_attempts": 1}}
_CLIENT_CONFIG: dict[str, dict[str, Any]] = {
    "ses": _SEND_ONCE,
    "sns": _SEND_ONCE,
    "s3": {"signature_version": "s3v4",
           "s3": {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}},
}


@lru_cache(maxsize=1)
def _session() -> Any:
    import boto3  # lazy: ~120 ms of import that routes without AWS calls never pay

    return boto3.session.Session()


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    """Returns the shared boto3 client for `service` ('dynamodb', 'sqs', ...)."""
    from chalicelib.config import settings

    options = _CLIENT_CONFIG.get(service)
    if options is None:
        return _session().client(service, region_name=settings().region)
    from botocore.config import Config

    return _session().client(service, region_name=settings().region, config=Config(**options))


def botocore_session() -> Any:
    """Returns the botocore session behind the shared clients (for event hooks in the bench)."""
    return _session()._session
