"""Cross-record consistency (what no national system checks): a school's students against its
classes, its teachers against its classes, its students against its floor area — each database
plausible alone, the combination not. Read from the per-school roll-ups and the class table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, Sum
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from eduplatform.orgs.stages import Stage
from eduplatform.quality import rules
from eduplatform.quality.checks.base import SCHOOL, finding, in_scope, robust_outliers, schools_in
from eduplatform.quality.checks.plausibility import (
    OUTLIER_METHOD,
    OVERSIZED,
    peer_scope,
    school_year,
    staff_by_school,
    students_by_school,
)
from eduplatform.quality.models import Database, Severity
from eduplatform.quality.rules import Finding, Rule, ScanScope
from eduplatform.stats.models import BuildingRollup, StudentRollup
from eduplatform.students.grades import BY_CODE
from eduplatform.students.models import SchoolClass

# Stages taught in classes of one grade (vocational and higher education are taught by programme).
CLASS_STAGES = (int(Stage.PRESCHOOL), int(Stage.PRIMARY), int(Stage.JUNIOR), int(Stage.SENIOR))


def _classes(scope: ScanScope) -> dict[tuple[int, str], int]:
    qs = in_scope(SchoolClass.objects.filter(school_year=school_year()), scope)
    return {(s, g): n for s, g, n in qs.values_list("school_id", "grade").annotate(n=Count("pk")).order_by()}


def _class_grade_findings(scope: ScanScope) -> Iterator[Finding]:
    schools = schools_in(scope)
    qs = in_scope(StudentRollup.objects.filter(school_year=school_year(), stage__in=CLASS_STAGES), scope)
    students = {(s, g): int(n or 0) for s, g, n in
                qs.values_list("school_id", "grade").annotate(n=Sum("enrolled")).order_by()}
    classes = _classes(scope)
    for (sid, grade), n in sorted(students.items()):
        if sid not in schools or n <= 0:
            continue
        k = classes.get((sid, grade), 0)
        name = BY_CODE[grade].name if grade in BY_CODE else grade
        school = schools[sid]
        if k == 0:
            message = (f"「{school.name}」{name}有在读学生 {n} 人，但本学年没有{name}的班级。"
                       "请建立班级并分班，或核对学生的年级。")
        elif n / k >= OVERSIZED:
            message = (f"「{school.name}」{name}有在读学生 {n} 人，只有 {k} 个班，平均每班 {n / k:.0f} 人"
                       f"（超大班额为 {OVERSIZED} 人及以上）。请核对班级数和学生分班。")
        else:
            continue
        yield finding("X_CLASS_GRADE", school, SCHOOL, sid, school.name, message, fields=("grade", "classes"),
                      evidence={"grade": grade, "students": n, "classes": k}, key=grade)


X_CLASS_GRADE = rules.register(Rule(
    code="X_CLASS_GRADE", title=gettext_lazy("学生数与班级数不匹配"),
    description=(
        format_lazy(gettext_lazy("学前至高中各年级：学生汇总中的在读学生数与本学年该年级的班级数对照。有学生却没有班级，或平均每班达到 {oversized} 人及以上（班级数明显偏少）时提示。每校每个年级一条。"), oversized=OVERSIZED)),
    severity=Severity.WARNING, database=Database.STUDENTS, fields=("grade", "classes"), kind="consistency",
    scan=_class_grade_findings,
))


def _staff_load_findings(scope: ScanScope) -> Iterator[Finding]:
    wanted = schools_in(scope)
    for peers in peer_scope(scope):
        schools = schools_in(peers)
        teachers = {sid: t for sid, (_n, t) in staff_by_school(peers).items()}
        classes: dict[int, int] = defaultdict(int)
        for (sid, _grade), k in _classes(peers).items():
            classes[sid] += k
        groups: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
        for sid, k in classes.items():
            if sid in schools and k > 0 and teachers.get(sid, 0) > 0:
                groups[(schools[sid].county, schools[sid].type_code)][sid] = k / teachers[sid]
        for group in groups.values():
            for sid, (value, median, score) in sorted(robust_outliers(group).items()):
                if sid not in wanted:
                    continue
                school = schools[sid]
                direction = "远多于" if score > 0 else "远少于"
                yield finding(
                    "X_STAFF_LOAD", school, SCHOOL, sid, school.name,
                    f"「{school.name}」有班级 {classes[sid]} 个、专任教师 {teachers[sid]} 人，"
                    f"每名专任教师 {value:.2f} 个班，{direction}本县同类学校（{len(group)} 所）的中位数 {median:.2f}。"
                    "请核对班级数和专任教师（是否漏报、岗位类别是否填错）。",
                    fields=("post_category", "classes"),
                    evidence={"classes": classes[sid], "teachers": teachers[sid], "value": round(value, 3),
                              "median": round(median, 3), "peers": len(group), "score": round(score, 2)})


X_STAFF_LOAD = rules.register(Rule(
    code="X_STAFF_LOAD", title=gettext_lazy("专任教师与班级数不匹配"),
    description=format_lazy("{}{}", gettext_lazy("每名专任教师所对应的班级数（本学年班级数 ÷ 专任教师数）与本县同类学校相比明显偏高或偏低。"), OUTLIER_METHOD),
    severity=Severity.WARNING, database=Database.STAFF, fields=("post_category", "classes"), kind="consistency",
    scan=_staff_load_findings,
))


MIN_AREA_PER_STUDENT = 1.0  # ㎡: no school building standard comes near (小学 ≥ 5 ㎡ per pupil)


def _area_students_findings(scope: ScanScope) -> Iterator[Finding]:
    schools = schools_in(scope)
    students = students_by_school(scope)
    areas = {sid: (float(a), b) for sid, a, b in
             in_scope(BuildingRollup.objects.all(), scope).values_list("school_id", "total_area", "buildings")}
    for sid, n in sorted(students.items()):
        if sid not in schools or n <= 0 or sid not in areas or areas[sid][1] == 0:
            continue  # no building recorded: the facilities database is incomplete, not inconsistent
        area = areas[sid][0]
        if area / n < MIN_AREA_PER_STUDENT:
            school = schools[sid]
            yield finding(
                "X_AREA_STUDENTS", school, SCHOOL, sid, school.name,
                f"「{school.name}」有在校生 {n} 人，校舍建筑面积只有 {area:,.0f} ㎡，生均 {area / n:.2f} ㎡，"
                f"不足 {MIN_AREA_PER_STUDENT:g} ㎡：校舍或学生至少有一方漏报或填错（面积单位应为平方米）。",
                fields=("total_area", "students"), evidence={"students": n, "area": round(area, 2)})


X_AREA_STUDENTS = rules.register(Rule(
    code="X_AREA_STUDENTS", title=gettext_lazy("学生数与校舍面积不匹配"),
    description=(
        format_lazy(gettext_lazy("学校登记了校舍，但校舍建筑面积按在校生平均不足 {min_area_per_student:g} ㎡（任何校舍建设标准都远高于此），说明学生库与校舍库至少一方漏报或填错。生均面积偏离同类学校的情况见 O_AREA_OUTLIER。"), min_area_per_student=MIN_AREA_PER_STUDENT)),
    severity=Severity.WARNING, database=Database.FACILITIES, fields=("total_area", "students"), kind="consistency",
    scan=_area_students_findings,
))
