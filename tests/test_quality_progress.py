"""Database-building progress (建库进度): the figures equal an independent count from the records —
at every level, right after a write — and a county sees nothing of another's."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client

from eduplatform.assets import services as assets
from eduplatform.facilities import services as facilities
from eduplatform.history.services import mark_schools_dirty
from eduplatform.orgs.models import Region
from eduplatform.quality import progress, required
from eduplatform.quality.models import Database, QualityIssue, Severity
from eduplatform.staff import services as staff
from eduplatform.stats import rollup
from eduplatform.students import services as students
from eduplatform.students.models import Student
from tests.assets_support import line
from tests.facilities_support import building_row
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.world import LEAK_MARKER_B

PROVINCE, CITY_GZ, COUNTY_A, COUNTY_B = "440000000000", "440100000000", "440106000000", "440104000000"

# Independent counts: raw SQL over the base tables, per region prefix (nothing from quality.progress).
RAW = {
    Database.STUDENTS: "SELECT count(*) FROM students_enrolment WHERE is_active AND region_path LIKE %s",
    Database.STAFF: "SELECT count(*) FROM staff_staffmember WHERE is_active AND unit_kind = 'school'"
                    " AND post_category IN ('1','2','3','4','5') AND region_path LIKE %s",
    Database.FACILITIES: "SELECT count(*) FROM facilities_building WHERE demolished_on IS NULL AND region_path LIKE %s",
    Database.ASSETS: "SELECT count(*) FROM assets_equipment WHERE disposed_on IS NULL AND region_path LIKE %s",
    Database.SCHOOLS: "SELECT count(*) FROM orgs_organization WHERE kind = 'school' AND is_open AND region_path LIKE %s",
}
RAW_SCHOOLS_WITH = {
    Database.STUDENTS: "SELECT count(DISTINCT school_id) FROM students_enrolment WHERE is_active AND region_path LIKE %s",
    Database.STAFF: "SELECT count(DISTINCT unit_id) FROM staff_staffmember WHERE is_active AND unit_kind = 'school'"
                    " AND post_category IN ('1','2','3','4','5') AND region_path LIKE %s",
    Database.FACILITIES: "SELECT count(DISTINCT school_id) FROM facilities_building WHERE demolished_on IS NULL"
                         " AND region_path LIKE %s",
    Database.ASSETS: "SELECT count(DISTINCT school_id) FROM assets_equipment WHERE disposed_on IS NULL"
                     " AND region_path LIKE %s",
}
# Required of a pupil (the national register's mandatory items we hold), written out independently.
RAW_INCOMPLETE_STUDENTS = ("SELECT count(*) FROM students_enrolment e JOIN students_student s ON s.id = e.student_id"
                           " WHERE e.is_active AND (s.ethnicity = '' OR s.name = '' OR s.gender = ''"
                           " OR s.nationality = '' OR (s.id_type = '1' AND s.id_number_cipher = '')"
                           " OR s.home_address = '' OR s.guardians = '[]') AND e.region_path LIKE %s")


def raw(sql: str, path: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, [path + "%"])
        return cursor.fetchone()[0]


def path_of(code: str) -> str:
    return Region.objects.get(code=code).path


def committed(capture, write):
    """Run ``write`` and its after-commit hooks (the roll-up refresh) as a real commit would."""
    with capture(execute=True):
        return write()


def plant(school, update) -> None:
    """A change written around the services (an old import, a bulk load): like every writer it
    marks its school, and the refresh that its commit would run follows (called directly: the test's
    transaction never commits). In a block of its own, as the writers' services are: a later write
    must not join the refresh this one scheduled."""
    with transaction.atomic():
        update()
        mark_schools_dirty([school.pk])
    rollup.refresh_schools([school.pk])


@pytest.fixture
def records(world, django_capture_on_commit_callbacks):
    """Students, staff, buildings and equipment in two schools of county A and one of county B,
    written through the services (so the roll-ups are refreshed after each commit)."""
    county_a, county_b = world.user("county_a_stat"), world.user("county_b_stat")
    c = django_capture_on_commit_callbacks
    for seq in (1, 2, 3):
        committed(c, lambda seq=seq: students.enrol_student(actor=county_a, school=world.school_a1,
                                                            data=student_row(seq)))
    committed(c, lambda: students.enrol_student(actor=county_a, school=world.school_a2,
                                                data=student_row(4, grade="小班")))
    for seq in (5, 6):
        committed(c, lambda seq=seq: students.enrol_student(actor=county_b, school=world.school_b1,
                                                            data=student_row(seq)))
    for seq in (1, 2):
        committed(c, lambda seq=seq: staff.hire(actor=county_a, unit=world.school_a1, data=staff_row(seq)))
    committed(c, lambda: staff.hire(actor=county_b, unit=world.school_b1, data=staff_row(3)))
    for seq in (1, 2):
        committed(c, lambda seq=seq: facilities.create_building(actor=county_a, school=world.school_a1,
                                                                data=building_row(seq)))
    committed(c, lambda: assets.create_equipment(actor=county_a, school=world.school_a1, data=line("A-1")))
    # A record the national register would refuse: one pupil of a1 without 民族 (planted, as an old
    # import or a bulk load would leave it — and, like every writer, mark its school for the refresh).
    plant(world.school_a1, lambda: Student.objects.filter(name="测试学生2").update(ethnicity=""))
    return world


def assert_matches_raw(row: progress.Row, path: str) -> None:
    for database, sql in RAW.items():
        assert row.cells[database].records == raw(sql, path), (database, path)
    for database, sql in RAW_SCHOOLS_WITH.items():
        assert row.cells[database].with_data == raw(sql, path), (database, path)
    expected = raw(RAW[Database.SCHOOLS], path)
    assert all(row.cells[d].expected == expected for d in progress.DATABASES)
    assert row.cells[Database.STUDENTS].incomplete == raw(RAW_INCOMPLETE_STUDENTS, path)


@pytest.mark.django_db
def test_progress_figures_equal_an_independent_count_at_every_level(records):
    province = records.user("province")
    cities = {r.code: r for r in progress.child_rows(province, Region.objects.get(code=PROVINCE))}
    assert len(cities) == 21
    assert_matches_raw(cities[CITY_GZ], path_of(CITY_GZ))
    counties = {r.code: r for r in progress.child_rows(province, Region.objects.get(code=CITY_GZ))}
    assert_matches_raw(counties[COUNTY_A], path_of(COUNTY_A))
    assert_matches_raw(counties[COUNTY_B], path_of(COUNTY_B))
    whole = progress.region_total(province, Region.objects.get(code=PROVINCE))
    assert_matches_raw(whole, path_of(PROVINCE))
    # The page's total is the sum of its rows: the same figures.
    summed = progress.total_of(Region.objects.get(code=PROVINCE), list(cities.values()))
    assert {d: (c.expected, c.with_data, c.records, c.incomplete) for d, c in summed.cells.items()} == \
        {d: (c.expected, c.with_data, c.records, c.incomplete) for d, c in whole.cells.items()}
    # The figures are not trivially zero: what the fixture wrote is there.
    a = counties[COUNTY_A].cells
    assert (a[Database.STUDENTS].records, a[Database.STAFF].records, a[Database.FACILITIES].records,
            a[Database.ASSETS].records) == (4, 2, 2, 1)
    assert a[Database.STUDENTS].incomplete == 1 and a[Database.STUDENTS].complete == 75.0
    assert a[Database.FACILITIES].with_data == 1 and a[Database.FACILITIES].coverage == round(100 / 3, 1)


@pytest.mark.django_db
def test_school_rows_and_the_school_page_count_each_schools_own_records(records):
    county = records.user("county_a_stat")
    town = Region.objects.get(path=records.school_a1.region_path)
    rows = {r.school_id: r for r in progress.school_rows(county, town)}
    a1 = rows[records.school_a1.pk].cells
    assert a1[Database.STUDENTS].records == raw(RAW[Database.STUDENTS].replace("region_path LIKE %s",
                                                                               f"school_id = {records.school_a1.pk}"
                                                                               " AND region_path LIKE %s"), "")
    assert a1[Database.STUDENTS].records == 3 and a1[Database.STUDENTS].incomplete == 1
    row, gaps = progress.school_detail(county, records.school_a1)
    assert row.cells[Database.STAFF].records == 2
    assert dict(gaps[Database.STUDENTS])["民族"] == 1 and dict(gaps[Database.STUDENTS])["姓名"] == 0


@pytest.mark.django_db
def test_the_progress_figure_and_the_completeness_rule_count_the_same_missing_fields(records):
    """One definition of 必填项: what the school page counts as missing per field is what the
    completeness rule reports, and a record the rule names is one the figure counts incomplete."""
    from eduplatform.quality.engine import scan_findings
    from eduplatform.quality.rules import ScanScope

    plant(records.school_a1, lambda: Student.objects.filter(name="测试学生1").update(home_address="", guardians=[]))
    county = records.user("county_a_stat")
    row, gaps = progress.school_detail(county, records.school_a1)
    labels = {f.name: str(f.label) for f in required.REQUIRED[Database.STUDENTS]}
    found = {f.evidence["field"]: f.evidence["missing"]
             for f in scan_findings(ScanScope("", (records.school_a1.pk,)), ["S_REQUIRED_MISSING"])}
    assert found == {"ethnicity": 1, "home_address": 1, "guardians": 1}
    assert {name: n for name, n in ((k, dict(gaps[Database.STUDENTS])[v]) for k, v in labels.items()) if n} == found
    # Two pupils of a1 lack something (one 民族, one address and guardians): 1 of 3 complete.
    assert row.cells[Database.STUDENTS].incomplete == 2


@pytest.mark.django_db
def test_a_write_shows_in_the_progress_right_after_its_commit(records, django_capture_on_commit_callbacks):
    county = records.user("county_a_stat")
    city = Region.objects.get(code=CITY_GZ)
    before = {r.code: r for r in progress.child_rows(records.user("province"), city)}[COUNTY_A]
    committed(django_capture_on_commit_callbacks, lambda: students.enrol_student(
        actor=county, school=records.school_a2, data=student_row(7, grade="小班")))
    committed(django_capture_on_commit_callbacks, lambda: facilities.create_building(
        actor=county, school=records.school_a2, data=building_row(9)))
    after = {r.code: r for r in progress.child_rows(records.user("province"), city)}[COUNTY_A]
    assert after.cells[Database.STUDENTS].records == before.cells[Database.STUDENTS].records + 1
    assert after.cells[Database.FACILITIES].with_data == before.cells[Database.FACILITIES].with_data + 1
    assert_matches_raw(after, path_of(COUNTY_A))
    assert after.cells[Database.FACILITIES].last_update is not None  # the feed entry of the write


@pytest.mark.django_db
def test_open_issues_are_counted_by_database_and_severity(records):
    a1 = records.school_a1
    student = Student.objects.filter(name="测试学生1").first()

    def issue(fingerprint, severity, status="open", database=Database.STUDENTS):
        return QualityIssue.objects.create(rule="S_ID_INVALID", severity=severity, database=database, status=status,
                                           school=a1, region_path=a1.region_path, object_type="students.student",
                                           object_id=student.pk, fingerprint=fingerprint, message="planted")

    issue("e1", Severity.ERROR)
    issue("e2", Severity.ERROR, status="explained")
    issue("w1", Severity.WARNING)
    issue("gone", Severity.ERROR, status="resolved")
    rows = {r.code: r for r in progress.child_rows(records.user("province"), Region.objects.get(code=CITY_GZ))}
    cell = rows[COUNTY_A].cells[Database.STUDENTS]
    assert (cell.errors, cell.warnings) == (2, 1)
    assert rows[COUNTY_B].errors == 0


def login(world, key: str) -> Client:
    client = Client()
    client.force_login(world.user(key))
    return client


@pytest.mark.django_db
def test_the_progress_pages_render_for_the_province_and_export_the_ranking(records):
    client = login(records, "province")
    page = client.get("/progress/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "广州市" in body and "progress-map" in body and "建库进度" in body
    city = client.get(f"/progress/?region={CITY_GZ}&sort=-students.coverage")
    assert city.status_code == 200 and "天河区" in city.content.decode()
    export = client.get(f"/progress/?region={CITY_GZ}&format=xlsx")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    town = Region.objects.get(path=records.school_a1.region_path)
    schools = client.get(f"/progress/?region={town.code}")
    assert records.school_a1.name in schools.content.decode()
    school = client.get(f"/progress/school/{records.school_a1.pk}/")
    assert school.status_code == 200 and "民族" in school.content.decode()


@pytest.mark.django_db
def test_county_b_sees_nothing_of_county_a(records):
    client = login(records, "county_b_stat")
    assert client.get(f"/progress/?region={COUNTY_A}").status_code == 404
    assert client.get(f"/progress/school/{records.school_a1.pk}/").status_code == 404
    own = client.get("/progress/").content.decode()
    assert records.school_a1.name not in own and "天河" not in own
    rows = progress.child_rows(records.user("county_b_stat"), Region.objects.get(code=CITY_GZ))
    a = {r.code: r for r in rows}[COUNTY_A]
    assert all(c.records == 0 and c.expected == 0 for c in a.cells.values())


@pytest.mark.django_db
def test_a_school_user_is_sent_to_its_own_school_page(records):
    client = login(records, "clerk_a1")
    answer = client.get("/progress/")
    assert answer.status_code == 302 and answer["Location"].endswith(f"/progress/school/{records.school_a1.pk}/")
    assert client.get(f"/progress/school/{records.school_b1.pk}/").status_code == 404
    assert LEAK_MARKER_B not in client.get(answer["Location"]).content.decode()


def test_the_incomplete_record_indexes_hold_exactly_the_required_fields():
    """The partial indexes of the latest migration must cover what ``required.missing`` asks, or
    the completeness aggregate silently falls back to reading every record."""
    import importlib

    indexes = importlib.import_module("eduplatform.quality.migrations.0003_required_fields_one_definition").INDEXES
    by_table = {(table, column): predicate for table, column, predicate in indexes.values()}
    for database, (table, column) in required.INDEXED_TABLES.items():
        assert by_table[(table, column)] == required.index_predicate(database), database
    assert len(by_table) == len(required.INDEXED_TABLES)
