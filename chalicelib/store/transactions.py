"""Transactions cancelled by a concurrent one are sent again, a few times, in this one place.

Every ticket change ADDs to shared statistics counters (`D#dd#<combo>`, a month's `DIRTY`) and rate-limit
counters in its own TransactWriteItems. DynamoDB cancels a transaction that touches an item another
transaction is writing at that moment (TransactionCanceledException, reason `TransactionConflict`).
botocore does not retry that error code (neither its legacy `dynamodb` policies nor standard mode),
and PynamoDB raises it at once as TransactWriteError, so without this a burst of SMS on one category
and commune would turn into 503s and retried queue messages.

A cancelled transaction wrote nothing, so sending the very same request again is safe: its
conditions are evaluated afresh. Only cancellations whose reasons are all `TransactionConflict`
(or `None`, the untouched items) are retried; a `ConditionalCheckFailed` is an answer (taken code,
rate limit reached, stale version) and is raised at once, as are throttling and validation reasons.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError

ATTEMPTS = 3
# Upper bounds of the jittered pause before the 2nd and the 3rd attempt (seconds); at least 20 ms.
_PAUSES = (0.08, 0.2)
_MIN_PAUSE = 0.02

sleep: Callable[[float], None] = time.sleep  # tests may replace it


def conflict_only(exc: TransactWriteError) -> bool:
    """True when the transaction was cancelled only because another one was writing the same items."""
    codes = {r.code for r in (exc.cancellation_reasons or []) if r is not None}
    return codes == {"TransactionConflict"}


class RetryingConnection(Connection):
    """A PynamoDB Connection whose TransactWriteItems is re-sent when cancelled by a conflict."""

    def transact_write_items(self, *args: Any, **kwargs: Any) -> dict:
        for attempt in range(ATTEMPTS):
            try:
                return super().transact_write_items(*args, **kwargs)
            except TransactWriteError as exc:
                if attempt + 1 == ATTEMPTS or not conflict_only(exc):
                    raise
                sleep(random.uniform(_MIN_PAUSE, _PAUSES[min(attempt, len(_PAUSES) - 1)]))
        raise AssertionError("unreachable")
