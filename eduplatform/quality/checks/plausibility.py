"""Plausibility rules: values each allowed on its own that cannot all be true — a pupil's age for the
grade, a teacher under 18 or long past retirement, a class of 66 or more or of nobody, a school with
pupils and no teachers (or the reverse), floor area or equipment per pupil far from the county's
schools of the same type, a 危房 still in use.

School-level rules read the per-school roll-ups (``stats.models``), which the platform keeps in step
with the records: a county's rules read a few hundred rows.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import Q, Sum
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from eduplatform.facilities.models import Building
from eduplatform.quality import rules
from eduplatform.quality.checks.base import (
    BUILDING,
    CLASS,
    PUPIL_BIRTH,
    PUPIL_DISABILITY,
    PUPIL_GRADE,
    PUPIL_ID,
    PUPIL_SCHOOL,
    SCHOOL,
    STAFF,
    STUDENT,
    School,
    as_date,
    chunks,
    fetch,
    finding,
    in_scope,
    robust_outliers,
    schools_in,
    scope_pupils,
    sql_scope,
    staff_label,
    student_label,
    today,
    units,
)
from eduplatform.quality.models import Database, Severity
from eduplatform.quality.rules import Finding, Rule, ScanScope
from eduplatform.staff.models import StaffMember, StaffStatus
from eduplatform.stats.definitions import (
    FULL_TIME_TEACHER,
    SUPER_LARGE_BANDS,
    SUPER_LARGE_CLASS_SIZE,
)
from eduplatform.stats.models import AssetRollup, BuildingRollup, StaffRollup, StudentRollup
from eduplatform.students.grades import BY_CODE
from eduplatform.students.models import Enrolment, Student

AGE_FILE = Path(settings.BASE_DIR) / "data" / "quality" / "age_for_grade.csv"


def school_year(day: dt.date | None = None) -> int:
    day = day or today()
    return day.year if day.month >= 9 else day.year - 1


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --------------------------------------------------------------------------------------------
# Age for grade


@lru_cache(maxsize=1)
def age_bands() -> dict[str, tuple[int, int, int]]:
    """grade code → (typical age, lowest and highest age without a warning), from data/quality."""
    with AGE_FILE.open(encoding="utf-8") as f:
        return {r["grade"]: (int(r["typical_age"]), int(r["warn_below"]), int(r["warn_above"]))
                for r in csv.DictReader(f)}


def _birth_window(year: int, low: int, high: int) -> tuple[dt.date, dt.date]:
    """Births whose age on 31 August of ``year`` (the statistics' 周岁 at the start of the school
    year, DOMAIN §5.1) lies in [low, high]: from 1 September of year − high − 1 to 31 August of
    year − low."""
    return dt.date(year - high - 1, 9, 1), dt.date(year - low, 8, 31)


def _age_rows(ids: Sequence[int]) -> list[tuple]:
    """(student id, school id, grade, name, 学籍号, birth date) of the active pupils among ``ids``
    whose age is outside their grade's band."""
    year = school_year()
    outside = Q()
    for code, (_typical, low, high) in age_bands().items():
        first, last = _birth_window(year, low, high)
        outside |= Q(grade=code) & (Q(student__birth_date__lt=first) | Q(student__birth_date__gt=last))
    base = (Enrolment.objects.filter(is_active=True).filter(outside)
            .filter(student__disability_type=""))  # 随班就读 pupils with a disability are exempt, as special education
    fields = ("student_id", "school_id", "grade", "student__name", "student__student_number", "student__birth_date")
    return [row for part in chunks(ids) for row in base.filter(student_id__in=part).values_list(*fields)]


