"""Base tables generated with the snapshot: every region's (province, each city, county and town) and
every school's tables of every series, folded once, set-based, and kept (``stats.stored_tables``), so
that opening or exporting one is a read.

**How.** For each series and each city (then the rows placed at the province itself), one grouped
query per source — the tables' sources and those the validation reads (``CHECK_SOURCES``) — over the
city's part of the snapshot, grouped by school and read in school order, as ``every_school`` does.
Walking the streams side by side folds each school's tables; every row read is also added into the
sums of each region above its school (its town, county, city and the province), so a region's rows
are exactly what ``generate``'s grouped query returns for it, and the same folds make its tables and
findings. Only one city's regions are held at a time (and the province's sums).

**Who may read a stored table** (``read``): a region's tables hold every school and stage under it,
so they are served only to a reader whose scope covers the whole region and is not limited to
stages; a school's tables to a reader who may see that whole school (its own school user, or a region
user above it without a stage limit). Everyone else — 基础教育处 (K-12 only), say — gets the tables
computed through the scoped selectors, as before.

**When.** ``schedule`` (called by ``take_snapshot``) queues the generation for the worker after the
snapshot commits: the snapshot's own transaction, which holds the roll-ups' lock, is not made longer.
Until it has finished, and for snapshots taken before this existed, a page computes the tables as it
always did (``manage.py store_base_tables`` stores an old snapshot's). Stored rows are final (the
snapshot never changes), so a half-finished run's rows already serve, and a rerun rewrites the same
content.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor, scope_of, scoped
from eduplatform.stats.basetables import SERIES, Series
from eduplatform.stats.basetables.basic import BaseTable, Finding, Said, Source, _Cursor
from eduplatform.stats.models import SNAPSHOT_OF, Snapshot
from eduplatform.stats.stored_tables import BaseTableRun, StoredBaseTables

log = logging.getLogger(__name__)
PROVINCE_PATH = "44/"
BATCH = 500  # rows per INSERT


# --------------------------------------------------------------------------------------------
# Content: tables and findings as JSON (decimals kept exact)


def _default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return {"$d": str(value)}
    raise TypeError(type(value).__name__)


def _hook(obj: dict) -> object:
    if len(obj) == 1 and "$d" in obj:
        return decimal.Decimal(obj["$d"])
    if len(obj) == 1 and "$s" in obj:  # a value of a finding's text that is itself a Said (a period, a list)
        template, values = obj["$s"]
        return Said(template, **values)
    return obj


def encode(tables: list[BaseTable], findings: list[Finding]) -> str:
    return json.dumps({
        "tables": [[t.code, t.title, t.columns, [[label, cells] for label, cells in t.rows], t.note] for t in tables],
        "findings": [[f.rule, f.holds, f.detail, *_templates(f)] for f in findings],
    }, ensure_ascii=False, separators=(",", ":"), default=_default)


def _values(values: dict) -> dict:
    return {k: {"$s": [v.template, _values(v.values)]} if isinstance(v, Said) else v for k, v in values.items()}


def _template(text: str) -> list | None:
    return [text.template, _values(text.values)] if isinstance(text, Said) else None


def _templates(finding: Finding) -> list:
    """A finding's texts' templates and values (``basic.Said``), kept so that a stored finding is shown in
    the reader's language too; nothing for plain texts."""
    rule, detail = _template(finding.rule), _template(finding.detail)
    return [rule, detail] if rule or detail else []


def _restored(text: str, template: list | None) -> str:
    return Said(template[0], **template[1]) if template else text


def decode(content: str) -> tuple[list[BaseTable], list[Finding]]:
    data = json.loads(content, object_hook=_hook)
    tables = [BaseTable(code, title, columns, [(label, cells) for label, cells in rows], note)
              for code, title, columns, rows, note in data["tables"]]
    findings = []
    for rule, holds, detail, *templates in data["findings"]:
        rule_template, detail_template = templates or (None, None)
        findings.append(Finding(_restored(rule, rule_template), holds, _restored(detail, detail_template)))
    return tables, findings


# --------------------------------------------------------------------------------------------
# Reading


