"""Reading statistics: sums over the per-school roll-ups, inside the actor's jurisdiction."""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Substr

from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, scope_of, scoped
from eduplatform.stats import definitions, measures
from eduplatform.stats.models import (
    CITY_PATH_LENGTH,
    COUNTY_PATH_LENGTH,
    SNAPSHOT_OF,
    BuildingRollup,
    ClassRollup,
    MeasureCountyRollup,
    MeasureRollup,
    SchoolRollup,
    Snapshot,
    SnapshotMeasure,
    SnapshotRegionMeasure,
    StudentCountyRollup,
    StudentRollup,
)

STUDENT_MEASURES = ("enrolled", "suspended", "minority", "migrant", "left_behind", "disabled", "boarding",
                    "new_entrants", "transfers_in", "transfers_out", "graduates")
CENT = decimal.Decimal("0.01")
FULL_TIME_TEACHER = definitions.FULL_TIME_TEACHER  # staff_category_k12: 专任教师
# "city": the city's region path ("44/4401/"), for figures by city.
STUDENT_DIMENSIONS = ("school_id", "city", "stage", "grade", "gender", "cohort")


def county_rollup_serves(actor: Actor, *paths: str) -> bool:
    """Whether the county roll-up can answer for this actor, filtered by these region paths: the
    actor reads a region (not one school) and neither its scope nor any path is deeper than a county."""
    scope = scope_of(actor)
    return (scope.school_id is None and scope.region_path is not None
            and all(len(p) <= COUNTY_PATH_LENGTH for p in (scope.region_path, *paths)))


def student_figures(actor: Actor, *, under: str = "", by: Sequence[str] = (),
                    measures: Sequence[str] = STUDENT_MEASURES) -> list[dict]:
    """Student measures summed per combination of ``by`` (dimensions), for the schools in the
    actor's scope whose region path starts with ``under``.

    Read from the county roll-up when it can answer (no school dimension, nothing narrower than a
    county), which keeps a province-wide figure to a sum over tens of thousands of rows; otherwise
    from the school roll-up. Both give the same sums (``tests/test_rollups.py``)."""
    unknown = (set(by) - set(STUDENT_DIMENSIONS)) | (set(measures) - set(STUDENT_MEASURES))
    if unknown:
        raise ValueError(f"unknown dimensions or measures: {sorted(unknown)}")
    by_county = "school_id" not in by and county_rollup_serves(actor, under)
    qs = scoped((StudentCountyRollup if by_county else StudentRollup).objects.all(), actor)
    if under:
        qs = qs.filter(region_path__startswith=under)
    if "city" in by:
        qs = qs.annotate(city=Substr("region_path", 1, CITY_PATH_LENGTH))
    sums = {m: Sum(m) for m in measures}
    if not by:
        row = qs.aggregate(**sums)
        return [{m: row[m] or 0 for m in measures}]
    return list(qs.values(*by).annotate(**sums).order_by(*by))


def student_total(actor: Actor, *, under: str = "", measure: str = "enrolled") -> int:
    return student_figures(actor, under=under, measures=[measure])[0][measure]


BUILDING_SUMS = ("buildings", "total_area", "teaching_area", "admin_area", "living_area", "other_area",
                 "dangerous_area", "d_grade_area", "d_grade_in_use", "rented_area", "gym_area")


def building_totals(actor: Actor, *, under: str = "") -> dict[str, object]:
    """The standing buildings' totals in the actor's scope (and ``under`` a region), summed over the
    per-school roll-up: what the building list shows above a large scope, instead of summing every
    building row at request time."""
    qs = scoped(BuildingRollup.objects.all(), actor)
    if under:
        qs = qs.filter(region_path__startswith=under)
    return qs.aggregate(**{f: Sum(f) for f in BUILDING_SUMS})


