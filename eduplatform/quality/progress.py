"""Database-building progress (建库进度): per region (or school) and base database, how many
institutions are expected to keep the database, how many have data, how many records there are,
how complete they are, when they last changed and how many quality issues are open.

Every figure is defined once here (``FIGURES``: label and meaning, shown as the pages' tooltips and
in docs/progress.md) and read live, so a write shows right after its commit:

- **expected** (应建学校) — the open schools of the organization register in the region
  (``orgs.Organization``, kind school, open). Every open school is expected to keep every
  base database: its identity (学校), its students, its staff, its buildings and its equipment or
  asset summary. The platform has no exemption list, so a school that truly has no buildings of its
  own (a rented kindergarten) shows as lagging; that is what the county checks.
- **with data** (已建学校) and **records** (记录数) — from the tables the statistics already keep
  per school (refreshed right after every commit, ``stats.rollup``): students = 在校生 (active
  enrolments, ``SchoolFundingRollup`` per school and stage), staff = 教职工 by its one definition
  (without 代课 and 兼任, ``SchoolQuota.actual``), buildings = standing buildings
  (``BuildingRollup``), the school register = the open schools themselves. The equipment register
  has no roll-up: its items are counted from the register (``assets.Equipment``, not disposed);
  a school with an asset summary (``AssetRollup.has_holdings``) but no register also has data.
- **complete** (必填项完整率) — the share of those records whose required fields
  (``quality.required``, the one definition the completeness rules use too) are all filled. Counted as
  records *missing* something, per school, database and stage in ``stats.IncompleteRollup``, which
  the roll-up refresh rewrites for a school right after every commit that touches it (from the
  partial indexes that hold only the incomplete records).
- **last update** (最近更新) — the latest change-feed entry of the database's resources in the
  region: every write through a service leaves one (bulk-loaded records leave none).
- **open issues** (未关闭问题) — live ``QualityIssue`` rows (every status but 已消除) of the database,
  by severity.

Every read goes through ``orgs.scope.scoped`` with the reader's jurisdiction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, F, Max, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from eduplatform.orgs.models import Organization, Region
from eduplatform.orgs.scope import scoped
from eduplatform.quality.models import LIVE_STATUSES, Database, QualityIssue, Severity
from eduplatform.quality.required import REQUIRED, missing, records, school_field

# The record databases (the school register is the fifth, with one record per school).
RECORD_DATABASES = (Database.STUDENTS, Database.STAFF, Database.FACILITIES, Database.ASSETS)
DATABASES = (Database.SCHOOLS, *RECORD_DATABASES)
DATABASE_LABELS = dict(Database.choices)

# Each figure's label and meaning: the pages' column headers and tooltips, and docs/progress.md.
FIGURES: dict[str, tuple[str, str]] = {
    "expected": (_("应建学校"), _("区域内组织机构库中正常办学的学校数：每所学校都应建立学校、学生、教职工、校舍和资产五个基础库")),
    "with_data": (_("已建学校"), _("该基础库已有数据的学校数（学生：有在校生；教职工：有在岗教职工；校舍：有在用建筑物；资产：有设备台账或资产汇总）")),
    "coverage": (_("建库率"), _("已建学校 ÷ 应建学校")),
    "records": (_("记录数"), _("学生为在校生（在读、休学），教职工为在岗教职工（不含代课、兼任），校舍为未拆除的建筑物，资产为未处置的设备台账条目，学校库为学校本身")),
    "complete": (_("必填项完整率"), _("必填项全部填写的记录 ÷ 记录数（必填项与数据质量的“必填项缺失”规则相同，见数据质量规则页）")),
    "last_update": (_("最近更新"), _("该基础库在区域内最近一次经平台写入的时间（变更流）；批量初始化的数据无此记录")),
    "errors": (_("未关闭错误"), _("该基础库未消除（待整改、待确认、已确认保留）的错误级问题数")),
    "warnings": (_("未关闭警告"), _("该基础库未消除的警告级问题数")),
    "progress": (_("建库进度"), _("四个记录库（学生、教职工、校舍、资产）已建学校之和 ÷ 应建学校之和")),
}

# The change-feed resources of each database (what "last update" reads).
FEED_RESOURCES: dict[str, tuple[str, ...]] = {
    Database.SCHOOLS: ("school",),
    Database.STUDENTS: ("student", "class"),
    Database.STAFF: ("staff",),
    Database.FACILITIES: ("building", "land_parcel"),
    Database.ASSETS: ("equipment", "asset_holdings"),
}


@dataclass
class Cell:
    """One region's (or school's) figures for one database."""

    expected: int = 0
    with_data: int = 0
    records: int = 0
    incomplete: int = 0
    last_update: dt.datetime | None = None
    errors: int = 0
    warnings: int = 0

    @property
    def coverage(self) -> float | None:
        return None if not self.expected else round(100 * min(self.with_data, self.expected) / self.expected, 1)

    @property
    def complete(self) -> float | None:
        return None if not self.records else round(100 * (self.records - min(self.incomplete, self.records))
                                                   / self.records, 1)


@dataclass
class Row:
    key: str  # the region's path or the school's id
    name: str
    code: str  # region code or 学校标识码
    school_id: int | None = None
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def progress(self) -> float | None:
        expected = sum(self.cells[d].expected for d in RECORD_DATABASES)
        with_data = sum(min(self.cells[d].with_data, self.cells[d].expected) for d in RECORD_DATABASES)
        return None if not expected else round(100 * with_data / expected, 1)

    @property
    def record_cells(self) -> list[Cell]:
        return [self.cells[d] for d in RECORD_DATABASES]

    @property
    def all_cells(self) -> list[tuple[str, Cell]]:
        return [(DATABASE_LABELS[d], self.cells[d]) for d in DATABASES]

    @property
    def last_update(self) -> dt.datetime | None:
        found = [c.last_update for c in self.cells.values() if c.last_update]
        return max(found) if found else None

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.cells.values())

    @property
    def warnings(self) -> int:
        return sum(c.warnings for c in self.cells.values())


class _Grouping:
    """How rows are keyed: by a child region (the first ``length`` characters of the path — one
    length per group of children) or by school."""

    def __init__(self, lengths: Iterable[int] | None) -> None:
        self.lengths = sorted(set(lengths)) if lengths is not None else None

    def values(self, qs: QuerySet, path: str = "region_path", school: str = "school_id") -> Iterable[tuple[QuerySet, str]]:
        """(grouped queryset, key field name) per path length, or once by school."""
        if self.lengths is None:
            yield qs.values(k=F(school)), "k"
            return
        for length in self.lengths:
            yield qs.annotate(k=Substr(path, 1, length)).values("k"), "k"


def _fold(target: dict, key, database: str, **values) -> None:
    cell = target.setdefault(str(key), {}).setdefault(database, Cell())
    for name, value in values.items():
        if name == "last_update":
            if value and (cell.last_update is None or value > cell.last_update):
                cell.last_update = value
        else:
            setattr(cell, name, getattr(cell, name) + int(value or 0))


def figures(actor, grouping: _Grouping) -> dict[str, dict[str, Cell]]:
    """Key → database → Cell, for everything in the actor's scope (its focus included)."""
    from eduplatform.assets.models import Equipment
    from eduplatform.history.models import ChangeFeedEntry
    from eduplatform.orgs.models import OrgKind
    from eduplatform.stats.models import AssetRollup, BuildingRollup, IncompleteRollup
    from eduplatform.stats.quota_models import SchoolFundingRollup, SchoolQuota

    out: dict[str, dict[str, Cell]] = {}
    # Expected, and the school register itself (its records are the open schools).
    schools = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True), actor)
    for qs, k in grouping.values(schools, school="pk"):
        for r in qs.annotate(n=Count("pk"), gap=Count("pk", filter=missing(Database.SCHOOLS))).order_by():
            for database in DATABASES:
                _fold(out, r[k], database, expected=r["n"])
            _fold(out, r[k], Database.SCHOOLS, with_data=r["n"], records=r["n"], incomplete=r["gap"])
    # With data and records, from the per-school tables the roll-up refresh keeps.
    for qs, k in grouping.values(scoped(SchoolFundingRollup.objects.filter(enrolled__gt=0), actor)):
        for r in qs.annotate(n=Sum("enrolled"), s=Count("school_id", distinct=True)).order_by():
            _fold(out, r[k], Database.STUDENTS, with_data=r["s"], records=r["n"])
    for qs, k in grouping.values(scoped(SchoolQuota.objects.filter(actual__gt=0), actor)):
        for r in qs.annotate(n=Sum("actual"), s=Count("pk")).order_by():
            _fold(out, r[k], Database.STAFF, with_data=r["s"], records=r["n"])
    for qs, k in grouping.values(scoped(BuildingRollup.objects.filter(buildings__gt=0), actor)):
        for r in qs.annotate(n=Sum("buildings"), s=Count("pk")).order_by():
            _fold(out, r[k], Database.FACILITIES, with_data=r["s"], records=r["n"])
    # Assets: the register's items; a school has data with items or with a summary of the year.
    held: dict[str, set[int]] = defaultdict(set)
    for qs, k in grouping.values(scoped(records(Database.ASSETS), actor)):
        for r in qs.annotate(n=Count("pk")).order_by():
            _fold(out, r[k], Database.ASSETS, records=r["n"])
    for qs, k in grouping.values(scoped(Equipment.objects.filter(disposed_on__isnull=True), actor)):
        for r in qs.values(k, "school_id").distinct().order_by():
            held[str(r[k])].add(r["school_id"])
    for qs, k in grouping.values(scoped(AssetRollup.objects.filter(has_holdings=True), actor)):
        for r in qs.values(k, "school_id").order_by():
            held[str(r[k])].add(r["school_id"])
    for key, ids in held.items():
        _fold(out, key, Database.ASSETS, with_data=len(ids))
    # Incomplete records: from their per-school roll-up (kept with the others right after every commit).
    for qs, k in grouping.values(scoped(IncompleteRollup.objects.all(), actor)):
        for r in qs.values(k, "database").annotate(n=Sum("incomplete")).order_by():
            _fold(out, r[k], r["database"], incomplete=r["n"])
    # Last update: the change feed.
    resource_of = {res: db for db, resources in FEED_RESOURCES.items() for res in resources}
    feed = scoped(ChangeFeedEntry.objects.filter(resource__in=sorted(resource_of)), actor)
    for qs, k in grouping.values(feed):
        for r in qs.values(k, "resource").annotate(at=Max("occurred_at")).order_by():
            _fold(out, r[k], resource_of[r["resource"]], last_update=r["at"])
    # Open issues by severity.
    issues = scoped(QualityIssue.objects.filter(status__in=LIVE_STATUSES), actor)
    for qs, k in grouping.values(issues):
        for r in qs.values(k, "database", "severity").annotate(n=Count("pk")).order_by():
            name = "errors" if r["severity"] == Severity.ERROR else "warnings"
            _fold(out, r[k], r["database"], **{name: r["n"]})
    return out


