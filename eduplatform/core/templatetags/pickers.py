"""``{% picker "orgs:pick_schools" "school" %}`` inside an ``<input>`` of a hand-written filter form:
the attributes that make it a searchable picker (``core.widgets.picker_attributes``)."""

from __future__ import annotations

from django import template
from django.forms.utils import flatatt
from django.utils.safestring import SafeString

from eduplatform.core.widgets import picker_attributes

register = template.Library()


@register.simple_tag
def picker(url_name: str, kind: str, accept_typed: str = "") -> SafeString:
    return flatatt(picker_attributes(url_name, kind, accept_typed=accept_typed))
