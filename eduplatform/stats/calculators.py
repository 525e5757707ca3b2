"""Policy calculators: the teacher staffing quota (教职工编制) per school, county or any region, from
the records, against the staff actually in post; and the enrolment projection by cohort progression. Each result carries its inputs, the rule version
and the arithmetic, so a county can check every figure by hand.

Rule (DOMAIN §4.1): 中央编办发〔2014〕72号 brought county and rural schools to the city standard —
教职工 : 学生 = 1 : 19 (小学), 1 : 13.5 (初中), 1 : 12.5 (高中). Kindergartens (教职工配备标准（暂行）,
2013): each full-day class 2 专任教师 + 1 保育员, plus 园长: 1 up to 5 classes, 2 for 6–9, 3 from 10.
Guangdong's own implementation (e.g. a top-up for small rural schools) was not found; it would be
a new rule version here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, scope_of, scoped
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.stats import definitions
from eduplatform.stats.models import (
    ClassRollup,
    Snapshot,
    StaffRollup,
    StudentCountyRollup,
    StudentRollup,
)
from eduplatform.stats.quota_models import QuotaCountyRollup, SchoolQuota, SnapshotSchoolQuota
from eduplatform.stats.rollup import school_year_of
from eduplatform.stats.selectors import county_rollup_serves, figures
from eduplatform.students.grades import GRADES, grade_name

RULE_VERSION = gettext_lazy("2014 城乡统一标准（中央编办发〔2014〕72号）；幼儿园：教职工配备标准（暂行）2013")
PUPILS_PER_STAFF: dict[Stage, Decimal] = {Stage.PRIMARY: Decimal(19), Stage.JUNIOR: Decimal("13.5"),
                                          Stage.SENIOR: Decimal("12.5")}
STAFF_PER_KINDERGARTEN_CLASS = 3  # 2 专任教师 + 1 保育员
NOT_ASSESSED = gettext_lazy("不测算")


def kindergarten_directors(classes: int) -> int:
    if classes == 0:
        return 0
    return 1 if classes <= 5 else 2 if classes <= 9 else 3


@dataclass
class Quota:
    name: str
    region_code: str = ""
    school_code: str = ""
    quota: int | None = 0  # None: 不测算 (no standard applies to the school)
    actual: int = 0
    steps: list[str] = field(default_factory=list)  # the arithmetic, one line per part

    @property
    def assessed(self) -> bool:
        return self.quota is not None

    @property
    def difference(self) -> int | None:
        """Staff in post minus the quota: positive is 超编, negative 缺编; None when not assessed."""
        return None if self.quota is None else self.actual - self.quota


def assess(pupils: dict[int, int], kindergarten_classes: int) -> tuple[int | None, list[str]]:
    """One school's quota (None: 不测算) and its arithmetic, from its pupils per stage and its
    kindergarten classes: the rule of the module docstring. Computed when the school's roll-ups are
    refreshed (``stats.calculator_tables``) and by the per-school path."""
    steps: list[str] = []
    exact = Decimal(0)
    for stage, ratio in PUPILS_PER_STAFF.items():
        n = pupils.get(int(stage), 0)
        if n:
            exact += n / ratio
            steps.append(gettext("%(stage)s在校生 %(pupils)s ÷ %(ratio)s = %(posts)s") % {
                "stage": STAGE_LABELS[stage], "pupils": n, "ratio": ratio, "posts": f"{n / ratio:.2f}"})
    uncovered = [gettext("%(stage)s在校生 %(pupils)s") % {"stage": STAGE_LABELS[Stage(stage)], "pupils": n}
                 for stage, n in sorted(pupils.items())
                 if n and Stage(stage) not in PUPILS_PER_STAFF and stage != Stage.PRESCHOOL]
    kg = kindergarten_classes
    if not steps and not kg:
        # No standard applies (中职, 特教, 高校 …, or no pupils): shown as 不测算 and left out
        # of every sum, never as 超编 by all its staff.
        return None, [gettext("%(pupils)s：无适用的编制标准，%(not_assessed)s") % {
            "pupils": "、".join(uncovered) if uncovered else gettext("无在校生"), "not_assessed": NOT_ASSESSED}]
    if uncovered:
        steps.append(gettext("%(pupils)s无适用的编制标准，未计入核定编制") % {"pupils": "、".join(uncovered)})
    if kg:
        directors = kindergarten_directors(kg)
        exact += kg * STAFF_PER_KINDERGARTEN_CLASS + directors
        steps.append(gettext("幼儿园 %(classes)s 个班 × %(per_class)s + 园长 %(directors)s = %(posts)s") % {
            "classes": kg, "per_class": STAFF_PER_KINDERGARTEN_CLASS, "directors": directors,
            "posts": kg * STAFF_PER_KINDERGARTEN_CLASS + directors})
    quota = math.ceil(exact)  # a part of a post is a post
    steps.append(gettext("合计 %(exact)s，向上取整为 %(quota)s") % {"exact": f"{exact:.2f}", "quota": quota})
    return quota, steps


def _per_school_quotas(actor: Actor, region: Region, snapshot: Snapshot | None = None) -> list[Quota]:
    """Each school's quota computed at request time from the roll-ups (live or frozen): the
    reference the stored quotas are tested against, and the path for what they cannot answer."""
    pupils: dict[int, dict[int, int]] = defaultdict(dict)
    for r in figures(StudentRollup, actor, region, snapshot).values("school_id", "stage").annotate(
            n=Sum("enrolled")).order_by():
        pupils[r["school_id"]][r["stage"]] = r["n"]
    classes = {r["school_id"]: r["n"] for r in figures(ClassRollup, actor, region, snapshot).filter(
        stage=Stage.PRESCHOOL).values("school_id").annotate(n=Sum("classes")).order_by()}
    # 在岗教职工: 教职工 by its one definition (without 代课 and 兼任).
    actual = {r["school_id"]: r["n"] for r in figures(StaffRollup, actor, region, snapshot).filter(
        definitions.STAFF.parts[0].condition).values("school_id").annotate(n=Sum("staff")).order_by()}
    schools = {o.pk: o for o in scoped(Organization.objects.filter(
        kind=OrgKind.SCHOOL, pk__in=set(pupils) | set(actual)), actor)}
    quotas = []
    for school_id, school in sorted(schools.items(), key=lambda item: item[1].name):
        quota, steps = assess(pupils[school_id], classes.get(school_id, 0))
        quotas.append(Quota(school.name, school_code=school.school_code or "", quota=quota,
                            actual=actual.get(school_id, 0), steps=steps))
    return quotas


def _per_school_region_quotas(actor: Actor, region: Region, snapshot: Snapshot | None = None
                              ) -> tuple[list[Quota], Quota]:
    """``region_quotas`` summed at request time from ``_per_school_quotas`` (the reference)."""
    quotas = _per_school_quotas(actor, region, snapshot)
    assessed = [q for q in quotas if q.assessed]  # a school without a standard is in no sum
    total = Quota(region.name, quota=sum(q.quota for q in assessed), actual=sum(q.actual for q in assessed))
    children = list(region.children.filter(abolished_on__isnull=True).order_by("code"))
    if not children or scope_of(actor).school_id is not None:
        return quotas, total
    path_of = dict(Organization.objects.filter(school_code__in=[q.school_code for q in quotas]).values_list(
        "school_code", "region_path"))
    rows = [(c.path, Quota(c.name, region_code=c.code)) for c in children]
    for q in assessed:
        row = next((row for prefix, row in rows if path_of.get(q.school_code, "").startswith(prefix)), None)
        if row is not None:
            row.quota += q.quota
            row.actual += q.actual
    return [row for _p, row in rows if row.quota or row.actual], total


def stored_quotas_serve(actor: Actor, snapshot: Snapshot | None) -> bool:
    """Whether the stored quotas answer for this actor: not for a stage-limited scope (a school's
    quota there counts only the pupils and staff of the scope's stages, which the stored quota, of
    the whole school, does not), nor for a snapshot taken before they were frozen with it."""
    if scope_of(actor).stage_mask:
        return False
    return snapshot is None or SnapshotSchoolQuota.objects.filter(snapshot=snapshot).exists()


def school_quotas(actor: Actor, region: Region, snapshot: Snapshot | None = None) -> list[Quota]:
    """Each school's quota under ``region`` in the actor's scope, with its arithmetic (by name)."""
    if not stored_quotas_serve(actor, snapshot):
        return _per_school_quotas(actor, region, snapshot)
    rows = {r["school_id"]: r for r in figures(SchoolQuota, actor, region, snapshot).values(
        "school_id", "quota", "actual", "steps")}
    schools = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, pk__in=list(rows)), actor)
    quotas = [Quota(name, school_code=code or "", quota=rows[pk]["quota"], actual=rows[pk]["actual"],
                    steps=rows[pk]["steps"].split("\n") if rows[pk]["steps"] else [])
              for pk, name, code in schools.values_list("pk", "name", "school_code")]
    return sorted(quotas, key=lambda q: q.name)


def region_quotas(actor: Actor, region: Region, snapshot: Snapshot | None = None) -> tuple[list[Quota], Quota]:
    """The schools' quotas summed into each child region (schools themselves under a town, or for a
    school user), and the region's total; a county's quota is the sum of its schools' (each rounded
    up). Read from the stored quotas: a province's or a city's counties from the county sums, a
    county's towns (or 东莞's and 中山's towns, which have no county) from the schools' stored rows
    grouped by town. Stage-limited scopes and snapshots taken before the quotas were stored are
    computed per school at request time (``stored_quotas_serve``)."""
    if not stored_quotas_serve(actor, snapshot):
        return _per_school_region_quotas(actor, region, snapshot)
    children = list(region.children.filter(abolished_on__isnull=True).order_by("code"))
    if not children or scope_of(actor).school_id is not None:
        quotas = school_quotas(actor, region, snapshot)
        assessed = [q for q in quotas if q.assessed]
        return quotas, Quota(region.name, quota=sum(q.quota for q in assessed), actual=sum(q.actual for q in assessed))
    paths = [c.path for c in children]
    if county_rollup_serves(actor, region.path, *paths):
        qs = figures(QuotaCountyRollup, actor, region, snapshot)
    else:
        qs = figures(SchoolQuota, actor, region, snapshot).filter(quota__isnull=False)
    total = Quota(region.name)
    rows = [(c.path, Quota(c.name, region_code=c.code)) for c in children]
    for length in sorted({len(p) for p in paths}):
        # One grouped read per length of the children's paths (one length in practice); the total
        # from the first, which counts every row under the region.
        for r in qs.annotate(child=Substr("region_path", 1, length)).values("child").annotate(
                q=Sum("quota"), a=Sum("actual")).order_by():
            if length == min(len(p) for p in paths):
                total.quota += r["q"] or 0
                total.actual += r["a"] or 0
            row = next((row for prefix, row in rows if prefix == r["child"]), None)
            if row is not None:
                row.quota += r["q"] or 0
                row.actual += r["a"] or 0
    return [row for _p, row in rows if row.quota or row.actual], total


# --------------------------------------------------------------------------------------------
# Enrolment projection


# First grades fed by the last grade of the stage below (大班 → 一年级, 六年级 → 初一, 初三 → 高一 and 中职).
FEEDERS: dict[str, tuple[str, ...]] = {"11": ("03",), "21": ("16",), "31": ("23",), "41": ("23",)}
PROJECTION_RULE = gettext_lazy("按年级递推（队列法）：各年级学生次年升入下一年级；起始年级由下一学段毕业年级按本年升学比例推算")


@dataclass
class Projection:
    grades: list[tuple[str, list[int]]]  # (grade name, [this year, +1, +2, +3])
    years: list[int]
    notes: list[str]


def project_enrolment(actor: Actor, region: Region, snapshot: Snapshot | None = None, *, years: int = 3,
                      school_year: int | None = None) -> Projection:
    """Students per grade for the next ``years`` school years, by cohort progression from the records.

    Assumptions, shown on the page: everyone moves up a grade each year (no repeaters or transfers
    in or out of the region); a first grade takes the same share of the feeding grade as it does
    this year (初一 ÷ 六年级 now, applied to next year's 六年级 leavers); kindergarten 小班 keeps this
    year's size (no birth data in the records); higher education and special schools are left out.
    """
    if snapshot is None and county_rollup_serves(actor, region.path):
        # A province, a city or a county: the county roll-up has the grade (a stage-limited scope is
        # filtered by its stage column); a town, a school or a snapshot read the schools' rows.
        source = scoped(StudentCountyRollup.objects.filter(region_path__startswith=region.path), actor)
    else:
        source = figures(StudentRollup, actor, region, snapshot)
    counts = {r["grade"]: r["n"] for r in source.values("grade").annotate(n=Sum("enrolled")).order_by()}
    covered = [g for g in GRADES if g.stage in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR,
                                                 Stage.VOCATIONAL)]
    previous_of = {g.next_code: g.code for g in covered if g.next_code}
    # This year's transition shares (first grade ÷ its feeders), the assumption for the years ahead.
    shares = {}
    notes = []
    for first, feeders in FEEDERS.items():
        fed = sum(counts.get(f, 0) for f in feeders)
        shares[first] = Decimal(counts.get(first, 0)) / fed if fed else Decimal(0)
        names = "、".join(grade_name(f) for f in feeders)
        notes.append(f"{grade_name(first)} ÷ {names} = {counts.get(first, 0)} ÷ {fed} = {shares[first]:.3f}")
    series = {g.code: [counts.get(g.code, 0)] for g in covered}
    for _year in range(years):
        last = {code: values[-1] for code, values in series.items()}  # the year before, for every grade
        for g in covered:
            if g.code in FEEDERS:
                value = int((sum(last.get(f, 0) for f in FEEDERS[g.code]) * shares[g.code]).to_integral_value())
            elif g.code in previous_of:
                value = last[previous_of[g.code]]
            else:  # 小班: no births in the records, this year's size carries on
                value = last[g.code]
            series[g.code].append(value)
    start = school_year if school_year is not None else (snapshot.school_year if snapshot else
                                                         school_year_of(timezone.localdate()))
    return Projection([(g.name, series[g.code]) for g in covered if any(series[g.code])],
                      [start + i for i in range(years + 1)], notes)
