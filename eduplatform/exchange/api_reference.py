"""Read-only resources of the API: the code tables (代码表) every coded field refers to, and the
statistics — live figures of a region, the census snapshots and a snapshot's stored 基表 — read
through the same selectors and official definitions as the statistics pages, in the same scope.

Code tables answer with an ``ETag``: a client that sends it back in ``If-None-Match`` gets
``304 Not Modified`` while the table is unchanged, so a nightly refresh costs a header.
"""

from __future__ import annotations

import decimal
import hashlib
import json
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_noop, override
from ninja import Field, Query, Router, Schema

from eduplatform.core.errors import NotPermitted, OutOfScope
from eduplatform.exchange.api_feed import ProblemOut
from eduplatform.exchange.resources import ApiResource, ResourceField, register
from eduplatform.exchange.rights import require_right
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Region
from eduplatform.orgs.page_regions import region_in_scope
from eduplatform.standards import selectors as standards
from eduplatform.standards.models import CodeSynonym
from eduplatform.stats import basetables, selectors
from eduplatform.stats.basetables import stored as stored_base_tables
from eduplatform.stats.models import Snapshot


def _standard_text(text) -> str:
    """A figure's name as the data standard writes it: Chinese, whatever language the request that
    first loads this module asked for (the standard is one document for every system)."""
    with override(settings.LANGUAGE_CODE):
        return str(text)

router = Router(tags=["代码表与统计"])

# ---------------------------------------------------------------------------------------------
# The resources, described once (routes below, the data standard, the grants a client may hold).

CODES = register(ApiResource(
    key="codes",
    label=gettext_noop("代码表"),
    description=gettext_noop("国家和行业标准代码表（JY/T 1001、GB/T 2261 等）及其代码。所有编码字段的取值均以此为准；"
                "任何已认证的调用方均可读取，无需单独授权。"),
    natural_key=("table", "code"),
    fields=(
        ResourceField("table", gettext_noop("代码表标识"), "string", required=True, example="gender_gbt2261_1"),
        ResourceField("table_name", gettext_noop("代码表名称"), "string", example="人的性别代码", writable=False),
        ResourceField("standard", gettext_noop("依据标准"), "string", example="GB/T 2261.1-2003", writable=False),
        ResourceField("code", gettext_noop("代码"), "string", required=True, example="1",
                      help=gettext_noop("代码为文本：前导零（01）和字母（A、Z）均有意义")),
        ResourceField("name", gettext_noop("名称"), "string", required=True, example="男性"),
        ResourceField("parent_code", gettext_noop("上级代码"), "string", help=gettext_noop("分层代码表（如学科、专业）的上级代码")),
    ),
    rules=(gettext_noop("代码按文本比较，不得去掉前导零；导入和接口同样接受代码的规范名称及其他写法（如“饭堂”→ 22 食堂）。"),),
))

STATISTICS = register(ApiResource(
    key="statistics",
    label=gettext_noop("统计数据"),
    description=gettext_noop("按官方口径汇总的统计数据：区划的实时数（与“统计分析”页面同一口径）、统计快照（统计时点的冻结数）"
                "及快照的基表（基础基、中职基、高基）。只读，限于调用方的管辖范围。"),
    natural_key=("snapshot_id", "region_code"),
    fields=(
        ResourceField("region_code", gettext_noop("区划代码"), "string", required=True, example="440106000000",
                      help=gettext_noop("12 位统计用区划代码；不带则为管辖范围的顶层")),
        ResourceField("snapshot_id", gettext_noop("快照编号"), "integer", help=gettext_noop("不带则为实时数")),
        *(ResourceField(key, _standard_text(label), "number" if "㎡" in label else "integer", writable=False)
          for key, label, *_ in selectors.OVERVIEW_COLUMNS),
        ResourceField("series", gettext_noop("基表系列"), "string", example="basic",
                      help=gettext_noop("basic 基础基、vocational 中职基、higher 高基")),
    ),
    read_capability=capabilities.VIEW_RECORDS,
    rules=(gettext_noop("在校生、教职工、专任教师等均按 stats.measures 中的官方口径计算（教职工不含代课和兼任）。"),
           gettext_noop("快照生成后不再改变；同一统计时点可有多个版本，以最新版本为准。")),
))


# ---------------------------------------------------------------------------------------------
# Answers with an entity tag

