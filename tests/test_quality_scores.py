"""Quality scores: the share of records without an open error, per school and every region level,
from planted issues; a rerun of the same day replaces it; a county sees only its own."""

from __future__ import annotations

import datetime as dt
import decimal
import io

import pytest
from django.core.management import call_command
from django.test import Client

from eduplatform.orgs.models import Region
from eduplatform.quality.models import Database, QualityIssue, QualityScore, Severity
from eduplatform.quality.scores import compute_scores, daily_scores, score_of
from eduplatform.students import services as students
from eduplatform.students.models import Student
from tests.world import LEAK_MARKER_B

DAY = dt.date(2026, 12, 1)


def committed(capture, write):
    with capture(execute=True):
        return write()


@pytest.fixture
def planted(world, django_capture_on_commit_callbacks):
    """Four pupils at a1 and two at b1, and issues: two errors on the same pupil (one record), an
    error on a second pupil, a warning on a third, a resolved error on the fourth; one error at b1."""
    from tests.students_support import student_row

    county_a, county_b = world.user("county_a_stat"), world.user("county_b_stat")
    for seq in (1, 2, 3, 4):
        committed(django_capture_on_commit_callbacks, lambda seq=seq: students.enrol_student(
            actor=county_a, school=world.school_a1, data=student_row(seq)))
    for seq in (5, 6):
        committed(django_capture_on_commit_callbacks, lambda seq=seq: students.enrol_student(
            actor=county_b, school=world.school_b1, data=student_row(seq)))
    pupil = {s.name: s for s in Student.objects.all()}

    def issue(school, name, fingerprint, severity=Severity.ERROR, status="open", rule="S_ID_INVALID"):
        return QualityIssue.objects.create(
            rule=rule, severity=severity, database=Database.STUDENTS, status=status, school=school,
            region_path=school.region_path, object_type="students.student", object_id=pupil[name].pk,
            fingerprint=fingerprint, message="planted")

    issue(world.school_a1, "测试学生1", "a", rule="S_ID_INVALID")
    issue(world.school_a1, "测试学生1", "b", rule="S_DUP_PERSON", status="explained")
    issue(world.school_a1, "测试学生2", "c")
    issue(world.school_a1, "测试学生3", "d", severity=Severity.WARNING, rule="S_AGE_GRADE")
    issue(world.school_a1, "测试学生4", "e", status="resolved")
    issue(world.school_b1, "测试学生5", "f")
    # A school-level error (no record): the school register's one record of a1.
    QualityIssue.objects.create(rule="O_NO_TEACHERS", severity=Severity.ERROR, database=Database.SCHOOLS,
                                school=world.school_a1, region_path=world.school_a1.region_path,
                                object_type="orgs.organization", fingerprint="g", message="planted")
    return world


def row(path: str, database: str, school_id: int = 0, day: dt.date = DAY) -> QualityScore:
    return QualityScore.objects.get(day=day, region_path=path, school_id=school_id, database=database)


def test_score_is_the_share_of_records_without_an_open_error():
    assert score_of(4, 2) == decimal.Decimal("50.00")
    assert score_of(3, 1) == decimal.Decimal("66.67")
    assert score_of(0, 0) == decimal.Decimal("100")
    assert score_of(2, 5) == decimal.Decimal("0.00")  # never below zero


@pytest.mark.django_db
def test_scores_of_schools_and_every_region_level_from_planted_issues(planted):
    compute_scores(DAY)
    a1, b1 = planted.school_a1, planted.school_b1
    school = row(a1.region_path, Database.STUDENTS, a1.pk)
    assert (school.records, school.records_with_errors, school.score) == (4, 2, decimal.Decimal("50.00"))
    assert row(a1.region_path, Database.SCHOOLS, a1.pk).records_with_errors == 1
    county_a = Region.objects.get(code="440106000000").path
    town_a = a1.region_path
    for path in (town_a, county_a):
        r = row(path, Database.STUDENTS)
        assert (r.records, r.records_with_errors) == (4, 2)
    city = row(Region.objects.get(code="440100000000").path, Database.STUDENTS)
    assert (city.records, city.records_with_errors, city.score) == (6, 3, decimal.Decimal("50.00"))
    province = row("44/", Database.STUDENTS)
    assert (province.records, province.records_with_errors) == (6, 3)
    b = row(b1.region_path, Database.STUDENTS, b1.pk)
    assert (b.records, b.records_with_errors, b.score) == (2, 1, decimal.Decimal("50.00"))