def _age_rows_in_scope(scope: ScanScope) -> list[tuple]:
    """The same rows for a scope, judged on the scan's one read of its pupils (``scope_pupils``,
    shared with the ID rules): the names and numbers only of those found."""
    year = school_year()
    windows = {code: _birth_window(year, low, high) for code, (_typical, low, high) in age_bands().items()}
    found = []
    for row in scope_pupils(scope):
        window = windows.get(row[PUPIL_GRADE])
        birth = row[PUPIL_BIRTH]
        if window is None or birth is None or row[PUPIL_DISABILITY]:
            continue  # a grade without a band (special education, 中职, higher), or a pupil with a disability
        if type(birth) is str:  # SQLite
            birth = as_date(birth)
        if birth < window[0] or birth > window[1]:
            found.append((row[PUPIL_ID], row[PUPIL_SCHOOL], row[PUPIL_GRADE], birth))
    names = {}
    for part in chunks([r[0] for r in found]):
        names.update((pk, (name, number)) for pk, name, number in
                     Student.objects.filter(pk__in=part).values_list("pk", "name", "student_number"))
    return [(sid, school_id, grade, *names[sid], birth) for sid, school_id, grade, birth in found]


def _age_findings(rows: list[tuple]) -> Iterator[Finding]:
    year = school_year()
    schools = units(r[1] for r in rows)
    bands = age_bands()
    for sid, school_id, grade, name, number, birth in rows:
        birth = as_date(birth)
        age = year - birth.year - (1 if birth.month >= 9 else 0)
        typical, low, high = bands[grade]
        grade_name = BY_CODE[grade].name
        yield finding(
            "S_AGE_GRADE", schools[school_id], STUDENT, sid, student_label(name, number),
            f"学生{name}在读{grade_name}，按出生日期 {birth:%Y-%m-%d} 计，{year}年8月31日满 {age} 周岁；"
            f"{grade_name}的典型年龄为 {typical} 周岁，通常在 {low}–{high} 周岁之间。"
            "请核对出生日期和年级；确属超龄或低龄入学的，请说明原因。",
            fields=("birth_date", "grade"), evidence={"grade": grade, "age": age, "allowed": [low, high]})


S_AGE_GRADE = rules.register(Rule(
    code="S_AGE_GRADE", title=gettext_lazy("学生年龄与年级不符"),
    description=(
        gettext_lazy("学前、小学、初中、高中在读学生，按出生日期计算学年初（8月31日）的周岁，与所在年级的典型年龄"
        "（小一 6 岁 … 初一 12 岁 … 高一 15 岁，幼儿园小班 3 岁）相差小于 −1 或大于 +2 岁时提示。"
        "特殊教育、中职、高等教育学生以及登记了残疾类型的随班就读学生不检查。")),
    severity=Severity.WARNING, database=Database.STUDENTS, fields=("birth_date", "grade"), kind="plausibility",
    scan=lambda scope: _age_findings(_age_rows_in_scope(scope)),
    record=lambda ids: _age_findings(_age_rows(ids)),
    object_type=STUDENT, work="python",
))


# --------------------------------------------------------------------------------------------
# Staff age

ADULT = 18
RETIREMENT_AGE = {"1": 63, "2": 58}  # the final ages of the 2024 reform (男 63, 女干部 58); flagged when older


def _staff_age_rows(scope: ScanScope | None, ids: Sequence[int] = ()) -> list[tuple]:
    day = today()
    too_young = Q(birth_date__gt=_years_before(day, ADULT))
    too_old = ~Q(status=StaffStatus.EXTENDED) & (
        Q(gender="1", birth_date__lte=_years_before(day, RETIREMENT_AGE["1"] + 1))
        | Q(gender="2", birth_date__lte=_years_before(day, RETIREMENT_AGE["2"] + 1)))
    base = StaffMember.objects.filter(is_active=True).filter(too_young | too_old)
    fields = ("pk", "unit_id", "name", "staff_number", "gender", "birth_date", "post_category")
    if scope is not None:
        return list(in_scope(base, scope, school="unit_id").values_list(*fields))
    return [row for part in chunks(ids) for row in base.filter(pk__in=part).values_list(*fields)]


