"""Every read of regions and organizations, through ``scoped``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Length
from django.http import Http404
from django.utils.translation import gettext

from eduplatform.orgs.models import (
    Organization,
    OrganizationVersion,
    OrgKind,
    Region,
    RegionLevel,
    RegionVersion,
)
from eduplatform.orgs.scope import Actor, apply_scope, scope_of, scoped


def schools_in_scope(actor: Actor, *, include_closed: bool = False) -> QuerySet[Organization]:
    qs = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL), actor).select_related("region")
    return qs if include_closed else qs.filter(is_open=True)


def search_schools(
    actor: Actor,
    *,
    text: str = "",
    school_type: str = "",
    stage_mask: int = 0,
    status: str = "open",
) -> QuerySet[Organization]:
    qs = schools_in_scope(actor, include_closed=True)
    if status == "open":
        qs = qs.filter(is_open=True)
    elif status == "closed":
        qs = qs.filter(is_open=False)
    text = text.strip()
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(school_code__startswith=text) | Q(principal_name=text))
    if school_type:
        qs = qs.filter(school_type_code__startswith=school_type)
    if stage_mask:
        qs = qs.alias(_hit=F("stage_mask").bitand(stage_mask)).filter(_hit__gt=0)
    return qs.order_by(*SCHOOL_LIST_ORDER)


SCHOOL_LIST_ORDER = ("region_path", "name", "pk")  # unique: keyset paging


def school_for(actor: Actor, school_code: str) -> Organization:
    """One school by its 学校标识码, or 404 when it does not exist *or* lies outside the scope."""
    school = (
        scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, school_code=school_code), actor, with_focus=False)
        .select_related("region", "parent")
        .first()
    )
    if school is None:
        raise Http404(gettext("学校不存在或不在您的管辖范围内"))
    return school


def school_versions(school: Organization) -> QuerySet[OrganizationVersion]:
    return school.versions.select_related("region").order_by("-valid_from")


def regions_in_scope(actor: Actor) -> QuerySet[Region]:
    return scoped(Region.objects.all(), actor)


def region_for(actor: Actor, code: str) -> Region:
    region = scoped(Region.objects.filter(code=code), actor, with_focus=False).first()
    if region is None:
        raise Http404(gettext("区划不存在或不在您的管辖范围内"))
    return region


def scope_root(actor: Actor) -> Region | None:
    """The region at the top of the actor's (possibly narrowed) jurisdiction."""
    scope = scope_of(actor)
    if scope.is_empty:
        return None
    return Region.objects.filter(path=scope.region_path).first()


@dataclass
class RegionRow:
    region: Region
    name: str
    schools: int = 0
    by_stage: dict[int, int] = field(default_factory=dict)


def region_children_with_counts(actor: Actor, region: Region, *, as_of: dt.date | None = None) -> list[RegionRow]:
    """The children of ``region`` with the number of open schools in each, as of a date if given.

    One grouped query per page: schools are counted per town (or whatever region they sit in)
    and summed up the tree in memory, which is cheap for Guangdong's 1,901 divisions.
    """
    scope = scope_of(actor)
    if as_of is None:
        children = list(region.children.filter(abolished_on__isnull=True).order_by("code"))
        names = {c.pk: c.name for c in children}
        rows = apply_scope(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True), scope)
        counts = rows.filter(region_path__startswith=region.path).values("region_path").annotate(n=Count("id"))
    else:
        versions = RegionVersion.objects.filter(parent=region).filter(_covers(as_of)).select_related("region")
        children = [v.region for v in versions.order_by("region__code")]
        names = {v.region_id: v.name for v in versions}
        rows = OrganizationVersion.objects.filter(organization__kind=OrgKind.SCHOOL, is_open=True).filter(
            _covers(as_of)
        )
        rows = apply_scope(rows, scope)
        counts = rows.filter(region_path__startswith=region.path).values("region_path").annotate(n=Count("id"))
    result = [RegionRow(region=c, name=names.get(c.pk, c.name)) for c in children]
    for item in counts:
        for row in result:
            if item["region_path"].startswith(row.region.path):
                row.schools += item["n"]
                break
    visible = {r.pk for r in scoped(Region.objects.filter(pk__in=[c.pk for c in children]), actor)}
    return [r for r in result if r.region.pk in visible]


