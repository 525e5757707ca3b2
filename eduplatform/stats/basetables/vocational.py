"""The 中职基 series: base tables of secondary vocational education (中等职业教育), generated from a
census snapshot the way the 基础基 tables are (``basic``: one grouped query per source over the
frozen roll-ups, folded; 合计 rows and columns summed from the cells).

Schools: those offering vocational and no higher education (办学类型 36x 中等职业学校, 附设中职班 …).
Students: enrolments of the vocational stage wherever they study.

Tables (DOMAIN §2.2 names 中职基111, 311, 411, 421, 521; the layouts are our reading):
111 schools by 办学类型 × 城乡分类 and 举办者 (a school: its identity), 311 students by major × grade
with 招生, 预计毕业生, last year's graduates and 女, 411 staff by post (代课 and 兼任 outside the
headcount), 421 full-time teachers by 学历 and title grade with 双师型, 521 floor area by use.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

from django.db.models import Q
from django.utils.translation import gettext_noop

from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.orgs.stages import Stage
from eduplatform.stats.basetables.basic import (
    _TEACHERS,
    EDUCATION_COLUMNS,
    FEMALE,
    SCHOOL_FIELDS,
    TITLE_GRADES,
    TOTAL,
    USE_ROWS,
    VOCATIONAL,
    BaseTable,
    Finding,
    RowsOf,
    Said,
    Source,
    _check_schools,
    _education_column,
    _floor_area,
    _grid,
    _school_counts,
    _school_identity,
    _staff_by_post,
    institutions,
    rows_reader,
    students_of,
    tables_of,
    tables_per_school,
)
from eduplatform.stats.definitions import HEADCOUNT_POSTS
from eduplatform.stats.models import (
    BuildingRollup,
    SchoolRollup,
    Snapshot,
    StaffRollup,
    StudentRollup,
)
from eduplatform.students.grades import BY_CODE, grades_of_stage

NO_MAJOR = gettext_noop("未填专业")
NO_TITLE = gettext_noop("未定职级")
# Flows beside the grades of a by-major table: (column, measure), then 其中：女 of the 在校生.
FLOWS = ((gettext_noop("招生"), "new_entrants"), (gettext_noop("预计毕业生"), "expected_graduates"), (gettext_noop("毕业生（上学年）"), "prior_graduates"))
BY_MAJOR_MEASURES = ("enrolled", "new_entrants", "expected_graduates", "prior_graduates")
DUAL_QUALIFIED = gettext_noop("其中：双师型")


def sources_of(series: str) -> dict[str, Source]:
    """The grouped queries of a vocational or higher-education series (the same shapes)."""
    schools = institutions(series)
    return {
        "schools": Source(SchoolRollup, SCHOOL_FIELDS, narrow=schools),
        "students": Source(StudentRollup, ("level", "major", "grade", "gender"), BY_MAJOR_MEASURES,
                           condition=lambda _s: students_of(series)),
        "posts": Source(StaffRollup, ("post_category", "gender", "establishment"), ("staff", "backbone"), narrow=schools),
        "teachers": Source(StaffRollup, ("gender", "education_level", "title_grade"), ("staff", "dual_qualified"),
                           condition=lambda _s: _TEACHERS, narrow=schools),
        "buildings": Source(BuildingRollup, (), ("total_area", *[f for f, _l in USE_ROWS], "gym_area", "dangerous_area",
                                                 "rented_area"), narrow=schools),
    }


SOURCES = sources_of(VOCATIONAL)


def renamed(table: BaseTable, code: str, title: str, note: str | None = None) -> BaseTable:
    """A 基础基 layout under this series' table number."""
    return dataclasses.replace(table, code=code, title=title, note=table.note if note is None else note)


def count_by_grade(rows: Sequence[dict], row_of: Callable[[dict], str]
                   ) -> tuple[dict[tuple[str, str], int], dict[str, dict[str, int]]]:
    """在校生 by (table row, grade), and beside each table row the flows (招生, 预计毕业生, 毕业生)
    and 其中：女 — the body of every students-by-something-and-grade table of these series."""
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    extra: dict[str, dict[str, int]] = {label: defaultdict(int) for label, _m in FLOWS} | {FEMALE: defaultdict(int)}
    for r in rows:
        key = row_of(r)
        grade = BY_CODE[r["grade"]].name if r["grade"] in BY_CODE else r["grade"]
        enrolled = r["enrolled"] or 0
        pairs[(key, grade)] += enrolled
        for label, measure in FLOWS:
            extra[label][key] += r[measure] or 0
        if r["gender"] == "2":
            extra[FEMALE][key] += enrolled
    return pairs, extra


