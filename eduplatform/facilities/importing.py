"""The two spreadsheet imports of this app, served by the shared import pages at
``/imports/buildings/`` and ``/imports/land/``: their columns, row checks and writing services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from eduplatform.core.rows import CleanRow
from eduplatform.facilities import services
from eduplatform.facilities.schema import BUILDING_SCHEMA, LAND_SCHEMA, check_building, check_land
from eduplatform.imports.registry import ImportContext, ImportKind
from eduplatform.orgs import capabilities

BUILDING_INSTRUCTIONS = (
    gettext_lazy("每行填写一栋建筑物（校舍、围墙、校门等）；带 * 的列为必填。"),
    gettext_lazy("建筑物编号在本校内唯一；新建筑物请使用新编号，已拆除建筑物的编号不能再用。已有编号的行是否修改原建筑物，"
    "由上传时选择的“新增或更新”方式决定（默认只新增，不修改已有记录）；内容相同的行记为“无变化”。"),
    gettext_lazy("面积单位为平方米，不能为负数。教学及辅助用房、行政办公用房、生活用房、其他用房四列是建筑面积中各用途的面积，"
    "之和不能超过建筑面积；未分到各用途的部分计入“建筑物用途”所属的类别。"),
    gettext_lazy("建筑物状况：危房按 JGJ 125《危险房屋鉴定标准》鉴定等级填写 A级危房 至 D级危房（也可填 A、B、C、D 级）。"),
    gettext_lazy("代码列可填写代码、名称或“代码-名称”，下拉框中可直接选择；日期可写作 2019-06-30、2019/6/30 或 20190630。"),
)
LAND_INSTRUCTIONS = (
    gettext_lazy("每行填写一宗土地（地块）；带 * 的列为必填。"),
    gettext_lazy("面积单位为平方米，不能为负数；体育场地与绿化用地面积之和不能超过占地面积。"),
    gettext_lazy("地块按土地证号（不动产权证号）识别，没有证号的按地块名称（坐落）识别：再次导入同一地块不会重复新增；"
    "是否修改已有地块由上传时选择的“新增或更新”方式决定。同一学校的在用地块名称不能重复。"),
    gettext_lazy("代码列可填写代码、名称或“代码-名称”，下拉框中可直接选择。"),
)


def check_building_row(raw: dict[str, Any], context: ImportContext) -> CleanRow:
    return check_building(raw, today=context.today, memo=context.memo)


def check_land_row(raw: dict[str, Any], context: ImportContext) -> CleanRow:
    return check_land(raw, today=context.today, memo=context.memo)


BUILDINGS = ImportKind(
    key="buildings", label=gettext_lazy("校舍（建筑物）"), schema=BUILDING_SCHEMA, check_row=check_building_row,
    write=services.import_buildings, can_write=services.can_write_unit, capability=capabilities.EDIT_FACILITIES,
    instructions=BUILDING_INSTRUCTIONS, list_url="facilities:list", nav_slug="buildings",
)
LAND = ImportKind(
    key="land", label=gettext_lazy("土地"), schema=LAND_SCHEMA, check_row=check_land_row, write=services.import_parcels,
    can_write=services.can_write_unit, capability=capabilities.EDIT_FACILITIES, instructions=LAND_INSTRUCTIONS,
    list_url="facilities:land", nav_slug="buildings",
)
