"""Keeping the per-school roll-ups equal to the records.

One statement per table recomputes any set of schools: ``INSERT INTO rollup SELECT … GROUP BY``
over the raw records, built with the ORM so the same SQL runs on SQLite and PostgreSQL. The
incremental refresh (the schools marked dirty by a commit) and the full rebuild use exactly the same
statements, the rebuild just without a school filter — so they cannot disagree by construction of
two code paths, and a test checks that they do not disagree in fact.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import ExtractYear
from django.utils import timezone

from eduplatform.history.models import DirtySchool
from eduplatform.stats.models import BuildingRollup, ClassRollup, StaffRollup, StudentRollup

log = logging.getLogger(__name__)

# Above this many dirty schools (a region's promotion, a merger) the refresh goes to the worker
# instead of holding up the request that committed.
INLINE_LIMIT = 200
CHUNK = 500

# 基础基211–213 class-size bands: (label, lowest size); a class falls in the last band it reaches.
SIZE_BANDS: tuple[tuple[str, int], ...] = (
    ("≤25", 0), ("26-30", 26), ("31-35", 31), ("36-40", 36), ("41-45", 41), ("46-50", 46),
    ("51-55", 51), ("56-60", 56), ("61-65", 61), ("≥66", 66),
)
LARGE_BANDS = ("56-60", "61-65")  # 大班额
SUPER_LARGE_BANDS = ("≥66",)  # 超大班额

ETHNICITY_HAN = "01"
STUDENT_COLUMNS = ("school_id", "region_path", "stage", "grade", "gender", "cohort", "enrolled", "suspended",
                   "minority", "migrant", "left_behind", "disabled", "boarding", "new_entrants", "graduates",
                   "school_year")
CLASS_COLUMNS = ("school_id", "region_path", "stage", "school_year", "grade", "size_band", "classes", "students")
STAFF_COLUMNS = ("school_id", "region_path", "stage_mask", "post_category", "establishment", "gender", "education_level",
                 "title_grade", "teaching_stage", "birth_year", "staff", "backbone", "head_teachers", "dual_qualified",
                 "qualified")
ROLLUPS = (StudentRollup, ClassRollup, StaffRollup, BuildingRollup)


def school_year_of(day: dt.date) -> int:
    """2026-09-01 … 2027-08-31 is school year 2026."""
    return day.year if day.month >= 9 else day.year - 1


def _student_select(school_ids: list[int] | None, today: dt.date) -> QuerySet:
    from eduplatform.students.models import Enrolment, EnrolmentStatus

    year = school_year_of(today)
    year_start = dt.date(year, 9, 1)
    graduated = Q(status__in=[EnrolmentStatus.GRADUATED, EnrolmentStatus.COMPLETED], left_on__gte=year_start)
    active = Q(is_active=True)
    qs = Enrolment.objects.filter(active | graduated)
    if school_ids is not None:
        qs = qs.filter(school_id__in=school_ids)
    birth_year = ExtractYear("student__birth_date")
    return (
        qs.values("school_id", "region_path", "stage", "grade")
        .annotate(
            gender_=F("student__gender"),
            cohort=Case(When(student__birth_date__month__gte=9, then=birth_year + 1), default=birth_year,
                        output_field=IntegerField()),
        )
        .values("school_id", "region_path", "stage", "grade", "gender_", "cohort")
        .annotate(
            enrolled=Count("pk", filter=active),
            suspended=Count("pk", filter=active & Q(status=EnrolmentStatus.SUSPENDED)),
            minority=Count("pk", filter=active & ~Q(student__ethnicity__in=[ETHNICITY_HAN, ""])),
            migrant=Count("pk", filter=active & Q(student__migrant_child=True)),
            left_behind=Count("pk", filter=active & ~Q(student__left_behind__in=["0", ""])),
            disabled=Count("pk", filter=active & ~Q(student__disability_type="")),
            boarding=Count("pk", filter=active & Q(student__boarding_mode="2")),
            new_entrants=Count("pk", filter=active & Q(entered_on__gte=year_start)),
            graduates=Count("pk", filter=graduated),
            year=Value(year, output_field=IntegerField()),
        )
        .order_by()
    )


def _staff_select(school_ids: list[int] | None) -> QuerySet:
    """Schools' active staff (bureau staff are administrators, outside the schools' statistics)."""
    from eduplatform.orgs.models import OrgKind
    from eduplatform.staff.models import StaffMember

    qs = StaffMember.objects.filter(is_active=True, unit_kind=OrgKind.SCHOOL)
    if school_ids is not None:
        qs = qs.filter(unit_id__in=school_ids)
    dimensions = ("unit_id", "region_path", "stage_mask", "post_category", "establishment", "gender", "education_level",
                  "title_grade", "teaching_stage")
    return (
        qs.values(*dimensions).annotate(year=ExtractYear("birth_date")).values(*dimensions, "year")
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
                       d_grade_in_use=t.dangerous_in_use, rented_area=t.rented)
        for sid, t in totals.items()
    ], batch_size=2000)


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
        entry = totals.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += row["size"]
    ClassRollup.objects.bulk_create(
        [ClassRollup(**dict(zip(CLASS_COLUMNS, (*key, n, students), strict=True)))
         for key, (n, students) in totals.items()], batch_size=2000)


def recompute_schools(school_ids: Iterable[int] | None, *, today: dt.date | None = None) -> None:
    """Rewrite the roll-up rows of these schools (all schools for ``None``) from the records."""
    today = today or timezone.localdate()
    ids = None if school_ids is None else sorted({int(i) for i in school_ids})
    chunks = [None] if ids is None else [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
    with transaction.atomic():
        for chunk in chunks:
            for model in ROLLUPS:
                (model.objects.all() if chunk is None else model.objects.filter(school_id__in=chunk)).delete()
            insert_select(StudentRollup._meta.db_table, STUDENT_COLUMNS, _student_select(chunk, today))
            _recompute_classes(chunk, today)
            insert_select(StaffRollup._meta.db_table, STAFF_COLUMNS, _staff_select(chunk))
            _recompute_buildings(chunk)


def rebuild_all(*, today: dt.date | None = None) -> None:
    """Every roll-up row from scratch; the dirty list is cleared of what this covered."""
    started = timezone.now()
    recompute_schools(None, today=today)
    DirtySchool.objects.filter(marked_at__lte=started).delete()


def refresh_dirty_schools() -> None:
    """After a commit: recompute the schools marked dirty (in the worker when there are many)."""
    pending = list(DirtySchool.objects.values_list("school_id", "marked_at")[: INLINE_LIMIT + 1])
    if not pending:
        return
    if len(pending) > INLINE_LIMIT:
        from eduplatform.stats.tasks import refresh_rollups

        refresh_rollups.enqueue()
        return
    process_dirty(pending)


def process_dirty(pending: list[tuple[int, dt.datetime]] | None = None) -> int:
    """Recompute dirty schools; a mark made again while this ran stays for the next round."""
    if pending is None:
        pending = list(DirtySchool.objects.values_list("school_id", "marked_at"))
    if not pending:
        return 0
    with transaction.atomic():
        recompute_schools([sid for sid, _ in pending])
        # Only the marks this run covered: a school marked again meanwhile has a later marked_at.
        for start in range(0, len(pending), CHUNK):
            part = pending[start:start + CHUNK]
            DirtySchool.objects.filter(school_id__in=[sid for sid, _ in part]).filter(
                _marks_of(part)).delete()
    return len(pending)


def _marks_of(pending: list[tuple[int, dt.datetime]]) -> Q:
    q = Q()
    for sid, marked_at in pending:
        q |= Q(school_id=sid, marked_at=marked_at)
    return q
