"""Set-based inserts: the one seam where PostgreSQL's COPY replaces row-by-row INSERTs.

Imports write tens of thousands of rows in one transaction. On PostgreSQL the rows go through
``COPY … FROM STDIN`` (an order of magnitude faster than multi-row INSERT), with primary keys reserved
from the table's sequence beforehand so that child rows can point at their parents. On SQLite an
``executemany`` INSERT does the same job; the caller reads the keys back by a natural key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

IN_CHUNK = 1000  # SQLite's limit on bound parameters is near; PostgreSQL takes one array instead


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys from the model's sequence (PostgreSQL)."""
    if count == 0:
        return []
    table = model._meta.db_table
    pk_column = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk_column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Insert plain tuples (values in ``columns`` order, JSON already serialised) without building
    model instances: for the widest batches, where instantiating 50,000 models costs more than the
    database does."""
    if not rows:
        return
    meta = model._meta
    db_columns = [meta.get_field(c).column for c in columns]
    table = connection.ops.quote_name(meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in db_columns)
    with connection.cursor() as cursor:
        if is_postgresql():
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        adapt = _sqlite_adapters(model, columns)
        placeholders = ", ".join("%s" for _ in columns)
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608 — names from model metadata
            [tuple(a(v) if a and v is not None else v for a, v in zip(adapt, row, strict=True)) for row in rows],
        )


def _sqlite_adapters(model: type[models.Model], columns: Sequence[str]) -> list:
    """SQLite stores datetimes as naive UTC text: convert them as the ORM would."""
    out = []
    for name in columns:
        field = model._meta.get_field(name)
        if isinstance(field, models.DateTimeField):
            out.append(connection.ops.adapt_datetimefield_value)
        elif isinstance(field, models.DateField):
            out.append(connection.ops.adapt_datefield_value)
        else:
            out.append(None)
    return out


def select_in(sql: str, values: list[Any]) -> list[tuple]:
    """``sql`` with one ``IN %s`` over many values: one array parameter on PostgreSQL, chunks on SQLite."""
    if not values:
        return []
    out: list[tuple] = []
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(sql.replace("IN %s", "= ANY(%s)"), [values])
            return list(cursor.fetchall())
        for start in range(0, len(values), IN_CHUNK):
            chunk = values[start : start + IN_CHUNK]
            cursor.execute(sql.replace("IN %s", "IN (" + ", ".join(["%s"] * len(chunk)) + ")"), chunk)
            out += cursor.fetchall()
    return out
