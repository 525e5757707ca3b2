from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core import paging
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import require_capability, service_errors_to_pages
from eduplatform.history.selectors import history_of
from eduplatform.orgs import capabilities, selectors, services
from eduplatform.orgs.forms import CloseSchoolForm, SchoolForm
from eduplatform.orgs.models import RegionLevel
from eduplatform.orgs.scope import path_in_scope
from eduplatform.orgs.stages import STAGE_LABELS, describe
from eduplatform.standards import codebook


def _crumbs(user, region) -> list[dict[str, object]]:
    """The chain up to the province; only places inside the user's scope are links."""
    return [{"region": r, "link": path_in_scope(user, r.path)} for r in selectors.region_ancestors(region)]


def _as_of(request: HttpRequest) -> dt.date | None:
    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        messages.error(request, gettext("日期「%(raw)s」格式不正确，应为 YYYY-MM-DD；已显示当前情况。") % {"raw": raw})
        return None


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def browse(request: HttpRequest) -> HttpResponse:
    root = selectors.scope_root(request.user)
    if root is None:
        raise Http404(gettext("您的账号未关联单位"))
    if request.user.organization and request.user.organization.is_school:
        return redirect("orgs:school", school_code=request.user.organization.school_code)
    return redirect("orgs:region", region_code=root.code)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def region(request: HttpRequest, region_code: str) -> HttpResponse:
    node = selectors.region_for(request.user, region_code)
    as_of = _as_of(request)
    context = {
        "nav_active": "orgs",
        "region": node,
        "ancestors": _crumbs(request.user, node),
        "as_of": as_of,
        "can_manage": request.user.can(capabilities.MANAGE_SCHOOLS),
    }
    if node.level == RegionLevel.TOWN:
        context["schools"] = selectors.schools_in_region(request.user, node, as_of=as_of)
    else:
        rows = selectors.region_children_with_counts(request.user, node, as_of=as_of)
        context["children"] = rows
        context["total"] = sum(r.schools for r in rows)
        # Dongguan and Zhongshan have no county level: schools can sit right under a city's towns.
    return render(request, "orgs/region.html", context)


SCHOOL_EXPORT_COLUMNS = [
    (gettext_lazy("学校标识码"), lambda s: s.school_code),
    (gettext_lazy("学校名称"), lambda s: s.name),
    (gettext_lazy("办学类型"), lambda s: f"{s.school_type_code} {codebook.code_name('school_type', s.school_type_code)}"),
    (gettext_lazy("学段"), lambda s: describe(s.stage_mask)),
    (gettext_lazy("举办者"), lambda s: codebook.code_name("sponsor", s.sponsor_code)),
    (gettext_lazy("城乡分类"), lambda s: codebook.code_name("urban_rural", s.urban_rural_code)),
    (gettext_lazy("所在乡镇（街道）"), lambda s: s.region.name),
    (gettext_lazy("地址"), lambda s: s.address),
    (gettext_lazy("校长（负责人）"), lambda s: s.principal_name),
    (gettext_lazy("联系电话"), lambda s: s.phone),
    (gettext_lazy("办学状态"), lambda s: gettext("办学中") if s.is_open else gettext("已撤销（%(date)s）") % {"date": s.closed_on}),
]


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def school_list(request: HttpRequest) -> HttpResponse:
    try:
        stage = int(request.GET.get("stage") or 0)
    except ValueError:
        stage = 0
    schools = selectors.search_schools(
        request.user,
        text=request.GET.get("q", ""),
        school_type=request.GET.get("type", ""),
        stage_mask=stage,
        status=request.GET.get("status", "open"),
    )
    if request.GET.get("format") == "xlsx":
        rows = ([fn(s) for _, fn in SCHOOL_EXPORT_COLUMNS] for s in schools.iterator(chunk_size=2000))
        return xlsx_response(gettext("学校名录.xlsx"), [h for h, _ in SCHOOL_EXPORT_COLUMNS], rows, sheet=gettext("学校名录"))
    page = paging.keyset_page(request, schools, keys=selectors.SCHOOL_LIST_ORDER, name="schools")
    query = paging.other_params(request.GET)
    return render(
        request,
        "orgs/school_list.html",
        {
            "nav_active": "orgs",
            "page": page,
            "query": query.urlencode(),
            "stages": STAGE_LABELS.items(),
            "categories": [(c, n) for c, n in codebook.codes_of("school_type").items() if len(c) == 2],
            "can_manage": request.user.can(capabilities.MANAGE_SCHOOLS),
        },
    )


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def school_detail(request: HttpRequest, school_code: str) -> HttpResponse:
    school = selectors.school_for(request.user, school_code)
    user = request.user
    return render(
        request,
        "orgs/school_detail.html",
        {
            "nav_active": "orgs",
            "school": school,
            "ancestors": _crumbs(user, school.region),
            "versions": selectors.school_versions(school),
            "history": history_of(user, object_type="orgs.school", object_id=school.pk),
            "type_name": codebook.code_name("school_type", school.school_type_code),
            "sponsor_name": codebook.code_name("sponsor", school.sponsor_code),
            "urban_rural_name": codebook.code_name("urban_rural", school.urban_rural_code),
            "stages": describe(school.stage_mask),
            "can_manage": user.can(capabilities.MANAGE_SCHOOLS),
            "can_edit_contact": user.can(capabilities.EDIT_OWN_SCHOOL) and user.organization_id == school.pk,
        },
    )


