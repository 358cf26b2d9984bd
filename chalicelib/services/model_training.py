"""Routing that learns from the operators (chalicelib/domain/learn.py is the model itself).

- Corrections are data: a staff re-categorisation, commune/ward change or agency transfer of a ticket
  records a training example (redacted, folded text; what was decided before, what staff chose, the
  corrector's role, when), right after the change and never failing it.
- The retrain job (daily at 02:30, and soon after "Huấn luyện lại ngay" on the admin page): the seed examples plus the
  stored corrections, except a held-back fifth (by a hash of the ticket code), train a new model; the
  new model and the active one (keywords only when none) are evaluated on that held-back slice and on
  the fixed holdout; the new one is promoted only when it is not worse on both. Every run is kept in
  the history with its figures and reasons. A re-run with nothing new finds its earlier run.
- Rollback: an admin makes an earlier version active again (audited, checked against the pointer read).
"""
from __future__ import annotations

import hashlib
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.domain import learn
from chalicelib.domain.reference import ReferenceData
from chalicelib.domain.text import fold
from chalicelib.observability import logger
from chalicelib.store.models import TicketModel

SYSTEM = "system:retrain"
HELD_BACK_PERCENT = 20
RECENT_DAYS = 7  # the admin page's "recent corrections"
RETRAIN_EVERY_MINUTES = 10  # the schedule's period (app.py): how long an admin's request waits at most
DAILY_AT = (2, 30)  # the daily run, local time in Vietnam (02:30, when nobody works)
MAX_SLICE = 400  # held-back corrections measured, newest first: a run stays within minutes
MAX_CORRECTIONS = 20_000  # corrections read per run, newest first: bounded reads and training time
TRIAGE_TOLERANCE = learn.TRIAGE_TOLERANCE  # the promotion rule's (learn.not_worse) triage tolerance


def role_of(roles: frozenset[str] | set[str] | tuple[str, ...]) -> str:
    """The corrector's role(s) as a correction keeps them (never a name): 'admin+operator'."""
    return "+".join(sorted(roles)) or "staff"


def decided(ticket: TicketModel) -> dict[str, Any]:
    """What a ticket's routing says before staff change it: category, area, agency and who decided
    ("keywords", "model", "both", "staff"; None for a ticket the router sent to triage)."""
    return {"category": ticket.category, "area": ticket.area, "agency": ticket.agency,
            "source": ticket.route_source or ("keywords" if ticket.category else None)}


def record_correction(ticket: TicketModel, said: dict[str, Any], chose: dict[str, Any], ref: ReferenceData,
                      role: str | None, now: datetime) -> bool:
    """Records a correction when staff's choice (`chose`: category, area, agency) differs from what the
    ticket had (`said`, from `decided` before the change: the router's or a colleague's decision, or
    triage's "don't know"); returns whether one was stored. Never raises: the change it follows is done,
    and a lost example only costs a little learning."""
    chose = {name: chose.get(name) for name in ("category", "area", "agency")}
    if all(said.get(name) == chose[name] for name in chose) or not ticket.text:
        return False
    try:
        from chalicelib.domain.redact import redact
        from chalicelib.domain.retention import add_months
        from chalicelib.store import training

        text = fold(redact(ticket.text, [ticket.reporter_name] if ticket.reporter_name else None))
        expires_at = add_months(now, ref.retention.months_for(chose["category"] or said.get("category")))
        training.add(ticket.tracking_code, text, ticket.channel or "web", said, chose, role or "staff", now,
                     expires_at)
        return True
    except Exception as exc:  # noqa: BLE001 - the ticket's change is done; the example is not worth failing it
        logger().warning("routing correction not recorded",
                         extra={"ticket": ticket.tracking_code, "error_type": type(exc).__name__})
        return False


def held_back(code: str) -> bool:
    """Whether a ticket's corrections are kept out of training to measure the new model on (a fixed
    fifth of tickets: every run holds back the same ones)."""
    return zlib.crc32(code.encode("utf-8")) % 100 < HELD_BACK_PERCENT


