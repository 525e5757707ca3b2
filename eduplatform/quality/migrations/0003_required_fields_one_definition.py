"""The partial indexes of incomplete records follow the one definition of required fields
(``quality.required``), which now joins the progress figure's short lists and the completeness
rules' lists (students: nationality, ID number of an ID-card holder, home address, guardians; staff:
first employment, subjects and teaching stage of full-time teachers; buildings: floors, safety
inspection, seismic category; equipment: funding, acquisition, use, status).

The predicates are written out here (a migration must not change when the code does);
``tests/test_quality_progress.py`` checks they equal ``required.index_predicate``. Plain SQL, the
same on PostgreSQL and SQLite.
"""

from django.db import migrations

OLD = {
    "quality_incomplete_students": ("students_student", "school_id", "name = '' OR gender = '' OR ethnicity = ''"),
    "quality_incomplete_staff": ("staff_staffmember", "unit_id",
                                 "name = '' OR gender = '' OR ethnicity = '' OR education_level = ''"
                                 " OR establishment = ''"),
    "quality_incomplete_buildings": ("facilities_building", "school_id",
                                     "number = '' OR name = '' OR use_code = '' OR structure = ''"
                                     " OR property_right = ''"),
    "quality_incomplete_equipment": ("assets_equipment", "school_id", "asset_number = '' OR category = '' OR name = ''"),
}

INDEXES = {
    "quality_incomplete_students": (
        "students_student", "school_id",
        "name = '' OR gender = '' OR ethnicity = '' OR nationality = '' OR (id_type = '1' AND id_number_cipher = '')"
        " OR home_address = '' OR guardians = '[]'"),
    "quality_incomplete_staff": (
        "staff_staffmember", "unit_id",
        "name = '' OR gender = '' OR ethnicity = '' OR education_level = '' OR establishment = ''"
        " OR first_employed_on IS NULL OR (post_category = '1' AND subjects = '')"
        " OR (post_category = '1' AND teaching_stage = '')"),
    "quality_incomplete_buildings": (
        "facilities_building", "school_id",
        "number = '' OR name = '' OR use_code = '' OR structure = '' OR property_right = '' OR floors_above IS NULL"
        " OR safety_inspection = '' OR seismic_category = ''"),
    "quality_incomplete_equipment": (
        "assets_equipment", "school_id",
        "asset_number = '' OR category = '' OR name = '' OR funding_source = '' OR acquisition_mode = ''"
        " OR use_direction = '' OR status = ''"),
}


def _create(indexes: dict) -> list[str]:
    return [f"CREATE INDEX {name} ON {table} ({column}) WHERE ({predicate})"
            for name, (table, column, predicate) in indexes.items()]


class Migration(migrations.Migration):
    dependencies = [("quality", "0002_incomplete_record_indexes")]

    operations = [
        migrations.RunSQL([f"DROP INDEX {name}" for name in INDEXES] + _create(INDEXES),
                          [f"DROP INDEX {name}" for name in OLD] + _create(OLD)),
    ]
