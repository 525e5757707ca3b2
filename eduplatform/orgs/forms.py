"""Forms only collect text; the services validate (one source of rules and messages)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core.errors import RecordInvalid
from eduplatform.core.widgets import RemotePicker
from eduplatform.orgs.models import Organization, Region, RegionLevel
from eduplatform.orgs.scope import Actor, scope_of
from eduplatform.orgs.selectors import open_school_by_code
from eduplatform.orgs.services import SCHOOL_FIELD_LABELS
from eduplatform.standards import codebook


def style_fields(form: forms.Form) -> None:
    """Tabler classes on every widget, so forms read the same across the platform."""
    for field in form.fields.values():
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        field.widget.attrs.setdefault("class", css)
        # A field its label marks required ("姓名 *") carries the HTML attribute too, so assistive
        # technology announces it; the services still check and word the message (the long record
        # forms post with ``novalidate`` and show those messages beside each field).
        if str(field.label or "").rstrip().endswith("*") and not isinstance(field.widget, forms.RadioSelect | forms.CheckboxInput | forms.HiddenInput):
            field.widget.attrs.setdefault("required", True)


class ServiceErrorsMixin:
    """Puts a service's field problems on the form's fields (others at the top of the form)."""

    def add_service_errors(self, error: RecordInvalid) -> None:
        for problem in error.problems:
            self.add_error(problem.field if problem.field in self.fields else None, problem.message)


class SchoolCodeMixin:
    """Bureau users name the school they act for; school users always act for their own."""

    def add_school_field(self, *, required: bool = True, help_text: str = "", label: str | None = None) -> None:
        self.fields = {"school_code": school_picker_field(
            label=label, required=required, help_text=help_text or gettext("输入学校名称或学校标识码查找，只列出您管辖范围内的学校"),
        ), **self.fields}


def school_picker_field(*, label: str | None = None, required: bool = True, help_text: str = "") -> forms.CharField:
    """A school chosen by name (or 学校标识码) from the user's jurisdiction; posts the 学校标识码.
    A required one carries the HTML ``required`` attribute (Django adds it) as well as the server's check."""
    label = str(label if label is not None else gettext("学校"))
    return forms.CharField(
        label=label + (" *" if required else ""), required=required, max_length=10, help_text=help_text,
        error_messages={"required": gettext_lazy("请选择学校（输入学校名称或学校标识码查找）")},
        widget=RemotePicker(url="orgs:pick_schools", kind="school", placeholder=gettext_lazy("输入学校名称或代码")),
    )


def unit_picker_field(*, actor: Actor, label: str, required: bool = False, help_text: str = "") -> forms.CharField:
    """A unit (bureau, division or school) chosen by name from the actor's jurisdiction; posts its id."""
    from eduplatform.orgs.selectors import unit_in_scope

    def label_of(value: str) -> str:
        unit = unit_in_scope(actor, value)  # scoped: a posted id from elsewhere is not named back
        return unit.name if unit is not None else ""

    return forms.CharField(
        label=label, required=required, max_length=20, help_text=help_text or gettext("输入单位名称或学校标识码查找，只列出您管辖范围内的单位"),
        widget=RemotePicker(url="orgs:pick_units", kind="unit", label_of=label_of, placeholder=gettext_lazy("输入单位名称")),
    )


def _code_choices(table: str, *, leaf_only: bool) -> list[tuple[str, str]]:
    codes = codebook.leaf_codes(table) if leaf_only else codebook.codes_of(table)
    return [("", gettext("——请选择——"))] + [(c, f"{c} {n}") for c, n in codes.items()]


def town_choices(actor: Actor) -> list[tuple[str, object]]:
    """Towns inside the actor's jurisdiction, grouped by county (or city for 东莞、中山)."""
    scope = scope_of(actor, with_focus=False)
    if scope.is_empty:
        return []
    towns = (
        Region.objects.filter(level=RegionLevel.TOWN, path__startswith=scope.region_path, abolished_on__isnull=True)
        .select_related("parent")
        .order_by("code")
    )
    groups: dict[str, list[tuple[str, str]]] = {}
    for town in towns:
        groups.setdefault(town.parent.name, []).append((town.code, f"{town.name}（{town.code}）"))
    return [("", gettext("——请选择——"))] + [(name, options) for name, options in groups.items()]


