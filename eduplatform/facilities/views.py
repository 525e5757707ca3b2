"""Pages of land and buildings (土地与校舍): the building and land lists with filters, search and
Excel export; record pages with their full history; record forms, demolition and 注销; a school's
summary with its floor area by use, summed from the buildings.

Reads go through ``facilities.selectors`` (scoped), writes through ``facilities.services``.
Imports are the shared pages at ``/imports/buildings/`` and ``/imports/land/``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core import paging
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.rows import RowSchema
from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import require_capability
from eduplatform.facilities import selectors, services
from eduplatform.facilities.forms import BUILDING_SECTIONS, LAND_SECTIONS, CloseForm, RecordForm
from eduplatform.facilities.models import Building, LandParcel
from eduplatform.facilities.schema import BUILDING_SCHEMA, LAND_SCHEMA, USE_CATEGORIES, area_text
from eduplatform.history.models import AuditAction
from eduplatform.history.selectors import history_of
from eduplatform.history.services import record_event
from eduplatform.orgs import capabilities
from eduplatform.orgs.forms import own_school, school_from_form
from eduplatform.orgs.scope import scope_of
from eduplatform.stats.links import figure_filter, region_from_param
from eduplatform.stats.selectors import building_totals

NAV = "buildings"

STATUS_OPTIONS = [("standing", gettext_lazy("现存（含停用）")), ("in_use", gettext_lazy("在用")), ("idle", gettext_lazy("停用")), ("demolished", gettext_lazy("已拆除")),
                  ("all", gettext_lazy("全部"))]
CONDITION_OPTIONS = [("normal", gettext_lazy("正常")), ("dangerous", gettext_lazy("危房（A–D级）")), ("d_grade", gettext_lazy("D级危房")),
                     ("d_in_use", gettext_lazy("D级危房仍在使用"))]
CATEGORY_OPTIONS = [(k, label) for k, label, _f in USE_CATEGORIES]
PARCEL_STATUS_OPTIONS = [("active", gettext_lazy("现有")), ("retired", gettext_lazy("已注销")), ("all", gettext_lazy("全部"))]



def _nav(request: HttpRequest, tab: str, **extra: Any) -> dict[str, Any]:
    user = request.user
    own = own_school(user)
    return {"nav_active": NAV, "tab": tab, "own_school": own,
            "can_edit": user.can(capabilities.EDIT_FACILITIES), **extra}


def _code(schema: RowSchema, field: str, code: str) -> str:
    return schema.code_name(field, code) if code else ""



def _initial(record: Any, schema: RowSchema) -> dict[str, str]:
    """A record's values as the form's text."""
    out: dict[str, str] = {}
    for col in schema.columns:
        value = getattr(record, col.field)
        if col.kind == "bool":
            out[col.field] = gettext("是") if value else gettext("否")
        elif isinstance(value, dt.date):
            out[col.field] = value.isoformat()
        elif isinstance(value, decimal.Decimal):
            out[col.field] = format(value.normalize(), "f")
        else:
            out[col.field] = "" if value is None else str(value)
    return out


def _fields(record: Any, schema: RowSchema) -> list[tuple[str, str]]:
    """A record's fields as people read them (codes named, areas with separators)."""
    rows = []
    for col in schema.columns:
        value = getattr(record, col.field)
        if col.kind == "code":
            shown = f"{_code(schema, col.field, value)}" if value else ""
        elif col.kind == "bool":
            shown = gettext("是") if value else gettext("否")
        elif col.kind == "decimal":
            shown = f"{area_text(value)} ㎡" if value is not None else ""
        elif isinstance(value, dt.date):
            shown = value.isoformat()
        else:
            shown = "" if value is None else str(value)
        rows.append((gettext(col.label), shown))
    return rows


