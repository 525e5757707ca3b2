"""The standard base tables (基表) of basic education, generated from a census snapshot: the 基础基
series, over the schools that offer neither vocational nor higher education and the students of the
other stages (``institutions``, ``students_of``; the 中职基 and 高基 series are ``vocational`` and
``higher``, built with the machinery here).

Each table is folded from the rows of one grouped query over a frozen roll-up (a ``Source``): the
rows and columns are dimensions of that roll-up, the cells its measures, and the 合计 row and column
are sums of the cells (rule V1 of DOMAIN §2.3 holds by construction). ``check`` then tests the
relationships between the tables and with the snapshot's other figures (V2–V12) and says which
hold, which fail, and which the records cannot decide (不可核验, with the reason).

The same folds serve a region (``generate``: one query per source over the region's schools) and
every school at once (``every_school``: one query per source over the whole snapshot, grouped by
school and read in school order, folded school by school) — so a school's tables are the same
either way.

Tables (DOMAIN §2.2; the layouts are our reading of the names and columns the sources give):
111 schools (a region: counts by 办学类型 × 城乡分类 and 举办者; a school: its identity), 211/212/213
classes by grade × size band (幼儿园 / 小学 / 中学), 311 在校生, 312 招生, 313 预计毕业生 and 314
毕业生 (上学年) by grade × age with 女 and 少数民族, 315 随迁子女, 留守儿童 and 随班就读 by grade,
411 staff by post, 4211/422/423/424 full-time teachers by 学历, title grade, age and subject (rows
by 任课学段), 512 floor area by use, 522 land and assets.
"""

from __future__ import annotations

import decimal
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.db.models import F, Max, Q, QuerySet, Sum
from django.utils.translation import gettext_noop

from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.orgs.stages import Stage, describe
from eduplatform.staff.codes import HEADCOUNT_CATEGORIES, TEACHING_SUBJECTS
from eduplatform.standards import codebook
from eduplatform.stats.models import (
    SNAPSHOT_OF,
    AssetRollup,
    BuildingRollup,
    ClassRollup,
    SchoolRollup,
    Snapshot,
    StaffRollup,
    StudentRollup,
)
from eduplatform.stats.rollup import SIZE_BANDS
from eduplatform.stats.selectors import FULL_TIME_TEACHER, figures
from eduplatform.students.grades import BY_CODE, GRADES, grades_of_stage

TOTAL = gettext_noop("合计")
FEMALE = gettext_noop("其中：女")
MINORITY = gettext_noop("其中：少数民族")
CENT = decimal.Decimal("0.01")
# 基础基411: the headcount's parts (staff_category_k12 1–5), then those outside it (6 代课, 7 兼任).
POSTS = (("1", gettext_noop("专任教师")), ("2", gettext_noop("行政人员")), ("3", gettext_noop("教辅人员")), ("4", gettext_noop("工勤人员")), ("5", gettext_noop("校办企业职工")))
OUTSIDE_HEADCOUNT = (("6", gettext_noop("代课教师")), ("7", gettext_noop("兼任教师")))
TITLE_GRADES = (gettext_noop("正高级"), gettext_noop("副高级"), gettext_noop("中级"), gettext_noop("助理级"), gettext_noop("员级"), gettext_noop("初级"))
USE_ROWS = (("teaching_area", gettext_noop("教学及辅助用房")), ("admin_area", gettext_noop("行政办公用房")), ("living_area", gettext_noop("生活用房")),
            ("other_area", gettext_noop("其他用房")))
# The group names are marked for the pivot filter, which shows them translated (the tables keep them).
# 基础基111 column groups: 城乡分类 by the code's first digits, 举办者 by code (sponsor_type.csv; central
# sponsors use GB/T 4657 codes beginning 1 or 2).
URBAN_GROUPS = ((gettext_noop("城区"), ("11",)), (gettext_noop("镇区"), ("12",)), (gettext_noop("乡村"), ("2",)))
SPONSOR_GROUPS = ((gettext_noop("教育部门"), ("811", "821", "831")), (gettext_noop("其他部门"), ("812", "822", "832")), (gettext_noop("地方企业"), ("891",)),
                  (gettext_noop("事业单位"), ("892",)), (gettext_noop("部队"), ("893",)), (gettext_noop("集体"), ("894",)), (gettext_noop("民办"), ("999",)),
                  (gettext_noop("中央部门"), ("1", "2")))
URBAN_UNKNOWN, SPONSOR_UNKNOWN = gettext_noop("城乡未填"), gettext_noop("举办者未填")
# 基础基4211 columns from the GB/T 4658 学历 code (1x 研究生, of which 11–13 博士; 2x 本科; 3x 专科; 4x
# 中职 and 6x 普高 = 高中阶段; 7x 初中, 8x 小学 = 高中阶段以下). 研究生班 (17–19) counts with 硕士.
EDUCATION_COLUMNS = (gettext_noop("博士研究生"), gettext_noop("硕士研究生"), gettext_noop("本科"), gettext_noop("专科"), gettext_noop("高中阶段"), gettext_noop("高中阶段以下"), gettext_noop("其他或未填"))
# 基础基423 age bands (full years: census year − birth year).
AGE_BANDS = ((gettext_noop("24岁及以下"), 0), (gettext_noop("25-29岁"), 25), (gettext_noop("30-34岁"), 30), (gettext_noop("35-39岁"), 35), (gettext_noop("40-44岁"), 40),
             (gettext_noop("45-49岁"), 45), (gettext_noop("50-54岁"), 50), (gettext_noop("55-59岁"), 55), (gettext_noop("60岁及以上"), 60))
