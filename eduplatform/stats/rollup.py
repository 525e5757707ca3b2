"""Keeping the per-school roll-ups equal to the records.

One statement per table recomputes any set of schools: ``INSERT INTO rollup SELECT … GROUP BY``
over the raw records, built with the ORM so the same SQL runs on SQLite and PostgreSQL. The
incremental refresh (the schools marked dirty by a commit) and the full rebuild use exactly the same
statements, the rebuild just without a school filter — so they cannot disagree by construction of
two code paths, and a test checks that they do not disagree in fact.

Under concurrency (docs/decisions/0005-roll-ups-and-feed-under-concurrency.md), on PostgreSQL:

- a school's rows are rewritten only under its advisory lock (``SCHOOL_LOCK_CLASS``), taken in key
  order at the start of the refresh transaction, which runs at READ COMMITTED: a second refresh of
  the school waits, and each of its later statements (a snapshot of its own) sees the first's
  committed rows — its DELETE removes them, its INSERT … SELECT counts every committed record;
- every roll-up table has a unique key per school (or county key) and cell, so two refreshes that
  somehow both inserted would fail, never add up;
- a refresh reads the dirty marks after taking the locks and deletes exactly those marks: a change
  committed before the read is in every later statement's snapshot, and a mark committed after it
  stays for its own commit's refresh (or the worker);
- the county roll-up gets each refresh's change per county cell added (``ON CONFLICT … DO UPDATE``,
  in cell order), so refreshes of different schools in one county never wait for a county-wide lock;
- refreshes hold a shared lock on the roll-ups (``FREEZE_LOCK``); a snapshot and the full rebuild
  take it exclusively, so they see the tables between refreshes, never halfway through one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractYear, Substr
from django.utils import timezone

from eduplatform.history.models import DirtySchool
from eduplatform.orgs.stages import Stage
from eduplatform.stats.definitions import SIZE_BANDS, first_in_stage
from eduplatform.stats.models import (
    COUNTY_CELL,
    COUNTY_PATH_LENGTH,
    MEASURE_COUNTY_CELL,
    AssetRollup,
    BuildingRollup,
    ClassRollup,
    IncompleteRollup,
    MeasureCountyRollup,
    MeasureRollup,
    SchoolRollup,
    StaffRollup,
    StudentCountyRollup,
    StudentRollup,
)
from eduplatform.students.grades import GRADES, GRADUATING_CODES

log = logging.getLogger(__name__)

# Above this many schools marked by one transaction (a region's promotion, a merger) their refresh
# goes to the worker instead of holding up the request that committed.
INLINE_LIMIT = 200
CHUNK = 500
# Advisory-lock classes (PostgreSQL, two-key form): one lock per school whose rows are rewritten, and
# one lock over all roll-ups — shared by refreshes, exclusive for a snapshot or a full rebuild.
SCHOOL_LOCK_CLASS = 5102
FREEZE_LOCK = (5103, 0)
# The worker's rounds: schools claimed per transaction.
WORKER_BATCH = CHUNK
# Above this many schools a recompute holds the roll-ups' exclusive lock instead of one lock per
# school: PostgreSQL keeps every lock of every session in one fixed table (max_locks_per_transaction
# × max_connections, 6,400 by default), which a province's 38,000 schools would overflow ("out of
# shared memory"). The exclusive lock excludes every other refresher just as well, since each takes
# the shared one first; it is the worker's batch, so the worker and inline refreshes stay per school.
SCHOOL_LOCK_LIMIT = WORKER_BATCH

# 基础基211–213 class-size bands and the 大班额 / 超大班额 bands: defined once in stats.definitions.

ETHNICITY_HAN = "01"
# 办学类型 5xx: special-education schools (and 519 附设特教班), whose disabled pupils are not 随班就读.
SPECIAL_SCHOOL_TYPE_PREFIX = "5"
STUDENT_COLUMNS = ("school_id", "region_path", "stage", "grade", "gender", "cohort", "level", "major", "enrolled", "suspended",
                   "minority", "migrant", "left_behind", "disabled", "boarding", "new_entrants", "graduates",
                   "school_year", "inclusive", "expected_graduates", "prior_graduates", "minority_new_entrants",
                   "minority_expected_graduates", "minority_prior_graduates", "transfers_in", "transfers_out")
CLASS_COLUMNS = ("school_id", "region_path", "stage", "school_year", "grade", "size_band", "classes", "students",
                 "largest")
STAFF_COLUMNS = ("school_id", "region_path", "stage_mask", "post_category", "establishment", "gender", "education_level",
                 "title_grade", "teaching_stage", "birth_year", "subject", "staff", "backbone", "head_teachers",
                 "dual_qualified", "qualified")
SCHOOL_COLUMNS = ("school_id", "region_path", "stage_mask", "school_code", "name", "school_type_code", "sponsor_code",
                  "urban_rural_code", "address", "longitude", "latitude", "principal_name", "phone", "website")
ROLLUPS = (StudentRollup, ClassRollup, StaffRollup, BuildingRollup, AssetRollup, SchoolRollup, MeasureRollup,
           IncompleteRollup)
# Every measure of the student roll-up: what the county roll-up sums (its dimensions are the school
# roll-up's but the school; tests/test_rollups.py checks both lists against the models).
STUDENT_SUMS = ("enrolled", "suspended", "minority", "migrant", "left_behind", "disabled", "boarding", "new_entrants",
                "graduates", "inclusive", "expected_graduates", "prior_graduates", "minority_new_entrants",
                "minority_expected_graduates", "minority_prior_graduates", "transfers_in", "transfers_out")
COUNTY_DIMENSIONS = ("stage", "grade", "gender", "cohort", "level", "school_year")
# The county roll-up's columns in the order _county_select selects them: its values() fields, then
# its annotations (the key, then the sums).
COUNTY_COLUMNS = (*COUNTY_DIMENSIONS, "region_path", *STUDENT_SUMS)


def school_year_of(day: dt.date) -> int:
    """2026-09-01 … 2027-08-31 is school year 2026."""
    return day.year if day.month >= 9 else day.year - 1


def final_year() -> Q:
    """预计毕业生's grades: the last grade of its stage, or — vocational and higher education — the
    year the programme's length (学制) reaches. The rule year-end promotion graduates by
    (``students.promotion.GRADUATES``), as a filter."""
    condition = Q(grade__in=sorted(GRADUATING_CODES))
    by_length = [g for g in GRADES if g.stage in (Stage.VOCATIONAL, Stage.HIGHER)]
    for length in range(1, 9):
        codes = [g.code for g in by_length if g.year >= length]
        if codes:
            condition |= Q(programme_length=length, grade__in=codes)
    return condition


def _student_select(school_ids: list[int] | None, today: dt.date) -> QuerySet:
    from eduplatform.students.models import Enrolment, EnrolmentStatus

    year = school_year_of(today)
    year_start, prior_start = dt.date(year, 9, 1), dt.date(year - 1, 9, 1)
    finished = Q(status__in=[EnrolmentStatus.GRADUATED, EnrolmentStatus.COMPLETED])
    graduated = finished & Q(left_on__gte=year_start)
    prior = finished & Q(left_on__gte=prior_start, left_on__lt=year_start)
    active = Q(is_active=True)
    minority = ~Q(student__ethnicity__in=[ETHNICITY_HAN, ""])
    entered = active & Q(entered_on__gte=year_start)
    # 招生: the first registration in the stage (stats.definitions.NEW_ENTRANTS); a registration that
    # follows another of the same stage is a transfer in (or a return), a flow, not an entrant.
    # The subquery runs only for rows entered this year (AND stops at the first false term), and once
    # per row: 转入 is the year's registrations less its entrants, not a second subquery.
    new = entered & first_in_stage()
    moved_out = Q(status=EnrolmentStatus.TRANSFERRED_OUT, left_on__gte=year_start)
    last_year_of_programme = active & final_year()
    qs = Enrolment.objects.filter(active | graduated | prior | moved_out)
    if school_ids is not None:
        qs = qs.filter(school_id__in=school_ids)
    birth_year = ExtractYear("student__birth_date")
    return (
        qs.values("school_id", "region_path", "stage", "grade")
        .annotate(
            gender_=F("student__gender"),
            cohort=Case(When(student__birth_date__month__gte=9, then=birth_year + 1), default=birth_year,
                        output_field=IntegerField()),
            level_=Case(When(stage__in=[Stage.VOCATIONAL, Stage.HIGHER], then=F("level")), default=Value(""),
                        output_field=CharField()),
            major_=Case(When(stage__in=[Stage.VOCATIONAL, Stage.HIGHER], then=F("major")), default=Value(""),
                        output_field=CharField()),
        )
        .values("school_id", "region_path", "stage", "grade", "gender_", "cohort", "level_", "major_")
        .annotate(
            enrolled=Count("pk", filter=active),
            suspended=Count("pk", filter=active & Q(status=EnrolmentStatus.SUSPENDED)),
            minority=Count("pk", filter=active & minority),
            migrant=Count("pk", filter=active & Q(student__migrant_child=True)),
            left_behind=Count("pk", filter=active & ~Q(student__left_behind__in=["0", ""])),
            disabled=Count("pk", filter=active & ~Q(student__disability_type="")),
            boarding=Count("pk", filter=active & Q(student__boarding_mode="2")),
            new_entrants=Count("pk", filter=new),
            graduates=Count("pk", filter=graduated),
            year=Value(year, output_field=IntegerField()),
            inclusive=Count("pk", filter=active & ~Q(student__disability_type="") & ~Q(stage=Stage.SPECIAL)
                            & ~Q(school__school_type_code__startswith=SPECIAL_SCHOOL_TYPE_PREFIX)),
            expected_graduates=Count("pk", filter=last_year_of_programme),
            prior_graduates=Count("pk", filter=prior),
            minority_new_entrants=Count("pk", filter=minority & new),
            minority_expected_graduates=Count("pk", filter=last_year_of_programme & minority),
            minority_prior_graduates=Count("pk", filter=prior & minority),
            transfers_in=Count("pk", filter=entered) - Count("pk", filter=new),
            transfers_out=Count("pk", filter=moved_out),
        )
        .order_by()
    )


def _staff_select(school_ids: list[int] | None) -> QuerySet:
    """Schools' active staff (bureau staff are administrators, outside the schools' statistics)."""
    from eduplatform.orgs.models import OrgKind
    from eduplatform.staff.models import StaffMember
    from eduplatform.staff.selectors import main_subject

    qs = StaffMember.objects.filter(is_active=True, unit_kind=OrgKind.SCHOOL)
    if school_ids is not None:
        qs = qs.filter(unit_id__in=school_ids)
    dimensions = ("unit_id", "region_path", "stage_mask", "post_category", "establishment", "gender", "education_level",
                  "title_grade", "teaching_stage")
    subject = main_subject()
    return (
        qs.values(*dimensions).annotate(year=ExtractYear("birth_date"), subject_=subject)
        .values(*dimensions, "year", "subject_")
        .annotate(
            staff=Count("pk"),
            backbone=Count("pk", filter=~Q(backbone_level__in=["0", ""])),
            head_teachers=Count("pk", filter=Q(is_head_teacher=True)),
            dual_qualified=Count("pk", filter=Q(is_dual_qualified=True)),
            qualified=Count("pk", filter=~Q(qualification_type="")),
        )
        .order_by()
    )


def _recompute_buildings(school_ids: list[int] | None) -> None:
    """A school's floor-area totals, by the facilities register's own rule (``totals_by_school``)."""
    from eduplatform.facilities.models import Building
    from eduplatform.facilities.selectors import totals_by_school
    from eduplatform.orgs.models import Organization

    buildings = Building.objects.all() if school_ids is None else Building.objects.filter(school_id__in=school_ids)
    totals = totals_by_school(buildings)
    places = dict((pk, (path, mask)) for pk, path, mask in Organization.objects.filter(pk__in=list(totals))
                  .values_list("pk", "region_path", "stage_mask"))
    BuildingRollup.objects.bulk_create([
        BuildingRollup(school_id=sid, region_path=places[sid][0], stage_mask=places[sid][1], buildings=t.buildings,
                       total_area=t.total, teaching_area=t.teaching, admin_area=t.admin, living_area=t.living,
                       other_area=t.other, dangerous_area=t.dangerous, d_grade_area=t.d_grade,
                       d_grade_in_use=t.dangerous_in_use, rented_area=t.rented, gym_area=t.gym)
        for sid, t in totals.items()
    ], batch_size=2000)


def _recompute_assets(school_ids: list[int] | None, today: dt.date) -> None:
    """Each school's active land parcels and its summary holdings of the statistical year (统计时点
    1 September), in one row: the 522 figures. Two grouped queries, joined here by school."""
    from eduplatform.assets.codes import statistical_year
    from eduplatform.assets.models import AssetHoldings
    from eduplatform.facilities.models import LandParcel
    from eduplatform.orgs.models import Organization

    year = statistical_year(today)
    parcels = LandParcel.objects.filter(retired_on__isnull=True)
    holdings = AssetHoldings.objects.filter(year=year)
    if school_ids is not None:
        parcels, holdings = parcels.filter(school_id__in=school_ids), holdings.filter(school_id__in=school_ids)
    rows: dict[int, AssetRollup] = {}

    def row(school_id: int) -> AssetRollup:
        return rows.setdefault(school_id, AssetRollup(school_id=school_id, year=year))

    for land in parcels.values("school_id").annotate(area=Sum("area"), sports=Sum("sports_area"),
                                                      green=Sum("green_area")).order_by():
        target = row(land["school_id"])
        target.land_area, target.sports_area, target.green_area = land["area"], land["sports"], land["green"]
    for held in holdings.values("school_id", "books_volumes", "computers_for_teaching", "multimedia_classrooms",
                                "teaching_equipment_value", "fixed_asset_value"):
        target = row(held.pop("school_id"))
        target.has_holdings = True
        for name, value in held.items():
            setattr(target, name, value)
    places = dict((pk, (path, mask)) for pk, path, mask in Organization.objects.filter(pk__in=list(rows))
                  .values_list("pk", "region_path", "stage_mask"))
    for school_id, target in rows.items():
        target.region_path, target.stage_mask = places[school_id]
    AssetRollup.objects.bulk_create(rows.values(), batch_size=2000)


def _recompute_incomplete(school_ids: list[int] | None) -> None:
    """Per school, base database and stage, the records lacking a required field (the 建库进度
    completeness; ``quality.required`` defines both the records and what they must hold)."""
    from eduplatform.orgs.models import Organization
    from eduplatform.quality.required import incomplete_counts

    counts = list(incomplete_counts(school_ids))
    places = dict((pk, (path, mask)) for pk, path, mask in Organization.objects.filter(
        pk__in={school for school, *_ in counts}).values_list("pk", "region_path", "stage_mask"))
    IncompleteRollup.objects.bulk_create([
        IncompleteRollup(school_id=school, region_path=places[school][0], database=database, incomplete=n,
                         stage_mask=places[school][1] if stage is None else stage)
        for school, database, stage, n in counts
    ], batch_size=2000)


def _school_select(school_ids: list[int] | None) -> QuerySet:
    """Every open school's 基础基111 identity, as it stands."""
    from eduplatform.orgs.models import Organization, OrgKind

    qs = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True)
    if school_ids is not None:
        qs = qs.filter(pk__in=school_ids)
    return qs.values("pk", *SCHOOL_COLUMNS[1:]).order_by()


