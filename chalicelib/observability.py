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


def count(metric: str, **dimensions: str) -> None:
    """Emits one CloudWatch metric (EMF log line, no API call), e.g. rejected webhook signatures."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=metric, unit=MetricUnit.Count, value=1, namespace="Hotline1022") as one:
        for name, value in dimensions.items():
            one.add_dimension(name=name, value=value)