NO_SUBJECT = gettext_noop("未填学科")
NO_TEACHING_STAGE = gettext_noop("未填任课学段")
# Classes by grade and size band: the stages each of 211–213 covers.
CLASS_TABLES = (("基础基211", gettext_noop("幼儿园班数（分年级、按班额）"), (Stage.PRESCHOOL,)),
                ("基础基212", gettext_noop("小学班数（分年级、按班额）"), (Stage.PRIMARY,)),
                ("基础基213", gettext_noop("中学班数（初中、高中，分年级、按班额）"), (Stage.JUNIOR, Stage.SENIOR)))
# Parallel classes (轨) per grade and school at most (V2).
MAX_PARALLEL = {Stage.PRESCHOOL: 10, Stage.PRIMARY: 20, Stage.JUNIOR: 20, Stage.SENIOR: 30}
KINDERGARTEN_CLASS_LIMIT = 36


class Said(str):
    """A text of a finding made of a marked template and values: the ``str`` is the Chinese the tables
    keep and export; ``template`` and ``values`` say it in the reader's language on screen
    (``stats.templatetags.base_tables.form_text``)."""

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, **values: object) -> Said:
        text = super().__new__(cls, template % values if values else template)
        text.template, text.values = template, values
        return text

    def __reduce__(self) -> tuple:
        return _said, (self.template, self.values)


def _said(template: str, values: dict[str, object]) -> Said:
    return Said(template, **values)


@dataclass
class BaseTable:
    code: str
    title: str
    columns: list[str]  # headers after the row label; the first is 合计 where the table has one
    rows: list[tuple[str, list]] = field(default_factory=list)  # (row label, cells)
    note: str = ""  # how a figure is counted, where it is not obvious

    def cell(self, row: str, column: str):
        return dict(self.rows)[row][self.columns.index(column)]

    @property
    def is_text(self) -> bool:
        """A school's 111 is its identity (text), every other table counts."""
        return any(isinstance(v, str) for _label, cells in self.rows for v in cells)

    @property
    def is_empty(self) -> bool:
        return not self.is_text and not any(v for _label, cells in self.rows for v in cells)


# --------------------------------------------------------------------------------------------
# Sources: the grouped queries the tables are folded from


# The series (基表 by level): a school belongs to one by its stages — 高基 if it offers higher
# education, else 中职基 if it offers vocational education, else 基础基; a student by the stage of the
# enrolment, so a 高校's 中职 students are counted in the 中职基 tables, as the national forms do.
BASIC, VOCATIONAL, HIGHER = "basic", "vocational", "higher"
NOT_BASIC = (int(Stage.VOCATIONAL), int(Stage.HIGHER))


def institutions(series: str) -> Callable[[QuerySet], QuerySet]:
    """Narrow a roll-up with a ``stage_mask`` to the schools of one series."""

    def narrow(qs: QuerySet) -> QuerySet:
        qs = qs.alias(_offers_higher=F("stage_mask").bitand(int(Stage.HIGHER)),
                      _offers_vocational=F("stage_mask").bitand(int(Stage.VOCATIONAL)))
        if series == HIGHER:
            return qs.filter(_offers_higher__gt=0)
        if series == VOCATIONAL:
            return qs.filter(_offers_higher=0, _offers_vocational__gt=0)
        return qs.filter(_offers_higher=0, _offers_vocational=0)

    return narrow


def students_of(series: str) -> Q:
    """The student (or class) rows of one series, by the enrolment's stage."""
    if series == HIGHER:
        return Q(stage=Stage.HIGHER)
    if series == VOCATIONAL:
        return Q(stage=Stage.VOCATIONAL)
    return ~Q(stage__in=NOT_BASIC)


@dataclass(frozen=True)
class Source:
    """One grouped query over a roll-up: ``by`` its dimensions, ``sums`` and ``maxima`` its
    measures (none: the rows themselves), ``condition`` which rows, ``narrow`` which schools
    (the series')."""

    model: type
    by: tuple[str, ...]
    sums: tuple[str, ...] = ()
    maxima: tuple[str, ...] = ()
    condition: Callable[[Snapshot], Q] = lambda _snapshot: Q()
    narrow: Callable[[QuerySet], QuerySet] | None = None

    def rows_of(self, qs: QuerySet, snapshot: Snapshot) -> QuerySet:
        qs = qs.filter(self.condition(snapshot))
        return self.narrow(qs) if self.narrow is not None else qs

    def aggregates(self) -> dict:
        return {m: Sum(m) for m in self.sums} | {m: Max(m) for m in self.maxima}


STUDENT_MEASURES = ("enrolled", "minority", "new_entrants", "minority_new_entrants", "expected_graduates",
                    "minority_expected_graduates", "prior_graduates", "minority_prior_graduates", "migrant",
                    "left_behind", "inclusive", "transfers_in")
SCHOOL_FIELDS = ("school_code", "name", "school_type_code", "sponsor_code", "urban_rural_code", "stage_mask",
                 "address", "longitude", "latitude", "principal_name", "phone", "website")
_TEACHERS = Q(post_category=FULL_TIME_TEACHER)
_BASIC = institutions(BASIC)

SOURCES: dict[str, Source] = {
    "schools": Source(SchoolRollup, SCHOOL_FIELDS, narrow=_BASIC),
    "classes": Source(ClassRollup, ("grade", "size_band"), ("classes", "students"), ("largest",),
                      lambda snapshot: Q(school_year=snapshot.school_year) & students_of(BASIC)),
    "students": Source(StudentRollup, ("stage", "grade", "gender", "cohort"), STUDENT_MEASURES,
                       condition=lambda _s: students_of(BASIC)),
    "posts": Source(StaffRollup, ("post_category", "gender", "establishment"), ("staff", "backbone"), narrow=_BASIC),
    "titles": Source(StaffRollup, ("gender", "teaching_stage", "title_grade"), ("staff",), condition=lambda _s: _TEACHERS,
                     narrow=_BASIC),
    "education": Source(StaffRollup, ("gender", "teaching_stage", "education_level"), ("staff",),
                        condition=lambda _s: _TEACHERS, narrow=_BASIC),
    "ages": Source(StaffRollup, ("gender", "teaching_stage", "birth_year"), ("staff",), condition=lambda _s: _TEACHERS,
                   narrow=_BASIC),
    "subjects": Source(StaffRollup, ("gender", "teaching_stage", "subject"), ("staff",), condition=lambda _s: _TEACHERS,
                       narrow=_BASIC),
    "buildings": Source(BuildingRollup, (), ("total_area", *[f for f, _l in USE_ROWS], "gym_area", "dangerous_area",
                                             "rented_area"), narrow=_BASIC),
    "assets": Source(AssetRollup, (), ("land_area", "sports_area", "green_area", "books_volumes",
                                       "computers_for_teaching", "multimedia_classrooms", "teaching_equipment_value",
                                       "fixed_asset_value"), narrow=_BASIC),
}


