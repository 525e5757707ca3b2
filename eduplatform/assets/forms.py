"""Forms of the asset pages. They collect text; the services validate with the import schema, so a
form and a spreadsheet row get the same rules and the same messages."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext, gettext_lazy

from eduplatform.assets import codes
from eduplatform.assets.schema import EQUIPMENT_COLUMNS, EQUIPMENT_SCHEMA, HOLDINGS_COLUMNS
from eduplatform.core.imports import Column
from eduplatform.orgs.forms import SchoolCodeMixin, ServiceErrorsMixin, style_fields

BLANK = ("", gettext_lazy("——请选择——"))


def code_choices(field_name: str) -> list[tuple[str, str]]:
    return [BLANK] + [(code, f"{code} {name}") for code, name in EQUIPMENT_SCHEMA.choices_of(field_name)]


class _ServiceForm(ServiceErrorsMixin, SchoolCodeMixin, forms.Form):
    """The asset forms' base: service errors on fields, and the school field for bureau users."""


def _field_for(col: Column) -> forms.Field:
    label = gettext(col.label) + (" *" if col.required else "")
    if col.kind == "code":
        field: forms.Field = forms.ChoiceField(label=label, required=False, choices=code_choices(col.field))
        field.validate = lambda value: None  # an unknown posted value reaches the service, which names it
    elif col.kind == "date":
        field = forms.CharField(label=label, required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    else:
        field = forms.CharField(label=label, required=False, max_length=200)
    field.help_text = gettext(col.help) if col.help else ""
    return field


class EquipmentForm(_ServiceForm):
    """A register line's columns (the disposal columns are the disposal form's)."""

    COLUMNS: Sequence[Column] = tuple(c for c in EQUIPMENT_COLUMNS if c.field not in ("disposed_on", "disposal_reason"))

    def __init__(self, *args, ask_school: bool = False, disposed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        columns = EQUIPMENT_COLUMNS if disposed else self.COLUMNS
        for col in columns:
            self.fields[col.field] = _field_for(col)
        self.columns = tuple(columns)
        if ask_school:
            self.add_school_field()
        style_fields(self)

    def service_data(self) -> dict[str, str]:
        return {c.field: self.cleaned_data.get(c.field) or "" for c in self.columns}


class DisposalForm(_ServiceForm):
    status = forms.ChoiceField(label=gettext_lazy("处置方式 *"))
    disposed_on = forms.DateField(label=gettext_lazy("处置日期 *"), widget=forms.DateInput(attrs={"type": "date"}),
                                  error_messages={"required": gettext_lazy("请填写处置日期"), "invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")})
    disposal_reason = forms.CharField(label=gettext_lazy("处置说明"), required=False, max_length=200,
                                      help_text=gettext_lazy("如 报废审批文号、调入单位"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read from the code table when the form is built, not when the module is imported.
        self.fields["status"].choices = [
            (c, f"{c} {EQUIPMENT_SCHEMA.code_name('status', c)}") for c in sorted(codes.GONE_STATUSES)]
        style_fields(self)


class HoldingsForm(_ServiceForm):
    """A typed summary; for a register school only 台账外固定资产值 is typed (the service says so)."""

    def __init__(self, *args, ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = tuple(c for c in HOLDINGS_COLUMNS if c.field != "school_code")
        for col in self.columns:
            self.fields[col.field] = _field_for(col)
        if ask_school:
            self.add_school_field()
        style_fields(self)

    def service_data(self) -> dict[str, str]:
        return {c.field: self.cleaned_data.get(c.field) or "" for c in self.columns}
