"""Reading the register and the summaries, always within the actor's jurisdiction."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from eduplatform.assets.models import AssetHoldings, Equipment
from eduplatform.orgs.scope import Actor, scoped

HELD_FILTERS = {"held": Q(disposed_on__isnull=True), "disposed": Q(disposed_on__isnull=False), "all": Q()}


def equipment_in_scope(actor: Actor, *, text: str = "", category: str = "", status: str = "",
                       use_direction: str = "", held: str = "held", for_teaching: str = "",
                       school_code: str = "", purchased_from=None, purchased_to=None) -> QuerySet[Equipment]:
    qs = scoped(Equipment.objects.select_related("school"), actor)
    text = text.strip()
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(asset_number__contains=text) | Q(model__contains=text)
                       | Q(location__contains=text))
    if category:
        qs = qs.filter(category=category)
    if status:
        qs = qs.filter(status=status)
    if use_direction:
        qs = qs.filter(use_direction=use_direction)
    qs = qs.filter(HELD_FILTERS.get(held, HELD_FILTERS["held"]))
    if for_teaching in ("1", "0"):
        qs = qs.filter(for_teaching=for_teaching == "1")
    if school_code:
        qs = qs.filter(school__school_code=school_code.strip())
    if purchased_from:
        qs = qs.filter(purchased_on__gte=purchased_from)
    if purchased_to:
        qs = qs.filter(purchased_on__lte=purchased_to)
    return qs.order_by(*EQUIPMENT_LIST_ORDER)


EQUIPMENT_LIST_ORDER = ("school__name", "asset_number", "pk")  # unique: keyset paging


def equipment_for(actor: Actor, pk: int) -> Equipment:
    found = scoped(Equipment.objects.select_related("school"), actor).filter(pk=pk).first()
    if found is None:
        raise Http404(gettext("设备记录不存在或不在您的管辖范围内"))
    return found


def holdings_in_scope(actor: Actor, *, year: int | None = None, source: str = "", text: str = "",
                      school_code: str = "") -> QuerySet[AssetHoldings]:
    qs = scoped(AssetHoldings.objects.select_related("school"), actor)
    if year:
        qs = qs.filter(year=year)
    if source:
        qs = qs.filter(source=source)
    if text.strip():
        qs = qs.filter(Q(school__name__contains=text.strip()) | Q(school__school_code=text.strip()))
    if school_code:
        qs = qs.filter(school__school_code=school_code.strip())
    return qs.order_by(*HOLDINGS_LIST_ORDER)


HOLDINGS_LIST_ORDER = ("-year", "school__name", "pk")  # unique: keyset paging


def holdings_for(actor: Actor, pk: int) -> AssetHoldings:
    found = scoped(AssetHoldings.objects.select_related("school"), actor).filter(pk=pk).first()
    if found is None:
        raise Http404(gettext("资产汇总不存在或不在您的管辖范围内"))
    return found