def _rows(source: Source, actor: Actor, region: Region, snapshot: Snapshot, school_id: int | None) -> list[dict]:
    """The source's rows for a region (or one school of it) as the actor may see them."""
    qs = source.rows_of(figures(source.model, actor, region, snapshot), snapshot)
    if school_id is not None:
        qs = qs.filter(school_id=school_id)
    aggregates = source.aggregates()
    if not aggregates:
        return list(qs.values(*source.by).order_by())
    if not source.by:
        row = qs.aggregate(**aggregates)
        return [row] if any(v is not None for v in row.values()) else []
    return list(qs.values(*source.by).annotate(**aggregates).order_by())


def _stream(source: Source, snapshot: Snapshot, under: str) -> Iterator[dict]:
    """The source's rows for every school of the snapshot under ``under``, grouped by school and in
    school order (one query, read in chunks)."""
    qs = source.rows_of(SNAPSHOT_OF[source.model].objects.filter(snapshot=snapshot), snapshot)
    if under:
        qs = qs.filter(region_path__startswith=under)
    aggregates = source.aggregates()
    qs = qs.values("school_id", *source.by)
    if aggregates:
        qs = qs.annotate(**aggregates)
    return qs.order_by("school_id").iterator(chunk_size=10_000)


# --------------------------------------------------------------------------------------------
# Folding rows into tables


def _grid(code: str, title: str, pairs: dict[tuple[str, str], object], row_labels: Sequence[str],
          column_labels: Sequence[str], *, extra: dict[str, dict[str, object]] | None = None, note: str = "") -> BaseTable:
    """A table with a 合计 column and a 合计 first row, summed from the (row, column) cells;
    ``extra`` adds columns (e.g. 其中：女) given per row, summed into 合计 as well."""
    extra = extra or {}
    columns = [TOTAL, *column_labels, *extra]
    # Rows with no cell at all are skipped before they are built (every school's tables fold this
    # for each of ~30 grades; most have none).
    present = {label for label, _column in pairs}.union(*extra.values())
    body = []
    for label in row_labels:
        if label not in present:
            continue
        cells = [pairs.get((label, c), 0) for c in column_labels]
        row = [sum(cells), *cells, *[extra[e].get(label, 0) for e in extra]]
        if any(row):  # grades the region does not have are left out
            body.append((label, row))
    total = [sum(column) for column in zip(*(cells for _l, cells in body), strict=True)] if body else [0] * len(columns)
    return BaseTable(code, title, columns, [(TOTAL, total), *body], note)


def _group(code: str, groups: Sequence[tuple[str, Sequence[str]]], unknown: str) -> str:
    if code:
        for label, beginnings in groups:
            if code.startswith(tuple(beginnings)):
                return label
    return unknown


def _school_counts(rows: list[dict]) -> BaseTable:
    """基础基111 for a region: schools by 办学类型, with the 城乡分类 and 举办者 groups each summing to 合计."""
    urban = [label for label, _b in URBAN_GROUPS] + [URBAN_UNKNOWN]
    sponsors = [label for label, _b in SPONSOR_GROUPS] + [SPONSOR_UNKNOWN]
    counts: dict[str, defaultdict] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for key in (TOTAL, row["school_type_code"] or ""):
            cells = counts[key]
            cells[TOTAL] += 1
            cells[_group(row["urban_rural_code"], URBAN_GROUPS, URBAN_UNKNOWN)] += 1
            cells[_group(row["sponsor_code"], SPONSOR_GROUPS, SPONSOR_UNKNOWN)] += 1
    columns = [TOTAL, *urban, *sponsors]
    table = BaseTable("基础基111", gettext_noop("学校（机构）数（按办学类型、城乡分类、举办者）"), columns,
                      note=gettext_noop("城乡分类与举办者两组各自合计等于学校数"))
    table.rows.append((TOTAL, [counts[TOTAL][c] for c in columns]))
    for type_code in sorted(k for k in counts if k != TOTAL):
        label = codebook.code_name("school_type", type_code) if type_code else gettext_noop("未填办学类型")
        table.rows.append((label, [counts[type_code][c] for c in columns]))
    return table


def _coded(table: str, code: str) -> str:
    return f"{code} {codebook.code_name(table, code)}" if code else ""


def _school_identity(rows: list[dict]) -> BaseTable:
    """基础基111 for one school: what the school reports about itself."""
    table = BaseTable("基础基111", gettext_noop("学校（机构）基本情况"), [gettext_noop("内容")])
    if not rows:
        return table
    (s,) = rows

    def text(value: object) -> str:
        return "" if value is None else str(value)

    table.rows += [(label, [value]) for label, value in (
        (gettext_noop("学校标识码"), s["school_code"]), (gettext_noop("学校名称"), s["name"]), (gettext_noop("办学类型"), _coded("school_type", s["school_type_code"])),
        (gettext_noop("举办者"), _coded("sponsor", s["sponsor_code"])), (gettext_noop("城乡分类"), _coded("urban_rural", s["urban_rural_code"])),
        (gettext_noop("学段"), describe(s["stage_mask"])), (gettext_noop("地址"), s["address"]), (gettext_noop("经度"), text(s["longitude"])),
        (gettext_noop("纬度"), text(s["latitude"])), (gettext_noop("校长（负责人）"), s["principal_name"]), (gettext_noop("联系电话"), s["phone"]),
        (gettext_noop("网址"), s["website"]),
    )]
    return table


