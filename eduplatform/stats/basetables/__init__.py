"""The base tables (基表) of the official statistics system, generated from a census snapshot, one
module per series (DOMAIN §2.2): ``basic`` (基础基, basic education), ``vocational`` (中职基,
secondary vocational education) and ``higher`` (高基, higher education).

A school belongs to one series by its stages, a student by the stage of the enrolment (``basic.
institutions``, ``basic.students_of``): no table of one series counts what another reports. Each
series has the same entry points — ``generate`` (a region or one school), ``check`` (its validation
relationships) and ``school_tables`` (every school of the series at once, one query per source) —
which the functions here dispatch to by the series' key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from django.utils.translation import gettext_noop

from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor
from eduplatform.orgs.stages import Stage
from eduplatform.stats.basetables import basic, higher, vocational
from eduplatform.stats.basetables.basic import (
    AGE_BANDS,
    BASIC,
    CLASS_TABLES,
    HIGHER,
    OUTSIDE_HEADCOUNT,
    POSTS,
    SOURCES,
    VOCATIONAL,
    BaseTable,
    Finding,
    _check_schools,
)
from eduplatform.stats.models import Snapshot


@dataclass(frozen=True)
class Series:
    key: str
    name: str  # the table numbers' prefix: a code, shown as it is in both languages
    label: str  # marked; shown through ``|form_text``
    module: ModuleType

    @property
    def sources(self) -> dict:
        return self.module.SOURCES

    def __reduce__(self) -> tuple:
        # Pickled by key (a cached page's context holds its series; a module cannot be pickled).
        return series_of, (self.key,)


SERIES: dict[str, Series] = {s.key: s for s in (
    Series(BASIC, "基础基", gettext_noop("基础教育"), basic),
    Series(VOCATIONAL, "中职基", gettext_noop("中等职业教育"), vocational),
    Series(HIGHER, "高基", gettext_noop("高等教育"), higher),
)}


def series_of(key: str | None) -> Series:
    """The series a page or command names (basic when none or an unknown key)."""
    return SERIES.get(key or BASIC, SERIES[BASIC])


def series_of_school(stage_mask: int) -> str:
    """The key of the series a school with these stages reports in (as ``basic.institutions`` reads it)."""
    if stage_mask & Stage.HIGHER:
        return HIGHER
    return VOCATIONAL if stage_mask & Stage.VOCATIONAL else BASIC


def generate(actor: Actor, region: Region, snapshot: Snapshot, *, school_id: int | None = None,
             series: str = BASIC) -> list[BaseTable]:
    """A series' tables of ``region`` in the actor's scope, or of one school."""
    return SERIES[series].module.generate(actor, region, snapshot, school_id=school_id)


def check(tables: list[BaseTable], actor: Actor, region: Region, snapshot: Snapshot, *, school_id: int | None = None,
          series: str = BASIC) -> list[Finding]:
    """A series' validation relationships over its tables."""
    return SERIES[series].module.check(tables, actor, region, snapshot, school_id=school_id)


def school_tables(snapshot: Snapshot, *, under: str = "", series: str = BASIC
                  ) -> Iterator[tuple[int, list[BaseTable]]]:
    """Every school of the series under ``under`` with its tables (one grouped query per source)."""
    run: Callable = SERIES[series].module.school_tables
    return run(snapshot, under=under)


def every_school(snapshot: Snapshot, *, series: str | None = BASIC) -> Iterator[tuple[int, list[BaseTable]]]:
    """Every school of one series (``None``: of every series, one after the other) with its tables."""
    if series is not None:
        return school_tables(snapshot, series=series)
    return (pair for key in SERIES for pair in school_tables(snapshot, series=key))


__all__ = ["AGE_BANDS", "BASIC", "CLASS_TABLES", "HIGHER", "OUTSIDE_HEADCOUNT", "POSTS", "SERIES", "SOURCES",
           "VOCATIONAL", "BaseTable", "Finding", "Series", "_check_schools", "check", "every_school", "generate",
           "school_tables", "series_of", "series_of_school"]