def class_figures(actor: Actor, *, under: str = "", by: Sequence[str] = ("grade", "size_band")) -> list[dict]:
    qs = scoped(ClassRollup.objects.all(), actor)
    if under:
        qs = qs.filter(region_path__startswith=under)
    return list(qs.values(*by).annotate(classes=Sum("classes"), students=Sum("students")).order_by(*by))


@dataclass
class BreakdownRow:
    label: str
    region_code: str = ""  # for drilling down; empty for a school
    school_code: str = ""
    cells: dict = field(default_factory=dict)  # column → value

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    def add(self, column, value) -> None:
        if isinstance(value, decimal.Decimal):
            # SQLite sums decimals in floating point: areas are kept to the 0.01 ㎡ they are recorded in.
            value = value.quantize(CENT)
        self.cells[column] = self.cells.get(column, 0) + (value or 0)


def figures(model: type, actor: Actor, region: Region, snapshot: Snapshot | None = None) -> QuerySet:
    """The live roll-up rows under ``region`` in the actor's scope, or the same rows as frozen in
    ``snapshot``: every figure reads one or the other through here."""
    if snapshot is not None:
        return scoped(SNAPSHOT_OF[model].objects.filter(snapshot=snapshot, region_path__startswith=region.path), actor)
    return scoped(model.objects.filter(region_path__startswith=region.path), actor)


def snapshot_school(actor: Actor, region: Region, snapshot: Snapshot, school_code: str) -> dict | None:
    """A school open at the census, under ``region`` in the actor's scope, by its 学校标识码 (its id,
    code and name as the snapshot holds them); None elsewhere."""
    return (figures(SchoolRollup, actor, region, snapshot).filter(school_code=school_code.strip())
            .values("school_id", "school_code", "name").first())


def student_breakdown(actor: Actor, region: Region, measure: str = "enrolled", snapshot: Snapshot | None = None
                      ) -> tuple[list[BreakdownRow], BreakdownRow]:
    """One ``measure`` per stage for each child of ``region`` within the actor's scope (the schools
    of a town, the school itself for a school user), and the region's total row."""
    if measure not in STUDENT_MEASURES:
        raise ValueError(measure)
    children = [c.path for c in region.children.filter(abolished_on__isnull=True)]
    if snapshot is None and children and county_rollup_serves(actor, region.path, *children):
        # A province's or a city's counties: their sums fold into the children as the schools' would.
        qs = scoped(StudentCountyRollup.objects.filter(region_path__startswith=region.path), actor)
        items = [(None, r["region_path"], r["stage"], r["n"])
                 for r in qs.values("region_path", "stage").annotate(n=Sum(measure)).order_by()]
        return fold(actor, region, items)
    qs = figures(StudentRollup, actor, region, snapshot)
    items = [(r["school_id"], r["region_path"], r["stage"], r["n"])
             for r in qs.values("school_id", "region_path", "stage").annotate(n=Sum(measure)).order_by()]
    return fold(actor, region, items)


def _column(figure: definitions.Figure) -> tuple[str, str, type, str, Q]:
    (part,) = figure.parts
    return figure.key, figure.label, part.model, part.measure, part.condition


# The overview's columns: (key, label, roll-up model, measure, filter), as defined once in
# stats.measures (students and staff by their official definitions: 教职工 without 代课 and 兼任).
OVERVIEW_COLUMNS: tuple[tuple[str, str, type, str, Q], ...] = tuple(_column(f) for f in measures.OVERVIEW_FIGURES)


def region_overview(actor: Actor, region: Region, snapshot: Snapshot | None = None
                    ) -> tuple[list[BreakdownRow], BreakdownRow]:
    """Students, staff, full-time teachers and floor areas for each child of ``region`` (as
    ``student_breakdown``); live, or as frozen in ``snapshot`` — from the measure store at the level
    that serves (``measure_breakdown``)."""
    return measure_breakdown(actor, region, measures.OVERVIEW_KEYS, snapshot)


