"""Keeping the calculators' derived tables (``stats.quota_models``) equal to the roll-ups.

Called from ``stats.rollup.recompute_schools`` after a chunk of schools' roll-up rows were written,
inside the same transaction and under the same locks (docs/decisions/0005): each school's quota and
funding rows are rewritten from its fresh roll-up rows; the county sums get the change of the
transaction's schools added once at its end, in cell order (``INSERT … ON CONFLICT DO UPDATE``), so
refreshes of different schools of a county never wait for a county-wide lock. The full rebuild
(``chunk`` None) writes every school and replaces the county tables with their sums — the same
functions, so an incremental refresh and a rebuild cannot disagree by construction.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Model, Sum

from eduplatform.orgs.stages import Stage
from eduplatform.stats import definitions
from eduplatform.stats.models import ClassRollup, SchoolRollup, StaffRollup, StudentRollup
from eduplatform.stats.quota_models import (
    COUNTY_KEY_LENGTH,
    FUNDING_COUNTY_CELL,
    SMALL_SCHOOL_HEADCOUNT_LIMIT,
    FundingCountyRollup,
    QuotaCountyRollup,
    SchoolFundingRollup,
    SchoolQuota,
)

PRIVATE_SPONSOR = "999"  # 举办者 999 民办 (funding.models.PRIVATE_SPONSOR; stats does not import funding)
RURAL_PREFIX = "2"  # 城乡分类 2xx 乡村 (funding.allocation.RURAL_PREFIX)
QUOTA_SUMS = ("schools", "quota", "actual")
FUNDING_SUMS = ("schools", "enrolled", "boarding", "disabled")


def _of(model: type[Model], chunk: list[int] | None):
    return model.objects.all() if chunk is None else model.objects.filter(school_id__in=chunk)


def quota_rows(chunk: list[int] | None) -> list[SchoolQuota]:
    """These schools' quotas from their roll-up rows (every school with pupils or staff in post)."""
    from eduplatform.orgs.models import Organization, OrgKind
    from eduplatform.stats.calculators import assess

    pupils: dict[int, dict[int, int]] = defaultdict(dict)
    for r in _of(StudentRollup, chunk).values("school_id", "stage").annotate(n=Sum("enrolled")).order_by():
        pupils[r["school_id"]][r["stage"]] = r["n"]
    classes = {r["school_id"]: r["n"] for r in _of(ClassRollup, chunk).filter(stage=Stage.PRESCHOOL).values(
        "school_id").annotate(n=Sum("classes")).order_by()}
    # 在岗教职工: 教职工 by its one definition (without 代课 and 兼任).
    actual = {r["school_id"]: r["n"] for r in _of(StaffRollup, chunk).filter(
        definitions.STAFF.parts[0].condition).values("school_id").annotate(n=Sum("staff")).order_by()}
    schools = Organization.objects.filter(kind=OrgKind.SCHOOL)
    if chunk is not None:
        schools = schools.filter(pk__in=chunk)
    rows = []
    for pk, path, mask in schools.values_list("pk", "region_path", "stage_mask").iterator(chunk_size=5000):
        if pk not in pupils and pk not in actual:
            continue
        quota, steps = assess(pupils.get(pk, {}), classes.get(pk, 0))
        rows.append(SchoolQuota(school_id=pk, region_path=path, stage_mask=mask, quota=quota,
                                actual=actual.get(pk, 0), steps="\n".join(steps)))
    return rows


def funding_rows(chunk: list[int] | None) -> list[SchoolFundingRollup]:
    """These schools' pupils per stage (stages with pupils only), with 办学类型, 举办者 and 城乡 as the
    school roll-up holds them ('' and urban for a school it does not hold, as the per-school
    allocation reads them)."""
    schools = {r["school_id"]: r for r in _of(SchoolRollup, chunk).values(
        "school_id", "school_type_code", "sponsor_code", "urban_rural_code")}
    rows = []
    for r in _of(StudentRollup, chunk).values("school_id", "region_path", "stage").annotate(
            n=Sum("enrolled"), b=Sum("boarding"), d=Sum("disabled")).order_by():
        if not r["n"]:
            continue
        school = schools.get(r["school_id"], {})
        rows.append(SchoolFundingRollup(
            school_id=r["school_id"], region_path=r["region_path"], stage=r["stage"],
            school_type_code=school.get("school_type_code", ""), sponsor_code=school.get("sponsor_code", ""),
            rural=school.get("urban_rural_code", "").startswith(RURAL_PREFIX),
            enrolled=r["n"], boarding=r["b"] or 0, disabled=r["d"] or 0))
    return rows


