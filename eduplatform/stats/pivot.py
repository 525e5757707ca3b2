"""The pivot: any one or two dimensions of a roll-up as rows and columns, one measure, for any
region in the user's jurisdiction, live or as frozen in a census snapshot.

A cell is one grouped SUM over the per-school roll-up rows, never over the raw records. The
"area" dimension is the region's children (or its schools, at the bottom of the tree or for a
school user): it groups by the fixed-length prefix of the roll-up's region path, so a province
pivot returns 21 groups per column, not 35,000 schools.

For live figures, each cell carries the record-list query that selects the
records it counts (``stats.links``): the same dimension values as list filters, tested to give the
same number.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Case, Expression, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, scope_of, scoped
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.staff import codes as staff_codes
from eduplatform.staff.schema import STAFF_SCHEMA
from eduplatform.standards import codebook
from eduplatform.stats import definitions
from eduplatform.stats.basetables.basic import SPONSOR_GROUPS, URBAN_GROUPS
from eduplatform.stats.links import BLANK
from eduplatform.stats.models import (
    COUNTY_PATH_LENGTH,
    BuildingRollup,
    ClassRollup,
    SchoolRollup,
    Snapshot,
    StaffRollup,
    StudentCountyRollup,
    StudentRollup,
)
from eduplatform.stats.rollup import SIZE_BANDS, school_year_of
from eduplatform.stats.selectors import CENT, county_rollup_serves, figures
from eduplatform.students.grades import GRADES
from eduplatform.students.schema import LEVELS

AREA = "area"
TOTAL = gettext_lazy("合计")
GENDERS = {"1": gettext_lazy("男"), "2": gettext_lazy("女")}
# 教职工 age bands as staff statistics group them (基础基423-style): (label, lowest age).
AGE_BANDS: tuple[tuple[str, int], ...] = (
    (gettext_lazy("24岁及以下"), 0), (gettext_lazy("25-29岁"), 25), (gettext_lazy("30-34岁"), 30),
    (gettext_lazy("35-39岁"), 35), (gettext_lazy("40-44岁"), 40), (gettext_lazy("45-49岁"), 45),
    (gettext_lazy("50-54岁"), 50), (gettext_lazy("55-59岁"), 55), (gettext_lazy("60岁及以上"), 60),
)


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    # The grouping expression for a census year (age needs it); None for the area dimension.
    expression: Callable[[int], Expression] | None
    labels: Callable[[], dict] = dict  # value → display label
    order: Callable[[object], object] = str  # sort key of a value


def _field(name: str) -> Callable[[int], Expression]:
    return lambda _year: F(name)


def _age(year: int) -> Expression:
    # StudentFigures.cohort: a pupil's age on 31 August of ``year`` is ``year - cohort``.
    return Value(year, output_field=IntegerField()) - F("cohort")


def _age_band(year: int) -> Expression:
    whens = [When(birth_year__lte=year - low, then=Value(i)) for i, (_l, low) in reversed(list(enumerate(AGE_BANDS)))]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def _code_labels(field_name: str) -> Callable[[], dict]:
    return lambda: dict(STAFF_SCHEMA.choices_of(field_name))


_GRADE_ORDER = {g.code: i for i, g in enumerate(GRADES)}
_BAND_ORDER = {label: i for i, (label, _low) in enumerate(SIZE_BANDS)}


def _band_labels() -> dict[str, str]:
    """基础基211 bands, those of 大班额 and 超大班额 labelled as such (``definitions.band_name``)."""
    return {band: f"{band}（{definitions.band_name(band)}）" if definitions.band_name(band) else band
            for band, _low in SIZE_BANDS}


# 班额分档: each class in one labelled band (``definitions.NAMED_BANDS``), for the 大班额 question.
SIZE_CLASSES = ("55人及以下", "大班额", "超大班额")
# The values are data keys (the grouping expression's values and a URL parameter); the labels are shown.
SIZE_CLASS_LABELS = {
    SIZE_CLASSES[0]: gettext_lazy("55 人及以下"),
    SIZE_CLASSES[1]: format_lazy(gettext_lazy("大班额（{low}–65 人）"), low=definitions.LARGE_CLASS_SIZE),
    SIZE_CLASSES[2]: format_lazy(gettext_lazy("超大班额（{low} 人及以上）"), low=definitions.SUPER_LARGE_CLASS_SIZE),
}


def _size_class(_year: int) -> Expression:
    from django.db.models import CharField

    return Case(When(size_band__in=definitions.SUPER_LARGE_BANDS, then=Value(SIZE_CLASSES[2])),
                When(size_band__in=definitions.LARGE_BANDS, then=Value(SIZE_CLASSES[1])),
                default=Value(SIZE_CLASSES[0]), output_field=CharField())
_TITLE_ORDER = {t: i for i, t in enumerate(("正高级", "副高级", "中级", "助理级", "员级", "初级", ""))}
AREA_DIMENSION = Dimension(AREA, gettext_lazy("区域 / 学校"), None)
STAGE = Dimension("stage", gettext_lazy("学段"), _field("stage"), lambda: {int(s): label for s, label in STAGE_LABELS.items()}, int)
GRADE = Dimension("grade", gettext_lazy("年级"), _field("grade"), lambda: {g.code: g.name for g in GRADES},
                  lambda v: _GRADE_ORDER.get(v, 99))
GENDER = Dimension("gender", gettext_lazy("性别"), _field("gender"), lambda: GENDERS)


@dataclass(frozen=True)
class Subject:
    key: str
    label: str
    model: type
    measures: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    list_url: str = ""  # the record list a live cell links to ("" when it has none)
    # Per measure, the list parameters (status, flags) that select what it counts.
    measure_links: dict[str, dict[str, str]] = field(default_factory=dict)
    school_param: str = "school"  # the list's parameter for one school

    def measure_choices(self) -> list[tuple[str, str]]:
        return [(m, str(self.model._meta.get_field(m).verbose_name)) for m in self.measures]

    def dimension(self, key: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.key == key), None)


# Measures of the student list that a link selects by a flag or a status, not by the active list.
STUDENT_MEASURE_FILTERS: dict[str, dict[str, str]] = {
    "enrolled": {"status": "active"}, "suspended": {"status": "suspended"},
    "minority": {"status": "active", "flag": "minority"}, "migrant": {"status": "active", "flag": "migrant_child"},
    "left_behind": {"status": "active", "flag": "left_behind"}, "disabled": {"status": "active", "flag": "disabled"},
    "boarding": {"status": "active", "flag": "boarding"}, "new_entrants": {"status": "active", "flag": "new_entrant"},
    "graduates": {"status": "all", "flag": "graduated"},
}
STAFF_MEASURE_FILTERS: dict[str, dict[str, str]] = {
    "staff": {"status": "active"}, "backbone": {"status": "active", "flag": "backbone"},
    "head_teachers": {"status": "active", "flag": "head_teacher"},
    "dual_qualified": {"status": "active", "flag": "dual_qualified"},
    "qualified": {"status": "active", "flag": "qualified"},
}


BUILDING_MEASURES = ("total_area", "teaching_area", "admin_area", "living_area", "other_area", "dangerous_area",
                     "rented_area", "buildings")
SUBJECTS: tuple[Subject, ...] = (
    Subject("students", gettext_lazy("学生"), StudentRollup,
            ("enrolled", "suspended", "minority", "migrant", "left_behind", "disabled", "boarding", "new_entrants",
             "graduates"),
            (AREA_DIMENSION, STAGE, GRADE, GENDER,
             Dimension("age", gettext_lazy("年龄（8月31日周岁）"), _age, dict, int),
             Dimension("level", gettext_lazy("培养层次"), _field("level"), lambda: {"": gettext("（不分层次）"), **dict(LEVELS)})),
            "students:list", STUDENT_MEASURE_FILTERS),
    Subject("classes", gettext_lazy("班级"), ClassRollup, ("classes", "students"),
            (AREA_DIMENSION, STAGE, GRADE,
             Dimension("size_band", gettext_lazy("班额"), _field("size_band"), _band_labels, lambda v: _BAND_ORDER.get(v, 99)),
             Dimension("size_class", gettext_lazy("班额分档（大班额）"), _size_class, lambda: SIZE_CLASS_LABELS,
                       lambda v: SIZE_CLASSES.index(v) if v in SIZE_CLASSES else 9)),
            "students:classes", {"classes": {}, "students": {}}),
    # Every person in post, 代课 and 兼任 included (the staff list it opens shows them all): not the
    # official 教职工 headcount (stats.definitions.STAFF), so it does not carry that name.
    Subject("staff", gettext_lazy("在岗人员（含代课、兼任教师）"), StaffRollup, ("staff", "backbone", "head_teachers", "dual_qualified", "qualified"),
            (AREA_DIMENSION,
             Dimension("post_category", gettext_lazy("岗位类别"), _field("post_category"), _code_labels("post_category")),
             Dimension("establishment", gettext_lazy("编制情况"), _field("establishment"), lambda: dict(staff_codes.ESTABLISHMENT)),
             GENDER,
             Dimension("education_level", gettext_lazy("最高学历"), _field("education_level"), _code_labels("education_level")),
             Dimension("title_grade", gettext_lazy("职称等级"), _field("title_grade"), lambda: {"": gettext("未定职级")},
                       lambda v: _TITLE_ORDER.get(v, 9)),
             Dimension("teaching_stage", gettext_lazy("任课学段"), _field("teaching_stage"), _code_labels("teaching_stage")),
             Dimension("subject", gettext_lazy("主要任教学科"), _field("subject"), lambda: dict(staff_codes.TEACHING_SUBJECTS)),
             Dimension("age_band", gettext_lazy("年龄段"), _age_band, lambda: {i: label for i, (label, _l) in enumerate(AGE_BANDS)},
                       int)),
            "staff:list", STAFF_MEASURE_FILTERS, "unit"),
    Subject("buildings", gettext_lazy("校舍"), BuildingRollup,
            BUILDING_MEASURES, (AREA_DIMENSION,), "facilities:list", dict.fromkeys(BUILDING_MEASURES, {})),
)
BY_KEY = {s.key: s for s in SUBJECTS}

# The pivot's filters over the schools' attributes (基础基111's groups) and the stage.
URBAN_CHOICES = tuple(label for label, _prefixes in URBAN_GROUPS)
SPONSOR_CHOICES = tuple(label for label, _prefixes in SPONSOR_GROUPS)
STAGE_FILTERED = {"students", "classes", "staff"}  # buildings belong to a school, not to one of its stages


def school_type_choices() -> list[tuple[str, str]]:
    return sorted(codebook.leaf_codes("school_type").items())


@dataclass(frozen=True)
class PivotFilters:
    """What the pivot counts, narrowed: a stage (students and classes of the stage; staff by
    ``definitions.staff_of_stage``), and the schools' 办学类型, 城乡分类 group and 举办者 group."""

    stage: int = 0
    school_type: str = ""
    urban_rural: str = ""  # a label of URBAN_GROUPS
    sponsor: str = ""  # a label of SPONSOR_GROUPS

    @property
    def by_school(self) -> bool:
        return bool(self.school_type or self.urban_rural or self.sponsor)

    def __bool__(self) -> bool:
        return bool(self.stage) or self.by_school

    def describe(self) -> str:
        parts = []
        if self.stage:
            parts.append(gettext("学段：%(stage)s") % {"stage": definitions.STAGE_NAMES.get(Stage(self.stage), self.stage)})
        if self.school_type:
            parts.append(gettext("办学类型：%(code)s %(name)s") % {
                "code": self.school_type, "name": codebook.code_name("school_type", self.school_type)})
        if self.urban_rural:
            parts.append(gettext("城乡：%(group)s") % {"group": gettext(self.urban_rural)})
        if self.sponsor:
            parts.append(gettext("举办者：%(group)s") % {"group": gettext(self.sponsor)})
        return gettext("；").join(parts)


