"""The calculators' derived tables (stats.quota_models): each school's staffing quota and funding
inputs, their county sums, and their frozen copies. Every school with roll-up rows is marked for a
refresh, which fills them (the worker, or the next snapshot, which settles every mark first).
Snapshots taken before this migration have no frozen rows: the calculators compute those per school."""

import django.db.models.deletion
from django.db import migrations, models


def mark_schools(apps, schema_editor):
    StudentRollup = apps.get_model("stats", "StudentRollup")
    StaffRollup = apps.get_model("stats", "StaffRollup")
    DirtySchool = apps.get_model("history", "DirtySchool")
    ids = set(StudentRollup.objects.values_list("school_id", flat=True).distinct().iterator())
    ids |= set(StaffRollup.objects.values_list("school_id", flat=True).distinct().iterator())
    DirtySchool.objects.bulk_create([DirtySchool(school_id=i) for i in sorted(ids)], batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ('stats', '0014_fill_measure_store'),
        ('history', '0003_append_only_marks_and_feed_txid'),
    ]

    operations = [
        migrations.CreateModel(
            name='FundingCountyRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('region_path', models.CharField(max_length=64)),
                ('stage', models.PositiveSmallIntegerField(verbose_name='学段')),
                ('school_type_code', models.CharField(default='', max_length=3, verbose_name='办学类型')),
                ('private', models.BooleanField(default=False, verbose_name='民办')),
                ('rural', models.BooleanField(default=False, verbose_name='乡村')),
                ('headcount', models.IntegerField(default=0, verbose_name='小规模学校人数')),
                ('schools', models.IntegerField(default=0, verbose_name='学校数')),
                ('enrolled', models.IntegerField(default=0, verbose_name='在校生')),
                ('boarding', models.IntegerField(default=0, verbose_name='住宿生')),
                ('disabled', models.IntegerField(default=0, verbose_name='残疾学生')),
            ],
            options={
                'verbose_name': '经费测算基数（县级）',
                'indexes': [models.Index(fields=['region_path'], name='funding_county_path', opclasses=['varchar_pattern_ops'])],
                'constraints': [models.UniqueConstraint(fields=('region_path', 'stage', 'school_type_code', 'private', 'rural', 'headcount'), name='one_funding_county_cell')],
            },
        ),
        migrations.CreateModel(
            name='QuotaCountyRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('region_path', models.CharField(max_length=64)),
                ('schools', models.IntegerField(default=0, verbose_name='测算学校数')),
                ('quota', models.IntegerField(default=0, verbose_name='核定编制')),
                ('actual', models.IntegerField(default=0, verbose_name='在岗教职工')),
            ],
            options={
                'verbose_name': '编制测算（县级）',
                'constraints': [models.UniqueConstraint(fields=('region_path',), name='one_quota_county_row')],
            },
        ),
        migrations.CreateModel(
            name='SchoolFundingRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('school_id', models.BigIntegerField(verbose_name='学校')),
                ('region_path', models.CharField(max_length=64)),
                ('stage', models.PositiveSmallIntegerField(verbose_name='学段')),
                ('school_type_code', models.CharField(default='', max_length=3, verbose_name='办学类型')),
                ('sponsor_code', models.CharField(default='', max_length=3, verbose_name='举办者')),
                ('rural', models.BooleanField(default=False, verbose_name='乡村')),
                ('enrolled', models.IntegerField(default=0, verbose_name='在校生')),
                ('boarding', models.IntegerField(default=0, verbose_name='住宿生')),
                ('disabled', models.IntegerField(default=0, verbose_name='残疾学生')),
            ],
            options={
                'verbose_name': '学校经费测算基数',
                'indexes': [models.Index(fields=['region_path'], name='school_funding_path', opclasses=['varchar_pattern_ops'])],
                'constraints': [models.UniqueConstraint(fields=('school_id', 'region_path', 'stage'), name='one_funding_row_per_school_stage')],
            },
        ),
        migrations.CreateModel(
            name='SchoolQuota',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('school_id', models.BigIntegerField(verbose_name='学校')),
                ('region_path', models.CharField(max_length=64)),
                ('stage_mask', models.PositiveSmallIntegerField(verbose_name='学段')),
                ('quota', models.IntegerField(null=True, verbose_name='核定编制')),
                ('actual', models.IntegerField(default=0, verbose_name='在岗教职工')),
                ('steps', models.TextField(default='', verbose_name='测算过程')),
            ],
            options={
                'verbose_name': '学校编制测算',
                'indexes': [models.Index(fields=['region_path'], name='school_quota_path', opclasses=['varchar_pattern_ops'])],
                'constraints': [models.UniqueConstraint(fields=('school_id',), name='one_quota_per_school')],
            },
        ),
        migrations.CreateModel(
            name='SnapshotFundingCounty',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('region_path', models.CharField(max_length=64)),
                ('stage', models.PositiveSmallIntegerField(verbose_name='学段')),
                ('school_type_code', models.CharField(default='', max_length=3, verbose_name='办学类型')),
                ('private', models.BooleanField(default=False, verbose_name='民办')),
                ('rural', models.BooleanField(default=False, verbose_name='乡村')),
                ('headcount', models.IntegerField(default=0, verbose_name='小规模学校人数')),
                ('schools', models.IntegerField(default=0, verbose_name='学校数')),
                ('enrolled', models.IntegerField(default=0, verbose_name='在校生')),
                ('boarding', models.IntegerField(default=0, verbose_name='住宿生')),
                ('disabled', models.IntegerField(default=0, verbose_name='残疾学生')),
                ('snapshot', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stats.snapshot')),
            ],
            options={
                'verbose_name': '经费测算基数（县级，快照）',
                'indexes': [models.Index(fields=['snapshot', 'region_path'], name='snapshot_funding_county_path', opclasses=['int8_ops', 'varchar_pattern_ops'])],
            },
        ),
        migrations.CreateModel(
            name='SnapshotQuotaCounty',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('region_path', models.CharField(max_length=64)),
                ('schools', models.IntegerField(default=0, verbose_name='测算学校数')),
                ('quota', models.IntegerField(default=0, verbose_name='核定编制')),
                ('actual', models.IntegerField(default=0, verbose_name='在岗教职工')),
                ('snapshot', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stats.snapshot')),
            ],
            options={
                'verbose_name': '编制测算（县级，快照）',
                'indexes': [models.Index(fields=['snapshot', 'region_path'], name='snapshot_quota_county_path', opclasses=['int8_ops', 'varchar_pattern_ops'])],
            },
        ),
        migrations.CreateModel(
            name='SnapshotSchoolFunding',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('school_id', models.BigIntegerField(verbose_name='学校')),
                ('region_path', models.CharField(max_length=64)),
                ('stage', models.PositiveSmallIntegerField(verbose_name='学段')),
                ('school_type_code', models.CharField(default='', max_length=3, verbose_name='办学类型')),
                ('sponsor_code', models.CharField(default='', max_length=3, verbose_name='举办者')),
                ('rural', models.BooleanField(default=False, verbose_name='乡村')),
                ('enrolled', models.IntegerField(default=0, verbose_name='在校生')),
                ('boarding', models.IntegerField(default=0, verbose_name='住宿生')),
                ('disabled', models.IntegerField(default=0, verbose_name='残疾学生')),
                ('snapshot', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stats.snapshot')),
            ],
            options={
                'verbose_name': '学校经费测算基数（快照）',
                'indexes': [models.Index(fields=['snapshot', 'region_path'], name='snapshot_funding_path', opclasses=['int8_ops', 'varchar_pattern_ops'])],
            },
        ),
        migrations.CreateModel(
            name='SnapshotSchoolQuota',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('school_id', models.BigIntegerField(verbose_name='学校')),
                ('region_path', models.CharField(max_length=64)),
                ('stage_mask', models.PositiveSmallIntegerField(verbose_name='学段')),
                ('quota', models.IntegerField(null=True, verbose_name='核定编制')),
                ('actual', models.IntegerField(default=0, verbose_name='在岗教职工')),
                ('steps', models.TextField(default='', verbose_name='测算过程')),
                ('snapshot', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stats.snapshot')),
            ],
            options={
                'verbose_name': '学校编制测算（快照）',
                'indexes': [models.Index(fields=['snapshot', 'region_path'], name='snapshot_quota_path', opclasses=['int8_ops', 'varchar_pattern_ops'])],
            },
        ),
        migrations.RunPython(mark_schools, migrations.RunPython.noop),
    ]
