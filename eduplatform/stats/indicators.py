"""Indicators (DOMAIN §3): ratios of sums of the roll-ups, for any region, live or from a snapshot,
and the student-weighted 差异系数 (CV) between a county's schools used by the 义务教育优质均衡
assessment (教督〔2017〕6号).

A region's indicator is the ratio of its sums (Σ teachers ÷ Σ students), never the mean of its
schools' ratios. Asset figures come from the asset roll-up (the schools' holdings of the statistical
year and their land), so a snapshot's indicators are as frozen as its other figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, Sum

from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, scoped
from eduplatform.orgs.stages import Stage
from eduplatform.staff.codes import PE_AND_ART_SUBJECTS
from eduplatform.stats import definitions
from eduplatform.stats.models import (
    AssetRollup,
    BuildingRollup,
    Snapshot,
    StaffRollup,
    StudentRollup,
)
from eduplatform.stats.rollup import SPECIAL_SCHOOL_TYPE_PREFIX
from eduplatform.stats.selectors import FULL_TIME_TEACHER, BreakdownRow, figures, fold

# GB/T 4658 学历: 1x 研究生, 2x 本科, 3x 专科 — "本科及以上", "专科及以上".
BACHELOR_OR_ABOVE = Q(education_level__startswith="1") | Q(education_level__startswith="2")
ASSOCIATE_OR_ABOVE = BACHELOR_OR_ABOVE | Q(education_level__startswith="3")
TEACHERS = Q(post_category=FULL_TIME_TEACHER)
PE_AND_ART = TEACHERS & Q(subject__in=sorted(PE_AND_ART_SUBJECTS))


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    numerator: str  # a measure key of ``school_measures``
    denominator: str
    scale: int  # 1, or 100 for "per hundred students" and percentages
    unit: str
    formula: str  # as the explanation page shows it
    source: str


def _official(ratio: definitions.Ratio) -> Indicator:
    """An indicator whose figures are defined once in ``stats.definitions``."""
    return Indicator(ratio.key, ratio.label, ratio.numerator.key, ratio.denominator.key, ratio.scale, ratio.unit,
                     ratio.formula, ratio.source)


# 生师比 per stage and 大班额 / 超大班额 / 56人以上 over compulsory-education classes (and per stage):
# the official definitions (stats.definitions), not a ratio over every stage's students and classes.
OFFICIAL_RATIOS = (*definitions.PUPIL_TEACHER_RATIOS, *definitions.CLASS_SIZE_RATIOS)
OFFICIAL_FIGURES = definitions.figures_of(OFFICIAL_RATIOS)
INDICATORS: tuple[Indicator, ...] = (
    *(_official(r) for r in OFFICIAL_RATIOS),
    Indicator("bachelor_share", "专任教师本科及以上学历比例", "teachers_bachelor", "teachers", 100, "%",
              "本科及以上学历专任教师 ÷ 专任教师 × 100%", "DOMAIN §3 高一层次学历比例"),
    Indicator("area_per_student", "生均校舍建筑面积", "floor_area", "students", 1, "㎡", "校舍建筑面积 ÷ 在校生数",
              "基础基512 总计 ÷ 在校生"),
    Indicator("teaching_area_per_student", "生均教学及辅助用房面积", "teaching_area", "students", 1, "㎡",
              "教学及辅助用房面积 ÷ 在校生数", "优质均衡指标 4"),
    Indicator("equipment_per_student", "生均教学仪器设备值", "equipment_value", "students", 1, "元",
              "教学仪器设备资产值 ÷ 在校生数", "优质均衡指标 6"),
    Indicator("books_per_student", "生均图书", "books", "students", 1, "册", "图书册数 ÷ 在校生数", "DOMAIN §3"),
    Indicator("computers_per_100", "每百名学生拥有计算机台数", "computers", "students", 100, "台",
              "教学用计算机台数 × 100 ÷ 在校生数", "DOMAIN §3"),
    Indicator("multimedia_per_100", "每百名学生拥有网络多媒体教室数", "multimedia", "students", 100, "间",
              "网络多媒体教室间数 × 100 ÷ 在校生数", "优质均衡指标 7"),
    Indicator("backbone_per_100", "每百名学生拥有县级及以上骨干教师数", "backbone", "students", 100, "人",
              "县级及以上骨干教师数 × 100 ÷ 在校生数", "优质均衡指标 2"),
    Indicator("pe_art_per_100", "每百名学生拥有体育、艺术（美术、音乐）专任教师数", "pe_art_teachers", "students", 100,
              "人", "主要任教学科为体育、音乐、美术或艺术的专任教师数 × 100 ÷ 在校生数",
              "优质均衡指标 3；任教学科取记录中的第一个学科"),
    Indicator("sports_area_per_student", "生均体育运动场馆面积", "sports_venue_area", "students", 1, "㎡",
              "（运动场地面积 + 体育馆面积）÷ 在校生数",
              "优质均衡指标 5；运动场地取土地记录的体育场地面积，体育馆取用途为体育活动室的校舍"),
)
_PUPIL_TEACHER_KEYS = {r.key for r in definitions.PUPIL_TEACHER_RATIOS}
_CLASS_SIZE_KEYS = {r.key for r in definitions.CLASS_SIZE_RATIOS}
# How the indicator page groups its tables: (title, indicators).
GROUPS: tuple[tuple[str, tuple[Indicator, ...]], ...] = (
    ("生师比（分学段）", tuple(i for i in INDICATORS if i.key in _PUPIL_TEACHER_KEYS)),
    ("大班额、超大班额（义务教育班级，另分学段）", tuple(i for i in INDICATORS if i.key in _CLASS_SIZE_KEYS)),
    ("办学条件及其他指标", tuple(i for i in INDICATORS if i.key not in _PUPIL_TEACHER_KEYS | _CLASS_SIZE_KEYS)),
)
# 优质均衡 indicator 1 depends on the stage ("高于规定学历", unverified — DOMAIN §3.1): 小学 专科及以上,
# 初中 本科及以上. It is judged per school section, not summed over a region's stages.
ABOVE_REQUIRED: dict[Stage, Indicator] = {
    Stage.PRIMARY: Indicator("above_required_primary", "每百名学生拥有高于规定学历教师数（小学）",
                             "teachers_associate", "students", 100, "人", "专科及以上学历专任教师数 × 100 ÷ 小学在校生数",
                             "优质均衡指标 1；“高于规定学历”小学为专科及以上（未核实）"),
    Stage.JUNIOR: Indicator("above_required_junior", "每百名学生拥有高于规定学历教师数（初中）",
                            "teachers_bachelor", "students", 100, "人", "本科及以上学历专任教师数 × 100 ÷ 初中在校生数",
                            "优质均衡指标 1；“高于规定学历”初中为本科及以上（未核实）"),
}
EXPLAINED = (*INDICATORS, *ABOVE_REQUIRED.values())  # every formula the indicator page explains
BY_KEY = {i.key: i for i in EXPLAINED}

# 优质均衡 thresholds of the seven indicators (DOMAIN §3.1), by stage; CV limits by stage.
BALANCE_STANDARDS: dict[Stage, dict[str, float]] = {
    Stage.PRIMARY: {"above_required_primary": 4.2, "backbone_per_100": 1.0, "pe_art_per_100": 0.9,
                    "teaching_area_per_student": 4.5, "sports_area_per_student": 7.5, "equipment_per_student": 2000,
                    "multimedia_per_100": 2.3},
    Stage.JUNIOR: {"above_required_junior": 5.3, "backbone_per_100": 1.0, "pe_art_per_100": 0.9,
                   "teaching_area_per_student": 5.8, "sports_area_per_student": 10.2, "equipment_per_student": 2500,
                   "multimedia_per_100": 2.4},
}
CV_LIMITS = {Stage.PRIMARY: 0.50, Stage.JUNIOR: 0.45}
# The 任课学段 (teaching_stage) of a 九年一贯制 or 完全中学 section's teachers.
SECTION_TEACHING_STAGE = {Stage.PRIMARY: "2", Stage.JUNIOR: "3"}
TEACHING_POINT = "218"  # 小学教学点: left out below 50 pupils (教督〔2017〕6号)
SMALL_TEACHING_POINT = 50


def weighted_cv(pairs: Iterable[tuple[float, float]]) -> float | None:
    """差异系数 between schools, weighted by students: (students P_i, resource R_i) per school.

    X̄ = ΣR / ΣP (the county's ratio), x_i = R_i / P_i, S = √(Σ (P_i/P)(x_i − X̄)²), CV = S / X̄.
    """
    pairs = [(float(p), float(r)) for p, r in pairs if p]
    total = sum(p for p, _r in pairs)
    if not pairs or not total:
        return None
    mean = sum(r for _p, r in pairs) / total
    if mean == 0:
        return None
    spread = math.sqrt(sum(p / total * (r / p - mean) ** 2 for p, r in pairs))
    return spread / mean


def _per_school(actor: Actor, region: Region, snapshot: Snapshot | None, only: Iterable[str] | None = None
                ) -> list[tuple[int, str, str, object]]:
    """(school, region path, measure, value) for every measure the indicators use (or ``only`` these)."""
    wanted = None if only is None else set(only)
    sources: list[tuple[str, type, str, Q]] = [
        ("students", StudentRollup, "enrolled", Q()),
        ("teachers", StaffRollup, "staff", definitions.TEACHERS.parts[0].condition),
        ("teachers_bachelor", StaffRollup, "staff", Q(post_category=FULL_TIME_TEACHER) & BACHELOR_OR_ABOVE),
        ("backbone", StaffRollup, "backbone", Q()),
        ("pe_art_teachers", StaffRollup, "staff", PE_AND_ART),
        ("floor_area", BuildingRollup, "total_area", Q()),
        ("teaching_area", BuildingRollup, "teaching_area", Q()),
        ("equipment_value", AssetRollup, "teaching_equipment_value", Q()),
        ("books", AssetRollup, "books_volumes", Q()),
        ("computers", AssetRollup, "computers_for_teaching", Q()),
        ("multimedia", AssetRollup, "multimedia_classrooms", Q()),
        ("sports_venue_area", AssetRollup, "sports_area", Q()),
        ("sports_venue_area", BuildingRollup, "gym_area", Q()),
    ]
    items = []
    for figure in OFFICIAL_FIGURES:
        if wanted is None or figure.key in wanted:
            items += [(school, path, figure.key, value)
                      for school, path, value in figure.per_school(lambda model: figures(model, actor, region, snapshot))]
    for key, model, measure, condition in sources:
        if wanted is not None and key not in wanted:
            continue
        qs = figures(model, actor, region, snapshot).filter(condition)
        items += [(r["school_id"], r["region_path"], key, r["n"])
                  for r in qs.values("school_id", "region_path").annotate(n=Sum(measure)).order_by()]
    return items


def value_of(indicator: Indicator, cells: dict) -> float | None:
    denominator = cells.get(indicator.denominator) or 0
    if not denominator:
        return None
    return float(cells.get(indicator.numerator) or 0) * indicator.scale / float(denominator)


def region_indicators(actor: Actor, region: Region, snapshot: Snapshot | None = None
                      ) -> tuple[list[BreakdownRow], BreakdownRow]:
    """Each child region's (or school's) measures, and the region's; ``value_of`` turns them into
    indicators — a ratio of sums at every level."""
    return fold(actor, region, _per_school(actor, region, snapshot))


@dataclass
class BalanceResult:
    stage: Stage
    schools: int
    indicators: list[tuple[Indicator, float | None, float | None, float, bool | None]]
    # (indicator, county value, CV, CV limit, CV within the limit)
    failing_schools: list[tuple[str, list[str]]]  # schools below 85% of a standard or missing two or more
    sections: int = 0  # of ``schools``, sections of schools teaching more than this stage (九年一贯制, 完全中学)


# School-level resources a section of a multi-stage school has in proportion to its students.
SHARED_RESOURCES = ("teaching_area", "sports_venue_area", "equipment_value", "multimedia")


def _sections(actor: Actor, county: Region, stage: Stage, snapshot: Snapshot | None
              ) -> tuple[dict[int, Organization], dict[int, dict]]:
    """The county's schools teaching ``stage`` and each one's measures for that stage alone.

    A school teaching only this stage counts whole. A section of a school teaching more (九年一贯制,
    完全中学, 十二年一贯制) counts the stage's students, the teachers whose 任课学段 is the stage, and
    the school's buildings, grounds and equipment in proportion to the section's share of the
    school's students (so the section's per-student value is the school's).
    """
    schools = {o.pk: o for o in scoped(Organization.objects.filter(
        kind=OrgKind.SCHOOL, is_open=True, stage_mask__gt=0, region_path__startswith=county.path), actor)
        if o.stage_mask & stage and not o.school_type_code.startswith(SPECIAL_SCHOOL_TYPE_PREFIX)}
    students: dict[int, dict[int, int]] = defaultdict(dict)
    for r in figures(StudentRollup, actor, county, snapshot).values("school_id", "stage").annotate(
            n=Sum("enrolled")).order_by():
        students[r["school_id"]][r["stage"]] = r["n"] or 0
    teachers: dict[int, dict[str, dict]] = defaultdict(dict)
    for r in figures(StaffRollup, actor, county, snapshot).values("school_id", "teaching_stage").annotate(
            teachers=Sum("staff", filter=TEACHERS), teachers_associate=Sum("staff", filter=TEACHERS & ASSOCIATE_OR_ABOVE),
            teachers_bachelor=Sum("staff", filter=TEACHERS & BACHELOR_OR_ABOVE), backbone=Sum("backbone"),
            pe_art_teachers=Sum("staff", filter=PE_AND_ART)).order_by():
        teachers[r.pop("school_id")][r.pop("teaching_stage")] = r
    resources: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for school_id, _path, key, value in _per_school(actor, county, snapshot, only=SHARED_RESOURCES):
        resources[school_id][key] += float(value or 0)
    out: dict[int, dict] = {}
    for school_id, school in schools.items():
        here = students[school_id].get(int(stage), 0)
        if not here or (school.school_type_code == TEACHING_POINT and here < SMALL_TEACHING_POINT):
            continue  # no pupils of the stage to judge by, or a small 教学点
        whole = sum(students[school_id].values())
        alone = school.stage_mask == stage
        measures: dict[str, float] = {"students": here}
        for part, figures_ in teachers[school_id].items():
            if alone or part == SECTION_TEACHING_STAGE[stage]:
                for key, value in figures_.items():
                    measures[key] = measures.get(key, 0) + (value or 0)
        share = here / whole if whole else 0
        for key in SHARED_RESOURCES:
            measures[key] = resources[school_id][key] * (1 if alone else share)
        out[school_id] = measures
    return schools, out


def balance(actor: Actor, county: Region, stage: Stage, snapshot: Snapshot | None = None) -> BalanceResult:
    """优质均衡 over the county's schools of one stage: the seven indicators' student-weighted 差异系数,
    and the schools below the school standard. Sections of multi-stage schools are judged on the
    stage's values (``_sections``); special-education schools and 教学点 of fewer than 50 pupils are
    left out."""
    schools, per_school = _sections(actor, county, stage, snapshot)
    standards = BALANCE_STANDARDS[stage]
    rows = []
    for key in standards:
        ind = BY_KEY[key]
        pairs = [(m.get(ind.denominator) or 0, float(m.get(ind.numerator) or 0) * ind.scale)
                 for m in per_school.values()]
        cv = weighted_cv(pairs)
        total = sum(p for p, _r in pairs)
        county_value = sum(r for _p, r in pairs) / total if total else None
        rows.append((ind, county_value, cv, CV_LIMITS[stage], None if cv is None else cv <= CV_LIMITS[stage]))
    failing = []
    for school_id, measures in per_school.items():
        misses = _misses(measures, standards)
        if misses:
            failing.append((schools[school_id].name, misses))
    sections = sum(1 for school_id in per_school if schools[school_id].stage_mask != stage)
    return BalanceResult(stage, len(per_school), rows, sorted(failing), sections)


def _misses(measures: dict, standards: dict[str, float]) -> list[str]:
    """The school fails if it misses two or more standards, or misses one by more than 15 %."""
    below = [(key, value_of(BY_KEY[key], measures), standard) for key, standard in standards.items()]
    below = [(k, v, s) for k, v, s in below if v is None or v < s]
    if len(below) >= 2 or any(v is None or v < 0.85 * s for _k, v, s in below):
        return [f"{BY_KEY[k].label} {'无数据' if v is None else f'{v:.2f}'}（标准 {s:g}）" for k, v, s in below]
    return []


def formatted(indicator: Indicator, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}{indicator.unit}"
