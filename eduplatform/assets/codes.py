"""The code lists of the equipment register and the rules that turn the register into the school's
summary holdings (基础基522 资产: 图书, 计算机, 网络多媒体教室, 教学仪器设备资产值, 固定资产总值).

Equipment categories are our own codes: the national 教育装备分类与代码 is not among the reference
tables in data/reference, so a short list covering what 基础基522 asks for is defined here (the codes
are stable; names may be refined). The other code columns use the national JY/T 1001 tables in
asset_codes.csv (funding_source, acquisition_mode, equipment_use_direction, equipment_status).

Rules (docs/assets.md repeats them for users):

* An item is *held* (on the books) unless it was disposed of: its status is 丢失/报废/调出 (5/6/7), which
  always comes with a disposal date. Held items count toward values and books whatever their
  condition (闲置, 待修, 待报废 and 降档 items are still assets of the school).
* An item is *teaching equipment* (for_teaching) when its use direction is 教学 (1) or 科研 (2) —
  the HEI indicator counts 教学科研仪器设备 (教发〔2004〕2号) and schools seldom record 科研 — and its
  category is an instrument or device: books and furniture are never 教学仪器设备.
* 教学仪器设备资产值 = Σ value of held teaching equipment.
* 教学用计算机 (台) = Σ quantity of category 01 items that are teaching equipment and 在用 (1): a
  broken or idle computer is not available to pupils.
* 网络多媒体教室 (间) = Σ quantity of category 03 sets (one set equips one classroom), teaching, 在用.
* 图书 (册) = Σ quantity of held category 07 items (a purchase batch of books is one row).
* 固定资产总值 = Σ value of every held item + the typed value of fixed assets outside this register
  (buildings, structures, land: ``other_fixed_assets_value``).
"""

from __future__ import annotations

import datetime as dt

COMPUTERS = "01"
MULTIMEDIA_SETS = "03"
BOOKS = "07"
FURNITURE = "08"

CATEGORIES: tuple[tuple[str, str], ...] = (
    (COMPUTERS, "计算机（台式机、笔记本、平板）"),
    ("02", "网络与服务器设备"),
    (MULTIMEDIA_SETS, "网络多媒体教室成套设备"),
    ("04", "实验仪器"),
    ("05", "体育器材"),
    ("06", "音乐美术器材"),
    (BOOKS, "图书"),
    (FURNITURE, "办公与教学家具"),
    ("09", "其他设备"),
)
NOT_EQUIPMENT = frozenset({BOOKS, FURNITURE})

# equipment_use_direction codes that make an item teaching equipment: 教学, 科研.
TEACHING_DIRECTIONS = frozenset({"1", "2"})
IN_USE = "1"  # equipment_status 在用
# equipment_status codes of items no longer held: 丢失, 报废, 调出.
GONE_STATUSES = frozenset({"5", "6", "7"})
DEFAULT_STATUS = IN_USE
DEFAULT_DIRECTION = "1"
DEFAULT_ACQUISITION = "1"  # 购置
DEFAULT_FUNDING = "1"  # 财政拨款


def category_name(code: str) -> str:
    return dict(CATEGORIES).get(code, code)


def is_teaching_equipment(category: str, use_direction: str) -> bool:
    return use_direction in TEACHING_DIRECTIONS and category not in NOT_EQUIPMENT


def census_date(year: int) -> dt.date:
    """统计时点 of a statistical year: 本学年初 9月1日 (DOMAIN.md §2.1)."""
    return dt.date(year, 9, 1)


def statistical_year(on: dt.date) -> int:
    """The year whose census date is the latest on or before ``on``."""
    return on.year if on >= census_date(on.year) else on.year - 1
