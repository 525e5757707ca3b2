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
from eduplatform.stats.models import (
    AssetRollup,
    BuildingRollup,
    ClassRollup,
    Snapshot,
    StaffRollup,
    StudentRollup,
)
from eduplatform.stats.rollup import LARGE_BANDS, SUPER_LARGE_BANDS
from eduplatform.stats.selectors import FULL_TIME_TEACHER, BreakdownRow, figures, fold

# GB/T 4658 学历: 1x 研究生, 2x 本科 — "本科及以上".
BACHELOR_OR_ABOVE = Q(education_level__startswith="1") | Q(education_level__startswith="2")


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


INDICATORS: tuple[Indicator, ...] = (
    Indicator("pupil_teacher", "生师比", "students", "teachers", 1, ":1", "在校生数 ÷ 专任教师数",
              "DOMAIN §3；与广东 2023 年公报幼儿园 13.61:1 的算法一致"),
    Indicator("bachelor_share", "专任教师本科及以上学历比例", "teachers_bachelor", "teachers", 100, "%",
              "本科及以上学历专任教师 ÷ 专任教师 × 100%", "DOMAIN §3 高一层次学历比例"),
    Indicator("area_per_student", "生均校舍建筑面积", "floor_area", "students", 1, "㎡", "校舍建筑面积 ÷ 在校生数",
              "基础基512 总计 ÷ 在校生"),
    Indicator("teaching_area_per_student", "生均教学及辅助用房面积", "teaching_area", "students", 1, "㎡",
              "教学及辅助用房面积 ÷ 在校生数", "优质均衡指标 4"),
    Indicator("large_classes", "大班额比例", "large_classes", "classes", 100, "%", "56–65 人的班数 ÷ 全部班数 × 100%",
              "DOMAIN §3"),
    Indicator("super_large_classes", "超大班额比例", "super_large_classes", "classes", 100, "%",
              "66 人及以上的班数 ÷ 全部班数 × 100%", "DOMAIN §3"),
    Indicator("equipment_per_student", "生均教学仪器设备值", "equipment_value", "students", 1, "元",
              "教学仪器设备资产值 ÷ 在校生数", "优质均衡指标 6"),
    Indicator("books_per_student", "生均图书", "books", "students", 1, "册", "图书册数 ÷ 在校生数", "DOMAIN §3"),
    Indicator("computers_per_100", "每百名学生拥有计算机台数", "computers", "students", 100, "台",
              "教学用计算机台数 × 100 ÷ 在校生数", "DOMAIN §3"),
    Indicator("multimedia_per_100", "每百名学生拥有网络多媒体教室数", "multimedia", "students", 100, "间",
              "网络多媒体教室间数 × 100 ÷ 在校生数", "优质均衡指标 7"),
    Indicator("backbone_per_100", "每百名学生拥有县级及以上骨干教师数", "backbone", "students", 100, "人",
              "县级及以上骨干教师数 × 100 ÷ 在校生数", "优质均衡指标 2"),
)
BY_KEY = {i.key: i for i in INDICATORS}

# 优质均衡 thresholds of the indicators computed here (DOMAIN §3.1), by stage; CV limits by stage.
BALANCE_STANDARDS: dict[Stage, dict[str, float]] = {
    Stage.PRIMARY: {"backbone_per_100": 1.0, "teaching_area_per_student": 4.5, "equipment_per_student": 2000,
                    "multimedia_per_100": 2.3},
    Stage.JUNIOR: {"backbone_per_100": 1.0, "teaching_area_per_student": 5.8, "equipment_per_student": 2500,
                   "multimedia_per_100": 2.4},
}
CV_LIMITS = {Stage.PRIMARY: 0.50, Stage.JUNIOR: 0.45}


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


def _per_school(actor: Actor, region: Region, snapshot: Snapshot | None) -> list[tuple[int, str, str, object]]:
    """(school, region path, measure, value) for every measure the indicators use."""
    sources: list[tuple[str, type, str, Q]] = [
        ("students", StudentRollup, "enrolled", Q()),
        ("teachers", StaffRollup, "staff", Q(post_category=FULL_TIME_TEACHER)),
        ("teachers_bachelor", StaffRollup, "staff", Q(post_category=FULL_TIME_TEACHER) & BACHELOR_OR_ABOVE),
        ("backbone", StaffRollup, "backbone", Q()),
        ("floor_area", BuildingRollup, "total_area", Q()),
        ("teaching_area", BuildingRollup, "teaching_area", Q()),
        ("classes", ClassRollup, "classes", Q()),
        ("large_classes", ClassRollup, "classes", Q(size_band__in=LARGE_BANDS)),
        ("super_large_classes", ClassRollup, "classes", Q(size_band__in=SUPER_LARGE_BANDS)),
        ("equipment_value", AssetRollup, "teaching_equipment_value", Q()),
        ("books", AssetRollup, "books_volumes", Q()),
        ("computers", AssetRollup, "computers_for_teaching", Q()),
        ("multimedia", AssetRollup, "multimedia_classrooms", Q()),
    ]
    items = []
    for key, model, measure, condition in sources:
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


def balance(actor: Actor, county: Region, stage: Stage, snapshot: Snapshot | None = None) -> BalanceResult:
    """优质均衡 for the indicators the records give (2, 4, 6, 7) over the county's schools of one
    stage. Simplification: schools teaching only that stage (九年一贯制 schools are not split)."""
    schools = {o.pk: o for o in scoped(Organization.objects.filter(
        kind=OrgKind.SCHOOL, is_open=True, stage_mask=int(stage), region_path__startswith=county.path), actor)}
    per_school: dict[int, dict] = defaultdict(dict)
    for school_id, _path, key, value in _per_school(actor, county, snapshot):
        if school_id in schools:
            per_school[school_id][key] = per_school[school_id].get(key, 0) + (value or 0)
    standards = BALANCE_STANDARDS[stage]
    rows = []
    for key, _standard in standards.items():
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
    return BalanceResult(stage, len(per_school), rows, sorted(failing))


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
