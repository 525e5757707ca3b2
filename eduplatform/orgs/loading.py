"""Loading Guangdong's statistical divisions (gd_divisions.csv) into the region tree, idempotently."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from eduplatform.orgs.models import Region, RegionVersion

# Significant digits of the 12-digit code at each level: 44 / 4401 / 440106 / 440106001.
SIGNIFICANT_DIGITS = {"province": 2, "city": 4, "county": 6, "town": 9}


@dataclass
class DivisionReport:
    created: int = 0
    updated: int = 0
    total: int = 0


def division_path(parent_path: str, code: str, level: str) -> str:
    return f"{parent_path}{code[: SIGNIFICANT_DIGITS[level]]}/"


@transaction.atomic
def load_divisions(csv_path: Path | None = None) -> DivisionReport:
    csv_path = csv_path or Path(settings.DATA_DIR) / "reference" / "gd_divisions.csv"
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    report = DivisionReport(total=len(rows))
    existing = {r.code: r for r in Region.objects.all()}
    by_code: dict[str, Region] = dict(existing)
    # Rows are sorted by code, so a parent always comes before its children.
    for row in rows:
        parent = by_code.get(row["parent_code"]) if row["parent_code"] else None
        path = division_path(parent.path if parent else "", row["code"], row["level"])
        fields = {
            "name": row["name"],
            "level": row["level"],
            "parent": parent,
            "path": path,
            "gb2260_code": row["gb2260_code"],
            "town_type": row["town_type"],
        }
        region = existing.get(row["code"])
        if region is None:
            region = Region.objects.create(code=row["code"], **fields)
            RegionVersion.objects.create(region=region, name=region.name, parent=parent, path=path)
            report.created += 1
        elif any(getattr(region, k) != v for k, v in fields.items()):
            # A corrected source row, not a real-world change: fix the current version in place.
            for k, v in fields.items():
                setattr(region, k, v)
            region.save()
            RegionVersion.objects.filter(region=region, valid_to__isnull=True).update(
                name=region.name, parent=parent, path=path
            )
            report.updated += 1
        by_code[row["code"]] = region
    return report
