"""Form widgets for long option lists.

Django's ``Select`` renders every ``<option>`` through a template: a province-wide list of 1,600
towns or 2,000 units costs 80–150 ms per page on the development machine. ``LongSelect`` writes the
same markup directly (escaped, same attributes, option groups and selection), in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


class LongSelect(forms.Select):
    """A ``Select`` for hundreds or thousands of options, rendered without a template per option."""

    def render(self, name: str, value: object, attrs: dict | None = None, renderer: object = None) -> SafeString:
        selected = {str(v) for v in self.format_value(value)}
        final_attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        parts = [f"<select{flatatt(final_attrs)}>"]
        for group, options in _grouped(self.choices):
            if group is not None:
                parts.append(f'<optgroup label="{escape(group)}">')
            for option_value, label in options:
                key = "" if option_value is None else str(option_value)
                mark = " selected" if key in selected else ""
                parts.append(f'<option value="{escape(key)}"{mark}>{escape(label)}</option>')
            if group is not None:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("\n".join(parts))  # noqa: S308 - every value and label above is escaped


def _grouped(choices: Iterable) -> Iterable[tuple[str | None, list[tuple[object, object]]]]:
    """Choices as (group label or None, options), the shapes Django accepts for a select."""
    for option_value, label in choices:
        if isinstance(label, list | tuple):
            yield str(option_value), list(label)
        else:
            yield None, [(option_value, label)]


class RemotePicker(forms.TextInput):
    """A searchable picker (issue 18) over a scoped search endpoint: the user types part of a name or
    code and chooses from what their jurisdiction holds; the form receives the chosen value (a
    学校标识码, a unit's id, a division code) exactly as before.

    Rendered as a text input that ``web/platform.js`` hands to Tom Select (loaded only on pages that
    have a picker) with ``web/picker.js``; without scripts it stays a field that takes the value typed.
    ``url`` answers ``?q=`` with ``{"results": [{"value", "text", "hint"}]}``; ``label_of(value)`` names
    the current value, so a form shown again shows the school's name, not only its code.
    """

    def __init__(self, *, url: str, kind: str, label_of=None, placeholder: str = "", accept_typed: str = "",
                 attrs: dict | None = None):
        super().__init__(attrs)
        self.url, self.kind, self.label_of, self.placeholder = url, kind, label_of, placeholder
        self.accept_typed = accept_typed  # a regular expression: typed values the list need not hold

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        label = ""
        if value not in (None, "") and self.label_of is not None:
            label = self.label_of(str(value)) or ""
        context["widget"]["attrs"].update(picker_attributes(self.url, self.kind, label=label, accept_typed=self.accept_typed))
        if self.placeholder:
            context["widget"]["attrs"].setdefault("placeholder", self.placeholder)
        return context


def picker_attributes(url_name: str, kind: str, *, label: str = "", accept_typed: str = "") -> dict[str, str]:
    """The attributes that make an ``<input>`` a searchable picker (see ``RemotePicker``); also written
    by the ``{% picker %}`` template tag for inputs of filter forms that no Django form renders."""
    from django.templatetags.static import static
    from django.urls import reverse
    from django.utils.translation import gettext

    attrs = {
        "data-picker": kind,
        "data-picker-url": reverse(url_name),
        "data-picker-label": label,
        "data-picker-lib": static("tom-select/tom-select.base.min.js"),
        "data-picker-css": static("tom-select/tom-select.bootstrap5.min.css"),
        "data-picker-script": static("web/picker.js"),
        "data-picker-empty": gettext("没有找到：只列出您管辖范围内的，可输入名称或代码"),
        "data-picker-loading": gettext("正在查找…"),
        "autocomplete": "off",
    }
    if accept_typed:
        attrs["data-picker-accept"] = accept_typed
    return attrs