def insert_select(table: str, columns: Iterable[str], queryset: QuerySet) -> None:
    """``INSERT INTO table (columns) SELECT …`` with the queryset's SQL: ``columns`` in the order the
    queryset selects them (its values() fields, then its annotations)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) {sql}", params)


def _size_band(size: int) -> str:
    return next(label for label, low in reversed(SIZE_BANDS) if size >= low)


def _recompute_classes(school_ids: list[int] | None, today: dt.date) -> None:
    """Classes of the current school year by grade and size band. A class's size is an aggregate,
    and SQL cannot group by an aggregate in one step: the sizes are read per class (one row each,
    far fewer than students) and banded here.

    The sizes come from the enrolments alone and the classes' year and grade from a second query:
    joined in SQL, a school's first import (50,000 rows the planner has no statistics for yet)
    was read once per class, 1.5 s for 72 classes."""
    from eduplatform.students.models import Enrolment, SchoolClass

    year = school_year_of(today)
    sizes = (Enrolment.objects.filter(is_active=True, school_class__isnull=False)
             .values("school_id", "region_path", "stage", "school_class_id")
             .annotate(size=Count("pk")).order_by())
    classes = SchoolClass.objects.filter(school_year=year)
    if school_ids is not None:
        sizes = sizes.filter(school_id__in=school_ids)
        classes = classes.filter(school_id__in=school_ids)
    grade_of = dict(classes.values_list("pk", "grade").iterator(chunk_size=5000))
    totals: dict[tuple, list[int]] = {}
    for row in sizes.iterator(chunk_size=5000):
        grade = grade_of.get(row["school_class_id"])
        if grade is None:  # a class of another school year
            continue
        key = (row["school_id"], row["region_path"], row["stage"], year, grade, _size_band(row["size"]))
        entry = totals.setdefault(key, [0, 0, 0])
        entry[0] += 1
        entry[1] += row["size"]
        entry[2] = max(entry[2], row["size"])
    ClassRollup.objects.bulk_create(
        [ClassRollup(**dict(zip(CLASS_COLUMNS, (*key, *measures), strict=True)))
         for key, measures in totals.items()], batch_size=2000)


def _county_sums(school_ids: list[int]) -> dict[tuple, list[int]]:
    """These schools' student rows summed per county key and cell: {(key, *dimensions): measures}."""
    rows = (StudentRollup.objects.filter(school_id__in=school_ids)
            .annotate(key=Substr("region_path", 1, COUNTY_PATH_LENGTH))
            .values("key", *COUNTY_DIMENSIONS).annotate(**{f"{m}_sum": Sum(m) for m in STUDENT_SUMS}).order_by())
    return {(r["key"], *(r[d] for d in COUNTY_DIMENSIONS)): [r[f"{m}_sum"] for m in STUDENT_SUMS] for r in rows}


