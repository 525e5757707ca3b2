"""Builders shared by the land and building tests: raw rows as a form or a spreadsheet gives them."""

from __future__ import annotations

from typing import Any

BUILDING_HEADERS = ["建筑物编号", "建筑物名称", "建筑物用途", "建筑结构", "地上层数", "建成年份", "建筑面积",
                    "教学及辅助用房面积", "行政办公用房面积", "生活用房面积", "其他用房面积", "产权", "建筑物状况",
                    "抗震鉴定日期"]
BUILDING_FIELDS = ["number", "name", "use_code", "structure", "floors_above", "built_year", "total_area",
                   "teaching_area", "admin_area", "living_area", "other_area", "property_right", "condition",
                   "appraised_on"]
LAND_HEADERS = ["地块名称（坐落）", "土地证号", "占地面积", "其中体育场地面积", "其中绿化用地面积", "产权", "取得日期"]
LAND_FIELDS = ["name", "certificate_number", "area", "sports_area", "green_area", "property_right", "acquired_on"]


def building_row(seq: int = 1, **overrides: Any) -> dict[str, str]:
    row = {
        "number": f"JZ{seq:03d}", "name": f"{seq}号教学楼", "use_code": "11", "structure": "4", "floors_above": "5",
        "built_year": "2008", "total_area": "3000", "teaching_area": "2400", "admin_area": "300", "living_area": "",
        "other_area": "", "property_right": "1", "condition": "10", "appraised_on": "2019-06-30",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def land_row(seq: int = 1, **overrides: Any) -> dict[str, str]:
    row = {
        "name": f"第{seq}地块", "certificate_number": f"粤(2018)广州市不动产权第{seq:07d}号", "area": "20000",
        "sports_area": "8000", "green_area": "5000", "property_right": "1", "acquired_on": "2001-09-01",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def building_cells(row: dict[str, str]) -> list[str]:
    return [row[f] for f in BUILDING_FIELDS]


def land_cells(row: dict[str, str]) -> list[str]:
    return [row[f] for f in LAND_FIELDS]