def _classes(rows: list[dict], code: str, title: str, stages: Sequence[Stage]) -> BaseTable:
    grades = [g for stage in stages for g in grades_of_stage(stage)]
    codes = {g.code for g in grades}
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r["grade"] in codes:
            pairs[(BY_CODE[r["grade"]].name, r["size_band"])] += r["classes"] or 0
    return _grid(code, title, pairs, [g.name for g in grades], [b for b, _low in SIZE_BANDS])


def _by_grade_and_age(rows: list[dict], census_year: int, code: str, title: str, measure: str,
                      minority: str) -> BaseTable:
    """Students of one measure by grade × age (full years on 31 August of the census year, ``census
    year − cohort``), with 其中：女 and 其中：少数民族."""
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    women: dict[str, int] = defaultdict(int)
    minorities: dict[str, int] = defaultdict(int)
    ages: set[int] = set()
    for r in rows:
        n = r[measure] or 0
        grade = BY_CODE[r["grade"]].name if r["grade"] in BY_CODE else r["grade"]
        if n:
            age = census_year - r["cohort"]
            ages.add(age)
            pairs[(grade, f"{age}岁")] += n
            if r["gender"] == "2":
                women[grade] += n
        minorities[grade] += r[minority] or 0
    return _grid(code, title, pairs, [g.name for g in GRADES], [f"{a}岁" for a in sorted(ages)],
                 extra={FEMALE: women, MINORITY: minorities}, note=gettext_noop("年龄为统计时点所在年 8 月 31 日的周岁"))


# 基础基315: (column, measure, women only)
SPECIAL_GROUPS = ((gettext_noop("在校生"), "enrolled", False), (gettext_noop("随迁子女"), "migrant", False), (gettext_noop("随迁子女：女"), "migrant", True),
                  (gettext_noop("留守儿童"), "left_behind", False), (gettext_noop("留守儿童：女"), "left_behind", True),
                  (gettext_noop("随班就读"), "inclusive", False), (gettext_noop("随班就读：女"), "inclusive", True))


def _special_groups(rows: list[dict]) -> BaseTable:
    """基础基315: 随迁子女, 留守儿童 and 随班就读 by grade (no 合计 column: the groups overlap)."""
    cells: dict[str, list[int]] = defaultdict(lambda: [0] * len(SPECIAL_GROUPS))
    for r in rows:
        grade = BY_CODE[r["grade"]].name if r["grade"] in BY_CODE else r["grade"]
        for i, (_label, measure, women) in enumerate(SPECIAL_GROUPS):
            if not women or r["gender"] == "2":
                cells[grade][i] += r[measure] or 0
    body = [(g.name, cells[g.name]) for g in GRADES if any(cells.get(g.name, ()))]
    total = [sum(c[i] for _l, c in body) for i in range(len(SPECIAL_GROUPS))]
    return BaseTable("基础基315", gettext_noop("随迁子女、留守儿童、随班就读学生（分年级）"), [label for label, _m, _w in SPECIAL_GROUPS],
                     [(TOTAL, total), *body], gettext_noop("随班就读：非特殊教育学校、非特教年级的残疾学生"))


def _staff_by_post(rows: list[dict]) -> BaseTable:
    posts = dict(POSTS + OUTSIDE_HEADCOUNT)
    by_row: dict[str, dict[str, int]] = {gettext_noop("教职工"): defaultdict(int), FEMALE: defaultdict(int),
                                         gettext_noop("其中：在编"): defaultdict(int)}
    for r in rows:
        post = posts.get(r["post_category"], "其他")
        n = r["staff"] or 0
        by_row["教职工"][post] += n
        if r["gender"] == "2":
            by_row[FEMALE][post] += n
        if r["establishment"] == "1":
            by_row["其中：在编"][post] += n
    headcount = [label for _c, label in POSTS]
    outside = [label for _c, label in OUTSIDE_HEADCOUNT]
    table = BaseTable("基础基411", gettext_noop("教职工（按岗位类别；代课、兼任教师不计入教职工数）"), [TOTAL, *headcount, *outside])
    for label, cells in by_row.items():
        parts = [cells.get(h, 0) for h in headcount]
        table.rows.append((label, [sum(parts), *parts, *[cells.get(o, 0) for o in outside]]))
    return table


def _teaching_stage(code: str) -> str:
    return codebook.code_name("teaching_stage", code) if code else NO_TEACHING_STAGE


def _teachers(rows: list[dict], code: str, title: str, columns: Sequence[str], column_of: Callable[[dict], str],
              note: str = "") -> BaseTable:
    """Full-time teachers by one dimension (the columns): the whole, each 任课学段 (a part of the
    whole), and 其中：女."""
    whole: dict[str, int] = defaultdict(int)
    women: dict[str, int] = defaultdict(int)
    stages: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        n = r["staff"] or 0
        column = column_of(r)
        whole[column] += n
        stages[r["teaching_stage"] or ""][column] += n
        if r["gender"] == "2":
            women[column] += n
    table = BaseTable(code, title, [TOTAL, *columns], note=note)

    def line(label: str, cells: dict[str, int]) -> None:
        parts = [cells.get(c, 0) for c in columns]
        table.rows.append((label, [sum(parts), *parts]))

    line(gettext_noop("专任教师"), whole)
    for stage_code in sorted(stages, key=lambda c: (c == "", c)):
        if any(stages[stage_code].values()):
            line(_teaching_stage(stage_code), stages[stage_code])
    line(FEMALE, women)
    return table


