"""Live statistics: figures from the roll-ups for any region in the user's jurisdiction, with
drill-down from the province to a school and export of what is shown."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core import once, pdf
from eduplatform.core.db_router import reads_from_replica
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.spreadsheets import XLSX_TYPE, xlsx_response, xlsx_workbook
from eduplatform.core.views import require_capability
from eduplatform.orgs import capabilities
from eduplatform.orgs.forms import style_fields
from eduplatform.orgs.page_regions import region_in_scope, trail
from eduplatform.orgs.scope import scope_of
from eduplatform.orgs.selectors import scope_root
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.stats import (
    basetables,
    calculators,
    definitions,
    indicators,
    map_data,
    measures,
    selectors,
    snapshots,
)
from eduplatform.stats.basetables import stored as stored_base_tables
from eduplatform.stats.models import SchoolRollup, Snapshot, StudentRollup
from eduplatform.stats.page_cache import compares_with_live, render, snapshot_page
from eduplatform.stats.rollup import school_year_of

NAV = "statistics"


def measure_choices() -> list[tuple[str, str]]:
    return [(m, str(StudentRollup._meta.get_field(m).verbose_name)) for m in selectors.STUDENT_MEASURES]


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def live(request: HttpRequest) -> HttpResponse:
    region = region_in_scope(request)
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
        headers = [gettext("名称"), *[label for _k, label, *_ in columns]]
        data = [[r.label, *[r.cells.get(key, 0) for key, *_ in columns]] for r in [*overview, overview_total]]
        return xlsx_response(gettext("%(name)s综合概况.xlsx") % {"name": region.name}, headers, data, sheet=gettext("综合概况"))
    if request.GET.get("format") == "xlsx":
        headers = [gettext("名称"), *stage_labels, gettext("合计")]
        data = [[r.label, *[r.cells.get(s, 0) for s in stages], r.total] for r in [*rows, total]]
        return xlsx_response(f"{region.name}{measures[measure]}.xlsx", headers, data, sheet=measures[measure])
    return render(request, "stats/live.html", {
        "nav_active": NAV, "region": region, "trail": trail(region, scope_root(request.user)),
        "rows": [(r, [r.cells.get(s, 0) for s in stages]) for r in rows],
        "total": total, "total_cells": [total.cells.get(s, 0) for s in stages], "stage_labels": stage_labels,
        "measure": measure, "measure_label": measures[measure], "measures": measure_choices(),
        "school_user": scope_of(request.user).school_id is not None,
        "overview_labels": [label for _k, label, *_ in columns],
        "overview": [(r, [r.cells.get(key, 0) for key, *_ in columns]) for r in overview],
        "overview_total": [overview_total.cells.get(key, 0) for key, *_ in columns],
    })


# --------------------------------------------------------------------------------------------
# Census snapshots


class SnapshotForm(forms.Form):
    census_date = forms.DateField(label=gettext_lazy("统计时点 *"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                  error_messages={"invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")})
    title = forms.CharField(label=gettext_lazy("名称"), required=False, max_length=100, help_text=gettext_lazy("留空则为“某学年教育统计”"))
    note = forms.CharField(label=gettext_lazy("说明"), required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def snapshot_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    can_take = snapshots.can_take_snapshots(user)
    today = timezone.localdate()
    form = SnapshotForm(request.POST or None, initial={"census_date": dt.date(school_year_of(today), 9, 1)})
    if request.method == "POST":
        if not can_take:
            raise NotPermitted(gettext("只有省级统计部门可以生成统计快照"))
        if form.is_valid():
            try:
                # A double click sends the form's one-time token twice: one snapshot, the repeat is
                # sent to it (core/once.py).
                with once.submitted_once(key=once.posted_token(request), action="stats.take_snapshot",
                                         submitted_by=user.audit_name()) as submission:
                    snapshot = snapshots.take_snapshot(actor=user, census_date=form.cleaned_data["census_date"],
                                                       title=form.cleaned_data["title"], note=form.cleaned_data["note"])
                    once.record_result(submission, reverse("stats:snapshot", args=(snapshot.pk,)))
            except once.AlreadySubmitted as repeat:
                messages.info(request, repeat.message)
                return redirect(repeat.result_url or "stats:snapshots")
            except RecordInvalid as err:
                for problem in err.problems:
                    form.add_error(problem.field if problem.field in form.fields else None, problem.message)
            else:
                messages.success(request, gettext("已生成%(snapshot)s") % {"snapshot": snapshot})
                return redirect("stats:snapshot", snapshot_id=snapshot.pk)
    listed = list(Snapshot.objects.all())
    # Each user sees the totals of their own jurisdiction only (a school its school's), never the
    # province's kept on the snapshot.
    totals = selectors.snapshot_totals(user, listed)
    for snapshot in listed:
        snapshot.scoped_totals = totals[snapshot.pk]
    # The trend across census dates: the latest version of each, oldest first.
    latest = {s.census_date: s for s in sorted(listed, key=lambda s: (s.census_date, s.version))}
    trend = {"labels": [f"{d:%Y-%m-%d}" for d in sorted(latest)],
             "students": [latest[d].scoped_totals["students"] for d in sorted(latest)],
             "staff": [latest[d].scoped_totals["staff"] for d in sorted(latest)]}
    root = scope_root(user)
    scope_name = user.organization.name if scope_of(user).school_id else (root.name if root is not None else "")
    return render(request, "stats/snapshots.html", {
        "nav_active": NAV, "snapshots": listed, "form": form, "can_take": can_take, "trend": trend,
        "scope_name": scope_name})


def _snapshot(snapshot_id: int) -> Snapshot:
    snapshot = Snapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None:
        raise Http404(gettext("统计快照不存在"))
    return snapshot


def chosen_snapshot(request: HttpRequest, parameter: str) -> Snapshot | None:
    """The snapshot a page's ``?snapshot=`` / ``?compare=`` names; None (live figures) when absent."""
    value = request.GET.get(parameter, "")
    return _snapshot(int(value)) if value.isdigit() else None


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
@snapshot_page(live=compares_with_live)
def snapshot_detail(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    """A snapshot's figures for a region in the user's jurisdiction, beside live figures (or another
    snapshot's, e.g. last year's) and the difference."""
    user = request.user
    snapshot = _snapshot(snapshot_id)
    region = region_in_scope(request)
    other = chosen_snapshot(request, "compare")
    rows, total = selectors.region_overview(user, region, snapshot)
    base_rows, base_total = selectors.region_overview(user, region, other)
    columns = selectors.OVERVIEW_COLUMNS
    base = {r.label: r for r in base_rows}
    table = []
    for row in [*rows, total]:
        before = base.get(row.label) if row is not total else base_total
        # (this snapshot, the baseline, this snapshot minus the baseline) for each column
        cells = []
        for key, *_ in columns:
            value, baseline = row.cells.get(key, 0), before.cells.get(key, 0) if before else 0
            cells.append((value, baseline, value - baseline))
        table.append((row, cells))
    against = str(other) if other else gettext("实时数据")
    if request.GET.get("format") == "xlsx":
        headers = [gettext("名称")] + [h for _k, label, *_ in columns for h in (label, f"{label}（{against}）", gettext("%(label)s（差额）") % {"label": label})]
        data = [[row.label] + [v for triple in cells for v in triple] for row, cells in table]
        return xlsx_response(f"{snapshot.title}_{region.name}.xlsx", headers, data, sheet=gettext("快照"))
    root = scope_root(user)
    return render(request, "stats/snapshot.html", {
        "nav_active": NAV, "snapshot": snapshot, "region": region, "trail": trail(region, root),
        "labels": [label for _k, label, *_ in columns], "table": table, "other": other, "against": against,
        "others": Snapshot.objects.exclude(pk=snapshot.pk), "can_publish": snapshots.can_take_snapshots(user),
        # The census sign-off task is created on reporting's task page (review-chain pages helper),
        # linked by path: /reports/tasks/new/?snapshot=<id>.
        "signoff_url": f"/reports/tasks/new/?snapshot={snapshot.pk}",
    })


PORTRAIT_COLUMNS = 8  # a 基表 with more columns than this prints on a landscape page


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
@snapshot_page()
def base_tables(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    """The 基表 of one series (``?series=`` basic 基础基 / vocational 中职基 / higher 高基) of a region in
    the user's jurisdiction (or of one of its schools, ``?school=`` its 学校标识码) from a snapshot,
    with the validation results; printable (title, region, census date and version on every page,
    wide tables in landscape), as a PDF (``?format=pdf``) and as one Excel workbook with a sheet per
    table."""
    user = request.user
    snapshot = _snapshot(snapshot_id)
    region = region_in_scope(request)
    code = request.GET.get("school", "").strip()
    school = selectors.snapshot_school(user, region, snapshot, code) if code else None
    if code and school is None:
        raise Http404(gettext("该学校不在快照中，或不在您的管辖范围内"))
    school_id = school["school_id"] if school else None
    key = request.GET.get("series")
    own = school_id if school_id is not None else scope_of(user).school_id
    if not key and own is not None:  # one school, no series asked for: the series it reports in
        mask = selectors.figures(SchoolRollup, user, region, snapshot).filter(school_id=own).values_list(
            "stage_mask", flat=True).first()
        key = basetables.series_of_school(mask or 0)
    series = basetables.series_of(key)
    # Kept with the snapshot when the reader may see all of it (stored.read says when); computed otherwise.
    kept = stored_base_tables.read(user, region, snapshot, school_id=school_id, series=series.key)
    if kept is not None:
        tables, findings = kept
    else:
        tables = basetables.generate(user, region, snapshot, school_id=school_id, series=series.key)
        findings = None
    subject = school["name"] if school else region.name
    if request.GET.get("format") == "xlsx":
        content = xlsx_workbook((t.code, [gettext("项目"), *t.columns], [[label, *cells] for label, cells in t.rows])
                                for t in tables)
        response = HttpResponse(content, content_type=XLSX_TYPE)
        filename = f"{snapshot.title}_{subject}_{series.name}表.xlsx"
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
        return response
    if findings is None:
        findings = basetables.check(tables, user, region, snapshot, school_id=school_id, series=series.key)
    # Title, region, period and version on every printed page (core/_print_header.html).
    printed = {"print_title": gettext("%(name)s表 · %(subject)s") % {"name": series.name, "subject": subject},
               "print_region": subject,
               "print_period": gettext("统计时点 %(date)s") % {"date": f"{snapshot.census_date:%Y-%m-%d}"},
               "print_version": gettext("%(title)s，第 %(version)s 版") % {"title": snapshot.title, "version": snapshot.version}}
    if request.GET.get("format") == "pdf":
        content = pdf.render_pdf("stats/base_tables_pdf.html", {
            **printed, "tables": tables, "findings": findings, "wide_columns": PORTRAIT_COLUMNS})
        response = HttpResponse(content, content_type="application/pdf")
        filename = f"{snapshot.title}_{subject}_{series.name}表.pdf"
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
        return response
    return render(request, "stats/base_tables.html", {
        "nav_active": NAV, "snapshot": snapshot, "region": region, "trail": trail(region, scope_root(user)),
        "school": school, "subject": subject, "tables": tables, "series": series,
        "all_series": list(basetables.SERIES.values()), "findings": findings,
        "school_user": scope_of(user).school_id is not None, "kept": kept is not None,
        "generation": stored_base_tables.progress(snapshot), "wide_columns": PORTRAIT_COLUMNS, **printed,
    })


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def indicator_page(request: HttpRequest) -> HttpResponse:
    """Indicators for the children of a region, live or from a snapshot, with their formulas; for a
    county, the 优质均衡 差异系数 between its primary and junior schools."""
    user = request.user
    region = region_in_scope(request)
    snapshot = chosen_snapshot(request, "snapshot")
    rows, total = indicators.region_indicators(user, region, snapshot)
    value = request.GET.get("stage", "")
    stage = next((s for s in indicators.FILTER_STAGES if value == str(int(s))), None)
    chosen = indicators.groups_for(stage)
    # One table per group (生师比 by stage, class sizes over compulsory education, the others).
    groups = [(title, group, [(row, [(indicators.formatted(i, v), v) for i in group
                                     for v in (indicators.value_of(i, row.cells),)])
                              for row in [*rows, total]])
              for title, group in chosen]
    if request.GET.get("format") == "xlsx":
        shown = [i for _title, group in chosen for i in group]
        headers = [gettext("名称"), *[f"{i.label}（{i.unit}）" for i in shown]]
        # Shares as percentages (the value kept as a fraction), other ratios to two decimals.
        number_formats = [None, *["0.00%" if i.unit == "%" else "#,##0.00" for i in shown]]
        data = [[row.label, *[_indicator_cell(i, indicators.value_of(i, row.cells)) for i in shown]]
                for row in [*rows, total]]
        where = f"{region.name}{definitions.STAGE_NAMES[stage] if stage is not None else ''}"
        content = xlsx_workbook([(gettext("教育指标"), headers, data, number_formats)])
        response = HttpResponse(content, content_type=XLSX_TYPE)
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(where + gettext('教育指标') + '.xlsx')}"
        return response
    balance = ([indicators.balance(user, region, stage, snapshot) for stage in (Stage.PRIMARY, Stage.JUNIOR)]
               if region.level == "county" else [])
    return render(request, "stats/indicators.html", {
        "nav_active": NAV, "region": region, "trail": trail(region, scope_root(user)), "snapshot": snapshot,
        "snapshots": Snapshot.objects.all(), "groups": groups,
        "indicators": indicators.EXPLAINED, "balance": balance, "stage_labels": STAGE_LABELS,
        "stage": stage, "filter_stages": [(int(s), definitions.STAGE_NAMES[s]) for s in indicators.FILTER_STAGES],
    })


def _indicator_cell(indicator: indicators.Indicator, value: float | None) -> float | None:
    """An indicator's value as exported: a percentage as the fraction Excel's 0.00% shows."""
    if value is None:
        return None
    return value / 100 if indicator.unit == "%" else value


# Counts the map can show besides the indicators (measures of ``indicators.region_indicators``).
MAP_COUNTS = (("students", gettext_lazy("在校生数"), gettext_lazy("人")), ("teachers", gettext_lazy("专任教师数"), gettext_lazy("人")))


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def province_map(request: HttpRequest) -> HttpResponse:
    """The indicator map, drilling down (``?region=``): the province's 21 cities, a city's counties,
    then a county's schools as points at their coordinates (stats/map_data.py), each level coloured
    by the chosen indicator of the live figures, with its ranking. For users whose jurisdiction is a
    province, a city or a county; it starts at the top of it."""
    user = request.user
    root = scope_root(user)
    if root is None or root.level not in {"province", "city", "county"}:
        return redirect("stats:live")
    region = region_in_scope(request)
    level = map_data.map_level(region)
    if level is None:
        return redirect(f"{reverse('stats:live')}?region={region.code}")
    choices = [*[(k, label) for k, label, _u in MAP_COUNTS], *[(i.key, i.label) for i in indicators.INDICATORS]]
    key = request.GET.get("indicator", "students")
    if key not in dict(choices):
        key = "students"
    indicator = indicators.BY_KEY.get(key)
    unit = indicator.unit if indicator else dict((k, u) for k, _l, u in MAP_COUNTS)[key]

    def value(cells: dict) -> float | None:
        if indicator is not None:
            found = indicators.value_of(indicator, cells)
            return None if found is None else round(found, 2)
        return float(cells.get(key, 0) or 0)

    unplaced: list[str] = []
    if level.shows_schools:
        points, unplaced = map_data.school_points(user, region, list(measures.INDICATOR_KEYS))
        items = [{"name": p["name"], "code": p["code"], "value": value(p["cells"]), "lon": p["lon"], "lat": p["lat"],
                  "url": reverse("orgs:school", args=[p["code"]])} for p in points]
    else:
        rows, _total = indicators.region_indicators(user, region)
        items = [{"name": r.label, "code": r.region_code, "value": value(r.cells),
                  "url": f"{reverse('stats:map')}?region={r.region_code}&indicator={key}"} for r in rows]
    ranking = sorted(items, key=lambda c: (c["value"] is None, -(c["value"] or 0)))
    for item in ranking:
        item["shown"] = "—" if item["value"] is None else f"{item['value']:,g}{unit}"
    chosen = {"key": key, "label": dict(choices)[key]}
    return render(request, "stats/map.html", {
        "nav_active": NAV, "choices": choices, "chosen": chosen, "ranking": ranking, "region": region,
        "trail": trail(region, root), "level": level, "outline": f"maps/{level.outline_file}", "unplaced": unplaced,
        "map_data": {"label": chosen["label"], "unit": unit, "rows": items, "points": level.shows_schools,
                     "feature": level.feature_code, "region": region.name},
    })


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def snapshot_publish(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    """Publication in two steps: GET previews exactly what the public portal will show of this
    snapshot (the portal's own table and partial, suppression applied, marked 预览); the preview's
    confirm form POSTs ``confirmed=yes`` and only then is it published. A POST without the
    confirmation publishes nothing and sends the officer to the preview."""
    snapshot = _snapshot(snapshot_id)
    if not snapshots.can_take_snapshots(request.user):
        raise NotPermitted(gettext("只有省级统计部门可以预览和公布统计数据"))
    if request.method == "POST":
        if request.POST.get("confirmed") != "yes":
            messages.warning(request, gettext("请先核对公开内容预览，再确认公布"))
            return redirect("stats:publish", snapshot_id=snapshot.pk)
        try:
            snapshots.publish_snapshot(actor=request.user, snapshot=snapshot)
        except RecordInvalid as err:
            # Published already (perhaps by this very double click): said as information, not an error.
            published = any(p.code == "snapshot.published" for p in err.problems)
            (messages.info if published else messages.error)(request, "；".join(p.message for p in err.problems))
        else:
            messages.success(request, gettext("已公布%(snapshot)s，公开门户显示该年度数据") % {"snapshot": snapshot})
        return redirect("stats:snapshot", snapshot_id=snapshot.pk)
    # The portal renders the preview (portal → stats is the dependency's direction; this one page
    # borrows the portal's table and context so that the preview cannot drift from the public page).
    from eduplatform.portal import public
    from eduplatform.portal.views import figures_context

    return render(request, "stats/snapshot_publish.html", {
        "nav_active": NAV, "snapshot": snapshot, **figures_context(public.city_table(snapshot)),
        "signed_off": snapshot.signed_off_at is not None,
        "replaces": public.published_for(snapshot.census_date.year),
    })


QUOTA_ROWS_SHOWN = 100  # rows of the staffing table per page (the export has them all)


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def staffing_page(request: HttpRequest) -> HttpResponse:
    """教职工编制测算: quota from the standards against staff in post, for the children of a region
    (or its schools), live or from a snapshot, with every school's arithmetic."""
    user = request.user
    region = region_in_scope(request)
    snapshot = chosen_snapshot(request, "snapshot")
    rows, total = calculators.region_quotas(user, region, snapshot)
    if request.GET.get("format") == "xlsx":
        headers = [gettext("名称"), gettext("核定编制"), gettext("在岗教职工"), gettext("超编(+)/缺编(-)"), gettext("测算过程")]
        data = [[q.name, q.quota if q.assessed else str(calculators.NOT_ASSESSED), q.actual,
                 q.difference if q.assessed else "", "；".join(q.steps)] for q in [*rows, total]]
        return xlsx_response(gettext("%(name)s教职工编制测算.xlsx") % {"name": region.name}, headers, data, sheet=gettext("编制测算"))
    # A town's (or a school user's) schools, a page at a time; child regions otherwise (a few dozen).
    page = Paginator(rows, QUOTA_ROWS_SHOWN).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "stats/staffing.html", {
        "nav_active": NAV, "region": region, "trail": trail(region, scope_root(user)), "snapshot": snapshot,
        "snapshots": Snapshot.objects.all(), "rows": page, "page": page, "query": query.urlencode(), "total": total,
        "rule": calculators.RULE_VERSION,
        "ratios": [(STAGE_LABELS[s], r) for s, r in calculators.PUPILS_PER_STAFF.items()],
    })


@reads_from_replica
@login_required
@require_capability(capabilities.VIEW_RECORDS)
def projection_page(request: HttpRequest) -> HttpResponse:
    """学位预测: students per grade for the next three school years by cohort progression."""
    user = request.user
    region = region_in_scope(request)
    projection = calculators.project_enrolment(user, region)
    if request.GET.get("format") == "xlsx":
        headers = [gettext("年级"), *[gettext("%(y)s学年") % {"y": y} for y in projection.years]]
        return xlsx_response(gettext("%(name)s学生数预测.xlsx") % {"name": region.name}, headers,
                             [[name, *values] for name, values in projection.grades], sheet=gettext("学生数预测"))
    totals = [sum(values[i] for _n, values in projection.grades) for i in range(len(projection.years))]
    return render(request, "stats/projection.html", {
        "nav_active": NAV, "region": region, "trail": trail(region, scope_root(user)), "projection": projection,
        "totals": totals, "rule": calculators.PROJECTION_RULE,
    })
