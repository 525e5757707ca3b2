"""Pages of the policy calculators kept in this app: 生均公用经费 allocation and its rates, and the
higher-education condition checks. Like the other calculators (stats/views.py), each works for any
region in the user's jurisdiction, live or from a census snapshot, exports to Excel and prints."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core import once
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.spreadsheets import XLSX_TYPE, xlsx_workbook
from eduplatform.core.views import require_capability
from eduplatform.funding import allocation, conditions, selectors, services
from eduplatform.funding.forms import CategoryForm, RateSetForm
from eduplatform.funding.models import InstitutionCategory
from eduplatform.orgs import capabilities
from eduplatform.orgs.forms import ServiceErrorsMixin

# The statistics pages' own helpers: the region a page names (404 outside the jurisdiction), its
# breadcrumb trail and the snapshot a page names — one behaviour for every statistics page.
from eduplatform.orgs.page_regions import region_in_scope, trail
from eduplatform.orgs.scope import unit_in_reach
from eduplatform.orgs.selectors import school_for, scope_root
from eduplatform.orgs.stages import STAGE_LABELS
from eduplatform.stats.models import Snapshot
from eduplatform.stats.views import chosen_snapshot

NAV = "statistics"
SCHOOL_LINES_SHOWN = 100  # school lines per page (the export has them all)
INSTITUTIONS_SHOWN = 50


def _workbook_response(filename: str, sheets: list[tuple[str, list[str], list[list[object]]]]) -> HttpResponse:
    response = HttpResponse(xlsx_workbook(sheets), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def allocation_page(request: HttpRequest) -> HttpResponse:
    """生均公用经费测算 for the children of a region (or its schools) and each school's arithmetic."""
    user = request.user
    region = region_in_scope(request)
    snapshot = chosen_snapshot(request, "snapshot")
    chosen = request.GET.get("rates", "")
    year = snapshot.census_date.year if snapshot else timezone.localdate().year
    rate_set = selectors.rate_set_by_id(int(chosen)) if chosen.isdigit() else selectors.current_rate_set(year)
    context = {"nav_active": NAV, "region": region, "trail": trail(region, scope_root(user)), "snapshot": snapshot,
               "snapshots": Snapshot.objects.all(), "rate_set": rate_set, "rate_sets": selectors.rate_sets(),
               "rule": allocation.RULE, "can_edit": services.can_edit_rates(user)}
    if rate_set is None:
        return render(request, "funding/allocation.html", context)
    export = request.GET.get("format") == "xlsx"
    result = allocation.region_allocation(user, region, rate_set, snapshot, with_schools=export)
    stages = result.stages
    labels = [STAGE_LABELS[s] for s in stages]
    if export:
        summary = [[r.label, *[r.cells.get(int(s), 0) for s in stages], r.total] for r in [*result.rows, result.total]]
        lines = [[s.name, s.school_code, gettext("乡村") if s.rural else "", s.amount, "；".join(s.steps)] for s in result.schools]
        source = gettext("%(value)s；定额：%(rate_set)s") % {"value": gettext('数据：') + str(snapshot) if snapshot else gettext('数据：实时数据'), "rate_set": rate_set}
        return _workbook_response(gettext("%(name)s生均公用经费测算.xlsx") % {"name": region.name}, [
            (gettext("区域汇总"), [gettext("名称"), *[gettext("%(label)s（元）") % {"label": label} for label in labels], gettext("合计（元）")], summary + [[source]]),
            (gettext("逐校测算"), [gettext("学校"), gettext("学校标识码"), gettext("城乡"), gettext("测算金额（元）"), gettext("测算过程")], lines + [[source]]),
            (gettext("定额"), [gettext("学段"), gettext("生均定额"), gettext("寄宿生增加"), gettext("残疾学生定额"), gettext("乡村小规模学校按人数核定"), gettext("适用范围"), gettext("来源")],
             [[r.stage_label, r.per_student, r.per_boarder, r.per_disabled, r.minimum_headcount,
               r.applies_to_label, r.source] for r in rate_set.rates.all()]),
        ])
    # A county's, a town's or a school's lines, a page at a time; a province or a city is summed from
    # county rows and lists no school (its export has every school's lines).
    page = Paginator(result.schools, SCHOOL_LINES_SHOWN).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update({
        "result": result, "stage_labels": labels,
        "rows": [(r, [r.cells.get(int(s), 0) for s in stages]) for r in result.rows],
        "total_cells": [result.total.cells.get(int(s), 0) for s in stages],
        "schools": page, "page": page, "query": query.urlencode(), "schools_listed": result.schools_listed,
        "groups": result.groups,
        "unfunded": [(STAGE_LABELS[s], n) for s, n in sorted(result.unfunded.items())],
    })
    return render(request, "funding/allocation.html", context)


