"""Mark every school with students for a roll-up refresh: 0011 changed what ``new_entrants`` (招生)
counts — first entry into the stage, not every registration of the school year — and added the
转入/转出 flows, which start at zero. The worker (or the next snapshot, which settles every mark
first) recomputes them. Derived data only; nothing to undo."""

from django.db import migrations


def mark_schools(apps, schema_editor):
    StudentRollup = apps.get_model("stats", "StudentRollup")
    DirtySchool = apps.get_model("history", "DirtySchool")
    ids = StudentRollup.objects.values_list("school_id", flat=True).distinct()
    DirtySchool.objects.bulk_create([DirtySchool(school_id=i) for i in ids.iterator()], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0011_student_transfer_flows_and_first_entry"),
        ("history", "0003_append_only_marks_and_feed_txid"),
    ]

    operations = [migrations.RunPython(mark_schools, migrations.RunPython.noop)]
