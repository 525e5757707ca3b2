"""Code names for the facilities templates: ``{{ b.use_code|building_code:"use_code" }}``."""

from __future__ import annotations

from django import template

from eduplatform.facilities.schema import BUILDING_SCHEMA, LAND_SCHEMA, area_text

register = template.Library()


@register.filter
def building_code(code: str, field: str) -> str:
    return BUILDING_SCHEMA.code_name(field, code)


@register.filter
def land_code(code: str, field: str) -> str:
    return LAND_SCHEMA.code_name(field, code)


@register.filter
def area(value) -> str:
    """An area with thousands separators and no trailing zeros: 1,200.5."""
    return area_text(value) if value is not None else ""