class RateSetPageForm(ServiceErrorsMixin, RateSetForm):
    pass


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def rates_page(request: HttpRequest) -> HttpResponse:
    """Every version of every year's rates (newest first); the province's finance office writes a
    new version from a form pre-filled with the version it starts from."""
    user = request.user
    can_edit = services.can_edit_rates(user)
    listed = list(selectors.rate_sets())
    start_id = request.GET.get("from", "")
    start = selectors.rate_set_by_id(int(start_id)) if start_id.isdigit() else (listed[0] if listed else None)
    form = None
    if can_edit:
        form = RateSetPageForm(request.POST or None, start=start)
        if request.method == "POST" and form.is_valid():
            try:
                year = form.cleaned_data["year"].strip()
                # A double click would otherwise write two versions: the form's one-time token (core/once.py).
                with once.submitted_once(key=once.posted_token(request), action="funding.revise_rates",
                                         submitted_by=user.audit_name()) as submission:
                    rate_set = services.revise_rates(
                        actor=user, year=int(year) if year.isdigit() else None, rates=form.rate_lines(),
                        basis=form.cleaned_data["basis"], note=form.cleaned_data["note"])
                    once.record_result(submission, f"{request.path}#set-{rate_set.pk}")
            except once.AlreadySubmitted as repeat:
                messages.info(request, repeat.message)
                return redirect(repeat.result_url or request.path)
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已生成%(rate_set)s") % {"rate_set": rate_set})
                return redirect(f"{request.path}#set-{rate_set.pk}")
    elif request.method == "POST":
        raise NotPermitted(gettext("只有省级财务部门可以修订生均公用经费定额"))
    if request.GET.get("format") == "xlsx":
        data = [[s.year, s.version, r.stage_label, r.per_student, r.per_boarder, r.per_disabled,
                 r.minimum_headcount, r.source, s.basis, s.note, f"{timezone.localtime(s.created_at):%Y-%m-%d %H:%M}",
                 s.created_by] for s in listed for r in s.rates.all()]
        return _workbook_response(gettext("生均公用经费定额.xlsx"), [(gettext("定额"), [
            gettext("年度"), gettext("版本"), gettext("学段"), gettext("生均定额（元）"), gettext("寄宿生增加（元）"), gettext("残疾学生定额（元）"), gettext("乡村小规模学校按人数核定"), gettext("来源"),
            gettext("依据"), gettext("修订说明"), gettext("生成时间"), gettext("生成人")], data)])
    return render(request, "funding/rates.html", {
        "nav_active": NAV, "rate_sets": listed, "form": form, "start": start, "can_edit": can_edit,
        "stage_labels": {int(k): v for k, v in STAGE_LABELS.items()},
    })


