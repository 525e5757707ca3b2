"""Every school's base tables from a snapshot, one workbook per county (a sheet per school): each
school with the tables of its series (基础基, 中职基 or 高基)."""

import re
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from eduplatform.core.spreadsheets import xlsx_workbook
from eduplatform.orgs.models import Region
from eduplatform.stats.basetables import SERIES, BaseTable, school_tables
from eduplatform.stats.models import Snapshot, SnapshotSchool

PROVINCE = "440000000000"


def county_units(root: Region) -> list[Region]:
    """The county-level units under ``root``: its counties, and the cities whose towns sit directly
    under them (东莞, 中山); ``root`` itself at county level or below."""
    if root.level not in ("province", "city"):
        return [root]
    below = Region.objects.filter(path__startswith=root.path, abolished_on__isnull=True)
    counties = list(below.filter(level="county"))
    with_counties = {c.parent_id for c in counties}
    cities = [c for c in below.filter(level="city") if c.pk not in with_counties]
    return sorted(counties + cities, key=lambda r: r.code)


def school_sheet(school: dict, tables: list[BaseTable]) -> tuple[str, list[str], list[list]]:
    """A school's tables one below the other: each its title, its header and its rows."""
    rows: list[list] = []
    for table in tables:
        rows += [[f"{table.code} {table.title}"], ["项目", *table.columns], *[[label, *cells] for label, cells in table.rows],
                 []]
    # Excel sheet names: at most 31 characters (the code keeps them unique), none of []:*?/\
    name = re.sub(r"[\[\]:*?/\\]", "", f"{school['school_code']}{school['name']}")
    return name, ["学校标识码", school["school_code"], "学校名称", school["name"]], rows


class Command(BaseCommand):
    help = "导出快照中每所学校的基表：每个县区一个 Excel 文件，每校一页"

    def add_arguments(self, parser):
        parser.add_argument("--snapshot", type=int, required=True, help="统计快照编号")
        parser.add_argument("--region", default=PROVINCE, help="区划代码（默认全省）")
        parser.add_argument("--out", required=True, help="输出目录")

    def handle(self, *args, snapshot: int, region: str, out: str, **options):
        found = Snapshot.objects.filter(pk=snapshot).first()
        if found is None:
            raise CommandError(f"统计快照 {snapshot} 不存在")
        root = Region.objects.filter(code=region).first()
        if root is None:
            raise CommandError(f"区划代码「{region}」不存在")
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        units = county_units(root)
        started, schools_done = time.perf_counter(), 0
        for n, unit in enumerate(units, start=1):
            began = time.perf_counter()
            names = {s["school_id"]: s for s in SnapshotSchool.objects.filter(
                snapshot=found, region_path__startswith=unit.path).values("school_id", "school_code", "name")}
            sheets = [school_sheet(names[school_id], tables) for series in SERIES
                      for school_id, tables in school_tables(found, under=unit.path, series=series)]
            if not sheets:
                continue
            path = directory / f"{unit.code}_{unit.name}_基表.xlsx"
            path.write_bytes(xlsx_workbook(sheets))
            schools_done += len(sheets)
            self.stdout.write(f"[{n}/{len(units)}] {unit.name}：{len(sheets)} 所学校 → {path.name}"
                              f"（{time.perf_counter() - began:.1f} 秒）")
        elapsed = time.perf_counter() - started
        self.stdout.write(f"基表导出完成：{schools_done} 所学校，{elapsed:.1f} 秒"
                          f"（{schools_done / elapsed if elapsed else 0:.0f} 所/秒），目录 {directory}")


