"""Set-based inserts: the one seam where PostgreSQL's COPY replaces row-by-row INSERTs.

Imports and promotions write tens of thousands of rows in one transaction. On PostgreSQL the rows go
through ``COPY … FROM STDIN`` (an order of magnitude faster than multi-row INSERT), with primary keys
reserved from the table's sequence beforehand so that child rows can point at their parents. On
SQLite ``bulk_create`` does the same job and returns the keys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


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


def insert_objects(model: type[M], objects: Sequence[M], *, need_ids: bool = False) -> None:
    """Insert unsaved instances. With ``need_ids`` each instance gets its primary key set."""
    if not objects:
        return
    if not is_postgresql():
        model.objects.bulk_create(objects, batch_size=1000)
        return
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and not need_ids)]
    if need_ids:
        for obj, pk in zip(objects, reserve_ids(model, len(objects)), strict=True):
            obj.pk = pk
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    attnames = [f.attname for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row(
                [json.dumps(getattr(obj, a), ensure_ascii=False) if a in json_fields else getattr(obj, a)
                 for a in attnames]
            )


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
