"""Aggregation of approved submissions up the region tree (汇总).

A region's total of a cell is the sum of that cell over the approved submissions under it (a 零上报
counts as zero). Nothing is copied at approval: the sum is one set-based statement over the
submissions of the subtree — on PostgreSQL one SUM per numeric cell over the rows the
``(task, region_path)`` index finds, as ``numeric`` (exact decimals) — so a
total is never stale, whatever was approved or unapproved a moment ago, and 38,000 approved
submissions of a province are summed in well under a second (bench/reporting.py). On SQLite (demo,
small node) the same sum is taken in Python.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import DecimalField, QuerySet, Sum
from django.db.models.expressions import RawSQL

from eduplatform.reporting import evaluation, selectors
from eduplatform.reporting.grid import as_decimal
from eduplatform.reporting.models import CollectionTask, Submission, SubmissionStatus

CELLS_PER_STATEMENT = 400  # PostgreSQL allows 1,664 result columns
NUMBER_PATTERN = r"^-?[0-9]+([.][0-9]+)?$"


def sum_approved(submissions: QuerySet[Submission], task: CollectionTask) -> dict[str, Decimal]:
    """Cell → sum over the approved, non-zero-report submissions of ``submissions`` (already scoped
    and narrowed to a subtree by the caller). Cells no approved submission filled are absent."""
    if task.form_version_id is None:
        return {}
    cells = evaluation.numeric_cells(selectors.form_spec(task.form_version))
    if not cells:
        return {}
    approved = submissions.filter(status=SubmissionStatus.APPROVED, zero_report=False)
    if connection.vendor == "postgresql":
        return _sum_postgresql(approved, cells)
    totals: dict[str, Decimal] = {}
    wanted = set(cells)
    for values in approved.order_by().values_list("values", flat=True).iterator(chunk_size=2000):
        for key, raw in (values or {}).items():
            if key in wanted:
                number = as_decimal(raw)
                if number is not None:
                    totals[key] = totals.get(key, Decimal(0)) + number
    return totals


def _sum_postgresql(approved: QuerySet[Submission], cells: list[str]) -> dict[str, Decimal]:
    """One SUM per cell (``values ->> cell``) over the filtered rows, at most ``CELLS_PER_STATEMENT``
    per statement: one pass over the rows, no row per cell (``jsonb_each_text``) and no self-join."""
    column = f"{connection.ops.quote_name(Submission._meta.db_table)}.{connection.ops.quote_name('values')}"
    # Values were type-checked on save (numbers in canonical text, or blank); the pattern keeps any
    # stray text out of the numeric cast anyway. Cell keys are parameters, never spliced in.
    template = f"CASE WHEN {column} ->> %s ~ %s THEN ({column} ->> %s)::numeric END"
    totals: dict[str, Decimal] = {}
    for start in range(0, len(cells), CELLS_PER_STATEMENT):
        part = cells[start:start + CELLS_PER_STATEMENT]
        sums = {f"c{i}": Sum(RawSQL(template, (cell, NUMBER_PATTERN, cell), output_field=DecimalField()))  # noqa: S611
                for i, cell in enumerate(part)}
        row = approved.order_by().aggregate(**sums)
        totals.update({cell: row[f"c{i}"] for i, cell in enumerate(part) if row[f"c{i}"] is not None})
    return totals