def _export(user, filename: str, sheet: str, note_what: str, object_type: str, params,
            columns: Sequence[tuple[str, Callable[[Any], Any]]], records) -> HttpResponse:
    filters = {k: v for k, v in params.items() if k != "format" and v}
    record_event(actor=user, action=AuditAction.EXPORT, object_type=object_type, object_label=note_what,
                 region_path=scope_of(user).region_path or "",
                 note=f"导出{note_what}；筛选条件：{urlencode(filters) or gettext('无')}")
    rows = ([fn(r) for _h, fn in columns] for r in records.iterator(chunk_size=2000))
    return xlsx_response(filename, [h for h, _fn in columns], rows, sheet=sheet)


def _area(value: decimal.Decimal | None) -> float | str:
    return float(value) if value is not None else ""


# --------------------------------------------------------------------------------------------
# Buildings


BUILDING_EXPORT = [
    (gettext_lazy("学校标识码"), lambda b: b.school.school_code),
    (gettext_lazy("学校"), lambda b: b.school.name),
    (gettext_lazy("建筑物编号"), lambda b: b.number),
    (gettext_lazy("建筑物名称"), lambda b: b.name),
    (gettext_lazy("建筑物分类"), lambda b: _code(BUILDING_SCHEMA, "building_class", b.building_class)),
    (gettext_lazy("建筑物用途"), lambda b: _code(BUILDING_SCHEMA, "use_code", b.use_code)),
    (gettext_lazy("建筑结构"), lambda b: _code(BUILDING_SCHEMA, "structure", b.structure)),
    (gettext_lazy("地上层数"), lambda b: b.floors_above if b.floors_above is not None else ""),
    (gettext_lazy("地下层数"), lambda b: b.floors_below if b.floors_below is not None else ""),
    (gettext_lazy("建成年份"), lambda b: b.built_year),
    (gettext_lazy("建筑面积"), lambda b: _area(b.total_area)),
    (gettext_lazy("教学及辅助用房面积"), lambda b: _area(b.teaching_area)),
    (gettext_lazy("行政办公用房面积"), lambda b: _area(b.admin_area)),
    (gettext_lazy("生活用房面积"), lambda b: _area(b.living_area)),
    (gettext_lazy("其他用房面积"), lambda b: _area(b.other_area)),
    (gettext_lazy("产权"), lambda b: _code(BUILDING_SCHEMA, "property_right", b.property_right)),
    (gettext_lazy("自有或租借"), lambda b: b.get_tenure_display()),
    (gettext_lazy("建筑物状况"), lambda b: _code(BUILDING_SCHEMA, "condition", b.condition)),
    (gettext_lazy("是否在用"), lambda b: gettext("是") if b.in_use else gettext("否")),
    (gettext_lazy("抗震设防类别"), lambda b: _code(BUILDING_SCHEMA, "seismic_category", b.seismic_category)),
    (gettext_lazy("抗震设防烈度"), lambda b: _code(BUILDING_SCHEMA, "seismic_intensity", b.seismic_intensity)),
    (gettext_lazy("抗震鉴定日期"), lambda b: b.appraised_on.isoformat() if b.appraised_on else ""),
    (gettext_lazy("抗震鉴定结论"), lambda b: _code(BUILDING_SCHEMA, "seismic_result", b.seismic_result)),
    (gettext_lazy("耐火等级"), lambda b: _code(BUILDING_SCHEMA, "fire_resistance", b.fire_resistance)),
    (gettext_lazy("通过消防验收"), lambda b: gettext("是") if b.fire_accepted else gettext("否")),
    (gettext_lazy("拆除日期"), lambda b: b.demolished_on.isoformat() if b.demolished_on else ""),
]


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def building_list(request: HttpRequest) -> HttpResponse:
    user, params = request.user, request.GET
    region = region_from_param(user, params.get("region", ""))
    buildings = selectors.buildings_in_scope(
        user, text=params.get("q", ""), category=params.get("category", ""), structure=params.get("structure", ""),
        condition=params.get("condition", ""), status=params.get("status", "standing"),
        school_code=params.get("school", ""), region_path=region.path if region else "")
    if params.get("format") == "xlsx":
        return _export(user, gettext("校舍名单.xlsx"), gettext("校舍"), gettext("校舍名单"), services.BUILDING_TYPE, params, BUILDING_EXPORT, buildings)
    # The standing buildings of a scope with no other filter are what the statistics' building
    # roll-up sums per school: a large scope's count and totals come from there (exact, and a sum
    # over its schools instead of over every building); a small one is summed from its rows.
    unfiltered = params.get("status", "standing") == "standing" and not any(
        params.get(k) for k in ("q", "category", "structure", "condition", "school"))
    rolled_up = functools.cache(lambda: building_totals(user, under=region.path if region else ""))
    page = paging.keyset_page(
        request, buildings, keys=selectors.BUILDING_LIST_ORDER, name="buildings", seek=2,
        known_total=(lambda: rolled_up()["buildings"] or 0) if unfiltered else None, total_source=paging.SOURCE_ROLLUP)
    query = paging.other_params(params)
    totals = None
    if params.get("status", "standing") != "demolished":
        large = page.count is not None and page.count.source == paging.SOURCE_ROLLUP
        totals = selectors.totals_from_rollup(rolled_up()) if large else selectors.totals_of(buildings)
    return render(request, "facilities/building_list.html", _nav(
        request, "buildings", page=page, query=query.urlencode(), totals=totals,
        statuses=STATUS_OPTIONS, status=params.get("status", "standing"), conditions=CONDITION_OPTIONS,
        categories=CATEGORY_OPTIONS, structures=BUILDING_SCHEMA.choices_of("structure"),
        figure_filter=figure_filter(params, region, {}, {})))


