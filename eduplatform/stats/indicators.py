"""Indicators (DOMAIN §3): ratios of sums of the roll-ups, for any region, live or from a snapshot,
and the student-weighted 差异系数 (CV) between a county's schools used by the 义务教育优质均衡
assessment (教督〔2017〕6号).

A region's indicator is the ratio of its sums (Σ teachers ÷ Σ students), never the mean of its
schools' ratios. Asset figures come from the asset roll-up (the schools' holdings of the statistical
year and their land), so a snapshot's indicators are as frozen as its other figures.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Sum
from django.utils.translation import gettext, gettext_lazy

from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, DataScope, apply_scope, scope_of
from eduplatform.orgs.stages import Stage
from eduplatform.stats import definitions, measures
from eduplatform.stats.measures import ASSOCIATE_OR_ABOVE, BACHELOR_OR_ABOVE, PE_AND_ART, TEACHERS
from eduplatform.stats.models import (
    COUNTY_PATH_LENGTH,
    SNAPSHOT_OF,
    Snapshot,
    SnapshotBalance,
    StaffRollup,
    StudentRollup,
)
from eduplatform.stats.rollup import SPECIAL_SCHOOL_TYPE_PREFIX
from eduplatform.stats.selectors import BreakdownRow, measure_breakdown, region_table_serves


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    numerator: str  # a measure key of ``stats.measures.MEASURES``
    denominator: str
    scale: int  # 1, or 100 for "per hundred students" and percentages
    unit: str
    formula: str  # as the explanation page shows it
    source: str
    stage: int = 0  # the stage it is of (``definitions.Ratio.stage``), 0 for one over several or all stages


def _official(ratio: definitions.Ratio) -> Indicator:
    """An indicator whose figures are defined once in ``stats.definitions``."""
    return Indicator(ratio.key, ratio.label, ratio.numerator.key, ratio.denominator.key, ratio.scale, ratio.unit,
                     ratio.formula, ratio.source, ratio.stage)


# 生师比 per stage and 大班额 / 超大班额 / 56人以上 over compulsory-education classes (and per stage):
# the official definitions (stats.definitions), not a ratio over every stage's students and classes.
OFFICIAL_RATIOS = measures.OFFICIAL_RATIOS
OFFICIAL_FIGURES = measures.OFFICIAL_FIGURES
INDICATORS: tuple[Indicator, ...] = (
    *(_official(r) for r in OFFICIAL_RATIOS),
    Indicator("bachelor_share", gettext_lazy("专任教师本科及以上学历比例"), "teachers_bachelor", "teachers", 100, "%",
              gettext_lazy("本科及以上学历专任教师 ÷ 专任教师 × 100%"), gettext_lazy("高一层次学历比例")),
    Indicator("area_per_student", gettext_lazy("生均校舍建筑面积"), "floor_area", "students", 1, "㎡", gettext_lazy("校舍建筑面积 ÷ 在校生数"),
              gettext_lazy("基础基512 总计 ÷ 在校生")),
    Indicator("teaching_area_per_student", gettext_lazy("生均教学及辅助用房面积"), "teaching_area", "students", 1, "㎡",
              gettext_lazy("教学及辅助用房面积 ÷ 在校生数"), gettext_lazy("优质均衡指标 4")),
    Indicator("equipment_per_student", gettext_lazy("生均教学仪器设备值"), "equipment_value", "students", 1, gettext_lazy("元"),
              gettext_lazy("教学仪器设备资产值 ÷ 在校生数"), gettext_lazy("优质均衡指标 6")),
    Indicator("books_per_student", gettext_lazy("生均图书"), "books", "students", 1, gettext_lazy("册"), gettext_lazy("图书册数 ÷ 在校生数"), gettext_lazy("教育统计指标")),
    Indicator("computers_per_100", gettext_lazy("每百名学生拥有计算机台数"), "computers", "students", 100, gettext_lazy("台"),
              gettext_lazy("教学用计算机台数 × 100 ÷ 在校生数"), gettext_lazy("教育统计指标")),
    Indicator("multimedia_per_100", gettext_lazy("每百名学生拥有网络多媒体教室数"), "multimedia", "students", 100, gettext_lazy("间"),
              gettext_lazy("网络多媒体教室间数 × 100 ÷ 在校生数"), gettext_lazy("优质均衡指标 7")),
    Indicator("backbone_per_100", gettext_lazy("每百名学生拥有县级及以上骨干教师数"), "backbone", "students", 100, gettext_lazy("人"),
              gettext_lazy("县级及以上骨干教师数 × 100 ÷ 在校生数"), gettext_lazy("优质均衡指标 2")),
    Indicator("pe_art_per_100", gettext_lazy("每百名学生拥有体育、艺术（美术、音乐）专任教师数"), "pe_art_teachers", "students", 100,
              gettext_lazy("人"), gettext_lazy("主要任教学科为体育、音乐、美术或艺术的专任教师数 × 100 ÷ 在校生数"),
              gettext_lazy("优质均衡指标 3；任教学科取记录中的第一个学科")),
    Indicator("sports_area_per_student", gettext_lazy("生均体育运动场馆面积"), "sports_venue_area", "students", 1, "㎡",
              gettext_lazy("（运动场地面积 + 体育馆面积）÷ 在校生数"),
              gettext_lazy("优质均衡指标 5；运动场地取土地记录的体育场地面积，体育馆取用途为体育活动室的校舍")),
)
_PUPIL_TEACHER_KEYS = {r.key for r in definitions.PUPIL_TEACHER_RATIOS}
_CLASS_SIZE_KEYS = {r.key for r in definitions.CLASS_SIZE_RATIOS}
# How the indicator page groups its tables: (title, indicators).
GROUPS: tuple[tuple[str, tuple[Indicator, ...]], ...] = (
    (gettext_lazy("生师比（分学段）"), tuple(i for i in INDICATORS if i.key in _PUPIL_TEACHER_KEYS)),
    (gettext_lazy("大班额、超大班额（义务教育班级，另分学段）"), tuple(i for i in INDICATORS if i.key in _CLASS_SIZE_KEYS)),
    (gettext_lazy("办学条件及其他指标"), tuple(i for i in INDICATORS if i.key not in _PUPIL_TEACHER_KEYS | _CLASS_SIZE_KEYS)),
)
# Stages a page's stage filter offers: those with an indicator of their own.
FILTER_STAGES = tuple(Stage(s) for s in dict.fromkeys(r.stage for r in OFFICIAL_RATIOS) if s)


def groups_for(stage: Stage | None) -> tuple[tuple[str, tuple[Indicator, ...]], ...]:
    """The indicator page's groups under a stage filter: without one, every group; with one, the
    indicators of that stage only (生师比 of the stage, its 大班额 shares) — each still its one
    definition (``definitions.of_stage``). Indicators over all stages' students (生均 …) are left
    out under a filter rather than shown as if they were the stage's."""
    if stage is None:
        return GROUPS
    out = []
    for title, group in GROUPS:
        chosen = tuple(i for i in group if i.stage == int(stage))
        if chosen:
            out.append((title, chosen))
    return tuple(out)


