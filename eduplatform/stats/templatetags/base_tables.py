"""Template helpers of the 基表 pages: ``{% base_table_generation snapshot %}`` (how far the worker is
with the snapshot's stored 基表, ``basetables.stored``, for pages whose view does not load it) and
``|thousands`` (a cell with thousands separators)."""

from __future__ import annotations

import decimal

from django import template

from eduplatform.stats.basetables import stored

register = template.Library()


@register.inclusion_tag("stats/_base_table_generation.html")
def base_table_generation(snapshot) -> dict:
    return {"run": stored.progress(snapshot)}


@register.filter
def thousands(value: object) -> object:
    """``intcomma`` for the cells of a table (ints and decimals): the same text, without the locale
    machinery a province's ~2,000 cells would go through one by one."""
    if isinstance(value, (int, decimal.Decimal)) and not isinstance(value, bool):
        return format(value, ",")
    return value
