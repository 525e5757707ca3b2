"""Reads of the funding app. Rate sets are the province's published rates (no jurisdiction, like
code tables); institution profiles are read through ``scoped``."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext

from eduplatform.funding.models import FundingRateSet, HigherEdProfile
from eduplatform.orgs.scope import Actor, scoped


def rate_sets() -> QuerySet[FundingRateSet]:
    return FundingRateSet.objects.prefetch_related("rates").order_by("-year", "-version")


def rate_set_by_id(rate_set_id: int) -> FundingRateSet:
    found = rate_sets().filter(pk=rate_set_id).first()
    if found is None:
        raise Http404(gettext("该定额版本不存在"))
    return found


def current_rate_set(year: int) -> FundingRateSet | None:
    """The latest version of the latest year up to ``year`` (a year without its own rates keeps the
    previous year's); the earliest year's when every set is later than ``year``."""
    return (rate_sets().filter(year__lte=year).first() or
            FundingRateSet.objects.prefetch_related("rates").order_by("year", "-version").first())


def higher_ed_profiles(actor: Actor, school_ids: set[int]) -> dict[int, HigherEdProfile]:
    return {p.school_id: p for p in scoped(HigherEdProfile.objects.filter(school_id__in=school_ids), actor)}