def per_school_items(actor: Actor, region: Region, snapshot: Snapshot | None, keys: Sequence[str]
                     ) -> list[tuple[int, str, str, object]]:
    """(school, region path, measure key, value) summed from the per-school roll-up rows at request
    time — the reference path the measure store must equal (tests/test_measure_store.py), and what
    snapshots taken before the store existed are read by."""
    items = []
    for key in keys:
        figure = measures.MEASURES[key]
        items += [(school, path, key, value)
                  for school, path, value in figure.per_school(lambda model: figures(model, actor, region, snapshot))]
    return items


def has_measures(snapshot: Snapshot) -> bool:
    """Whether ``snapshot`` froze the measure store (snapshots taken before it did not)."""
    if not hasattr(snapshot, "_has_measures"):
        snapshot._has_measures = SnapshotRegionMeasure.objects.filter(snapshot=snapshot).exists()
    return snapshot._has_measures


def region_table_serves(actor: Actor, region: Region) -> bool:
    """Whether a snapshot's per-region rows answer for this actor at ``region``: the actor reads a
    region (not one school) that lies inside its scope. A stage-limited scope is served too: the
    rows are kept per ``stages`` and the scope filter sums those it may see."""
    scope = scope_of(actor)
    return scope.school_id is None and scope.region_path is not None and region.path.startswith(scope.region_path)


def _value(key: str, value: object) -> object:
    """A stored measure as the per-school path gives it: counts as integers, areas and money as decimals."""
    if value is None:
        return 0
    return int(value) if key in measures.INTEGRAL else value


def measure_breakdown(actor: Actor, region: Region, keys: Sequence[str], snapshot: Snapshot | None = None
                      ) -> tuple[list[BreakdownRow], BreakdownRow]:
    """The measures ``keys`` (stats.measures) for each child of ``region`` the actor may see (its
    schools, for a town or a school user) and for the region, read at the level that serves:

    - a snapshot, a region with child regions, a reader of a region: the snapshot's per-region rows
      of the region and its children (``SnapshotRegionMeasure``), nothing summed over schools;
    - live, the children no deeper than counties (a province's cities, a city's counties), a scope
      no deeper than a county, not a school user (``county_rollup_serves``): the county table;
    - otherwise — a town's schools, a school user, the towns of 东莞/中山 (no county), a county's
      towns — the per-school measure rows under the region (a county's few hundred schools), live or
      frozen; and the per-school roll-ups for a snapshot taken before the store existed.
    Every path gives the same figures (tests/test_measure_store.py)."""
    keys = list(keys)
    children = [c.path for c in region.children.filter(abolished_on__isnull=True)]
    if snapshot is not None:
        if not has_measures(snapshot):
            return fold(actor, region, per_school_items(actor, region, snapshot, keys))
        if children and region_table_serves(actor, region):
            return _region_rows(actor, region, snapshot, keys)
        qs = scoped(SnapshotMeasure.objects.filter(snapshot=snapshot, region_path__startswith=region.path), actor)
    elif children and county_rollup_serves(actor, region.path, *children):
        qs = scoped(MeasureCountyRollup.objects.filter(region_path__startswith=region.path), actor)
    else:
        qs = scoped(MeasureRollup.objects.filter(region_path__startswith=region.path), actor)
    qs = qs.filter(key__in=keys)
    lengths = {len(p) for p in children}
    if len(lengths) == 1 and scope_of(actor).school_id is None:
        # Rows fold into child regions of one path length: summed per child in SQL (a province's
        # 21 cities, not its 140 counties or its schools); a shorter path is the region's own (直属).
        qs = qs.annotate(child=Substr("region_path", 1, lengths.pop()))
        items = [(None, r["child"], r["key"], _value(r["key"], r["n"]))
                 for r in qs.values("child", "key").annotate(n=Sum("value")).order_by()]
    else:
        items = [(r.get("school_id"), r["region_path"], r["key"], _value(r["key"], r["n"])) for r in qs.values(
            *(("school_id",) if qs.model is not MeasureCountyRollup else ()), "region_path", "key")
            .annotate(n=Sum("value")).order_by()]
    return fold(actor, region, items)