def _school_condition(filters: PivotFilters) -> Q:
    condition = Q()
    if filters.school_type:
        condition &= Q(school_type_code=filters.school_type)
    for value, groups, field_name in ((filters.urban_rural, URBAN_GROUPS, "urban_rural_code"),
                                      (filters.sponsor, SPONSOR_GROUPS, "sponsor_code")):
        if value:
            prefixes = dict(groups)[value]
            either = Q()
            for prefix in prefixes:
                either |= Q(**{f"{field_name}__startswith": prefix})
            condition &= either
    return condition


def apply_filters(qs, subject: Subject, filters: PivotFilters, actor: Actor, region: Region,
                  snapshot: Snapshot | None):
    """The roll-up rows ``filters`` keep: the schools by their attributes as the census holds them
    (the live school roll-up, or the snapshot's), the stage by the official definitions."""
    if filters.stage and subject.key in STAGE_FILTERED:
        stage = Stage(filters.stage)
        qs = qs.filter(definitions.staff_of_stage(stage)) if subject.key == "staff" else qs.filter(stage=int(stage))
    if filters.by_school:
        schools = figures(SchoolRollup, actor, region, snapshot).filter(_school_condition(filters))
        qs = qs.filter(school_id__in=schools.values("school_id"))
    return qs

@dataclass
class Area:
    """One value of the area dimension: a child region, the region's own schools, or a school."""

    label: str
    region_code: str = ""
    school_code: str = ""
    own_schools_of: str = ""  # region code whose schools sit directly under it (no drill-down, no link)


