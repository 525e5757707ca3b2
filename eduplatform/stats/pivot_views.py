"""The pivot page (数据透视): choose what to count, by which dimensions, where and when; drill down
through the regions to a school; open the records behind a figure; export what is shown."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core.db_router import reads_from_replica
from eduplatform.core.spreadsheets import XLSX_TYPE, xlsx_workbook
from eduplatform.core.views import require_capability
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization
from eduplatform.orgs.page_regions import region_in_scope, trail
from eduplatform.orgs.selectors import open_school_by_code, scope_root
from eduplatform.stats import pivot as pivots
from eduplatform.stats import selectors
from eduplatform.stats.definitions import STAGE_NAMES
from eduplatform.stats.models import BuildingRollup, Snapshot
from eduplatform.stats.views import NAV, chosen_snapshot

# What a first visit shows: students by area × stage.
DEFAULTS = {"students": ("area", "stage", "enrolled"), "classes": ("area", "size_band", "classes"),
            "staff": ("area", "post_category", "staff"), "buildings": ("area", "", "total_area")}


def _choice(value: str, allowed: list[str], default: str) -> str:
    return value if value in allowed else default


def pivot_filters(params) -> pivots.PivotFilters:
    """The filters named in the query (unknown values are ignored, as an unknown dimension is)."""
    stage = params.get("stage", "")
    return pivots.PivotFilters(
        stage=int(stage) if stage in {str(int(s)) for s in STAGE_NAMES} else 0,
        school_type=_choice(params.get("school_type", ""), [c for c, _n in pivots.school_type_choices()], ""),
        urban_rural=_choice(params.get("urban_rural", ""), list(pivots.URBAN_CHOICES), ""),
        sponsor=_choice(params.get("sponsor", ""), list(pivots.SPONSOR_CHOICES), ""))


def filter_state(filters: pivots.PivotFilters) -> dict[str, str]:
    state = {"stage": str(filters.stage) if filters.stage else "", "school_type": filters.school_type,
             "urban_rural": filters.urban_rural, "sponsor": filters.sponsor}
    return {k: v for k, v in state.items() if v}


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def pivot_page(request: HttpRequest) -> HttpResponse:
    user, params = request.user, request.GET
    region = region_in_scope(request)
    subject = pivots.BY_KEY.get(params.get("subject", ""), pivots.SUBJECTS[0])
    default_rows, default_columns, default_measure = DEFAULTS[subject.key]
    keys = [d.key for d in subject.dimensions]
    rows = _choice(params.get("rows", ""), keys, default_rows)
    columns = _choice(params.get("cols", default_columns), ["", *keys], default_columns)
    if columns == rows:
        columns = ""
    measure = _choice(params.get("measure", ""), list(subject.measures), default_measure)
    snapshot = chosen_snapshot(request, "snapshot")
    school: Organization | None = None
    if params.get("school"):
        school = open_school_by_code(user, params["school"])
        if school is None or not school.region_path.startswith(region.path):
            raise Http404(gettext("该学校不存在或不在您的管辖范围内"))
    filters = pivot_filters(params)
    table = pivots.build_pivot(user, region, subject=subject, rows=rows, columns=columns, measure=measure,
                               snapshot=snapshot, school=school, filters=filters)
    if params.get("format") == "xlsx":
        return _export(table)
    state = {"subject": subject.key, "rows": rows, "cols": columns, "measure": measure,
             **filter_state(filters), **({"snapshot": snapshot.pk} if snapshot else {})}
    list_url = reverse(subject.list_url) if subject.list_url else ""
    body = [(row, _drill(row, state, subject, region), _with_links(row.cells, row.links, list_url))
            for row in table.rows]
    return render(request, "stats/pivot.html", {
        "nav_active": NAV, "region": region, "school": school, "trail": trail(region, scope_root(user)),
        "subjects": [(s.key, s.label) for s in pivots.SUBJECTS], "subject": subject,
        "dimensions": [(d.key, d.label) for d in subject.dimensions], "measures": subject.measure_choices(),
        "state": state, "query": urlencode({**state, "region": region.code, **({"school": school.school_code}
                                                                                if school else {})}),
        "state_query": urlencode(state), "snapshot": snapshot, "snapshots": Snapshot.objects.all(),
        "table": table, "body": body,
        "total_cells": _with_links(table.column_totals, table.total_links, list_url),
        "linked": bool(table.total_links),
        "chart": _chart(table),
        "filters": filters, "stage_choices": [(int(s), name) for s, name in STAGE_NAMES.items()],
        "school_types": pivots.school_type_choices(), "urban_choices": pivots.URBAN_CHOICES,
        "sponsor_choices": pivots.SPONSOR_CHOICES, "stage_applies": subject.key in pivots.STAGE_FILTERED,
        "saved": list(selectors.analyses_visible_to(user)[:10]),
    })


def _with_links(cells: list, links: list, list_url: str) -> list[tuple[object, str | None]]:
    """(value, record-list URL or None) per cell; live figures of students and staff have links."""
    links = links or [None] * len(cells)
    return [(value, f"{list_url}?{urlencode(link)}" if link is not None and list_url else None)
            for value, link in zip(cells, links, strict=True)]


def _drill(row: pivots.PivotRow, state: dict, subject: pivots.Subject, region) -> str | None:
    """The same pivot one level down: a child region; or one school, whose rows then become the
    next dimension (a school by area would be a single row)."""
    area = row.area
    if area is None:
        return None
    if area.region_code:
        return "?" + urlencode({**state, "region": area.region_code})
    if area.school_code:
        inner = {**state, "region": region.code, "school": area.school_code}
        if state["rows"] == pivots.AREA:
            # Within one school the grade is the natural breakdown, where the subject has one.
            others = sorted((d.key for d in subject.dimensions if d.key not in (pivots.AREA, state["cols"])),
                            key=lambda key: key != "grade")
            if others:
                inner["rows"] = others[0]
        return "?" + urlencode(inner)
    return None


def _chart(table: pivots.Pivot) -> dict:
    """A grouped bar chart of the table (ECharts), rows along the axis, one series per column."""
    return {
        "categories": [row.label for row in table.rows],
        "series": [{"name": label, "data": [float(row.cells[i]) for row in table.rows]}
                   for i, (_v, label) in enumerate(table.columns)],
        "title": table.measure_label,
    }


def _export(table: pivots.Pivot) -> HttpResponse:
    headers, data = table.table()
    where = table.school.name if table.school else table.region.name
    source = str(table.snapshot) if table.snapshot else gettext("实时数据（%(localtime)s）") % {"localtime": format(timezone.localtime(), "%Y-%m-%d %H:%M")}
    about = [[gettext("统计对象"), table.subject.label], [gettext("指标"), table.measure_label], [gettext("范围"), where],
             [gettext("行"), table.dimension_label(table.row_dimension)],
             [gettext("列"), table.dimension_label(table.column_dimension) or "—"],
             [gettext("筛选"), table.filters.describe() or "—"], [gettext("数据来源"), source]]
    # Counts with thousands separators, areas to the 0.01 ㎡ they are recorded in.
    number = "#,##0.00" if table.subject.model is BuildingRollup else "#,##0"
    content = xlsx_workbook([(gettext("数据透视"), headers, data, [None, *[number] * (len(headers) - 1)]),
                             (gettext("说明"), [gettext("项目"), gettext("内容")], about)])
    response = HttpResponse(content, content_type=XLSX_TYPE)
    filename = gettext("%(where)s%(label)s%(measure_label)s透视.xlsx") % {"where": where, "label": table.subject.label, "measure_label": table.measure_label}
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
