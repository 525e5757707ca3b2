"""The columns of a land parcel and of a building: one list each, used by the import template, the
spreadsheet reader, the record forms and the services (one source of fields, labels and messages).

Code columns read the national tables (JY/T 1001-2012, ``data/reference``). Three small lists are
not in those tables and are kept here with stable codes of our own: 自有或租借 (512's 租借面积
column), 抗震鉴定结论 and the four 512 use categories the floor area is split into.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext, gettext_noop

from eduplatform.core.imports import Column
from eduplatform.core.rows import CleanRow, RowSchema
from eduplatform.facilities.models import Tenure

EARLIEST_YEAR = 1900  # older school buildings exist (祠堂, 书院) but are recorded as 1900 at the latest
MAX_FLOORS_ABOVE = 100
MAX_FLOORS_BELOW = 10
MAX_AREA = decimal.Decimal(100_000_000)  # 100 km²: more is a unit mistake (亩, 公顷), not a school
CENT = decimal.Decimal("0.01")

# The four use categories of 基础基512, in its row order: (key, label, area field).
USE_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("teaching", "教学及辅助用房", "teaching_area"),
    ("admin", "行政办公用房", "admin_area"),
    ("living", "生活用房", "living_area"),
    ("other", "其他用房", "other_area"),
)
AREA_FIELDS = tuple(f for _k, _l, f in USE_CATEGORIES)
# building_use 15 体育活动室: the 体育馆 whose floor area, with the sports grounds, makes the 体育运动场馆
# area of 生均体育运动场馆面积 (DOMAIN §3).
GYM_USE = "15"
# building_use top-level codes (10 教学及辅助用房, 20 生活用房, 30 行政办公用房, 40/51 其他) → category.
_CATEGORY_OF_USE_DIGIT = {"1": "teaching", "2": "living", "3": "admin"}

SEISMIC_RESULTS = (("1", "达到抗震设防要求"), ("2", "未达到，需加固"), ("3", "未达到，需拆除重建"))


def use_category(use_code: str) -> str:
    """The 512 category of a building_use code (its first digit names the top level)."""
    return _CATEGORY_OF_USE_DIGIT.get((use_code or "")[:1], "other")


BUILDING_COLUMNS: tuple[Column, ...] = (
    Column("number", gettext_noop("建筑物编号"), required=True, aliases=("编号", "校舍编号"), example="JZ001",
           help=gettext_noop("本校内唯一，如 JZ001；已有编号的行按所选“新增或更新”方式处理")),
    Column("name", gettext_noop("建筑物名称"), required=True, aliases=("校舍名称", "名称", "建筑名称"), example="1号教学楼", width=18),
    Column("building_class", gettext_noop("建筑物分类"), kind="code", example="1-房屋建筑", help=gettext_noop("不填为 房屋建筑")),
    Column("use_code", gettext_noop("建筑物用途"), required=True, kind="code", aliases=("用途",), example="11-教学楼"),
    Column("structure", gettext_noop("建筑结构"), required=True, kind="code", aliases=("结构", "建筑物结构"), example="4-框架结构"),
    Column("floors_above", gettext_noop("地上层数"), kind="int", aliases=("层数", "楼层数"), example="5"),
    Column("floors_below", gettext_noop("地下层数"), kind="int", example="0"),
    Column("built_year", gettext_noop("建成年份"), required=True, kind="int", aliases=("建成年度", "竣工年份"), example="2008",
           help=gettext_noop("四位年份，如 2008")),
    Column("total_area", gettext_noop("建筑面积"), required=True, kind="decimal", aliases=("总建筑面积", "建筑面积合计"),
           example="4200", help=gettext_noop("平方米，不能为负数")),
    Column("teaching_area", gettext_noop("教学及辅助用房面积"), kind="decimal", aliases=("教学及辅助用房", "其中教学及辅助用房"),
           example="3600",
           help=gettext_noop("其中用作教学及辅助用房的面积（平方米）；各用途面积之和不能超过建筑面积，未分到各用途的部分计入建筑物用途所属类别")),
    Column("admin_area", gettext_noop("行政办公用房面积"), kind="decimal", aliases=("行政办公用房", "其中行政办公用房"), example="600"),
    Column("living_area", gettext_noop("生活用房面积"), kind="decimal", aliases=("生活用房", "其中生活用房"), example=""),
    Column("other_area", gettext_noop("其他用房面积"), kind="decimal", aliases=("其他用房", "其中其他用房"), example=""),
    Column("property_right", gettext_noop("产权"), required=True, kind="code", aliases=("产权情况",), example="1-学校独立产权"),
    Column("tenure", gettext_noop("自有或租借"), kind="code", aliases=("是否租借",), example="1-自有", help=gettext_noop("不填为 自有")),
    Column("condition", gettext_noop("建筑物状况"), kind="code", aliases=("危房等级", "校舍状况"), example="10-正常",
           help=gettext_noop("危房按 JGJ 125 鉴定等级填写 A–D 级危房；不填为 正常")),
    Column("in_use", gettext_noop("是否在用"), kind="bool", example="是", help=gettext_noop("不填为 是")),
    Column("safety_inspection", gettext_noop("安全排查结论"), kind="code", example="1-安全"),
    Column("seismic_category", gettext_noop("抗震设防类别"), kind="code", example="2-重点设防类"),
    Column("seismic_intensity", gettext_noop("抗震设防烈度"), kind="code", example="3-抗震设防烈度为7度"),
    Column("appraised_on", gettext_noop("抗震鉴定日期"), kind="date", example="2019-06-30"),
    Column("seismic_result", gettext_noop("抗震鉴定结论"), kind="code", example="1-达到抗震设防要求"),
    Column("fire_resistance", gettext_noop("耐火等级"), kind="code", aliases=("消防耐火等级",), example="2-二级"),
    Column("fire_accepted", gettext_noop("通过消防验收"), kind="bool", example="是"),
    Column("notes", gettext_noop("备注"), width=24),
)

BUILDING_SCHEMA = RowSchema(
    BUILDING_COLUMNS,
    # Short forms (钢混, 宿舍, 饭堂, A级 …) are in data/reference/code_synonyms.csv under these keys.
    code_tables={
        "building_class": "building_class",
        "use_code": "building_use",
        "structure": "building_structure",
        "property_right": "property_right",
        "tenure": "building_tenure",
        "condition": "building_condition",
        "safety_inspection": "safety_inspection_result",
        "seismic_category": "seismic_fortification_category",
        "seismic_intensity": "seismic_intensity",
        "seismic_result": "seismic_result",
        "fire_resistance": "fire_resistance_grade",
    },
    extra_choices={"tenure": Tenure.choices, "seismic_result": SEISMIC_RESULTS},
    defaults={"building_class": "1", "tenure": Tenure.OWNED.value, "condition": "10", "in_use": True,
              **{f: decimal.Decimal(0) for f in AREA_FIELDS}},
    max_lengths={"number": 30, "name": 100, "notes": 500},
)

LAND_COLUMNS: tuple[Column, ...] = (
    Column("name", gettext_noop("地块名称（坐落）"), required=True, aliases=("地块名称", "坐落", "坐落位置"), example="主校区", width=18),
    Column("certificate_number", gettext_noop("土地证号"), aliases=("不动产权证号", "土地使用证号"), example="粤(2018)广州市不动产权第0001号",
           width=22, help=gettext_noop("地块按土地证号识别（没有证号按地块名称识别）")),
    Column("area", gettext_noop("占地面积"), required=True, kind="decimal", aliases=("土地面积",), example="24000",
           help=gettext_noop("平方米，不能为负数")),
    Column("sports_area", gettext_noop("其中体育场地面积"), kind="decimal", aliases=("体育场地面积", "运动场地面积"), example="8000"),
    Column("green_area", gettext_noop("其中绿化用地面积"), kind="decimal", aliases=("绿化用地面积",), example="6000"),
    Column("property_right", gettext_noop("产权"), required=True, kind="code", aliases=("产权情况",), example="1-学校独立产权"),
    Column("acquisition_mode", gettext_noop("取得方式"), kind="code", example="1-购置"),
    Column("acquired_on", gettext_noop("取得日期"), kind="date", example="2001-09-01"),
    Column("notes", gettext_noop("备注"), width=24),
)

LAND_SCHEMA = RowSchema(
    LAND_COLUMNS,
    code_tables={"property_right": "property_right", "acquisition_mode": "acquisition_mode"},
    defaults={"sports_area": decimal.Decimal(0), "green_area": decimal.Decimal(0)},
    max_lengths={"name": 200, "certificate_number": 60, "notes": 500},
)

BUILDING_LABELS = {c.field: c.label for c in BUILDING_COLUMNS} | {
    "demolished_on": gettext_noop("拆除日期"), "demolition_reason": gettext_noop("拆除原因")}
LAND_LABELS = {c.field: c.label for c in LAND_COLUMNS} | {"retired_on": gettext_noop("注销日期"),
                                                          "retired_reason": gettext_noop("注销原因")}


def area_text(value: decimal.Decimal | None) -> str:
    """An area as people write it: thousands separators, no trailing zeros (1,200.5)."""
    if value is None:
        return ""
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _bound_areas(clean: CleanRow, raw: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    """Areas rounded to the square centimetre the columns keep, and not absurdly large."""
    for name in fields:
        value = clean.values.get(name)
        if value is None:
            continue
        if value >= MAX_AREA:
            clean.add(name, raw.get(name), gettext("面积「%(area)s」不合理，单位应为平方米") % {"area": area_text(value)})
        else:
            clean.values[name] = value.quantize(CENT)


def check_building(raw: Mapping[str, Any], *, today: dt.date, memo: dict | None = None) -> CleanRow:
    """One building's values and problems: each column, then the rules between columns."""
    clean = BUILDING_SCHEMA.clean(raw, memo=memo)
    _bound_areas(clean, raw, ("total_area", *AREA_FIELDS))
    v = clean.values
    year = v.get("built_year")
    if year is not None and not clean.failed("built_year") and not EARLIEST_YEAR <= year <= today.year:
        clean.add("built_year", raw.get("built_year"),
                  gettext("建成年份「%(year)s」不合理，应在 %(earliest)s 至 %(year2)s 年之间") % {"year": year, "earliest": EARLIEST_YEAR, "year2": today.year})
    if (v.get("floors_above") or 0) > MAX_FLOORS_ABOVE:
        clean.add("floors_above", raw.get("floors_above"), gettext("地上层数「%(floors_above)s」不合理，最多 %(most)s 层") % {"floors_above": v['floors_above'], "most": MAX_FLOORS_ABOVE})
    if (v.get("floors_below") or 0) > MAX_FLOORS_BELOW:
        clean.add("floors_below", raw.get("floors_below"), gettext("地下层数「%(floors_below)s」不合理，最多 %(most)s 层") % {"floors_below": v['floors_below'], "most": MAX_FLOORS_BELOW})
    total = v.get("total_area")
    if total is not None and not clean.failed("total_area"):
        if total == 0 and v.get("building_class") == "1":
            clean.add("total_area", raw.get("total_area"), gettext("房屋建筑的建筑面积必须大于 0"))
        parts = [(label, v.get(f)) for _k, label, f in USE_CATEGORIES if v.get(f)]
        if not any(clean.failed(f) for f in AREA_FIELDS) and sum(p for _l, p in parts) > total:
            listed = " + ".join(f"{label} {area_text(p)}" for label, p in parts)
            clean.add("total_area", raw.get("total_area"),
                      gettext("各用途面积之和 %(area)s ㎡（%(listed)s）超过建筑面积 %(area2)s ㎡，请核对") % {"area": area_text(sum(p for _l, p in parts)), "listed": listed, "area2": area_text(total)})
    appraised = v.get("appraised_on")
    if appraised is not None:
        if appraised > today:
            clean.add("appraised_on", raw.get("appraised_on"), gettext("抗震鉴定日期「%(date)s」晚于今天") % {"date": appraised.isoformat()})
        elif year is not None and not clean.failed("built_year") and appraised.year < year:
            clean.add("appraised_on", raw.get("appraised_on"),
                      gettext("抗震鉴定日期「%(date)s」早于建成年份 %(year)s 年") % {"date": appraised.isoformat(), "year": year})
    return clean