def read(actor: Actor, region: Region, snapshot: Snapshot, *, school_id: int | None, series: str
         ) -> tuple[list[BaseTable], list[Finding]] | None:
    """The stored tables and findings ``generate`` and ``check`` would give this actor, or None when
    none are stored or the actor's scope is not one they are correct for (then compute them)."""
    scope = scope_of(actor)
    if scope.is_empty or scope.stage_mask:
        return None  # a stage-limited reader sees only some stages' figures: never a stored table
    if scope.school_id is not None:
        if school_id not in (None, scope.school_id):
            return None
        school_id = scope.school_id
    qs = StoredBaseTables.objects.filter(snapshot=snapshot, series=series)
    if school_id is None:
        if not scope.covers_path(region.path):
            return None
        qs = qs.filter(region_path=region.path, school_id__isnull=True)
    else:
        qs = qs.filter(school_id=school_id, region_path__startswith=region.path)
    content = scoped(qs, actor).values_list("content", flat=True).first()
    return decode(content) if content is not None else None


def progress(snapshot: Snapshot) -> BaseTableRun | None:
    """The snapshot's generation of stored tables (None: taken before there was one, or never queued)."""
    return BaseTableRun.objects.filter(snapshot=snapshot).first()


# --------------------------------------------------------------------------------------------
# Generating: every region's and school's tables of a series, set-based


@dataclass
class Subject:
    region_path: str
    school_id: int | None
    tables: list[BaseTable]
    findings: list[Finding]


def _getter(names: tuple[str, ...]) -> Callable[[dict], tuple]:
    if len(names) == 1:
        (name,) = names
        return lambda row: (row[name],)
    return itemgetter(*names) if names else (lambda _row: ())