def add_to_cells(model: type, cell: tuple[str, ...], sums: tuple[str, ...], delta: dict[tuple, list]) -> list[tuple]:
    """Add each cell's change to a county-level table: ``INSERT … ON CONFLICT (cell) DO UPDATE SET
    m = m + change`` in cell order (decision 0005); the rows added, for the caller to drop the cells
    its changes left empty.

    Additions commute, so refreshes of different schools of one county need no county-wide lock:
    each locks only the county rows it changes, in one order (cell order, once per transaction),
    and the row lock makes the second add to what the first committed."""
    rows = [(*key, *change) for key, change in sorted(delta.items()) if any(change)]
    if not rows:
        return rows
    table = model._meta.db_table
    columns = (*cell, *sums)
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in sums)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            part = rows[start:start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholders] * len(part))}"  # noqa: S608
                f" ON CONFLICT ({', '.join(cell)}) DO UPDATE SET {updates}",
                [v for row in part for v in row])
    return rows


def _add_to_counties(delta: dict[tuple, list[int]]) -> None:
    """The student county roll-up += each cell's change, then drop the cells left without students
    (a cell exists exactly where some school row does: every school row counts someone)."""
    rows = add_to_cells(StudentCountyRollup, COUNTY_CELL, STUDENT_SUMS, delta)
    if rows:
        keys = sorted({row[0] for row in rows})
        StudentCountyRollup.objects.filter(region_path__in=keys, **{m: 0 for m in STUDENT_SUMS}).delete()


