"""Completeness: required fields left empty, counted per school and field (one issue per school and
field, not one per record: a school that never filled 民族 has one thing to fix, not 2,000).

The record check (``record(ids)``) recounts the schools of those records, so a write that fills the
last empty field closes the school's issue at once. Its findings are about the school
(``orgs.organization``), whatever the type of the records written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from django.db.models import Count, Q, QuerySet

from eduplatform.assets.models import Equipment
from eduplatform.core.identity import RESIDENT_ID_CARD
from eduplatform.facilities.models import Building
from eduplatform.orgs.models import OrgKind
from eduplatform.quality import rules
from eduplatform.quality.checks.base import (
    SCHOOL,
    chunks,
    finding,
    in_scope,
    students_in_scope,
    units,
)
from eduplatform.quality.models import Database, Severity
from eduplatform.quality.rules import Finding, Rule, ScanScope
from eduplatform.staff.models import StaffMember
from eduplatform.stats.definitions import FULL_TIME_TEACHER
from eduplatform.students.models import Enrolment

# field → (its label, the condition of a record missing it)
STUDENT_FIELDS: dict[str, tuple[str, Q]] = {
    "ethnicity": ("民族", Q(student__ethnicity="")),
    "nationality": ("国籍/地区", Q(student__nationality="")),
    "id_number": ("身份证件号（证件类型为居民身份证）", Q(student__id_type=RESIDENT_ID_CARD, student__id_number_cipher="")),
    "home_address": ("现住址", Q(student__home_address="")),
    "guardians": ("家庭成员或监护人", Q(student__guardians=[])),
}
STAFF_FIELDS: dict[str, tuple[str, Q]] = {
    "ethnicity": ("民族", Q(ethnicity="")),
    "education_level": ("最高学历", Q(education_level="")),
    "post_category": ("岗位类别", Q(post_category="")),
    "establishment": ("编制情况", Q(establishment="")),
    "first_employed_on": ("参加工作年月", Q(first_employed_on__isnull=True)),
    "subjects": ("任教学科（专任教师）", Q(post_category=FULL_TIME_TEACHER, subjects="")),
    "teaching_stage": ("任课学段（专任教师）", Q(post_category=FULL_TIME_TEACHER, teaching_stage="")),
}
BUILDING_FIELDS: dict[str, tuple[str, Q]] = {
    "use_code": ("建筑物用途", Q(use_code="")),
    "structure": ("建筑结构", Q(structure="")),
    "property_right": ("产权", Q(property_right="")),
    "floors_above": ("地上层数", Q(floors_above__isnull=True)),
    "safety_inspection": ("安全排查结论", Q(safety_inspection="")),
    "seismic_category": ("抗震设防类别", Q(seismic_category="")),
}
EQUIPMENT_FIELDS: dict[str, tuple[str, Q]] = {
    "category": ("设备类别", Q(category="")),
    "funding_source": ("经费来源", Q(funding_source="")),
    "acquisition_mode": ("取得方式", Q(acquisition_mode="")),
    "use_direction": ("使用方向", Q(use_direction="")),
    "status": ("仪器现状", Q(status="")),
}


def _missing(code: str, qs: QuerySet, school_field: str, fields: dict[str, tuple[str, Q]], what: str,
             scope: ScanScope) -> Iterator[Finding]:
    qs = in_scope(qs, scope, school=school_field)
    if qs.model is Enrolment:
        qs = students_in_scope(qs, scope)
    counts = qs.values(school_field).annotate(
        total=Count("pk"), **{f"m_{f}": Count("pk", filter=cond) for f, (_label, cond) in fields.items()}).order_by()
    rows = list(counts)
    schools = units(r[school_field] for r in rows)
    for row in sorted(rows, key=lambda r: r[school_field]):
        school = schools[row[school_field]]
        for field, (label, _cond) in fields.items():
            missing = row[f"m_{field}"]
            if missing:
                yield finding(
                    code, school, SCHOOL, school.id, school.name,
                    f"「{school.name}」有 {missing} 条{what}（共 {row['total']} 条）未填写「{label}」，这是必填项。"
                    f"请在{what}中补录（列表可按“{label}”为空筛选）。",
                    fields=(field,), evidence={"field": field, "missing": missing, "total": row["total"]}, key=field)


def _recheck(code: str, model_qs: Callable[[], QuerySet], school_field: str, scan) -> Callable:
    """``record(ids)``: the rule rerun over the schools those records belong to."""

    def record(ids: Sequence[int]) -> Iterator[Finding]:
        schools: set[int] = set()
        for part in chunks(ids):
            schools |= set(model_qs().filter(pk__in=part).values_list(school_field, flat=True))
        if schools:
            yield from scan(ScanScope("", tuple(sorted(schools))))

    return record


def _students(scope: ScanScope) -> Iterator[Finding]:
    return _missing("S_REQUIRED_MISSING", Enrolment.objects.filter(is_active=True), "school_id", STUDENT_FIELDS,
                    "在读学生记录", scope)


def _student_schools(ids: Sequence[int]) -> Iterator[Finding]:
    schools: set[int] = set()
    for part in chunks(ids):
        schools |= set(Enrolment.objects.filter(student_id__in=part, is_active=True)
                       .values_list("school_id", flat=True))
    if schools:
        yield from _students(ScanScope("", tuple(sorted(schools))))


def _staff(scope: ScanScope) -> Iterator[Finding]:
    # Schools' staff: bureau staff (administrators) have no post category, subjects or teaching stage.
    return _missing("T_REQUIRED_MISSING", StaffMember.objects.filter(is_active=True, unit_kind=OrgKind.SCHOOL),
                    "unit_id", STAFF_FIELDS, "在岗教职工记录", scope)


def _buildings(scope: ScanScope) -> Iterator[Finding]:
    return _missing("F_REQUIRED_MISSING", Building.objects.filter(demolished_on__isnull=True), "school_id",
                    BUILDING_FIELDS, "校舍记录", scope)


def _equipment(scope: ScanScope) -> Iterator[Finding]:
    return _missing("A_REQUIRED_MISSING", Equipment.objects.filter(disposed_on__isnull=True), "school_id",
                    EQUIPMENT_FIELDS, "仪器设备台账记录", scope)


def _fields_text(fields: dict[str, tuple[str, Q]]) -> str:
    return "、".join(label for label, _ in fields.values())


S_REQUIRED_MISSING = rules.register(Rule(
    code="S_REQUIRED_MISSING", title="学生必填项缺失",
    description=f"在读学生的必填项（{_fields_text(STUDENT_FIELDS)}）为空的记录数，每校每个字段一条问题。",
    severity=Severity.WARNING, database=Database.STUDENTS, fields=tuple(STUDENT_FIELDS), kind="completeness",
    scan=_students, record=_student_schools, object_type="students.student",
))

T_REQUIRED_MISSING = rules.register(Rule(
    code="T_REQUIRED_MISSING", title="教职工必填项缺失",
    description=f"学校在岗教职工的必填项（{_fields_text(STAFF_FIELDS)}）为空的记录数，每校每个字段一条问题。",
    severity=Severity.WARNING, database=Database.STAFF, fields=tuple(STAFF_FIELDS), kind="completeness",
    scan=_staff, record=_recheck("T_REQUIRED_MISSING", lambda: StaffMember.objects.all(), "unit_id", _staff),
    object_type="staff.staffmember",
))

F_REQUIRED_MISSING = rules.register(Rule(
    code="F_REQUIRED_MISSING", title="校舍必填项缺失",
    description=f"未拆除校舍的必填项（{_fields_text(BUILDING_FIELDS)}）为空的记录数，每校每个字段一条问题。",
    severity=Severity.WARNING, database=Database.FACILITIES, fields=tuple(BUILDING_FIELDS), kind="completeness",
    scan=_buildings, record=_recheck("F_REQUIRED_MISSING", lambda: Building.objects.all(), "school_id", _buildings),
    object_type="facilities.building",
))

A_REQUIRED_MISSING = rules.register(Rule(
    code="A_REQUIRED_MISSING", title="仪器设备必填项缺失",
    description=f"在账仪器设备的必填项（{_fields_text(EQUIPMENT_FIELDS)}）为空的记录数，每校每个字段一条问题。",
    severity=Severity.WARNING, database=Database.ASSETS, fields=tuple(EQUIPMENT_FIELDS), kind="completeness",
    scan=_equipment,
    record=_recheck("A_REQUIRED_MISSING", lambda: Equipment.objects.all(), "school_id", _equipment),
    object_type="assets.equipment",
))
