"""Replica identity with the region on every table a city node receives filtered (decision 0007).

A publication that sends UPDATE and DELETE may filter rows only on columns of the table's replica
identity. Each filtered table gets a unique index on (primary key, region columns) and
REPLICA IDENTITY USING INDEX. The index is built CONCURRENTLY so that migrating the province does not
block writers (figures in docs/nodes.md); an index left INVALID by an interrupted build is dropped and
built again. PostgreSQL only: SQLite has no logical replication.

The list is frozen here; a table added to nodes/plan.py later gets its own migration.
"""

from django.db import migrations

FILTERED_TABLES = [
    ("orgs_organization", "id", ('region_path',)),
    ("orgs_organizationversion", "id", ('region_path',)),
    ("students_student", "id", ('region_path',)),
    ("students_enrolment", "id", ('region_path',)),
    ("students_studentevent", "id", ('region_path',)),
    ("students_schoolclass", "id", ('region_path',)),
    ("students_promotionbatch", "id", ('region_path',)),
    ("staff_staffmember", "id", ('region_path',)),
    ("staff_staffevent", "id", ('region_path',)),
    ("facilities_landparcel", "id", ('region_path',)),
    ("facilities_building", "id", ('region_path',)),
    ("assets_equipment", "id", ('region_path',)),
    ("assets_assetholdings", "id", ('region_path',)),
    ("history_changefeedentry", "seq", ('region_path',)),
    ("reporting_submission", "id", ('region_path',)),
    ("reporting_regionapproval", "id", ('region_path',)),
    ("reporting_reviewaction", "id", ('region_path',)),
    ("stats_schoolrollup", "id", ('region_path',)),
    ("stats_studentrollup", "id", ('region_path',)),
    ("stats_studentcountyrollup", "id", ('region_path',)),
    ("stats_classrollup", "id", ('region_path',)),
    ("stats_staffrollup", "id", ('region_path',)),
    ("stats_buildingrollup", "id", ('region_path',)),
    ("stats_assetrollup", "id", ('region_path',)),
    ("stats_measurerollup", "id", ('region_path',)),
    ("stats_measurecountyrollup", "id", ('region_path',)),
    ("stats_schoolquota", "id", ('region_path',)),
    ("stats_quotacountyrollup", "id", ('region_path',)),
    ("stats_schoolfundingrollup", "id", ('region_path',)),
    ("stats_fundingcountyrollup", "id", ('region_path',)),
    ("stats_snapshotschool", "id", ('region_path',)),
    ("stats_snapshotstudent", "id", ('region_path',)),
    ("stats_snapshotclass", "id", ('region_path',)),
    ("stats_snapshotstaff", "id", ('region_path',)),
    ("stats_snapshotbuilding", "id", ('region_path',)),
    ("stats_snapshotasset", "id", ('region_path',)),
    ("stats_snapshotmeasure", "id", ('region_path',)),
    ("stats_snapshotregionmeasure", "id", ('region_path',)),
    ("stats_snapshotbalance", "id", ('region_path',)),
    ("stats_snapshotschoolquota", "id", ('region_path',)),
    ("stats_snapshotquotacounty", "id", ('region_path',)),
    ("stats_snapshotschoolfunding", "id", ('region_path',)),
    ("stats_snapshotfundingcounty", "id", ('region_path',)),
    ("stats_storedbasetables", "id", ('region_path',)),
    ("students_changerequest", "id", ('from_path', 'to_path')),
    ("staff_stafftransfer", "id", ('from_path', 'to_path')),
]


def index_name(table: str) -> str:
    return f"{table}_node_ident"[:63]


def add_replica_identity(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, pk, columns in FILTERED_TABLES:
            name = index_name(table)
            cursor.execute(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
                [name])
            row = cursor.fetchone()
            if row is not None and not row[0]:
                cursor.execute(f'DROP INDEX CONCURRENTLY "{name}"')
                row = None
            if row is None:
                cols = ", ".join(f'"{c}"' for c in (pk, *columns))
                cursor.execute(f'CREATE UNIQUE INDEX CONCURRENTLY "{name}" ON "{table}" ({cols})')
            cursor.execute(f'ALTER TABLE "{table}" REPLICA IDENTITY USING INDEX "{name}"')


def drop_replica_identity(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, _pk, _columns in FILTERED_TABLES:
            cursor.execute(f'ALTER TABLE "{table}" REPLICA IDENTITY DEFAULT')
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index_name(table)}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("nodes", "0001_initial"),
        ("assets", "0001_initial"),
        ("facilities", "0004_list_order_indexes"),
        ("history", "0003_append_only_marks_and_feed_txid"),
        ("orgs", "0001_initial"),
        ("reporting", "0001_forms_tasks_submissions_review"),
        ("staff", "0003_staff_name_search"),
        ("stats", "0018_snapshot_census_signoff"),
        ("students", "0010_class_list_order_index"),
    ]

    operations = [migrations.RunPython(add_replica_identity, drop_replica_identity, elidable=False)]
