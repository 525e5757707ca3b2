"""Home pages by role (issue 16): each role's home shows its own jurisdiction's figures — equal to an
independent count from the records — and nothing of another county.

One small demo province (scale 0.002, with the planted quality anomalies) is generated once for the
module and rolled back afterwards, as in tests/test_demo_facilities.py.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from eduplatform.accounts.models import User
from eduplatform.demo import anomalies
from eduplatform.demo.province import DEMO_COUNTY, OTHER_COUNTY
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.stages import Stage
from eduplatform.quality.models import IssueStatus, QualityIssue
from eduplatform.staff.models import StaffMember
from eduplatform.students.models import Enrolment
from eduplatform.web import inbox

pytestmark = pytest.mark.django_db
# Measured on the small demo (SQLite): 28 queries with the home page's own roll-up figures, 39 with
# quality.progress.region_total (the progress page's figures) merged in.
PROVINCE_HOME_QUERIES = 45


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("generate_demo", "--scale", "0.002", "--students", "0.02", "--anomalies", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


def _home(client, username: str) -> str:
    client.force_login(User.objects.get(username=username))
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _figure(body: str, testid: str) -> int:
    match = re.search(rf'data-testid="{testid}">([\d,]+)<', body)
    assert match, testid
    return int(match.group(1).replace(",", ""))


def _path(code: str) -> str:
    return Region.objects.get(code=code).path


def _students(path: str, **filters) -> int:
    return Enrolment.objects.filter(is_active=True, region_path__startswith=path, **filters).count()


def _teachers(path: str, **filters) -> int:
    return StaffMember.objects.filter(is_active=True, post_category="1", unit_kind=OrgKind.SCHOOL,
                                      region_path__startswith=path, **filters).count()


def _school_names(code: str) -> list[str]:
    return list(Organization.objects.filter(kind=OrgKind.SCHOOL, region_path__startswith=_path(code))
                .values_list("name", flat=True))


def _issue(school: Organization, n: int, *, status=IssueStatus.OPEN, severity="error", database="students") -> QualityIssue:
    return QualityIssue.objects.create(
        rule="S_ID_INVALID", severity=severity, database=database, status=status, school=school,
        region_path=school.region_path, stage_mask=school.stage_mask, object_type="students.student", object_id=n,
        object_label=f"测试学生{n}", fingerprint=f"S_ID_INVALID:students.student:{n}:", message="身份证件号校验位错误")


def test_province_officer_sees_the_provinces_key_figures_from_the_roll_ups(client, demo):
    body = _home(client, "province")
    assert _figure(body, "key-students") == _students("44/")
    assert _figure(body, "key-teachers") == _teachers("44/")
    # 生师比（小学）: the primary row's students and teachers are the records' (任课学段 小学 = "2").
    row = re.search(r'data-ratio="pupil_teacher_primary"><td>[^<]+</td><td class="num">([\d,]+)</td>'
                    r'<td class="num">([\d,]+)</td>\s*<td class="num">([\d.]+):1', body)
    assert row, "no 小学 生师比 row"
    students, teachers, ratio = (int(row.group(1).replace(",", "")), int(row.group(2).replace(",", "")),
                                 float(row.group(3)))
    assert students == _students("44/", stage=Stage.PRIMARY)
    assert teachers == _teachers("44/", teaching_stage="2")
    assert ratio == pytest.approx(students / teachers, abs=0.005)
    # Progress: the schools with student records, against the open schools expected.
    expected = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True).count()
    with_students = Enrolment.objects.filter(is_active=True).values("school_id").distinct().count()
    assert _figure(body, "with-data-students") == with_students < expected  # the planted 空壳学校 has none
    with_staff = (StaffMember.objects.filter(is_active=True, unit_kind=OrgKind.SCHOOL)
                  .values("unit_id").distinct().count())
    assert _figure(body, "with-data-staff") == with_staff


def test_province_home_page_is_a_handful_of_queries_on_the_roll_ups(client, demo):
    client.force_login(User.objects.get(username="province"))
    client.get("/")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) <= PROVINCE_HOME_QUERIES, len(sql)
    # No count over a base table of records: the only reads of one are the progress figures' counts of
    # incomplete records (a required field empty: partial indexes of those rows only, quality 0002).
    for table in ("students_enrolment", "students_student", "staff_staffmember", "facilities_building"):
        for q in sql:
            if f'FROM "{table}"' in q:
                assert "= ''" in q, q


def test_open_issues_are_counted_for_the_jurisdiction_only(client, demo):
    tianhe = anomalies.th_primary()
    futian = anomalies.ft_primary()
    for n in range(3):
        _issue(tianhe, n)
    _issue(tianhe, 10, severity="warning")
    _issue(tianhe, 11, status=IssueStatus.EXPLAINED)
    _issue(futian, 20)
    body = _home(client, "th_stat")
    assert (_figure(body, "issues-open"), _figure(body, "issues-open-errors"), _figure(body, "issues-to-confirm")) == (4, 3, 1)
    body = _home(client, "ft_stat")
    assert (_figure(body, "issues-open"), _figure(body, "issues-open-errors"), _figure(body, "issues-to-confirm")) == (1, 1, 0)
    body = _home(client, "gz_stat")  # 广州 holds 天河, not 福田
    assert _figure(body, "issues-open") == 4


def test_county_statistician_sees_its_lagging_schools_and_the_issues_waiting_for_it(client, demo):
    tianhe = anomalies.th_primary()
    _issue(tianhe, 11, status=IssueStatus.EXPLAINED)
    _issue(anomalies.ft_primary(), 21, status=IssueStatus.EXPLAINED)
    body = _home(client, "th_stat")
    assert _figure(body, "key-students") == _students(_path(DEMO_COUNTY))
    assert _figure(body, "key-teachers") == _teachers(_path(DEMO_COUNTY))
    lagging = body[body.index('data-testid="lagging-schools"'):body.index('data-testid="issues-to-review"')]
    # The 空壳学校 planted in 天河区 has staff but no student, building or asset record: first.
    first = re.search(r'<tr data-school="(\d+)">', lagging)
    assert first and first.group(1) == anomalies.EMPTY_SCHOOL_CODE
    assert anomalies.EMPTY_SCHOOL_NAME in lagging and "1 / 4" in lagging
    review = body[body.index('data-testid="issues-to-review"'):]
    assert "测试学生11" in review and "测试学生21" not in review
    for name in _school_names(OTHER_COUNTY):
        assert name not in body, name


def test_a_county_home_shows_nothing_of_another_county(client, demo):
    body = _home(client, "ft_stat")
    assert _figure(body, "key-students") == _students(_path(OTHER_COUNTY))
    for name in _school_names(DEMO_COUNTY):
        assert name not in body, name
    assert anomalies.EMPTY_SCHOOL_NAME not in body


def test_school_clerk_sees_its_own_completeness_issues_and_to_dos(client, demo):
    clerk = User.objects.get(username="school_clerk")
    school = clerk.organization
    _issue(school, 30)
    other = Organization.objects.filter(kind=OrgKind.SCHOOL, region_path__startswith=_path(DEMO_COUNTY)).exclude(
        pk=school.pk).first()
    _issue(other, 31)
    body = _home(client, "school_clerk")
    assert school.name in body
    completeness = body[body.index('data-testid="school-completeness"'):body.index('data-testid="school-todos"')]
    students = Enrolment.objects.filter(is_active=True, school=school).count()
    assert re.search(rf"在校生 {students:,} 名", completeness), students
    assert "尚无数据" not in completeness  # the clerk's school has every base database
    assert _figure(body, "school-issues-open") == 1
    issues = body[body.index('data-testid="school-open-issues"'):]
    assert "测试学生30" in issues and "测试学生31" not in issues
    # The to-dos are the one inbox's (web.inbox): every source with waiting work, or a plain sentence.
    todos = body[body.index('data-testid="school-todos"'):body.index('data-testid="school-open-issues"')]
    waiting = [(source.label, n) for source, n in inbox.counts(clerk) if n]
    for label, n in waiting:
        assert str(label) in todos and f">{n:,}<" in todos, label
    assert ('data-testid="no-todos"' in todos) == (not waiting)
    assert "chart-children" not in body  # no empty chart on a school's home


def test_the_security_roles_keep_their_home_without_records(client, demo):
    body = _home(client, "auditor")
    assert 'data-testid="no-records-role"' in body and 'data-testid="key-figures"' not in body
