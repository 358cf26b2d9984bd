"""Scheduled jobs do a bounded page of work per run and the next run carries on: with more due
items than a page, every item is handled once, over several runs, none twice and none skipped."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.config import settings
from chalicelib.services import delivery, routing, schedules
from chalicelib.store import callbacks, cursors, outbound, tickets
from chalicelib.store.connection import bind
from chalicelib.store.models import TicketModel, ticket_pk
from chalicelib.store.reference import load_reference
from tests.conftest import drain

VN = timezone(timedelta(hours=7))
# Due items of these tests lie in 2024, before anything the other tests create, so the jobs'
# index queries up to a 2024 `now` see only them.
NOW = datetime(2024, 6, 4, 10, 0, tzinfo=VN)


def _ticket(code: str | None = None, **fields: Any) -> TicketModel:
    """Stores a ticket straight in the table (test set-up), `received` unless `fields` say otherwise."""
    bind()
    code = code or f"TN-J{uuid.uuid4().hex[:10].upper()}"
    at = NOW - timedelta(days=3)
    ticket = TicketModel(pk=ticket_pk(code), tracking_code=code, channel="web", text="Phản ánh thử",
                         created_at=at, updated_at=at, **{"status": "received", **fields})
    ticket.save()
    return ticket


@pytest.fixture(autouse=True)
def _quiet_queues(stack: Any, sqs: Any) -> None:
    for url in (settings().routing_queue_url, settings().notifications_queue_url):
        drain(sqs, url)


def test_callback_reminders_go_a_page_per_run_each_once(stack: Any) -> None:
    # Given twelve callbacks that are all overdue, and reminders of five per run
    code = _ticket().tracking_code
    email = f"op-{uuid.uuid4().hex[:6]}@example.gov.vn"
    for minute in range(12):
        callbacks.add(code, NOW - timedelta(minutes=60 - minute), "Gọi lại", "operator:mai", email, None,
                      NOW - timedelta(hours=2))

    def reminded() -> list[str]:
        return [m.sk for m in outbound.of_ticket(code) if m.kind == "callback_overdue"]

    # When the job runs: five, then five more, then the last two, then nothing
    progress = []
    for _ in range(4):
        schedules.callback_reminders(NOW, page=5)
        progress.append(len(reminded()))
    assert progress == [5, 10, 12, 12]
    # Then each callback got exactly one overdue reminder, and none is left owing one
    assert len(set(reminded())) == 12
    assert callbacks.due_for_reminder(NOW, schedules.REMIND_AHEAD, 100) == []
    assert {c.status for c in callbacks.of_ticket(code)} == {callbacks.REMINDED}  # still open for the operator


def test_the_deadline_watch_warns_a_page_per_shard_per_run_each_once(stack: Any) -> None:
    ref = load_reference()
    agency = next(a for a in ref.agencies.values() if a.email)
    due = NOW + timedelta(days=2)
    watched = [_ticket(code, status="assigned", agency=agency.id, agency_open=agency.id, due_at=due,
                       due_sort=due.astimezone(timezone.utc).isoformat(), watch_shard=routing.watch_shard(code),
                       watch_at=(NOW - timedelta(hours=1)).astimezone(timezone.utc).isoformat(), watch_stage="warn")
               for code in (f"TN-W{uuid.uuid4().hex[:10].upper()}" for _ in range(12))]
    codes = {t.tracking_code for t in watched}
    warned_per_run = []
    for _ in range(8):
        warned_per_run.append(schedules.deadline_watch(NOW, per_shard=1)["warned"])
    # At most one ticket per shard (four shards) per run, all twelve in the end, each once
    assert all(n <= 4 for n in warned_per_run) and warned_per_run[0] >= 1 and sum(warned_per_run) == 12
    for code in codes:
        assert [e.kind for e in tickets.timeline(code)].count("deadline_warning") == 1
        assert tickets.get_ticket(code).watch_stage == "due"


def test_the_daily_digest_covers_every_agency_over_the_mornings_runs_once_each(stack: Any) -> None:
    # Given every agency with an address has an open ticket, and a page of ten agencies per run
    ref = load_reference()
    agencies = sorted(a.id for a in ref.agencies.values() if a.email)
    for agency in agencies:
        _ticket(status="assigned", agency=agency, agency_open=agency)
    seven = datetime(2024, 6, 5, 7, 0, tzinfo=VN)
    today = "05/06/2024"

    def digested() -> list[str]:
        return [a for a in agencies if outbound.get_outbound(f"OUTBOX#digest#{today}#{a}", "OUT#digest#0")]

    # When the morning's runs come, ten agencies each, in id order
    sent, covered = [], []
    for run in range(5):
        sent.append(schedules.daily_digest(seven + timedelta(minutes=10 * run), per_run=10))
        covered.append(digested())
    # Then each run took the next agencies and the last runs had nothing left to do
    assert [len(c) for c in covered] == [10, 20, len(agencies), len(agencies), len(agencies)]
    assert covered[0] == agencies[:10] and covered[1] == agencies[:20]
    assert sum(sent) == len(agencies) and sent[-1] == 0  # one email per agency, none twice


def test_the_unrouted_sweeper_goes_round_every_received_ticket_a_page_per_run(stack: Any, sqs: Any) -> None:
    # Given twelve tickets stuck in `received` (their routing messages were lost)
    stuck = {_ticket(created_month="2024-06").tracking_code for _ in range(12)}
    cursor = cursors.read("requeue_unrouted")
    cursors.save(cursor, None, NOW)  # start a round at the front, whatever earlier tests left
    # When the sweeper runs with pages of five until its cursor comes back to the front
    seen: list[str] = []
    for _ in range(200):
        assert routing.requeue_unrouted(NOW, page_size=5) <= 5
        seen += [body["tracking_code"] for body in drain(sqs, settings().routing_queue_url)]
        if cursors.read("requeue_unrouted").value is None:
            break
    # Then, in one round, each stuck ticket was queued again exactly once
    assert sorted(code for code in seen if code in stuck) == sorted(stuck)


def test_the_pending_sweeper_requeues_a_page_per_run_oldest_first_each_once(stack: Any, sqs: Any) -> None:
    # Given twelve messages pending since 2024 whose queue messages were lost
    bind()
    lost = []
    for n in range(12):
        message = outbound.new_outbound("ack", "sms", "sns", "+84912000000", "Đã tiếp nhận",
                                        NOW - timedelta(hours=2, minutes=-n))
        stored = outbound.add_unattached(message, f"OUTBOX#test#{uuid.uuid4().hex}")
        lost.append((stored.pk, stored.sk))
    queued: list[str] = []
    counts = []
    for _ in range(4):
        counts.append(delivery.requeue_stale(NOW, page_size=5))
        queued += [(body["pk"], body["sk"]) for body in drain(sqs, settings().notifications_queue_url)]
    # Then five, five, two, then none (each went to the back of the queue when re-sent)
    assert counts == [5, 5, 2, 0]
    assert sorted(queued) == sorted(lost) and queued[:5] == lost[:5]
    assert {outbound.get_outbound(pk, sk).state for pk, sk in lost} == {"pending"}  # the notifier decides
