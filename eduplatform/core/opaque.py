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
