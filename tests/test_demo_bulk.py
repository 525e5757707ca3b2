"""The bulk path of the demo generator (``generate_demo --bulk``; ``--scale province`` is this path at
full size), run here at a tiny size through the very same code: the records it writes are valid for
the register, have the shape of the default generator's, and the schema ends as the migrations made it.

The bulk path is PostgreSQL-only (it draws the students inside the server): on SQLite the command
refuses ``--bulk`` and the demo keeps the normal path, which ``tests/test_demo_students.py`` covers.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.test import override_settings

from eduplatform.core import crypto
from eduplatform.core.identity import id_index
from eduplatform.demo import bulk
from eduplatform.demo import staff as demo_staff
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.stages import Stage
from eduplatform.staff.models import StaffMember
from eduplatform.standards.validators import (
    mask_id_number,
    validate_id_number,
    validate_student_number,
)
from eduplatform.stats.models import (
    COUNTY_PATH_LENGTH,
    Snapshot,
    StudentCountyRollup,
    StudentRollup,
)
from eduplatform.students.grades import BY_CODE
from eduplatform.students.models import Enrolment, SchoolClass, Student
from eduplatform.students.services import current_school_year

pytestmark = pytest.mark.django_db
SCALE, STUDENTS, SEED = "0.002", "0.02", 2026
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk path runs on PostgreSQL only")


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    """A tiny province written by the bulk path, once for the module, rolled back afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("the bulk path runs on PostgreSQL only")
    # The demo accounts' passwords are hashed with MD5 here, as conftest does for every test (Argon2
    # is the production hasher): a module fixture runs before that function-scoped override.
    with django_db_blocker.unblock(), transaction.atomic(), override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        tables = (*bulk.STUDENT_TABLES, "staff_staffmember")
        with connection.cursor() as cursor:
            before = bulk._catalogue(cursor, tables)
        out = io.StringIO()
        call_command("generate_demo", "--scale", SCALE, "--students", STUDENTS, "--bulk", stdout=out)
        with connection.cursor() as cursor:
            after = bulk._catalogue(cursor, tables)
        # The plan again, as the generator made it (same seeds): what the records must hold.
        planned = bulk.plan(scale=float(STUDENTS), seed=SEED)
        yield {"before": before, "after": after, "output": out.getvalue(), "planned": planned}
        transaction.set_rollback(True)


@on_postgresql
def test_every_planned_class_holds_its_students_with_one_active_enrolment_each(generated):
    planned = generated["planned"]
    assert Student.objects.count() == Enrolment.objects.count() == sum(p.klass.size for p in planned) > 1000
    assert Enrolment.objects.filter(is_active=True, status="01").count() == Enrolment.objects.count()
    assert not Student.objects.annotate(n=Count("enrolments")).exclude(n=1).exists()
    year = current_school_year(dt.date.today())
    sizes = Counter(Enrolment.objects.filter(school_class__school_year=year).values_list(
        "school_id", "school_class__grade", "school_class__number", "grade"))
    assert sizes == Counter({(p.school.pk, p.klass.grade.code, p.klass.number, p.klass.grade.code): p.klass.size
                             for p in planned})
    assert SchoolClass.objects.count() == len(planned)
    # A student's own school and path are its enrolment's.
    mismatched = Enrolment.objects.raw(
        "SELECT e.id FROM students_enrolment e JOIN students_student s ON s.id = e.student_id"
        " WHERE s.school_id <> e.school_id OR s.region_path <> e.region_path")
    assert list(mismatched) == []


@on_postgresql
def test_students_hold_sealed_valid_id_numbers_and_the_rest_unique_temporary_numbers(generated):
    rows = list(Student.objects.values_list("student_number", "birth_date", "gender", "birthplace_code", "id_type",
                                            "id_number_cipher", "id_number_index", "id_number_masked",
                                            "school__region_path"))
    numbers = [r[0] for r in rows]
    assert len(set(numbers)) == len(numbers)
    undocumented = 0
    for number, birth, gender, birthplace, id_type, cipher, index, masked, path in rows:
        assert validate_student_number(number) == number
        if id_type == "Z":  # no ID card: a temporary L number of the school's county, as the register issues
            undocumented += 1
            assert number[0] == "L" and (cipher, index, masked) == ("", "", "")
            assert number[1:7] == path.rstrip("/").split("/")[-1][:6]
            assert number[7:15] == f"{birth:%Y%m%d}"
            continue
        # A resident ID card: valid, agreeing with the record, sealed as the services seal it.
        id_number = crypto.decrypt(cipher)
        assert (id_type, number) == ("1", "G" + id_number)
        assert validate_id_number(id_number) == id_number
        assert id_number[:6] == birthplace and id_number[6:14] == f"{birth:%Y%m%d}"
        assert int(id_number[16]) % 2 == (gender == "1")
        assert index == id_index("1", id_number) and masked == mask_id_number(id_number)
    # About 0.5 % without a card (a seeded draw: at this size a handful, never none or most).
    assert 0 < undocumented < 0.03 * len(rows)


