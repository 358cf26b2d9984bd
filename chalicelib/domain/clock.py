"""Local time of the province. Vietnam keeps UTC+7 all year, so a fixed offset is exact
(and needs no tz database, which slim Lambda images may lack)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "ICT")


def local_text(moment: datetime) -> str:
    """Returns '28/11/2026 18:15' in Vietnam time."""
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def event_time(text: str | None) -> datetime | None:
    """The moment a scheduled event was sent for (EventBridge's `time`, '2026-12-01T00:00:00Z'), in
    UTC; None when the event has none or it is unreadable."""
    try:
        moment = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else None


def scheduled_now(text: str | None, real_now: datetime, max_skew_s: int) -> tuple[datetime, bool]:
    """A scheduled job's `now`: the event's time when it is within `max_skew_s` seconds of the real
    time `real_now` (EventBridge sends its own time, a local stack a moved one: it configures a large
    skew), else the real time. Anyone allowed to invoke the function can put any time in its event,
    and a far-future one would make anonymise_expired erase every ticket's personal data.
    Returns (now, whether an event time was refused); a missing or unreadable time is not refused."""
    moment = event_time(text)
    if moment is None:
        return real_now, False
    if abs((moment - real_now).total_seconds()) > max_skew_s:
        return real_now, True
    return moment, False
