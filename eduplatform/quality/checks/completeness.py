"""Completeness: required fields (``quality.required``, the definition the progress figure uses
too) left empty, counted per school and field (one issue per school and
field, not one per record: a school that never filled 民族 has one thing to fix, not 2,000).

The record check (``record(ids)``) recounts the schools of those records, so a write that fills the
last empty field closes the school's issue at once. Its findings are about the school
(``orgs.organization``), whatever the type of the records written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from django.db import connection
from django.db.models import Count, QuerySet
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from eduplatform.assets.models import Equipment
from eduplatform.facilities.models import Building
from eduplatform.quality import required, rules
from eduplatform.quality.checks.base import (
    SCHOOL,
    chunks,
    finding,
    in_scope,
    region_units,
    students_in_scope,
    units,
)
from eduplatform.quality.models import Database, Severity
from eduplatform.quality.rules import Finding, Rule, ScanScope
from eduplatform.staff.models import StaffMember
from eduplatform.students.models import Enrolment


def _missing(code: str, database: str, what: str, scope: ScanScope) -> Iterator[Finding]:
    """Per school of the scope, how many of its records lack each required field: one aggregate
    over the incomplete records only (``required.missing``, read through the partial index)."""
    school_field = required.school_field(database)
    fields = required.REQUIRED[database]
    qs = in_scope(required.records(database), scope, school=school_field)
    if qs.model is Enrolment:
        qs = students_in_scope(qs, scope)
    listed = region_units(scope) if connection.vendor == "postgresql" else None
    if listed is not None:
        # The incomplete records' partial indexes are keyed by school: a county's schools as a list
        # make them an index condition. Filtered on the region path alone, the county's 1,600
        # incomplete pupils were found among the province's 55,000 by reading each one's row (0.3 s
        # warm, 7.7 s from disk).
        student_school = "student__school_id" if qs.model is Enrolment else school_field
        qs = qs.filter(**{f"{student_school}__in": listed})
    incomplete = list(qs.filter(required.missing(database)).values(school_field).annotate(
        **{f"m_{f.name}": Count("pk", filter=f.missing) for f in fields}).order_by())
    if not incomplete:
        return
    ids = [r[school_field] for r in incomplete]
    # The totals of those schools only; past a thousand (a region's scan), of the scope (one pass
    # either way, and no statement with tens of thousands of parameters).
    # Counted on the records' own table alone (every enrolment has its student: the join to the
    # students, needed above for their fields, would read the county's pupils again), and by school
    # alone when the schools are few — they are the scope's: with the region's path as well, the
    # planner read a county's enrolments by scanning the register's (9 s instead of 0.2 s).
    counted = (in_scope(required.records(database), scope, school=school_field) if len(ids) > 1000
               else required.records(database).filter(**{f"{school_field}__in": ids}))
    # count(*), not count(id): the id is not in the (school, is_active) index, and with it the planner scans.
    totals = dict(counted.values(school_field).annotate(n=Count("*")).order_by().values_list(school_field, "n"))
    schools = units(r[school_field] for r in incomplete)
    for row in sorted(incomplete, key=lambda r: r[school_field]):
        school = schools[row[school_field]]
        row["total"] = totals.get(row[school_field], 0)
        for f in fields:
            field, label = f.name, str(f.label)
            missing = row[f"m_{field}"]
            if missing:
                yield finding(
                    code, school, SCHOOL, school.id, school.name,
                    f"「{school.name}」有 {missing} 条{what}（共 {row['total']} 条）未填写「{label}」，这是必填项。"
                    f"请在{what}中补录（列表可按“{label}”为空筛选）。",
                    fields=(field,), evidence={"field": field, "missing": missing, "total": row["total"]}, key=field)


def _recheck(model_qs: Callable[[], QuerySet], school_field: str, scan) -> Callable:
    """``record(ids)``: the rule rerun over the schools those records belong to."""

    def record(ids: Sequence[int]) -> Iterator[Finding]:
        schools: set[int] = set()
        for part in chunks(ids):
            schools |= set(model_qs().filter(pk__in=part).values_list(school_field, flat=True))
        if schools:
            yield from scan(ScanScope("", tuple(sorted(schools))))

    return record


def _students(scope: ScanScope) -> Iterator[Finding]:
    return _missing("S_REQUIRED_MISSING", Database.STUDENTS, "在读学生记录", scope)


def _student_schools(ids: Sequence[int]) -> Iterator[Finding]:
    schools: set[int] = set()
    for part in chunks(ids):
        schools |= set(Enrolment.objects.filter(student_id__in=part, is_active=True)
                       .values_list("school_id", flat=True))
    if schools:
        yield from _students(ScanScope("", tuple(sorted(schools))))


def _staff(scope: ScanScope) -> Iterator[Finding]:
    # Schools' staff in headcount posts: bureau staff (administrators) have no subjects or teaching stage.
    return _missing("T_REQUIRED_MISSING", Database.STAFF, "在岗教职工记录", scope)


def _buildings(scope: ScanScope) -> Iterator[Finding]:
    return _missing("F_REQUIRED_MISSING", Database.FACILITIES, "校舍记录", scope)


def _equipment(scope: ScanScope) -> Iterator[Finding]:
    return _missing("A_REQUIRED_MISSING", Database.ASSETS, "仪器设备台账记录", scope)


def _fields_text(database: str) -> str:
    return "、".join(str(f.label) for f in required.REQUIRED[database])


# Read when shown, in the language of the page (the labels are lazy translations).
_fields_text_lazy = lazy(_fields_text, str)


def _field_names(database: str) -> tuple[str, ...]:
    return tuple(f.name for f in required.REQUIRED[database])


S_REQUIRED_MISSING = rules.register(Rule(
    code="S_REQUIRED_MISSING", title=gettext_lazy("学生必填项缺失"),
    description=format_lazy(gettext_lazy("在读学生的必填项（{value}）为空的记录数，每校每个字段一条问题。"), value=_fields_text_lazy(Database.STUDENTS)),
    severity=Severity.WARNING, database=Database.STUDENTS, fields=_field_names(Database.STUDENTS), kind="completeness",
    scan=_students, record=_student_schools, object_type="students.student",
))

T_REQUIRED_MISSING = rules.register(Rule(
    code="T_REQUIRED_MISSING", title=gettext_lazy("教职工必填项缺失"),
    description=format_lazy(gettext_lazy("学校在岗教职工的必填项（{value}）为空的记录数，每校每个字段一条问题。"), value=_fields_text_lazy(Database.STAFF)),
    severity=Severity.WARNING, database=Database.STAFF, fields=_field_names(Database.STAFF), kind="completeness",
    scan=_staff, record=_recheck(lambda: StaffMember.objects.all(), "unit_id", _staff),
    object_type="staff.staffmember",
))

F_REQUIRED_MISSING = rules.register(Rule(
    code="F_REQUIRED_MISSING", title=gettext_lazy("校舍必填项缺失"),
    description=format_lazy(gettext_lazy("未拆除校舍的必填项（{value}）为空的记录数，每校每个字段一条问题。"), value=_fields_text_lazy(Database.FACILITIES)),
    severity=Severity.WARNING, database=Database.FACILITIES, fields=_field_names(Database.FACILITIES), kind="completeness",
    scan=_buildings, record=_recheck(lambda: Building.objects.all(), "school_id", _buildings),
    object_type="facilities.building",
))

A_REQUIRED_MISSING = rules.register(Rule(
    code="A_REQUIRED_MISSING", title=gettext_lazy("仪器设备必填项缺失"),
    description=format_lazy(gettext_lazy("在账仪器设备的必填项（{value}）为空的记录数，每校每个字段一条问题。"), value=_fields_text_lazy(Database.ASSETS)),
    severity=Severity.WARNING, database=Database.ASSETS, fields=_field_names(Database.ASSETS), kind="completeness",
    scan=_equipment,
    record=_recheck(lambda: Equipment.objects.all(), "school_id", _equipment),
    object_type="assets.equipment",
))
