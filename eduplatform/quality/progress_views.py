"""Database-building progress (建库进度) and quality scores under /progress/.

- ``overview``: a region's children (or, at the bottom of the tree, its schools) with every base
  database's figures (``quality.progress``), sortable, exportable, on the Guangdong map (the 21
  cities; a city's page highlights it on the same map and lists its counties — the project has no
  county outlines), with the region's timeline (the daily ``QualityScore`` rows: records and score
  per database over the days).
- ``school``: one school's databases with the required fields its records lack.
- ``scores``: the latest quality scores of the region's children and the region's trend.
Every read through ``orgs.scope.scoped`` (``quality.progress``); a region outside the jurisdiction
is a 404 (``region_in_scope``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core.exports import respond as export_xlsx
from eduplatform.core.views import require_capability
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.page_regions import region_in_scope, trail
from eduplatform.orgs.scope import scope_of, scoped
from eduplatform.orgs.selectors import scope_root
from eduplatform.quality import progress
from eduplatform.quality.models import QualityScore
from eduplatform.quality.progress import DATABASE_LABELS, DATABASES, FIGURES, RECORD_DATABASES, Row

NAV = "progress"
SORTS = ("name", "progress", "errors", "last_update",
         *(f"{d}.{f}" for d in DATABASES for f in ("coverage", "records", "complete")))
TREND_DAYS = 90


def _value(row: Row, key: str) -> Any:
    if key == "name":
        return row.name
    if key in ("progress", "errors", "warnings", "last_update"):
        return getattr(row, key)
    database, figure = key.split(".")
    return getattr(row.cells[database], figure)


def _sorted(rows: list[Row], sort: str) -> tuple[list[Row], str]:
    name = sort.lstrip("-")
    if name not in SORTS:
        return rows, ""
    present = [r for r in rows if _value(r, name) is not None]
    missing = [r for r in rows if _value(r, name) is None]
    return sorted(present, key=lambda r: _value(r, name), reverse=sort.startswith("-")) + missing, sort


def _own_school(user) -> int | None:
    return scope_of(user).school_id


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    school_id = _own_school(user)
    if school_id is not None:  # a school's user sees its own school's page
        return redirect("progress:school", school_id=school_id)
    region = region_in_scope(request)
    root = scope_root(user)
    at_schools = not Region.objects.filter(parent=region, abolished_on__isnull=True).exists()
    rows = progress.school_rows(user, region) if at_schools else progress.child_rows(user, region)
    total = progress.total_of(region, rows)
    rows, sort = _sorted(rows, request.GET.get("sort", ""))
    if request.GET.get("format") == "xlsx":
        return _export(region, rows, at_schools)
    base = {"region": region.code} if root is None or region != root else {}
    headers = []
    for key, label in (("name", gettext("学校") if at_schools else gettext("区划")), ("progress", FIGURES["progress"][0]),
                       *((f"{d}.coverage", f"{DATABASE_LABELS[d]}{FIGURES['coverage'][0]}") for d in RECORD_DATABASES),
                       ("errors", FIGURES["errors"][0]), ("last_update", FIGURES["last_update"][0])):
        next_sort = "-" + key if sort == key else key
        headers.append({"key": key, "label": label, "active": sort.lstrip("-") == key,
                        "desc": sort.startswith("-"), "url": "?" + urlencode({**base, "sort": next_sort})})
    map_data = None
    if region.level in ("province", "city"):
        if region.level == "province":
            cities = rows
        elif region.parent and root and region.parent.path.startswith(root.path):
            cities = progress.child_rows(user, region.parent)
        else:  # the province is outside the reader's jurisdiction: its own city only
            cities = [total]
        map_data = {"label": FIGURES["progress"][0], "unit": "%", "highlight": region.name if region.level == "city" else "",
                    "rows": [{"name": r.name, "code": r.code, "value": r.progress} for r in cities]}
    return render(request, "quality/progress.html", {
        "nav_active": NAV, "region": region, "trail": trail(region, root) if root else [], "rows": _shown(rows),
        "total": total, "headers": headers, "at_schools": at_schools, "databases": RECORD_DATABASES,
        "all_databases": DATABASES, "labels": DATABASE_LABELS, "figures": FIGURES, "map_data": map_data,
        "export_query": urlencode({**base, **({"sort": sort} if sort else {}), "format": "xlsx"}),
        "timeline": _timeline(user, region), "region_query": urlencode(base),
    })


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value}%"


def _shown(rows: list[Row]) -> list[dict[str, Any]]:
    """The ranking's cells as text, formatted here once (a province page renders them quickly)."""
    out = []
    for r in rows:
        last = timezone.localtime(r.last_update).strftime("%Y-%m-%d %H:%M") if r.last_update else "—"
        out.append({
            "name": r.name, "code": r.code, "school_id": r.school_id, "progress": _pct(r.progress),
            "errors": f"{r.errors:,}", "has_errors": bool(r.errors), "last_update": last,
            "cells": [{"coverage": _pct(c.coverage), "records": f"{c.records:,}",
                       "title": f"{c.with_data:,} / {c.expected:,}；{FIGURES['records'][0]} {c.records:,}；"
                                f"{FIGURES['complete'][0]} {_pct(c.complete)}"} for c in r.record_cells],
        })
    return out


