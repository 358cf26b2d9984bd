"""The privacy notice (thông báo xử lý dữ liệu cá nhân, /rieng-tu): the version a ticket is made
under and the figures the notice states, read from the reference data's retention schedule.

The schedule is parsed by chalicelib.domain.reference (ReferenceData.retention); until a deployment's
reference data carries one, the defaults below are what the notice states and what applies."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOTICE_VERSION = "2026-12"
PITR_DAYS = 35  # DynamoDB point-in-time recovery's window: deleted data lives on in backups this long
# The schedule's defaults (docs/privacy.md), used where the reference data has no retention block.
DEFAULTS: dict[str, int] = {"closed_months": 24, "inactive_open_months": 36, "photos_months": 12,
                            "outbound_text_days": 90, "quarantine_days": 30, "log_days": 90}


def _retention(ref: Any) -> Any:
    return getattr(ref, "retention", None)


def _figure(ref: Any, name: str) -> int:
    value = getattr(_retention(ref), name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULTS[name]


def notice_version(ref: Any) -> str:
    """The version of the notice in force (recorded on every ticket at its creation)."""
    value = getattr(_retention(ref), "notice_version", None)
    return value if isinstance(value, str) and value.strip() else NOTICE_VERSION


def outbound_text_days(ref: Any) -> int:
    """How long a message sent to a citizen outside any ticket (a welcome, a status answer, a
    one-time code) is kept: its item and person marker expire after this many days."""
    return _figure(ref, "outbound_text_days")


@dataclass(frozen=True)
class NoticeFacts:
    """What the notice page states: the version, the retention figures, the categories kept
    longer or shorter than the default, and those kept under legal hold."""

    version: str
    figures: dict[str, int]
    category_months: list[tuple[str, int]]
    legal_hold_categories: list[str]
    pitr_days: int = PITR_DAYS


def facts(ref: Any) -> NoticeFacts:
    """The notice's facts for `ref` (ReferenceData): category ids become their Vietnamese names."""
    retention = _retention(ref)
    categories = getattr(ref, "categories", {}) or {}
    by_category = getattr(retention, "category_months", None) or {}
    held = getattr(retention, "legal_hold_categories", None) or []
    named = sorted((categories[c].name, int(m)) for c, m in dict(by_category).items() if c in categories)
    return NoticeFacts(version=notice_version(ref), figures={name: _figure(ref, name) for name in DEFAULTS},
                       category_months=named,
                       legal_hold_categories=sorted(categories[c].name for c in held if c in categories))
