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

from django.db.models import BooleanField, Case, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Substr
from django.utils.translation import gettext, gettext_lazy

from eduplatform.funding.models import PRIVATE_SPONSOR, FundingRate, FundingRateSet
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.stats.models import SchoolRollup, Snapshot, StudentRollup
from eduplatform.stats.quota_models import (
    SMALL_SCHOOL_HEADCOUNT_LIMIT,
    FundingCountyRollup,
    SchoolFundingRollup,
    SnapshotSchoolFunding,
)
from eduplatform.stats.selectors import BreakdownRow, county_rollup_serves, figures, fold

RURAL_PREFIX = "2"  # 城乡分类 2xx 乡村 (210 乡中心区, 220 村庄)
RULE = (gettext_lazy("核定人数 = 在校生（乡村学校某学段在校生不足该学段核定人数的，按核定人数计）；"
        "定额部分 = (核定人数 − 残疾学生) × 生均定额 + 残疾学生 × 残疾学生定额（未设残疾学生定额的学段：核定人数 × 生均定额）；"
        "寄宿部分 = 寄宿生 × 寄宿生增加；学校小计为各学段之和，区域为所属学校之和；"
        "各学段定额只适用于其注明的办学类型和举办者，民办学校仅在定额注明“适用于民办学校”时计入"))


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
    school_type_code: str = ""
    sponsor_code: str = ""

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
        return StageLine(stage, counts, 0, decimal.Decimal(0), gettext("{label}：在校生 {enrolled:,} 人，本定额未列该学段，未计入").format(label=label, enrolled=counts.enrolled),
                         funded=False)
    refused = rate.applies_to(school_type_code=school_type_code, sponsor_code=sponsor_code)
    if refused:
        return StageLine(stage, counts, 0, decimal.Decimal(0), gettext("{label}：在校生 {enrolled:,} 人，{refused}，未计入").format(label=label, enrolled=counts.enrolled, refused=refused),
                         funded=False)
    text = [gettext("{label}：在校生 {enrolled:,} 人").format(label=label, enrolled=counts.enrolled)]
    counted = counts.enrolled
    if rural and rate.minimum_headcount and counts.enrolled < rate.minimum_headcount:
        counted = rate.minimum_headcount
        text.append(gettext("，乡村学校不足 {minimum_headcount:,} 人按 {counted:,} 人核定").format(minimum_headcount=rate.minimum_headcount, counted=counted))
    disabled = min(counts.disabled, counted) if rate.per_disabled is not None else 0
    base = (counted - disabled) * rate.per_student + disabled * (rate.per_disabled or 0)
    if disabled:
        text.append(gettext("；({counted:,} − 残疾学生 {disabled:,}) × {value} + {disabled:,} × {value2} = {value3}").format(counted=counted, disabled=disabled, value=yuan(rate.per_student), value2=yuan(rate.per_disabled or 0), value3=yuan(base)))
    else:
        text.append(f"；{counted:,} × {yuan(rate.per_student)} = {yuan(base)}")
    boarding = counts.boarding * rate.per_boarder
    if boarding:
        text.append(gettext("；寄宿生 {boarding:,} × {value} = {value2}").format(boarding=counts.boarding, value=yuan(rate.per_boarder), value2=yuan(boarding)))
    amount = base + boarding
    text.append(gettext("；小计 {value} 元").format(value=yuan(amount)))
    return StageLine(stage, counts, counted, amount, "".join(text), funded=True)


def _per_school_reference(actor: Actor, region: Region, rate_set: FundingRateSet, snapshot: Snapshot | None = None
                          ) -> list[SchoolAllocation]:
    """Every school under ``region`` in the actor's scope that has students, with its lines,
    computed at request time from the roll-ups (live or frozen): the reference the stored inputs
    are tested against, and the path for a snapshot taken before they were frozen with it."""
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
        school = schools.get(school_id, {"name": gettext("学校 %(id)s") % {"id": school_id}, "school_code": "", "urban_rural_code": "",
                                         "school_type_code": "", "sponsor_code": ""})
        allocation = SchoolAllocation(school_id, school["name"], school["school_code"], paths[school_id],
                                      school["urban_rural_code"].startswith(RURAL_PREFIX),
                                      school_type_code=school["school_type_code"], sponsor_code=school["sponsor_code"])
        for stage in sorted(stages):
            allocation.lines.append(stage_line(Stage(stage), stages[stage], rates.get(stage), rural=allocation.rural,
                                               school_type_code=school["school_type_code"],
                                               sponsor_code=school["sponsor_code"]))
        allocations.append(allocation)
    return sorted(allocations, key=lambda a: (a.region_path, a.name))


