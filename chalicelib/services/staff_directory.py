"""Who the staff are, as pages and use cases name them: every staff account of the directory
(Cognito, one listing per role), once per person with its roles merged, read at most every
TTL_S per container. A change made in this container (an account created, disabled, given
another role) drops the copy at once; other containers see it within TTL_S.

The accounts page itself (chalicelib.services.console.staff_accounts) reads Cognito each time.
"""
from __future__ import annotations

import time
from typing import Any, Callable

TTL_S = 300.0
_cache: dict[str, Any] = {}  # "until" (monotonic seconds), "people"


def people(clock: Callable[[], float] = time.monotonic) -> list[dict[str, Any]]:
    """Every staff account once — {email, name ("" when none), sub, agency, enabled, status, roles
    (a set)} — by name then e-mail, disabled accounts included. While Cognito cannot be read, the
    last listing; raises BotoCoreError / ClientError when there is none yet."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib import identity

    if _cache and clock() < _cache["until"]:
        return list(_cache["people"])
    try:
        listing = identity.staff_by_role()
    except (BotoCoreError, ClientError):
        if _cache:
            return list(_cache["people"])
        raise
    merged: dict[str, dict[str, Any]] = {}
    for role, accounts in listing.items():
        for account in accounts:
            if account.get("email"):
                merged.setdefault(account["email"].lower(), {**account, "roles": set()})["roles"].add(role)
    found = sorted(merged.values(), key=lambda p: ((p.get("name") or p["email"]).lower(), p["email"].lower()))
    _cache.update(until=clock() + TTL_S, people=found)
    return list(found)


def names() -> dict[str, str]:
    """{e-mail: display name} of every account with a name, so that pages name people rather than
    accounts; {} while the directory cannot be read (pages then show the e-mail)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return {person["email"]: person["name"] for person in people() if person.get("name")}
    except (BotoCoreError, ClientError):
        return {}


def forget() -> None:
    """Drops this container's copy (an account just changed here): the next read lists again."""
    _cache.clear()
