"""Set-based inserts: the one seam where PostgreSQL's COPY replaces row-by-row INSERTs.

Imports write tens of thousands of rows in one transaction. On PostgreSQL the rows go through
``COPY … FROM STDIN`` (an order of magnitude faster than multi-row INSERT), with primary keys reserved
from the table's sequence beforehand so that child rows can point at their parents. On SQLite an
``executemany`` INSERT does the same job; the caller reads the keys back by a natural key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from django.db import connection, models

IN_CHUNK = 1000  # SQLite's limit on bound parameters is near; PostgreSQL takes one array instead
_SEPARATOR = "\x1f"


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys from the model's sequence (PostgreSQL)."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        # One array rather than ``count`` result rows: the same numbers, a fraction of the decoding.
        cursor.execute("SELECT array_agg(nextval(%s::regclass) ORDER BY n) FROM generate_series(1, %s) n",
                       [_sequence_of(model._meta.db_table, model._meta.pk.column), count])
        return cursor.fetchone()[0]


@lru_cache(maxsize=64)
def _sequence_of(table: str, column: str) -> str:
    """The sequence behind a serial key, looked up once: inside the nextval statement the planner
    would repeat the look-up for every number (six times the cost of the numbers)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        return cursor.fetchone()[0]


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[object]], *,
                meanwhile: Callable[[], None] | None = None) -> None:
    """Insert plain tuples (values in ``columns`` order, JSON already serialised) without building
    model instances: for the widest batches, where instantiating 50,000 models costs more than the
    database does. ``rows`` may be a generator: on PostgreSQL the server then stores the first rows
    while the caller is still producing the next.

    ``meanwhile`` runs once the rows are sent: on PostgreSQL before the COPY is finished, while the
    server is still storing them and updating the table's indexes (it must not query: the
    connection is busy); elsewhere after the insert."""
    if isinstance(rows, Sequence) and not rows:
        if meanwhile is not None:
            meanwhile()
        return
    meta = model._meta
    db_columns = [meta.get_field(c).column for c in columns]
    table = connection.ops.quote_name(meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in db_columns)
    with connection.cursor() as cursor:
        if is_postgresql():
            # Dates and timestamps go as their ISO text, each distinct value formatted once: a batch
            # repeats one timestamp and a few hundred dates, and psycopg's per-value date and datetime
            # dumpers cost more than all the other columns of a row together.
            dated = [i for i, c in enumerate(columns) if isinstance(meta.get_field(c), models.DateField)]
            texts: dict[object, str] = {}
            # The raw psycopg cursor: its errors are turned into Django's (IntegrityError …) here.
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    if dated:
                        row = list(row)
                        for i in dated:
                            value = row[i]
                            if value is not None:
                                text = texts.get(value)
                                if text is None:
                                    text = texts[value] = value.isoformat()
                                row[i] = text
                    copy.write_row(row)
                if meanwhile is not None:
                    meanwhile()
            return
        adapt = _sqlite_adapters(model, columns)
        placeholders = ", ".join("%s" for _ in columns)
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608 — names from model metadata
            [tuple(a(v) if a and v is not None else v for a, v in zip(adapt, row, strict=True)) for row in rows],
        )
    if meanwhile is not None:
        meanwhile()


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
            if all(type(v) is str for v in values) and "" not in values:
                # Tens of thousands of strings as one text split by the server: psycopg adapts a list
                # element by element, several times slower. The separator (U+001F) appears in no value.
                joined = _SEPARATOR.join(values)
                if joined.count(_SEPARATOR) == len(values) - 1:
                    cursor.execute(sql.replace("IN %s", "= ANY(string_to_array(%s, %s))"), [joined, _SEPARATOR])
                    return list(cursor.fetchall())
            cursor.execute(sql.replace("IN %s", "= ANY(%s)"), [values])
            return list(cursor.fetchall())
        for start in range(0, len(values), IN_CHUNK):
            chunk = values[start : start + IN_CHUNK]
            cursor.execute(sql.replace("IN %s", "IN (" + ", ".join(["%s"] * len(chunk)) + ")"), chunk)
            out += cursor.fetchall()
    return out