def _staff_age_findings(rows: list[tuple]) -> Iterator[Finding]:
    day = today()
    schools = units(r[1] for r in rows)
    for pk, unit_id, name, number, gender, birth, _post in rows:
        birth = as_date(birth)
        age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
        if age < ADULT:
            yield finding(
                "T_AGE", schools[unit_id], STAFF, pk, staff_label(name, number),
                f"教职工{name}按出生日期 {birth:%Y-%m-%d} 计现年 {age} 周岁，未满 18 周岁不能在岗任职"
                "（劳动法、教师法）。请核对出生日期和身份证件号。",
                fields=("birth_date",), evidence={"age": age, "minimum": ADULT}, key="under_18")
        else:
            limit = RETIREMENT_AGE.get(gender, RETIREMENT_AGE["1"])
            yield finding(
                "T_AGE", schools[unit_id], STAFF, pk, staff_label(name, number),
                f"教职工{name}按出生日期 {birth:%Y-%m-%d} 计现年 {age} 周岁，已超过法定退休年龄"
                f"（渐进式延迟退休改革后的上限：男 {RETIREMENT_AGE['1']} 岁、女 {RETIREMENT_AGE['2']} 岁），"
                "仍登记为在岗。已退休的请办理退休；确系延聘的，请将当前状态改为“延聘”。",
                fields=("birth_date", "status"),
                evidence={"age": age, "limit": limit, "severity": Severity.WARNING.value}, key="retirement")


T_AGE = rules.register(Rule(
    code="T_AGE", title=gettext_lazy("教职工年龄不合理"),
    description=(
        gettext_lazy("在岗教职工未满 18 周岁为错误；超过法定退休年龄仍在岗（当前状态不是“延聘”）为警告"
        "（该条问题的 evidence.severity 为 warning）。退休年龄取《关于实施渐进式延迟法定退休年龄的决定》（2024）"
        "改革完成后的上限：男 63 周岁、女 58 周岁，年满上限后再过一岁（男 64、女 59 周岁及以上）仍在岗的才提示，只提示确已超龄者。")),
    severity=Severity.ERROR, database=Database.STAFF, fields=("birth_date", "status"), kind="plausibility",
    scan=lambda scope: _staff_age_findings(_staff_age_rows(scope)),
    record=lambda ids: _staff_age_findings(_staff_age_rows(None, ids)),
    object_type=STAFF,
))


# --------------------------------------------------------------------------------------------
# Class size

OVERSIZED = SUPER_LARGE_CLASS_SIZE  # 超大班额: 66 pupils and more (DOMAIN §3), the statistics' band


def _class_findings(scope: ScanScope) -> Iterator[Finding]:
    where_c, params_c = sql_scope(scope, "c")
    rows = []
    # The candidate schools a chunk at a time: a province scan may name tens of thousands, more
    # than one statement's parameters (65,535 on PostgreSQL, 32,766 on SQLite) can hold.
    for part in chunks(_class_candidates(scope)):
        listed = ", ".join(["%s"] * len(part))
        rows += fetch(
            "SELECT c.id, c.school_id, c.name, c.grade, COALESCE(n.size, 0) FROM students_schoolclass c "  # noqa: S608
            "LEFT JOIN (SELECT e.school_class_id AS class_id, count(*) AS size FROM students_enrolment e "
            f"WHERE e.is_active AND e.school_class_id IS NOT NULL AND e.school_id IN ({listed}) "
            "GROUP BY e.school_class_id) n "
            f"ON n.class_id = c.id WHERE c.school_year = %s AND {where_c} AND c.school_id IN ({listed}) "
            "AND (n.size IS NULL OR n.size >= %s)",
            [*part, school_year(), *params_c, *part, OVERSIZED])
    schools = units(r[1] for r in rows)
    for cid, school_id, name, grade, size in rows:
        if size:
            message = (f"班级「{name}」有在读学生 {size} 人，达到超大班额（{OVERSIZED} 人及以上）。"
                       "请核对学生分班；确属超大班额的，请说明并按计划消除。")
        else:
            message = (f"班级「{name}」（{BY_CODE[grade].name if grade in BY_CODE else grade}）本学年没有在读学生。"
                       "请将学生分入该班，或撤销这个空班级。")
        yield finding("C_CLASS_SIZE", schools[school_id], CLASS, cid, name, message, fields=("size",),
                      evidence={"size": size, "limit": OVERSIZED}, key="oversized" if size else "empty")


