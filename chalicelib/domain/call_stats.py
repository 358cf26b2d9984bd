"""Call-centre figures (tổng đài): what one finished call, one relabelled call or one closed callback
task adds to the counters, and the figures a period's counters give. Pure: no AWS.

Counters live per VN-local hour (chalicelib.store.stats.add_call_figures, sk=C#<dd>#<hh>):
- a call to the hotline counts in the hour it was offered: `calls`, its outcome (answered, missed,
  abandoned, busy, after_hours, voicemail), `in_hours` unless it came while the hotline was closed, and
  for an answered one its wait (offer → operator's answer) and talk seconds. Call backs (out) are not calls
  to the hotline: they count as callbacks;
- a callback task counts in the hour it was closed: `cb_closed`, and when the citizen was reached
  (answered call back, or "Đã gọi lại, đã trao đổi") `cb_done` and one time-to-callback bucket: minutes
  from the first call — or from the next opening when it came while closed — to the close.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from chalicelib.domain import calls as rules
from chalicelib.domain.clock import VN_TZ

CALLBACK_BUCKETS = (15, 30, 60, 120, 240, 480, 1440)  # upper bounds, minutes; beyond: cb_over
BUCKET_FIELDS = tuple(f"cb_le_{m}m" for m in CALLBACK_BUCKETS) + ("cb_over",)
BUCKET_LABELS = ("≤ 15 phút", "≤ 30 phút", "≤ 1 giờ", "≤ 2 giờ", "≤ 4 giờ", "≤ 8 giờ", "≤ 1 ngày", "> 1 ngày")
FIELDS = ("calls", "in_hours", *rules.OUTCOMES, "wait_answered_s", "talk_s", "cb_closed", "cb_done",
          *BUCKET_FIELDS)
REACHED = frozenset({rules.CALLED_BACK, "reached"})  # task outcomes that mean the citizen was reached


def slot(moment: datetime) -> tuple[str, str]:
    """(yyyy-mm, C#<dd>#<hh>) of `moment`'s VN-local hour: the counter item it counts in."""
    local = moment.astimezone(VN_TZ)
    return f"{local:%Y-%m}", f"C#{local:%d}#{local:%H}"


def on_call_end(call: Mapping[str, Any], outcome: str, wait_s: int | None, talk_s: int | None) -> dict[str, int]:
    """What a finished call adds (nothing for a call back)."""
    if call.get("direction") == rules.OUT:
        return {}
    counts = {"calls": 1, outcome: 1}
    if call.get("route") != rules.ROUTE_CLOSED:
        counts["in_hours"] = 1
    if outcome == rules.ANSWERED:
        counts["wait_answered_s"] = int(wait_s or 0)
        counts["talk_s"] = int(talk_s or 0)
    return counts


def on_relabel(call: Mapping[str, Any], old: str, new: str) -> dict[str, int]:
    """What a finished call's new outcome changes (its voicemail came after its end)."""
    if call.get("direction") == rules.OUT or old == new:
        return {}
    return {old: -1, new: 1}


def callback_minutes(first_at: datetime, closed_at: datetime, opened: datetime) -> float:
    """Minutes from the first call (or `opened`, the next opening when it came while closed) to the close."""
    start = max(first_at, opened)
    return max(0.0, (closed_at - start).total_seconds() / 60)


def bucket_field(minutes: float) -> str:
    for bound, name in zip(CALLBACK_BUCKETS, BUCKET_FIELDS):
        if minutes <= bound:
            return name
    return BUCKET_FIELDS[-1]


def on_task_closed(outcome: str, minutes: float) -> dict[str, int]:
    """What closing a callback task adds: closed, and reached with its time bucket."""
    counts = {"cb_closed": 1}
    if outcome in REACHED:
        counts.update({"cb_done": 1, bucket_field(minutes): 1})
    return counts


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def summarise(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures of counter items (as chalicelib.store.stats.call_figures returns them): totals per
    field, calls per hour of day [24], answered % and abandon rate (of calls in hours), average speed of
    answer and talk (seconds), callbacks closed / completed, the time-to-callback buckets and the
    bucket that holds the median."""
    totals = {name: 0 for name in FIELDS}
    per_hour = [0] * 24
    for item in items:
        hour = int(str(item.get("sk", "C#00#00")).rsplit("#", 1)[-1])
        for name in FIELDS:
            totals[name] += int(item.get(name) or 0)
        per_hour[hour] += int(item.get("calls") or 0)
    answered, in_hours = totals[rules.ANSWERED], totals["in_hours"]
    buckets = [totals[name] for name in BUCKET_FIELDS]
    median = None
    if totals["cb_done"]:
        seen = 0
        for label, n in zip(BUCKET_LABELS, buckets):
            seen += n
            if seen * 2 >= totals["cb_done"]:
                median = label
                break
    return {"totals": totals, "per_hour": per_hour,
            "answered_pct": _pct(answered, in_hours), "abandon_pct": _pct(totals[rules.ABANDONED], in_hours),
            "asa_s": round(totals["wait_answered_s"] / answered) if answered else None,
            "talk_avg_s": round(totals["talk_s"] / answered) if answered else None,
            "callbacks_closed": totals["cb_closed"], "callbacks_done": totals["cb_done"],
            "callback_buckets": [{"label": label, "n": n} for label, n in zip(BUCKET_LABELS, buckets)],
            "callback_median": median}
