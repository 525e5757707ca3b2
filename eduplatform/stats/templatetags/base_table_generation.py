"""``{% base_table_generation snapshot %}``: how far the worker is with the snapshot's stored 基表
(``basetables.stored``), for pages whose view does not load it (the snapshot page)."""

from __future__ import annotations

from django import template

from eduplatform.stats.basetables import stored

register = template.Library()


@register.inclusion_tag("stats/_base_table_generation.html")
def base_table_generation(snapshot) -> dict:
    return {"run": stored.progress(snapshot)}
