"""Identifiers as the reader may see them: ``{% load identifiers %}`` then
``{{ student.student_number|student_number_for:user }}``, ``{{ staff.staff_number|staff_number_for:user }}``
or ``{{ entry.note|identifiers_for:user }}`` (rules in ``core.identity``)."""

from __future__ import annotations

from django import template

from eduplatform.core import identity
from eduplatform.standards.validators import redact_identifiers

register = template.Library()


@register.filter
def student_number_for(number: str, user) -> str:
    return identity.student_number_for(user, number or "")


@register.filter
def staff_number_for(number: str, user) -> str:
    return identity.staff_number_for(user, number or "")


@register.filter
def identifiers_for(text, user):
    if text is None or not isinstance(text, str):
        return text if text is None else identity.text_for(user, str(text))
    return identity.text_for(user, text)


@register.filter
def masked_identifiers(text):
    """Free text with every ID number masked whoever reads it (import problem reports)."""
    return redact_identifiers(text) if isinstance(text, str) else text
