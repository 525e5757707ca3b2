"""The 高基 series: base tables of higher education, generated from a census snapshot the way the
基础基 tables are (one grouped query per source over the frozen roll-ups, folded).

Schools: those offering higher education (办学类型 41x 普通高等学校 …). Students: enrolments of the
higher-education stage, by 培养层次 (专科, 本科, 硕士, 博士) and major.

Tables (DOMAIN §2.2 names 高基312 普通本科分专业学生数 and 高基331 学生变动; the other numbers follow
the series' numbering and are our reading): 111 schools, 311 students by level × grade with
招生, 预计毕业生, last year's graduates, 女 and 折合在校生 (DOMAIN §3, 教发〔2004〕2号), 312 本科
students by major × grade, 411 staff by post (兼任 = 聘请校外教师, outside the headcount), 421
full-time teachers by 学历 and title grade, 521 floor area by use with 教学行政用房.
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Iterator, Sequence

from django.db.models import Q
from django.utils.translation import gettext_noop

from eduplatform.funding.conditions import LEVEL_LABELS, WEIGHTS
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.orgs.stages import Stage
from eduplatform.stats.basetables.basic import (
    HIGHER,
    TOTAL,
    BaseTable,
    Finding,
    RowsOf,
    Said,
    Source,
    _check_schools,
    _floor_area,
    _grid,
    _school_counts,
    _school_identity,
    _staff_by_post,
    _unverifiable,
    rows_reader,
    tables_of,
    tables_per_school,
)
from eduplatform.stats.basetables.vocational import (
    area_findings,
    by_major_findings,
    count_by_grade,
    renamed,
    sources_of,
    staff_findings,
    students_by_major,
    teachers_by_education_and_title,
)
from eduplatform.stats.models import Snapshot, StudentRollup
from eduplatform.students.grades import grades_of_stage

UNDERGRADUATE = "2"  # students.schema.LEVELS: 本科
NO_LEVEL = gettext_noop("未填或非高等教育层次")
WEIGHTED = gettext_noop("折合在校生")
TEACHING_AND_ADMIN = gettext_noop("其中：教学行政用房（教学及辅助 + 行政办公）")

SOURCES = sources_of(HIGHER)


def students_by_level(rows: Sequence[dict]) -> BaseTable:
    """高基311: students by 培养层次 × grade, the flows and 女 beside, and 折合在校生 = 在校生 × the
    level's weight (专科、本科 1, 硕士 1.5, 博士 2; ``funding.conditions.WEIGHTS``)."""
    grades = grades_of_stage(Stage.HIGHER)
    pairs, counts = count_by_grade(rows, lambda r: LEVEL_LABELS.get(r["level"], NO_LEVEL))
    extra: dict[str, dict[str, object]] = dict(counts)
    weighted: dict[str, decimal.Decimal] = defaultdict(decimal.Decimal)
    for r in rows:
        weighted[LEVEL_LABELS.get(r["level"], NO_LEVEL)] += (r["enrolled"] or 0) * WEIGHTS.get(r["level"], decimal.Decimal(0))
    extra[WEIGHTED] = {level: n.quantize(decimal.Decimal("0.1")) for level, n in weighted.items()}
    return _grid("高基311", gettext_noop("高等教育学生数（分层次、分年级，含折合在校生）"), pairs, [*LEVEL_LABELS.values(), NO_LEVEL],
                 [g.name for g in grades], extra=extra,
                 note=gettext_noop("折合在校生 = 普通本专科 + 硕士 × 1.5 + 博士 × 2（教发〔2004〕2号）；留学生（× 3）、预科、进修、成人脱产、"
                      "夜大（× 0.3）、函授（× 0.1）学生平台未记录，不能填报，未计入；培养层次未填的学生不折合"))


STAFF_NOTE = (gettext_noop("教职工不含代课教师和兼任教师（单列）；兼任教师即聘请校外教师，教师总数 = 专任教师 + 聘请校外教师 × 0.5；"
              "记录不区分校本部与附属医院、科研机构人员，不能分列"))
TEACHER_NOTE = gettext_noop("学历按最高学历（GB/T 4658）归类；记录没有教师的最高学位，按学位的栏目不能填报")


def _fold(rows: dict[str, list[dict]], snapshot: Snapshot, *, one_school: bool) -> list[BaseTable]:
    schools = (renamed(_school_identity(rows["schools"]), "高基111", gettext_noop("高等学校（机构）基本情况")) if one_school else
               renamed(_school_counts(rows["schools"]), "高基111", gettext_noop("高等学校（机构）数（按办学类型、城乡分类、举办者）")))
    undergraduates = [r for r in rows["students"] if r["level"] == UNDERGRADUATE]
    area = renamed(_floor_area(rows["buildings"]), "高基521", gettext_noop("高等学校校舍建筑面积（㎡，按用途）"),
                   gettext_noop("记录没有产权与非产权（独立使用）面积之分，只按现存建筑统计"))
    teaching, admin = area.cell("教学及辅助用房", "建筑面积"), area.cell("行政办公用房", "建筑面积")
    area.rows.insert(3, (TEACHING_AND_ADMIN, [teaching + admin]))
    return [
        schools,
        students_by_level(rows["students"]),
        students_by_major(undergraduates, Stage.HIGHER, "高基312", gettext_noop("普通本科分专业学生数（分年级）"),
                          gettext_noop("按学籍记录的专业名称归类（未规范到本科专业目录代码）；记录不含转专业、分专业的学生变动（高基331），"
                          "这些栏目不能填报")),
        renamed(_staff_by_post(rows["posts"]), "高基411", gettext_noop("高等学校教职工（按岗位类别；代课、兼任教师不计入教职工数）"),
                STAFF_NOTE),
        teachers_by_education_and_title(rows["teachers"], "高基421", gettext_noop("高等学校专任教师（按学历、专业技术职务）"),
                                        dual_qualified=False, note=TEACHER_NOTE),
        area,
    ]


