"""The one place where PynamoDB/botocore failures become domain errors."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.domain.errors import Conflict, Unavailable

_THROTTLED = {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
              "InternalServerError", "ServiceUnavailable"}


@contextmanager
def translate(conflict: type[Exception] = Conflict) -> Iterator[None]:
    """Maps PynamoDB/botocore failures to domain errors (the one place that does)."""
    try:
        yield
    except TransactWriteError as exc:
        reasons = [r for r in (exc.cancellation_reasons or []) if r is not None]
        if any(r.code == "ConditionalCheckFailed" for r in reasons):
            raise conflict() from exc
        raise Unavailable() from exc
    except PynamoDBException as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise conflict() from exc
        if exc.cause_response_code in _THROTTLED:
            raise Unavailable() from exc
        raise