def _timeline(user, region: Region) -> dict:
    """The region's daily rows (``QualityScore``, school_id 0): records and score per database."""
    since = timezone.localdate() - timezone.timedelta(days=TREND_DAYS)
    qs = scoped(QualityScore.objects.filter(region_path=region.path, school_id=0, day__gte=since), user,
                with_focus=False)
    days: list[str] = []
    series: dict[str, dict[str, dict[str, Any]]] = {d: {"records": {}, "score": {}} for d in DATABASES}
    for day, database, records, score in qs.order_by("day").values_list("day", "database", "records", "score"):
        label = day.isoformat()
        if label not in days:
            days.append(label)
        if database in series:
            series[database]["records"][label] = records
            series[database]["score"][label] = float(score)
    return {"days": days, "series": [
        {"name": DATABASE_LABELS[d], "records": [series[d]["records"].get(x) for x in days],
         "score": [series[d]["score"].get(x) for x in days]} for d in DATABASES]}


def _export(region: Region, rows: list[Row], at_schools: bool) -> HttpResponse:
    headers = [gettext("学校标识码") if at_schools else gettext("区划代码"), gettext("学校") if at_schools else gettext("区划"), FIGURES["progress"][0]]
    for d in DATABASES:
        label = DATABASE_LABELS[d]
        headers += [f"{label}{FIGURES[f][0]}" for f in ("expected", "with_data", "coverage", "records", "complete")]
        headers += [f"{label}{FIGURES['errors'][0]}", f"{label}{FIGURES['warnings'][0]}"]
    headers.append(FIGURES["last_update"][0])

    def lines():
        for r in rows:
            line: list[Any] = [r.code, r.name, r.progress]
            for d in DATABASES:
                c = r.cells[d]
                line += [c.expected, c.with_data, c.coverage, c.records, c.complete, c.errors, c.warnings]
            line.append(timezone.localtime(r.last_update).strftime("%Y-%m-%d %H:%M") if r.last_update else "")
            yield line

    return export_xlsx(gettext("建库进度-%(code)s.xlsx") % {"code": region.code}, [str(h) for h in headers], lines(), sheet=gettext("建库进度"))


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def school(request: HttpRequest, school_id: int) -> HttpResponse:
    user = request.user
    found = scoped(Organization.objects.filter(pk=school_id, kind=OrgKind.SCHOOL), user, with_focus=False).first()
    if found is None:
        raise Http404(gettext("该学校不存在或不在您的管辖范围内"))
    row, gaps = progress.school_detail(user, found)
    root = scope_root(user)
    region = Region.objects.filter(path=found.region_path).first()
    return render(request, "quality/progress_school.html", {
        "nav_active": NAV, "school": found, "row": row, "gaps": gaps, "labels": DATABASE_LABELS,
        "databases": DATABASES, "figures": FIGURES, "region": region,
        "trail": trail(region, root) if region and root and _own_school(user) is None else [],
        "scores": _school_scores(user, found),
    })


def _school_scores(user, school: Organization) -> list[dict]:
    latest = scoped(QualityScore.objects.filter(school_id=school.pk), user, with_focus=False).order_by("-day").first()
    if latest is None:
        return []
    qs = scoped(QualityScore.objects.filter(school_id=school.pk, day=latest.day), user, with_focus=False)
    return [{"database": DATABASE_LABELS.get(s.database, s.database), "day": s.day, "records": s.records,
             "bad": s.records_with_errors, "score": s.score} for s in qs.order_by("database")]


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def scores(request: HttpRequest) -> HttpResponse:
    """The latest day's scores of the region's children (or its schools) per database, and the trend."""
    user = request.user
    school_id = _own_school(user)
    if school_id is not None:
        return redirect("progress:school", school_id=school_id)
    region = region_in_scope(request)
    root = scope_root(user)
    mine = scoped(QualityScore.objects.all(), user, with_focus=False)
    latest = mine.filter(region_path__startswith=region.path).order_by("-day").values_list("day", flat=True).first()
    children = list(Region.objects.filter(parent=region, abolished_on__isnull=True).order_by("code"))
    rows = []
    if latest is not None:
        if children:
            found = mine.filter(day=latest, school_id=0, region_path__in=[c.path for c in children])
            names = {c.path: (c.name, c.code) for c in children}
        else:
            found = mine.filter(day=latest, region_path__startswith=region.path).exclude(school_id=0)
            names = {}
            schools = dict(Organization.objects.filter(pk__in=found.values("school_id")).values_list("pk", "name"))
        table: dict[str, dict] = {}
        for s in found:
            key = s.region_path if children else str(s.school_id)
            name, code = names.get(s.region_path, ("", "")) if children else (schools.get(s.school_id, ""), "")
            entry = table.setdefault(key, {"name": name, "code": code, "school_id": None if children else s.school_id,
                                           "cells": {}})
            entry["cells"][s.database] = s
        rows = sorted(table.values(), key=lambda e: e["name"])
    base = {"region": region.code} if root is None or region != root else {}
    return render(request, "quality/score.html", {
        "nav_active": NAV, "region": region, "trail": trail(region, root) if root else [], "rows": rows,
        "latest": latest, "databases": DATABASES, "labels": DATABASE_LABELS, "children": bool(children),
        "timeline": _timeline(user, region), "region_query": urlencode(base),
    })