def _region_rows(actor: Actor, region: Region, snapshot: Snapshot, keys: list[str]
                 ) -> tuple[list[BreakdownRow], BreakdownRow]:
    """The region's and its visible children's rows of the snapshot's per-region table."""
    total = BreakdownRow(label=region.name)
    rows = _child_rows(actor, region)
    by_path = {path: row for path, row in rows}
    by_path[region.path] = total
    qs = scoped(SnapshotRegionMeasure.objects.filter(snapshot=snapshot, region_path__in=list(by_path), key__in=keys),
                actor)
    for r in qs.values("region_path", "key").annotate(n=Sum("value")).order_by():
        by_path[r["region_path"]].add(r["key"], _value(r["key"], r["n"]))
    return [row for _path, row in rows], total


def _child_rows(actor: Actor, region: Region) -> list[tuple[str, BreakdownRow]]:
    """An empty row for each child region of ``region`` that the actor may see, by code."""
    children = list(region.children.filter(abolished_on__isnull=True).order_by("code"))
    visible = set(scoped(Region.objects.filter(pk__in=[c.pk for c in children]), actor).values_list("pk", flat=True))
    return [(c.path, BreakdownRow(label=c.name, region_code=c.code)) for c in children if c.pk in visible]


def fold(actor: Actor, region: Region, items: list[tuple[int, str, object, object]]
          ) -> tuple[list[BreakdownRow], BreakdownRow]:
    """Per-school figures (school, its region path, column, value) summed into the children of
    ``region`` that the actor may see — or into its schools, for a town or a school user — and
    into the region's total row. A province's items are a few tens of thousands: folded here."""
    total = BreakdownRow(label=region.name)
    for _school, _path, column, value in items:
        total.add(column, value)
    if region.children.filter(abolished_on__isnull=True).exists() and scope_of(actor).school_id is None:
        rows = _child_rows(actor, region)
        for _school, path, column, value in items:
            row = next((row for prefix, row in rows if path.startswith(prefix)), None)
            if row is not None:
                row.add(column, value)
        return [row for _path, row in rows], total
    schools = {o.pk: o for o in scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, region_path__startswith=region.path),
                                       actor)}
    by_school: dict[int, BreakdownRow] = {}
    for school_id, _path, column, value in items:
        school = schools.get(school_id)
        if school is not None:
            by_school.setdefault(school_id, BreakdownRow(label=school.name, school_code=school.school_code or "")).add(
                column, value)
    return sorted(by_school.values(), key=lambda r: r.label), total


PROVINCE_PATH = "44/"


def snapshot_totals(actor: Actor, snapshots: Sequence[Snapshot]) -> dict[int, dict[str, int]]:
    """Students and staff of each snapshot *within the actor's jurisdiction* (as narrowed by the
    region picker), for the list of snapshots and its trend: a school sees its own figures, a county
    its county's — never the province's. The province-wide totals kept on the snapshot serve only
    a reader whose scope is the whole province, unrestricted by stage."""
    scope = scope_of(actor)
    if scope.is_empty:
        return {s.pk: {"students": 0, "staff": 0} for s in snapshots}
    whole_province = scope.region_path == PROVINCE_PATH and scope.school_id is None and not scope.stage_mask
    # Totals kept by snapshots taken before 教职工 had its one definition (no 代课教师 key) counted
    # 代课 and 兼任 in 教职工: those snapshots are summed again from their frozen rows.
    kept = {s.pk: {"students": int(s.totals.get("students", 0) or 0), "staff": int(s.totals.get("staff", 0) or 0)}
            for s in snapshots if whole_province and definitions.SUBSTITUTE_TEACHERS.key in s.totals}
    out = {s.pk: {"students": 0, "staff": 0} for s in snapshots if s.pk not in kept}
    if not out:
        return kept
    keys = [key for key, *_ in OVERVIEW_COLUMNS[:2]]  # the overview's own definitions
    summed = set()
    if scope.school_id is None:
        # A snapshot with per-region rows: the row of the reader's own region (a stage-limited
        # reader sums the stages it may see), not its schools' frozen rows.
        summed = set(SnapshotRegionMeasure.objects.filter(snapshot_id__in=list(out), region_path=PROVINCE_PATH)
                     .values_list("snapshot_id", flat=True).distinct())
        rows = scoped(SnapshotRegionMeasure.objects.filter(snapshot_id__in=sorted(summed), key__in=keys,
                                                           region_path=scope.region_path), actor)
        for row in rows.values("snapshot_id", "key").annotate(n=Sum("value")).order_by():
            out[row["snapshot_id"]][row["key"]] = int(row["n"] or 0)
    rest = [pk for pk in out if pk not in summed]  # a school reader, or snapshots taken before the store
    for key, _label, model, measure, condition in OVERVIEW_COLUMNS[:2]:
        if not rest:
            break
        frozen = SNAPSHOT_OF[model].objects.filter(condition, snapshot_id__in=rest)
        for row in scoped(frozen, actor).values("snapshot_id").annotate(n=Sum(measure)).order_by():
            out[row["snapshot_id"]][key] = row["n"] or 0
    return {**out, **kept}


