"""专业 as a dimension of the student roll-up and its snapshot copy (中职基, 高基 分专业)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('stats', '0008_rollup_unique_cells'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='studentrollup',
            name='one_student_rollup_per_cell',
        ),
        migrations.AddField(
            model_name='snapshotstudent',
            name='major',
            field=models.CharField(default='', max_length=100, verbose_name='专业'),
        ),
        migrations.AddField(
            model_name='studentrollup',
            name='major',
            field=models.CharField(default='', max_length=100, verbose_name='专业'),
        ),
        migrations.AddConstraint(
            model_name='studentrollup',
            constraint=models.UniqueConstraint(fields=('school_id', 'region_path', 'stage', 'grade', 'gender', 'cohort', 'level', 'major', 'school_year'), name='one_student_rollup_per_cell'),
        ),
    ]
