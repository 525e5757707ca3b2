"""Forms of the staff pages. They collect text; the services validate, with the same schema and
messages as a spreadsheet row."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core.imports import Column
from eduplatform.core.rows import RowSchema
from eduplatform.orgs.forms import (
    SchoolCodeMixin,
    ServiceErrorsMixin,
    school_picker_field,
    style_fields,
)
from eduplatform.staff import codes
from eduplatform.staff.models import StaffEventKind, StaffStatus
from eduplatform.staff.services import END_STATUSES

BLANK = ("", gettext_lazy("——请选择——"))


def _accept_any(field: forms.Field) -> None:
    # A posted value the choices do not list reaches the service, which names what is wrong with it.
    field.validate = lambda value: None


class StaffForm(ServiceErrorsMixin, SchoolCodeMixin, forms.Form):
    """A person's fields, built from the import schema so that form and template never differ."""

    def __init__(self, *args, schema: RowSchema, ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if ask_school:
            self.add_school_field()
        for col in schema.columns:
            self.fields[col.field] = self._field(schema, col)
        self.columns: Sequence[Column] = schema.columns
        style_fields(self)

    @staticmethod
    def _field(schema: RowSchema, col: Column) -> forms.Field:
        label = gettext(col.label) + (" *" if col.required else "")
        if col.kind == "code":
            field: forms.Field = forms.ChoiceField(
                label=label, required=False, choices=[BLANK] + [(c, f"{c} {n}") for c, n in schema.choices_of(col.field)])
            _accept_any(field)
        elif col.kind == "bool":
            field = forms.ChoiceField(label=label, required=False, choices=[("", "——"), (gettext("是"), gettext("是")), (gettext("否"), gettext("否"))])
        elif col.kind == "date":
            field = forms.CharField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))
        elif col.kind == "month":
            field = forms.CharField(label=label, required=False, widget=forms.TextInput(attrs={"type": "month"}))
        else:
            field = forms.CharField(label=label, required=False, max_length=200)
        field.help_text = gettext(col.help) if col.help else ""
        return field

    def service_data(self) -> dict[str, str]:
        return {c.field: self.cleaned_data.get(c.field) or "" for c in self.columns}


class TitleForm(ServiceErrorsMixin, forms.Form):
    title = forms.ChoiceField(label=gettext_lazy("晋升后的专业技术职务"), choices=[BLANK] + [c for c in codes.TITLES if c[0] != "90"])
    on = forms.DateField(label=gettext_lazy("取得日期"), widget=forms.DateInput(attrs={"type": "date"}),
                         error_messages={"required": gettext_lazy("请填写日期"), "invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")})
    reason = forms.CharField(label=gettext_lazy("依据（评审文件）"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


END_CHOICES = [BLANK] + [
    (f"{kind}:{status}", f"{StaffEventKind(kind).label}（{StaffStatus(status).label}）")
    for kind, statuses in END_STATUSES.items() for status in statuses
]


class EndPostForm(ServiceErrorsMixin, forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("离岗类别"), choices=END_CHOICES, error_messages={"required": gettext_lazy("请选择离岗类别")})
    on = forms.DateField(label=gettext_lazy("离岗日期"), widget=forms.DateInput(attrs={"type": "date"}),
                         error_messages={"required": gettext_lazy("请填写日期"), "invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")})
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200, error_messages={"required": gettext_lazy("请填写原因")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class TransferForm(ServiceErrorsMixin, forms.Form):
    staff_number = forms.CharField(label=gettext_lazy("教职工号"), max_length=20, error_messages={"required": gettext_lazy("请填写教职工号")})
    name = forms.CharField(label=gettext_lazy("姓名"), max_length=50, error_messages={"required": gettext_lazy("请填写姓名")})
    effective_on = forms.DateField(label=gettext_lazy("调动日期"), widget=forms.DateInput(attrs={"type": "date"}),
                                   error_messages={"required": gettext_lazy("请填写调动日期"), "invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")})
    reason = forms.CharField(label=gettext_lazy("调动原因"), max_length=200, error_messages={"required": gettext_lazy("请填写调动原因")})

    def __init__(self, *args, ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if ask_school:
            self.fields = {"school_code": school_picker_field(
                label=gettext_lazy("调入学校"), required=False,
                help_text=gettext_lazy("教育局为所辖学校办理调入时选择（输入学校名称或学校标识码查找）；留空表示调入本单位")), **self.fields}
        style_fields(self)