def students_by_major(rows: Sequence[dict], stage: Stage, code: str, title: str, note: str) -> BaseTable:
    """Students by major (rows) × grade (columns), 合计 summed from the grades; beside them 招生,
    预计毕业生, last year's graduates and 其中：女 of the 在校生."""
    grades = grades_of_stage(stage)
    pairs, extra = count_by_grade(rows, lambda r: r["major"] or NO_MAJOR)
    majors = sorted({major for major, _g in pairs} | {m for cells in extra.values() for m in cells},
                    key=lambda m: (m == NO_MAJOR, m))
    return _grid(code, title, pairs, majors, [g.name for g in grades], extra=extra, note=note)


def teachers_by_education_and_title(rows: Sequence[dict], code: str, title: str, *, dual_qualified: bool,
                                    note: str = "") -> BaseTable:
    """Full-time teachers: 合计, then by 学历 (a group summing to 合计), then by title grade (another),
    and — vocational — 其中：双师型; rows 专任教师 and 其中：女."""
    titles = [*TITLE_GRADES, NO_TITLE]
    columns = [TOTAL, *EDUCATION_COLUMNS, *titles, *([DUAL_QUALIFIED] if dual_qualified else [])]
    lines: dict[str, dict[str, int]] = {gettext_noop("专任教师"): defaultdict(int), FEMALE: defaultdict(int)}
    for r in rows:
        n = r["staff"] or 0
        for label in (gettext_noop("专任教师"), *([FEMALE] if r["gender"] == "2" else [])):
            cells = lines[label]
            cells[TOTAL] += n
            cells[_education_column(r)] += n
            cells[r["title_grade"] if r["title_grade"] in TITLE_GRADES else NO_TITLE] += n
            cells[DUAL_QUALIFIED] += r["dual_qualified"] or 0
    return BaseTable(code, title, columns, [(label, [cells.get(c, 0) for c in columns]) for label, cells in lines.items()],
                     note)


STUDENT_NOTE = (gettext_noop("按学籍记录的专业名称归类（未规范到专业目录代码）；年级以学籍年级计；预计毕业生按学制到达的年级统计；"
                "记录不含分专业的学生变动、实习与顶岗、学历证书情况，这些栏目不能填报"))
STAFF_NOTE = gettext_noop("教职工不含代课教师、兼任教师（单列）；记录没有外聘企业兼职教师的来源，兼任教师即记录中的兼任岗位")
TEACHER_NOTE = gettext_noop("学历按最高学历（GB/T 4658）归类；专业技术职务按职称等级；双师型按记录中的“双师型”标记")
BUILDING_NOTE = gettext_noop("中职学校的校舍（现存建筑）；实习实训用房记在教学及辅助用房内，记录没有单列实训用房面积")


def _fold(rows: dict[str, list[dict]], snapshot: Snapshot, *, one_school: bool) -> list[BaseTable]:
    schools = (renamed(_school_identity(rows["schools"]), "中职基111", gettext_noop("中职学校（机构）基本情况")) if one_school else
               renamed(_school_counts(rows["schools"]), "中职基111", gettext_noop("中职学校（机构）数（按办学类型、城乡分类、举办者）")))
    return [
        schools,
        students_by_major(rows["students"], Stage.VOCATIONAL, "中职基311", gettext_noop("中职学生数（分专业、分年级）"), STUDENT_NOTE),
        renamed(_staff_by_post(rows["posts"]), "中职基411", gettext_noop("中职学校教职工（按岗位类别；代课、兼任教师不计入教职工数）"),
                STAFF_NOTE),
        teachers_by_education_and_title(rows["teachers"], "中职基421", gettext_noop("中职专任教师（按学历、专业技术职务）"),
                                        dual_qualified=True, note=TEACHER_NOTE),
        renamed(_floor_area(rows["buildings"]), "中职基521", gettext_noop("中职学校校舍建筑面积（㎡，按用途）"), BUILDING_NOTE),
    ]


def generate(actor: Actor, region: Region, snapshot: Snapshot, *, school_id: int | None = None) -> list[BaseTable]:
    return tables_of(SOURCES, _fold, actor, region, snapshot, school_id=school_id)


def school_tables(snapshot: Snapshot, *, under: str = "") -> Iterator[tuple[int, list[BaseTable]]]:
    return tables_per_school(SOURCES, _fold, snapshot, under=under)


# --------------------------------------------------------------------------------------------
# Validation relationships


def by_major_findings(table: BaseTable, counted: int, rule: str) -> list[Finding]:
    """A by-major table against itself and against the snapshot's count of the same students (read
    without the major): the majors' 合计s, the grade columns of the 合计 row and the count agree."""
    body = [cells for label, cells in table.rows if label != TOTAL]
    grades = [c for c in table.columns[1:] if c not in (*[label for label, _m in FLOWS], FEMALE)]
    by_major = sum(cells[0] for cells in body)
    by_grade = sum(table.cell(TOTAL, g) for g in grades)
    return [Finding(rule, by_major == by_grade == counted,
                    Said(gettext_noop("分专业之和 %(by_major)s，分年级之和 %(by_grade)s，快照在校生 %(counted)s"),
                         by_major=by_major, by_grade=by_grade, counted=counted))]