def tagged_json(request: HttpRequest, payload: Any) -> HttpResponse:
    """``payload`` as JSON with a strong ETag of its bytes; 304 when the caller already has them."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    held = [t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")]
    if tag in held or "*" in held:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["ETag"] = tag
    response["Cache-Control"] = "private, no-cache"
    return response


class CodeTableSummary(Schema):
    table: str = Field(description="代码表标识")
    name: str
    standard: str
    codes: int = Field(description="代码个数")
    url: str


class CodeOut(Schema):
    code: str
    name: str
    parent_code: str = ""
    synonyms: list[str] = Field(default_factory=list, description="导入和接口同样接受的其他写法")


class CodeTableOut(Schema):
    table: str
    name: str
    standard: str
    codes: list[CodeOut]


@router.get("/codes", response={200: list[CodeTableSummary], 304: None},
            summary=gettext_noop("代码表清单（支持 ETag / If-None-Match）"))
def list_code_tables(request: HttpRequest):
    payload = [{"table": t.key, "name": t.name, "standard": t.standard, "codes": t.code_count,
                "url": f"/api/v1/codes/{t.key}"} for t in standards.code_tables()]
    request.api_records = len(payload)  # the call log's record count
    return tagged_json(request, payload)


@router.get("/codes/{table_key}", response={200: CodeTableOut, 304: None, 404: ProblemOut},
            summary=gettext_noop("一个代码表的全部代码（支持 ETag / If-None-Match）"))
def get_code_table(request: HttpRequest, table_key: str):
    found = standards.code_table(table_key)
    if found is None:
        raise Http404(f"代码表“{table_key[:64]}”不存在，请先读取 /api/v1/codes 查看可用的代码表")
    synonyms: dict[str, list[str]] = {}
    for code, synonym in CodeSynonym.objects.filter(table_key=found.key).values_list("code", "synonym"):
        synonyms.setdefault(code, []).append(synonym)
    payload = {"table": found.key, "name": found.name, "standard": found.standard, "codes": [
        {"code": c.code, "name": c.name, "parent_code": c.parent_code, "synonyms": synonyms.get(c.code, [])}
        for c in found.codes.order_by("sort_order", "pk")]}
    request.api_records = len(payload["codes"])
    return tagged_json(request, payload)


# ---------------------------------------------------------------------------------------------
# Statistics

class FigureColumn(Schema):
    key: str
    label: str


class FigureRow(Schema):
    name: str
    region_code: str = Field("", description="下级区划代码（学校行为空）")
    school_code: str = Field("", description="学校标识码（区划行为空）")
    figures: dict[str, float] = Field(description="按 columns 的 key 给出的数值")


class FiguresOut(Schema):
    region_code: str
    region_name: str
    snapshot_id: int | None = Field(None, description="为空表示实时数")
    columns: list[FigureColumn]
    rows: list[FigureRow] = Field(description="下级区划（或学校）各一行")
    total: FigureRow


class SnapshotOut(Schema):
    id: int
    title: str
    census_date: str
    version: int
    school_year: int
    taken_at: str
    signed_off: bool
    published: bool


class BaseTableRow(Schema):
    label: str
    cells: list[float | str | None]


class BaseTableOut(Schema):
    code: str = Field(description="表号，如 基础基111")
    title: str
    columns: list[str]
    rows: list[BaseTableRow]
    note: str = ""


class BaseTablesOut(Schema):
    snapshot_id: int
    region_code: str
    school_code: str | None = None
    series: str
    series_name: str
    stored: bool = Field(description="true：读取快照生成时保存的基表；false：按快照即时计算")
    tables: list[BaseTableOut]


class RegionQuery(Schema):
    region: str = Field("", description="区划代码；不带则为管辖范围的顶层", max_length=12)


class BaseTableQuery(RegionQuery):
    series: str = Field("", description="basic（基础基）、vocational（中职基）、higher（高基）；不带则按学校的学段或 basic")
    school: str = Field("", description="学校标识码：只读这一所学校的基表", max_length=10)


def api_region(request: HttpRequest) -> Region:
    """The region ``?region=`` names (the top of the caller's jurisdiction when none), as the pages
    choose it — but a region that exists outside the jurisdiction is a 403 saying so (the API
    explains refusals), and one that does not exist a 404."""
    code = request.GET.get("region", "").strip()
    if code and not Region.objects.filter(code=code).exists():
        raise Http404(f"区划代码“{code[:12]}”不存在")
    try:
        return region_in_scope(request)
    except Http404 as refused:
        raise OutOfScope(f"区划“{code[:12]}”不在您的管辖范围内") from refused


def _number(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _figures(request: HttpRequest, snapshot: Snapshot | None) -> FiguresOut:
    require_right(request, STATISTICS, "read")
    region = api_region(request)
    rows, total = selectors.region_overview(request.user, region, snapshot)
    keys = [(key, label) for key, label, *_ in selectors.OVERVIEW_COLUMNS]

    def out(row) -> FigureRow:
        return FigureRow(name=row.label, region_code=row.region_code or "", school_code=row.school_code or "",
                         figures={key: _number(row.cells.get(key, 0)) for key, _label in keys})

    request.api_records = len(rows)
    return FiguresOut(region_code=region.code, region_name=region.name,
                      snapshot_id=snapshot.pk if snapshot else None,
                      columns=[FigureColumn(key=k, label=str(label)) for k, label in keys],
                      rows=[out(r) for r in rows], total=out(total))


def _snapshot(snapshot_id: int) -> Snapshot:
    snapshot = Snapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None:
        raise Http404(f"统计快照 {snapshot_id} 不存在")
    return snapshot


@router.get("/statistics/live", response={200: FiguresOut, 403: ProblemOut, 404: ProblemOut},
            summary=gettext_noop("区划的实时统计数（在校生、教职工、专任教师、校舍面积 …，官方口径）"))
def live_figures(request: HttpRequest, query: Query[RegionQuery]):
    return _figures(request, None)


@router.get("/statistics/snapshots", response={200: list[SnapshotOut], 403: ProblemOut},
            summary=gettext_noop("统计快照清单（统计时点、版本、审核与公布状态）"))
def list_snapshots(request: HttpRequest):
    require_right(request, STATISTICS, "read")
    return [SnapshotOut(id=s.pk, title=s.title, census_date=s.census_date.isoformat(), version=s.version,
                        school_year=s.school_year, taken_at=s.taken_at.isoformat(),
                        signed_off=s.signed_off_at is not None, published=s.published_at is not None)
            for s in Snapshot.objects.order_by("-census_date", "-version")]


@router.get("/statistics/snapshots/{snapshot_id}/figures", response={200: FiguresOut, 403: ProblemOut, 404: ProblemOut},
            summary=gettext_noop("统计快照中区划的统计数"))
def snapshot_figures(request: HttpRequest, snapshot_id: int, query: Query[RegionQuery]):
    return _figures(request, _snapshot(snapshot_id))


@router.get("/statistics/snapshots/{snapshot_id}/base-tables",
            response={200: BaseTablesOut, 403: ProblemOut, 404: ProblemOut},
            summary=gettext_noop("统计快照的基表（区划或一所学校；快照生成时保存的基表优先）"))
def snapshot_base_tables(request: HttpRequest, snapshot_id: int, query: Query[BaseTableQuery]):
    require_right(request, STATISTICS, "read")
    user = request.user
    snapshot = _snapshot(snapshot_id)
    region = api_region(request)
    school = selectors.snapshot_school(user, region, snapshot, query.school.strip()) if query.school.strip() else None
    if query.school.strip() and school is None:
        raise Http404("该学校不在快照中，或不在您的管辖范围内")
    school_id = school["school_id"] if school else None
    series = basetables.series_of(query.series or None)
    kept = stored_base_tables.read(user, region, snapshot, school_id=school_id, series=series.key)
    tables = kept[0] if kept is not None else basetables.generate(user, region, snapshot, school_id=school_id,
                                                                  series=series.key)
    return BaseTablesOut(
        snapshot_id=snapshot.pk, region_code=region.code, school_code=query.school.strip() or None,
        series=series.key, series_name=series.name, stored=kept is not None,
        tables=[BaseTableOut(code=t.code, title=t.title, columns=list(t.columns), note=t.note or "",
                             rows=[BaseTableRow(label=str(label), cells=[_number(c) for c in cells])
                                   for label, cells in t.rows])
                for t in tables])


__all__ = ["router", "CODES", "STATISTICS", "NotPermitted"]
