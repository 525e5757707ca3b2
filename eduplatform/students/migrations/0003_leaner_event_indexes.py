"""Fewer indexes on what an import writes per student (docs/decisions/0003).

StudentEvent keeps the student index (the history tab) and one region-prefix index; its enrolment,
school and request indexes had no reader, and region_path had two. On PostgreSQL, Django's automatic
``varchar_pattern_ops`` twin of the unique student_number index goes too: student numbers are only
ever looked up whole (the unique index), never by prefix.
"""

import django.db.models.deletion
from django.db import migrations, models

STUDENT_NUMBER_LIKE = "students_student_student_number_c4c60b02_like"


def drop_student_number_like(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {STUDENT_NUMBER_LIKE}")


def create_student_number_like(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {STUDENT_NUMBER_LIKE} ON students_student "
                              "(student_number varchar_pattern_ops)")


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0001_initial'),
        ('students', '0002_enrolment_fillfactor'),
    ]

    operations = [
        migrations.RunPython(drop_student_number_like, create_student_number_like),
        migrations.AlterField(
            model_name='studentevent',
            name='enrolment',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='students.enrolment'),
        ),
        migrations.AlterField(
            model_name='studentevent',
            name='region_path',
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name='studentevent',
            name='request',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='students.changerequest'),
        ),
        migrations.AlterField(
            model_name='studentevent',
            name='school',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='orgs.organization'),
        ),
        migrations.AddIndex(
            model_name='studentevent',
            index=models.Index(fields=['region_path'], name='event_region_path', opclasses=['varchar_pattern_ops']),
        ),
    ]
