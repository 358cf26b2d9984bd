"""Channel figures on the running local stack: AWS calls per SMS / Zalo / Messenger intake (webhook plus the
inbound consumer), duplicate deliveries, and the SMS budget of the automated replies."""
from __future__ import annotations

import json
import os
import time
import uuid
from types import SimpleNamespace
from typing import Any

from bench.stack import CallCounter

DUPLICATES = 50


def _intake_calls(client: Any, counter: CallCounter, request: Any) -> dict[str, int]:
    """Counts the app's AWS calls for one signed webhook and its inbound consumer run."""
    import app
    from chalicelib.config import settings
    from devstack.worker import poll_once

    with counter.window() as calls:
        path = "/" + request.url.split("://", 1)[1].split("/", 1)[1]
        response = client.http.request(request.method, path, headers=request.headers, body=request.body)
        if response.status_code != 200:
            raise RuntimeError(f"{request.provider} webhook failed: {response.status_code} {response.body[:200]!r}")
        # The poller's own ReceiveMessage/DeleteMessage are Lambda's, not the app's: they use
        # another session and are not counted.
        poll_once(app.handle_inbound, "handle_inbound", settings().inbound_queue_url, 10, wait_s=0)
    return dict(calls)


def messenger_request(psid: str, text: str) -> Any:
    """A Messenger text from `psid`, signed as Meta signs it with the local app secret."""
    from chalicelib.channels import facebook
    from devstack.fakes import LOCAL_SECRETS

    now_ms = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": "1022", "time": now_ms, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": "1022"}, "timestamp": now_ms,
         "message": {"mid": f"m_{uuid.uuid4().hex}", "text": text}}]}]}).encode()
    headers = {"Content-Type": "application/json",
               "X-Hub-Signature-256": facebook.signature(body, LOCAL_SECRETS["facebook_app_secret"])}
    return SimpleNamespace(provider="facebook", method="POST", url="http://local/webhooks/facebook",
                           headers=headers, body=body)


def measure(client: Any, counter: CallCounter) -> dict[str, Any]:
    """Runs inside bench.stack's session (stack up, app client open)."""
    from chalicelib.domain import replies
    from chalicelib.domain.lifecycle import LABELS_VI
    from chalicelib.domain.sms import segments
    from chalicelib.store import tickets
    from chalicelib.store.reference import seed_document
    from devstack.fakes import seed_provider_secrets, start_fakes
    from devstack.sign import signed_requests

    fakes = start_fakes()
    try:
        os.environ.update(fakes.environment())
        seed_provider_secrets(fakes, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
        by_provider = {r.provider: r for r in signed_requests("http://local", "0913000001", "Den duong tat")}
        _intake_calls(client, counter, by_provider["android_gateway"])  # warm: secrets cached, as in a warm Lambda
        _intake_calls(client, counter, by_provider["zalo"])
        fresh = {r.provider: r for r in signed_requests("http://local", "0913000002", "Duong bi ngap")}
        sms_calls = _intake_calls(client, counter, fresh["android_gateway"])
        # a Zalo user writing for the first time: a new ticket, as the SMS above
        first_zalo = signed_requests("http://local", "0913000003", "Ổ gà", zalo_user="bench-new-zalo-user")[0]
        zalo_calls = _intake_calls(client, counter, first_zalo)
        _intake_calls(client, counter, messenger_request("bench-warm-psid", "Den duong tat"))  # warm, as above
        # a Messenger user writing to the fanpage for the first time
        facebook_calls = _intake_calls(client, counter, messenger_request("bench-new-psid", "Ổ gà"))

        duplicate = signed_requests("http://local", "0913000004", "Nuoc yeu")[1]
        for _ in range(DUPLICATES):
            _intake_calls(client, counter, duplicate)
        duplicate_tickets = len(tickets.by_phone("+84913000004"))
    finally:
        fakes.stop()

    worst_agency = max((a["name"] for a in seed_document()["agencies"]), key=len) + " tỉnh Tây Ninh và các xã"
    templates = [replies.acknowledgement("TN-WWWWWW", "0276 1022 / 0276 3822 999"),
                 replies.status("TN-WWWWWW", max(LABELS_VI.values(), key=len), worst_agency),
                 replies.not_found("0276 1022 / 0276 3822 999"), replies.usage("0276 1022 / 0276 3822 999"),
                 replies.reopened("TN-WWWWWW", "0276 1022 / 0276 3822 999"),
                 replies.acknowledgement("TN-WWWWWW", "0276 1022 / 0276 3822 999", related="TN-WWWWWX", split=True)]
    return {
        "aws_calls_per_sms_intake": sum(sms_calls.values()),
        "aws_calls_sms_breakdown": sms_calls,
        "aws_calls_per_zalo_intake": sum(zalo_calls.values()),
        "aws_calls_zalo_breakdown": zalo_calls,
        "aws_calls_per_facebook_intake": sum(facebook_calls.values()),
        "aws_calls_facebook_breakdown": facebook_calls,
        "duplicate_deliveries_tickets": duplicate_tickets,
        "sms_templates_max_segments": max(segments(t.sms) for t in templates),
    }
