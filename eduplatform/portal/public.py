"""The figures the public portal shows: published census snapshots, by city and stage, with small
counts suppressed so that no pupil or teacher can be recognised.

These reads are not scoped to a user: a published snapshot's city-level figures are public by
decision of the province's statistics office (``stats.snapshots.publish_snapshot``). Nothing below a
city, and no count from 1 to 4, ever leaves here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Sum

from eduplatform.orgs.models import Region, RegionLevel
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.stats import definitions
from eduplatform.stats.models import SNAPSHOT_OF, Snapshot, SnapshotStudent

STAFF_COLUMNS = definitions.STAFF_FIGURES  # 教职工, 专任教师, 代课教师, 兼任教师
SMALLEST_SHOWN = 5  # counts of 1–4 are suppressed
SUPPRESSED = None


def published_years() -> list[Snapshot]:
    """For each census year, the latest published version."""
    latest: dict[int, Snapshot] = {}
    for snapshot in Snapshot.objects.filter(published_at__isnull=False).order_by("census_date", "version"):
        latest[snapshot.census_date.year] = snapshot
    return [latest[y] for y in sorted(latest, reverse=True)]


def published_for(year: int) -> Snapshot | None:
    return next((s for s in published_years() if s.census_date.year == year), None)


def _shown(value: int) -> int | None:
    return SUPPRESSED if 0 < value < SMALLEST_SHOWN else value


@dataclass
class PublicRow:
    city: str
    cells: list[int | None] = field(default_factory=list)  # per column; None = suppressed


@dataclass
class PublicTable:
    columns: list[str]
    rows: list[PublicRow]
    total: PublicRow


def city_table(snapshot: Snapshot) -> PublicTable:
    """Students by stage, staff and full-time teachers for each of the 21 cities and the province.

    A total is suppressed too when exactly one of its parts is, or subtracting the others would
    give that part away (complementary suppression, both along rows and down columns).
    """
    cities = list(Region.objects.filter(level=RegionLevel.CITY, abolished_on__isnull=True).order_by("code"))
    city_of = {c.path: c.name for c in cities}
    stages = sorted({s for s in SnapshotStudent.objects.filter(snapshot=snapshot).values_list("stage", flat=True)})
    # Staff by their one definition (stats.definitions): 教职工 excludes 代课 and 兼任, shown beside it.
    columns = [*(STAGE_LABELS.get(Stage(s), str(s)) for s in stages), *(f.label for f in STAFF_COLUMNS)]
    raw: dict[str, list[int]] = {c.name: [0] * len(columns) for c in cities}

    def city(path: str) -> str | None:
        return city_of.get("/".join(path.split("/")[:2]) + "/")

    for r in (SnapshotStudent.objects.filter(snapshot=snapshot).values("region_path", "stage")
              .annotate(n=Sum("enrolled")).order_by()):
        if (name := city(r["region_path"])) is not None:
            raw[name][stages.index(r["stage"])] += r["n"]
    for column, figure in enumerate(STAFF_COLUMNS, start=len(stages)):
        for _school, path, n in figure.per_school(lambda model: SNAPSHOT_OF[model].objects.filter(snapshot=snapshot)):
            if (name := city(path)) is not None:
                raw[name][column] += n
    rows = [PublicRow(name, [_shown(v) for v in values]) for name, values in raw.items()]
    totals = [sum(values[i] for values in raw.values()) for i in range(len(columns))]
    total = PublicRow("全省", [])
    for i, value in enumerate(totals):
        hidden = sum(1 for row in rows if row.cells[i] is SUPPRESSED)
        total.cells.append(SUPPRESSED if hidden == 1 else _shown(value))
    return PublicTable(columns, rows, total)