@login_required
@require_capability(capabilities.EDIT_FACILITIES)
def building_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    own = own_school(user)
    form = RecordForm(request.POST or None, schema=BUILDING_SCHEMA, sections=BUILDING_SECTIONS, ask_school=own is None,
                      initial={"building_class": "1", "tenure": "1", "condition": "10", "in_use": gettext("是"),
                               "property_right": "1", "fire_accepted": gettext("否")})
    if request.method == "POST" and form.is_valid():
        school = school_from_form(form, user)
        if school is not None:
            try:
                building = services.create_building(actor=user, school=school, data=form.service_data())
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已登记「%(name)s」的建筑物「%(name2)s」") % {"name": school.name, "name2": building.name})
                return redirect("facilities:detail", building_id=building.pk)
    return render(request, "facilities/record_form.html", _nav(
        request, "buildings", form=form, title=gettext("新增建筑物"), cancel=reverse("facilities:list")))


def _building_context(request: HttpRequest, building: Building, **extra: Any) -> dict[str, Any]:
    user = request.user
    return _nav(request, "buildings", building=building, fields=_fields(building, BUILDING_SCHEMA),
                history=history_of(user, object_type=services.BUILDING_TYPE, object_id=building.pk),
                can_write=services.can_write_unit(user, building.school), **extra)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def building_detail(request: HttpRequest, building_id: int) -> HttpResponse:
    building = selectors.building_for(request.user, building_id)
    return render(request, "facilities/building_detail.html", _building_context(request, building))


def _writable(request: HttpRequest, record: Building | LandParcel) -> None:
    if not services.can_write_unit(request.user, record.school):
        raise NotPermitted(gettext("您无权修改该学校的土地与校舍信息"))


@login_required
@require_capability(capabilities.EDIT_FACILITIES)
def building_edit(request: HttpRequest, building_id: int) -> HttpResponse:
    building = selectors.building_for(request.user, building_id)
    _writable(request, building)
    form = RecordForm(request.POST or None, schema=BUILDING_SCHEMA, sections=BUILDING_SECTIONS,
                      initial=_initial(building, BUILDING_SCHEMA))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_building(actor=request.user, building=building, data=form.service_data())
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已保存"))
            return redirect("facilities:detail", building_id=building.pk)
    return render(request, "facilities/record_form.html", _nav(
        request, "buildings", form=form, title=gettext("修改建筑物 · %(building)s") % {"building": building}, cancel=reverse("facilities:detail", args=(building.pk,))))


