"""Name search through a trigram index on PostgreSQL (issue 13): the student list's ``icontains``
is ``UPPER(name::text) LIKE UPPER('%…%')``, which a GIN index of that expression's trigrams
(``pg_trgm``) answers without reading every student. SQLite (demo, small nodes) has no such
index and keeps scanning. Patterns shorter than three characters have no trigram and still scan
(through the list's order index, stopping at a page)."""

from django.db import migrations

INDEXES = [("student_name_trgm", "students_student")]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER((name)::text)) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("students", "0008_list_order_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