@dataclass
class PivotRow:
    value: object
    label: str
    cells: list = field(default_factory=list)
    links: list = field(default_factory=list)  # query dicts, parallel to cells (None: no link)
    area: Area | None = None

    @property
    def total(self):
        return sum(self.cells)


@dataclass
class Pivot:
    subject: Subject
    measure: str
    measure_label: str
    region: Region
    school: Organization | None
    snapshot: Snapshot | None
    year: int  # the census year ages are counted for
    row_dimension: Dimension
    column_dimension: Dimension | None
    columns: list[tuple[object, str]]
    rows: list[PivotRow]
    column_totals: list
    total_links: list = field(default_factory=list)
    area_label: str = gettext_lazy("区域")
    filters: PivotFilters = field(default_factory=PivotFilters)

    def dimension_label(self, dim: Dimension | None) -> str:
        return "" if dim is None else (self.area_label if dim.key == AREA else dim.label)

    @property
    def grand_total(self):
        return sum(self.column_totals)

    def table(self) -> tuple[list[str], list[list]]:
        """Headers and rows, totals included, as exported."""
        headers = [self.dimension_label(self.row_dimension), *[label for _v, label in self.columns]]
        if self.column_dimension is not None:
            headers.append(TOTAL)
        data = []
        for row in [*self.rows, PivotRow(None, TOTAL, self.column_totals)]:
            data.append([row.label, *row.cells, *([row.total] if self.column_dimension is not None else [])])
        return headers, data


