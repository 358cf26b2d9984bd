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
    UTC; None when the event has none or it is unreadable (the job then uses the current time).
    Scheduled jobs take their `now` from it, so a local stack can send them a moved clock."""
    try:
        moment = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else None
