"""Structured logs (Powertools Logger). Log ids and outcomes only: never phones, names or text."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

# Must differ from the Chalice app name, or Chalice's own handler prints every line twice.
SERVICE = "hotline"


@lru_cache(maxsize=1)
def logger() -> Any:
    """Returns the shared Powertools Logger."""
    from aws_lambda_powertools import Logger

    return Logger(service=SERVICE)