def census_year(snapshot: Snapshot | None, today: dt.date | None = None) -> int:
    return snapshot.census_date.year if snapshot else school_year_of(today or timezone.localdate())


def _areas(actor: Actor, region: Region, school: Organization | None
           ) -> tuple[Callable[[], Expression], dict, bool, int | None]:
    """How the area dimension groups, what each group value is, whether it lists schools, and the
    length of the region-path prefix it groups by (None when it groups by school)."""
    children = [] if school else list(region.children.filter(abolished_on__isnull=True).order_by("code"))
    if children and scope_of(actor).school_id is None:
        visible = scoped(Region.objects.filter(pk__in=[c.pk for c in children]), actor)
        children = [c for c in children if c.pk in set(visible.values_list("pk", flat=True))]
        lengths = {len(c.path) for c in children}
        if len(lengths) == 1:
            length = lengths.pop()
            areas = {c.path: Area(c.name, region_code=c.code) for c in children}
            own = Area(gettext("%(region)s直属") % {"region": region.name}, own_schools_of=region.code)
            return lambda: Substr("region_path", 1, length), _Areas(areas, own), False, length
    schools = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, region_path__startswith=region.path), actor)
    if school is not None:
        schools = schools.filter(pk=school.pk)
    areas = {o.pk: Area(o.name, school_code=o.school_code or "") for o in schools}
    return lambda: F("school_id"), _Areas(areas, Area(gettext("（其他）"))), True, None


