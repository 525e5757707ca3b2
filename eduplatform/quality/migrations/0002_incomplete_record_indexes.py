"""Partial indexes holding only the records that lack a required field (``quality.progress.REQUIRED``):
the progress pages count incomplete records with one aggregate that reads these indexes, so its cost
follows the incomplete records (few, once a region's data is clean), not the 27 million complete
ones. The predicates must stay equal to ``progress.missing`` (tests/test_quality_progress.py checks
them). Plain SQL, the same on PostgreSQL and SQLite; no model state changes.
"""

from django.db import migrations

INDEXES = {
    "quality_incomplete_students": ("students_student", "school_id",
                                    "name = '' OR gender = '' OR ethnicity = ''"),
    "quality_incomplete_staff": ("staff_staffmember", "unit_id",
                                 "name = '' OR gender = '' OR ethnicity = '' OR education_level = ''"
                                 " OR establishment = ''"),
    "quality_incomplete_buildings": ("facilities_building", "school_id",
                                     "number = '' OR name = '' OR use_code = '' OR structure = ''"
                                     " OR property_right = ''"),
    "quality_incomplete_equipment": ("assets_equipment", "school_id", "asset_number = '' OR category = '' OR name = ''"),
}


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0001_initial"),
        ("students", "0010_class_list_order_index"),
        ("staff", "0003_staff_name_search"),
        ("facilities", "0004_list_order_indexes"),
        ("assets", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(f"CREATE INDEX {name} ON {table} ({column}) WHERE ({predicate})",
                          f"DROP INDEX {name}")
        for name, (table, column, predicate) in INDEXES.items()
    ]
