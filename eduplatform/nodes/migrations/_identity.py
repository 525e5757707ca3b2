"""The replica-identity step shared by the node migrations (not a migration: the loader skips
modules whose name starts with an underscore).

A publication that sends UPDATE and DELETE may filter rows only on columns of the table's replica
identity. Each filtered table gets a unique index on (primary key, region columns) and
REPLICA IDENTITY USING INDEX, built CONCURRENTLY so that migrating the province does not block
writers; an index left INVALID by an interrupted build is dropped and built again. PostgreSQL only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Table = tuple[str, str, Sequence[str]]  # table, primary key, region columns


def index_name(table: str) -> str:
    return f"{table}_node_ident"[:63]


def adder(tables: Sequence[Table]) -> Callable:
    def add_replica_identity(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for table, pk, columns in tables:
                name = index_name(table)
                cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                               " WHERE c.relname = %s", [name])
                row = cursor.fetchone()
                if row is not None and not row[0]:
                    cursor.execute(f'DROP INDEX CONCURRENTLY "{name}"')
                    row = None
                if row is None:
                    cols = ", ".join(f'"{c}"' for c in (pk, *columns))
                    cursor.execute(f'CREATE UNIQUE INDEX CONCURRENTLY "{name}" ON "{table}" ({cols})')
                cursor.execute(f'ALTER TABLE "{table}" REPLICA IDENTITY USING INDEX "{name}"')

    return add_replica_identity


def dropper(tables: Sequence[Table]) -> Callable:
    def drop_replica_identity(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for table, _pk, _columns in tables:
                cursor.execute(f'ALTER TABLE "{table}" REPLICA IDENTITY DEFAULT')
                cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index_name(table)}"')

    return drop_replica_identity