class _Areas(dict):
    """Area lookup by group value; every value outside the visible children (a school sitting
    directly under the region) folds into one row, ``OTHER``."""

    OTHER = "__other__"

    def __init__(self, mapping: dict, other: Area):
        super().__init__(mapping)
        self[self.OTHER] = other

    def key(self, value):
        return value if value in self else self.OTHER


def build_pivot(actor: Actor, region: Region, *, subject: Subject, rows: str, columns: str = "", measure: str,
                snapshot: Snapshot | None = None, school: Organization | None = None,
                today: dt.date | None = None, filters: PivotFilters | None = None) -> Pivot:
    """The figure ``measure`` of ``subject`` by ``rows`` (× ``columns``) under ``region``, narrowed
    by ``filters``."""
    filters = filters or PivotFilters()
    row_dim = subject.dimension(rows)
    col_dim = subject.dimension(columns) if columns else None
    if row_dim is None or (columns and col_dim is None) or measure not in subject.measures or row_dim is col_dim:
        raise ValueError(f"unknown pivot {subject.key}: {rows} × {columns} / {measure}")
    year = census_year(snapshot, today)
    area_expression, areas, lists_schools, area_length = _areas(actor, region, school)
    if (not filters.by_school
            and _county_rollup_answers(actor, region, subject, (row_dim, col_dim), snapshot, school, area_length)):
        qs = scoped(StudentCountyRollup.objects.filter(region_path__startswith=region.path), actor)
    else:
        qs = figures(subject.model, actor, region, snapshot)
    qs = apply_filters(qs, subject, filters, actor, region, snapshot)
    if school is not None:
        qs = qs.filter(school_id=school.pk)
    expressions = {}
    for alias, dim in (("r", row_dim), ("c", col_dim)):
        if dim is not None:
            expressions[alias] = area_expression() if dim.key == AREA else dim.expression(year)
    grouped = qs.annotate(**expressions).values(*expressions).annotate(n=Sum(measure)).order_by()

    cells: dict[tuple, object] = {}
    for item in grouped:
        r, c = item["r"], item.get("c")
        if row_dim.key == AREA:
            r = areas.key(r)
        if col_dim is not None and col_dim.key == AREA:
            c = areas.key(c)
        value = item["n"] or 0
        if isinstance(value, decimal.Decimal | float) or subject.model is BuildingRollup:
            value = decimal.Decimal(str(value)).quantize(CENT)  # SQLite sums decimals as floats
        cells[(r, c)] = cells.get((r, c), 0) + value

    def values_of(dim: Dimension | None, position: int) -> list[tuple[object, str]]:
        if dim is None:
            return [(None, subject.measure_choices()[subject.measures.index(measure)][1])]
        present = {key[position] for key, v in cells.items() if v}
        if dim.key == AREA:
            return [(v, areas[v].label) for v in sorted(present, key=lambda v: _area_order(areas, v))]
        names = dim.labels()
        return [(v, _label(dim, names, v)) for v in sorted(present, key=dim.order)]

    column_values = values_of(col_dim, 1)
    pivot = Pivot(subject, measure, subject.measure_choices()[subject.measures.index(measure)][1], region, school,
                  snapshot, year, row_dim, col_dim, column_values, [], [], filters=filters)
    for r, label in values_of(row_dim, 0):
        row = PivotRow(r, label, [cells.get((r, c), 0) for c, _l in column_values],
                       area=areas[r] if row_dim.key == AREA else None)
        pivot.rows.append(row)
    pivot.column_totals = [sum(row.cells[i] for row in pivot.rows) for i in range(len(column_values))]
    if snapshot is None and subject.list_url:
        for row in pivot.rows:
            row.links = [_link(pivot, areas, row.value, c) for c, _l in column_values]
        pivot.total_links = [_link(pivot, areas, None, c) for c, _l in column_values]
    pivot.area_label = gettext("学校") if lists_schools else gettext("区域")
    return pivot


