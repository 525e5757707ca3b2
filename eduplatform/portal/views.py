"""The public statistics portal (no login): published census figures by city and stage, a chart,
and CSV downloads, with counts under 5 suppressed, together with any count a total would give away (``portal.public``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from eduplatform.core.db_router import reads_from_replica
from eduplatform.core.spreadsheets import csv_bytes
from eduplatform.portal import public
from eduplatform.portal.public import SMALLEST_SHOWN
from eduplatform.stats.page_cache import public_page, render

SUPPRESSED_MARK = "*"  # withheld: a count of 1–4, or a count hidden so that none can be worked out


def legend() -> str:
    return _("“%(mark)s”表示不予公布：1–%(top)s 的数，以及为防止由合计推算出这些数而一并隐藏的数（为保护个人信息）") % {
        "mark": SUPPRESSED_MARK, "top": SMALLEST_SHOWN - 1}


def _table(year: int | None):
    snapshots = public.published_years()
    if year is None:
        snapshot = snapshots[0] if snapshots else None
    else:
        snapshot = public.published_for(year)
        if snapshot is None:
            raise Http404(gettext("该年度尚未公布统计数据"))
    return snapshots, snapshot, public.city_table(snapshot) if snapshot else None


def figures_context(table: public.PublicTable | None) -> dict:
    """What ``portal/_figures.html`` shows of a table: the portal's page and the publication preview
    (``stats.views.snapshot_publish``) both render through here, so the preview is the page."""
    chart = None
    if table is not None:
        # The shown counts only (a withheld one counts 0): nothing here to subtract a hidden count from.
        students = [sum(v or 0 for v in row.cells[:table.stages]) for row in table.rows]
        chart = {"cities": [row.city for row in table.rows], "students": students}
    return {"table": table, "mark": SUPPRESSED_MARK, "chart": chart, "legend": legend()}


@reads_from_replica
@public_page
def home(request: HttpRequest, year: int | None = None) -> HttpResponse:
    snapshots, snapshot, table = _table(year)
    return render(request, "portal/home.html", {
        "snapshots": snapshots, "snapshot": snapshot, **figures_context(table),
    })


@reads_from_replica
@public_page
def download(request: HttpRequest, year: int) -> HttpResponse:
    _snapshots, snapshot, table = _table(year)
    rows = ([row.city, *[SUPPRESSED_MARK if v is None else v for v in row.cells]] for row in [*table.rows, table.total])
    # UTF-8 with a byte-order mark (Excel on Windows opens it as Chinese text), cells neutralised.
    content = csv_bytes([gettext("地级市"), *table.columns], rows,
                        trailer=[gettext("统计时点 %(date)s；%(legend)s") % {"date": f"{snapshot.census_date:%Y-%m-%d}", "legend": legend()}])
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="guangdong-education-{year}.csv"'
    return response