def recent_corrections(now: datetime) -> int:
    from chalicelib.store import training

    return training.count_since(now - timedelta(days=RECENT_DAYS))


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:12]


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


# The retrain job


def _latest_per_ticket(found: list[Any], ref: ReferenceData) -> list[Any]:
    """The last correction of each ticket whose chosen category still exists: staff's final word."""
    latest: dict[str, Any] = {}
    for correction in found:  # oldest first: a later correction of a ticket replaces its earlier one
        if correction.chose.get("category") in ref.categories:
            latest[correction.code] = correction
    return sorted(latest.values(), key=lambda c: c.sk)


def _compare(new: dict[str, Any], old: dict[str, Any]) -> tuple[bool, list[str]]:
    """The promotion rule (learn.not_worse: accuracy, wrong agency, confidential false positives and
    triage that does not pay for itself)."""
    return learn.not_worse(new, old)


def _rows(corrections: list[Any]) -> list[dict[str, Any]]:
    return [{"text": c.text, "category": c.chose["category"], "area": c.chose.get("area")} for c in corrections]


def _active(ref: ReferenceData) -> tuple[Any, Any, Any]:
    """(pointer, the active Model or None, its run): a pointer whose artifact cannot be loaded counts as
    no model (keywords only), as routing treats it."""
    from chalicelib.domain import learn
    from chalicelib.store import routing_model as store

    pointer = store.pointer()
    if pointer.version is None or pointer.key is None:
        return pointer, None, None
    try:
        model = learn.load(store.read_artifact(pointer.key))
    except Exception as exc:  # noqa: BLE001 - compared as routing would run: keywords only
        logger().warning("active routing model not loaded", extra={"model_version": pointer.version,
                                                                    "error_type": type(exc).__name__})
        return pointer, None, None
    return pointer, model, store.run(pointer.version)


def retrain(now: datetime | None = None, actor: str = SYSTEM) -> Any:
    """Trains a model on the seed examples and the corrections (less the held-back slice), compares it
    with the active model (keywords only when none) on the held-back slice and on the fixed holdout,
    makes it active only when it is not worse on both, and records the run; returns the run
    (chalicelib.store.routing_model.Run). Nothing new since a run (same corrections, same reference
    data): that run is returned and nothing is trained."""
    from chalicelib.domain import learn
    from chalicelib.store import routing_model as store
    from chalicelib.store import training
    from chalicelib.store.reference import load_reference

    now = _now(now)
    ref = load_reference()
    corrections = _latest_per_ticket(list(training.corrections(newest=MAX_CORRECTIONS)), ref)
    taught = [c for c in corrections if not held_back(c.code)]
    kept_back = [c for c in corrections if held_back(c.code)][-MAX_SLICE:]
    seeds = learn.seed_examples()
    inputs = _digest([learn.KIND, str(ref.version), str(len(seeds)), *(f"{c.sk}>{c.chose['category']}" for c in corrections)])
    for earlier in store.history(limit=5):
        if earlier.inputs == inputs:
            return earlier
    version = f"{now.astimezone(timezone.utc):%Y%m%d-%H%M%S}-{inputs[:6]}"
    examples = seeds + [learn.Example(c.text, c.chose["category"], c.chose.get("area"), c.channel, correction=True) for c in taught]
    artifact = learn.train(examples, ref, version, now.astimezone(timezone.utc).isoformat())
    new = learn.load(artifact)
    pointer, old, _ = _active(ref)
    holdout = learn.holdout_rows()
    # The active model is measured again (a fraction of a second), never taken from its run's figures: a
    # deployment may have changed the keywords + model combination since, and stale figures could let a
    # worse model through or hold a better one back.
    figures: dict[str, Any] = {
        "against": pointer.version if old is not None else None, "ref_version": ref.version,
        "holdout": {"new": learn.evaluate(holdout, ref, new), "old": learn.evaluate(holdout, ref, old)}}
    ok, reasons = _compare(figures["holdout"]["new"], figures["holdout"]["old"])
    reasons = [f"Tập kiểm tra cố định: {reason}" for reason in reasons]
    if kept_back:
        rows = _rows(kept_back)
        figures["slice"] = {"new": learn.evaluate(rows, ref, new), "old": learn.evaluate(rows, ref, old)}
        slice_ok, slice_reasons = _compare(figures["slice"]["new"], figures["slice"]["old"])
        ok = ok and slice_ok
        reasons += [f"Phần giữ lại từ chỉnh sửa: {reason}" for reason in slice_reasons]
    key = store.put_artifact(version, artifact)

    def ran(promoted: bool) -> Any:
        return store.Run(version, key, now.astimezone(timezone.utc).isoformat(), int(artifact["n_examples"]),
                         len(taught), inputs, figures, promoted, list(reasons), actor)

    run = ran(ok)
    if ok:
        try:  # the pointer and the run's history item in one transaction
            store.activate(version, key, pointer.seq, actor, now, promoted=run)
        except store.ModelChanged:
            ok = False
            reasons.append("Mô hình đang dùng vừa được đổi trong lúc huấn luyện; lần chạy sau sẽ so sánh lại.")
            run = ran(False)
            store.add_run(run)
    else:
        store.add_run(run)
    logger().info("routing model trained", extra={"model_version": version, "promoted": ok,
                                                  "corrections": len(corrections), "held_back": len(kept_back)})
    return run


