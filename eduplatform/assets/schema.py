"""The columns of an equipment register line and of a typed summary: one description for the
import template, the spreadsheet check, the forms and docs/assets.md.

Record rules beyond single cells (a disposal date with a 报废 status, purchase dates not in the
future, quantity at least 1, at most two decimals) are applied by ``check_equipment`` /
``check_holdings`` to the ``CleanRow``, so a form and a spreadsheet row get the same messages.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.utils.translation import gettext, gettext_noop

from eduplatform.assets import codes
from eduplatform.core.imports import Column
from eduplatform.core.rows import CleanRow, RowSchema

MAX_MONEY = decimal.Decimal("999999999999.99")  # 14 digits, 2 decimals (models.MONEY)
CENT = decimal.Decimal("0.01")

EQUIPMENT_COLUMNS: tuple[Column, ...] = (
    Column("asset_number", gettext_noop("资产编号"), required=True, help=gettext_noop("本校内唯一；已有编号的行按所选“新增或更新”方式处理"), example="JX2024-0001",
           aliases=("资产号", "资产编码", "设备编号", "仪器编号")),
    Column("category", gettext_noop("设备类别"), required=True, kind="code", example="01", aliases=("设备分类", "仪器类别", "资产分类")),
    Column("name", gettext_noop("名称"), required=True, example="学生用台式计算机", aliases=("设备名称", "仪器名称", "资产名称")),
    Column("model", gettext_noop("型号规格"), example="联想 M430", aliases=("型号", "规格型号")),
    Column("quantity", gettext_noop("数量"), required=True, kind="int", help=gettext_noop("图书按册计"), example="50"),
    Column("unit_price", gettext_noop("单价（元）"), required=True, kind="decimal", example="4200.00", aliases=("单价",)),
    Column("value", gettext_noop("金额（元）"), kind="decimal", help=gettext_noop("留空时按 数量×单价 计算"), example="210000.00",
           aliases=("金额", "总价", "价值")),
    Column("purchased_on", gettext_noop("购置日期"), required=True, kind="date", example="2024-03-15", aliases=("购置时间", "取得日期")),
    Column("funding_source", gettext_noop("经费来源"), kind="code", help=gettext_noop("留空为 1-财政拨款"), example="1"),
    Column("acquisition_mode", gettext_noop("取得方式"), kind="code", help=gettext_noop("留空为 1-购置"), example="1"),
    Column("use_direction", gettext_noop("使用方向"), kind="code", help=gettext_noop("留空为 1-教学；教学、科研计入教学仪器设备"), example="1"),
    Column("status", gettext_noop("仪器现状"), kind="code", help=gettext_noop("留空为 1-在用；丢失、报废、调出须填写处置日期"), example="1",
           aliases=("现状", "使用状况")),
    Column("location", gettext_noop("存放地点"), example="计算机室一", aliases=("存放地",)),
    Column("disposed_on", gettext_noop("处置日期"), kind="date", help=gettext_noop("丢失、报废或调出的日期")),
    Column("disposal_reason", gettext_noop("处置说明")),
)

EQUIPMENT_SCHEMA = RowSchema(
    EQUIPMENT_COLUMNS,
    # Short forms (财政, 自筹, 电脑 …) are in data/reference/code_synonyms.csv under these keys.
    code_tables={
        "category": "equipment_category",
        "funding_source": "funding_source",
        "acquisition_mode": "acquisition_mode",
        "use_direction": "equipment_use_direction",
        "status": "equipment_status",
    },
    extra_choices={"category": codes.CATEGORIES},
    defaults={"funding_source": codes.DEFAULT_FUNDING, "acquisition_mode": codes.DEFAULT_ACQUISITION,
              "use_direction": codes.DEFAULT_DIRECTION, "status": codes.DEFAULT_STATUS},
    max_lengths={"asset_number": 40, "name": 100, "model": 100, "location": 100},
)

HOLDINGS_COLUMNS: tuple[Column, ...] = (
    Column("school_code", gettext_noop("学校标识码"), help=gettext_noop("县（区）教育局导入时必填；学校导入时可留空"), width=14, example="2144000001"),
    Column("year", gettext_noop("统计年度"), required=True, kind="int", help=gettext_noop("统计时点为该年9月1日"), example="2025"),
    Column("books_volumes", gettext_noop("图书（册）"), kind="int", example="32000", aliases=("图书",)),
    Column("computers_for_teaching", gettext_noop("教学用计算机（台）"), kind="int", example="120", aliases=("计算机", "教学用计算机")),
    Column("multimedia_classrooms", gettext_noop("网络多媒体教室（间）"), kind="int", example="24", aliases=("网络多媒体教室",)),
    Column("teaching_equipment_value", gettext_noop("教学仪器设备资产值（元）"), kind="decimal", example="2400000.00",
           aliases=("教学仪器设备资产值",)),
    Column("fixed_asset_value", gettext_noop("固定资产总值（元）"), kind="decimal", example="38000000.00", aliases=("固定资产总值",)),
    Column("other_fixed_assets_value", gettext_noop("台账外固定资产值（元）"), kind="decimal",
           help=gettext_noop("仅已建台账的学校填写：房屋、构筑物、土地等不在设备台账中的固定资产")),
)

HOLDINGS_SCHEMA = RowSchema(HOLDINGS_COLUMNS, max_lengths={"school_code": 10})
HOLDINGS_FIGURES = ("books_volumes", "computers_for_teaching", "multimedia_classrooms", "teaching_equipment_value",
                    "fixed_asset_value")
MONEY_FIELDS = ("unit_price", "value", "teaching_equipment_value", "fixed_asset_value", "other_fixed_assets_value")


def _check_money(schema: RowSchema, out: CleanRow, names: tuple[str, ...]) -> None:
    for name in names:
        amount = out.values.get(name)
        if amount is None or out.failed(name):
            continue
        label = gettext(schema.by_field[name].label)  # a column label (gettext_noop above)
        if amount != amount.quantize(CENT):
            out.add(name, amount, gettext("%(label)s「%(amount)s」最多保留两位小数（精确到分）") % {"label": label, "amount": amount})
        elif amount > MAX_MONEY:
            out.add(name, amount, gettext("%(label)s「%(amount)s」超出可记录的范围（最多 12 位整数）") % {"label": label, "amount": amount})


def check_equipment(raw: dict[str, Any], *, today: dt.date, memo: dict | None = None) -> CleanRow:
    """One register line's typed values and every problem with it (cells, then the line's own rules)."""
    out = EQUIPMENT_SCHEMA.clean(raw, memo=memo)
    v = out.values
    _check_money(EQUIPMENT_SCHEMA, out, ("unit_price", "value"))
    if v.get("quantity") == 0 and not out.failed("quantity"):
        out.add("quantity", raw.get("quantity"), gettext("数量须至少为 1"))
    purchased = v.get("purchased_on")
    if purchased is not None and purchased > today:
        out.add("purchased_on", raw.get("purchased_on"), gettext("购置日期「%(purchased)s」晚于今天，不能登记尚未购置的设备") % {"purchased": format(purchased, "%Y-%m-%d")})
    disposed = v.get("disposed_on")
    if disposed is not None:
        if disposed > today:
            out.add("disposed_on", raw.get("disposed_on"), gettext("处置日期「%(disposed)s」晚于今天") % {"disposed": format(disposed, "%Y-%m-%d")})
        elif purchased is not None and disposed < purchased:
            out.add("disposed_on", raw.get("disposed_on"),
                    gettext("处置日期「%(disposed)s」早于购置日期「%(purchased)s」") % {"disposed": format(disposed, "%Y-%m-%d"), "purchased": format(purchased, "%Y-%m-%d")})
    status = v.get("status")
    if status and not out.failed("status") and not out.failed("disposed_on"):
        gone = status in codes.GONE_STATUSES
        status_name = EQUIPMENT_SCHEMA.code_name("status", status)
        if gone and disposed is None:
            out.add("disposed_on", "", gettext("仪器现状为「%(status)s」时须填写处置日期") % {"status": status_name})
        elif not gone and disposed is not None:
            out.add("status", raw.get("status") or status,
                    gettext("填写了处置日期的设备，仪器现状应为丢失、报废或调出，而不是「%(status)s」") % {"status": status_name})
    computable = not any(out.failed(f) for f in ("quantity", "unit_price", "value"))
    if computable and v.get("value") is None and v.get("quantity") is not None and v.get("unit_price") is not None:
        v["value"] = (v["unit_price"] * v["quantity"]).quantize(CENT)
        if v["value"] > MAX_MONEY:
            out.add("value", "", gettext("金额（数量×单价）%(value)s 超出可记录的范围") % {"value": v['value']})
    return out


def check_holdings(raw: dict[str, Any], *, today: dt.date, memo: dict | None = None) -> CleanRow:
    """One typed summary's values and problems; whether the school may type it is the service's check."""
    out = HOLDINGS_SCHEMA.clean(raw, memo=memo)
    v = out.values
    _check_money(HOLDINGS_SCHEMA, out, ("teaching_equipment_value", "fixed_asset_value", "other_fixed_assets_value"))
    year = v.get("year")
    if year is not None and not out.failed("year") and not (1949 <= year <= codes.statistical_year(today)):
        out.add("year", raw.get("year"), gettext("统计年度「%(year)s」无效：应在 1949 至 %(last_year)s 之间") % {"year": year, "last_year": codes.statistical_year(today)})
    teaching, fixed = v.get("teaching_equipment_value"), v.get("fixed_asset_value")
    if (teaching is not None and fixed is not None and not out.failed("fixed_asset_value")
            and not out.failed("teaching_equipment_value") and teaching > fixed):
        out.add("fixed_asset_value", raw.get("fixed_asset_value"),
                gettext("固定资产总值「%(fixed)s」小于教学仪器设备资产值「%(teaching)s」：教学仪器设备是固定资产的一部分") % {"fixed": fixed, "teaching": teaching})
    for name in HOLDINGS_FIGURES + ("other_fixed_assets_value",):
        if v.get(name) is None and name in v:
            v[name] = 0
    return out
