"""Reading statistics: sums over the per-school roll-ups, inside the actor's jurisdiction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Sum

from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, scope_of, scoped
from eduplatform.stats.models import ClassRollup, StudentRollup

STUDENT_MEASURES = ("enrolled", "suspended", "minority", "migrant", "left_behind", "disabled", "boarding",
                    "new_entrants", "graduates")
STUDENT_DIMENSIONS = ("school_id", "stage", "grade", "gender", "cohort")


def student_figures(actor: Actor, *, under: str = "", by: Sequence[str] = (),
                    measures: Sequence[str] = STUDENT_MEASURES) -> list[dict]:
    """Student measures summed per combination of ``by`` (dimensions), for the schools in the
    actor's scope whose region path starts with ``under``."""
    unknown = (set(by) - set(STUDENT_DIMENSIONS)) | (set(measures) - set(STUDENT_MEASURES))
    if unknown:
        raise ValueError(f"unknown dimensions or measures: {sorted(unknown)}")
    qs = scoped(StudentRollup.objects.all(), actor)
    if under:
        qs = qs.filter(region_path__startswith=under)
    sums = {m: Sum(m) for m in measures}
    if not by:
        row = qs.aggregate(**sums)
        return [{m: row[m] or 0 for m in measures}]
    return list(qs.values(*by).annotate(**sums).order_by(*by))


def student_total(actor: Actor, *, under: str = "", measure: str = "enrolled") -> int:
    return student_figures(actor, under=under, measures=[measure])[0][measure]


def class_figures(actor: Actor, *, under: str = "", by: Sequence[str] = ("grade", "size_band")) -> list[dict]:
    qs = scoped(ClassRollup.objects.all(), actor)
    if under:
        qs = qs.filter(region_path__startswith=under)
    return list(qs.values(*by).annotate(classes=Sum("classes"), students=Sum("students")).order_by(*by))


@dataclass
class BreakdownRow:
    label: str
    region_code: str = ""  # for drilling down; empty for a school
    school_code: str = ""
    by_stage: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_stage.values())


def student_breakdown(actor: Actor, region: Region, measure: str = "enrolled") -> tuple[list[BreakdownRow], BreakdownRow]:
    """One ``measure`` per stage for each child of ``region`` within the actor's scope (the schools
    of a town, the school itself for a school user), and the region's total row.

    The roll-ups are grouped by school path (at most a few thousand rows for the whole province)
    and folded into the children here.
    """
    if measure not in STUDENT_MEASURES:
        raise ValueError(measure)
    qs = scoped(StudentRollup.objects.filter(region_path__startswith=region.path), actor)
    per_school = list(qs.values("school_id", "region_path", "stage").annotate(n=Sum(measure)).order_by())
    total = BreakdownRow(label=region.name)
    for item in per_school:
        total.by_stage[item["stage"]] = total.by_stage.get(item["stage"], 0) + item["n"]
    children = list(region.children.filter(abolished_on__isnull=True).order_by("code"))
    scope = scope_of(actor)
    if children and scope.school_id is None:
        visible = set(scoped(Region.objects.filter(pk__in=[c.pk for c in children]), actor).values_list("pk", flat=True))
        rows = [(c.path, BreakdownRow(label=c.name, region_code=c.code)) for c in children if c.pk in visible]
        for item in per_school:
            for path, row in rows:
                if item["region_path"].startswith(path):
                    row.by_stage[item["stage"]] = row.by_stage.get(item["stage"], 0) + item["n"]
                    break
        return [row for _path, row in rows], total
    schools = {o.pk: o for o in scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, region_path__startswith=region.path),
                                       actor)}
    by_school: dict[int, BreakdownRow] = {}
    for item in per_school:
        school = schools.get(item["school_id"])
        if school is None:
            continue
        row = by_school.setdefault(school.pk, BreakdownRow(label=school.name, school_code=school.school_code or ""))
        row.by_stage[item["stage"]] = row.by_stage.get(item["stage"], 0) + item["n"]
    return sorted(by_school.values(), key=lambda r: r.label), total
