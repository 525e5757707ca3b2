"""Demo students: every school filled through the register service, plausible, valid and idempotent.

One small province (scale 0.002: every county's kindergarten and primary school plus one school of
each other type, about 260 schools and 6,000 students) is generated once for the module through the
command and rolled back afterwards; each test reads it.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from eduplatform.core import crypto
from eduplatform.demo import province
from eduplatform.demo import students as demo_students
from eduplatform.history.models import AuditAction, AuditEntry, ChangeFeedEntry
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.stages import Stage
from eduplatform.standards.validators import id_number_birth_date, id_number_sex, validate_id_number
from eduplatform.students.grades import BY_CODE, grades_for_mask
from eduplatform.students.models import Enrolment, EventKind, SchoolClass, Student, StudentEvent
from eduplatform.students.services import current_school_year

pytestmark = pytest.mark.django_db

SCALE = "0.002"
STUDENTS = "0.02"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The command's output; the data stays in one transaction rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        call_command("generate_demo", "--scale", SCALE, "--students", STUDENTS, stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def age_on_first_september(birth: dt.date, year: int) -> int:
    return year - birth.year - ((birth.month, birth.day) > (9, 1))


def test_command_reports_students_classes_and_time(demo):
    assert f"已生成学生 {Student.objects.count():,} 名" in demo
    assert f"班级 {SchoolClass.objects.count():,} 个" in demo
    assert "用时" in demo
    assert Student.objects.count() > 3000


def test_every_open_school_with_grades_has_students_in_its_own_stages(demo):
    schools = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True)
    with_grades = {s.pk: s for s in schools if grades_for_mask(s.stage_mask)}
    active = Counter(Enrolment.objects.filter(is_active=True).values_list("school_id", flat=True))
    assert set(with_grades) <= set(active)
    for school_id, grade, stage in Enrolment.objects.values_list("school_id", "grade", "stage"):
        assert with_grades[school_id].stage_mask & BY_CODE[grade].stage, (school_id, grade)
        assert stage == BY_CODE[grade].stage


def test_every_grade_of_a_school_has_a_class(demo):
    by_school: dict[int, set[str]] = {}
    for school_id, grade in SchoolClass.objects.values_list("school_id", "grade"):
        by_school.setdefault(school_id, set()).add(grade)
    primary = Organization.objects.filter(kind=OrgKind.SCHOOL, school_type_code="211")
    assert primary.exists()
    for school in primary:
        assert by_school[school.pk] == {"11", "12", "13", "14", "15", "16"}, school.name
    assert not Enrolment.objects.filter(school_class__isnull=True).exists()


def test_ages_fit_the_grades(demo):
    year = current_school_year(timezone.localdate())
    offsets = Counter(
        age_on_first_september(birth, year) - BY_CODE[grade].typical_age
        for birth, grade in Enrolment.objects.values_list("student__birth_date", "grade")
    )
    total = sum(offsets.values())
    within = sum(n for off, n in offsets.items() if -1 <= off <= 4)
    assert within / total >= 0.99, offsets
    assert offsets[0] / total > 0.85, offsets
    # The planted over-age anomaly (+3 … +5, module docstring) is there, and rare.
    assert 0 < sum(n for off, n in offsets.items() if off >= 3) / total < 0.01, offsets


def test_sex_minority_and_migrant_shares_are_plausible(demo):
    total = Student.objects.count()
    male = Student.objects.filter(gender="1").count() / total
    minority = Student.objects.exclude(ethnicity="01").count() / total
    migrant = Student.objects.filter(migrant_child=True).count() / total
    assert 0.48 < male < 0.56
    assert 0.003 <= minority <= 0.03, minority
    assert 0.02 < migrant < 0.35, migrant


def test_id_numbers_decrypt_to_valid_unique_ids_matching_sex_and_birth_date(demo):
    seen = set()
    documented = Student.objects.filter(id_type="1")
    assert documented.exists()
    for number, cipher, gender, birth in documented.values_list(
            "student_number", "id_number_cipher", "gender", "birth_date"):
        plain = crypto.decrypt(cipher)
        assert validate_id_number(plain) == plain
        assert id_number_sex(plain) == gender
        assert id_number_birth_date(plain) == birth
        assert number == "G" + plain
        seen.add(plain)
    assert len(seen) == documented.count()


def test_undocumented_students_get_temporary_numbers(demo):
    undocumented = Student.objects.filter(id_type="Z")
    assert undocumented.exists()
    assert all(n.startswith("L") for n in undocumented.values_list("student_number", flat=True))
    assert not undocumented.exclude(id_number_cipher="").exists()


def test_nobody_holds_two_active_enrolments(demo):
    twice = Enrolment.objects.filter(is_active=True).values("student").annotate(n=Count("id")).filter(n__gt=1)
    assert not twice.exists()
    assert Enrolment.objects.filter(is_active=True).count() == Student.objects.count()


def test_every_student_is_audited_fed_and_has_an_enrol_event(demo):
    students = dict(Student.objects.values_list("pk", "student_number"))
    audited = set(AuditEntry.objects.filter(object_type="students.student", action=AuditAction.CREATE)
                  .values_list("object_id", flat=True))
    fed = set(ChangeFeedEntry.objects.filter(resource="student").values_list("natural_key", flat=True))
    enrolled = set(StudentEvent.objects.filter(kind=EventKind.ENROL).values_list("student_id", flat=True))
    assert {str(pk) for pk in students} <= audited
    assert set(students.values()) <= fed
    assert set(students) <= enrolled
    # The generator acts as each school itself; the demo clerk's school is registered by the clerk.
    names = set(AuditEntry.objects.filter(object_type="students.student").values_list("actor_name", flat=True))
    assert "演示数据生成" in names
    assert any("school_clerk" in n for n in names)


def test_vocational_and_higher_students_have_majors_and_programme_lengths(demo):
    for stage, length, levels in ((Stage.VOCATIONAL, 3, {"5"}), (Stage.HIGHER, None, {"1", "2"})):
        rows = Enrolment.objects.filter(stage=stage)
        assert rows.exists()
        assert not rows.filter(major="").exists()
        assert set(rows.values_list("level", flat=True)) <= levels
        if length:
            assert set(rows.values_list("programme_length", flat=True)) == {length}
    assert not Enrolment.objects.filter(stage=Stage.HIGHER, level="1", grade="54").exists()  # 专科: 3 years


def test_planted_class_size_anomalies_are_in_the_demo_county(demo):
    county = Region.objects.get(code=province.DEMO_COUNTY)
    sizes = [n for (n,) in SchoolClass.objects.filter(region_path__startswith=county.path)
             .annotate(n=Count("enrolments")).values_list("n")]
    assert any(n >= 66 for n in sizes), sizes  # 超大班额
    assert any(56 <= n <= 65 for n in sizes), sizes  # 大班额
    elsewhere = SchoolClass.objects.exclude(region_path__startswith=county.path).annotate(n=Count("enrolments"))
    assert not elsewhere.filter(n__gt=55).exists()


def test_planted_possible_duplicates_are_undocumented_pairs_at_two_schools(demo):
    pairs = (Student.objects.filter(id_type="Z").values("name", "gender", "birth_date")
             .annotate(n=Count("id"), schools=Count("school", distinct=True)).filter(n=2, schools=2))
    assert pairs.exists()
    for pair in pairs:
        a, b = Student.objects.filter(id_type="Z", name=pair["name"], gender=pair["gender"],
                                      birth_date=pair["birth_date"])
        assert {g["name"] for g in a.guardians}.isdisjoint({g["name"] for g in b.guardians})


def test_generating_again_creates_nothing(demo):
    counts = (Student.objects.count(), Enrolment.objects.count(), SchoolClass.objects.count(),
              AuditEntry.objects.count())
    created, _ = province.generate(float(SCALE), 2026)
    summary = demo_students.generate_students(scale=float(STUDENTS), seed=2026)
    assert created == 0 and summary.skipped and summary.students == 0
    assert (Student.objects.count(), Enrolment.objects.count(), SchoolClass.objects.count(),
            AuditEntry.objects.count()) == counts


def test_rows_depend_only_on_the_seed(demo):
    school = Organization.objects.filter(kind=OrgKind.SCHOOL, school_type_code="312").first()
    today = timezone.localdate()

    def rows(seed: int) -> list[dict[str, str]]:
        factory = demo_students._StudentFactory(today=today, origins=demo_students._Origins())
        rng = random.Random(seed)
        plan = demo_students.plan_classes(school, 0.05, rng)
        place = demo_students._place_of(school)
        return [factory.row(rng, school, place, k) for k in plan for _ in range(k.size)]

    assert rows(1) == rows(1)
    assert rows(1) != rows(2)