class SchoolForm(ServiceErrorsMixin, forms.Form):
    school_code = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["school_code"]), required=False, max_length=20)
    name = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["name"]), required=False, max_length=200)
    school_type_code = forms.ChoiceField(label=gettext_lazy(SCHOOL_FIELD_LABELS["school_type_code"]), required=False)
    sponsor_code = forms.ChoiceField(label=gettext_lazy(SCHOOL_FIELD_LABELS["sponsor_code"]), required=False)
    urban_rural_code = forms.ChoiceField(label=gettext_lazy(SCHOOL_FIELD_LABELS["urban_rural_code"]), required=False)
    town_code = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["town_code"]), required=False, max_length=12,
                                widget=RemotePicker(url="orgs:pick_towns", kind="region", placeholder=gettext_lazy("输入乡镇（街道）名称")))
    address = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["address"]), required=False, max_length=200)
    longitude = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["longitude"]), required=False, max_length=20)
    latitude = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["latitude"]), required=False, max_length=20)
    principal_name = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["principal_name"]), required=False, max_length=50)
    phone = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["phone"]), required=False, max_length=30)
    website = forms.CharField(label=gettext_lazy(SCHOOL_FIELD_LABELS["website"]), required=False, max_length=200)
    founded_on = forms.CharField(
        label=gettext_lazy(SCHOOL_FIELD_LABELS["founded_on"]), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    effective_on = forms.DateField(
        label=gettext_lazy("变更生效日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("名称、所在乡镇、办学类型、举办者、城乡分类的变更从此日期起生效；留空为今天。"),
    )
    reason = forms.CharField(label=gettext_lazy("变更原因"), required=False, max_length=200)

    def __init__(self, *args, actor: Actor, editable: set[str] | None = None, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_type_code"].choices = _code_choices("school_type", leaf_only=True)
        self.fields["sponsor_code"].choices = _code_choices("sponsor", leaf_only=False)
        self.fields["urban_rural_code"].choices = _code_choices("urban_rural", leaf_only=True)
        # Accept a posted value the choices do not list: the service names what is wrong with it.
        for name in ("school_type_code", "sponsor_code", "urban_rural_code"):
            self.fields[name].validate = lambda value: None
        if creating:
            del self.fields["effective_on"], self.fields["reason"]
        if editable is not None:
            for name in list(self.fields):
                if name not in editable and name not in {"effective_on", "reason"}:
                    del self.fields[name]

        style_fields(self)

    def service_data(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if k not in {"effective_on", "reason"}}


class CloseSchoolForm(ServiceErrorsMixin, forms.Form):
    closed_on = forms.CharField(label=gettext_lazy("撤销日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    closed_reason = forms.CharField(label=gettext_lazy("撤销原因"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


def own_school(user) -> Organization | None:
    """The user's school, when the user belongs to one (a school clerk or principal)."""
    org = user.organization
    return org if org is not None and org.is_school else None


def school_from_form(form: forms.Form, user, field: str = "school_code") -> Organization | None:
    """The school a form acts for: a school user's own, or the one a bureau user named by its code
    (an error on the form's field when there is no such open school in the user's jurisdiction)."""
    own = own_school(user)
    if own is not None:
        return own
    code = form.cleaned_data.get(field, "")
    school = open_school_by_code(user, code)
    if school is None:
        form.add_error(field, gettext("学校标识码「%(code)s」不存在、已撤销或不在您的管辖范围内") % {"code": code})
    return school


class DecisionForm(forms.Form):
    """The approve / return decision on a step of an approval chain (transfers, dropouts)."""

    comment = forms.CharField(label=gettext_lazy("审核意见"), required=False, max_length=200, help_text=gettext_lazy("退回时必须填写退回原因"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)
