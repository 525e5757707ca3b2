"""The public statistics portal (no login): published census figures by city and stage, a chart,
and CSV downloads, with counts under 5 suppressed (``portal.public``)."""

from __future__ import annotations

import csv
import io

from django.http import Http404, HttpRequest, HttpResponse

from eduplatform.portal import public
from eduplatform.stats.page_cache import public_page, render

SUPPRESSED_MARK = "<5"


def _table(year: int | None):
    snapshots = public.published_years()
    if year is None:
        snapshot = snapshots[0] if snapshots else None
    else:
        snapshot = public.published_for(year)
        if snapshot is None:
            raise Http404("该年度尚未公布统计数据")
    return snapshots, snapshot, public.city_table(snapshot) if snapshot else None


@public_page
def home(request: HttpRequest, year: int | None = None) -> HttpResponse:
    snapshots, snapshot, table = _table(year)
    chart = None
    if table is not None:
        students = [sum(v or 0 for v in row.cells[:-len(public.STAFF_COLUMNS)]) for row in table.rows]
        chart = {"cities": [row.city for row in table.rows], "students": students}
    return render(request, "portal/home.html", {
        "snapshots": snapshots, "snapshot": snapshot, "table": table, "mark": SUPPRESSED_MARK, "chart": chart,
    })


@public_page
def download(request: HttpRequest, year: int) -> HttpResponse:
    _snapshots, snapshot, table = _table(year)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["地级市", *table.columns])
    for row in [*table.rows, table.total]:
        writer.writerow([row.city, *[SUPPRESSED_MARK if v is None else v for v in row.cells]])
    writer.writerow([])
    writer.writerow([f"统计时点 {snapshot.census_date:%Y-%m-%d}；“{SUPPRESSED_MARK}”表示 1–4，为保护个人信息不予公布"])
    # UTF-8 with a byte-order mark: Excel on Windows opens it as Chinese text.
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="guangdong-education-{year}.csv"'
    return response