def _county_select(keys: list[str] | None) -> QuerySet:
    """The school roll-up summed per county key (of the schools now under ``keys``, or all)."""
    from eduplatform.orgs.models import Organization, OrgKind

    qs = StudentRollup.objects.all()
    if keys is not None:
        # The schools by their own (indexed) path, then their rows by school: no prefix scan of
        # the school roll-up, whose plain index cannot serve LIKE outside the C collation.
        under = Q()
        for key in keys:
            under |= Q(region_path__startswith=key)
        qs = qs.filter(school_id__in=Organization.objects.filter(under, kind=OrgKind.SCHOOL).values("pk"))
    qs = qs.annotate(key=Substr("region_path", 1, COUNTY_PATH_LENGTH))
    if keys is not None:
        qs = qs.filter(key__in=keys)  # a row still under another county's path is that county's to sum
    return (
        qs.values(*COUNTY_DIMENSIONS, "key")
        .annotate(**{m: Sum(m) for m in STUDENT_SUMS})
        .order_by()
    )


def _recompute_counties() -> None:
    """The whole county roll-up summed again from the school rows (the full rebuild)."""
    StudentCountyRollup.objects.all().delete()
    insert_select(StudentCountyRollup._meta.db_table, COUNTY_COLUMNS, _county_select(None))