def stored_inputs_serve(snapshot: Snapshot | None) -> bool:
    """Live figures always; a snapshot only if it was taken after the funding inputs were stored
    (an older one has no frozen rows and is computed per school from its frozen roll-ups)."""
    return snapshot is None or SnapshotSchoolFunding.objects.filter(snapshot=snapshot).exists()


def school_allocations(actor: Actor, region: Region, rate_set: FundingRateSet, snapshot: Snapshot | None = None
                       ) -> list[SchoolAllocation]:
    """Every school under ``region`` in the actor's scope that has students, with its lines: the
    stored inputs of each school and stage (``stats.quota_models.SchoolFundingRollup``, kept with
    the roll-ups) times the rates."""
    if not stored_inputs_serve(snapshot):
        return _per_school_reference(actor, region, rate_set, snapshot)
    inputs = list(figures(SchoolFundingRollup, actor, region, snapshot).values(
        "school_id", "region_path", "stage", "school_type_code", "sponsor_code", "rural", "enrolled", "boarding",
        "disabled").order_by("school_id", "stage"))
    # Names as the school roll-up holds them (frozen for a snapshot): the region's rows, no id list.
    names = {r["school_id"]: r for r in figures(SchoolRollup, actor, region, snapshot).values(
        "school_id", "name", "school_code")}
    rates = {r.stage: r for r in rate_set.rates.all()}
    allocations: dict[int, SchoolAllocation] = {}
    for r in inputs:
        school = names.get(r["school_id"], {"name": gettext("学校 %(id)s") % {"id": r["school_id"]}, "school_code": ""})
        allocation = allocations.get(r["school_id"])
        if allocation is None:
            allocation = allocations[r["school_id"]] = SchoolAllocation(
                r["school_id"], school["name"], school["school_code"], r["region_path"], r["rural"],
                school_type_code=r["school_type_code"], sponsor_code=r["sponsor_code"])
        allocation.lines.append(stage_line(Stage(r["stage"]), StageCounts(r["enrolled"], r["boarding"], r["disabled"]),
                                           rates.get(r["stage"]), rural=r["rural"],
                                           school_type_code=r["school_type_code"], sponsor_code=r["sponsor_code"]))
    return sorted(allocations.values(), key=lambda a: (a.region_path, a.name))


@dataclass
class GroupLine:
    """The pupils of a region in one stage, 乡村 or 城镇, funded at one rate line (or not funded, and
    why): the region's arithmetic, which sums to its total exactly as its schools' lines do."""

    stage: Stage
    rural: bool
    funded: bool
    reason: str = ""  # why not funded
    schools: int = 0
    enrolled: int = 0
    boarding: int = 0
    disabled: int = 0
    topped_up: int = 0  # pupils added by the rural minimum headcount
    small_schools: int = 0  # rural schools counted at the minimum headcount
    amount: decimal.Decimal = decimal.Decimal(0)
    arithmetic: str = ""


def _refusal(rate: FundingRate | None, school_type_code: str, private: bool) -> str:
    """'' when ``rate`` funds these schools; otherwise why not, for a group of schools."""
    if rate is None:
        return gettext("本定额未列该学段")
    if rate.applies_to(school_type_code=school_type_code, sponsor_code=PRIVATE_SPONSOR if private else ""):
        return gettext("本定额不适用于民办学校") if private and not rate.covers_private else \
            gettext("本定额只适用于办学类型 {value}").format(value='、'.join(rate.school_type_prefixes))
    return ""


def _group_amount(rate: FundingRate, counted: int, disabled: int, boarding: int) -> decimal.Decimal:
    """``stage_line``'s rule for a sum of schools (linear in the counts: disabled pupils never
    exceed the pupils counted)."""
    disabled = disabled if rate.per_disabled is not None else 0
    return (counted - disabled) * rate.per_student + disabled * (rate.per_disabled or 0) + boarding * rate.per_boarder