# 优质均衡 indicator 1 depends on the stage ("高于规定学历", unverified — DOMAIN §3.1): 小学 专科及以上,
# 初中 本科及以上. It is judged per school section, not summed over a region's stages.
ABOVE_REQUIRED: dict[Stage, Indicator] = {
    Stage.PRIMARY: Indicator("above_required_primary", gettext_lazy("每百名学生拥有高于规定学历教师数（小学）"),
                             "teachers_associate", "students", 100, gettext_lazy("人"), gettext_lazy("专科及以上学历专任教师数 × 100 ÷ 小学在校生数"),
                             gettext_lazy("优质均衡指标 1；“高于规定学历”小学为专科及以上")),
    Stage.JUNIOR: Indicator("above_required_junior", gettext_lazy("每百名学生拥有高于规定学历教师数（初中）"),
                            "teachers_bachelor", "students", 100, gettext_lazy("人"), gettext_lazy("本科及以上学历专任教师数 × 100 ÷ 初中在校生数"),
                            gettext_lazy("优质均衡指标 1；“高于规定学历”初中为本科及以上")),
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


def value_of(indicator: Indicator, cells: dict) -> float | None:
    denominator = cells.get(indicator.denominator) or 0
    if not denominator:
        return None
    return float(cells.get(indicator.numerator) or 0) * indicator.scale / float(denominator)


def region_indicators(actor: Actor, region: Region, snapshot: Snapshot | None = None
                      ) -> tuple[list[BreakdownRow], BreakdownRow]:
    """Each child region's (or school's) measures, and the region's; ``value_of`` turns them into
    indicators — a ratio of sums at every level. Read from the measure store at the level that
    serves (``selectors.measure_breakdown``: county sums live, per-region rows of a snapshot)."""
    return measure_breakdown(actor, region, measures.INDICATOR_KEYS, snapshot)


@dataclass
class BalanceResult:
    stage: Stage
    schools: int
    indicators: list[tuple[Indicator, float | None, float | None, float, bool | None]]
    # (indicator, county value, CV, CV limit, CV within the limit)
    failing_schools: list[tuple[str, list[str]]]  # schools below 85% of a standard or missing two or more
    sections: int = 0  # of ``schools``, sections of schools teaching more than this stage (九年一贯制, 完全中学)

    def as_json(self) -> dict:
        return {"stage": int(self.stage), "schools": self.schools, "sections": self.sections,
                "indicators": [[i.key, value, cv, limit, ok] for i, value, cv, limit, ok in self.indicators],
                "failing": [[name, misses] for name, misses in self.failing_schools]}

    @classmethod
    def from_json(cls, kept: dict) -> BalanceResult:
        return cls(Stage(kept["stage"]), kept["schools"],
                   [(BY_KEY[key], value, cv, limit, ok) for key, value, cv, limit, ok in kept["indicators"]],
                   [(name, misses) for name, misses in kept["failing"]], kept["sections"])


# School-level resources a section of a multi-stage school has in proportion to its students.
SHARED_RESOURCES = ("teaching_area", "sports_venue_area", "equipment_value", "multimedia")


@dataclass
class _SchoolData:
    """What 优质均衡 judges, per school, for the schools under a path (a county, or the province when
    a snapshot is taken): the schools teaching a stage, students by stage, teachers' figures by
    任课学段, shared resources."""

    schools: dict[int, Organization]
    students: dict[int, dict[int, int]]
    teachers: dict[int, dict[str, dict]]
    resources: dict[int, dict[str, float]]


def _school_data(scope: DataScope, path: str, snapshot: Snapshot | None) -> _SchoolData:
    def rows(model: type):
        live = model.objects.all() if snapshot is None else SNAPSHOT_OF[model].objects.filter(snapshot=snapshot)
        return apply_scope(live.filter(region_path__startswith=path), scope)

    schools = {o.pk: o for o in apply_scope(Organization.objects.filter(
        kind=OrgKind.SCHOOL, is_open=True, stage_mask__gt=0, region_path__startswith=path), scope).only(
        "name", "region_path", "stage_mask", "school_type_code", "kind")
        if not o.school_type_code.startswith(SPECIAL_SCHOOL_TYPE_PREFIX)}
    students: dict[int, dict[int, int]] = defaultdict(dict)
    for r in rows(StudentRollup).values("school_id", "stage").annotate(n=Sum("enrolled")).order_by():
        students[r["school_id"]][r["stage"]] = r["n"] or 0
    teachers: dict[int, dict[str, dict]] = defaultdict(dict)
    for r in rows(StaffRollup).values("school_id", "teaching_stage").annotate(
            teachers=Sum("staff", filter=TEACHERS), teachers_associate=Sum("staff", filter=TEACHERS & ASSOCIATE_OR_ABOVE),
            teachers_bachelor=Sum("staff", filter=TEACHERS & BACHELOR_OR_ABOVE), backbone=Sum("backbone"),
            pe_art_teachers=Sum("staff", filter=PE_AND_ART)).order_by():
        teachers[r.pop("school_id")][r.pop("teaching_stage")] = r
    resources: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key in SHARED_RESOURCES:
        for school_id, _path, value in measures.MEASURES[key].per_school(rows):
            resources[school_id][key] += float(value or 0)
    return _SchoolData(schools, students, teachers, resources)


def _sections(data: _SchoolData, stage: Stage, school_ids=None) -> tuple[dict[int, Organization], dict[int, dict]]:
    """The schools teaching ``stage`` (of ``school_ids``, or all in ``data``) and each one's measures
    for that stage alone.

    A school teaching only this stage counts whole. A section of a school teaching more (九年一贯制,
    完全中学, 十二年一贯制) counts the stage's students, the teachers whose 任课学段 is the stage, and
    the school's buildings, grounds and equipment in proportion to the section's share of the
    school's students (so the section's per-student value is the school's).
    """
    bit = int(stage)
    candidates = data.schools if school_ids is None else {pk: data.schools[pk] for pk in school_ids}
    schools = {pk: o for pk, o in candidates.items() if o.stage_mask & bit}
    out: dict[int, dict] = {}
    for school_id, school in schools.items():
        here = data.students.get(school_id, {}).get(int(stage), 0)
        if not here or (school.school_type_code == TEACHING_POINT and here < SMALL_TEACHING_POINT):
            continue  # no pupils of the stage to judge by, or a small 教学点
        whole = sum(data.students[school_id].values())
        alone = school.stage_mask == stage
        figures_: dict[str, float] = {"students": here}
        for part, values in data.teachers.get(school_id, {}).items():
            if alone or part == SECTION_TEACHING_STAGE[stage]:
                for key, value in values.items():
                    figures_[key] = figures_.get(key, 0) + (value or 0)
        share = here / whole if whole else 0
        held = data.resources.get(school_id, {})
        for key in SHARED_RESOURCES:
            figures_[key] = held.get(key, 0.0) * (1 if alone else share)
        out[school_id] = figures_
    return schools, out


def balance(actor: Actor, county: Region, stage: Stage, snapshot: Snapshot | None = None) -> BalanceResult:
    """优质均衡 over the county's schools of one stage: the seven indicators' student-weighted 差异系数,
    and the schools below the school standard. Sections of multi-stage schools are judged on the
    stage's values (``_sections``); special-education schools and 教学点 of fewer than 50 pupils are
    left out.

    From a snapshot, the result kept when it was taken (``freeze_balances``) serves a reader of the
    whole county unlimited by stage; a stage-limited reader (whose scope leaves out some students or
    schools), or a snapshot taken before results were kept, is computed here — live too: a county
    has a few hundred schools."""
    scope = scope_of(actor)
    if snapshot is not None and not scope.stage_mask and region_table_serves(actor, county):
        kept = SnapshotBalance.objects.filter(snapshot=snapshot, region_path=county.path, stage=int(stage)).first()
        if kept is not None:
            return BalanceResult.from_json(kept.result)
    return _balance_of(_school_data(scope, county.path, snapshot), stage)


def _balance_of(data: _SchoolData, stage: Stage, school_ids=None) -> BalanceResult:
    schools, per_school = _sections(data, stage, school_ids)
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
    for school_id, figures_ in per_school.items():
        misses = _misses(figures_, standards)
        if misses:
            failing.append((schools[school_id].name, misses))
    sections = sum(1 for school_id in per_school if schools[school_id].stage_mask != stage)
    return BalanceResult(stage, len(per_school), rows, sorted(failing), sections)


def freeze_balances(snapshot: Snapshot, province_path: str) -> int:
    """优质均衡 of every county and stage from ``snapshot``'s figures, kept with it: one pass over the
    province's frozen rows, then each county's schools. The number of results kept."""
    data = _school_data(DataScope(region_path=province_path), province_path, snapshot)
    counties = set(Region.objects.filter(level="county", abolished_on__isnull=True).values_list("path", flat=True))
    schools_of: dict[str, set[int]] = defaultdict(set)
    for pk, school in data.schools.items():
        county = school.region_path[:COUNTY_PATH_LENGTH]
        if county in counties:
            schools_of[county].add(pk)
    kept = [(snapshot.pk, path, int(stage), json.dumps(_balance_of(data, stage, schools_of[path]).as_json(),
                                                       ensure_ascii=False))
            for path in sorted(counties) for stage in BALANCE_STANDARDS]
    # The JSON as text in plain INSERTs: bulk_create took 14 s on psycopg to pass 8 MB of results
    # (a province's failing schools), a text parameter cast to jsonb 0.5 s.
    cast = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        for start in range(0, len(kept), 50):
            part = kept[start:start + 50]
            cursor.execute(
                f"INSERT INTO {SnapshotBalance._meta.db_table} (snapshot_id, region_path, stage, result)"  # noqa: S608
                f" VALUES {', '.join([f'(%s, %s, %s, {cast})'] * len(part))}", [v for row in part for v in row])
    return len(kept)


def _misses(measures: dict, standards: dict[str, float]) -> list[str]:
    """The school fails if it misses two or more standards, or misses one by more than 15 %."""
    below = [(key, value_of(BY_KEY[key], measures), standard) for key, standard in standards.items()]
    below = [(k, v, s) for k, v, s in below if v is None or v < s]
    if len(below) >= 2 or any(v is None or v < 0.85 * s for _k, v, s in below):
        return [gettext("{label} {value}（标准 {standard:g}）").format(label=BY_KEY[k].label, value=gettext('无数据') if v is None else f'{v:.2f}', standard=s) for k, v, s in below]
    return []


def formatted(indicator: Indicator, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}{indicator.unit}"
