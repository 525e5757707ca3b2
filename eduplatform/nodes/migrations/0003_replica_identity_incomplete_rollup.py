"""Replica identity with the region on the incomplete-records roll-up (``stats.IncompleteRollup``),
which city nodes receive filtered like the other roll-ups (0002 froze the tables of its day)."""

from django.db import migrations

from eduplatform.nodes.migrations import _identity

TABLES = [("stats_incompleterollup", "id", ("region_path",))]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("nodes", "0002_replica_identity_with_region"),
        ("stats", "0020_incomplete_rollup"),
    ]

    operations = [migrations.RunPython(_identity.adder(TABLES), _identity.dropper(TABLES), elidable=False)]
