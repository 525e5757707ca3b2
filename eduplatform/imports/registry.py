"""The record kinds that can be imported from a spreadsheet, each described once.

An app registers an ``ImportKind`` in its ``AppConfig.ready``; the shared pages (upload, template,
progress, error report) and the shared background job then serve it at ``/imports/<key>/``.

What a kind supplies:
- ``schema``: the ``RowSchema`` whose columns make the template and read the file;
- ``check_row(raw, context)``: one row's typed values and problems (the schema's ``clean`` plus
  the kind's own rules); ``context`` is shared by the batch (unit, today, memo);
- ``write(actor=, unit=, rows=, accept_valid=, dry_run=, source=, today=)``: the kind's service.
  It checks the batch against the database, then writes all rows, or only the valid ones when
  ``accept_valid``; it raises ``BatchInvalid`` when not ``accept_valid`` and any row has a problem,
  writes nothing on ``dry_run``, and returns an ``ImportOutcome``;
- ``can_write(actor, unit)``: whether the actor may write into that unit;
- optionally ``file_checker(column_index, context)``: a per-file row checker taking a row's cells,
  giving exactly what ``check_row`` gives but faster for big files (the student register's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eduplatform.core.errors import RowProblem
from eduplatform.core.rows import CleanRow, RowSchema


@dataclass
class ImportContext:
    """What every row of one batch shares."""

    unit: Any  # the Organization the rows go to
    today: dt.date
    memo: dict = field(default_factory=dict)


@dataclass
class ImportOutcome:
    written: int
    rejected: list[RowProblem] = field(default_factory=list)
    summary: str = ""  # for the job's audit note, e.g. "新建 40，更新 2"


class WriteRows(Protocol):
    def __call__(self, *, actor: Any, unit: Any, rows: Sequence[tuple[int, CleanRow]], accept_valid: bool,
                 dry_run: bool, source: str, today: dt.date) -> ImportOutcome: ...


@dataclass(frozen=True)
class ImportKind:
    key: str  # URL segment and ImportJob.kind, e.g. "staff"
    label: str  # what is imported, e.g. "教职工"
    schema: RowSchema
    check_row: Callable[[dict[str, Any], ImportContext], CleanRow]
    write: WriteRows
    can_write: Callable[[Any, Any], bool]
    capability: str  # needed to open the upload page at all
    unit_kinds: frozenset[str] = frozenset({"school"})  # Organization.kind of the target unit
    instructions: tuple[str, ...] = ()
    list_url: str = ""  # URL name of the records' list, linked from the import pages
    nav_slug: str = ""  # navigation area highlighted on the import pages
    template_title: str = ""  # the template's title and file name; "<label>导入模板" by default
    file_checker: Callable[[Mapping[str, int], ImportContext], Callable[[Sequence[Any]], CleanRow]] | None = None

    @property
    def template_name(self) -> str:
        return self.template_title or f"{self.label}导入模板"

    @property
    def for_schools(self) -> bool:
        return self.unit_kinds == frozenset({"school"})


_KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> ImportKind:
    if kind.key in _KINDS and _KINDS[kind.key] is not kind:
        raise ValueError(f"import kind {kind.key!r} registered twice")
    _KINDS[kind.key] = kind
    return kind


def get(key: str) -> ImportKind | None:
    return _KINDS.get(key)


def all_kinds() -> list[ImportKind]:
    return list(_KINDS.values())
