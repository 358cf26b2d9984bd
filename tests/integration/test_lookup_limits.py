"""Status lookups are limited per tracking code *and* source, and per source across codes, so that
a stranger guessing the last four digits of a public code never locks its reporter out. On the
emulator, through the real routes (the test client's source address patched per request) and the
service itself."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from chalicelib.config import settings
from chalicelib.domain.errors import NotFound, TooManyRequests
from chalicelib.domain.reports import validate_submission
from chalicelib.services import intake
from chalicelib.services.lookup import (LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY, LOOKUPS_PER_SOURCE_PER_DAY, source_key,
                                        status_for_citizen)
from chalicelib.store.reference import load_reference
from tests.conftest import unique_phone

STRANGER = "198.51.100.7"
REPORTER = "203.0.113.20"


def _report(phone: str) -> str:
    fields = {"description": "Hỏi tiến độ sửa đèn đường khu phố 3", "phone": phone, "category": "khac",
              "area": "tan-an"}
    return intake.submit(validate_submission(fields, load_reference()))["tracking_code"]


@contextmanager
def _from(address: str) -> Iterator[None]:
    """Requests through the test client come from `address` (chalice's local gateway says 127.0.0.1)."""
    from chalice.local import LambdaEventConverter

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)
        yield


def _wrong(phone: str, n: int) -> str:
    return f"{(int(phone[-4:]) + 1 + n) % 10000:04d}"


def test_a_strangers_hundred_guesses_never_lock_the_reporter_out(client: Any, stack: Any) -> None:
    # Given a reporter's ticket, whose code is public
    phone = unique_phone()
    code = _report(phone)
    # When a stranger tries 100 wrong last-four digits from one address
    with _from(STRANGER):
        answers = [client.http.get(f"/api/v1/reports/{code}?phone_last4={_wrong(phone, n)}").status_code
                   for n in range(100)]
        # (the stranger is refused even with the right digits now)
        assert client.http.get(f"/api/v1/reports/{code}?phone_last4={phone[-4:]}").status_code == 429
    # Then the stranger got a few "not found" and then only "too many requests"
    assert answers == [404] * LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY + [429] * (100 - LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY)
    # And the reporter, from their own address, still sees the status in the API and on the page
    with _from(REPORTER):
        status = client.http.get(f"/api/v1/reports/{code}?phone_last4={phone[-4:]}")
        page = client.http.get(f"/tra-cuu?code={code}&phone_last4={phone[-4:]}")
    assert status.status_code == 200 and status.json_body["tracking_code"] == code
    assert page.status_code == 200 and code in page.body.decode()


def test_one_address_probing_many_codes_is_limited_across_codes(stack: Any) -> None:
    # Given six tickets and an address that stays under the per-code limit on each
    probe = "192.0.2.44"
    now = datetime.now(timezone.utc)
    phones = [unique_phone() for _ in range(6)]
    codes = [_report(phone) for phone in phones]
    per_code = LOOKUPS_PER_SOURCE_PER_DAY // 5
    assert per_code < LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY
    # When it spends the day's allowance for a source on five of them
    for code, phone in zip(codes[:5], phones[:5]):
        for n in range(per_code):
            with pytest.raises(NotFound):
                status_for_citizen(code, _wrong(phone, n), probe, now=now)
    # Then a sixth code is refused to it, even with the right digits
    with pytest.raises(TooManyRequests):
        status_for_citizen(codes[5], phones[5][-4:], probe, now=now)
    # But not to another address, and not to it the next day
    assert status_for_citizen(codes[5], phones[5][-4:], REPORTER, now=now).tracking_code == codes[5]
    assert status_for_citizen(codes[5], phones[5][-4:], probe, now=now + timedelta(days=1)).tracking_code == codes[5]


def test_parallel_guesses_never_pass_the_limit(stack: Any) -> None:
    # Given a ticket and 40 simultaneous wrong guesses from one address
    phone = unique_phone()
    code = _report(phone)
    now = datetime.now(timezone.utc)

    def guess(n: int) -> str:
        try:
            status_for_citizen(code, _wrong(phone, n), "198.51.100.99", now=now)
        except NotFound:
            return "not found"
        except TooManyRequests:
            return "limited"
        return "found"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(guess, range(40)))
    # Then exactly the per-code allowance was answered, the rest refused
    assert outcomes.count("not found") == LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY
    assert outcomes.count("limited") == 40 - LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY


def test_the_counters_keep_no_address_in_their_keys(stack: Any) -> None:
    import boto3

    # Given one lookup from an address
    phone = unique_phone()
    code = _report(phone)
    now = datetime.now(timezone.utc)
    address = "198.51.100.201"
    status_for_citizen(code, phone[-4:], address, now=now)
    # Then its counter is stored under a pseudonym of the address, which appears nowhere in the item
    pk = f"RATE#LOOKUP#SRC#{source_key(address)}#{now:%Y%m%d}"
    item = boto3.client("dynamodb").get_item(TableName=settings().tickets_table, Key={"pk": {"S": pk}, "sk": {"S": "N"}},
                                            ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "1"} and item[f"part_{code}"] == {"N": "1"}
    assert address not in json.dumps(item) and "198.51.100" not in pk
    assert "expires_at" in item  # the counter goes away with its day (TTL)


def test_sms_status_queries_answer_only_the_reporters_phone_however_often_others_ask(client: Any,
                                                                                     providers: Any) -> None:
    """On SMS the source is the phone: `TT <code>` answers the reporter's own phone only, so a
    stranger's queries (capped as automated replies) change nothing for the reporter."""
    from tests.integration.test_channels import gateway_post, pump

    # Given a ticket reported by SMS
    reporter = unique_phone()
    gateway_post(client, reporter, "Cống bể tràn nước ấp 4 xã Tân Hội")
    pump()
    from chalicelib.store import outbound, tickets

    (ticket,) = tickets.by_phone("+84" + reporter[1:])
    # When a stranger's phone asks for its status more often than the web allows a code per day
    stranger = unique_phone()
    for _ in range(LOOKUPS_PER_CODE_PER_SOURCE_PER_DAY + 1):
        assert gateway_post(client, stranger, f"TT {ticket.tracking_code}").status_code == 200
    pump()
    # Then the reporter's own query is still answered with the status, once
    assert gateway_post(client, reporter, f"TT {ticket.tracking_code}").status_code == 200
    pump()
    answers = [m for m in outbound.of_ticket(ticket.tracking_code) if m.kind == "status"]
    assert len(answers) == 1 and answers[0].recipient == "+84" + reporter[1:]
    assert ticket.tracking_code in answers[0].text
    # And no ticket was opened for the stranger's queries
    assert tickets.by_phone("+84" + stranger[1:]) == []
