from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AssetsConfig(AppConfig):
    name = "eduplatform.assets"
    label = "assets"
    verbose_name = gettext_lazy("资产与仪器设备")

    def ready(self) -> None:
        from eduplatform.assets import schema, services
        from eduplatform.imports.registry import ImportKind, register
        from eduplatform.orgs import capabilities

        register(ImportKind(
            key="equipment", label=gettext_lazy("仪器设备"), schema=schema.EQUIPMENT_SCHEMA,
            check_row=services.check_equipment_row, write=services.write_equipment_rows,
            can_write=services.can_write_assets, capability=capabilities.EDIT_ASSETS,
            instructions=(
                gettext_lazy("每行填写一条设备台账记录（同批购入的同型号设备可合并为一行，填写数量）；带 * 的列为必填。"),
                gettext_lazy("资产编号在本校内唯一：文件中的编号已登记时，该行会更新原记录。"),
                gettext_lazy("金额留空时按 数量×单价 计算；数量、单价、金额不能为负数，金额精确到分。"),
                gettext_lazy("购置日期不能晚于今天；仪器现状为丢失、报废、调出时须填写处置日期。"),
                gettext_lazy("使用方向为教学或科研的设备（图书、家具除外）计入教学仪器设备资产值。"),
            ),
            list_url="assets:list", nav_slug="assets",
        ))
        register(ImportKind(
            key="holdings", label=gettext_lazy("资产汇总"), schema=schema.HOLDINGS_SCHEMA,
            check_row=services.check_holdings_row, write=services.write_holdings_rows,
            can_write=services.can_write_assets, capability=capabilities.EDIT_ASSETS,
            unit_kinds=frozenset({"school", "bureau"}),
            instructions=(
                gettext_lazy("每行填写一所学校一个统计年度的资产汇总（统计时点为该年9月1日）；县（区）教育局导入时须填写学校标识码。"),
                gettext_lazy("已建立仪器设备台账的学校，当前年度及由台账汇总的年度只能填写“台账外固定资产值”，其余数字由台账汇总。"),
                gettext_lazy("教学仪器设备资产值不能大于固定资产总值。"),
            ),
            list_url="assets:holdings", nav_slug="assets",
        ))