def _cells(found: dict[str, Cell] | None) -> dict[str, Cell]:
    found = found or {}
    return {d: found.get(d, Cell()) for d in DATABASES}


def child_rows(actor, region: Region) -> list[Row]:
    """Each child region of ``region`` with its figures (the actor's scope applied)."""
    children = list(Region.objects.filter(parent=region, path__startswith=region.path,
                                          abolished_on__isnull=True).order_by("code"))
    found = figures(_Focused(actor, region.path), _Grouping(len(c.path) for c in children)) if children else {}
    return [Row(key=c.path, name=c.name, code=c.code, cells=_cells(found.get(c.path))) for c in children]


def school_rows(actor, region: Region) -> list[Row]:
    """Each open school under ``region`` (in scope) with its figures."""
    from eduplatform.orgs.models import OrgKind

    found = figures(_Focused(actor, region.path), _Grouping(None))
    schools = scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True,
                                                 region_path__startswith=region.path), actor)
    return [Row(key=str(s["pk"]), name=s["name"], code=s["school_code"], school_id=s["pk"],
                cells=_cells(found.get(str(s["pk"]))))
            for s in schools.values("pk", "name", "school_code").order_by("name", "pk")]


def region_total(actor, region: Region) -> Row:
    """The figures of ``region`` itself."""
    found = figures(_Focused(actor, region.path), _Grouping([len(region.path)]))
    return Row(key=region.path, name=region.name, code=region.code, cells=_cells(found.get(region.path)))


