"""Forms of the student pages. They collect text and dates; the services validate (one source of
rules and messages, the same for a form and a spreadsheet row)."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core.imports import Column
from eduplatform.core.widgets import RemotePicker
from eduplatform.orgs.forms import SchoolCodeMixin, ServiceErrorsMixin, style_fields
from eduplatform.orgs.stages import Stage
from eduplatform.students.grades import GRADES, Grade
from eduplatform.students.models import EventKind
from eduplatform.students.schema import STUDENT_COLUMNS, choices_of
from eduplatform.students.services import EVENT_RESULT, PERSON_FIELDS

BLANK = ("", gettext_lazy("——请选择——"))
DATE_ERRORS = {"required": gettext_lazy("请填写日期"), "invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")}

# How the long student form is laid out: the sections of the national 学生基本信息 record.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (gettext_lazy("基本信息"), ("name", "former_name", "gender", "birth_date", "id_type", "id_number", "student_number",
                  "ethnicity", "nationality", "hk_macao_taiwan", "political_status", "health_status",
                  "disability_type")),
    (gettext_lazy("户籍与家庭"), ("birthplace_code", "native_place", "hukou_place_code", "hukou_nature", "migrant_child",
                    "left_behind", "only_child", "boarding_mode", "home_address", "mailing_address",
                    "household_address", "phone")),
    (gettext_lazy("入学信息"), ("grade", "class_number", "entered_on", "entry_mode", "major", "programme_length", "level")),
    (gettext_lazy("监护人"), ("guardian1_name", "guardian1_relation", "guardian1_phone", "guardian2_name", "guardian2_relation",
                "guardian2_phone")),
)

EDITABLE_COLUMNS: tuple[Column, ...] = tuple(
    c for c in STUDENT_COLUMNS if (c.field in PERSON_FIELDS or c.field == "phone") and c.field != "id_type"
)

# 出生地、户口所在地 are chosen by name (the division's code is what is stored).
PLACE_FIELDS = ("birthplace_code", "hukou_place_code")
PLACE_HELP = gettext_lazy("输入地名查找（如 天河区）；广东省外的可直接输入6位行政区划代码")
# Fields only vocational and higher-education students have (专业、学制、培养层次).
VOCATIONAL_FIELDS = ("major", "programme_length", "level")


def columns_for_school(school, columns: Sequence[Column] = STUDENT_COLUMNS) -> tuple[Column, ...]:
    """The form's fields for a school's students: no 专业/学制/培养层次 where the school has no
    vocational or higher-education stage (a primary school's clerk never sees them)."""
    if school is None or school.stage_mask & (Stage.VOCATIONAL | Stage.HIGHER):
        return tuple(columns)
    return tuple(c for c in columns if c.field not in VOCATIONAL_FIELDS)


def _code_choices(field_name: str) -> list[tuple[str, str]]:
    return [BLANK] + [(code, f"{code} {name}") for code, name in choices_of(field_name)]


def grade_choices(grades: Sequence[Grade] = GRADES) -> list[tuple[str, str]]:
    return [BLANK] + [(g.code, g.name) for g in grades]


def _accept_any(field: forms.Field) -> None:
    # A posted value the choices do not list reaches the service, which names what is wrong with it.
    field.validate = lambda value: None


class StudentForm(ServiceErrorsMixin, SchoolCodeMixin, forms.Form):
    """A student's fields, built from the import schema so the form and the template never differ."""

    def __init__(self, *args, columns: Sequence[Column] = STUDENT_COLUMNS, grades: Sequence[Grade] = GRADES,
                 ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for col in columns:
            label = gettext(col.label) + (" *" if col.required else "")
            if col.field == "grade":
                field: forms.Field = forms.ChoiceField(label=label, required=False, choices=grade_choices(grades))
                _accept_any(field)
            elif col.field in PLACE_FIELDS:
                field = forms.CharField(label=label, required=False, max_length=12, widget=RemotePicker(
                    url="orgs:pick_places", kind="place", placeholder=gettext_lazy("输入地名，如 天河区"),
                    accept_typed=r"^\d{6}(\d{3}){0,2}$"))
            elif col.kind == "code":
                field = forms.ChoiceField(label=label, required=False, choices=_code_choices(col.field))
                _accept_any(field)
            elif col.kind == "bool":
                field = forms.ChoiceField(label=label, required=False, choices=[("", "——"), (gettext("是"), gettext("是")), (gettext("否"), gettext("否"))])
            elif col.kind == "date":
                field = forms.CharField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
            elif col.kind == "month":
                field = forms.CharField(label=label, required=False, widget=forms.TextInput(attrs={"type": "month"}))
            else:
                field = forms.CharField(label=label, required=False, max_length=200)
            field.help_text = PLACE_HELP if col.field in PLACE_FIELDS else (gettext(col.help) if col.help else "")
            self.fields[col.field] = field
        self.columns = tuple(columns)
        for name in VOCATIONAL_FIELDS:
            if name in self.fields:
                # Shown only once the chosen school has such a stage (web/picker.js).
                self.fields[name].widget.attrs["data-stage-mask"] = int(Stage.VOCATIONAL | Stage.HIGHER)
        if ask_school:
            self.add_school_field()
        style_fields(self)

    def service_data(self) -> dict[str, str]:
        return {c.field: self.cleaned_data.get(c.field) or "" for c in self.columns}

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        out = [(gettext("学校"), [self["school_code"]])] if "school_code" in self.fields else []
        for title, names in SECTIONS:
            bound = [self[n] for n in names if n in self.fields]
            if bound:
                out.append((title, bound))
        return out


def event_choices() -> list[tuple[str, str]]:
    return [BLANK] + [(k, EventKind(k).label) for k in EVENT_RESULT]


class EventForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("事件 *"), choices=event_choices)
    on = forms.DateField(label=gettext_lazy("日期 *"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), error_messages=DATE_ERRORS)
    reason = forms.CharField(label=gettext_lazy("原因 *"), required=False, max_length=200)
    attachments = forms.CharField(label=gettext_lazy("证明材料"), required=False, max_length=300,
                                  help_text=gettext_lazy("如：医院诊断证明、家长申请书（写明材料名称，原件由学校留存）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class DropoutForm(ServiceErrorsMixin, forms.Form):
    on = forms.DateField(label=gettext_lazy("退学日期 *"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), error_messages=DATE_ERRORS)
    reason = forms.CharField(label=gettext_lazy("退学原因 *"), required=False, max_length=200)
    attachments = forms.CharField(label=gettext_lazy("证明材料"), required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class IdCorrectionForm(ServiceErrorsMixin, forms.Form):
    id_type = forms.ChoiceField(label=gettext_lazy("身份证件类型 *"), choices=())
    id_number = forms.CharField(label=gettext_lazy("新的身份证件号"), required=False, max_length=40)
    reason = forms.CharField(label=gettext_lazy("更正原因 *"), required=False, max_length=200,
                             help_text=gettext_lazy("如：户籍信息更正，并写明依据材料"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["id_type"].choices = _code_choices("id_type")
        style_fields(self)


class TransferFindForm(ServiceErrorsMixin, SchoolCodeMixin, forms.Form):
    student_number = forms.CharField(label=gettext_lazy("学籍号 *"), max_length=19, error_messages={"required": gettext_lazy("请填写学籍号")})
    name = forms.CharField(label=gettext_lazy("姓名 *"), max_length=50, error_messages={"required": gettext_lazy("请填写姓名")})

    def __init__(self, *args, ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if ask_school:
            self.add_school_field(help_text=gettext("转入学校的10位学校标识码"))
        style_fields(self)


class TransferApplyForm(ServiceErrorsMixin, forms.Form):
    to_grade = forms.ChoiceField(label=gettext_lazy("转入年级 *"), required=False, choices=())
    effective_on = forms.DateField(label=gettext_lazy("转入日期 *"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                   error_messages=DATE_ERRORS)
    reason = forms.CharField(label=gettext_lazy("转学原因 *"), required=False, max_length=200)
    attachments = forms.CharField(label=gettext_lazy("证明材料"), required=False, max_length=300,
                                  help_text=gettext_lazy("如：转学联系函、户籍或居住证明"))

    def __init__(self, *args, grades: Sequence[Grade] = GRADES, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_grade"].choices = grade_choices(grades)
        _accept_any(self.fields["to_grade"])
        style_fields(self)


class ClassForm(ServiceErrorsMixin, SchoolCodeMixin, forms.Form):
    school_year = forms.IntegerField(label=gettext_lazy("学年 *"), min_value=2000, max_value=2100,
                                     help_text=gettext_lazy("如 2026 表示 2026—2027 学年"))
    grade = forms.ChoiceField(label=gettext_lazy("年级 *"), required=False, choices=())
    number = forms.IntegerField(label=gettext_lazy("班号 *"), help_text=gettext_lazy("1—99，如 3 表示（3）班"),
                                error_messages={"required": gettext_lazy("请填写班号"), "invalid": gettext_lazy("班号只能填写整数")})
    head_teacher = forms.CharField(label=gettext_lazy("班主任"), required=False, max_length=50)

    def __init__(self, *args, grades: Sequence[Grade] = GRADES, ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = grade_choices(grades)
        _accept_any(self.fields["grade"])
        if ask_school:
            self.add_school_field()
        style_fields(self)


class PromotionForm(ServiceErrorsMixin, SchoolCodeMixin, forms.Form):
    from_year = forms.IntegerField(label=gettext_lazy("升级前学年 *"), min_value=2000, max_value=2100,
                                   help_text=gettext_lazy("如 2025 表示把 2025—2026 学年的学生升入下一学年"))
    graduation_date = forms.DateField(label=gettext_lazy("毕业日期 *"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                      error_messages=DATE_ERRORS, help_text=gettext_lazy("最高年级学生的毕业（离校）日期"))

    def __init__(self, *args, ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if ask_school:
            self.add_school_field(required=False, help_text=gettext("留空则对您管辖（或右上角所选）区域内的全部学校执行"))
        style_fields(self)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("撤回原因"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)