def _education_column(row: dict) -> str:
    level = row["education_level"] or ""
    if level[:1] == "1":
        return EDUCATION_COLUMNS[0] if level in ("11", "12", "13") else EDUCATION_COLUMNS[1]
    return {"2": EDUCATION_COLUMNS[2], "3": EDUCATION_COLUMNS[3], "4": EDUCATION_COLUMNS[4], "6": EDUCATION_COLUMNS[4],
            "7": EDUCATION_COLUMNS[5], "8": EDUCATION_COLUMNS[5]}.get(level[:1], EDUCATION_COLUMNS[6])


def _age_band(age: int) -> str:
    return next(label for label, low in reversed(AGE_BANDS) if age >= low)


SUBJECT_NAMES = dict(TEACHING_SUBJECTS)


def _floor_area(rows: list[dict]) -> BaseTable:
    area = {m: _cents((rows[0] if rows else {}).get(m)) for m in SOURCES["buildings"].sums}
    table = BaseTable("基础基512", gettext_noop("校舍建筑面积（㎡，按用途）"), [gettext_noop("建筑面积")])
    table.rows.append((TOTAL, [area["total_area"]]))
    table.rows += [(label, [area[f]]) for f, label in USE_ROWS]
    table.rows += [(gettext_noop("其中：体育馆"), [area["gym_area"]]), (gettext_noop("其中：危房"), [area["dangerous_area"]]),
                   (gettext_noop("其中：租借"), [area["rented_area"]])]
    return table


ASSET_ROWS = (("land_area", gettext_noop("占地面积（㎡）")), ("sports_area", gettext_noop("其中：运动场地面积（㎡）")), ("green_area", gettext_noop("其中：绿化用地面积（㎡）")),
              ("books_volumes", gettext_noop("图书（册）")), ("computers_for_teaching", gettext_noop("教学用计算机（台）")),
              ("multimedia_classrooms", gettext_noop("网络多媒体教室（间）")), ("teaching_equipment_value", gettext_noop("教学仪器设备资产值（元）")),
              ("fixed_asset_value", gettext_noop("固定资产总值（元）")))


AMOUNTS = {"land_area", "sports_area", "green_area", "teaching_equipment_value", "fixed_asset_value"}


def _assets(rows: list[dict]) -> BaseTable:
    sums = rows[0] if rows else {}
    table = BaseTable("基础基522", gettext_noop("占地面积与资产"), [gettext_noop("数量")],
                      note=gettext_noop("资产为统计年度的资产汇总（台账汇总或学校填报），未填报的学校计为 0"))
    for measure, label in ASSET_ROWS:
        value = sums.get(measure)
        table.rows.append((label, [_cents(value) if measure in AMOUNTS else value or 0]))
    return table


def _cents(value: object) -> decimal.Decimal:
    # SQLite sums decimals in floating point: areas and values are kept to the cent they are recorded in.
    return decimal.Decimal(value or 0).quantize(CENT)


def _fold(rows: dict[str, list[dict]], snapshot: Snapshot, *, one_school: bool) -> list[BaseTable]:
    census_year = snapshot.census_date.year
    students = rows["students"]
    return [
        _school_identity(rows["schools"]) if one_school else _school_counts(rows["schools"]),
        *[_classes(rows["classes"], code, title, stages) for code, title, stages in CLASS_TABLES],
        _by_grade_and_age(students, census_year, "基础基311", gettext_noop("在校生（分年级、分年龄）"), "enrolled", "minority"),
        _by_grade_and_age(students, census_year, "基础基312", gettext_noop("招生（分年级、分年龄）"), "new_entrants",
                          "minority_new_entrants"),
        _by_grade_and_age(students, census_year, "基础基313", gettext_noop("预计毕业生（毕业年级，分年龄）"), "expected_graduates",
                          "minority_expected_graduates"),
        _by_grade_and_age(students, census_year, "基础基314", gettext_noop("毕（结）业生（上学年，分年级、分年龄）"), "prior_graduates",
                          "minority_prior_graduates"),
        _special_groups(students),
        _staff_by_post(rows["posts"]),
        _teachers(rows["education"], "基础基4211", gettext_noop("专任教师（按学历）"), EDUCATION_COLUMNS, _education_column),
        _teachers(rows["titles"], "基础基422", gettext_noop("专任教师（按专业技术职务等级）"), [*TITLE_GRADES, gettext_noop("未定职级")],
                  lambda r: r["title_grade"] or gettext_noop("未定职级")),
        _teachers(rows["ages"], "基础基423", gettext_noop("专任教师（按年龄）"), [label for label, _low in AGE_BANDS],
                  lambda r: _age_band(census_year - r["birth_year"]), note=gettext_noop("年龄 = 统计时点所在年 − 出生年")),
        _teachers(rows["subjects"], "基础基424", gettext_noop("专任教师（按主要任教学科）"),
                  [*SUBJECT_NAMES.values(), NO_SUBJECT], lambda r: SUBJECT_NAMES.get(r["subject"], NO_SUBJECT),
                  note=gettext_noop("按记录中第一个任教学科归类")),
        _floor_area(rows["buildings"]),
        _assets(rows["assets"]),
    ]


Fold = Callable[..., list[BaseTable]]  # (rows by source key, snapshot, *, one_school) → tables


def generate(actor: Actor, region: Region, snapshot: Snapshot, *, school_id: int | None = None) -> list[BaseTable]:
    """The base tables of ``region`` in the actor's scope — or of one school (``school_id``, or the
    school of a school user), whose 111 is then its identity rather than a count."""
    return tables_of(SOURCES, _fold, actor, region, snapshot, school_id=school_id)


def tables_of(sources: dict[str, Source], fold: Fold, actor: Actor, region: Region, snapshot: Snapshot, *,
              school_id: int | None = None) -> list[BaseTable]:
    """One series' tables: one grouped query per source, folded."""
    own = scope_of(actor).school_id
    school_id = school_id if school_id is not None else own
    rows = {key: _rows(source, actor, region, snapshot, school_id) for key, source in sources.items()}
    return fold(rows, snapshot, one_school=school_id is not None)


