"""Local time of the province. Vietnam keeps UTC+7 all year, so a fixed offset is exact
(and needs no tz database, which slim Lambda images may lack)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "ICT")


def local_text(moment: datetime) -> str:
    """Returns '28/11/2026 18:15' in Vietnam time."""
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
