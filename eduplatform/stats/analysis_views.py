"""Analysis pages that answer the questions people ask: where the 大班额 classes are (班额分析), and
the pivots a user saved to reopen and share (保存的分析)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eduplatform.core.db_router import reads_from_replica
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.spreadsheets import attachment, xlsx_workbook
from eduplatform.core.views import require_capability
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Region
from eduplatform.orgs.page_regions import region_in_scope, trail
from eduplatform.orgs.selectors import scope_root
from eduplatform.orgs.stages import Stage
from eduplatform.stats import definitions, selectors, services
from eduplatform.stats.page_cache import render
from eduplatform.stats.rollup import school_year_of
from eduplatform.stats.views import NAV

# Number formats of the exports: counts with thousands separators, shares as percentages.
COUNT_FORMAT = "#,##0"
SHARE_FORMAT = "0.00%"
CLASSES_SHOWN = 200  # classes listed on the page (the export has them all)
SCHOOLS_SHOWN = 500  # schools listed on the page, most 大班额 first (the export has them all)
# The province's classes are not listed (sizing them counts every registration of the schools that
# have 大班额 across the province): its page lists the schools, a city or a county its classes too.
CLASSES_NOT_LISTED = "province"
CLASS_SIZE_STAGES = definitions.COMPULSORY_STAGES


def _compulsory_stage(request: HttpRequest) -> Stage | None:
    value = request.GET.get("stage", "")
    return next((s for s in CLASS_SIZE_STAGES if value == str(int(s))), None)


def class_size_ratios_of(stage: Stage | None) -> list[definitions.Ratio]:
    """大班额, 超大班额 and 56人以上 of 义务教育 (no stage) or of one compulsory stage: the official
    ratios themselves (``definitions.CLASS_SIZE_RATIOS``), picked by their stage."""
    wanted = int(stage) if stage is not None else 0
    return [r for r in definitions.CLASS_SIZE_RATIOS if r.stage == wanted]


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def class_size_page(request: HttpRequest) -> HttpResponse:
    """班额分析: 大班额 and 超大班额 over the compulsory classes of each child region (or school), the
    schools having such classes, and the classes themselves — each linking to its records."""
    from eduplatform.students import selectors as students
    from eduplatform.students.grades import GRADES

    user = request.user
    region = region_in_scope(request)
    stage = _compulsory_stage(request)
    ratios = class_size_ratios_of(stage)
    keys = [f.key for f in definitions.figures_of(ratios)]
    rows, total = selectors.measure_breakdown(user, region, keys)
    large, super_large, over_55 = ratios
    table = [(row, [row.cells.get(large.denominator.key, 0),
                    row.cells.get(large.numerator.key, 0), large.value(row.cells),
                    row.cells.get(super_large.numerator.key, 0), super_large.value(row.cells),
                    over_55.value(row.cells)]) for row in [*rows, total]]
    schools = selectors.schools_with_large_classes(user, region, ratios)
    year = school_year_of(timezone.localdate())
    stages = [stage] if stage is not None else list(CLASS_SIZE_STAGES)
    lists_classes = region.level != CLASSES_NOT_LISTED
    classes_qs = students.classes_in_scope(
        user, school_year=year, region_path=region.path, grades=[g.code for g in GRADES if g.stage in stages],
        size_range=(definitions.LARGE_CLASS_SIZE, None)).filter(school_id__in=[s.school_id for s in schools])
    classes = list(classes_qs.order_by("-size", "region_path", "school_id", "grade", "number")
                   [: None if request.GET.get("format") == "xlsx" else CLASSES_SHOWN + 1]) if lists_classes else []
    grade_names = {g.code: g.name for g in GRADES}
    for klass in classes:
        klass.band = _("超大班额") if klass.size >= definitions.SUPER_LARGE_CLASS_SIZE else _("大班额")
        klass.grade_name = grade_names.get(klass.grade, klass.grade)
    if request.GET.get("format") == "xlsx":
        return _class_size_export(region, stage, ratios, table, schools, classes)
    stage_query = {"stage": str(int(stage))} if stage is not None else {}
    for school in schools[:SCHOOLS_SHOWN]:
        school.classes_url = reverse("students:classes") + "?" + urlencode(
            {"school": school.school_code, "size_band": "56人以上", "year": year, **stage_query})
    return render(request, "stats/class_sizes.html", {
        "nav_active": NAV, "region": region, "trail": trail(region, scope_root(user)), "stage": stage,
        "stages": [(int(s), definitions.STAGE_NAMES[s]) for s in CLASS_SIZE_STAGES], "ratios": ratios,
        "table": table, "schools": schools[:SCHOOLS_SHOWN], "school_count": len(schools),
        "more_schools": len(schools) > SCHOOLS_SHOWN, "classes": classes[:CLASSES_SHOWN],
        "more_classes": len(classes) > CLASSES_SHOWN, "year": year, "lists_classes": lists_classes,
        "stage_query": urlencode(stage_query), "large_size": definitions.LARGE_CLASS_SIZE,
        "super_size": definitions.SUPER_LARGE_CLASS_SIZE,
    })


def _share(value: float | None) -> float | None:
    return None if value is None else value / 100  # kept as a fraction, shown by the 0.00% format


def _class_size_export(region: Region, stage: Stage | None, ratios, table, schools, classes) -> HttpResponse:
    where = definitions.STAGE_NAMES[stage] if stage is not None else _("义务教育")
    large, super_large, over_55 = ratios
    summary = (_("班额分析"),
               [_("名称"), large.denominator.label, large.numerator.label, large.label, super_large.numerator.label,
                super_large.label, over_55.label],
               [[row.label, n, big, _share(big_share), huge, _share(huge_share), _share(over)]
                for row, (n, big, big_share, huge, huge_share, over) in table],
               [None, COUNT_FORMAT, COUNT_FORMAT, SHARE_FORMAT, COUNT_FORMAT, SHARE_FORMAT, SHARE_FORMAT])
    school_sheet = (_("学校"), [_("学校标识码"), _("学校"), _("班数"), _("大班额班数"), _("超大班额班数")],
                    [[s.school_code, s.name, s.classes, s.large, s.super_large] for s in schools],
                    [None, None, COUNT_FORMAT, COUNT_FORMAT, COUNT_FORMAT])
    class_sheet = (_("班级"), [_("学校标识码"), _("学校"), _("年级"), _("班级"), _("在读人数"), _("班额分档")],
                   [[c.school.school_code or "", c.school.name, c.grade_name, c.name, c.size, c.band]
                    for c in classes],
                   [None, None, None, None, COUNT_FORMAT, None])
    content = xlsx_workbook([summary, school_sheet, class_sheet])
    return attachment(content, f"{region.name}{where}{_('班额分析')}.xlsx")


# --------------------------------------------------------------------------------------------
# Saved analyses


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def analysis_list(request: HttpRequest) -> HttpResponse:
    analyses = list(selectors.analyses_visible_to(request.user)[:200])
    for analysis in analyses:
        analysis.mine = analysis.owner_id == request.user.pk
    return render(request, "stats/analyses.html", {"nav_active": NAV, "analyses": analyses})


@login_required
@require_capability(capabilities.VIEW_RECORDS)
@require_POST
def analysis_save(request: HttpRequest) -> HttpResponse:
    """Save the pivot the form carries (its current query) under a title."""
    region = region_in_scope(request, from_post=True)
    try:
        analysis = services.save_analysis(actor=request.user, title=request.POST.get("title", ""), region=region,
                                          params=request.POST.dict(), shared=request.POST.get("shared") == "on")
    except RecordInvalid as err:
        messages.error(request, "；".join(p.message for p in err.problems))
        params = {k: v for k, v in request.POST.items() if k in services.KEPT_PARAMS}
        return redirect(reverse("stats:pivot") + "?" + urlencode(params))
    messages.success(request, _("已保存分析「%(title)s」") % {"title": analysis.title})
    return redirect("stats:analysis", analysis_id=analysis.pk)


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def analysis_open(request: HttpRequest, analysis_id: int) -> HttpResponse:
    """Open a saved analysis: the pivot of its query, computed within the reader's jurisdiction
    (``selectors.opened_region``); refused for an analysis of another jurisdiction."""
    analysis = selectors.analysis_for(request.user, analysis_id)
    region = selectors.opened_region(request.user, analysis) if analysis is not None else None
    if analysis is None or region is None:
        raise Http404(_("该分析不存在，或不在您的管辖范围内"))
    params = {**analysis.params, "region": region.code}
    return redirect(reverse("stats:pivot") + "?" + urlencode(params))


@login_required
@require_capability(capabilities.VIEW_RECORDS)
@require_POST
def analysis_change(request: HttpRequest, analysis_id: int) -> HttpResponse:
    """Share, stop sharing or delete a saved analysis (its owner only)."""
    analysis = selectors.analysis_for(request.user, analysis_id)
    if analysis is None:
        raise Http404(_("该分析不存在，或不在您的管辖范围内"))
    action = request.POST.get("action", "")
    try:
        if action == "delete":
            services.delete_analysis(actor=request.user, analysis=analysis)
            messages.success(request, _("已删除分析「%(title)s」") % {"title": analysis.title})
        elif action in ("share", "unshare"):
            services.set_sharing(actor=request.user, analysis=analysis, shared=action == "share")
            messages.success(request, _("已共享给辖区内用户") if action == "share" else _("已停止共享"))
    except NotPermitted as err:
        messages.error(request, err.message)
    return redirect("stats:analyses")