def _class_candidates(scope: ScanScope) -> list[int]:
    """The scope's schools that may hold an oversized or an empty class this school year, from the
    class roll-ups (``stats.rollup``, kept with the records): a school none of whose classes is in
    the 超大班额 band and whose classes all have pupils (as many classes rolled up as it has) has
    nothing to find, and its pupils need not be counted class by class. A school whose roll-up is
    marked for recomputing, or was computed in another school year, is counted as well.

    Counting every class of a county from its 800,000 enrolments took 1.3 s (5.2 s from disk); the
    roll-ups of its 700 schools are a few thousand rows."""
    year = school_year()
    where_c, params_c = sql_scope(scope, "c")
    where_r, params_r = sql_scope(scope, "r")
    where_d, params_d = sql_scope(scope, "o", school="id")
    bands = ", ".join(["%s"] * len(SUPER_LARGE_BANDS))
    rows = fetch(
        "SELECT c.school_id FROM (SELECT c.school_id, count(*) AS n FROM students_schoolclass c "  # noqa: S608
        f"WHERE c.school_year = %s AND {where_c} GROUP BY c.school_id) c "
        "LEFT JOIN (SELECT r.school_id, sum(r.classes) AS n, "
        f"max(CASE WHEN r.size_band IN ({bands}) THEN 1 ELSE 0 END) AS oversized FROM stats_classrollup r "
        f"WHERE r.school_year = %s AND {where_r} GROUP BY r.school_id) r ON r.school_id = c.school_id "
        "WHERE r.n IS NULL OR r.n <> c.n OR r.oversized = 1 "
        "UNION SELECT d.school_id FROM history_dirtyschool d JOIN orgs_organization o ON o.id = d.school_id "
        f"WHERE {where_d}",
        [year, *params_c, *SUPER_LARGE_BANDS, year, *params_r, *params_d])
    return sorted({r[0] for r in rows})


C_CLASS_SIZE = rules.register(Rule(
    code="C_CLASS_SIZE", title=gettext_lazy("班额超标或空班"),
    description=(
        gettext_lazy("本学年的班级按在读（含休学）学生计算班额：66 人及以上（超大班额）或没有学生的班级提示。")),
    severity=Severity.WARNING, database=Database.STUDENTS, fields=("size",), kind="plausibility",
    scan=_class_findings,
))


# --------------------------------------------------------------------------------------------
# Schools: teachers and students


def students_by_school(scope: ScanScope) -> dict[int, int]:
    qs = in_scope(StudentRollup.objects.filter(school_year=school_year()), scope)
    return {k: int(v or 0) for k, v in qs.values_list("school_id").annotate(n=Sum("enrolled")).order_by()}


def staff_by_school(scope: ScanScope) -> dict[int, tuple[int, int]]:
    """school → (everyone in post, full-time teachers)."""
    qs = in_scope(StaffRollup.objects.all(), scope)
    rows = qs.values_list("school_id").annotate(
        n=Sum("staff"), t=Sum("staff", filter=Q(post_category=FULL_TIME_TEACHER))).order_by()
    return {k: (int(n or 0), int(t or 0)) for k, n, t in rows}


def _no_teacher_findings(scope: ScanScope) -> Iterator[Finding]:
    schools = schools_in(scope)
    students, staff = students_by_school(scope), staff_by_school(scope)
    for sid, n in sorted(students.items()):
        if n > 0 and staff.get(sid, (0, 0))[1] == 0 and sid in schools:
            everyone = staff.get(sid, (0, 0))[0]
            yield finding(
                "O_NO_TEACHERS", schools[sid], SCHOOL, sid, schools[sid].name,
                f"「{schools[sid].name}」有在校生 {n} 人，但教职工库中没有在岗的专任教师"
                f"（在岗教职工 {everyone} 人）。请补录专任教师，或核对岗位类别；学校已停办的请核对学生学籍。",
                fields=("post_category",), evidence={"students": n, "staff": everyone, "teachers": 0})


