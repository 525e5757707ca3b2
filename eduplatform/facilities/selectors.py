"""Every read of land and buildings, through ``scoped``; and the school totals by use, summed from
the buildings (基础基512) and parcels (基础基522) each time they are asked for."""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.http import Http404
from django.utils.translation import gettext

from eduplatform.core.paging import within_path
from eduplatform.facilities.models import Building, LandParcel, Tenure
from eduplatform.facilities.schema import GYM_USE, USE_CATEGORIES, use_category
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import Actor, scope_of, scoped

ZERO = decimal.Decimal(0)
DANGEROUS = Q(condition__startswith="2")
D_GRADE = "24"

# Status filters of the building list.
BUILDING_STATUSES = {
    "standing": Q(demolished_on__isnull=True),
    "in_use": Q(demolished_on__isnull=True, in_use=True),
    "idle": Q(demolished_on__isnull=True, in_use=False),
    "demolished": Q(demolished_on__isnull=False),
    "all": Q(),
}
# Condition filters: 危房 of any grade, D级 only, or D级 still in use (the case that must not be).
CONDITION_FILTERS = {
    "normal": Q(condition="10"),
    "dangerous": DANGEROUS,
    "d_grade": Q(condition=D_GRADE),
    "d_in_use": Q(condition=D_GRADE, in_use=True),
}



def school_for(actor: Actor, code: str) -> Organization:
    """Any school in scope (open or closed), for its summary page; 404 outside the scope."""
    found = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL), actor, with_focus=False).filter(
        school_code=code).first()
    if found is None:
        raise Http404(gettext("没有这所学校，或它不在您的管辖范围内"))
    return found


# --------------------------------------------------------------------------------------------
# Buildings


def buildings_in_scope(
    actor: Actor,
    *,
    text: str = "",
    category: str = "",
    structure: str = "",
    condition: str = "",
    status: str = "standing",
    school_code: str = "",
    region_path: str = "",
) -> QuerySet[Building]:
    """Buildings in the actor's jurisdiction, filtered as the list asks (``region_path``: how a floor-area
    figure opens the buildings it sums)."""
    qs = scoped(Building.objects.all(), actor).select_related("school")
    if region_path:
        qs = qs.filter(region_path__startswith=region_path)
    qs = qs.filter(BUILDING_STATUSES.get(status, BUILDING_STATUSES["standing"]))
    text = text.strip()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(number__iexact=text) | Q(school__name__icontains=text)
                       | Q(school__school_code=text))
    if category:
        digits = {"teaching": ("1",), "living": ("2",), "admin": ("3",), "other": ("4", "5")}.get(category, ())
        match = Q()
        for digit in digits:
            match |= Q(use_code__startswith=digit)
        qs = qs.filter(match) if digits else qs
    if structure:
        qs = qs.filter(structure=structure)
    if condition in CONDITION_FILTERS:
        qs = qs.filter(CONDITION_FILTERS[condition])
    if school_code:
        qs = qs.filter(school__school_code=school_code.strip())
    qs = within_path(qs, "region_path", scope_of(actor).region_path, region_path)
    return qs.order_by(*BUILDING_LIST_ORDER)


# The lists' orders (unique keys for keyset paging): place, school, number or name, served by the
# partial indexes building_list_order (standing) and parcel_list_order (in use).
BUILDING_LIST_ORDER = ("region_path", "school_id", "number", "pk")


def building_for(actor: Actor, building_id: int) -> Building:
    found = scoped(Building.objects.select_related("school"), actor).filter(pk=building_id).first()
    if found is None:
        raise Http404(gettext("没有这栋建筑物，或它不在您的管辖范围内"))
    return found


def buildings_of(actor: Actor, school: Organization) -> QuerySet[Building]:
    return scoped(Building.objects.filter(school=school), actor).order_by("demolished_on", "number")


# --------------------------------------------------------------------------------------------
# Land parcels


PARCEL_STATUSES = {"active": Q(retired_on__isnull=True), "retired": Q(retired_on__isnull=False), "all": Q()}


def parcels_in_scope(actor: Actor, *, text: str = "", status: str = "active", property_right: str = "",
                     school_code: str = "") -> QuerySet[LandParcel]:
    qs = scoped(LandParcel.objects.all(), actor).select_related("school")
    qs = qs.filter(PARCEL_STATUSES.get(status, PARCEL_STATUSES["active"]))
    text = text.strip()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(certificate_number__icontains=text)
                       | Q(school__name__icontains=text) | Q(school__school_code=text))
    if property_right:
        qs = qs.filter(property_right=property_right)
    if school_code:
        qs = qs.filter(school__school_code=school_code.strip())
    qs = within_path(qs, "region_path", scope_of(actor).region_path)
    return qs.order_by(*PARCEL_LIST_ORDER)


PARCEL_LIST_ORDER = ("region_path", "school_id", "name", "pk")


def totals_from_rollup(sums: dict[str, object]) -> FloorAreaTotals:
    """``FloorAreaTotals`` from the statistics' per-school building roll-up summed over a scope
    (``stats.selectors.building_totals``), which keeps the same totals by the same rule."""
    totals = FloorAreaTotals(
        total=sums["total_area"] or ZERO, dangerous=sums["dangerous_area"] or ZERO,
        d_grade=sums["d_grade_area"] or ZERO, rented=sums["rented_area"] or ZERO, gym=sums["gym_area"] or ZERO,
        buildings=sums["buildings"] or 0, dangerous_in_use=sums["d_grade_in_use"] or 0)
    for key, _label, field_name in USE_CATEGORIES:
        totals.by_category[key] = sums[field_name] or ZERO
    return totals


