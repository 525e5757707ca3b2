"""The figures the public portal shows: published census snapshots, by city and stage, with small
counts suppressed so that no pupil or teacher can be recognised — directly or by subtraction.

These reads are not scoped to a user: a published snapshot's city-level figures are public by
decision of the province's statistics office (``stats.snapshots.publish_snapshot``, only after the
province signed off the census in reporting). Nothing below a city, and no count from 1 to 4, ever
leaves here; nor does any count that a published total and the other published counts would give
away (complementary suppression, 次级抑制: ``suppress``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils.translation import gettext

from eduplatform.orgs.models import Region, RegionLevel
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.stats import definitions
from eduplatform.stats.models import SNAPSHOT_OF, Snapshot, SnapshotStudent

STAFF_COLUMNS = definitions.STAFF_FIGURES  # 教职工, 专任教师, 代课教师, 兼任教师
SMALLEST_SHOWN = 5  # counts of 1–4 are suppressed
SUPPRESSED = None
AUDIT_PASSES = 200  # rounds of bound tightening in ``recoverable`` (each pass only narrows intervals)

Cell = tuple[int, int]  # (row, column) of a table, its margins included


def published_years() -> list[Snapshot]:
    """For each census year, the latest published version."""
    latest: dict[int, Snapshot] = {}
    for snapshot in Snapshot.objects.filter(published_at__isnull=False).order_by("census_date", "version"):
        latest[snapshot.census_date.year] = snapshot
    return [latest[y] for y in sorted(latest, reverse=True)]


def published_for(year: int) -> Snapshot | None:
    return next((s for s in published_years() if s.census_date.year == year), None)


# --------------------------------------------------------------------------------------------
# Suppression: primary (1–4) and complementary (次级抑制)


@dataclass(frozen=True)
class Line:
    """One additive relation the published table shows: ``whole`` = the sum of ``parts`` (a row
    total, a column total, the grand total in both directions)."""

    whole: Cell
    parts: tuple[Cell, ...]


def _smallest(values: dict[Cell, int], candidates: Iterable[Cell], hidden: set[Cell]) -> Cell | None:
    """The smallest non-zero shown cell of ``candidates`` (ties: the first in table order)."""
    shown = [c for c in candidates if c not in hidden and values[c] > 0]
    return min(shown, key=lambda c: (values[c], c)) if shown else None


def _weak_line_fix(values: dict[Cell, int], line: Line, hidden: set[Cell], threshold: int) -> Cell | None:
    """A further cell to hide so that ``line`` gives none of its hidden cells away, or None.

    With its total shown, a line reveals the SUM of its hidden parts. That sum must hide more than
    one cell and must not be a small count itself (< threshold). And it must not sit at either end
    of what its cells could add up to for a reader who knows which hidden counts are small (1 to
    threshold − 1) and which were hidden beside them (≥ threshold): at the low end every cell is at
    its least (two hidden cells summing to 2 are 1 and 1), at the high end — all small — every
    cell is threshold − 1 (two "<5" cells summing to 8 are 4 and 4). With its total hidden too,
    the line must still hide at least one part beside it (else the total is the sum of what is
    shown)."""
    hidden_parts = [c for c in line.parts if c in hidden]
    if line.whole in hidden:
        if hidden_parts:
            return None
        return _smallest(values, line.parts, hidden)
    if not hidden_parts:
        return None
    total = sum(values[c] for c in hidden_parts)
    small = sum(1 for c in hidden_parts if values[c] < threshold)
    large = len(hidden_parts) - small
    least, most = small + threshold * large, (small * (threshold - 1) if not large else None)
    if len(hidden_parts) > 1 and total >= threshold and total not in (least, most):
        return None
    # The smallest further part; when there is none left to hide, the total goes instead.
    return _smallest(values, line.parts, hidden) or line.whole


def recoverable(values: dict[Cell, int], lines: Sequence[Line], hidden: set[Cell]) -> dict[Cell, int]:
    """The hidden cells a reader can pin down to one value from the shown cells and the lines (each
    hidden count known only to be at least 1): bounds tightened line by line to a fixed point — the
    subtraction attack, in every direction and across lines. Returns {cell: its value} of those."""
    inf = float("inf")
    low: dict[Cell, float] = {c: (1 if c in hidden else values[c]) for c in values}
    high: dict[Cell, float] = {c: (inf if c in hidden else values[c]) for c in values}
    for _ in range(AUDIT_PASSES):
        changed = False
        for line in lines:
            w = line.whole
            if w in hidden:
                lo = max(low[w], sum(low[c] for c in line.parts))
                hi = min(high[w], sum(high[c] for c in line.parts))
                if (lo, hi) != (low[w], high[w]):
                    low[w], high[w], changed = lo, hi, True
            for c in line.parts:
                if c not in hidden:
                    continue
                others_low = sum(low[p] for p in line.parts if p != c)
                others_high = sum(high[p] for p in line.parts if p != c)
                lo, hi = max(low[c], low[w] - others_high), min(high[c], high[w] - others_low)
                if (lo, hi) != (low[c], high[c]):
                    low[c], high[c], changed = lo, hi, True
        if not changed:
            break
    return {c: int(low[c]) for c in hidden if low[c] == high[c]}


def suppress(values: dict[Cell, int], lines: Sequence[Line], *, threshold: int = SMALLEST_SHOWN) -> set[Cell]:
    """The cells to withhold: every count from 1 to ``threshold`` − 1 (primary suppression), then,
    to a fixed point, the smallest further non-zero cell of each line that would still give a hidden
    count away (complementary suppression), until no hidden cell can be recovered exactly.

    Zeros are always shown (a zero discloses nobody) and never chosen to hide; the set only grows,
    so the loop ends (at worst with every non-zero cell hidden)."""
    hidden = {c for c, v in values.items() if 0 < v < threshold}
    while True:
        fixes = {fix for line in lines if (fix := _weak_line_fix(values, line, hidden, threshold)) is not None}
        if not fixes:
            found = recoverable(values, lines, hidden)
            if not found:
                return hidden
            # Widen around the first pinned cell: the smallest shown non-zero cell of a line through it.
            cell = min(found)
            through = [p for line in lines if cell == line.whole or cell in line.parts for p in (*line.parts, line.whole)]
            # Everything around it hidden already, and still pinned by the lines further out (all
            # counts tiny): the smallest shown count anywhere goes. With every non-zero count hidden,
            # nothing but "at least 1" is known of any, so the loop ends.
            fix = _smallest(values, through, hidden) or _smallest(values, values, hidden)
            if fix is None:
                return hidden
            fixes = {fix}
        hidden |= fixes


# --------------------------------------------------------------------------------------------
# The portal's table


@dataclass
class PublicRow:
    city: str
    cells: list[int | None] = field(default_factory=list)  # per column; None = suppressed


@dataclass
class PublicTable:
    columns: list[str]
    rows: list[PublicRow]
    total: PublicRow
    stages: int = 0  # the first ``stages`` columns count students by stage
    hidden: int = 0  # cells withheld (rows and the total row)


def table_lines(n_rows: int, n_columns: int, *, row_total: int | None = None) -> list[Line]:
    """The additive lines of a table of ``n_rows`` rows, its total row (index ``n_rows``) and
    ``n_columns`` columns: every column's rows add up to the total row; with ``row_total`` (a column
    index), each row's columns before it add up to that column too (the total row's included)."""
    by_column = [Line((n_rows, c), tuple((r, c) for r in range(n_rows))) for c in range(n_columns)]
    if row_total is None:
        return by_column
    by_row = [Line((r, row_total), tuple((r, c) for c in range(row_total))) for r in range(n_rows + 1)]
    return by_column + by_row


def city_table(snapshot: Snapshot) -> PublicTable:
    """Students by stage, staff and full-time teachers for each of the 21 cities and the province,
    suppressed by ``suppress`` along every total the table shows: each column's province total (the
    table has no row totals: the staff columns do not add up, and a students' total per city is not
    published).

    The same code path serves the public portal and the publication preview (an unpublished
    snapshot): what the preview shows is exactly what the public will see.
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
    names = list(raw)
    matrix = [raw[name] for name in names]
    matrix.append([sum(values[i] for values in matrix) for i in range(len(columns))])
    values = {(r, c): v for r, row in enumerate(matrix) for c, v in enumerate(row)}
    hidden = suppress(values, table_lines(len(names), len(columns)))

    def shown(r: int) -> list[int | None]:
        return [SUPPRESSED if (r, c) in hidden else v for c, v in enumerate(matrix[r])]

    rows = [PublicRow(name, shown(r)) for r, name in enumerate(names)]
    return PublicTable(columns, rows, PublicRow(gettext("全省"), shown(len(names))), len(stages), len(hidden))
