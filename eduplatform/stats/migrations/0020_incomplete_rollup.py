"""The per-school count of records lacking a required field (建库进度 completeness), kept with the
roll-ups; filled here from the records of a database migrated with data (the refresh keeps it after)."""

from django.db import migrations, models


def fill(apps, schema_editor):
    # The roll-up's own recompute (today's definition of 必填项, quality.required) on today's models:
    # only where there are records to count — a new database (tests, the demo) skips it, so a later
    # change of those models cannot break migrating from scratch.
    if not apps.get_model("orgs", "Organization").objects.exists():
        return
    from eduplatform.stats.rollup import _recompute_incomplete

    _recompute_incomplete(None)


class Migration(migrations.Migration):

    dependencies = [
        ('stats', '0019_saved_analyses'),
        ('quality', '0003_required_fields_one_definition'),
    ]

    operations = [
        migrations.CreateModel(
            name='IncompleteRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('school_id', models.BigIntegerField(verbose_name='学校')),
                ('region_path', models.CharField(max_length=64)),
                ('stage_mask', models.PositiveSmallIntegerField(verbose_name='学段')),
                ('database', models.CharField(max_length=16, verbose_name='基础库')),
                ('incomplete', models.IntegerField(verbose_name='必填项不全的记录')),
            ],
            options={
                'verbose_name': '必填项不全记录汇总',
                'indexes': [models.Index(fields=['region_path'], name='incomplete_rollup_path', opclasses=['varchar_pattern_ops'])],
                'constraints': [models.UniqueConstraint(fields=('school_id', 'database', 'stage_mask'), name='one_incomplete_rollup_per_cell')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
