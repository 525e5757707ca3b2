"""New students' public_id is a time-ordered UUID (version 7) on PostgreSQL: registrations append to
the edge of its unique index instead of writing a random page of it per pupil (docs/decisions/0010).
Existing identifiers stay as they are: addresses already given out keep working."""

from django.db import migrations, models

import eduplatform.core.opaque


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(eduplatform.core.opaque.UUID_V7_SQL)


class Migration(migrations.Migration):

    dependencies = [
        ('students', '0010_class_list_order_index'),
    ]

    operations = [
        # The function stays on reversal: the earlier default does not name it, and dropping it would
        # break a database migrated forward again in between.
        migrations.RunPython(create_function, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name='student',
            name='public_id',
            field=models.UUIDField(db_default=eduplatform.core.opaque.TimeOrderedUUID(), editable=False, unique=True,
                                   verbose_name='公开标识'),
        ),
    ]