@login_required
@require_capability(capabilities.EDIT_FACILITIES)
def building_demolish(request: HttpRequest, building_id: int) -> HttpResponse:
    building = selectors.building_for(request.user, building_id)
    _writable(request, building)
    form = CloseForm(request.POST or None, date_label=gettext("拆除日期"), reason_label=gettext("拆除原因"),
                     initial={"on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.demolish_building(actor=request.user, building=building, on=form.cleaned_data["on"],
                                       reason=form.cleaned_data["reason"])
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已登记「%(name)s」拆除") % {"name": building.name})
            return redirect("facilities:detail", building_id=building.pk)
    return render(request, "facilities/close_form.html", _nav(
        request, "buildings", form=form, title=gettext("登记拆除 · %(building)s") % {"building": building}, record=building,
        hint=gettext("拆除后该建筑物不再计入校舍面积，记录和修改历史保留。"), cancel=reverse("facilities:detail", args=(building.pk,))))


# --------------------------------------------------------------------------------------------
# Land parcels


LAND_EXPORT = [
    (gettext_lazy("学校标识码"), lambda p: p.school.school_code),
    (gettext_lazy("学校"), lambda p: p.school.name),
    (gettext_lazy("地块名称（坐落）"), lambda p: p.name),
    (gettext_lazy("土地证号"), lambda p: p.certificate_number),
    (gettext_lazy("占地面积"), lambda p: _area(p.area)),
    (gettext_lazy("其中体育场地面积"), lambda p: _area(p.sports_area)),
    (gettext_lazy("其中绿化用地面积"), lambda p: _area(p.green_area)),
    (gettext_lazy("产权"), lambda p: _code(LAND_SCHEMA, "property_right", p.property_right)),
    (gettext_lazy("取得方式"), lambda p: _code(LAND_SCHEMA, "acquisition_mode", p.acquisition_mode)),
    (gettext_lazy("取得日期"), lambda p: p.acquired_on.isoformat() if p.acquired_on else ""),
    (gettext_lazy("注销日期"), lambda p: p.retired_on.isoformat() if p.retired_on else ""),
]


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def parcel_list(request: HttpRequest) -> HttpResponse:
    user, params = request.user, request.GET
    parcels = selectors.parcels_in_scope(user, text=params.get("q", ""), status=params.get("status", "active"),
                                         property_right=params.get("property_right", ""),
                                         school_code=params.get("school", ""))
    if params.get("format") == "xlsx":
        return _export(user, gettext("土地名单.xlsx"), gettext("土地"), gettext("土地名单"), services.LAND_TYPE, params, LAND_EXPORT, parcels)
    page = paging.keyset_page(request, parcels, keys=selectors.PARCEL_LIST_ORDER, name="parcels", seek=2)
    query = paging.other_params(params)
    return render(request, "facilities/parcel_list.html", _nav(
        request, "land", page=page, query=query.urlencode(), statuses=PARCEL_STATUS_OPTIONS,
        status=params.get("status", "active"), rights=LAND_SCHEMA.choices_of("property_right")))


@login_required
@require_capability(capabilities.EDIT_FACILITIES)
def parcel_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    own = own_school(user)
    form = RecordForm(request.POST or None, schema=LAND_SCHEMA, sections=LAND_SECTIONS, ask_school=own is None,
                      initial={"property_right": "1"})
    if request.method == "POST" and form.is_valid():
        school = school_from_form(form, user)
        if school is not None:
            try:
                parcel = services.create_parcel(actor=user, school=school, data=form.service_data())
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已登记「%(name)s」的地块「%(name2)s」") % {"name": school.name, "name2": parcel.name})
                return redirect("facilities:parcel", parcel_id=parcel.pk)
    return render(request, "facilities/record_form.html", _nav(
        request, "land", form=form, title=gettext("新增土地"), cancel=reverse("facilities:land")))


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def parcel_detail(request: HttpRequest, parcel_id: int) -> HttpResponse:
    user = request.user
    parcel = selectors.parcel_for(user, parcel_id)
    return render(request, "facilities/parcel_detail.html", _nav(
        request, "land", parcel=parcel, fields=_fields(parcel, LAND_SCHEMA),
        history=history_of(user, object_type=services.LAND_TYPE, object_id=parcel.pk),
        can_write=services.can_write_unit(user, parcel.school)))


@login_required
@require_capability(capabilities.EDIT_FACILITIES)
def parcel_edit(request: HttpRequest, parcel_id: int) -> HttpResponse:
    parcel = selectors.parcel_for(request.user, parcel_id)
    _writable(request, parcel)
    form = RecordForm(request.POST or None, schema=LAND_SCHEMA, sections=LAND_SECTIONS,
                      initial=_initial(parcel, LAND_SCHEMA))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_parcel(actor=request.user, parcel=parcel, data=form.service_data())
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已保存"))
            return redirect("facilities:parcel", parcel_id=parcel.pk)
    return render(request, "facilities/record_form.html", _nav(
        request, "land", form=form, title=gettext("修改土地 · %(name)s") % {"name": parcel.name}, cancel=reverse("facilities:parcel", args=(parcel.pk,))))


@login_required
@require_capability(capabilities.EDIT_FACILITIES)
def parcel_retire(request: HttpRequest, parcel_id: int) -> HttpResponse:
    parcel = selectors.parcel_for(request.user, parcel_id)
    _writable(request, parcel)
    form = CloseForm(request.POST or None, date_label=gettext("注销日期"), reason_label=gettext("注销原因"),
                     initial={"on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.retire_parcel(actor=request.user, parcel=parcel, on=form.cleaned_data["on"],
                                   reason=form.cleaned_data["reason"])
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已注销地块「%(name)s」") % {"name": parcel.name})
            return redirect("facilities:parcel", parcel_id=parcel.pk)
    return render(request, "facilities/close_form.html", _nav(
        request, "land", form=form, title=gettext("注销土地 · %(name)s") % {"name": parcel.name}, record=parcel,
        hint=gettext("注销后该地块不再计入占地面积，记录和修改历史保留。"), cancel=reverse("facilities:parcel", args=(parcel.pk,))))


# --------------------------------------------------------------------------------------------
# A school's summary (基础基512 / 522 figures, derived)


def _per_student(value: decimal.Decimal, students: int) -> str:
    return f"{value / students:,.2f}" if students else "—"


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def school_summary(request: HttpRequest, school_code: str) -> HttpResponse:
    user = request.user
    school = selectors.school_for(user, school_code)
    totals = selectors.floor_area_totals(user, school)
    land = selectors.land_totals(user, school)
    students = selectors.active_students(user, school)
    ratios = [
        (gettext("生均校舍建筑面积"), _per_student(totals.total, students)),
        (gettext("生均教学及辅助用房面积"), _per_student(totals.teaching, students)),
        (gettext("生均占地面积"), _per_student(land.area, students)),
        (gettext("生均体育场地面积"), _per_student(land.sports_area, students)),
    ]
    return render(request, "facilities/school_summary.html", _nav(
        request, "summary", school=school, totals=totals, land=land, students=students, ratios=ratios,
        buildings=selectors.buildings_of(user, school), parcels=selectors.parcels_of(user, school),
        can_write=services.can_write_unit(user, school)))


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def own_summary(request: HttpRequest) -> HttpResponse:
    """A school user's shortcut to its own summary; others pick a school from the lists."""
    own = own_school(request.user)
    if own is None:
        messages.info(request, gettext("请在校舍名单中点击学校名称查看该校汇总"))
        return redirect("facilities:list")
    return redirect("facilities:school", school_code=own.school_code)
