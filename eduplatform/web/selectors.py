"""Figures for the home dashboard, read through the scoped selectors of the apps below."""

from __future__ import annotations

from django.db.models import Count

from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.scope import Actor, scoped
from eduplatform.orgs.selectors import region_children_with_counts, schools_in_scope, scope_root
from eduplatform.orgs.stages import STAGE_LABELS
from eduplatform.standards import codebook


def dashboard_figures(actor: Actor) -> dict[str, object]:
    schools = schools_in_scope(actor)
    total = schools.count()
    # Schools per 学校类别 (the 2-digit level of 办学类型), the way bulletins group them.
    by_category: dict[str, int] = {}
    for row in schools.values("school_type_code").annotate(n=Count("id")):
        category = (row["school_type_code"] or "")[:2]
        by_category[category] = by_category.get(category, 0) + row["n"]
    categories = [
        {"code": code, "name": codebook.code_name("school_type", code), "count": n}
        for code, n in sorted(by_category.items(), key=lambda kv: -kv[1])
    ]
    # Few distinct masks exist, so one grouped query and a sum in memory count schools per stage.
    per_mask = list(schools.values("stage_mask").annotate(n=Count("id")))
    by_stage = [
        {"name": label, "count": sum(r["n"] for r in per_mask if r["stage_mask"] & stage)}
        for stage, label in STAGE_LABELS.items()
    ]
    by_stage = [s for s in by_stage if s["count"]]
    root = scope_root(actor)
    children = region_children_with_counts(actor, root) if root is not None else []
    return {
        "root": root,
        "schools": total,
        "closed": scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=False), actor).count(),
        "authorities": scoped(Organization.objects.exclude(kind=OrgKind.SCHOOL), actor).count(),
        "regions": scoped(Region.objects.filter(abolished_on__isnull=True), actor).count(),
        "categories": categories,
        "stages": by_stage,
        "children": [{"code": c.region.code, "name": c.name, "count": c.schools} for c in children],
    }