# --------------------------------------------------------------------------------------------
# The measure store (stats.measures): each school's named measures, and their county sums


def _recompute_measures(school_ids: list[int] | None) -> None:
    """Every measure of ``stats.measures.MEASURES`` for these schools (all for ``None``), from their
    roll-up rows, in one ``INSERT … SELECT``: per source model one grouped query with a conditional
    sum per measure part (``WITH m<i>``), unpivoted into (school, path, key, stages, value) rows and
    summed per key (a measure may add parts of two models). A school has a row of a measure exactly
    where it has roll-up rows the measure sums, even if they sum to zero (as the per-school path
    listed it: a school with rows but nothing to count still shows, with zeros)."""
    if school_ids is not None and len(school_ids) <= _CACHED_STATEMENTS:
        # Compiling the statement costs more than running it for one school (30–50 ms of Django's
        # SQL compiler): compiled once per vendor and number of schools, with stand-in ids.
        sql, params = _measures_statement(connection.vendor, len(school_ids))
        ids = dict(zip(_stand_ins(len(school_ids)), school_ids, strict=True))
        params = [ids.get(int(p), p) if isinstance(p, int) else p for p in params]  # psycopg: Int8(…)
    else:
        sql, params = _measures_statement.__wrapped__(connection.vendor, None, school_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_CACHED_STATEMENTS = 16


def _stand_ins(n: int) -> list[int]:
    """Ids no school has (negative), standing in for the schools of a cached statement."""
    return [-(10**12) - i for i in range(n)]


@functools.lru_cache(maxsize=2 * _CACHED_STATEMENTS)
def _measures_statement(vendor: str, n: int | None, school_ids: list[int] | None = None) -> tuple[str, list]:
    """The ``_recompute_measures`` statement and its parameters, for ``n`` stand-in schools (or for
    ``school_ids``, or all schools when both are None)."""
    from eduplatform.stats.measures import parts_by_model

    if n is not None:
        school_ids = _stand_ins(n)
    ctes, branches, params, branch_params = [], [], [], []
    for i, (model, parts) in enumerate(parts_by_model().items()):
        if not parts:
            continue
        qs = model.objects.all() if school_ids is None else model.objects.filter(school_id__in=school_ids)
        stages = model.SCOPE.stages  # the field a stage-limited scope filters this model's rows by
        sums = {f"p{j}": Sum(part.measure, filter=part.condition if part.condition else None)
                for j, (_key, part) in enumerate(parts)}
        sql, cte_params = qs.values("school_id", "region_path", stages).annotate(**sums).order_by().query.sql_with_params()
        ctes.append(f"m{i} (school_id, region_path, stages, {', '.join(sums)}) AS ({sql})")
        params += cte_params
        for j, (key, part) in enumerate(parts):
            weighted = f"p{j}" if part.weight == 1 else f"p{j} * %s"
            branches.append(f"SELECT school_id, region_path, CAST(%s AS varchar(40)) AS mkey, stages, {weighted} AS v"  # noqa: S608
                            f" FROM m{i} WHERE p{j} IS NOT NULL")
            branch_params += [key] if part.weight == 1 else [key, part.weight]
    table = MeasureRollup._meta.db_table
    return (f"WITH {', '.join(ctes)} INSERT INTO {table} (school_id, region_path, key, stages, value)"  # noqa: S608
            f" SELECT school_id, region_path, mkey, stages, SUM(v) FROM ({' UNION ALL '.join(branches)}) u"
            " GROUP BY school_id, region_path, mkey, stages", params + branch_params)


def _measure_counties_change(school_ids: list[int], change: dict[tuple, list], *, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) these schools' measure rows, summed per county cell
    (value, number of school rows), to ``change`` — read before the schools' rows are deleted and
    after they are written again."""
    rows = (MeasureRollup.objects.filter(school_id__in=school_ids)
            .annotate(county=Substr("region_path", 1, COUNTY_PATH_LENGTH))
            .values("county", "key", "stages").annotate(total=Sum("value"), n=Count("pk")).order_by())
    for r in rows:
        cell = change.setdefault((r["county"], r["key"], r["stages"]), [decimal.Decimal(0), 0])
        cell[0] += sign * (r["total"] or 0)
        cell[1] += sign * r["n"]


def _add_measures_to_counties(change: dict[tuple, list]) -> None:
    """``MeasureCountyRollup`` += each cell's change (``add_to_cells``, as for students), then drop
    the cells left without school rows."""
    rows = add_to_cells(MeasureCountyRollup, MEASURE_COUNTY_CELL, ("value", "schools"),
                        {cell: [value, n] for cell, (value, n) in change.items() if value or n})
    if rows:
        MeasureCountyRollup.objects.filter(region_path__in=sorted({r[0] for r in rows}), schools=0).delete()


def _recompute_measure_counties() -> None:
    """The whole county measure table summed again from the school rows (the full rebuild)."""
    MeasureCountyRollup.objects.all().delete()
    county = f"substr(region_path, 1, {COUNTY_PATH_LENGTH})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MeasureCountyRollup._meta.db_table} (region_path, key, stages, value, schools)"  # noqa: S608
            f" SELECT {county}, key, stages, SUM(value), COUNT(*) FROM {MeasureRollup._meta.db_table}"
            f" GROUP BY {county}, key, stages")


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _lock_key(school_id: int) -> int:
    """The school's advisory-lock key (int4); ids beyond 2³¹ share keys, which only serialises more."""
    return school_id if school_id < 2**31 else school_id % (2**31 - 1)


def hold_rollups(*, exclusive: bool = False) -> None:
    """Take the roll-ups' lock for the rest of the current transaction: shared by refreshes,
    exclusive for whoever must see every table between refreshes (a snapshot, the full rebuild)."""
    if _on_postgresql():
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s, %s)", list(FREEZE_LOCK))


