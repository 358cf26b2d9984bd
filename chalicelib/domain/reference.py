"""Reference data (categories, areas, agencies) as a validated, versioned document.

It is data, not code: seeded from chalicelib/data/reference.json, stored in DynamoDB, and a
document with errors is refused whole so the data in use stays as it was.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    sla_working_days: int
    confidential: bool
    agency: str | None


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class ReferenceData:
    version: int
    categories: dict[str, Category]
    areas: dict[str, Area]
    agencies: dict[str, Agency]


def parse_reference(doc: dict[str, Any]) -> ReferenceData:
    """Returns the reference data in `doc`; raises ValidationFailed listing every problem."""
    errors: list[FieldError] = []

    def bad(where: str, vi: str, en: str) -> None:
        errors.append(FieldError(where, vi, en))

    try:
        agencies = {a["id"]: Agency(a["id"], a["name"], a.get("email", ""), a.get("phone", ""))
                    for a in doc["agencies"]}
        areas = {a["id"]: Area(a["id"], a["name"], a["kind"]) for a in doc["areas"]}
        categories = {c["id"]: Category(c["id"], c["name"], int(c["sla_working_days"]),
                                        bool(c.get("confidential", False)), c.get("agency"))
                      for c in doc["categories"]}
        version = int(doc["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed([FieldError(
            "reference", f"Tệp dữ liệu danh mục sai cấu trúc ({exc}).",
            f"Malformed reference document ({exc}).")]) from exc
    for name, items in (("agencies", doc["agencies"]), ("areas", doc["areas"]), ("categories", doc["categories"])):
        if len({i["id"] for i in items}) != len(items):
            bad(name, "Mã bị trùng trong danh mục.", "Duplicate ids in the list.")
    for category in categories.values():
        if category.agency is not None and category.agency not in agencies:
            bad(f"categories.{category.id}.agency", "Cơ quan xử lý không có trong danh mục.",
                "The agency is not in the agency list.")
        if category.sla_working_days <= 0:
            bad(f"categories.{category.id}.sla_working_days", "Thời hạn phải lớn hơn 0.",
                "The allowed time must be positive.")
    if errors:
        raise ValidationFailed(errors)
    return ReferenceData(version, categories, areas, agencies)
