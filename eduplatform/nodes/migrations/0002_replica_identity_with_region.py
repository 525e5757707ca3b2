"""Replica identity with the region on every table a city node receives filtered (decision 0007).

How (``_identity``): a unique index on (primary key, region columns), built CONCURRENTLY, and
REPLICA IDENTITY USING INDEX (figures in docs/nodes.md). PostgreSQL only: SQLite has no logical
replication.

The list is frozen here; a table added to nodes/plan.py later gets its own migration.
"""

from django.db import migrations

from eduplatform.nodes.migrations import _identity

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


index_name = _identity.index_name
add_replica_identity = _identity.adder(FILTERED_TABLES)
drop_replica_identity = _identity.dropper(FILTERED_TABLES)


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
