"""The record kinds that can be imported from a spreadsheet, each described once.

An app registers an ``ImportKind`` in its ``AppConfig.ready``; the shared pages (upload, template,
progress, error report) and the shared background job then serve it at ``/imports/<key>/``.

What a kind supplies:
- ``schema``: the ``RowSchema`` whose columns make the template and read the file;
- ``check_row(raw, context)``: one row's typed values and problems (the schema's ``clean`` plus
  the kind's own rules); ``context`` is shared by the batch (unit, today, memo);
- ``write(actor=, unit=, rows=, accept_valid=, dry_run=, source=, today=, policy=)``: the kind's
  service. It checks the batch against the database, then writes all rows, or only the valid ones
  when ``accept_valid``; it raises ``BatchInvalid`` when not ``accept_valid`` and any row has a
  problem, writes nothing on ``dry_run``, and returns an ``ImportOutcome`` that says per row whether
  it creates a record, changes one (which fields, old → new) or changes nothing. ``policy``
  (``WritePolicy``) says whether creating, updating or both are allowed: a row the policy leaves out
  is a problem of that row (``policy_problem``), still reported with what it would have done;
- ``can_write(actor, unit)``: whether the actor may write into that unit;
- optionally ``file_checker(column_index, context)``: a per-file row checker taking a row's cells,
  giving exactly what ``check_row`` gives but faster for big files (the student register's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core.errors import RowProblem
from eduplatform.core.models import WritePolicy
from eduplatform.core.rows import CleanRow, RowSchema


@dataclass
class ImportContext:
    """What every row of one batch shares."""

    unit: Any  # the Organization the rows go to
    today: dt.date
    memo: dict = field(default_factory=dict)


class RowAction:
    """What a row does to the records (操作)."""

    CREATE = "create"  # 新增
    UPDATE = "update"  # 修改
    UNCHANGED = "unchanged"  # 无变化

    LABELS = {CREATE: gettext_lazy("新增"), UPDATE: gettext_lazy("修改"), UNCHANGED: gettext_lazy("无变化")}


@dataclass
class RowOutcome:
    """One row's effect: ``changes`` is ``history.services.diff_fields`` output (personal data masked)."""

    row: int
    action: str
    record: str = ""  # the record as people know it, e.g. "教学楼（B01）"
    changes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class ImportOutcome:
    written: int
    rejected: list[RowProblem] = field(default_factory=list)
    summary: str = ""  # for the job's audit note, e.g. "新建 40，更新 2"
    # Per row that passed its own checks: create, update (with the changes) or unchanged — also for
    # rows then refused by the write policy, so the report shows what they would have done.
    rows: list[RowOutcome] = field(default_factory=list)
    # row → the natural key of the record the row wrote or matched, where the write knows it (a
    # 学籍号 the platform issued): the open API answers with it instead of reading it back.
    keys: dict[int, str] = field(default_factory=dict)


class WriteRows(Protocol):
    def __call__(self, *, actor: Any, unit: Any, rows: Sequence[tuple[int, CleanRow]], accept_valid: bool,
                 dry_run: bool, source: str, today: dt.date, policy: str = ...) -> ImportOutcome: ...


def changes_text(changes: Mapping[str, Mapping[str, Any]]) -> str:
    """「建筑物用途：01 教学楼 → 05 食堂；建成年份：2001 → 2003」"""
    def shown(value: Any) -> str:
        return gettext("（空）") if value in (None, "") else str(value)
    # The labels are the columns' (gettext_noop in */schema.py): shown in the report's language.
    return "；".join(f"{gettext(str(c['label']))}：{shown(c['before'])} → {shown(c['after'])}" for c in changes.values())


def policy_problem(policy: str, outcome: RowOutcome, *, field_name: str, label: str, value: str) -> RowProblem | None:
    """The problem of a row the write policy leaves out (``None`` when the policy allows it). An
    unchanged row is never a problem: importing the same file twice is harmless in every policy."""
    if outcome.action == RowAction.UPDATE and policy == WritePolicy.CREATE_ONLY:
        return RowProblem(outcome.row, field_name, gettext(label), value,
                          gettext("%(record)s已存在，本行将修改：%(changes)s。按“只新增”方式不修改已有记录；"
                                  "确需修改请选择“新增并更新”或“只更新已有记录”")
                          % {"record": outcome.record, "changes": changes_text(outcome.changes)})
    if outcome.action == RowAction.CREATE and policy == WritePolicy.UPDATE_ONLY:
        return RowProblem(outcome.row, field_name, gettext(label), value,
                          gettext("%(record)s尚不存在，本行将新增记录。按“只更新已有记录”方式不新增；"
                                  "确需新增请选择“新增并更新”或“只新增”") % {"record": outcome.record})
    return None


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
        # The template goes with the Chinese headers the imports match: its title stays Chinese.
        with translation.override(settings.LANGUAGE_CODE):
            return str(self.template_title or f"{self.label}导入模板")

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


def other_unit_name(actor: Any, unit_id: int | None, unit_name: str, region_path: str) -> str:
    """Where a record found under an identifier belongs, as this actor may be told: the unit's name
    when it lies in the actor's own jurisdiction, otherwise only "其他单位" (a school clerk learns
    that a building number is taken, not which school elsewhere in the province holds it)."""
    from eduplatform.orgs.scope import scope_of

    scope = scope_of(actor, with_focus=False)
    if scope.school_id is not None:
        visible = scope.school_id == unit_id
    else:
        visible = scope.covers_path(region_path or "")
    return f"「{unit_name}」" if visible and unit_name else gettext("其他单位")


def batch_rejected(problems: list[RowProblem], rows: list[RowOutcome]) -> Exception:
    """``BatchInvalid`` (all or nothing: nothing written) that still carries each row's planned effect
    for the job's report."""
    from eduplatform.core.errors import BatchInvalid

    exc = BatchInvalid(sorted(problems, key=lambda p: p.row))
    exc.outcome = ImportOutcome(written=0, rejected=exc.problems, rows=rows)  # type: ignore[attr-defined]
    return exc


def report_duplicates(rows: Sequence[tuple[int, Any]], key_of: Callable[[Any], str],
                      field_name: str, key_label: str, problems: dict[int, list[RowProblem]]) -> None:
    """A key written on several rows is reported on every one of them, whatever else is wrong with
    those rows (they are one record typed twice, or two records sharing a key: either way the
    person must look at all of them)."""
    rows_of: dict[str, list[int]] = {}
    for row, clean in rows:
        key = key_of(clean)
        if key:
            rows_of.setdefault(key, []).append(row)
    for key, where in rows_of.items():
        if len(where) < 2:
            continue
        for row in where:
            others = "、".join(str(r) for r in where if r != row)
            shown_label = gettext(key_label)  # a column label (gettext_noop in */schema.py)
            problems.setdefault(row, []).append(RowProblem(
                row, field_name, shown_label, key,
                gettext("%(label)s「%(key)s」在本文件中出现了多次（另见第 %(others)s 行），同一文件中每个%(label)s只能出现一次")
                % {"label": shown_label, "key": key, "others": others}))