def parcel_for(actor: Actor, parcel_id: int) -> LandParcel:
    found = scoped(LandParcel.objects.select_related("school"), actor).filter(pk=parcel_id).first()
    if found is None:
        raise Http404(gettext("没有这宗土地，或它不在您的管辖范围内"))
    return found


def parcels_of(actor: Actor, school: Organization) -> QuerySet[LandParcel]:
    return scoped(LandParcel.objects.filter(school=school), actor).order_by("retired_on", "name", "pk")


# --------------------------------------------------------------------------------------------
# Totals


@dataclass
class FloorAreaTotals:
    """A school's (or a set of schools') floor area by 512 use category, from its standing buildings.

    A building's floor area not assigned to a category counts for the category of its own use
    (a 教学楼's unassigned area is teaching space), so the categories always add up to the total.
    """

    by_category: dict[str, decimal.Decimal] = field(default_factory=lambda: {k: ZERO for k, _l, _f in USE_CATEGORIES})
    total: decimal.Decimal = ZERO
    dangerous: decimal.Decimal = ZERO  # 危房面积 (any grade)
    d_grade: decimal.Decimal = ZERO
    rented: decimal.Decimal = ZERO  # 租借面积
    gym: decimal.Decimal = ZERO  # 体育馆 (buildings used as 体育活动室)
    buildings: int = 0
    dangerous_in_use: int = 0  # D级危房 still in use

    @property
    def teaching(self) -> decimal.Decimal:
        return self.by_category["teaching"]

    @property
    def admin(self) -> decimal.Decimal:
        return self.by_category["admin"]

    @property
    def living(self) -> decimal.Decimal:
        return self.by_category["living"]

    @property
    def other(self) -> decimal.Decimal:
        return self.by_category["other"]

    def rows(self) -> list[tuple[str, decimal.Decimal]]:
        return [(label, self.by_category[key]) for key, label, _f in USE_CATEGORIES]


def totals_of(buildings: QuerySet[Building]) -> FloorAreaTotals:
    """Sum the standing buildings of ``buildings`` (an already scoped queryset) by use category,
    in the database: a province's list totals as quickly as one school's."""
    return _grouped_totals(buildings, ()).get((), FloorAreaTotals())


def totals_by_school(buildings: QuerySet[Building]) -> dict[int, FloorAreaTotals]:
    """The same totals for each school of ``buildings`` (what the statistics roll-ups keep)."""
    return {key[0]: totals for key, totals in _grouped_totals(buildings, ("school_id",)).items()}


def _grouped_totals(buildings: QuerySet[Building], by: tuple[str, ...]) -> dict[tuple, FloorAreaTotals]:
    """Totals per combination of ``by`` (none: one total), in two grouped queries."""
    standing = buildings.filter(demolished_on__isnull=True).order_by()
    d_grade = Q(condition=D_GRADE)
    measures = dict(
        teaching=Sum("teaching_area"), admin=Sum("admin_area"), living=Sum("living_area"), other=Sum("other_area"),
        total=Sum("total_area"), buildings=Count("pk"), dangerous=Sum("total_area", filter=DANGEROUS),
        d_grade=Sum("total_area", filter=d_grade), d_in_use=Count("pk", filter=d_grade & Q(in_use=True)),
        rented=Sum("total_area", filter=~Q(tenure=Tenure.OWNED)), gym=Sum("total_area", filter=Q(use_code=GYM_USE)))
    rows = [standing.aggregate(**measures)] if not by else standing.values(*by).annotate(**measures)
    out: dict[tuple, FloorAreaTotals] = {}
    for sums in rows:
        if not sums["buildings"]:
            continue
        totals = out[tuple(sums[f] for f in by)] = FloorAreaTotals(
            total=sums["total"] or ZERO, dangerous=sums["dangerous"] or ZERO, d_grade=sums["d_grade"] or ZERO,
            rented=sums["rented"] or ZERO, gym=sums["gym"] or ZERO, buildings=sums["buildings"],
            dangerous_in_use=sums["d_in_use"])
        for key, _label, _field in USE_CATEGORIES:
            totals.by_category[key] = sums[key] or ZERO
    # The area not assigned to a category counts for the category of the building's own use.
    unassigned = F("total_area") - F("teaching_area") - F("admin_area") - F("living_area") - F("other_area")
    rests = (standing.annotate(digit=Substr("use_code", 1, 1)).values(*by, "digit")
             .annotate(rest=Sum(ExpressionWrapper(unassigned, output_field=DecimalField(max_digits=14, decimal_places=2)))))
    for row in rests:
        key = tuple(row[f] for f in by)
        if key in out:
            out[key].by_category[use_category(row["digit"] or "")] += row["rest"] or ZERO
    return out


def floor_area_totals(actor: Actor, school: Organization) -> FloorAreaTotals:
    return totals_of(buildings_of(actor, school))


@dataclass
class LandTotals:
    area: decimal.Decimal = ZERO
    sports_area: decimal.Decimal = ZERO
    green_area: decimal.Decimal = ZERO
    parcels: int = 0


def land_totals(actor: Actor, school: Organization) -> LandTotals:
    sums = parcels_of(actor, school).filter(retired_on__isnull=True).aggregate(
        area=Sum("area"), sports=Sum("sports_area"), green=Sum("green_area"))
    count = parcels_of(actor, school).filter(retired_on__isnull=True).count()
    return LandTotals(area=sums["area"] or ZERO, sports_area=sums["sports"] or ZERO, green_area=sums["green"] or ZERO,
                      parcels=count)


def active_students(actor: Actor, school: Organization) -> int:
    """在校生 of the school, for the per-student ratios (生均) of DOMAIN.md §3."""
    from eduplatform.students.models import Enrolment

    return scoped(Enrolment.objects.filter(school=school, is_active=True), actor).count()
