"""The data standard's texts in the reader's language (``/exchange/standard/``).

The standard is built in Chinese (``exchange.standard.build``): the workbook and the API carry it so, and
its fingerprint is taken over it. Its texts — resource names, descriptions and rules, field labels and
help, type names, route summaries, example titles — are marked where they are written (``gettext_noop``)
and translated here, on the page. A text the catalog does not hold (a code-table name, an example value)
is shown as it is."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def std(value: object) -> object:
    """A marked text of the standard, translated."""
    return gettext(value) if isinstance(value, str) and value else value


@register.filter
def route_summary(route, resource) -> str:
    """A route's summary: a record route's is one of ``api_records.SUMMARIES`` with the resource's label."""
    from eduplatform.exchange.api_records import SUMMARIES

    for summary in SUMMARIES:
        if summary % {"resource": resource.label} == route.summary:
            return gettext(summary) % {"resource": gettext(resource.label)}
    return std(route.summary)


@register.filter
def example_title(example) -> str:
    if example.title_template:
        return gettext(example.title_template) % {"resource": gettext(example.subject)}
    return std(example.title)


@register.filter
def code_table_name(table) -> str:
    """A national table's name (a standard's, shown as it is), or a schema list's resource · field."""
    return "·".join(gettext(part) for part in table.parts) if table.parts else table.name


@register.filter
def std_join(values, separator: str = " + ") -> str:
    return separator.join(gettext(v) for v in values)