def every_school(snapshot: Snapshot) -> Iterator[tuple[int, list[BaseTable]]]:
    """Every school's base tables from a snapshot (the schools open at the census), set-based:
    one grouped query per source over the whole snapshot, folded school by school."""
    return school_tables(snapshot)


def school_tables(snapshot: Snapshot, *, under: str = "") -> Iterator[tuple[int, list[BaseTable]]]:
    """``every_school`` for the schools whose region path starts with ``under``.

    Each source's rows come sorted by school; the streams are walked side by side, so only one
    school's rows are held at a time, whatever the size of the province."""
    return tables_per_school(SOURCES, _fold, snapshot, under=under)


def tables_per_school(sources: dict[str, Source], fold: Fold, snapshot: Snapshot, *,
                      under: str = "") -> Iterator[tuple[int, list[BaseTable]]]:
    """One series' ``school_tables``: the schools of its ``schools`` source, each folded."""
    streams = {key: _Cursor(_stream(source, snapshot, under)) for key, source in sources.items()}
    schools = streams.pop("schools")
    while (row := schools.peek()) is not None:
        school_id = row["school_id"]
        rows = {"schools": schools.take(school_id)}
        for key, stream in streams.items():
            stream.skip_before(school_id)  # rows of schools no longer open at the census
            rows[key] = stream.take(school_id)
        yield school_id, fold(rows, snapshot, one_school=True)


class _Cursor:
    """A stream of rows sorted by school that hands out one school's rows at a time."""

    def __init__(self, rows: Iterable[dict]) -> None:
        self._rows = iter(rows)
        self._next: dict | None = next(self._rows, None)

    def peek(self) -> dict | None:
        return self._next

    def skip_before(self, school_id: int) -> None:
        while self._next is not None and self._next["school_id"] < school_id:
            self._next = next(self._rows, None)

    def take(self, school_id: int) -> list[dict]:
        taken = []
        while self._next is not None and self._next["school_id"] == school_id:
            taken.append(self._next)
            self._next = next(self._rows, None)
        return taken


# --------------------------------------------------------------------------------------------
# Validation relationships (DOMAIN §2.3)


@dataclass(frozen=True)
class Finding:
    rule: str
    holds: bool | None  # None: 不可核验 — the records do not hold the rule's inputs (``detail`` says why)
    detail: str

    @property
    def status(self) -> str:
        return {True: gettext_noop("通过"), False: gettext_noop("不通过"), None: gettext_noop("不可核验")}[self.holds]


def _unverifiable(rule: str, why: str) -> Finding:
    return Finding(rule, None, why)


_HAN = re.compile(r"[\u4e00-\u9fff]")


RowsOf = Callable[[Source], list[dict]]  # a source's rows for the region (or school) being checked


def rows_reader(actor: Actor, region: Region, snapshot: Snapshot, school_id: int | None) -> RowsOf:
    """Each source's rows read for a region (or one of its schools) in the actor's scope."""
    return lambda source: _rows(source, actor, region, snapshot, school_id)


def check(tables: list[BaseTable], actor: Actor, region: Region, snapshot: Snapshot, *,
          school_id: int | None = None) -> list[Finding]:
    """The validation relationships between the tables (DOMAIN §2.3 V2–V12) and with the snapshot's
    figures. A rule whose inputs the platform does not record is reported 不可核验, with the reason."""
    school_id = school_id if school_id is not None else scope_of(actor).school_id
    return findings(tables, rows_reader(actor, region, snapshot, school_id), snapshot,
                    county=region.level == "county" and school_id is None)