def total_of(region: Region, rows: list[Row]) -> Row:
    """The figures of ``region`` as the sum of its rows (children or schools: every school lies in
    exactly one of them), so a page does not read everything twice."""
    total = Row(key=region.path, name=region.name, code=region.code, cells=_cells(None))
    for row in rows:
        for database, cell in row.cells.items():
            into = total.cells[database]
            for name in ("expected", "with_data", "records", "incomplete", "errors", "warnings"):
                setattr(into, name, getattr(into, name) + getattr(cell, name))
            if cell.last_update and (into.last_update is None or cell.last_update > into.last_update):
                into.last_update = cell.last_update
    return total


def school_detail(actor, school: Organization) -> tuple[Row, dict[str, list[tuple[str, int]]]]:
    """One school's figures, and per database how many of its records lack each required field."""
    found = figures(_Focused(actor, school.region_path, school_id=school.pk), _Grouping(None))
    row = Row(key=str(school.pk), name=school.name, code=school.school_code, school_id=school.pk,
              cells=_cells(found.get(str(school.pk))))
    gaps: dict[str, list[tuple[str, int]]] = {}
    for database in RECORD_DATABASES:
        mine = scoped(records(database).filter(**{school_field(database): school.pk}), actor)
        counts = mine.aggregate(**{f.name: Count("pk", filter=f.missing) for f in REQUIRED[database]})
        gaps[database] = [(str(f.label), counts[f.name] or 0) for f in REQUIRED[database]]
    return row, gaps


class _Focused:
    """The actor, looking at a region (or one school) inside its jurisdiction: ``scoped`` narrows
    to it through the actor's focus, never widening what the actor may see."""

    def __init__(self, actor, path: str, school_id: int | None = None) -> None:
        self._actor = actor
        own = getattr(actor, "focus_path", None) or ""
        self.focus_path = path if path.startswith(own) else own
        self._school_id = school_id

    def __getattr__(self, name):
        return getattr(self._actor, name)
