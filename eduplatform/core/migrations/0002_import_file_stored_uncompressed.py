"""Store uploaded import files without PostgreSQL's compression attempt.

An upload is mostly an .xlsx, which is already a zip archive: pglz spent 0.06 s of server time on
every 4 MB file for nothing (and the job reads the file back once, then forgets it). SQLite has no
such setting; the migration does nothing there.
"""

from django.db import migrations


def store_uncompressed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE core_importjob ALTER COLUMN content SET STORAGE EXTERNAL")


def store_compressed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE core_importjob ALTER COLUMN content SET STORAGE EXTENDED")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(store_uncompressed, store_compressed)]
