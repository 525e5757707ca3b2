"""The staffing-quota calculator: the standards applied to the records, with the arithmetic shown."""

from __future__ import annotations

import math
from decimal import Decimal

from eduplatform.orgs.models import Region
from eduplatform.stats import calculators
from eduplatform.students import services
from tests.staff_support import staff_row
from tests.students_support import second_primary_in_county_a, student_row
from tests.test_rollups import committed

COUNTY_A = "440106000000"


def test_kindergarten_directors_follow_the_class_count():
    assert [calculators.kindergarten_directors(n) for n in (0, 1, 5, 6, 9, 10, 14)] == [0, 1, 1, 2, 2, 3, 3]


def test_quotas_apply_the_ratios_per_school_and_sum_up_the_tree(client, world, django_capture_on_commit_callbacks):
    from eduplatform.staff import services as staff

    county = world.user("county_a_stat")
    other = second_primary_in_county_a()
    for school, pupils, teachers, seq in ((world.school_a1, 20, 3, 100), (other, 39, 1, 200)):
        for n in range(pupils):
            committed(django_capture_on_commit_callbacks, lambda s=school, n=n, q=seq: services.enrol_student(
                actor=county, school=s, data=student_row(q + n)))
        for n in range(teachers):
            committed(django_capture_on_commit_callbacks, lambda s=school, n=n, q=seq: staff.hire(
                actor=county, unit=s, data=staff_row(q + n)))
    rows, total = calculators.region_quotas(world.user("province"), Region.objects.get(code=COUNTY_A))
    # 20 ÷ 19 = 1.05 → 2 posts; 39 ÷ 19 = 2.05 → 3 posts; each school rounded up, then summed.
    assert total.quota == math.ceil(Decimal(20) / 19) + math.ceil(Decimal(39) / 19) == 5
    assert (total.actual, total.difference) == (4, -1)
    schools = calculators.school_quotas(world.user("province"), Region.objects.get(code=COUNTY_A))
    first = next(q for q in schools if q.name == "天河测试小学")
    assert first.steps[0] == "小学在校生 20 ÷ 19 = 1.05" and first.steps[-1] == "合计 1.05，向上取整为 2"
    assert first.difference == 1  # 3 in post against 2: 超编
    assert sorted(r.quota for r in rows) == [2, 3]  # the two schools' towns

    client.force_login(world.user("county_a_stat"))
    page = client.get("/statistics/staffing/").content.decode()
    assert 'data-testid="quota-total">5<' in page and "中央编办发〔2014〕72号" in page
    assert client.get("/statistics/staffing/?region=440104000000").status_code == 404
    assert client.get("/statistics/staffing/?format=xlsx").status_code == 200


def test_enrolment_projection_moves_cohorts_up_and_feeds_first_grades(world, django_capture_on_commit_callbacks):
    county = world.user("county_a_stat")
    seq = 500
    for grade, n in (("五年级", 4), ("六年级", 3)):
        for _ in range(n):
            seq += 1
            committed(django_capture_on_commit_callbacks, lambda s=seq, g=grade: services.enrol_student(
                actor=county, school=world.school_a1, data=student_row(s, grade=g)))
    for _ in range(2):  # 大班 at the kindergarten
        seq += 1
        committed(django_capture_on_commit_callbacks, lambda s=seq: services.enrol_student(
            actor=county, school=world.school_a2, data=student_row(s, grade="大班")))
    projection = calculators.project_enrolment(world.user("province"), Region.objects.get(code=COUNTY_A),
                                               school_year=2026)
    series = dict(projection.grades)
    assert projection.years == [2026, 2027, 2028, 2029]
    assert series["五年级"] == [4, 0, 0, 0]
    assert series["六年级"] == [3, 4, 0, 0]  # this year's 五年级 move up
    # No 一年级 now: the share 一年级 ÷ 大班 is 0, so the 大班 children are projected to leave the county.
    assert series["大班"][0] == 2 and "一年级" not in series
    assert any(note.startswith("初一 ÷ 六年级 = 0 ÷ 3") for note in projection.notes)


def test_projection_page_shows_its_assumptions_within_scope(client, world):
    client.force_login(world.user("county_a_stat"))
    page = client.get("/statistics/projection/").content.decode()
    assert 'data-testid="rule"' in page and "队列法" in page and 'id="projection-table"' in page
    assert client.get("/statistics/projection/?region=440104000000").status_code == 404
    assert client.get("/statistics/projection/?format=xlsx").status_code == 200
