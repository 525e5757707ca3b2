"""Pages of the assets database (校产、仪器设备): the equipment register with filters, search and
Excel export, a line's record page with its full history, entry, correction and disposal, and the
summary holdings per school and year (derived from the register or typed).

Reads go through ``assets.selectors`` (scoped); writes through ``assets.services``.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from eduplatform.assets import codes, selectors, services
from eduplatform.assets.forms import DisposalForm, EquipmentForm, HoldingsForm, code_choices
from eduplatform.assets.models import HoldingsSource
from eduplatform.assets.schema import CENT, EQUIPMENT_SCHEMA
from eduplatform.assets.summary import keeps_register, register_figures
from eduplatform.core import paging
from eduplatform.core.errors import RecordInvalid
from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import require_capability
from eduplatform.history.models import AuditAction
from eduplatform.history.selectors import history_of
from eduplatform.history.services import record_event
from eduplatform.orgs import capabilities
from eduplatform.orgs.forms import own_school, school_from_form
from eduplatform.orgs.scope import scope_of

NAV = "assets"
HELD_OPTIONS = [("held", gettext_lazy("在账（未处置）")), ("disposed", gettext_lazy("已处置")), ("all", gettext_lazy("全部"))]



def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _nav(request: HttpRequest, tab: str) -> dict[str, object]:
    return {"nav_active": NAV, "tab": tab, "can_edit": request.user.can(capabilities.EDIT_ASSETS)}


def _code(field: str, code: str) -> str:
    return EQUIPMENT_SCHEMA.code_name(field, code)



# --------------------------------------------------------------------------------------------
# The register


EXPORT_COLUMNS = [
    (gettext_lazy("学校标识码"), lambda e: e.school.school_code),
    (gettext_lazy("学校"), lambda e: e.school.name),
    (gettext_lazy("资产编号"), lambda e: e.asset_number),
    (gettext_lazy("设备类别"), lambda e: codes.category_name(e.category)),
    (gettext_lazy("名称"), lambda e: e.name),
    (gettext_lazy("型号规格"), lambda e: e.model),
    (gettext_lazy("数量"), lambda e: e.quantity),
    (gettext_lazy("单价（元）"), lambda e: float(e.unit_price)),
    (gettext_lazy("金额（元）"), lambda e: float(e.value)),
    (gettext_lazy("购置日期"), lambda e: e.purchased_on.isoformat()),
    (gettext_lazy("经费来源"), lambda e: _code("funding_source", e.funding_source)),
    (gettext_lazy("取得方式"), lambda e: _code("acquisition_mode", e.acquisition_mode)),
    (gettext_lazy("使用方向"), lambda e: _code("use_direction", e.use_direction)),
    (gettext_lazy("仪器现状"), lambda e: _code("status", e.status)),
    (gettext_lazy("存放地点"), lambda e: e.location),
    (gettext_lazy("计入教学仪器设备"), lambda e: gettext("是") if e.for_teaching else gettext("否")),
    (gettext_lazy("处置日期"), lambda e: e.disposed_on.isoformat() if e.disposed_on else ""),
]


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def equipment_list(request: HttpRequest) -> HttpResponse:
    user, params = request.user, request.GET
    held = params.get("held", "held")
    items = selectors.equipment_in_scope(
        user, text=params.get("q", ""), category=params.get("category", ""), status=params.get("status", ""),
        use_direction=params.get("direction", ""), held=held, for_teaching=params.get("teaching", ""),
        school_code=params.get("school", ""), purchased_from=_date(params.get("from")),
        purchased_to=_date(params.get("to")),
    )
    if params.get("format") == "xlsx":
        filters = {k: v for k, v in params.items() if k != "format" and v}
        record_event(actor=user, action=AuditAction.EXPORT, object_type=services.EQUIPMENT_TYPE,
                     object_label=gettext("仪器设备台账"), region_path=scope_of(user).region_path or "",
                     note=f"导出仪器设备台账；筛选条件：{urlencode(filters) or gettext('无')}")
        rows = ([fn(e) for _, fn in EXPORT_COLUMNS] for e in items.iterator(chunk_size=2000))
        return xlsx_response(gettext("仪器设备台账.xlsx"), [h for h, _ in EXPORT_COLUMNS], rows, sheet=gettext("仪器设备台账"))
    page = paging.keyset_page(request, items, keys=selectors.EQUIPMENT_LIST_ORDER, name="equipment")
    for e in page:
        e.category_label = codes.category_name(e.category)
        e.status_label = _code("status", e.status)
    query = paging.other_params(params)
    return render(request, "assets/list.html", {
        **_nav(request, "list"), "page": page, "query": query.urlencode(), "held": held,
        "held_options": HELD_OPTIONS, "categories": codes.CATEGORIES,
        "statuses": code_choices("status")[1:], "directions": code_choices("use_direction")[1:],
        "is_school_user": own_school(user) is not None,
    })


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def equipment_detail(request: HttpRequest, equipment_id: int) -> HttpResponse:
    user = request.user
    item = selectors.equipment_for(user, equipment_id)
    fields = [
        (gettext("学校"), f"{item.school.name}（{item.school.school_code}）"),
        (gettext("资产编号"), item.asset_number), (gettext("设备类别"), f"{item.category} {codes.category_name(item.category)}"),
        (gettext("名称"), item.name), (gettext("型号规格"), item.model), (gettext("数量"), f"{item.quantity:,}"),
        (gettext("单价（元）"), f"{item.unit_price:,.2f}"), (gettext("金额（元）"), f"{item.value:,.2f}"),
        (gettext("购置日期"), item.purchased_on.isoformat()),
        (gettext("经费来源"), _code("funding_source", item.funding_source)),
        (gettext("取得方式"), _code("acquisition_mode", item.acquisition_mode)),
        (gettext("使用方向"), _code("use_direction", item.use_direction)),
        (gettext("仪器现状"), _code("status", item.status)), (gettext("存放地点"), item.location),
        (gettext("计入教学仪器设备"), gettext("是") if item.for_teaching else gettext("否")),
        (gettext("处置日期"), item.disposed_on.isoformat() if item.disposed_on else ""),
        (gettext("处置说明"), item.disposal_reason),
    ]
    return render(request, "assets/detail.html", {
        **_nav(request, "list"), "item": item, "fields": fields,
        "value_differs": item.value != (item.unit_price * item.quantity).quantize(CENT),
        "history": history_of(user, object_type=services.EQUIPMENT_TYPE, object_id=item.pk),
        "can_write": services.can_write_assets(user, item.school),
    })


@login_required
@require_capability(capabilities.EDIT_ASSETS)
def equipment_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    own = own_school(user)
    form = EquipmentForm(request.POST or None, ask_school=own is None)
    if request.method == "POST" and form.is_valid():
        school = school_from_form(form, user)
        if school is not None:
            try:
                item = services.create_equipment(actor=user, school=school, data=form.service_data())
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已登记 %(name)s（%(asset_number)s）") % {"name": item.name, "asset_number": item.asset_number})
                return redirect("assets:detail", equipment_id=item.pk)
    return render(request, "assets/form.html", {**_nav(request, "list"), "form": form, "creating": True,
                                                "school": own})


@login_required
@require_capability(capabilities.EDIT_ASSETS)
def equipment_edit(request: HttpRequest, equipment_id: int) -> HttpResponse:
    user = request.user
    item = selectors.equipment_for(user, equipment_id)
    services.require_asset_writer(user, item.school)
    disposed = item.disposed_on is not None
    initial = {c.field: getattr(item, c.field) for c in EquipmentForm(disposed=disposed).columns}
    form = EquipmentForm(request.POST or None, initial=initial, disposed=disposed)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_equipment(actor=user, equipment=item, data=form.service_data())
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已保存修改"))
            return redirect("assets:detail", equipment_id=item.pk)
    return render(request, "assets/form.html", {**_nav(request, "list"), "form": form, "item": item})


@login_required
@require_capability(capabilities.EDIT_ASSETS)
def equipment_dispose(request: HttpRequest, equipment_id: int) -> HttpResponse:
    user = request.user
    item = selectors.equipment_for(user, equipment_id)
    services.require_asset_writer(user, item.school)
    form = DisposalForm(request.POST or None, initial={"disposed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.dispose_equipment(actor=user, equipment=item, status=form.cleaned_data["status"],
                                       on=form.cleaned_data["disposed_on"],
                                       reason=form.cleaned_data["disposal_reason"])
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已办理处置"))
            return redirect("assets:detail", equipment_id=item.pk)
    return render(request, "assets/dispose.html", {**_nav(request, "list"), "form": form, "item": item})


# --------------------------------------------------------------------------------------------
# Summary holdings


HOLDINGS_EXPORT = [
    (gettext_lazy("学校标识码"), lambda h: h.school.school_code), (gettext_lazy("学校"), lambda h: h.school.name), (gettext_lazy("统计年度"), lambda h: h.year),
    (gettext_lazy("数据来源"), lambda h: h.get_source_display()), (gettext_lazy("图书（册）"), lambda h: h.books_volumes),
    (gettext_lazy("教学用计算机（台）"), lambda h: h.computers_for_teaching),
    (gettext_lazy("网络多媒体教室（间）"), lambda h: h.multimedia_classrooms),
    (gettext_lazy("教学仪器设备资产值（元）"), lambda h: float(h.teaching_equipment_value)),
    (gettext_lazy("固定资产总值（元）"), lambda h: float(h.fixed_asset_value)),
]


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def holdings_list(request: HttpRequest) -> HttpResponse:
    user, params = request.user, request.GET
    current = codes.statistical_year(timezone.localdate())
    year = _int(params.get("year")) if "year" in params else current
    if year is not None and not 1949 <= year <= current + 1:
        year = None  # a year no census can have (also -1 or 9999…): all years, as for an empty choice
    rows = selectors.holdings_in_scope(user, year=year, source=params.get("source", ""), text=params.get("q", ""))
    if params.get("format") == "xlsx":
        record_event(actor=user, action=AuditAction.EXPORT, object_type=services.HOLDINGS_TYPE,
                     object_label=gettext("资产汇总"), region_path=scope_of(user).region_path or "",
                     note=f"导出资产汇总；统计年度：{year or gettext('全部')}")
        data = ([fn(h) for _, fn in HOLDINGS_EXPORT] for h in rows.iterator(chunk_size=2000))
        return xlsx_response(gettext("资产汇总.xlsx"), [h for h, _ in HOLDINGS_EXPORT], data, sheet=gettext("资产汇总"))
    page = paging.keyset_page(request, rows, keys=selectors.HOLDINGS_LIST_ORDER, name="holdings")
    query = paging.other_params(params)
    own = own_school(user)
    live = None
    if own is not None and keeps_register(own.pk):
        live = register_figures(own.pk, as_of=timezone.localdate())
    return render(request, "assets/holdings.html", {
        **_nav(request, "holdings"), "page": page, "query": query.urlencode(), "year": year,
        "years": list(range(current, current - 6, -1)), "sources": HoldingsSource.choices,
        "own": own, "live": live, "today": timezone.localdate(),
        "census": codes.census_date(year) if year else None,
    })


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def holdings_detail(request: HttpRequest, holdings_id: int) -> HttpResponse:
    user = request.user
    holdings = selectors.holdings_for(user, holdings_id)
    figures = None
    if holdings.source == HoldingsSource.REGISTER:
        figures = register_figures(holdings.school_id, as_of=codes.census_date(holdings.year))
    return render(request, "assets/holdings_detail.html", {
        **_nav(request, "holdings"), "h": holdings, "figures": figures, "census": codes.census_date(holdings.year),
        "history": history_of(user, object_type=services.HOLDINGS_TYPE, object_id=holdings.pk),
        "can_write": services.can_write_assets(user, holdings.school),
    })


@login_required
@require_capability(capabilities.EDIT_ASSETS)
def holdings_type(request: HttpRequest) -> HttpResponse:
    """Typing a summary for a school and year (or, for a register school, its 台账外固定资产值)."""
    user = request.user
    own = own_school(user)
    initial = {"year": codes.statistical_year(timezone.localdate())}
    form = HoldingsForm(request.POST or None, initial=initial, ask_school=own is None)
    if request.method == "POST" and form.is_valid():
        school = school_from_form(form, user)
        if school is not None:
            try:
                holdings = services.type_holdings(actor=user, school=school, data=form.service_data())
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已保存 %(name)s %(year)s 年度资产汇总") % {"name": school.name, "year": holdings.year})
                return redirect("assets:holdings_detail", holdings_id=holdings.pk)
    return render(request, "assets/holdings_form.html", {
        **_nav(request, "holdings"), "form": form, "school": own,
        "own_register": own is not None and keeps_register(own.pk),
    })
