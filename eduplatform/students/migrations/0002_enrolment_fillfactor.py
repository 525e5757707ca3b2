"""Leave room in enrolment pages so a year-end promotion can update rows in place (HOT).

A promotion rewrites the grade and class of every enrolment of a region once a year. With free space
on each page and no index on those columns, PostgreSQL writes the new row version next to the old
one without touching any index. SQLite has no such setting; the migration does nothing there.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE students_enrolment SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE students_enrolment RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("students", "0001_initial")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
