"""Loading the code tables from ``data/reference/`` into the database, idempotently.

The catalog (``catalog.csv``) names every table, its Chinese name, its standard and its file.
Re-running changes nothing; a changed CSV updates rows in place (keyed by table + code), a row
removed from a CSV is removed from the table, and nothing is ever duplicated.

``code_synonyms.csv`` lists the other ways people write a code (中共党员, 中学高级教师, 钢混, 饭堂), the one
place every import and form reads them from; it is synced the same way, keyed by table + synonym.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from eduplatform.core.normalize import compact
from eduplatform.standards.models import Code, CodeSynonym, CodeTable

CORE_COLUMNS = {"table", "code", "name", "parent_code"}
SYNONYMS_FILE = "code_synonyms.csv"


@dataclass
class LoadReport:
    tables_created: int = 0
    codes_created: int = 0
    codes_updated: int = 0
    codes_deleted: int = 0
    synonyms_created: int = 0
    synonyms_updated: int = 0
    synonyms_deleted: int = 0
    per_table: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.tables_created or self.codes_created or self.codes_updated or self.codes_deleted
                    or self.synonyms_created or self.synonyms_updated or self.synonyms_deleted)


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
    if (folder / SYNONYMS_FILE).exists():
        _sync_synonyms(read_synonyms(folder), report)
    return report


class SynonymError(ValueError):
    """A line of code_synonyms.csv that would make a value mean the wrong code."""


def read_synonyms(folder: Path) -> list[dict[str, str]]:
    with (folder / SYNONYMS_FILE).open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _check_synonyms(rows: list[dict[str, str]]) -> None:
    """Refuse lines that point at a code the table lacks, repeat a spelling, or take another code's
    own code or name: a synonym may settle a name two codes share ("其他"), never redirect a code.

    Keys not in the catalog are lists the platform keeps in code (staff titles, nationality subset
    …); their codes are checked by the tests that build every import kind's matchers."""
    tables: dict[str, dict[str, str]] = {}
    for key, code, name in Code.objects.exclude(code="").values_list("table__key", "code", "name"):
        tables.setdefault(key, {})[code] = name
    seen: dict[tuple[str, str], int] = {}
    for line, row in enumerate(rows, start=2):
        key, code, text = row["table"], row["code"], row["synonym"]
        where = gettext("%(file)s 第%(line)s行（%(table)s %(code)s %(text)s）") % {
            "file": SYNONYMS_FILE, "line": line, "table": key, "code": code, "text": text}
        if not (key and code and text):
            raise SynonymError(gettext("%(where)s：table、code、synonym 都必须填写") % {"where": where})
        spelled = compact(text).casefold()
        if (key, spelled) in seen:
            raise SynonymError(gettext("%(where)s：与第%(line)s行重复") % {"where": where, "line": seen[key, spelled]})
        seen[key, spelled] = line
        codes = tables.get(key)
        if codes is None:
            continue
        if code not in codes:
            raise SynonymError(gettext("%(where)s：代码表 %(table)s 中没有代码 %(code)s") % {"where": where, "table": key, "code": code})
        others = [c for c, n in codes.items() if c != code and spelled in (c.casefold(), compact(n).casefold())]
        names = [n for n in codes.values() if compact(n).casefold() == spelled]
        if others and len(names) < 2:
            raise SynonymError(gettext("%(where)s：这个写法已是代码 %(other)s 的代码或名称") % {"where": where, "other": others[0]})


def _sync_synonyms(rows: list[dict[str, str]], report: LoadReport) -> None:
    _check_synonyms(rows)
    existing = {(s.table_key, s.synonym): s for s in CodeSynonym.objects.all()}
    wanted = {(r["table"], r["synonym"]): r for r in rows}
    to_create, to_update = [], []
    for key, row in wanted.items():
        old = existing.get(key)
        if old is None:
            to_create.append(CodeSynonym(table_key=row["table"], code=row["code"], synonym=row["synonym"],
                                         source=row.get("source", "")))
        elif (old.code, old.source) != (row["code"], row.get("source", "")):
            old.code, old.source = row["code"], row.get("source", "")
            to_update.append(old)
    stale = [s.pk for key, s in existing.items() if key not in wanted]
    CodeSynonym.objects.bulk_create(to_create)
    CodeSynonym.objects.bulk_update(to_update, ["code", "source"])
    CodeSynonym.objects.filter(pk__in=stale).delete()
    report.synonyms_created += len(to_create)
    report.synonyms_updated += len(to_update)
    report.synonyms_deleted += len(stale)


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