def staff_findings(staff: BaseTable, teachers: BaseTable, posts: list[dict], prefix: str) -> list[Finding]:
    """V12 for a series' 411 and 421: the headcount's parts sum to it (代课, 兼任 outside:
    ``HEADCOUNT_POSTS``), 专任教师 ≤ 教职工, and 421's teachers are 411's."""
    headcount = sum(r["staff"] or 0 for r in posts if r["post_category"] in HEADCOUNT_POSTS)
    total = staff.cell("教职工", TOTAL)
    parts = sum(staff.cell("教职工", label) for label in staff.columns[1:1 + len(HEADCOUNT_POSTS)])
    in_411 = staff.cell("教职工", "专任教师")
    in_421 = teachers.cell("专任教师", TOTAL)
    by_education = sum(teachers.cell("专任教师", c) for c in EDUCATION_COLUMNS)
    by_title = sum(teachers.cell("专任教师", c) for c in [*TITLE_GRADES, NO_TITLE])
    found = [
        Finding(Said(gettext_noop("V12 %(series)s411 教职工各类之和 = 教职工数（不含代课、兼任）"), series=prefix),
                parts == total == headcount,
                Said(gettext_noop("各类之和 %(parts)s，%(series)s411 合计 %(total)s，快照教职工 %(headcount)s"),
                     parts=parts, series=prefix, total=total, headcount=headcount)),
        Finding(Said(gettext_noop("V12 %(series)s411 专任教师 ≤ 教职工"), series=prefix), in_411 <= total,
                Said(gettext_noop("专任教师 %(teachers)s，教职工 %(staff)s"), teachers=in_411, staff=total)),
        Finding(Said(gettext_noop("%(series)s421 专任教师 = %(series)s411 专任教师；学历、职务两组各自之和 = 合计"), series=prefix),
                in_421 == in_411 == by_education == by_title,
                Said(gettext_noop("421 合计 %(in_421)s，411 专任教师 %(in_411)s，按学历 %(by_education)s，按职务 %(by_title)s"),
                     in_421=in_421, in_411=in_411, by_education=by_education, by_title=by_title)),
    ]
    if DUAL_QUALIFIED in teachers.columns:
        dual = teachers.cell("专任教师", DUAL_QUALIFIED)
        found.append(Finding(Said(gettext_noop("%(series)s421 双师型教师 ≤ 专任教师"), series=prefix), dual <= in_421,
                             Said(gettext_noop("双师型 %(dual)s，专任教师 %(teachers)s"), dual=dual, teachers=in_421)))
    return found


def area_findings(area: BaseTable, prefix: str) -> list[Finding]:
    parts = sum(area.cell(label, "建筑面积") for _f, label in USE_ROWS)
    return [Finding(Said(gettext_noop("%(table)s 各用途面积之和 = 建筑面积"), table=prefix), parts == area.cell(TOTAL, "建筑面积"),
                    Said(gettext_noop("各用途 %(parts)s，合计 %(total)s"), parts=parts, total=area.cell(TOTAL, "建筑面积")))]


# The independent count V12 compares 中职基311 with: the snapshot's vocational students, without the major.
CHECK_SOURCES: dict[str, Source] = {
    "enrolled": Source(StudentRollup, (), ("enrolled",), condition=lambda _s: Q(stage=Stage.VOCATIONAL)),
}


def check(tables: list[BaseTable], actor: Actor, region: Region, snapshot: Snapshot, *,
          school_id: int | None = None) -> list[Finding]:
    """The 中职基 tables' relationships, each against an independent grouped query of the snapshot."""
    school_id = school_id if school_id is not None else scope_of(actor).school_id
    return findings(tables, rows_reader(actor, region, snapshot, school_id), snapshot,
                    county=region.level == "county" and school_id is None)


def findings(tables: list[BaseTable], rows_of: RowsOf, snapshot: Snapshot, *, county: bool) -> list[Finding]:
    """``check`` over rows however they were read (see ``basic.findings``)."""
    by_code = {t.code: t for t in tables}
    enrolled = rows_of(CHECK_SOURCES["enrolled"])
    counted = (enrolled[0]["enrolled"] or 0) if enrolled else 0
    found = by_major_findings(by_code["中职基311"], counted, gettext_noop("V12 中职基311 在校生：分专业之和 = 分年级之和 = 在校生数"))
    found += staff_findings(by_code["中职基411"], by_code["中职基421"], rows_of(SOURCES["posts"]), "中职基")
    found += area_findings(by_code["中职基521"], "中职基521")
    found += _check_schools(rows_of(SOURCES["schools"]))
    return found
