"""The standard base tables (基表) of basic education, generated from a census snapshot.

Each table is a grid summed from one frozen roll-up: the rows and columns are dimensions of that
roll-up, the cells a measure, and the 合计 row and column are sums of the cells (rule V1 of
DOMAIN §2.3 holds by construction). ``check`` then tests the relationships between tables and
with the snapshot's other figures (V2, V12 and the 512 identity) and says which hold.

Tables (DOMAIN §2.2): 基础基213 classes by grade × size band; 基础基311 students by grade × age,
with 女 and 少数民族; 基础基411 staff by post category; 基础基422 full-time teachers by title grade;
基础基512 floor area by use with 危房 and rented area.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db.models import F, IntegerField, QuerySet, Sum, Value

from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor
from eduplatform.stats.models import (
    BuildingRollup,
    ClassRollup,
    Snapshot,
    StaffRollup,
    StudentRollup,
)
from eduplatform.stats.rollup import SIZE_BANDS
from eduplatform.stats.selectors import FULL_TIME_TEACHER, figures
from eduplatform.students.grades import GRADES

TOTAL = "合计"
# 基础基411: the headcount's parts (staff_category_k12 1–5), then those outside it (6 代课, 7 兼任).
POSTS = (("1", "专任教师"), ("2", "行政人员"), ("3", "教辅人员"), ("4", "工勤人员"), ("5", "校办企业职工"))
OUTSIDE_HEADCOUNT = (("6", "代课教师"), ("7", "兼任教师"))
TITLE_GRADES = ("正高级", "副高级", "中级", "助理级", "员级", "初级")
USE_ROWS = (("teaching_area", "教学及辅助用房"), ("admin_area", "行政办公用房"), ("living_area", "生活用房"),
            ("other_area", "其他用房"))


@dataclass
class BaseTable:
    code: str
    title: str
    columns: list[str]  # headers after the row label; the first is 合计 where the table has one
    rows: list[tuple[str, list]] = field(default_factory=list)  # (row label, cells)

    def cell(self, row: str, column: str):
        return dict(self.rows)[row][self.columns.index(column)]


def _grid(code: str, title: str, pairs: dict[tuple[str, str], object], row_labels: Sequence[str],
          column_labels: Sequence[str], *, extra: dict[str, dict[str, object]] | None = None) -> BaseTable:
    """A table with a 合计 column and a 合计 first row, summed from the (row, column) cells;
    ``extra`` adds columns (e.g. 其中：女) given per row, summed into 合计 as well."""
    extra = extra or {}
    columns = [TOTAL, *column_labels, *extra]
    body = []
    for label in row_labels:
        cells = [pairs.get((label, c), 0) for c in column_labels]
        body.append((label, [sum(cells), *cells, *[extra[e].get(label, 0) for e in extra]]))
    body = [(label, cells) for label, cells in body if any(cells)]  # grades the region does not have are left out
    total = [sum(cells[i] for _l, cells in body) for i in range(len(columns))]
    return BaseTable(code, title, columns, [(TOTAL, total), *body])


def _sums(qs: QuerySet, by: Sequence[str], measure: str) -> list[dict]:
    return list(qs.values(*by).annotate(n=Sum(measure)).order_by())


def classes_by_size(actor: Actor, region: Region, snapshot: Snapshot) -> BaseTable:
    rows = _sums(figures(ClassRollup, actor, region, snapshot).filter(school_year=snapshot.school_year),
                 ("grade", "size_band"), "classes")
    names = {g.code: g.name for g in GRADES}
    pairs = {(names.get(r["grade"], r["grade"]), r["size_band"]): r["n"] for r in rows}
    return _grid("基础基213", "班数（按班额）", pairs, [g.name for g in GRADES], [b for b, _low in SIZE_BANDS])


def students_by_age(actor: Actor, region: Region, snapshot: Snapshot) -> BaseTable:
    """Ages in full years on 31 August of the census year (``census year − cohort``)."""
    census_year = snapshot.census_date.year
    qs = figures(StudentRollup, actor, region, snapshot).annotate(
        age=Value(census_year, output_field=IntegerField()) - F("cohort"))
    names = {g.code: g.name for g in GRADES}
    pairs: dict[tuple[str, str], int] = {}
    ages: set[int] = set()
    for r in _sums(qs, ("grade", "age"), "enrolled"):
        if r["n"]:
            ages.add(r["age"])
            pairs[(names.get(r["grade"], r["grade"]), f"{r['age']}岁")] = r["n"]
    women = {names.get(r["grade"], r["grade"]): r["n"] for r in _sums(qs.filter(gender="2"), ("grade",), "enrolled")}
    minority = {names.get(r["grade"], r["grade"]): r["n"] for r in _sums(qs, ("grade",), "minority")}
    return _grid("基础基311", "在校生（分年级、分年龄）", pairs, [g.name for g in GRADES],
                 [f"{a}岁" for a in sorted(ages)], extra={"其中：女": women, "其中：少数民族": minority})


def staff_by_post(actor: Actor, region: Region, snapshot: Snapshot) -> BaseTable:
    qs = figures(StaffRollup, actor, region, snapshot)
    posts = dict(POSTS + OUTSIDE_HEADCOUNT)

    def by_post(q: QuerySet) -> dict[str, int]:
        return {posts.get(r["post_category"], "其他"): r["n"] for r in _sums(q, ("post_category",), "staff")}

    rows = {"教职工": by_post(qs), "其中：女": by_post(qs.filter(gender="2")), "其中：在编": by_post(qs.filter(establishment="1"))}
    headcount = [label for _c, label in POSTS]
    outside = [label for _c, label in OUTSIDE_HEADCOUNT]
    table = BaseTable("基础基411", "教职工（按岗位类别；代课、兼任教师不计入教职工数）", [TOTAL, *headcount, *outside])
    for label, cells in rows.items():
        parts = [cells.get(h, 0) for h in headcount]
        table.rows.append((label, [sum(parts), *parts, *[cells.get(o, 0) for o in outside]]))
    return table


def teachers_by_title(actor: Actor, region: Region, snapshot: Snapshot) -> BaseTable:
    qs = figures(StaffRollup, actor, region, snapshot).filter(post_category=FULL_TIME_TEACHER)

    def by_title(q: QuerySet) -> dict[str, int]:
        return {(r["title_grade"] or "未定职级"): r["n"] for r in _sums(q, ("title_grade",), "staff")}

    columns = [*TITLE_GRADES, "未定职级"]
    table = BaseTable("基础基422", "专任教师（按专业技术职务等级）", [TOTAL, *columns])
    for label, q in (("专任教师", qs), ("其中：女", qs.filter(gender="2"))):
        cells = by_title(q)
        parts = [cells.get(c, 0) for c in columns]
        table.rows.append((label, [sum(parts), *parts]))
    return table


def floor_area_by_use(actor: Actor, region: Region, snapshot: Snapshot) -> BaseTable:
    measures = ("total_area", *[f for f, _l in USE_ROWS], "dangerous_area", "rented_area")
    sums = figures(BuildingRollup, actor, region, snapshot).aggregate(**{m: Sum(m) for m in measures})
    area = {m: (sums[m] or decimal.Decimal(0)).quantize(decimal.Decimal("0.01")) for m in measures}
    table = BaseTable("基础基512", "校舍建筑面积（㎡，按用途）", ["建筑面积"])
    table.rows.append((TOTAL, [area["total_area"]]))
    table.rows += [(label, [area[f]]) for f, label in USE_ROWS]
    table.rows += [("其中：危房", [area["dangerous_area"]]), ("其中：租借", [area["rented_area"]])]
    return table


TABLES: tuple[Callable[[Actor, Region, Snapshot], BaseTable], ...] = (
    classes_by_size, students_by_age, staff_by_post, teachers_by_title, floor_area_by_use,
)


def generate(actor: Actor, region: Region, snapshot: Snapshot) -> list[BaseTable]:
    return [make(actor, region, snapshot) for make in TABLES]


@dataclass(frozen=True)
class Finding:
    rule: str
    holds: bool
    detail: str


def check(tables: list[BaseTable], actor: Actor, region: Region, snapshot: Snapshot) -> list[Finding]:
    """The validation relationships between the tables (DOMAIN §2.3) and the snapshot's figures."""
    by_code = {t.code: t for t in tables}
    found: list[Finding] = []
    students = by_code["基础基311"]
    enrolled = figures(StudentRollup, actor, region, snapshot).aggregate(n=Sum("enrolled"))["n"] or 0
    total_311 = students.cell(TOTAL, TOTAL)
    found.append(Finding("V12 在校生 = 各年级在校生之和", total_311 == enrolled,
                         f"基础基311 合计 {total_311}，快照在校生 {enrolled}"))
    classes = by_code["基础基213"]
    class_students = {r["grade"]: r["n"] for r in _sums(
        figures(ClassRollup, actor, region, snapshot).filter(school_year=snapshot.school_year), ("grade",), "students")}
    names = {g.code: g.name for g in GRADES}
    over = [names.get(g, g) for g, n in class_students.items()
            if n > dict(students.rows).get(names.get(g, g), [0])[0]]
    found.append(Finding("V2 各年级编班学生数不超过该年级在校生", not over,
                         "、".join(over) + " 编班人数超过在校生" if over else f"基础基213 共 {classes.cell(TOTAL, TOTAL)} 个班"))
    staff = by_code["基础基411"]
    teachers = by_code["基础基422"]
    found.append(Finding("V12 专任教师 ≤ 教职工", staff.cell("教职工", "专任教师") <= staff.cell("教职工", TOTAL),
                         f"专任教师 {staff.cell('教职工', '专任教师')}，教职工 {staff.cell('教职工', TOTAL)}"))
    found.append(Finding("基础基422 专任教师合计 = 基础基411 专任教师", teachers.cell("专任教师", TOTAL)
                         == staff.cell("教职工", "专任教师"),
                         f"{teachers.cell('专任教师', TOTAL)} / {staff.cell('教职工', '专任教师')}"))
    area = by_code["基础基512"]
    parts = sum(area.cell(label, "建筑面积") for _f, label in USE_ROWS)
    found.append(Finding("基础基512 各用途面积之和 = 建筑面积", parts == area.cell(TOTAL, "建筑面积"),
                         f"各用途 {parts}，合计 {area.cell(TOTAL, '建筑面积')}"))
    return found
