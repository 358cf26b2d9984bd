"""Calls in DynamoDB (chalicelib.domain.calls for the rules): the call item, its day's log entry, the live
calls of the screen-pop, the caller's person markers and the callback tasks.

- An offered call is one transaction: the call (if absent: a retried answer_url changes nothing), its
  entry in the day's log, its live marker and the caller's person marker.
- Each provider event is ONE UpdateItem of the call, conditional on its status not being there yet:
  a repeat fails the condition and changes nothing. Each status sets only its own attributes, so the
  order events arrive in does not matter. The updated call comes back with the write (ALL_NEW).
- When the call's outcome is known its follow-ups are one transaction, guarded by the call's
  `finalised` (written once) and by the voicemail it saw, so a voicemail arriving meanwhile is not lost:
  the log entry gets the outcome, the live marker goes, a callback task is opened or merged.
- A caller has at most one open task (pk=CALLTASK#<digest of the phone>, sk=OPEN), an upsert that
  adds the call; it is a CallbackModel, so the callback reminder job reminds it like any callback.
  Closing it moves it to sk=DONE#<closed at> in one transaction, so the next missed call opens a new one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.store import people
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import CallbackModel, CallMarkerModel, CallModel, EventModel, PersonMarkerModel
from chalicelib.store.tickets import NewEvent, event_item

LIVE_PK = "LIVECALL"
LIVE_FOR = timedelta(hours=1)       # a live marker whose end never came is gone within the hour
TASK_PREFIX = "CALLTASK#"
OPEN_SK = "OPEN"
TASK_OPERATOR = "system:telephony"
CALLED_BACK = "called_back"        # a task's outcome when a call back was answered (talk time > 0)
# The callback index partitions an open task passes through (chalicelib.store.callbacks).
TASK_STATUSES = ("cb#open", "cb#soon", "cb#reminded")
MAX_OPEN_TASKS = 500               # read per list; more open tasks than this is a backlog to fix first


def call_pk(call_id: str) -> str:
    return f"CALL#{call_id}"


def day_pk(day: date) -> str:
    return f"CALLS#{day.isoformat()}"


def local_day(moment: datetime) -> date:
    from chalicelib.domain.clock import VN_TZ

    return moment.astimezone(VN_TZ).date()


def day_sk(moment: datetime, call_id: str) -> str:
    return f"{moment.astimezone(timezone.utc).isoformat()}#{call_id}"


def task_key(phone: str) -> str:
    """The task's key for pages: the digest of the caller's phone (never the phone)."""
    return people.person_digest(phone)


def facts(item: CallModel) -> dict[str, Any]:
    """The call as a plain mapping of its stored attributes (what chalicelib.domain.calls reads)."""
    found = dict(item.attribute_values)
    found["statuses"] = set(found.get("statuses") or ())
    return found


@dataclass(frozen=True)
class Offer:
    """A call to record as offered (answer_url) or placed (call back)."""

    call_id: str
    direction: str
    caller: str | None
    caller_raw: str | None
    route: str
    rings: list[dict[str, str]]
    record: bool
    at: datetime
    keep_until: datetime
    ringing_to: str | None = None
    staff: str | None = None
    task: str | None = None
    ticket: str | None = None


def record_offer(offer: Offer, event: NewEvent | None = None) -> bool:
    """Stores the call, its day entry, its live marker and the caller's person marker in one transaction
    (and `event` on the offer's ticket's timeline). False when the call was stored already."""
    connection = bind()
    day = local_day(offer.at)
    sk = day_sk(offer.at, offer.call_id)
    # Stringee's `created` event can come before the answer_url: the call item may exist already, holding
    # what its events brought. The offer is added to it (once: a repeated answer_url finds the route set).
    fields = {"call_id": offer.call_id, "direction": offer.direction, "caller": offer.caller,
              "caller_raw": offer.caller_raw, "route": offer.route, "rings": offer.rings, "record": offer.record,
              "tried": 0, "created_at": offer.at, "day_sk": f"{day_pk(day)}|{sk}", "staff": offer.staff,
              "task": offer.task, "expires_at": offer.keep_until}
    call_actions = [getattr(CallModel, name).set(value) for name, value in fields.items() if value is not None]
    if offer.ticket:
        call_actions.append(CallModel.tickets.add({offer.ticket}))
    entry = CallMarkerModel(pk=day_pk(day), sk=sk, call_id=offer.call_id, at=offer.at, direction=offer.direction,
                            route=offer.route, staff=offer.staff, expires_at=offer.keep_until)
    live = CallMarkerModel(pk=LIVE_PK, sk=offer.call_id, call_id=offer.call_id, at=offer.at,
                           direction=offer.direction, state="ringing", caller=offer.caller,
                           ringing_to=offer.ringing_to, expires_at=offer.at + LIVE_FOR)
    try:
        with translate():
            with TransactWrite(connection=connection) as transaction:
                transaction.update(CallModel(pk=call_pk(offer.call_id), sk="CALL"), actions=call_actions,
                                   condition=CallModel.route.does_not_exist() & CallModel.finalised.does_not_exist())
                transaction.save(entry)
                if offer.direction != "out":  # a call back is the operator's own: no screen-pop
                    transaction.save(live)
                if offer.caller or offer.caller_raw:  # a number that is no Vietnamese phone: by its raw key
                    transaction.save(people.marker(_person(offer.caller, offer.caller_raw), "CALL", offer.call_id,
                                                   offer.at, expires_at=offer.keep_until))
                if event is not None and offer.ticket:
                    transaction.save(event_item(offer.ticket, event), condition=EventModel.pk.does_not_exist())
    except Conflict:
        return False
    return True


def _person(caller: str | None, caller_raw: str | None) -> str:
    """The value a call's person marker is keyed by: the caller's E.164, else the raw number's key."""
    from chalicelib.domain.calls import raw_caller_key

    return caller or raw_caller_key(caller_raw or "")


