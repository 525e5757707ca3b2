"""Template helpers of the 基表 pages: ``{% base_table_generation snapshot %}`` (how far the worker is
with the snapshot's stored 基表, ``basetables.stored``, for pages whose view does not load it),
``|thousands`` (a cell with thousands separators) and ``{% kept_fragment key %}…{% endkept_fragment %}``
(a part of a cached page kept as HTML too, ``stats.page_cache``), ``|form_text`` (a heading, title, note
or rule of a 基表 in the reader's language)."""

from __future__ import annotations

import decimal
import re

from django import template
from django.core.cache import cache
from django.utils.translation import gettext

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


_AGE = re.compile(r"^(\d+)岁$")


@register.filter
def form_text(value: object) -> object:
    """A text of a 基表 (row or column heading, title, note, rule name, status) as the reader's language
    shows it. The tables are built and kept in Chinese — the national forms as issued, which the xlsx
    and PDF exports reproduce — with their texts marked by ``gettext_noop`` (``basetables.basic`` …),
    and translated here, on screen only. A heading the catalog does not hold (a grade, a code-table
    name, a school's own value) is data and shown as it is; an age column (``7岁``) is translated with
    its number; a finding's text built from a template (``basetables.basic.Said``) is said again from the
    translated template, its values translated in turn (a grade or school name stays as it is)."""
    if not isinstance(value, str) or not value:
        return value
    template = getattr(value, "template", None)  # a finding's text made of a template and values (basic.Said)
    if template is not None:
        values = getattr(value, "values", {})
        return gettext(template) % {k: form_text(v) for k, v in values.items()} if values else gettext(template)
    age = _AGE.match(value)
    if age:
        return gettext("%(age)s岁") % {"age": age[1]}
    return gettext(value)


class KeptFragment(template.Node):
    def __init__(self, nodelist: template.NodeList, key: template.base.FilterExpression) -> None:
        self.nodelist, self.key = nodelist, key

    def render(self, context: template.Context) -> str:
        from eduplatform.stats.page_cache import TIMEOUT

        key = self.key.resolve(context, ignore_failures=True)
        if not key:  # not a cached page: rendered as usual
            return self.nodelist.render(context)
        key = f"fragment:{key}"
        html = cache.get(key)
        if html is None:
            html = self.nodelist.render(context)
            cache.set(key, html, TIMEOUT)
        return html


@register.tag
def kept_fragment(parser: template.base.Parser, token: template.base.Token) -> KeptFragment:
    """The enclosed HTML kept under the page's cache key (``request.page_cache_key``, which names the
    figures' version, the reader's scope and roles and the query): only for parts that hold nothing
    of the reader beyond that — no form token, no name, no message."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("kept_fragment takes one argument: the page's cache key")
    nodelist = parser.parse(("endkept_fragment",))
    parser.delete_first_token()
    return KeptFragment(nodelist, parser.compile_filter(bits[1]))