@dataclass
class SchoolCensusSummary:
    """What a school confirms in the census sign-off (reporting's census task): its figures as the
    snapshot froze them and its 基表 checks (``school_census_summary``)."""

    school_id: int
    school_code: str
    name: str  # as the snapshot holds it
    series: str  # key of the 基表 series the school reports in (basic / vocational / higher)
    series_name: str  # 基础基 / 中职基 / 高基
    figures: list[tuple[str, str, object]]  # (key, label, value) in the overview's order: 在校生, 教职工, …
    findings: list = field(default_factory=list)  # every basetables.Finding(rule, holds, detail) of the school
    failing: list = field(default_factory=list)  # those with holds False (不通过); None is 不可核验, not failing


def school_census_summary(actor: Actor, snapshot: Snapshot, school: Organization) -> SchoolCensusSummary | None:
    """One school's census figures in ``snapshot`` and the results of its 基表 rules — None when the
    school is not in the snapshot or not in the actor's scope. Reads the tables stored with the
    snapshot where they serve this actor (``basetables.stored.read``), else generates and checks them
    like the 基表 page."""
    from eduplatform.stats import basetables
    from eduplatform.stats.basetables import stored

    region = Region.objects.filter(path=school.region_path).first()
    if region is None or not school.school_code:
        return None
    found = snapshot_school(actor, region, snapshot, school.school_code)
    if found is None:
        return None
    school_id = found["school_id"]
    mask = figures(SchoolRollup, actor, region, snapshot).filter(school_id=school_id).values_list(
        "stage_mask", flat=True).first()
    series = basetables.series_of(basetables.series_of_school(mask or 0))
    kept = stored.read(actor, region, snapshot, school_id=school_id, series=series.key)
    if kept is not None:
        findings = kept[1]
    else:
        tables = basetables.generate(actor, region, snapshot, school_id=school_id, series=series.key)
        findings = basetables.check(tables, actor, region, snapshot, school_id=school_id, series=series.key)
    values: dict[str, object] = {}
    for school_pk, _path, key, value in per_school_items(actor, region, snapshot, measures.OVERVIEW_KEYS):
        if school_pk == school_id:
            values[key] = values.get(key, 0) + _value(key, value)
    return SchoolCensusSummary(
        school_id=school_id, school_code=found["school_code"], name=found["name"], series=series.key,
        series_name=series.name,
        figures=[(f.key, f.label, values.get(f.key, 0)) for f in measures.OVERVIEW_FIGURES],
        findings=list(findings), failing=[f for f in findings if f.holds is False])


# --------------------------------------------------------------------------------------------
# Saved analyses (保存的分析)