# --------------------------------------------------------------------------------------------
# Higher-education condition checks (教发〔2004〕2号)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def higher_ed_page(request: HttpRequest) -> HttpResponse:
    """Every 普通高等学校 in a region of the user's jurisdiction: the five basic indicators with their
    inputs and arithmetic, pass or fail, and the card; live or from a snapshot."""
    user = request.user
    region = region_in_scope(request)
    snapshot = chosen_snapshot(request, "snapshot")
    results, earlier = conditions.with_history(user, region, snapshot)
    labels = list(conditions.CHECK_LABELS)
    if request.GET.get("format") == "xlsx":
        headers = [gettext("学校"), gettext("学校标识码"), gettext("层次"), gettext("院校类别"), *[f"{label}" for label in labels], gettext("结论"), gettext("说明")]
        data = [[r.name, r.school_code, r.level or "—", r.category_label,
                 *[f"{c.shown}（{c.limit_shown}，{_verdict(c)}）" for c in r.checks], r.card, r.card_reason]
                for r in results]
        detail = [[r.name, c.label, c.shown, c.limit_shown, _verdict(c), c.arithmetic] for r in results for c in r.checks]
        inputs = [[r.name, label, value] for r in results for label, value in r.inputs]
        source = gettext("%(value)s；依据：%(rule_version)s") % {"value": gettext('数据：') + str(snapshot) if snapshot else gettext('数据：实时数据'), "rule_version": conditions.RULE_VERSION}
        return _workbook_response(gettext("%(name)s高校基本办学条件.xlsx") % {"name": region.name}, [
            (gettext("结论"), headers, data + [[source], [str(conditions.NOT_RECORDED)]]),
            (gettext("指标与计算"), [gettext("学校"), gettext("指标"), gettext("数值"), gettext("合格标准"), gettext("结果"), gettext("计算过程")], detail),
            (gettext("输入数据"), [gettext("学校"), gettext("项目"), gettext("数值")], inputs),
        ])
    # The province's ≈ 160 institutions, 50 a page: rendering every check of all of them was most of
    # the page's time (the export has them all).
    page = Paginator(results, INSTITUTIONS_SHOWN).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "funding/higher_ed.html", {
        "nav_active": NAV, "region": region, "trail": trail(region, scope_root(user)), "snapshot": snapshot,
        "snapshots": Snapshot.objects.all(), "results": page, "page": page, "query": query.urlencode(),
        "earlier": earlier, "labels": labels,
        "rule": conditions.RULE_VERSION, "not_recorded": conditions.NOT_RECORDED,
        "standards": [(level, InstitutionCategory(category).label, s) for (level, category), s in
                      conditions.STANDARDS.items()],
    })


def _verdict(check: conditions.Check) -> str:
    return {True: gettext("合格"), False: gettext("不合格"), None: gettext("无法核验")}[check.passed]


class CategoryPageForm(ServiceErrorsMixin, CategoryForm):
    pass


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def higher_ed_school(request: HttpRequest, school_code: str) -> HttpResponse:
    """One institution's checks in full, and its category (院校类别) for those who manage its record."""
    user = request.user
    school = school_for(user, school_code)  # 404 outside the jurisdiction
    can_edit = user.can(capabilities.MANAGE_SCHOOLS) and unit_in_reach(user, school)
    profile = selectors.higher_ed_profiles(user, {school.pk}).get(school.pk)
    form = CategoryPageForm(request.POST or None, initial={"category": profile.category if profile else ""})
    if request.method == "POST":
        if not can_edit:
            raise NotPermitted(gettext("您无权修改该校的院校类别"))
        if form.is_valid():
            try:
                services.set_institution_category(actor=user, school=school, category=form.cleaned_data["category"])
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已保存%(name)s的院校类别") % {"name": school.name})
                return redirect("funding:higher_ed_school", school_code=school.school_code)
    snapshot = chosen_snapshot(request, "snapshot")
    results, earlier = conditions.with_history(user, school.region, snapshot)
    result = next((r for r in results if r.school_id == school.pk), None)
    return render(request, "funding/higher_ed_school.html", {
        "nav_active": NAV, "school": school, "form": form, "can_edit": can_edit, "profile": profile,
        "result": result, "rule": conditions.RULE_VERSION, "snapshot": snapshot, "earlier": earlier,
        "snapshots": Snapshot.objects.all(), "not_recorded": conditions.NOT_RECORDED,
    })
