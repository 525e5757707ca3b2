"""The default rate sets (``data/funding/default_rates.csv``), written once per year by
``manage.py load_reference``: a year that already has rates is left alone, so a revision made by
the province is never overwritten by a re-run."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from django.conf import settings

from eduplatform.funding.models import FundingRateSet
from eduplatform.funding.services import revise_rates
from eduplatform.orgs.stages import STAGE_SOURCE_NAMES

DEFAULT_BASIS = "演示默认值：各学段的来源见“来源”列，标“示例值”的未找到依据；请按广东现行文件修订"


def default_rates_path() -> Path:
    return Path(settings.DATA_DIR) / "funding" / "default_rates.csv"


def load_default_rates(path: Path | None = None) -> int:
    """Write the CSV's rate set of every year that has none yet; returns how many were written."""
    stage_of = {name: int(stage) for stage, name in STAGE_SOURCE_NAMES.items()}
    by_year: dict[int, list[dict[str, str | int]]] = defaultdict(list)
    with open(path or default_rates_path(), encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_year[int(row["year"])].append({**row, "stage": stage_of[row["stage"].strip()]})
    written = 0
    for year, lines in sorted(by_year.items()):
        if not FundingRateSet.objects.filter(year=year).exists():
            revise_rates(actor=None, year=year, rates=lines, basis=DEFAULT_BASIS, system=True)
            written += 1
    return written
