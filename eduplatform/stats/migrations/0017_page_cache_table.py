"""The table of the page cache (settings.CACHES, ``PAGE_CACHE=database``): made by ``migrate`` so every
installation — the demo, the benchmarks' databases, production — has it without a further step."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # Idempotent: createcachetable skips a table that exists; nothing to do for locmem / off.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("stats", "0016_base_tables_stored_with_snapshot")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