def rollback(version: str | None, expected: str | None, actor: str, now: datetime | None = None) -> Any:
    """Makes an earlier model `version` active again (None: no model, keywords only) provided the active
    one is still `expected` (what the admin's page showed); an admin's act, audited. Returns its run (None
    for keywords only). Raises Missing for an unknown version, ModelChanged when the active model changed
    meanwhile."""
    from chalicelib.store import routing_model as store

    target = store.require_run(version) if version else None
    pointer = store.pointer()
    if pointer.version != (expected or None):
        raise store.ModelChanged()
    store.activate(target.version if target else None, target.key if target else None, pointer.seq, actor,
                   _now(now), rollback=True)
    return target


def request_retrain(actor: str, now: datetime | None = None) -> None:
    """An admin's "Huấn luyện lại ngay": the retrain schedule (every RETRAIN_EVERY_MINUTES) runs the job
    on its next run; audited."""
    from chalicelib.store import audit
    from chalicelib.store import routing_model as store

    now = _now(now)
    store.request(actor, now)
    audit.record("routing_model_retrain_requested", actor, now)


def _corrected_since_last_run() -> bool:
    """Whether staff corrected a ticket since the latest run, or no run ever happened (a new deployment gets
    its first model from the packaged labelled sets the first night, measured against keywords alone): else
    the daily run has nothing new to learn (an admin can still ask for a run)."""
    from chalicelib.store import routing_model as store
    from chalicelib.store import training

    latest = store.history(limit=1)
    if not latest:
        return True
    since = datetime.fromisoformat(latest[0].trained_at) if latest[0].trained_at else None
    return training.count_since(since or datetime(2000, 1, 1, tzinfo=timezone.utc)) > 0


def scheduled(now: datetime | None = None) -> dict[str, Any]:
    """The retrain schedule's run: an admin's pending request is served at once (the run is theirs);
    otherwise the job runs in its daily window (DAILY_AT in Vietnam) when staff corrected a ticket since
    the latest run (a second run in the window finds the first). Returns what it did."""
    from chalicelib.domain.clock import VN_TZ
    from chalicelib.store import routing_model as store

    now = _now(now)
    asked = store.pending_request()
    if asked is not None:
        run = retrain(now, actor=asked[0] or SYSTEM)
        store.clear_request(asked[1])
    else:
        local = now.astimezone(VN_TZ)
        start = local.replace(hour=DAILY_AT[0], minute=DAILY_AT[1], second=0, microsecond=0)
        if not start <= local < start + timedelta(minutes=RETRAIN_EVERY_MINUTES) or not _corrected_since_last_run():
            return {"trained": False}
        run = retrain(now)
    return {"trained": True, "version": run.version, "promoted": run.promoted}
