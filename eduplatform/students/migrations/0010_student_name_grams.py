"""Names searched by one or two characters through an index on PostgreSQL (issue 13): such a text
has no trigram (migration 0009_student_name_trigram), so a GIN index of every character and every pair of
characters of the name (``name_grams``, upper-cased like ``icontains``) answers it; the lists add
that condition only for rare characters (core.search.name_contains). SQLite keeps scanning.
Building it computes the grams of every name once (≈ 40 s per million names on the 2-core machine)."""

from django.db import migrations

NAME_GRAMS_SQL = """
CREATE OR REPLACE FUNCTION name_grams(name text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
    SELECT substr(upper(name), i, 1) AS g FROM generate_series(1, char_length(name)) AS i
    UNION ALL
    SELECT substr(upper(name), i, 2) FROM generate_series(1, char_length(name) - 1) AS i) AS grams $$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(NAME_GRAMS_SQL)
    schema_editor.execute("CREATE INDEX IF NOT EXISTS student_name_grams ON students_student USING gin (name_grams((name)::text))")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS student_name_grams")


class Migration(migrations.Migration):

    dependencies = [
        ("students", "0009_student_name_trigram"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