@on_postgresql
def test_students_have_an_address_in_their_schools_town_and_a_guardian_with_a_sealed_phone(generated):
    rows = list(Student.objects.values_list("name", "home_address", "guardians", "school__region__name"))
    blank_address = blank_guardian = 0
    for name, address, guardians, town in rows:
        if not address:
            blank_address += 1
        else:
            assert town in address and len(address) > len(town) + 3
        if not guardians:
            blank_guardian += 1
            continue
        (guardian,) = guardians
        assert guardian["relation"] in ("父亲", "母亲") and len(guardian["name"]) >= 2
        if guardian["relation"] == "父亲":  # the father gives the child its surname
            assert guardian["name"][0] == name[0]
        phone = crypto.decrypt(guardian["phone_cipher"])
        assert len(phone) == 11 and phone[0] == "1" and guardian["phone_masked"] == crypto.mask_phone(phone)
    # 0.1 % left blank for the completeness figures to find: at this size at most a few.
    assert blank_address < 0.01 * len(rows) and blank_guardian < 0.01 * len(rows)


@on_postgresql
def test_sexes_and_ages_have_the_default_generators_shape(generated):
    year = current_school_year(dt.date.today())
    census = dt.date(year, 9, 1)
    offsets: Counter = Counter()
    male = 0
    rows = list(Enrolment.objects.values_list("grade", "student__birth_date", "student__gender", "stage"))
    for grade, birth, gender, stage in rows:
        age = census.year - birth.year - ((census.month, census.day) < (birth.month, birth.day))
        offset = age - BY_CODE[grade].typical_age
        allowed = range(-1, 4) if stage == Stage.SPECIAL else (-1, 0, 1, 3, 4, 5)
        assert offset in allowed, (grade, birth)
        offsets[offset] += 1
        male += gender == "1"
    n = len(rows)
    assert 0.47 < male / n < 0.57  # 52 % male
    assert 0.85 < offsets[0] / n < 0.97  # ~92 % at the typical age, ~6 % a year older, ~2 % younger
    assert 0.03 < offsets[1] / n < 0.10 and 0.005 < offsets[-1] / n < 0.05
    # Birthdays spread over the year rather than bunched on a few days.
    assert len({b for _g, b, _s, _t in rows}) > n / 5


@on_postgresql
def test_every_school_has_its_staff_by_the_demo_rule(generated):
    students = dict(Enrolment.objects.values("school_id").annotate(n=Count("pk")).values_list("school_id", "n"))
    teachers = dict(StaffMember.objects.filter(post_category="1", unit_kind=OrgKind.SCHOOL).values("unit_id")
                    .annotate(n=Count("pk")).values_list("unit_id", "n"))
    schools = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True, stage_mask__gt=0)
    for school in schools:
        ratio = demo_staff._BY_STAGE[demo_staff._first_stage(school.stage_mask)][0]
        assert teachers.get(school.pk) == max(2, round(students.get(school.pk, 0) / ratio)), school.name
    assert StaffMember.objects.filter(unit_kind=OrgKind.BUREAU).exists()
    numbers = list(StaffMember.objects.values_list("staff_number", flat=True))
    assert len(set(numbers)) == len(numbers)
    assert StaffMember.objects.exclude(id_number_index="").count() == len(numbers)


@on_postgresql
def test_the_schema_ends_exactly_as_the_migrations_made_it(generated):
    assert generated["after"] == generated["before"]
    constraints, indexes = generated["after"]
    assert any(kind == "f" for *_r, kind in constraints) and len(indexes) >= 8
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND NOT convalidated",
                       [list(bulk.STUDENT_TABLES)])
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = ANY(%s::regclass[]) AND NOT indisvalid",
                       [list(bulk.STUDENT_TABLES)])
        assert cursor.fetchone()[0] == 0


@on_postgresql
def test_roll_ups_and_the_census_snapshot_count_every_student(generated):
    students = Student.objects.count()
    assert StudentRollup.objects.aggregate(n=Sum("enrolled"))["n"] == students
    per_county: Counter = Counter()
    for path, n in StudentRollup.objects.values_list("region_path", "enrolled"):
        per_county[path[:COUNTY_PATH_LENGTH]] += n
    assert Counter(dict(StudentCountyRollup.objects.values("region_path").annotate(n=Sum("enrolled"))
                        .values_list("region_path", "n"))) == per_county
    snapshot = Snapshot.objects.get()
    assert snapshot.totals["students"] == students and snapshot.census_date.month == 9
    assert "统计快照" in generated["output"] and "索引与约束" in generated["output"]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="on PostgreSQL the bulk path runs (tests above)")
def test_on_sqlite_the_bulk_path_is_refused_and_the_demo_keeps_the_normal_path(db):
    for args in (("--scale", "province"), ("--scale", SCALE, "--bulk")):
        with pytest.raises(CommandError, match="PostgreSQL"):
            call_command("generate_demo", *args, stdout=io.StringIO())
    assert not Organization.objects.filter(kind=OrgKind.SCHOOL).exists()
    assert not Student.objects.exists()
