"""生均公用经费 allocation: a rate set applied to the students of every school in a region, live or
from a census snapshot, with each school's arithmetic; a region's amount is the sum of its schools'.

Per school and stage (rates of that stage, students from the student roll-up):

    核定人数 = 在校生, or the rate's minimum headcount for a rural (乡村, 城乡分类 2xx) school with
               fewer students in the stage (农村小规模学校按 100 人核定)
    定额部分 = (核定人数 − 残疾学生) × 生均定额 + 残疾学生 × 残疾学生定额   (when the stage has one;
               otherwise 核定人数 × 生均定额)
    寄宿部分 = 寄宿生 × 寄宿生增加
    小计     = 定额部分 + 寄宿部分

Students of a stage the rate set does not fund are counted and shown, not funded; so are those of a
school whose 办学类型 or 举办者 the stage's line does not cover (a 民办 school is funded at a rate
only when the line says it covers 民办 schools).
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Sum

from eduplatform.funding.models import FundingRate, FundingRateSet
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.stats.models import SchoolRollup, Snapshot, StudentRollup
from eduplatform.stats.selectors import BreakdownRow, figures, fold

RURAL_PREFIX = "2"  # 城乡分类 2xx 乡村 (210 乡中心区, 220 村庄)
RULE = ("核定人数 = 在校生（乡村学校某学段在校生不足该学段核定人数的，按核定人数计）；"
        "定额部分 = (核定人数 − 残疾学生) × 生均定额 + 残疾学生 × 残疾学生定额（未设残疾学生定额的学段：核定人数 × 生均定额）；"
        "寄宿部分 = 寄宿生 × 寄宿生增加；学校小计为各学段之和，区域为所属学校之和；"
        "各学段定额只适用于其注明的办学类型和举办者，民办学校仅在定额注明“适用于民办学校”时计入")


def yuan(amount: decimal.Decimal | int) -> str:
    """An amount as the arithmetic shows it: thousands separators, cents only when there are any."""
    return f"{decimal.Decimal(amount):,.2f}".removesuffix(".00")


@dataclass
class StageCounts:
    enrolled: int = 0
    boarding: int = 0
    disabled: int = 0


@dataclass
class StageLine:
    stage: Stage
    counts: StageCounts
    counted: int  # 核定人数
    amount: decimal.Decimal
    arithmetic: str
    funded: bool


@dataclass
class SchoolAllocation:
    school_id: int
    name: str
    school_code: str
    region_path: str
    rural: bool
    lines: list[StageLine] = field(default_factory=list)

    @property
    def amount(self) -> decimal.Decimal:
        return sum((line.amount for line in self.lines), decimal.Decimal(0))

    @property
    def steps(self) -> list[str]:
        return [line.arithmetic for line in self.lines]


def stage_line(stage: Stage, counts: StageCounts, rate: FundingRate | None, *, rural: bool,
               school_type_code: str = "", sponsor_code: str = "") -> StageLine:
    """One stage of one school: the rule of the module docstring, and its arithmetic in words. A
    line funds only the 办学类型 and 举办者 it states (``FundingRate.applies_to``)."""
    label = STAGE_LABELS[stage]
    if rate is None:
        return StageLine(stage, counts, 0, decimal.Decimal(0), f"{label}：在校生 {counts.enrolled:,} 人，本定额未列该学段，未计入",
                         funded=False)
    refused = rate.applies_to(school_type_code=school_type_code, sponsor_code=sponsor_code)
    if refused:
        return StageLine(stage, counts, 0, decimal.Decimal(0), f"{label}：在校生 {counts.enrolled:,} 人，{refused}，未计入",
                         funded=False)
    text = [f"{label}：在校生 {counts.enrolled:,} 人"]
    counted = counts.enrolled
    if rural and rate.minimum_headcount and counts.enrolled < rate.minimum_headcount:
        counted = rate.minimum_headcount
        text.append(f"，乡村学校不足 {rate.minimum_headcount:,} 人按 {counted:,} 人核定")
    disabled = min(counts.disabled, counted) if rate.per_disabled is not None else 0
    base = (counted - disabled) * rate.per_student + disabled * (rate.per_disabled or 0)
    if disabled:
        text.append(f"；({counted:,} − 残疾学生 {disabled:,}) × {yuan(rate.per_student)} + {disabled:,} × "
                    f"{yuan(rate.per_disabled or 0)} = {yuan(base)}")
    else:
        text.append(f"；{counted:,} × {yuan(rate.per_student)} = {yuan(base)}")
    boarding = counts.boarding * rate.per_boarder
    if boarding:
        text.append(f"；寄宿生 {counts.boarding:,} × {yuan(rate.per_boarder)} = {yuan(boarding)}")
    amount = base + boarding
    text.append(f"；小计 {yuan(amount)} 元")
    return StageLine(stage, counts, counted, amount, "".join(text), funded=True)


def school_allocations(actor: Actor, region: Region, rate_set: FundingRateSet, snapshot: Snapshot | None = None
                       ) -> list[SchoolAllocation]:
    """Every school under ``region`` in the actor's scope that has students, with its lines."""
    counts: dict[int, dict[int, StageCounts]] = defaultdict(dict)
    paths: dict[int, str] = {}
    for r in figures(StudentRollup, actor, region, snapshot).values("school_id", "region_path", "stage").annotate(
            n=Sum("enrolled"), b=Sum("boarding"), d=Sum("disabled")).order_by():
        if r["n"]:
            counts[r["school_id"]][r["stage"]] = StageCounts(r["n"], r["b"] or 0, r["d"] or 0)
            paths[r["school_id"]] = r["region_path"]
    rates = {r.stage: r for r in rate_set.rates.all()}
    # Name and 城乡分类 as the school roll-up holds them: frozen at the census for a snapshot.
    schools = {r["school_id"]: r for r in figures(SchoolRollup, actor, region, snapshot).filter(
        school_id__in=set(counts)).values("school_id", "name", "school_code", "urban_rural_code", "school_type_code",
                                          "sponsor_code")}
    allocations = []
    for school_id, stages in counts.items():
        school = schools.get(school_id, {"name": f"学校 {school_id}", "school_code": "", "urban_rural_code": "",
                                         "school_type_code": "", "sponsor_code": ""})
        allocation = SchoolAllocation(school_id, school["name"], school["school_code"], paths[school_id],
                                      school["urban_rural_code"].startswith(RURAL_PREFIX))
        for stage in sorted(stages):
            allocation.lines.append(stage_line(Stage(stage), stages[stage], rates.get(stage), rural=allocation.rural,
                                               school_type_code=school["school_type_code"],
                                               sponsor_code=school["sponsor_code"]))
        allocations.append(allocation)
    return sorted(allocations, key=lambda a: (a.region_path, a.name))


@dataclass
class RegionAllocation:
    rate_set: FundingRateSet
    rows: list[BreakdownRow]  # each child region (or school) with its amount per stage
    total: BreakdownRow
    schools: list[SchoolAllocation]
    unfunded: dict[Stage, int]  # students of stages the rate set does not fund

    @property
    def stages(self) -> list[Stage]:
        return [Stage(s) for s in sorted({s for r in [self.total, *self.rows] for s in r.cells})]


def region_allocation(actor: Actor, region: Region, rate_set: FundingRateSet, snapshot: Snapshot | None = None
                      ) -> RegionAllocation:
    schools = school_allocations(actor, region, rate_set, snapshot)
    items = [(s.school_id, s.region_path, int(line.stage), line.amount) for s in schools for line in s.lines
             if line.funded]
    rows, total = fold(actor, region, items)
    rows = [r for r in rows if r.cells]  # children with no funded students say nothing
    unfunded: dict[Stage, int] = defaultdict(int)
    for school in schools:
        for line in school.lines:
            if not line.funded:
                unfunded[line.stage] += line.counts.enrolled
    return RegionAllocation(rate_set, rows, total, schools, dict(unfunded))