def lock_schools(school_ids: Iterable[int]) -> None:
    """Wait for and hold (until the transaction ends) the refresh lock of each school, in key order:
    every refresher locks in this one order, so two of them can never wait for each other."""
    keys = sorted({_lock_key(int(i)) for i in school_ids})
    if keys and _on_postgresql():
        with connection.cursor() as cursor:
            # unnest yields the sorted array in order; the aggregate takes each lock as it reads them.
            cursor.execute("SELECT count(pg_advisory_xact_lock(%s, k)) FROM unnest(%s::int[]) AS u(k)",
                           [SCHOOL_LOCK_CLASS, keys])


def try_lock_schools(school_ids: Iterable[int]) -> list[int]:
    """The schools whose refresh lock is free, now held by this transaction (the others are being
    refreshed by someone else: the worker skips them, like ``FOR UPDATE SKIP LOCKED``). Never waits."""
    ids = sorted({int(i) for i in school_ids})
    if not ids or not _on_postgresql():
        return ids
    with connection.cursor() as cursor:
        cursor.execute("SELECT k FROM unnest(%s::bigint[]) AS u(k) WHERE pg_try_advisory_xact_lock(%s,"
                       " (CASE WHEN k < 2147483648 THEN k ELSE k %% 2147483647 END)::int)", [ids, SCHOOL_LOCK_CLASS])
        return sorted(r[0] for r in cursor.fetchall())