def _explain(group: GroupLine, rate: FundingRate | None) -> str:
    where = gettext("{stage}（{area}）").format(stage=STAGE_LABELS[group.stage],
                                              area=gettext("乡村") if group.rural else gettext("城镇"))
    if not group.funded:
        return gettext("{where}：{schools:,} 所学校在校生 {enrolled:,} 人，{reason}，未计入").format(where=where, schools=group.schools, enrolled=group.enrolled, reason=group.reason)
    text = [gettext("{where}：{schools:,} 所学校在校生 {enrolled:,} 人").format(where=where, schools=group.schools, enrolled=group.enrolled)]
    counted = group.enrolled + group.topped_up
    if group.topped_up:
        text.append(gettext("，其中 {small_schools:,} 所乡村学校不足 {minimum_headcount:,} 人按 {minimum_headcount:,} 人核定，补足 {topped_up:,} 人，核定 {counted:,} 人").format(small_schools=group.small_schools, minimum_headcount=rate.minimum_headcount, topped_up=group.topped_up, counted=counted))
    disabled = group.disabled if rate.per_disabled is not None else 0
    base = _group_amount(rate, counted, group.disabled, 0)
    if disabled:
        text.append(gettext("；({counted:,} − 残疾学生 {disabled:,}) × {value} + {disabled:,} × {value2} = {value3}").format(counted=counted, disabled=disabled, value=yuan(rate.per_student), value2=yuan(rate.per_disabled or 0), value3=yuan(base)))
    else:
        text.append(f"；{counted:,} × {yuan(rate.per_student)} = {yuan(base)}")
    if group.boarding * rate.per_boarder:
        text.append(gettext("；寄宿生 {boarding:,} × {value} = {value2}").format(boarding=group.boarding, value=yuan(rate.per_boarder), value2=yuan(group.boarding * rate.per_boarder)))
    text.append(gettext("；小计 {value} 元").format(value=yuan(group.amount)))
    return "".join(text)


class _Groups:
    """The region's group lines, summed from county rows or from school lines."""

    def __init__(self, rates: dict[int, FundingRate]) -> None:
        self.rates = rates
        self.groups: dict[tuple, GroupLine] = {}

    def add(self, stage: int, school_type_code: str, private: bool, rural: bool, *, schools: int, enrolled: int,
            boarding: int, disabled: int, topped_up: int, small_schools: int) -> tuple[bool, decimal.Decimal]:
        """Add pupils of one stage, 办学类型, 举办者 and 城乡; whether they are funded, and their amount."""
        rate = self.rates.get(stage)
        reason = _refusal(rate, school_type_code, private)
        if not rural or reason:
            topped_up = small_schools = 0
        group = self.groups.setdefault((stage, rural, reason), GroupLine(Stage(stage), rural, not reason, reason))
        amount = decimal.Decimal(0) if reason else _group_amount(rate, enrolled + topped_up, disabled, boarding)
        group.schools += schools
        group.enrolled += enrolled
        group.boarding += boarding
        group.disabled += disabled
        group.topped_up += topped_up
        group.small_schools += small_schools
        group.amount += amount
        return not reason, amount

    def lines(self) -> list[GroupLine]:
        out = []
        for key in sorted(self.groups, key=lambda k: (k[0], k[1], k[2])):
            group = self.groups[key]
            group.arithmetic = _explain(group, self.rates.get(int(group.stage)))
            out.append(group)
        return out


@dataclass
class RegionAllocation:
    rate_set: FundingRateSet
    rows: list[BreakdownRow]  # each child region (or school) with its amount per stage
    total: BreakdownRow
    schools: list[SchoolAllocation]  # each school's lines: for a county, a town or a school (or when asked)
    unfunded: dict[Stage, int]  # students of stages the rate set does not fund
    groups: list[GroupLine] = field(default_factory=list)  # the region's arithmetic
    schools_listed: bool = True  # False: a province's or a city's page, summed from county rows

    @property
    def stages(self) -> list[Stage]:
        return [Stage(s) for s in sorted({s for r in [self.total, *self.rows] for s in r.cells})]


def _per_school_region_allocation(actor: Actor, region: Region, rate_set: FundingRateSet,
                                  snapshot: Snapshot | None = None) -> RegionAllocation:
    """``region_allocation`` summed at request time from ``_per_school_reference`` (the reference)."""
    return _from_schools(actor, region, rate_set, _per_school_reference(actor, region, rate_set, snapshot))


def _from_schools(actor: Actor, region: Region, rate_set: FundingRateSet, schools: list[SchoolAllocation]
                  ) -> RegionAllocation:
    items = [(s.school_id, s.region_path, int(line.stage), line.amount) for s in schools for line in s.lines
             if line.funded]
    rows, total = fold(actor, region, items)
    rows = [r for r in rows if r.cells]  # children with no funded students say nothing
    unfunded: dict[Stage, int] = defaultdict(int)
    groups = _Groups({r.stage: r for r in rate_set.rates.all()})
    for school in schools:
        for line in school.lines:
            if not line.funded:
                unfunded[line.stage] += line.counts.enrolled
            groups.add(int(line.stage), school.school_type_code, school.sponsor_code == PRIVATE_SPONSOR, school.rural,
                       schools=1, enrolled=line.counts.enrolled,
                       boarding=line.counts.boarding, disabled=line.counts.disabled,
                       topped_up=line.counted - line.counts.enrolled if line.funded else 0,
                       small_schools=int(line.funded and line.counted > line.counts.enrolled))
    return RegionAllocation(rate_set, rows, total, schools, dict(unfunded), groups.lines())