def findings(tables: list[BaseTable], rows_of: RowsOf, snapshot: Snapshot, *, county: bool) -> list[Finding]:
    """``check`` over rows however they were read: one grouped query per source (a page), or summed
    from every school's rows at once (``basetables.stored``). ``county``: a county's own tables."""
    by_code = {t.code: t for t in tables}

    def source(key: str) -> list[dict]:
        return rows_of(SOURCES[key])

    students = source("students")
    census_year = snapshot.census_date.year
    period = Said(gettext_noop("%(start)s 至 %(end)s"), start=f"{snapshot.school_year - 1}-09-01",
                  end=f"{snapshot.school_year}-08-31")

    def total(measure: str, *, stage: Stage | None = None, grade: str | None = None) -> int:
        return sum(r[measure] or 0 for r in students
                   if (stage is None or r["stage"] == stage) and (grade is None or r["grade"] == grade))

    found: list[Finding] = []
    found += _check_classes(rows_of, students)
    # V3, V4: entrants of primary and junior school are their first grade. 招生 is first entry into
    # the stage (stats.definitions.NEW_ENTRANTS): pupils who transferred into the first grade after
    # the start of the school year are in its 在校生 but not in 招生, so they are set aside.
    for rule, stage, first in ((gettext_noop("V3 小学招生数 = 一年级在校生数"), Stage.PRIMARY, "11"),
                               (gettext_noop("V4 初中招生数 = 初一在校生数"), Stage.JUNIOR, "21")):
        entrants, first_grade = total("new_entrants", stage=stage), total("enrolled", grade=first)
        moved_in = total("transfers_in", grade=first)
        detail = Said(gettext_noop("招生 %(entrants)s，%(grade)s在校生 %(enrolled)s"), entrants=entrants,
                      grade=BY_CODE[first].name, enrolled=first_grade)
        if moved_in:
            detail = Said(gettext_noop("招生 %(entrants)s，%(grade)s在校生 %(enrolled)s（其中本学年转入 %(moved_in)s，不计入招生）"),
                          entrants=entrants, grade=BY_CODE[first].name, enrolled=first_grade, moved_in=moved_in)
        found.append(Finding(rule, entrants == first_grade - moved_in, detail))
    found.append(_unverifiable(gettext_noop("V3 小学招生数 ≥ 受过学前教育的人数"), gettext_noop("学籍记录没有“是否受过学前教育”一项，无法核验")))
    if county:
        graduates, entrants = total("prior_graduates", grade="16"), total("new_entrants", grade="21")
        rule = gettext_noop("V4 县内小学毕业生（上学年）≥ 初一招生")
        if graduates == 0 and entrants:
            found.append(_unverifiable(rule, Said(gettext_noop(
                "记录中没有上学年（%(period)s）的小学毕业记录（平台启用晚于上学年末？），无法核验；初一招生 %(entrants)s"),
                period=period, entrants=entrants)))
        else:
            found.append(Finding(rule, graduates >= entrants, Said(gettext_noop("小学毕业生 %(graduates)s，初一招生 %(entrants)s"),
                                                                    graduates=graduates, entrants=entrants)))
    # V5: the final grades' students are the expected graduates.
    for rule, stage, last in ((gettext_noop("V5 六年级在校生 = 小学预计毕业生"), Stage.PRIMARY, "16"),
                              (gettext_noop("V5 初三在校生 = 初中预计毕业生"), Stage.JUNIOR, "23")):
        expected, final = total("expected_graduates", stage=stage), total("enrolled", grade=last)
        found.append(Finding(rule, expected == final, Said(gettext_noop(
            "%(grade)s在校生 %(enrolled)s，预计毕业生 %(expected)s（预计毕业生按学年升级的毕业条件统计）"),
            grade=BY_CODE[last].name, enrolled=final, expected=expected)))
    # V6: kindergartens.
    entrants, enrolled = total("new_entrants", stage=Stage.PRESCHOOL), total("enrolled", stage=Stage.PRESCHOOL)
    found.append(Finding(gettext_noop("V6 幼儿园入园人数 ≤ 在园人数"), entrants <= enrolled,
                         Said(gettext_noop("入园 %(entrants)s，在园 %(enrolled)s"), entrants=entrants, enrolled=enrolled)))
    leavers: dict[int, int] = defaultdict(int)
    for r in students:
        if r["stage"] == Stage.PRESCHOOL and r["prior_graduates"]:
            leavers[census_year - r["cohort"]] += r["prior_graduates"]
    rule = gettext_noop("V6 离园幼儿应为 6 周岁")
    if not leavers:
        found.append(_unverifiable(rule, Said(gettext_noop("记录中没有上学年（%(period)s）的离园记录，无法核验"), period=period)))
    else:
        other = sum(n for age, n in leavers.items() if age != 6)
        found.append(Finding(rule, other == 0, Said(gettext_noop("离园 %(leavers)s 人，其中不是 6 周岁的 %(other)s 人"),
                                                    leavers=sum(leavers.values()), other=other)))
    # V7: backbone teachers.
    staff = by_code["基础基411"]
    teachers = staff.cell("教职工", "专任教师")
    backbone = sum(r["backbone"] or 0 for r in source("posts"))
    found.append(Finding(gettext_noop("V7 县级及以上骨干教师 ≤ 专任教师"), backbone <= teachers,
                         Said(gettext_noop("骨干教师 %(backbone)s，专任教师 %(teachers)s"), backbone=backbone, teachers=teachers)))
    found.append(_unverifiable(gettext_noop("V7 有骨干教师时基础基442（教师培训）不得为空"), gettext_noop("教师培训情况不在平台记录中，无法核验")))
    # V8, V9: inputs the platform does not record.
    found.append(_unverifiable(gettext_noop("V8 基础基112 实验仪器达标时，基础基522 教学仪器设备值 > 0"),
                               gettext_noop("“实验仪器是否达标”（基础基112）不在平台记录中，无法核验")))
    found.append(_unverifiable(gettext_noop("V8 有校园网时，基础基111 有网址且基础基531 有出口带宽"),
                               gettext_noop("“是否有校园网”与出口带宽（基础基531）不在平台记录中，无法核验")))
    found.append(_unverifiable(gettext_noop("V9 上年体检学生数 ≤ 上年招生数且 ≥ 其 80%"), gettext_noop("学生体检情况不在平台记录中，无法核验")))
    found += _check_schools(source("schools"))
    # V12 and the tables' agreement with each other.
    students_311 = by_code["基础基311"]
    enrolled = total("enrolled")
    total_311 = students_311.cell(TOTAL, TOTAL)
    found.append(Finding(gettext_noop("V12 在校生 = 各年级在校生之和"), total_311 == enrolled,
                         Said(gettext_noop("基础基311 合计 %(total)s，快照在校生 %(enrolled)s"), total=total_311, enrolled=enrolled)))
    found.append(Finding(gettext_noop("V12 专任教师 ≤ 教职工"), teachers <= staff.cell("教职工", TOTAL),
                         Said(gettext_noop("专任教师 %(teachers)s，教职工 %(staff)s"), teachers=teachers,
                              staff=staff.cell("教职工", TOTAL))))
    headcount = sum(r["staff"] or 0 for r in source("posts") if r["post_category"] in HEADCOUNT_CATEGORIES)
    parts = sum(staff.cell("教职工", label) for _c, label in POSTS)
    found.append(Finding(gettext_noop("V12 教职工各类之和 = 教职工数"), parts == staff.cell("教职工", TOTAL) == headcount,
                         Said(gettext_noop("各类之和 %(parts)s，基础基411 合计 %(total)s，快照教职工 %(headcount)s"),
                              parts=parts, total=staff.cell("教职工", TOTAL), headcount=headcount)))
    others = {code: by_code[code].cell("专任教师", TOTAL) for code in ("基础基4211", "基础基422", "基础基423", "基础基424")}
    found.append(Finding(gettext_noop("基础基4211、422、423、424 专任教师合计 = 基础基411 专任教师"),
                         all(n == teachers for n in others.values()),
                         "；".join(f"{code[3:]} {n}" for code, n in others.items()) + f"；411 {teachers}"))
    area = by_code["基础基512"]
    parts_area = sum(area.cell(label, "建筑面积") for _f, label in USE_ROWS)
    found.append(Finding(gettext_noop("基础基512 各用途面积之和 = 建筑面积"), parts_area == area.cell(TOTAL, "建筑面积"),
                         Said(gettext_noop("各用途 %(parts)s，合计 %(total)s"), parts=parts_area, total=area.cell(TOTAL, "建筑面积"))))
    return found