def get(call_id: str, consistent: bool = True) -> dict[str, Any] | None:
    """The call's facts, or None when no such call is stored."""
    bind()
    with translate():
        try:
            return facts(CallModel.get(call_pk(call_id), "CALL", consistent_read=consistent))
        except CallModel.DoesNotExist:
            return None


def many(call_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored calls among `call_ids`, by id (BatchGetItem; missing ones are left out)."""
    bind()
    keys = [(call_pk(i), "CALL") for i in dict.fromkeys(call_ids)]
    if not keys:
        return {}
    with translate():
        return {item.call_id: facts(item) for item in CallModel.batch_get(keys)}


def apply_event(call_id: str, status: str, changes: dict[str, Any], at: datetime | None,
                keep_until: datetime, caller: str | None = None,
                provider_call_id: str | None = None) -> tuple[dict[str, Any], bool]:
    """Adds `status` and its `changes` (attribute → value) to the call, unless that status was seen:
    one conditional UpdateItem that returns the call. Returns (the call, True) when this event was new,
    (the call as stored, False) for a repeat (then one GetItem more). A call not offered through us
    (an event first) is created with what its events bring. `provider_call_id`: Stringee's own id of a call
    back stored under ours (kept on it, for looking it up at Stringee)."""
    bind()
    moment = at or datetime.now(timezone.utc)
    item = CallModel(pk=call_pk(call_id), sk="CALL")
    actions = [CallModel.statuses.add({status}), CallModel.call_id.set(call_id),
               CallModel.created_at.set(CallModel.created_at | moment),
               CallModel.expires_at.set(CallModel.expires_at | keep_until)]
    actions += [getattr(CallModel, name).set(value) for name, value in changes.items()]
    if caller:  # the caller as the event names it, for a call whose offer was not stored (kept if it was)
        actions.append(CallModel.caller.set(CallModel.caller | caller))
    if provider_call_id and provider_call_id != call_id:
        actions.append(CallModel.provider_call_id.set(provider_call_id))
    try:
        with translate():
            item.update(actions=actions, condition=~CallModel.statuses.contains(status))
    except Conflict:
        return get(call_id) or {}, False
    return facts(item), True


def record_fail(call_id: str, tried: int, cause: str) -> dict[str, Any] | None:
    """Notes that the `tried`-th operator failed (busy, no answer, offline) with `cause`; a repeat of
    that failure changes nothing. Returns the call (None when it is not stored)."""
    bind()
    item = CallModel(pk=call_pk(call_id), sk="CALL")
    try:
        with translate():
            item.update(actions=[CallModel.fails.add({str(tried)}), CallModel.last_fail.set(cause or "failed"),
                                 CallModel.tried.set(tried)],
                        condition=CallModel.pk.exists() & ~CallModel.fails.contains(str(tried))
                        & ((CallModel.tried < tried) | CallModel.tried.does_not_exist()))
    except Conflict:
        return get(call_id)
    return facts(item)


def set_voicemail(call_id: str, url: str, seconds: int | None, keep_until: datetime) -> tuple[dict[str, Any], bool]:
    """Stores the voicemail's link on the call (once). Returns (the call, whether this was new)."""
    bind()
    item = CallModel(pk=call_pk(call_id), sk="CALL")
    actions = [CallModel.voicemail_url.set(url), CallModel.call_id.set(call_id),
               CallModel.expires_at.set(CallModel.expires_at | keep_until)]
    if seconds is not None:
        actions.append(CallModel.voicemail_s.set(seconds))
    try:
        with translate():
            item.update(actions=actions, condition=CallModel.voicemail_url.does_not_exist())
    except Conflict:
        return get(call_id) or {}, False
    return facts(item), True


def set_recording(call_id: str, url: str) -> None:
    """Stores the link of the whole call's recording (the `record` action's POST)."""
    bind()
    with translate():
        CallModel(pk=call_pk(call_id), sk="CALL").update(actions=[CallModel.recording_url.set(url)],
                                                        condition=CallModel.pk.exists())


def live_update(call_id: str, state: str | None = None, ringing_to: str | None = None,
                answered_by: str | None = None) -> None:
    """Updates a live call's marker (nothing when it is gone: the call ended meanwhile)."""
    bind()
    actions = [getattr(CallMarkerModel, name).set(value) for name, value in
               (("state", state), ("ringing_to", ringing_to), ("answered_by", answered_by)) if value]
    if not actions:
        return
    try:
        with translate():
            CallMarkerModel(pk=LIVE_PK, sk=call_id).update(actions=actions, condition=CallMarkerModel.pk.exists())
    except Conflict:
        return


def live(now: datetime) -> list[CallMarkerModel]:
    """The calls ringing or answered now (one Query of the live partition; expired ones left out)."""
    bind()
    with translate():
        return list(CallMarkerModel.query(LIVE_PK, filter_condition=CallMarkerModel.expires_at > now, limit=200))


@dataclass(frozen=True)
class TaskChange:
    """A call to add to its caller's open callback task (opened if there is none)."""

    phone: str
    call_id: str
    at: datetime
    due: datetime
    outcome: str
    remind_email: str
    keep_until: datetime


def _task_actions(change: TaskChange) -> list[Any]:
    due_sort = change.due.astimezone(timezone.utc).isoformat()
    return [CallbackModel.tracking_code.set(CallbackModel.tracking_code | ""),
            CallbackModel.due_at.set(CallbackModel.due_at | change.due),
            CallbackModel.due_sort.set(CallbackModel.due_sort | due_sort),
            CallbackModel.status.set(CallbackModel.status | TASK_STATUSES[0]),
            CallbackModel.reason.set(CallbackModel.reason | "Cuộc gọi nhỡ"),
            CallbackModel.operator.set(CallbackModel.operator | TASK_OPERATOR),
            CallbackModel.operator_email.set(CallbackModel.operator_email | change.remind_email),
            CallbackModel.created_at.set(CallbackModel.created_at | change.at),
            CallbackModel.first_at.set(CallbackModel.first_at | change.at),
            CallbackModel.caller.set(change.phone),
            CallbackModel.last_at.set(change.at),
            CallbackModel.last_outcome.set(change.outcome),
            CallbackModel.calls.add(1),
            CallbackModel.call_ids.add({change.call_id}),
            CallbackModel.expires_at.set(change.keep_until)]


@dataclass(frozen=True)
class CallbackResult:
    """What a finished call back does to the task it answers (`found`, as read): `reached` (answered with
    talk time) closes it as called back by `actor`; else its attempt is noted as not answered."""

    found: CallbackModel
    reached: bool
    actor: str
    at: datetime
    figures: dict[str, int] | None = None   # the call-centre counts of the close (chalicelib.domain.call_stats)
    result: str = "no_answer"                # the attempt's result when not reached ("failed": callout refused)


def _add_figures(transaction: Any, pieces: Iterable[tuple[datetime, dict[str, int] | None]]) -> None:
    """The call-centre counters in `transaction`, those of one hour item merged (it is touched once)."""
    from chalicelib.domain.call_stats import slot
    from chalicelib.store import stats

    merged: dict[tuple[str, str], tuple[datetime, dict[str, int]]] = {}
    for at, counts in pieces:
        if not counts:
            continue
        _, numbers = merged.setdefault(slot(at), (at, {}))
        for name, n in counts.items():
            numbers[name] = numbers.get(name, 0) + n
    for at, numbers in merged.values():
        stats.add_call_figures(transaction, at, numbers)


def finalise(call: dict[str, Any], outcome: str, log: dict[str, Any], task: TaskChange | None,
             callback: CallbackResult | None = None, figures: dict[str, int] | None = None) -> None:
    """Writes a finished call's follow-ups in one transaction: the call's `finalised` outcome (only if not
    yet finalised and its voicemail is still as `call` saw it), the outcome and figures in its day
    entry (`log`: wait_s, talk_s, answered_by), the live marker deleted, `task` merged into the
    caller's open callback task, a call back's `callback` result on its task, and the call-centre
    `figures` in the hour the call was offered. Raises Conflict when the call or the task changed
    meanwhile (read them again)."""
    connection = bind()
    condition = CallModel.finalised.does_not_exist()
    condition &= (CallModel.voicemail_url == call["voicemail_url"]) if call.get("voicemail_url") \
        else CallModel.voicemail_url.does_not_exist()
    # The day entry is the one the call names as read: an offer stored meanwhile (the answer_url's write
    # landing after this event's read) fails this, so a second entry is never made; read again.
    condition &= (CallModel.day_sk == call["day_sk"]) if call.get("day_sk") else CallModel.day_sk.does_not_exist()
    entry_pk, _, entry_sk = (call.get("day_sk") or "").partition("|")
    call_actions = [CallModel.finalised.set(outcome)]
    entry_actions = [CallMarkerModel.outcome.set(outcome), CallMarkerModel.call_id.set(call["call_id"])]
    entry_actions += [getattr(CallMarkerModel, k).set(v) for k, v in log.items() if v is not None]
    marker = None
    if not (entry_pk and entry_sk):  # its offer was never stored (the safe answer): the log gets it now
        at = call.get("created_at") or datetime.now(timezone.utc)
        entry_pk, entry_sk = day_pk(local_day(at)), day_sk(at, call["call_id"])
        call_actions.append(CallModel.day_sk.set(f"{entry_pk}|{entry_sk}"))
        entry_actions += [CallMarkerModel.at.set(at), CallMarkerModel.direction.set(call.get("direction") or "in"),
                          CallMarkerModel.route.set(call.get("route") or "fallback")]
        if call.get("expires_at"):
            entry_actions.append(CallMarkerModel.expires_at.set(call["expires_at"]))
        if call.get("caller") or call.get("caller_raw"):
            marker = people.marker(_person(call.get("caller"), call.get("caller_raw")), "CALL", call["call_id"], at,
                                   expires_at=call.get("expires_at"))
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(CallModel(pk=call_pk(call["call_id"]), sk="CALL"), actions=call_actions,
                               condition=condition)
            transaction.update(CallMarkerModel(pk=entry_pk, sk=entry_sk), actions=entry_actions)
            if marker is not None:
                transaction.save(marker)
            transaction.delete(CallMarkerModel(pk=LIVE_PK, sk=call["call_id"]))
            if task is not None:
                transaction.update(CallbackModel(pk=TASK_PREFIX + task_key(task.phone), sk=OPEN_SK),
                                   actions=_task_actions(task),
                                   condition=~CallbackModel.call_ids.contains(task.call_id))
            if callback is not None and callback.reached:
                _close_in(transaction, callback.found, CALLED_BACK, "", callback.actor, callback.at)
            elif callback is not None:
                transaction.update(CallbackModel(pk=callback.found.pk, sk=OPEN_SK),
                                   actions=[CallbackModel.attempt_result.set(callback.result)],
                                   condition=CallbackModel.attempt_call == call["call_id"])
            pieces = [(call.get("created_at") or datetime.now(timezone.utc), figures)]
            if callback is not None and callback.reached:
                pieces.append((callback.at, callback.figures))
            _add_figures(transaction, pieces)


def relabel(call: dict[str, Any], outcome: str, answered_by: str | None = None,
            figures: dict[str, int] | None = None, log: dict[str, Any] | None = None,
            task: CallbackModel | None = None, now: datetime | None = None) -> None:
    """A finalised call learnt something after its end (its voicemail, who answered): the call and its
    day entry say so (with `log`'s wait_s/talk_s when given), and the call-centre `figures` move with its
    outcome (one transaction; the day entry alone when only `answered_by` is new). `task`: the caller's
    open task (as read) that the call, now answered, no longer belongs in: closed as answered later when
    it holds only this call, else the call taken out of it. Raises Conflict when the call or the task
    changed meanwhile (read them again)."""
    connection = bind()
    entry_pk, _, entry_sk = (call.get("day_sk") or "").partition("|")
    actions = [CallMarkerModel.outcome.set(outcome)] + ([CallMarkerModel.answered_by.set(answered_by)]
                                                        if answered_by else [])
    actions += [getattr(CallMarkerModel, k).set(v) for k, v in (log or {}).items()
                if v is not None and k in ("wait_s", "talk_s")]
    with translate():
        if outcome == call.get("finalised"):
            if entry_pk and entry_sk:
                CallMarkerModel(pk=entry_pk, sk=entry_sk).update(actions=actions)
            return
        with TransactWrite(connection=connection) as transaction:
            transaction.update(CallModel(pk=call_pk(call["call_id"]), sk="CALL"),
                               actions=[CallModel.finalised.set(outcome)],
                               condition=CallModel.finalised == call.get("finalised"))
            if entry_pk and entry_sk:
                transaction.update(CallMarkerModel(pk=entry_pk, sk=entry_sk), actions=actions)
            if task is not None:
                _drop_call_in(transaction, task, call["call_id"], now or datetime.now(timezone.utc))
            _add_figures(transaction, [(call.get("created_at") or datetime.now(timezone.utc), figures)])


def _drop_call_in(transaction: Any, found: CallbackModel, call_id: str, now: datetime) -> None:
    """Takes a call that turned out answered out of the open task `found` (as read): the task is closed
    as answered later when it held only that call, else the call leaves its list (conditional on the task
    still holding it, and on the count read)."""
    from chalicelib.domain.calls import ANSWERED_LATER

    if set(found.call_ids or ()) == {call_id}:
        _close_in(transaction, found, ANSWERED_LATER, "", TASK_OPERATOR, now)
        return
    transaction.update(CallbackModel(pk=found.pk, sk=OPEN_SK),
                       actions=[CallbackModel.call_ids.delete({call_id}), CallbackModel.calls.add(-1)],
                       condition=CallbackModel.call_ids.contains(call_id) & (CallbackModel.calls == found.calls))


def day_log(day: date, outcome: str | None, after: str | None, limit: int = 50,
            staff: str | None = None) -> tuple[list[CallMarkerModel], str | None]:
    """One page of a day's calls, newest first, optionally of one outcome or one operator's
    (answered or called back by `staff`); returns them and the sort key to continue after."""
    bind()
    condition = None
    if outcome:
        condition = CallMarkerModel.outcome == outcome
    if staff:
        mine = (CallMarkerModel.answered_by == staff) | (CallMarkerModel.staff == staff)
        condition = mine if condition is None else condition & mine
    start = {"pk": {"S": day_pk(day)}, "sk": {"S": after}} if after else None
    query = CallMarkerModel.query(day_pk(day), filter_condition=condition, scan_index_forward=False,
                                  limit=limit, last_evaluated_key=start, page_size=limit)
    with translate():
        found = list(query)
    more = query.last_evaluated_key
    return found, (more["sk"]["S"] if more and len(found) >= limit else None)


def caller_calls(phone: str, limit: int = 5) -> list[PersonMarkerModel]:
    """The caller's latest calls (their person markers, newest first; one Query)."""
    bind()
    with translate():
        return list(PersonMarkerModel.query(people.person_pk(phone), PersonMarkerModel.sk.startswith("CALL#"),
                                            scan_index_forward=False, limit=limit))


def attach(call_id: str, code: str, event: NewEvent) -> None:
    """Links the call to ticket `code` and puts `event` on the ticket's timeline (one transaction);
    raises NotFound-like Conflict when the call is not stored."""
    connection = bind()
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.update(CallModel(pk=call_pk(call_id), sk="CALL"), actions=[CallModel.tickets.add({code})],
                               condition=CallModel.pk.exists())
            transaction.save(event_item(code, event), condition=EventModel.pk.does_not_exist())


# --- callback tasks -------------------------------------------------------------------------------

def task(key: str) -> CallbackModel | None:
    """The caller's open task by its key (the phone's digest), or None."""
    bind()
    with translate():
        try:
            return CallbackModel.get(TASK_PREFIX + key, OPEN_SK, consistent_read=True)
        except CallbackModel.DoesNotExist:
            return None


def open_tasks() -> list[CallbackModel]:
    """Every open call task, earliest due first (the callback index's open partitions, call tasks
    only; at most MAX_OPEN_TASKS)."""
    bind()
    found: list[Any] = []
    with translate():
        for status in TASK_STATUSES:
            found += CallbackModel.by_status_due.query(
                status, filter_condition=CallbackModel.pk.startswith(TASK_PREFIX), limit=MAX_OPEN_TASKS)
    keys = sorted({(f.pk, f.sk) for f in found})[:MAX_OPEN_TASKS]
    if not keys:
        return []
    with translate():
        whole = list(CallbackModel.batch_get(keys))
    return sorted(whole, key=lambda t: (t.due_sort or "", t.pk))


def record_attempt(key: str, call_id: str, actor: str, at: datetime) -> bool:
    """Notes on the open task `key` that `actor` called the citizen back at `at` with `call_id` (its
    result unknown until the call's events come). False when no task is open."""
    bind()
    try:
        with translate():
            CallbackModel(pk=TASK_PREFIX + key, sk=OPEN_SK).update(
                actions=[CallbackModel.attempt_at.set(at), CallbackModel.attempt_call.set(call_id),
                         CallbackModel.attempt_by.set(actor), CallbackModel.attempt_result.remove()],
                condition=CallbackModel.pk.exists())
    except Conflict:
        return False
    return True


def _close_in(transaction: Any, found: CallbackModel, outcome: str, note: str, actor: str,
              now: datetime) -> CallbackModel:
    """Adds the closing of the open task `found` to `transaction`: deleted at sk=OPEN if no call was merged
    since it was read, put at sk=DONE#<now> with the outcome. Returns the closed task."""
    closed = CallbackModel(pk=found.pk, sk=f"DONE#{now.astimezone(timezone.utc).isoformat()}",
                           **{k: v for k, v in found.attribute_values.items() if k not in ("pk", "sk", "status",
                                                                                            "due_sort")})
    closed.outcome, closed.note, closed.closed_by, closed.closed_at = outcome, note or None, actor, now
    transaction.delete(CallbackModel(pk=found.pk, sk=OPEN_SK), condition=CallbackModel.calls == found.calls)
    transaction.save(closed, condition=CallbackModel.pk.does_not_exist())
    return closed


def close_task(found: CallbackModel, outcome: str, note: str, actor: str, now: datetime,
               event: NewEvent | None = None, ticket: str | None = None,
               figures: dict[str, int] | None = None) -> CallbackModel:
    """Closes the open task `found` (as read): moves it to sk=DONE#<now> with the outcome, in one
    transaction conditional on no call having been merged since it was read (else Conflict: read again);
    `event` goes on `ticket`'s timeline and the call-centre `figures` in `now`'s hour in it. Returns the
    closed task."""
    connection = bind()
    with translate():
        with TransactWrite(connection=connection) as transaction:
            closed = _close_in(transaction, found, outcome, note, actor, now)
            _add_figures(transaction, [(now, figures)])
            if event is not None and ticket:
                transaction.save(event_item(ticket, event), condition=EventModel.pk.does_not_exist())
    return closed


def forget(call_id: str) -> bool:
    """Deletes the call item (its phone, recordings) for an erasure; its day entry holds no phone and
    stays for the figures. True when there was one."""
    bind()
    try:
        with translate():
            CallModel(pk=call_pk(call_id), sk="CALL").delete(condition=CallModel.pk.exists())
    except Conflict:
        return False
    with translate():
        CallMarkerModel(pk=LIVE_PK, sk=call_id).delete()
    return True


def tasks_of(phone: str) -> list[CallbackModel]:
    """The caller's call tasks, open and closed (one Query)."""
    bind()
    with translate():
        return list(CallbackModel.query(TASK_PREFIX + task_key(phone)))


def forget_tasks(phone: str) -> int:
    """Deletes the caller's call tasks, open and closed (one Query and a delete each)."""
    bind()
    deleted = 0
    with translate():
        for found in CallbackModel.query(TASK_PREFIX + task_key(phone)):
            found.delete()
            deleted += 1
    return deleted
