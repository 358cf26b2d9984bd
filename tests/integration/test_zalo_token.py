"""The Zalo access token: one refresher at a time, even when many workers see it rejected at once."""
from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from chalicelib.notify import zalo
from chalicelib.notify.base import DeliveryFailed
from devstack.fakes import seed_provider_secrets


def test_a_rejected_token_is_refreshed_once_and_the_message_resent(providers: Any) -> None:
    seed_provider_secrets(providers, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
    stored = zalo.read_token()
    providers.state.access_token = "at-rotated-by-zalo"  # Zalo no longer accepts the stored one
    calls_before = providers.state.refresh_calls
    user = f"z{uuid.uuid4().int % 10**12}"
    message_id = zalo.ZaloSender().send(user, "Xin chào")
    assert message_id and providers.state.refresh_calls == calls_before + 1
    renewed = zalo.read_token()
    assert renewed.generation == stored.generation + 1 and renewed.access_token == providers.state.access_token
    assert [m["text"] for m in providers.state.outbox if m["to"] == user] == ["Xin chào"]


def test_racing_workers_refresh_exactly_once_and_never_burn_the_refresh_token(providers: Any) -> None:
    # Given eight workers that all saw the current generation rejected at the same moment
    seed_provider_secrets(providers, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
    seen = zalo.read_token().generation
    calls_before, refused_before = providers.state.refresh_calls, providers.state.refused_refreshes
    start = threading.Barrier(8)
    results: list[Any] = []

    def worker() -> None:
        start.wait()
        for _ in range(40):  # a worker that lost the lease retries, as SQS would redeliver
            try:
                results.append(zalo.refresh(seen_generation=seen, now=datetime.now(timezone.utc)))
                return
            except DeliveryFailed:
                time.sleep(0.05)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then Zalo saw one refresh, no reused refresh token, and every worker holds the new token
    assert providers.state.refresh_calls == calls_before + 1
    assert providers.state.refused_refreshes == refused_before
    assert len(results) == 8 and {r.generation for r in results} == {seen + 1}
    assert {r.access_token for r in results} == {providers.state.access_token}


def test_a_refused_refresh_is_not_retried_blindly(providers: Any) -> None:
    seed_provider_secrets(providers, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
    providers.state.refresh_token = "rt-changed-outside"  # the chain is broken: an admin must re-consent
    try:
        zalo.refresh(seen_generation=zalo.read_token().generation)
    except DeliveryFailed as failed:
        assert failed.transient is False and "refused" in failed.reason
    else:
        raise AssertionError("a refused refresh must fail")
