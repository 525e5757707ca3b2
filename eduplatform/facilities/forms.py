"""Forms of the land and building pages. They are built from the import columns and collect text;
the services validate it with the same rules and messages as a spreadsheet row."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core.imports import Column
from eduplatform.core.rows import RowSchema
from eduplatform.orgs.forms import SchoolCodeMixin, ServiceErrorsMixin, style_fields

BLANK = ("", gettext_lazy("——请选择——"))

BUILDING_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (gettext_lazy("基本信息"), ("number", "name", "building_class", "use_code", "structure", "floors_above", "floors_below",
                  "built_year", "property_right", "tenure", "in_use")),
    (gettext_lazy("面积（平方米）"), ("total_area", "teaching_area", "admin_area", "living_area", "other_area")),
    (gettext_lazy("安全状况"), ("condition", "safety_inspection", "seismic_category", "seismic_intensity", "appraised_on",
                  "seismic_result", "fire_resistance", "fire_accepted", "notes")),
)
LAND_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (gettext_lazy("地块"), ("name", "certificate_number", "property_right", "acquisition_mode", "acquired_on", "notes")),
    (gettext_lazy("面积（平方米）"), ("area", "sports_area", "green_area")),
)


class RecordForm(ServiceErrorsMixin, SchoolCodeMixin, forms.Form):
    """A record's fields from its schema; code columns offer the code table, values stay text."""

    def __init__(self, *args, schema: RowSchema, sections: Sequence[tuple[str, Sequence[str]]],
                 ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema, self.layout = schema, sections
        if ask_school:
            self.add_school_field()
        for col in schema.columns:
            self.fields[col.field] = self._field(col)
        style_fields(self)

    def _field(self, col: Column) -> forms.Field:
        label = gettext(col.label) + (" *" if col.required else "")
        if col.kind == "code":
            field: forms.Field = forms.ChoiceField(
                label=label, required=False,
                choices=[BLANK] + [(c, f"{c} {n}") for c, n in self.schema.choices_of(col.field)])
            # A value the choices do not list reaches the service, which says what is wrong with it.
            field.validate = lambda value: None
        elif col.kind == "bool":
            field = forms.ChoiceField(label=label, required=False, choices=[(gettext("是"), gettext("是")), (gettext("否"), gettext("否"))])
        elif col.kind == "date":
            field = forms.CharField(label=label, required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        elif col.kind in ("int", "decimal"):
            field = forms.CharField(label=label, required=False, max_length=20,
                                    widget=forms.TextInput(attrs={"inputmode": "decimal"}))
        else:
            field = forms.CharField(label=label, required=False, max_length=500)
        field.help_text = gettext(col.help) if col.help else ""
        return field

    def service_data(self) -> dict[str, str]:
        return {c.field: self.cleaned_data.get(c.field) or "" for c in self.schema.columns}


    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        out = [(gettext("学校"), [self["school_code"]])] if "school_code" in self.fields else []
        return out + [(title, [self[n] for n in names]) for title, names in self.layout]


class CloseForm(ServiceErrorsMixin, forms.Form):
    """拆除 a building or 注销 a parcel: the date and why."""

    on = forms.DateField(label=gettext_lazy("日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                         error_messages={"invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")})
    reason = forms.CharField(label=gettext_lazy("原因"), required=False, max_length=200)

    def __init__(self, *args, date_label: str, reason_label: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].label, self.fields["reason"].label = f"{date_label} *", f"{reason_label} *"
        style_fields(self)

