"""Loading the code tables from ``data/reference/`` into the database, idempotently.

The catalog (``catalog.csv``) names every table, its Chinese name, its standard and its file.
Re-running changes nothing; a changed CSV updates rows in place (keyed by table + code), a row
removed from a CSV is removed from the table, and nothing is ever duplicated.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from eduplatform.standards.models import Code, CodeTable

CORE_COLUMNS = {"table", "code", "name", "parent_code"}


@dataclass
class LoadReport:
    tables_created: int = 0
    codes_created: int = 0
    codes_updated: int = 0
    codes_deleted: int = 0
    per_table: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.tables_created or self.codes_created or self.codes_updated or self.codes_deleted)


def reference_dir() -> Path:
    return Path(settings.DATA_DIR) / "reference"


def read_catalog(folder: Path) -> list[dict[str, str]]:
    with (folder / "catalog.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_table_rows(folder: Path, file_name: str, table_key: str) -> list[dict[str, str]]:
    """Rows of one table: a file either holds one table or many, told apart by a ``table`` column."""
    with (folder / file_name).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and "table" in rows[0]:
        rows = [r for r in rows if r["table"] == table_key]
    return rows


@transaction.atomic
def load_code_tables(folder: Path | None = None) -> LoadReport:
    folder = folder or reference_dir()
    report = LoadReport()
    for entry in read_catalog(folder):
        table, created = CodeTable.objects.get_or_create(
            key=entry["table"],
            defaults={"name": entry["name"], "standard": entry["standard"], "source_file": entry["file"]},
        )
        report.tables_created += int(created)
        if not created and (table.name, table.standard, table.source_file) != (
            entry["name"], entry["standard"], entry["file"]
        ):
            table.name, table.standard, table.source_file = entry["name"], entry["standard"], entry["file"]
            table.save(update_fields=["name", "standard", "source_file"])
        rows = read_table_rows(folder, entry["file"], entry["table"])
        _sync_codes(table, rows, report)
        report.per_table[table.key] = len(rows)
    return report


def _sync_codes(table: CodeTable, rows: list[dict[str, str]], report: LoadReport) -> None:
    existing = {c.natural_key: c for c in table.codes.all()}
    wanted: dict[str, Code] = {}
    for order, row in enumerate(rows, start=1):
        code = row["code"].strip()
        key = code or row["name"].strip()
        wanted[key] = Code(
            table=table,
            code=code,
            name=row["name"].strip(),
            parent_code=(row.get("parent_code") or "").strip(),
            sort_order=order,
            extra={k: v for k, v in row.items() if k not in CORE_COLUMNS and v},
            natural_key=key,
        )
    to_create, to_update = [], []
    for key, new in wanted.items():
        old = existing.get(key)
        if old is None:
            to_create.append(new)
        elif (old.code, old.name, old.parent_code, old.sort_order, old.extra) != (
            new.code, new.name, new.parent_code, new.sort_order, new.extra
        ):
            new.pk = old.pk
            to_update.append(new)
    stale = [c.pk for k, c in existing.items() if k not in wanted]
    Code.objects.bulk_create(to_create)
    Code.objects.bulk_update(to_update, ["code", "name", "parent_code", "sort_order", "extra"])
    Code.objects.filter(pk__in=stale).delete()
    report.codes_created += len(to_create)
    report.codes_updated += len(to_update)
    report.codes_deleted += len(stale)
