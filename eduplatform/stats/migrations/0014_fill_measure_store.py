"""Mark every school with roll-up rows for a refresh, which writes its rows of the new measure
store (0013: ``MeasureRollup`` and its county sums start empty). The worker (or the next snapshot,
which settles every mark first) recomputes them; ``manage.py rebuild_rollups`` does it at once.
Snapshots taken before keep no measure rows: their pages read the frozen roll-ups as before.
Derived data only; nothing to undo."""

from django.db import migrations


def mark_schools(apps, schema_editor):
    DirtySchool = apps.get_model("history", "DirtySchool")
    ids: set[int] = set()
    for name in ("StudentRollup", "ClassRollup", "StaffRollup", "BuildingRollup", "AssetRollup"):
        ids |= set(apps.get_model("stats", name).objects.values_list("school_id", flat=True).distinct())
    DirtySchool.objects.bulk_create([DirtySchool(school_id=i) for i in sorted(ids)], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0013_measure_store"),
        ("history", "0003_append_only_marks_and_feed_txid"),
    ]

    operations = [migrations.RunPython(mark_schools, migrations.RunPython.noop)]