def recompute_schools(school_ids: Iterable[int] | None, *, today: dt.date | None = None) -> None:
    """Rewrite the roll-up rows of these schools (all schools for ``None``) from the records, and the
    county roll-up of their counties — under the schools' locks (all, or more than
    ``SCHOOL_LOCK_LIMIT``: the roll-ups' exclusive lock)."""
    today = today or timezone.localdate()
    ids = None if school_ids is None else sorted({int(i) for i in school_ids})
    chunks = [None] if ids is None else [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
    county_change: dict[tuple, list[int]] = {}
    measure_change: dict[tuple, list] = {}
    whole = ids is None or len(ids) > SCHOOL_LOCK_LIMIT
    calculators = _calculator_tables(whole=ids is None)
    with transaction.atomic():
        hold_rollups(exclusive=whole)
        if not whole:
            lock_schools(ids)  # before the first statement that reads what another refresh writes
        for chunk in chunks:
            if chunk is not None:  # the county rows lose what these schools counted …
                for cell, sums in _county_sums(chunk).items():
                    change = county_change.setdefault(cell, [0] * len(STUDENT_SUMS))
                    for i, n in enumerate(sums):
                        change[i] -= n
                _measure_counties_change(chunk, measure_change, sign=-1)
            for model in ROLLUPS:
                (model.objects.all() if chunk is None else model.objects.filter(school_id__in=chunk)).delete()
            insert_select(StudentRollup._meta.db_table, STUDENT_COLUMNS, _student_select(chunk, today))
            if chunk is not None:  # … and gain what they count now (under the county they are in now)
                for cell, sums in _county_sums(chunk).items():
                    change = county_change.setdefault(cell, [0] * len(STUDENT_SUMS))
                    for i, n in enumerate(sums):
                        change[i] += n
            _recompute_classes(chunk, today)
            insert_select(StaffRollup._meta.db_table, STAFF_COLUMNS, _staff_select(chunk))
            _recompute_buildings(chunk)
            _recompute_assets(chunk, today)
            insert_select(SchoolRollup._meta.db_table, SCHOOL_COLUMNS, _school_select(chunk))
            _recompute_incomplete(chunk)
            _recompute_measures(chunk)  # from the roll-up rows just written
            if chunk is not None:
                _measure_counties_change(chunk, measure_change, sign=1)
            calculators.schools(chunk)  # quotas and funding inputs, from the rows just written
        if ids is None:
            _recompute_counties()
            _recompute_measure_counties()
        else:
            _add_to_counties(county_change)  # once, in cell order, for the whole transaction
            _add_measures_to_counties(measure_change)  # then the measure cells, in their order
        # Then the calculators' county sums: one order (students, measures, calculators) in every
        # transaction, so two refreshes never wait on each other's county rows in opposite orders.
        calculators.counties()


def _calculator_tables(*, whole: bool):
    """The staffing-quota and funding tables kept with the roll-ups (``stats.calculator_tables``);
    imported here, not at the top, because that module reads the calculators, which read this one."""
    from eduplatform.stats.calculator_tables import Refresh

    return Refresh(whole=whole)


def _delete_marks(mark_ids: list[int]) -> None:
    for start in range(0, len(mark_ids), CHUNK):
        DirtySchool.objects.filter(id__in=mark_ids[start:start + CHUNK]).delete()


def rebuild_all(*, today: dt.date | None = None) -> None:
    """Every roll-up row from scratch; the dirty marks it covered (those committed before it began)
    are removed. No refresh runs meanwhile (the roll-ups' exclusive lock)."""
    with transaction.atomic():
        hold_rollups(exclusive=True)
        marks = list(DirtySchool.objects.values_list("id", flat=True))
        recompute_schools(None, today=today)
        _delete_marks(marks)


def stale_schools(today: dt.date | None = None) -> set[int]:
    """Schools whose rows were computed in an earlier school (or asset statistical) year: on
    1 September their 本学年 entrants, graduates and classes, and their holdings, roll over without
    any record changing, so nothing marks them dirty."""
    from eduplatform.assets.codes import statistical_year

    today = today or timezone.localdate()
    year = school_year_of(today)
    ids = set(StudentRollup.objects.filter(school_year__lt=year).values_list("school_id", flat=True).distinct())
    ids |= set(ClassRollup.objects.filter(school_year__lt=year).values_list("school_id", flat=True).distinct())
    ids |= set(AssetRollup.objects.filter(year__lt=statistical_year(today)).values_list("school_id", flat=True)
               .distinct())
    return ids


def refresh_stale_years(today: dt.date | None = None) -> int:
    """Recompute the schools ``stale_schools`` finds; the number recomputed."""
    ids = stale_schools(today)
    if ids:
        recompute_schools(ids, today=today)
    return len(ids)


def _refresh_marked(school_ids: list[int]) -> int:
    """In the current transaction, with these schools' locks already held: read their marks,
    recompute the schools that still have one, delete exactly the marks read. A school without a
    mark left was refreshed by someone who read it after its commit — nothing to do. The number of
    schools recomputed."""
    marks: dict[int, list[int]] = {}
    for start in range(0, len(school_ids), CHUNK):
        for mark_id, school_id in DirtySchool.objects.filter(
                school_id__in=school_ids[start:start + CHUNK]).values_list("id", "school_id"):
            marks.setdefault(school_id, []).append(mark_id)
    if not marks:
        return 0
    recompute_schools(sorted(marks))
    _delete_marks([m for ids in marks.values() for m in ids])
    return len(marks)


def refresh_schools(school_ids: Iterable[int]) -> int:
    """Bring these schools' roll-ups up to date (the inline refresh after a commit): wait for each
    school's lock, then recompute those still marked. The number recomputed."""
    ids = sorted({int(i) for i in school_ids})
    if not ids:
        return 0
    with transaction.atomic():
        hold_rollups()
        lock_schools(ids)
        return _refresh_marked(ids)


def refresh_dirty_schools(school_ids: frozenset[int] | None) -> None:
    """After a commit (``history.services``): refresh the schools that commit marked, when they are
    few; a larger set (or one the writer could not name) goes to the worker. Never raises: the
    commit has happened, so a failure is logged, the schools stay marked and the worker retries."""
    try:
        if school_ids is None or len(school_ids) > INLINE_LIMIT:
            enqueue_worker()
            return
        refresh_schools(school_ids)
    except Exception:
        log.exception("roll-up refresh after commit failed for %s school(s); they stay marked for the worker",
                      "?" if school_ids is None else len(school_ids))
        enqueue_worker()


def enqueue_worker() -> None:
    """Ask the background worker to drain the dirty marks (``stats.tasks.refresh_rollups``)."""
    try:
        from eduplatform.stats.tasks import refresh_rollups

        refresh_rollups.enqueue()
    except Exception:
        log.exception("could not queue the roll-up worker; the marks stay until the next refresh")


def drain_dirty(*, batch: int = WORKER_BATCH, max_rounds: int | None = None) -> int:
    """The worker: claim marked schools in batches (those no one else is refreshing, oldest mark
    first), refresh each batch in a transaction of its own, until no mark is left. When every
    candidate is locked by another refresher, wait for them rather than spin. The number of
    schools recomputed."""
    done = rounds = 0
    while max_rounds is None or rounds < max_rounds:
        rounds += 1
        with transaction.atomic():
            hold_rollups()
            candidates = [r["school_id"] for r in DirtySchool.objects.values("school_id").annotate(
                first=Min("id")).order_by("first")[:batch]]
            if not candidates:
                break
            claimed = try_lock_schools(candidates)
            if not claimed:
                claimed = sorted(candidates)
                lock_schools(claimed)
            done += _refresh_marked(claimed)
    return done


def process_dirty() -> int:
    """Settle the roll-ups for a reader that copies them (a census snapshot): hold them still —
    the exclusive lock, kept to the end of the caller's transaction — then recompute every school
    still marked. The number of schools recomputed."""
    with transaction.atomic():
        hold_rollups(exclusive=True)
        ids = sorted(set(DirtySchool.objects.values_list("school_id", flat=True)))
        return _refresh_marked(ids) if ids else 0
