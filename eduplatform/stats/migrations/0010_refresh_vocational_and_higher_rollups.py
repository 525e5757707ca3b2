"""Mark every school with vocational or higher-education students for a roll-up refresh: their rows
were summed over all majors before 0009 (major ''), and the worker (or the next snapshot, which
settles every mark first) rewrites them by major. Derived data only; nothing to undo."""

from django.db import migrations

VOCATIONAL, HIGHER = 16, 32  # orgs.stages.Stage bits, frozen here as the migration must not import app code


def mark_schools(apps, schema_editor):
    StudentRollup = apps.get_model("stats", "StudentRollup")
    DirtySchool = apps.get_model("history", "DirtySchool")
    ids = StudentRollup.objects.filter(stage__in=[VOCATIONAL, HIGHER]).values_list("school_id", flat=True).distinct()
    DirtySchool.objects.bulk_create([DirtySchool(school_id=i) for i in ids.iterator()], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0009_student_rollup_by_major"),
        ("history", "0003_append_only_marks_and_feed_txid"),
    ]

    operations = [migrations.RunPython(mark_schools, migrations.RunPython.noop)]