# The class rows V2 reads besides the tables: placed pupils per grade, classes per school and grade
# (parallel classes), the largest kindergarten class.
def _basic_classes(snapshot: Snapshot) -> Q:
    return Q(school_year=snapshot.school_year) & students_of(BASIC)


PRESCHOOL_GRADES = tuple(g.code for g in grades_of_stage(Stage.PRESCHOOL))
CHECK_SOURCES: dict[str, Source] = {
    "placed": Source(ClassRollup, ("grade",), ("students",), condition=_basic_classes),
    "parallel": Source(ClassRollup, ("school_id", "grade"), ("classes",), condition=_basic_classes),
    "largest": Source(ClassRollup, (), maxima=("largest",),
                      condition=lambda snapshot: _basic_classes(snapshot) & Q(grade__in=PRESCHOOL_GRADES)),
}


def _check_classes(rows_of: RowsOf, students: list[dict]) -> list[Finding]:
    """V2: classes against students, parallel classes per grade, the kindergarten class limit."""
    enrolled: dict[str, int] = defaultdict(int)
    for r in students:
        enrolled[r["grade"]] += r["enrolled"] or 0
    placed = {r["grade"]: r["students"] for r in rows_of(CHECK_SOURCES["placed"])}
    over = [BY_CODE[g].name if g in BY_CODE else g for g, n in placed.items() if n > enrolled.get(g, 0)]
    found = [Finding(gettext_noop("V2 各年级编班学生数不超过该年级在校生"), not over,
                     Said(gettext_noop("%(grades)s 编班人数超过在校生"), grades="、".join(over)) if over else
                     Said(gettext_noop("编班学生 %(placed)s，在校生 %(enrolled)s"), placed=sum(placed.values()),
                          enrolled=sum(enrolled.values()))),
             Finding(gettext_noop("V2 无五年制小学、四年制初中的班级"), True,
                     gettext_noop("年级代码只有一至六年级（小学）和初一至初三（初中），平台登记不了五年制小学或四年制初中的班级"))]
    too_many = []
    # In school and grade order, so the findings read the same however the rows were fetched.
    for r in sorted(rows_of(CHECK_SOURCES["parallel"]), key=lambda r: (r["school_id"], r["grade"])):
        grade = BY_CODE.get(r["grade"])
        limit = MAX_PARALLEL.get(grade.stage) if grade else None
        if limit is not None and r["classes"] > limit:
            too_many.append(Said(gettext_noop("%(grade)s %(classes)s 个班（上限 %(limit)s）"), grade=grade.name,
                                 classes=r["classes"], limit=limit))
    listed = Said("；".join(f"%(p{i})s" for i in range(len(too_many[:5]))), **{f"p{i}": t for i, t in enumerate(too_many[:5])})
    many = Said(gettext_noop("%(places)s 等 %(count)s 处"), places=listed, count=len(too_many)) if len(too_many) > 5 else listed
    found.append(Finding(gettext_noop("V2 平行班数：幼儿园 ≤ 10，小学、初中 ≤ 20，高中 ≤ 30（每校每年级）"), not too_many,
                         many if too_many else Said(gettext_noop("各校各年级平行班数均在上限以内"))))
    largest_rows = rows_of(CHECK_SOURCES["largest"])
    largest = (largest_rows[0]["largest"] if largest_rows else None) or 0
    found.append(Finding(Said(gettext_noop("V2 幼儿园每班不超过 %(limit)s 人"), limit=KINDERGARTEN_CLASS_LIMIT),
                         largest <= KINDERGARTEN_CLASS_LIMIT,
                         Said(gettext_noop("最大班额 %(largest)s 人"), largest=largest) if largest else gettext_noop("没有幼儿园班级")))
    return found


def _check_schools(schools: list[dict]) -> list[Finding]:
    """V10 over the schools in view: coordinates unique, addresses of at least 6 Chinese characters."""
    places: dict[tuple, int] = defaultdict(int)
    missing = 0
    for s in schools:
        if s["longitude"] is None or s["latitude"] is None:
            missing += 1
        else:
            places[(s["longitude"], s["latitude"])] += 1
    shared = sum(n for n in places.values() if n > 1)
    detail = (Said(gettext_noop("%(shared)s 所学校与其他学校经纬度相同"), shared=shared) if shared else
              Said(gettext_noop("%(count)s 所学校经纬度互不相同"), count=len(schools) - missing))
    if missing:
        detail = Said(gettext_noop("%(detail)s；%(missing)s 所未填经纬度"), detail=detail, missing=missing)
    # In school-code order, so the names listed read the same however the rows were fetched.
    short = [s["name"] for s in sorted(schools, key=lambda s: (s.get("school_code") or "", s["name"]))
             if len(_HAN.findall(s["address"] or "")) < 6]
    return [
        Finding(gettext_noop("V10 学校经纬度互不相同（本范围内）"), shared == 0, detail),
        Finding(gettext_noop("V10 学校地址不少于 6 个汉字"), not short,
                (Said(gettext_noop("%(names)s 等 %(count)s 所 的地址不足 6 个汉字"), names="、".join(short[:5]), count=len(short))
                 if len(short) > 5 else Said(gettext_noop("%(names)s 的地址不足 6 个汉字"), names="、".join(short)))
                if short else Said(gettext_noop("%(count)s 所学校的地址均不少于 6 个汉字"), count=len(schools))),
    ]