# The student dimensions the county roll-up keeps (age is read from its cohort).
COUNTY_DIMENSIONS = {AREA, "stage", "grade", "gender", "age", "level"}


def _county_rollup_answers(actor: Actor, region: Region, subject: Subject, dimensions, snapshot: Snapshot | None,
                           school: Organization | None, area_length: int | None) -> bool:
    """Whether a live student pivot can be summed from the county roll-up (a province's pivot then
    sums a few thousand county rows, not millions of school rows): nothing narrower than a county
    is grouped or filtered, and every dimension is one the county roll-up keeps."""
    if subject.model is not StudentRollup or snapshot is not None or school is not None:
        return False
    if any(d is not None and d.key not in COUNTY_DIMENSIONS for d in dimensions):
        return False
    area_used = any(d is not None and d.key == AREA for d in dimensions)
    if area_used and (area_length is None or area_length > COUNTY_PATH_LENGTH):
        return False
    return county_rollup_serves(actor, region.path)


def _area_order(areas: _Areas, value):
    area = areas[value]
    return (1 if area.own_schools_of else 0, area.region_code or area.label)


def _label(dim: Dimension, names: dict, value) -> str:
    if dim.key == "age":
        return gettext("%(age)s岁") % {"age": value}
    if value in names:
        return str(names[value])
    return gettext("未填报") if value in ("", None) else str(value)


def _link(pivot: Pivot, areas: _Areas, row_value, column_value) -> dict | None:
    """The record-list query selecting what a cell counts; None when the records cannot be
    selected exactly (the region's own schools, a cell of the total row with an area column)."""
    subject = pivot.subject
    filters = pivot.filters
    if filters.by_school or (filters.stage and subject.key not in ("students", "classes")):
        return None  # the record lists cannot select by the schools' attributes, nor staff by stage exactly
    params = dict(subject.measure_links[pivot.measure])
    if filters.stage:
        params["stage"] = str(filters.stage)
    if subject.key == "classes":
        params["year"] = str(pivot.year)  # the roll-up holds the classes of the current school year
    if pivot.school is not None:
        params[subject.school_param] = pivot.school.school_code or ""
    else:
        params["region"] = pivot.region.code
    for dim, value in ((pivot.row_dimension, row_value), (pivot.column_dimension, column_value)):
        if dim is None or value is None:  # no column dimension, or the total row
            continue
        if dim.key == AREA:
            area = areas[value]
            if area.own_schools_of or not (area.region_code or area.school_code):
                return None
            if area.region_code:
                params["region"] = area.region_code
            else:
                params.pop("region", None)
                params[subject.school_param] = area.school_code
        elif dim.key == "age":
            params["cohort"] = str(pivot.year - int(value))
        elif dim.key == "age_band":
            params.update(_birth_years(pivot.year, int(value)))
        elif dim.key == "size_class":
            params["size_band"] = str(value)  # a labelled band (definitions.NAMED_BANDS)
        else:
            params[dim.key] = BLANK if value == "" else str(value)
    return params


def _birth_years(year: int, band: int) -> dict[str, str]:
    """Birth years of an age band (``_age_band``): the first band has no lower age, the last no upper."""
    years = {}
    if band > 0:
        years["born_to"] = str(year - AGE_BANDS[band][1])
    if band + 1 < len(AGE_BANDS):
        years["born_from"] = str(year - (AGE_BANDS[band + 1][1] - 1))
    return years