def _covers(day: dt.date) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=day)) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def schools_in_region(actor: Actor, region: Region, *, as_of: dt.date | None = None) -> list:
    """Schools sitting directly in a town (the leaves of the browse tree)."""
    if as_of is None:
        return list(schools_in_scope(actor).filter(region=region).order_by("name"))
    versions = scoped(
        OrganizationVersion.objects.filter(organization__kind=OrgKind.SCHOOL, region=region, is_open=True).filter(
            _covers(as_of)
        ),
        actor,
    ).select_related("organization")
    return [v for v in versions.order_by("name")]


def region_ancestors(region: Region) -> list[Region]:
    chain, node = [], region
    while node is not None:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))


def open_school_by_code(actor: Actor, school_code: str) -> Organization | None:
    """An open school in the actor's jurisdiction, by its 学校标识码 (for forms where a bureau user
    names the school it acts for; the region picker's focus does not narrow it)."""
    code = (school_code or "").strip()
    if not code:
        return None
    return scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, school_code=code, is_open=True), actor,
                  with_focus=False).first()


# --- searchable pickers (issue 18): what a user may find by typing part of a name or code ---------

PICK_LIMIT = 20  # a picker shows a short list; typing more narrows it


def pick_schools(actor: Actor, *, text: str) -> list[Organization]:
    """Open schools of the actor's jurisdiction whose name contains ``text`` or whose 学校标识码
    starts with it (the region picker's focus does not narrow it, as for ``open_school_by_code``)."""
    text = text.strip()
    qs = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True), actor, with_focus=False)
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(school_code__startswith=text))
    return list(qs.select_related("region").order_by("region_path", "name", "pk")[:PICK_LIMIT])


def pick_units(actor: Actor, *, text: str) -> list[Organization]:
    """Open units (bureaus, divisions, schools) of the actor's jurisdiction by name or 学校标识码."""
    text = text.strip()
    qs = scoped(Organization.objects.filter(is_open=True), actor, with_focus=False)
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(school_code__startswith=text))
    return list(qs.select_related("region").order_by("kind", "region_path", "name", "pk")[:PICK_LIMIT])


def unit_in_scope(actor: Actor, unit_id: object) -> Organization | None:
    """One open unit of the actor's jurisdiction by its id (what a unit picker submits), or None."""
    try:
        pk = int(str(unit_id))
    except ValueError:
        return None
    return scoped(Organization.objects.filter(pk=pk, is_open=True), actor, with_focus=False).first()


def pick_regions(actor: Actor, *, text: str, level: str = "") -> list[Region]:
    """Current regions of the actor's jurisdiction (of one level, if given) by name or division code."""
    text = text.strip()
    qs = scoped(Region.objects.filter(abolished_on__isnull=True), actor, with_focus=False)
    if level:
        qs = qs.filter(level=level)
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(code__startswith=text))
    # Shorter paths first: a county before its towns.
    return list(qs.select_related("parent").order_by(Length("path"), "code")[:PICK_LIMIT])


def pick_places(*, text: str) -> list[Region]:
    """Places of birth or household registration (出生地、户口所在地): Guangdong's province, cities and
    counties by name or GB/T 2260 code. A place of birth lies anywhere, inside the user's jurisdiction
    or not; these are the public division names of GB/T 2260, not records of a jurisdiction."""
    text = text.strip()
    qs = Region.objects.filter(
        abolished_on__isnull=True, level__in=[RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY]
    ).exclude(gb2260_code="")
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(gb2260_code__startswith=text))
    return list(qs.select_related("parent").order_by(Length("path"), "code")[:PICK_LIMIT])