class _Sums:
    """A region's rows of every source, summed from its schools' rows as ``_rows`` groups them."""

    def __init__(self, sources: dict[str, Source]) -> None:
        self.sources = sources
        self.cells: dict[str, dict[tuple, list]] = {k: {} for k, s in sources.items() if s.aggregates()}
        self.lists: dict[str, list[dict]] = {k: [] for k, s in sources.items() if not s.aggregates()}
        self._keys = {k: _getter(s.by) for k, s in sources.items()}
        self._values = {k: _getter((*s.sums, *s.maxima)) for k, s in sources.items() if s.aggregates()}
        self._n_sums = {k: len(s.sums) for k, s in sources.items()}

    def add(self, key: str, row: dict) -> None:
        if key in self.lists:
            self.lists[key].append(row)  # the school's own row (its extra keys are not read)
            return
        group = self._keys[key](row)
        values = self._values[key](row)
        cells = self.cells[key].get(group)
        if cells is None:
            self.cells[key][group] = list(values)
        else:
            _combine(cells, values, self._n_sums[key])

    def merge(self, other: _Sums) -> None:
        """Add a region's sums into its parent's."""
        for key, groups in other.cells.items():
            mine, n = self.cells[key], self._n_sums[key]
            for group, values in groups.items():
                cells = mine.get(group)
                if cells is None:
                    mine[group] = list(values)
                else:
                    _combine(cells, values, n)
        for key, rows in other.lists.items():
            self.lists[key].extend(rows)

    def rows(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = dict(self.lists)
        for key, groups in self.cells.items():
            source = self.sources[key]
            measures = [*source.sums, *source.maxima]
            rows = [dict(zip(source.by, group, strict=True)) | dict(zip(measures, values, strict=True))
                    for group, values in groups.items()]
            if not source.by:  # one aggregate row, none when every measure is empty (as ``_rows``)
                rows = [r for r in rows if any(r[m] is not None for m in measures)]
            out[key] = rows
        return out


def _combine(cells: list, values: tuple | list, n_sums: int) -> None:
    """Sums, then maxima; NULL is no value (as SQL's SUM and MAX)."""
    for i, value in enumerate(values):
        if value is not None:
            old = cells[i]
            cells[i] = value if old is None else (old + value if i < n_sums else max(old, value))


def _sources(series: Series) -> dict[str, Source]:
    """The tables' sources and the validation's, each once (the check reads some of the tables')."""
    sources = dict(series.module.SOURCES)
    for key, source in series.module.CHECK_SOURCES.items():
        sources[f"check:{key}"] = source
    return sources


def _rows_of(sources: dict[str, Source], rows: dict[str, list[dict]]) -> Callable[[Source], list[dict]]:
    by_source = {id(source): key for key, source in sources.items()}
    return lambda source: rows[by_source[id(source)]]


def _stream(source: Source, snapshot: Snapshot, path: str, *, exact: bool) -> Iterator[dict]:
    """The source's rows under ``path`` (or placed exactly at it), grouped by school and its place, in
    school order (one query, read in chunks)."""
    qs: QuerySet = SNAPSHOT_OF[source.model].objects.filter(snapshot=snapshot)
    qs = qs.filter(region_path=path) if exact else qs.filter(region_path__startswith=path)
    qs = source.rows_of(qs, snapshot).values(*dict.fromkeys(("school_id", "region_path", *source.by)))
    if source.aggregates():
        qs = qs.annotate(**source.aggregates())
    return qs.order_by("school_id").iterator(chunk_size=10_000)


def _parent(path: str) -> str | None:
    """``44/4401/440106/`` → ``44/4401/``; None for the province."""
    parts = path.split("/")[:-1]
    return "/".join(parts[:-1]) + "/" if len(parts) > 1 else None


def groups_of(snapshot: Snapshot) -> list[tuple[str, bool]]:
    """The parts a series is read in: each city (every region below the province is in one), then
    whatever sits at the province itself."""
    cities = Region.objects.filter(parent__path=PROVINCE_PATH).order_by("path").values_list("path", flat=True)
    return [*[(path, False) for path in cities], (PROVINCE_PATH, True)]


def subjects_of_group(series: Series, snapshot: Snapshot, path: str, *, exact: bool, province: _Sums,
                      levels: dict[str, str]) -> Iterator[Subject]:
    """Every school's tables under ``path``, then every region's below the province (whose sums
    ``province`` collects, to be folded after the last group: ``province_subject``)."""
    module = series.module
    sources = _sources(series)
    # Each row is added once, into the sums of the place its school sits at; the places are then
    # added up the tree (town → county → city), so a row costs one addition, not one per level.
    placed: dict[str, _Sums] = {}

    def tapped(key: str, rows: Iterator[dict]) -> Iterator[dict]:
        for row in rows:  # every row read, also those of schools not open at the census, goes into the sums
            sums = placed.get(row["region_path"])
            if sums is None:
                sums = placed[row["region_path"]] = _Sums(sources)
            sums.add(key, row)
            yield row

    cursors = {key: _Cursor(tapped(key, _stream(source, snapshot, path, exact=exact)))
               for key, source in sources.items()}
    schools = cursors["schools"]
    while (row := schools.peek()) is not None:
        school_id = row["school_id"]
        rows = {"schools": schools.take(school_id)}
        for key, cursor in cursors.items():
            if key != "schools":
                cursor.skip_before(school_id)  # rows of schools no longer open at the census
                rows[key] = cursor.take(school_id)
        tables = module._fold(rows, snapshot, one_school=True)
        found = module.findings(tables, _rows_of(sources, rows), snapshot, county=False)
        yield Subject(row["region_path"], school_id, tables, found)
    for cursor in cursors.values():
        cursor.skip_before(2**62)  # the rest (after the last school) still counts for the regions
    # Up the tree, the deepest first: each region's sums are complete before they go into its parent's.
    regions = placed
    for depth in range(max((p.count("/") for p in regions), default=0), 1, -1):
        for region_path in [p for p in regions if p.count("/") == depth]:
            parent = _parent(region_path)
            if parent == PROVINCE_PATH:
                province.merge(regions[region_path])
            else:
                if parent not in regions:
                    regions[parent] = _Sums(sources)  # a region with no school of its own, only below
                regions[parent].merge(regions[region_path])
    if PROVINCE_PATH in regions:  # the group of rows placed at the province itself
        province.merge(regions.pop(PROVINCE_PATH))
    for region_path in sorted(regions):
        rows = regions.pop(region_path).rows()
        tables = module._fold(rows, snapshot, one_school=False)
        found = module.findings(tables, _rows_of(sources, rows), snapshot, county=levels.get(region_path) == "county")
        yield Subject(region_path, None, tables, found)


def province_subject(series: Series, snapshot: Snapshot, province: _Sums) -> Subject:
    rows = province.rows()
    tables = series.module._fold(rows, snapshot, one_school=False)
    found = series.module.findings(tables, _rows_of(_sources(series), rows), snapshot, county=False)
    return Subject(PROVINCE_PATH, None, tables, found)


# --------------------------------------------------------------------------------------------
# Storing


def _save(snapshot: Snapshot, series: str, subjects: list[Subject]) -> int:
    rows = [StoredBaseTables(snapshot=snapshot, series=series, region_path=s.region_path, school_id=s.school_id,
                             content=encode(s.tables, s.findings)) for s in subjects]
    # A rerun finds rows an interrupted run wrote: the same content (the snapshot has not changed).
    StoredBaseTables.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    return len(rows)


def store(snapshot: Snapshot, *, report: Callable[[str], None] | None = None) -> BaseTableRun:
    """Generate and keep every region's and school's tables of the snapshot, one transaction per
    series and city, with the run's progress updated after each."""
    run, _created = BaseTableRun.objects.get_or_create(snapshot=snapshot)
    groups = groups_of(snapshot)
    levels = dict(Region.objects.values_list("path", "level"))
    now = timezone.now()
    BaseTableRun.objects.filter(pk=run.pk).update(status=BaseTableRun.RUNNING, done=0, total=len(SERIES) * len(groups),
                                                  subjects=0, started_at=now, heartbeat_at=now, finished_at=None,
                                                  failure="")
    started, step, stored = time.monotonic(), 0, 0
    try:
        for key, series in SERIES.items():
            province = _Sums(_sources(series))
            for path, exact in groups:
                with transaction.atomic():
                    batch: list[Subject] = []
                    for subject in subjects_of_group(series, snapshot, path, exact=exact, province=province,
                                                     levels=levels):
                        batch.append(subject)
                        if len(batch) == BATCH:
                            stored += _save(snapshot, key, batch)
                            batch = []
                    if (path, exact) == groups[-1]:
                        batch.append(province_subject(series, snapshot, province))
                    stored += _save(snapshot, key, batch)
                step += 1
                BaseTableRun.objects.filter(pk=run.pk).update(done=step, subjects=stored, heartbeat_at=timezone.now())
                if report is not None:
                    report(f"{series.name} {path}{'（省直属）' if exact else ''}：累计 {stored:,} 份，"
                           f"{time.monotonic() - started:.1f} 秒")
    except Exception as exc:
        BaseTableRun.objects.filter(pk=run.pk).update(status=BaseTableRun.FAILED, failure=str(exc)[:300],
                                                      finished_at=timezone.now())
        raise
    BaseTableRun.objects.filter(pk=run.pk).update(status=BaseTableRun.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def schedule(snapshot: Snapshot) -> None:
    """Queue the generation of a new snapshot's stored tables for the worker, once it has committed."""
    from eduplatform.stats.tasks import store_base_tables

    BaseTableRun.objects.get_or_create(snapshot=snapshot)
    transaction.on_commit(lambda: store_base_tables.enqueue(snapshot.pk))


def claim(snapshot_id: int) -> Snapshot | None:
    """The snapshot whose tables this worker is to generate: queued, failed, or running without a
    heartbeat for ``IMPORT_STALE_SECONDS`` (its worker died); None when another has it or it is done."""
    stale = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    claimed = BaseTableRun.objects.filter(snapshot_id=snapshot_id).filter(
        status__in=[BaseTableRun.QUEUED, BaseTableRun.FAILED]).update(status=BaseTableRun.RUNNING,
                                                                      heartbeat_at=timezone.now())
    if not claimed:
        claimed = BaseTableRun.objects.filter(snapshot_id=snapshot_id, status=BaseTableRun.RUNNING,
                                              heartbeat_at__lt=stale).update(heartbeat_at=timezone.now())
    return Snapshot.objects.filter(pk=snapshot_id).first() if claimed else None


def run_queued(snapshot_id: int) -> None:
    """The worker's side of ``schedule``."""
    snapshot = claim(snapshot_id)
    if snapshot is not None:
        store(snapshot)

