"""Opaque record identifiers for URLs.

A page address ends up in access logs, proxies, browser history and bookmarks, so it must not carry
personal data (a student's 学籍号 is "G" + the ID number). Records addressed in URLs get a random,
stable ``public_id`` made by the database itself: set-based inserts that omit the column (COPY,
INSERT … SELECT, the province generator) get one per row without a line of Python, and adding the
column to a filled table gives every existing row its own value.
"""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models import Func, UUIDField


class RandomUUID(Func):
    """A random 128-bit identifier computed by the database (PostgreSQL ``gen_random_uuid()``,
    SQLite ``randomblob``), usable as a column's ``db_default``."""

    output_field = UUIDField()
    allowed_default = True
    contains_aggregate = False

    def __init__(self) -> None:
        super().__init__()

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"RandomUUID is not implemented for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra_context):
        return "gen_random_uuid()", []

    def as_sqlite(self, compiler, connection, **extra_context):
        # UUIDField keeps 32 hex digits on SQLite; randomblob is the platform's CSPRNG.
        return "(lower(hex(randomblob(16))))", []


# A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, the version, then random bits — 74 of
# them, as unguessable as an address needs. PostgreSQL 15 has no uuidv7() (18 has): this is the
# usual construction from gen_random_uuid(), whose variant bits it keeps, with the version set to 7.
UUID_V7_SQL = """
CREATE OR REPLACE FUNCTION edu_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
    FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid $$
"""


class TimeOrderedUUID(RandomUUID):
    """A random identifier whose first 48 bits are its creation time (UUID version 7), computed by
    the database: new rows' identifiers sort after the older ones, so the unique index on them grows
    at one edge. A purely random one sends every insert to a random page of that index — for the
    27.5 million students a page read and, after each checkpoint, a full-page image in the WAL per
    registered pupil (docs/decisions/0010). What it reveals: the millisecond the record was created.
    SQLite (development, tests) keeps the random form."""

    def as_postgresql(self, compiler, connection, **extra_context):
        return "edu_uuid_v7()", []