O_NO_TEACHERS = rules.register(Rule(
    code="O_NO_TEACHERS", title=gettext_lazy("有学生无专任教师"),
    description=gettext_lazy("学校有在校生（学生汇总），但没有岗位类别为专任教师的在岗教职工（教职工汇总）。"),
    severity=Severity.ERROR, database=Database.SCHOOLS, fields=("post_category",), kind="plausibility",
    scan=_no_teacher_findings,
))


def _no_student_findings(scope: ScanScope) -> Iterator[Finding]:
    schools = schools_in(scope)
    students, staff = students_by_school(scope), staff_by_school(scope)
    for sid, (everyone, teachers) in sorted(staff.items()):
        if everyone > 0 and students.get(sid, 0) == 0 and sid in schools:
            yield finding(
                "O_NO_STUDENTS", schools[sid], SCHOOL, sid, schools[sid].name,
                f"「{schools[sid].name}」有在岗教职工 {everyone} 人（其中专任教师 {teachers} 人），但学生库中没有在校生："
                "疑似空壳学校，或学生尚未录入。请录入学生学籍；已停止招生、无在校生的，请说明。",
                fields=("students",), evidence={"students": 0, "staff": everyone, "teachers": teachers})


O_NO_STUDENTS = rules.register(Rule(
    code="O_NO_STUDENTS", title=gettext_lazy("有教职工无学生（空壳学校）"),
    description=gettext_lazy("学校有在岗教职工（教职工汇总），但没有在校生（学生汇总）：空壳学校，或学生数据未录入。"),
    severity=Severity.WARNING, database=Database.SCHOOLS, fields=("students",), kind="plausibility",
    scan=_no_student_findings,
))


# --------------------------------------------------------------------------------------------
# Robust outliers among the county's schools of the same type


def peer_scope(scope: ScanScope) -> list[ScanScope]:
    """The whole counties the scope's schools belong to: peers are compared county-wide."""
    if scope.school_ids is None and len(scope.region_path) <= 15:
        return [ScanScope(scope.region_path)]
    counties = sorted({s.county for s in schools_in(scope).values()})
    return [ScanScope(c) for c in counties]


def _ratio_outliers(code: str, scope: ScanScope, numerator, what: str, unit: str, field: str,
                    describe) -> Iterator[Finding]:
    wanted = schools_in(scope)
    for peers in peer_scope(scope):
        schools = schools_in(peers)
        students = students_by_school(peers)
        values = numerator(peers)
        groups: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
        for sid, value in values.items():
            n = students.get(sid, 0)
            if sid in schools and n > 0 and value > 0:
                groups[(schools[sid].county, schools[sid].type_code)][sid] = float(value) / n
        for group in groups.values():
            for sid, (value, median, score) in sorted(robust_outliers(group).items()):
                if sid not in wanted:
                    continue
                direction = "远高于" if score > 0 else "远低于"
                yield finding(
                    code, schools[sid], SCHOOL, sid, schools[sid].name,
                    f"「{schools[sid].name}」生均{what} {value:,.1f} {unit}，{direction}本县同类学校"
                    f"（{len(group)} 所）的中位数 {median:,.1f} {unit}。{describe}",
                    fields=(field,), evidence={"value": round(value, 2), "median": round(median, 2),
                                               "peers": len(group), "score": round(score, 2)})


def _floor_area(scope: ScanScope) -> dict[int, Decimal]:
    return dict(in_scope(BuildingRollup.objects.all(), scope).values_list("school_id", "total_area"))


def _equipment_value(scope: ScanScope) -> dict[int, Decimal]:
    return dict(in_scope(AssetRollup.objects.filter(has_holdings=True), scope)
                .values_list("school_id", "teaching_equipment_value"))