def analyses_visible_to(actor: Actor) -> QuerySet:
    """The actor's own saved analyses, and those shared by others whose region and the actor's
    jurisdiction lie one inside the other (a county's shared analysis: its city and province above,
    its towns and schools below; never a neighbouring county). ``SavedAnalysis`` keeps no figures:
    what a reader sees when opening one is computed within the reader's own scope (``opened_region``)."""
    from eduplatform.stats.models import SavedAnalysis

    scope = scope_of(actor, with_focus=False)
    own = Q(owner_id=actor.pk)
    if scope.is_empty:
        return SavedAnalysis.objects.filter(own).select_related("owner", "organization")
    path = scope.region_path or ""
    ancestors = [path[:i] for i in range(1, len(path) + 1) if path[i - 1] == "/"]
    nested = Q(region_path__startswith=path) | Q(region_path__in=ancestors or [path])
    return (SavedAnalysis.objects.filter(own | (Q(shared=True) & nested))
            .select_related("owner", "organization").order_by("-updated_at", "-pk"))


def analysis_for(actor: Actor, analysis_id: int):
    """A saved analysis the actor may open; None for one of another jurisdiction (or none)."""
    return analyses_visible_to(actor).filter(pk=analysis_id).first()


def opened_region(actor: Actor, analysis) -> Region | None:
    """Where ``analysis`` opens for the actor: its own region when that lies in the actor's
    jurisdiction, else — a region above the jurisdiction (a province's analysis opened by a county)
    — the top of the actor's jurisdiction, so the reader sees their own data only; None otherwise."""
    scope = scope_of(actor)
    if scope.is_empty:
        return None
    if analysis.region_path.startswith(scope.region_path):
        return Region.objects.filter(path=analysis.region_path).first()
    if (scope.region_path or "").startswith(analysis.region_path):
        return Region.objects.filter(path=scope.region_path).first()
    return None


# --------------------------------------------------------------------------------------------
# 大班额: the schools with classes in the labelled bands


@dataclass
class SchoolClassSizes:
    school_id: int
    name: str
    school_code: str
    region_path: str
    classes: int = 0
    large: int = 0  # 大班额 classes
    super_large: int = 0  # 超大班额 classes

    @property
    def over_55(self) -> int:
        return self.large + self.super_large


def schools_with_large_classes(actor: Actor, region: Region, ratios: Sequence[definitions.Ratio]
                               ) -> list[SchoolClassSizes]:
    """Schools under ``region`` in the actor's scope with at least one 大班额 or 超大班额 class of the
    compulsory classes ``ratios`` (``definitions.class_size_ratios`` of one stage or of 义务教育)
    count — each school's figures summed by those definitions from the measure store, most such
    classes first."""
    large_ratio, super_ratio, *_rest = ratios  # class_size_ratios' order: 大班额, 超大班额, 56人以上
    keys = {large_ratio.numerator.key: "large", super_ratio.numerator.key: "super_large",
            large_ratio.denominator.key: "classes"}
    values: dict[int, dict[str, int]] = {}
    paths: dict[int, str] = {}
    for r in (scoped(MeasureRollup.objects.filter(region_path__startswith=region.path, key__in=list(keys)), actor)
              .values("school_id", "region_path", "key").annotate(n=Sum("value")).order_by()):
        values.setdefault(r["school_id"], {})[keys[r["key"]]] = int(r["n"] or 0)
        paths[r["school_id"]] = r["region_path"]
    flagged = [pk for pk, v in values.items() if v.get("large", 0) + v.get("super_large", 0) > 0]
    names = {o.pk: o for o in scoped(Organization.objects.filter(pk__in=flagged), actor).only("name", "school_code")}
    rows = [SchoolClassSizes(pk, names[pk].name, names[pk].school_code or "", paths[pk], values[pk].get("classes", 0),
                             values[pk].get("large", 0), values[pk].get("super_large", 0))
            for pk in flagged if pk in names]
    rows.sort(key=lambda s: (-s.over_55, -s.super_large, s.region_path, s.name))
    return rows