@pytest.mark.django_db
def test_a_rerun_of_the_same_day_replaces_its_scores(planted):
    first = compute_scores(DAY)
    assert compute_scores(DAY) == first
    assert QualityScore.objects.filter(day=DAY).count() == first
    QualityIssue.objects.filter(fingerprint="c").update(status="resolved")
    compute_scores(DAY)
    assert QualityScore.objects.filter(day=DAY).count() == first
    assert row(planted.school_a1.region_path, Database.STUDENTS, planted.school_a1.pk).records_with_errors == 1
    # Another day is another row: the timeline keeps both.
    compute_scores(DAY + dt.timedelta(days=1))
    assert QualityScore.objects.filter(region_path="44/", school_id=0, database=Database.STUDENTS).count() == 2


@pytest.mark.django_db
def test_the_command_and_the_daily_job_write_the_days_scores(planted):
    call_command("quality_scores", "--day", DAY.isoformat(), stdout=io.StringIO())
    assert row("44/", Database.STUDENTS).records == 6
    daily_scores.call((DAY + dt.timedelta(days=1)).isoformat())  # what the worker runs
    assert row("44/", Database.STUDENTS, day=DAY + dt.timedelta(days=1)).records == 6


@pytest.mark.django_db
def test_score_pages_show_a_county_only_its_own(planted):
    compute_scores(DAY)
    province = Client()
    province.force_login(planted.user("province"))
    page = province.get("/progress/scores/?region=440100000000")
    assert page.status_code == 200 and "天河区" in page.content.decode() and "越秀区" in page.content.decode()
    county_b = Client()
    county_b.force_login(planted.user("county_b_stat"))
    assert county_b.get("/progress/scores/?region=440106000000").status_code == 404
    own = county_b.get("/progress/scores/").content.decode()
    assert "天河" not in own and planted.school_a1.name not in own
    town = Region.objects.get(path=planted.school_b1.region_path)
    schools = county_b.get(f"/progress/scores/?region={town.code}").content.decode()
    assert LEAK_MARKER_B in schools and planted.school_a1.name not in schools
    school = county_b.get(f"/progress/school/{planted.school_b1.pk}/")
    assert school.status_code == 200 and "50.00" in school.content.decode()


@pytest.mark.django_db
def test_old_daily_scores_thin_to_one_day_a_month_and_recent_ones_stay(planted):
    from eduplatform.quality.scores import prune_scores

    today = dt.date(2026, 12, 1)
    days = [today - dt.timedelta(days=n) for n in range(0, 200, 3)]  # every third day for 200 days
    for day in days:
        QualityScore.objects.create(day=day, region_path="44/", school_id=0, database=Database.STUDENTS,
                                    records=10, records_with_errors=1, score=score_of(10, 1))
    deleted = prune_scores(today, daily_days=60)
    kept = sorted(QualityScore.objects.values_list("day", flat=True))
    recent = [d for d in days if d >= today - dt.timedelta(days=60)]
    older = [d for d in days if d < today - dt.timedelta(days=60)]
    firsts = sorted({min(d for d in older if (d.year, d.month) == ym) for ym in {(d.year, d.month) for d in older}})
    assert kept == sorted(recent + firsts)
    assert deleted == len(days) - len(kept) > 0
    assert prune_scores(today, daily_days=60) == 0  # nothing more to thin