def region_allocation(actor: Actor, region: Region, rate_set: FundingRateSet, snapshot: Snapshot | None = None, *,
                      with_schools: bool = False) -> RegionAllocation:
    """The allocation of ``region`` per child region and stage, its arithmetic, and — for a town or a
    school, or ``with_schools`` (the export) — each school's lines.

    The rule is linear in the counts of each stage, 办学类型, 举办者 and 城乡 (plus the rural top-up,
    Σ schools × minimum − pupils over the small rural schools), so a region with children is summed
    per child and group, then multiplied: a province or a city (children no deeper than counties)
    from the county funding table, a county (whose towns the county rows cannot tell apart) and 东莞's
    and 中山's towns (no county level) from the schools' stored inputs grouped by child in SQL. A rate
    line whose minimum headcount is above what the county rows keep (``SMALL_SCHOOL_HEADCOUNT_LIMIT``)
    is answered from the schools' inputs too; snapshots taken before the inputs were stored are
    computed per school from their frozen roll-ups."""
    if not stored_inputs_serve(snapshot):
        return _per_school_region_allocation(actor, region, rate_set, snapshot)
    rates = {r.stage: r for r in rate_set.rates.all()}
    children = [c.path for c in region.children.filter(abolished_on__isnull=True)]
    lengths = {len(p) for p in children}
    if len(lengths) != 1 or scope_of(actor).school_id is not None:  # a town or a school: its schools' lines
        return _from_schools(actor, region, rate_set, school_allocations(actor, region, rate_set, snapshot))
    if (county_rollup_serves(actor, region.path, *children)
            and all(r.minimum_headcount <= SMALL_SCHOOL_HEADCOUNT_LIMIT for r in rates.values())):
        qs = figures(FundingCountyRollup, actor, region, snapshot).annotate(is_private=F("private")).alias(
            hc=F("headcount"), units=F("schools"))
    else:
        qs = figures(SchoolFundingRollup, actor, region, snapshot).annotate(
            is_private=Case(When(sponsor_code=PRIVATE_SPONSOR, then=Value(True)), default=Value(False),
                          output_field=BooleanField())).alias(
            hc=F("enrolled"), units=Value(1, output_field=IntegerField()))
    result = _grouped(actor, region, rate_set, rates, qs, lengths.pop())
    if with_schools:
        result.schools = school_allocations(actor, region, rate_set, snapshot)
    return result


def _grouped(actor: Actor, region: Region, rate_set: FundingRateSet, rates: dict[int, FundingRate], qs: QuerySet,
             length: int) -> RegionAllocation:
    """Counts summed per child (the first ``length`` characters of the path), stage, 办学类型, 民办 and
    城乡 in one query, with the rural top-up of each group, then multiplied by the rates."""
    minimums = {stage: r.minimum_headcount for stage, r in rates.items() if r.minimum_headcount}
    floor = (Case(*[When(stage=stage, then=Value(m)) for stage, m in minimums.items()], default=Value(0),
                  output_field=IntegerField()) if minimums else Value(0, output_field=IntegerField()))
    small = Q(rural=True, hc__gt=0, hc__lt=F("floor"))
    rows = (qs.alias(floor=floor)
            .annotate(child=Substr("region_path", 1, length))
            .values("child", "stage", "school_type_code", "is_private", "rural")
            .annotate(n_schools=Sum("units"), n=Sum("enrolled"), b=Sum("boarding"), d=Sum("disabled"),
                      small=Sum(Case(When(small, then=F("units")), default=Value(0), output_field=IntegerField())),
                      topup=Sum(Case(When(small, then=F("units") * F("floor") - F("enrolled")), default=Value(0),
                                     output_field=IntegerField())))
            .order_by())
    groups = _Groups(rates)
    items = []
    unfunded: dict[Stage, int] = defaultdict(int)
    for r in rows:
        funded, amount = groups.add(r["stage"], r["school_type_code"], r["is_private"], r["rural"],
                                    schools=r["n_schools"], enrolled=r["n"], boarding=r["b"] or 0,
                                    disabled=r["d"] or 0, topped_up=r["topup"] or 0, small_schools=r["small"] or 0)
        if funded:
            items.append((None, r["child"], r["stage"], amount))
        else:
            unfunded[Stage(r["stage"])] += r["n"]
    folded, total = fold(actor, region, items)
    folded = [row for row in folded if row.cells]
    return RegionAllocation(rate_set, folded, total, [], dict(unfunded), groups.lines(), schools_listed=False)
