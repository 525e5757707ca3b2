"""Name search through indexes on PostgreSQL (issue 13): trigrams for three characters or more, the
characters and pairs of characters of each name for one or two (core/name_index.py). SQLite keeps
scanning. Building them reads every name once (about a minute per million names on a 2-core machine)."""

from django.db import migrations

from eduplatform.core.name_index import create_name_indexes, drop_name_indexes


def create(apps, schema_editor):
    create_name_indexes(schema_editor, "staff_staffmember", "staff")


def drop(apps, schema_editor):
    drop_name_indexes(schema_editor, "staff")


class Migration(migrations.Migration):

    dependencies = [
        ("staff", "0002_list_order_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