@login_required
@require_capability(capabilities.MANAGE_SCHOOLS)
def school_create(request: HttpRequest) -> HttpResponse:
    form = SchoolForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            school = services.create_school(actor=request.user, data=form.service_data())
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已新增学校「%(name)s」") % {"name": school.name})
            return redirect("orgs:school", school_code=school.school_code)
    return render(request, "orgs/school_form.html", {"nav_active": "orgs", "form": form, "creating": True})


@login_required
@service_errors_to_pages
def school_edit(request: HttpRequest, school_code: str) -> HttpResponse:
    user = request.user
    school = selectors.school_for(user, school_code)
    if user.can(capabilities.MANAGE_SCHOOLS):
        editable = None
    elif user.can(capabilities.EDIT_OWN_SCHOOL) and user.organization_id == school.pk:
        editable = set(services.CONTACT_FIELDS)
    else:
        raise NotPermitted()
    initial = {
        **{k: getattr(school, k) for k in services.SCHOOL_FIELD_LABELS if hasattr(school, k)},
        "town_code": school.region.code,
    }
    form = SchoolForm(request.POST or None, initial=initial, actor=user, editable=editable, creating=False)
    if request.method == "POST" and form.is_valid():
        changed = {k: form.cleaned_data[k] for k in form.changed_data if k in form.service_data()}
        try:
            services.update_school(
                actor=user,
                school=school,
                data=changed,
                effective_on=form.cleaned_data.get("effective_on"),
                reason=form.cleaned_data.get("reason", ""),
            )
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已保存") if changed else gettext("没有需要保存的修改"))
            return redirect("orgs:school", school_code=school.school_code)
    return render(
        request, "orgs/school_form.html", {"nav_active": "orgs", "form": form, "school": school, "creating": False}
    )


@login_required
@require_capability(capabilities.MANAGE_SCHOOLS)
def school_close(request: HttpRequest, school_code: str) -> HttpResponse:
    school = selectors.school_for(request.user, school_code)
    form = CloseSchoolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.close_school(
                actor=request.user,
                school=school,
                closed_on=form.cleaned_data["closed_on"],
                reason=form.cleaned_data["closed_reason"],
            )
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已撤销学校「%(name)s」") % {"name": school.name})
            return redirect("orgs:school", school_code=school.school_code)
    return render(request, "orgs/school_close.html", {"nav_active": "orgs", "form": form, "school": school})


# --- searchable pickers (issue 18) ---------------------------------------------------------------
# JSON for web/picker.js: {"results": [{"value", "text"}]}. Every list comes from a scoped selector,
# so a picker finds only what its user's jurisdiction holds (tests/test_scope_matrix.py walks them).

def _picked(rows: list[dict[str, str]]) -> JsonResponse:
    response = JsonResponse({"results": rows})
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def pick_schools(request: HttpRequest) -> JsonResponse:
    schools = selectors.pick_schools(request.user, text=request.GET.get("q", ""))
    return _picked([{"value": s.school_code, "text": f"{s.name}（{s.school_code}）",
                     "hint": s.region.name, "stage_mask": s.stage_mask} for s in schools])


@login_required
@service_errors_to_pages
def pick_units(request: HttpRequest) -> JsonResponse:
    # Account and API-client administrators choose units too, without holding VIEW_RECORDS.
    if not any(request.user.can(c) for c in UNIT_PICKER_CAPABILITIES):
        raise NotPermitted()
    units = selectors.pick_units(request.user, text=request.GET.get("q", ""))
    return _picked([{"value": str(u.pk), "text": u.name + (f"（{u.school_code}）" if u.school_code else ""),
                              "hint": u.region.name} for u in units])


# "accounts.manage_users" is accounts.roles.MANAGE_USERS, named by value: orgs sits below accounts.
UNIT_PICKER_CAPABILITIES = (capabilities.VIEW_RECORDS, "accounts.manage_users", capabilities.MANAGE_API_CLIENTS)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def pick_regions(request: HttpRequest) -> JsonResponse:
    return _regions(request, level="")


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def pick_towns(request: HttpRequest) -> JsonResponse:
    """Towns (乡镇、街道), for the school form's 所在乡镇."""
    return _regions(request, level=RegionLevel.TOWN)


def _regions(request: HttpRequest, *, level: str) -> JsonResponse:
    regions = selectors.pick_regions(request.user, text=request.GET.get("q", ""), level=level)
    return _picked([{"value": r.code, "text": f"{r.name}（{r.code}）",
                     "hint": r.parent.name if r.parent_id else ""} for r in regions])


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def pick_places(request: HttpRequest) -> JsonResponse:
    """出生地、户口所在地 by name: public division names (GB/T 2260), answered by their 6-digit code."""
    places = selectors.pick_places(text=request.GET.get("q", ""))
    return _picked([{"value": r.gb2260_code, "text": _place_name(r), "hint": r.gb2260_code} for r in places])


def _place_name(region) -> str:
    if region.level == RegionLevel.COUNTY and region.parent_id:
        return f"{region.parent.name}{region.name}"
    return region.name
