"""Live statistics: figures from the roll-ups for any region in the user's jurisdiction, with
drill-down from the province to a school and export of what is shown."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import require_capability
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import scope_of
from eduplatform.orgs.selectors import scope_root
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.stats import selectors
from eduplatform.stats.models import StudentRollup

NAV = "statistics"


def measure_choices() -> list[tuple[str, str]]:
    return [(m, str(StudentRollup._meta.get_field(m).verbose_name)) for m in selectors.STUDENT_MEASURES]


def _region(request: HttpRequest) -> Region:
    root = scope_root(request.user)
    if root is None:
        raise Http404("您没有可查看的统计范围")
    code = request.GET.get("region", "").strip()
    if not code:
        return root
    region = Region.objects.filter(code=code, path__startswith=root.path).first()
    if region is None:
        raise Http404("该区划不存在或不在您的管辖范围内")
    return region


def _trail(region: Region, root: Region) -> list[Region]:
    """From the top of the user's scope down to ``region`` (for breadcrumbs)."""
    trail = []
    node: Region | None = region
    while node is not None and node.path.startswith(root.path):
        trail.append(node)
        node = node.parent
    return list(reversed(trail))


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def live(request: HttpRequest) -> HttpResponse:
    region = _region(request)
    measures = dict(measure_choices())
    measure = request.GET.get("measure", "enrolled")
    if measure not in measures:
        measure = "enrolled"
    rows, total = selectors.student_breakdown(request.user, region, measure)
    stages = sorted({s for r in [total, *rows] for s in r.cells})
    stage_labels = [STAGE_LABELS.get(Stage(s), str(s)) for s in stages]
    overview, overview_total = selectors.region_overview(request.user, region)
    columns = selectors.OVERVIEW_COLUMNS
    if request.GET.get("format") == "xlsx" and request.GET.get("table") == "overview":
        headers = ["名称", *[label for _k, label, *_ in columns]]
        data = [[r.label, *[r.cells.get(key, 0) for key, *_ in columns]] for r in [*overview, overview_total]]
        return xlsx_response(f"{region.name}综合概况.xlsx", headers, data, sheet="综合概况")
    if request.GET.get("format") == "xlsx":
        headers = ["名称", *stage_labels, "合计"]
        data = [[r.label, *[r.cells.get(s, 0) for s in stages], r.total] for r in [*rows, total]]
        return xlsx_response(f"{region.name}{measures[measure]}.xlsx", headers, data, sheet=measures[measure])
    return render(request, "stats/live.html", {
        "nav_active": NAV, "region": region, "trail": _trail(region, scope_root(request.user)),
        "rows": [(r, [r.cells.get(s, 0) for s in stages]) for r in rows],
        "total": total, "total_cells": [total.cells.get(s, 0) for s in stages], "stage_labels": stage_labels,
        "measure": measure, "measure_label": measures[measure], "measures": measure_choices(),
        "school_user": scope_of(request.user).school_id is not None,
        "overview_labels": [label for _k, label, *_ in columns],
        "overview": [(r, [r.cells.get(key, 0) for key, *_ in columns]) for r in overview],
        "overview_total": [overview_total.cells.get(key, 0) for key, *_ in columns],
    })