def generate(actor: Actor, region: Region, snapshot: Snapshot, *, school_id: int | None = None) -> list[BaseTable]:
    return tables_of(SOURCES, _fold, actor, region, snapshot, school_id=school_id)


def school_tables(snapshot: Snapshot, *, under: str = "") -> Iterator[tuple[int, list[BaseTable]]]:
    return tables_per_school(SOURCES, _fold, snapshot, under=under)


# The independent count V11/V12 compare the tables with: higher-education students by level, without the major.
CHECK_SOURCES: dict[str, Source] = {
    "by_level": Source(StudentRollup, ("level",), ("enrolled",), condition=lambda _s: Q(stage=Stage.HIGHER)),
}


def check(tables: list[BaseTable], actor: Actor, region: Region, snapshot: Snapshot, *,
          school_id: int | None = None) -> list[Finding]:
    """The 高基 tables' relationships (V11, V12), each against an independent grouped query of the
    snapshot (students by level, without the major)."""
    school_id = school_id if school_id is not None else scope_of(actor).school_id
    return findings(tables, rows_reader(actor, region, snapshot, school_id), snapshot,
                    county=region.level == "county" and school_id is None)


def findings(tables: list[BaseTable], rows_of: RowsOf, snapshot: Snapshot, *, county: bool) -> list[Finding]:
    """``check`` over rows however they were read (see ``basic.findings``)."""
    by_code = {t.code: t for t in tables}
    by_level = {r["level"]: r["enrolled"] or 0 for r in rows_of(CHECK_SOURCES["by_level"])}
    students = by_code["高基311"]
    counted = sum(by_level.values())
    found = [Finding(gettext_noop("V12 高基311 在校生 = 各层次之和 = 各年级之和"),
                     students.cell(TOTAL, TOTAL) == counted == sum(cells[0] for label, cells in students.rows[1:]),
                     Said(gettext_noop("高基311 合计 %(total)s，各层次之和 %(levels)s，快照在校生 %(counted)s"),
                          total=students.cell(TOTAL, TOTAL), levels=sum(cells[0] for _l, cells in students.rows[1:]),
                          counted=counted))]
    weighted = sum((n * WEIGHTS.get(level, decimal.Decimal(0)) for level, n in by_level.items()), decimal.Decimal(0))
    shown = students.cell(TOTAL, WEIGHTED)
    found.append(Finding(gettext_noop("高基311 折合在校生 = 本专科 + 硕士 × 1.5 + 博士 × 2"), shown == weighted,
                         Said(gettext_noop("表中 %(shown)s，按快照各层次在校生计 %(weighted)s"), shown=shown, weighted=weighted)))
    undergraduates = by_level.get(UNDERGRADUATE, 0)
    in_311 = dict(students.rows).get("本科", [0])[0]
    majors = by_code["高基312"]
    found += by_major_findings(majors, undergraduates, gettext_noop("V11 本科在校生 = 高基312 分专业之和 = 分年级之和"))
    found.append(Finding(gettext_noop("V11 高基311 本科在校生 = 高基312 合计"), in_311 == majors.cell(TOTAL, TOTAL),
                         Said(gettext_noop("高基311 本科 %(in_311)s，高基312 合计 %(in_312)s"), in_311=in_311,
                              in_312=majors.cell(TOTAL, TOTAL))))
    found.append(_unverifiable(gettext_noop("V11 高基331 本学年在校生与上学年在校生经变动（招生、转入转出、休退学、毕业）相衔接"),
                               gettext_noop("学生变动（转学、转专业、休学、退学）流量未汇总到统计快照，无法核验")))
    found += staff_findings(by_code["高基411"], by_code["高基421"],
                            rows_of(SOURCES["posts"]), "高基")
    area = by_code["高基521"]
    found += area_findings(area, "高基521")
    found.append(Finding(gettext_noop("高基521 教学行政用房 = 教学及辅助用房 + 行政办公用房"),
                         area.cell(TEACHING_AND_ADMIN, "建筑面积")
                         == area.cell("教学及辅助用房", "建筑面积") + area.cell("行政办公用房", "建筑面积"),
                         Said(gettext_noop("教学行政用房 %(area)s"), area=area.cell(TEACHING_AND_ADMIN, "建筑面积"))))
    found += _check_schools(rows_of(SOURCES["schools"]))
    return found