def check_land(raw: Mapping[str, Any], *, today: dt.date, memo: dict | None = None) -> CleanRow:
    """One parcel's values and problems: each column, then the parts against the whole."""
    clean = LAND_SCHEMA.clean(raw, memo=memo)
    _bound_areas(clean, raw, ("area", "sports_area", "green_area"))
    v = clean.values
    area = v.get("area")
    if area is not None and not clean.failed("area"):
        if area == 0:
            clean.add("area", raw.get("area"), gettext("占地面积必须大于 0"))
        sports, green = v.get("sports_area") or 0, v.get("green_area") or 0
        if not clean.failed("sports_area") and not clean.failed("green_area") and sports + green > area:
            clean.add("area", raw.get("area"),
                      gettext("体育场地面积 %(area)s ㎡ 与绿化用地面积 %(area2)s ㎡ 之和超过占地面积 %(area3)s ㎡，请核对") % {"area": area_text(sports), "area2": area_text(green), "area3": area_text(area)})
    acquired = v.get("acquired_on")
    if acquired is not None and (acquired > today or acquired.year < EARLIEST_YEAR):
        clean.add("acquired_on", raw.get("acquired_on"),
                  gettext("取得日期「%(date)s」不合理，应在 %(earliest)s 年至今天之间") % {"date": acquired.isoformat(), "earliest": EARLIEST_YEAR})
    return clean