OUTLIER_METHOD = (
    gettext_lazy("同一县（区）、同一办学类型、有在校生且数值大于零的学校不少于 5 所时才比较：对生均值取对数，"
    "计算中位数和绝对中位差（MAD），修正 z 分数 0.6745 ×（x − 中位数）÷ MAD 的绝对值大于 3.5 时提示"
    "（Iglewicz–Hoaglin 稳健离群值检验；MAD 不小于 0.05，避免同类学校几乎相同时把小差异当作异常）。"))

O_AREA_OUTLIER = rules.register(Rule(
    code="O_AREA_OUTLIER", title=gettext_lazy("生均校舍面积异常"),
    description=format_lazy("{}{}", gettext_lazy("生均校舍建筑面积（校舍汇总 ÷ 在校生）与本县同类学校相比明显偏高或偏低。"), OUTLIER_METHOD),
    severity=Severity.WARNING, database=Database.FACILITIES, fields=("total_area",), kind="plausibility",
    scan=lambda scope: _ratio_outliers("O_AREA_OUTLIER", scope, _floor_area, "校舍建筑面积", "㎡", "total_area",
                                       "请核对校舍面积（是否漏报、重复或单位错误）和在校生数。"),
))

O_EQUIPMENT_OUTLIER = rules.register(Rule(
    code="O_EQUIPMENT_OUTLIER", title=gettext_lazy("生均教学仪器设备值异常"),
    description=format_lazy("{}{}", gettext_lazy("生均教学仪器设备资产值（资产汇总 ÷ 在校生）与本县同类学校相比明显偏高或偏低。"), OUTLIER_METHOD),
    severity=Severity.WARNING, database=Database.ASSETS, fields=("teaching_equipment_value",), kind="plausibility",
    scan=lambda scope: _ratio_outliers("O_EQUIPMENT_OUTLIER", scope, _equipment_value, "教学仪器设备值", "元",
                                       "teaching_equipment_value",
                                       "请核对教学仪器设备资产值（单位应为元）和在校生数。"),
))


# --------------------------------------------------------------------------------------------
# 危房 in use

DANGEROUS_CONDITIONS = ("20", "23", "24")  # 危房 (grade not given), C 级 局部危房, D 级 整幢危房
_GRADE = {"20": "危房", "23": "C级危房（局部危房）", "24": "D级危房（整幢危房）"}


def _dangerous_rows(scope: ScanScope | None, ids: Sequence[int] = ()) -> list[tuple]:
    base = Building.objects.filter(demolished_on__isnull=True, in_use=True, condition__in=DANGEROUS_CONDITIONS)
    fields = ("pk", "school_id", "name", "number", "condition", "total_area")
    if scope is not None:
        return list(in_scope(base, scope).values_list(*fields))
    return [row for part in chunks(ids) for row in base.filter(pk__in=part).values_list(*fields)]


def _dangerous_findings(rows: list[tuple]) -> Iterator[Finding]:
    schools = units(r[1] for r in rows)
    for pk, school_id, name, number, condition, area in rows:
        yield finding(
            "F_DANGEROUS_IN_USE", schools[school_id], BUILDING, pk, f"{name}（{number}）",
            f"校舍「{name}」（编号 {number}，{area} ㎡）鉴定为{_GRADE[condition]}，仍登记为在用。"
            "C、D 级危房须停止使用并加固或拆除；已停用的请将“在用”改为否，已拆除的请登记拆除日期。",
            fields=("condition", "in_use"), evidence={"condition": condition, "in_use": True})


F_DANGEROUS_IN_USE = rules.register(Rule(
    code="F_DANGEROUS_IN_USE", title=gettext_lazy("危房仍在使用"),
    description=(
        gettext_lazy("未拆除的校舍，建筑物状况为危房（20）、C 级（23）或 D 级（24）危房（JGJ 125），却登记为在用。"
        "A、B 级（结构基本安全、可正常使用）不在此列。")),
    severity=Severity.ERROR, database=Database.FACILITIES, fields=("condition", "in_use"), kind="plausibility",
    scan=lambda scope: _dangerous_findings(_dangerous_rows(scope)),
    record=lambda ids: _dangerous_findings(_dangerous_rows(None, ids)),
    object_type=BUILDING,
))

__all__ = ["School", "school_year"]
