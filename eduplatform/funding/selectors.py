"""Reads of the funding app. Rate sets are the province's published rates (no jurisdiction, like
code tables); schools and institution profiles are read through ``scoped``."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from eduplatform.funding.models import FundingRateSet, HigherEdProfile
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import Actor, scoped
from eduplatform.stats.models import Snapshot

RURAL_PREFIX = "2"  # 城乡分类 2xx 乡村 (210 乡中心区, 220 村庄)


def rate_sets() -> QuerySet[FundingRateSet]:
    return FundingRateSet.objects.prefetch_related("rates").order_by("-year", "-version")


def rate_set_by_id(rate_set_id: int) -> FundingRateSet:
    found = rate_sets().filter(pk=rate_set_id).first()
    if found is None:
        raise Http404("该定额版本不存在")
    return found


def current_rate_set(year: int) -> FundingRateSet | None:
    """The latest version of the latest year up to ``year`` (a year without its own rates keeps the
    previous year's); the earliest year's when every set is later than ``year``."""
    return (rate_sets().filter(year__lte=year).first() or
            FundingRateSet.objects.prefetch_related("rates").order_by("year", "-version").first())


def school_names(actor: Actor, school_ids: set[int]) -> dict[int, tuple[str, str]]:
    """(name, 学校标识码) of the schools in the actor's scope."""
    qs = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, pk__in=school_ids), actor)
    return {pk: (name, code or "") for pk, name, code in qs.values_list("pk", "name", "school_code")}


def rural_schools(actor: Actor, school_ids: set[int], snapshot: Snapshot | None = None) -> set[int]:
    """The schools located in a rural area (城乡分类 乡村), as the school record says today.

    The census snapshot does not freeze the 城乡分类, so a snapshot's calculation reads the current
    school record too (a school reclassified since the census date is judged by its new class)."""
    qs = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, pk__in=school_ids,
                                            urban_rural_code__startswith=RURAL_PREFIX), actor)
    return set(qs.values_list("pk", flat=True))


def higher_ed_profiles(actor: Actor, school_ids: set[int]) -> dict[int, HigherEdProfile]:
    return {p.school_id: p for p in scoped(HigherEdProfile.objects.filter(school_id__in=school_ids), actor)}
