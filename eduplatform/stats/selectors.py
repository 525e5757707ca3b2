"""Reading statistics: sums over the per-school roll-ups, inside the actor's jurisdiction."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Sum

from eduplatform.orgs.scope import Actor, scoped
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
