"""The PostgreSQL indexes that name search uses (issue 13), created by the students' and the staff's
migrations; SQLite has neither and scans (core.search.name_contains explains which serves what).

- ``<prefix>_name_trgm``: GIN trigrams (``pg_trgm``) of ``UPPER(name::text)``, the expression
  Django's ``icontains`` compares: a substring of three or more characters.
- ``<prefix>_name_grams``: GIN of ``name_grams(name)``, every character and every pair of characters
  of the upper-cased name: one or two characters, which have no trigram.
"""

from __future__ import annotations

NAME_GRAMS_SQL = """
CREATE OR REPLACE FUNCTION name_grams(name text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
    SELECT substr(upper(name), i, 1) AS g FROM generate_series(1, char_length(name)) AS i
    UNION ALL
    SELECT substr(upper(name), i, 2) FROM generate_series(1, char_length(name) - 1) AS i) AS grams $$
"""


def create_name_indexes(schema_editor, table: str, prefix: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(NAME_GRAMS_SQL)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {prefix}_name_trgm ON {table} USING gin ((UPPER((name)::text)) gin_trgm_ops)")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {prefix}_name_grams ON {table} USING gin (name_grams((name)::text))")


def drop_name_indexes(schema_editor, prefix: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for suffix in ("trgm", "grams"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {prefix}_name_{suffix}")
