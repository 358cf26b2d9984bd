"""Provider secrets: from the environment when set there (the local stack, tests), otherwise from
SSM Parameter Store SecureStrings under SSM_PREFIX (AWS). Cached per container for a few minutes,
so a rotated secret is picked up without a deploy and intake pays no SSM call per message."""
from __future__ import annotations

import os
import time

from chalicelib import aws

_TTL_SECONDS = 300
_cache: dict[str, tuple[float, str]] = {}


class MissingSecret(Exception):
    """A secret is configured nowhere: a deployment error, never the caller's fault."""


def secret(name: str) -> str:
    """Returns the secret `name` (e.g. 'zalo_oa_secret_key'); raises MissingSecret."""
    from_env = os.environ.get(name.upper())
    if from_env:
        return from_env
    now = time.monotonic()
    cached = _cache.get(name)
    if cached and now - cached[0] < _TTL_SECONDS:
        return cached[1]
    prefix = os.environ.get("SSM_PREFIX", "/hotline1022/prod")
    ssm = aws.client("ssm")
    try:
        value = ssm.get_parameter(Name=f"{prefix}/{name}", WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound as exc:
        raise MissingSecret(name) from exc
    _cache[name] = (now, value)
    return value