def quota_cell(path: str, quota: int | None, actual: int) -> tuple[tuple, list[int]] | None:
    """A school's contribution to the county quota table (none when it is 不测算)."""
    if quota is None:
        return None
    return (path[:COUNTY_KEY_LENGTH],), [1, quota, actual]


def funding_cell(path: str, stage: int, school_type_code: str, sponsor_code: str, rural: bool, enrolled: int,
                 boarding: int, disabled: int) -> tuple[tuple, list[int]]:
    """A school-stage's contribution to the county funding table: its cell and its sums."""
    headcount = enrolled if rural and enrolled < SMALL_SCHOOL_HEADCOUNT_LIMIT else 0
    return ((path[:COUNTY_KEY_LENGTH], stage, school_type_code, sponsor_code == PRIVATE_SPONSOR, rural, headcount),
            [1, enrolled, boarding, disabled])


def _add(into: dict[tuple, list[int]], found: tuple[tuple, list[int]] | None, sign: int) -> None:
    if found is None:
        return
    cell, sums = found
    total = into.setdefault(cell, [0] * len(sums))
    for i, n in enumerate(sums):
        total[i] += sign * n


def _quota_cells(rows, sign: int, into: dict) -> None:
    for r in rows:
        _add(into, quota_cell(r.region_path, r.quota, r.actual), sign)


def _funding_cells(rows, sign: int, into: dict) -> None:
    for r in rows:
        _add(into, funding_cell(r.region_path, r.stage, r.school_type_code, r.sponsor_code, r.rural, r.enrolled,
                                r.boarding, r.disabled), sign)


class Refresh:
    """One ``recompute_schools`` transaction's work on the calculator tables: ``schools`` for each
    chunk (after its roll-up rows are written), ``counties`` once at the end."""

    def __init__(self, *, whole: bool) -> None:
        self.whole = whole
        self.quota_change: dict[tuple, list[int]] = {}
        self.funding_change: dict[tuple, list[int]] = {}

    def schools(self, chunk: list[int] | None) -> None:
        if chunk is not None:  # the county sums lose what these schools counted …
            _quota_cells(_of(SchoolQuota, chunk), -1, self.quota_change)
            _funding_cells(_of(SchoolFundingRollup, chunk), -1, self.funding_change)
        _of(SchoolQuota, chunk).delete()
        _of(SchoolFundingRollup, chunk).delete()
        quotas, funding = quota_rows(chunk), funding_rows(chunk)
        SchoolQuota.objects.bulk_create(quotas, batch_size=2000)
        SchoolFundingRollup.objects.bulk_create(funding, batch_size=2000)
        _quota_cells(quotas, 1, self.quota_change)  # … and gain what they count now
        _funding_cells(funding, 1, self.funding_change)

    def counties(self) -> None:
        if self.whole:  # every school was written: the county tables are their sums
            QuotaCountyRollup.objects.all().delete()
            FundingCountyRollup.objects.all().delete()
            QuotaCountyRollup.objects.bulk_create(
                [QuotaCountyRollup(region_path=k[0], **dict(zip(QUOTA_SUMS, v, strict=True)))
                 for k, v in sorted(self.quota_change.items()) if v[0]], batch_size=2000)
            FundingCountyRollup.objects.bulk_create(
                [FundingCountyRollup(**dict(zip(FUNDING_COUNTY_CELL, k, strict=True)),
                                     **dict(zip(FUNDING_SUMS, v, strict=True)))
                 for k, v in sorted(self.funding_change.items()) if v[0]], batch_size=2000)
            return
        add_deltas(QuotaCountyRollup, ("region_path",), QUOTA_SUMS, self.quota_change)
        add_deltas(FundingCountyRollup, FUNDING_COUNTY_CELL, FUNDING_SUMS, self.funding_change)


def add_deltas(model: type[Model], cell: tuple[str, ...], sums: tuple[str, ...], delta: dict[tuple, list[int]]) -> None:
    """The county sums += each cell's change (``rollup.add_to_cells``, as the student county
    roll-up, decision 0005), then drop the cells left without a school (``schools``, the first of
    ``sums``, = 0)."""
    from eduplatform.stats.rollup import add_to_cells

    if not add_to_cells(model, cell, sums, delta):
        return
    # Only a cell that lost a school can have none left (``schools`` is the first sum).
    keys = sorted({key[0] for key, change in delta.items() if change[0] < 0})
    for start in range(0, len(keys), 500):
        model.objects.filter(region_path__in=keys[start:start + 500], schools=0).delete()
