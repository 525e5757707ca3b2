"""The validation relationships of the base tables (DOMAIN §2.3) fail when the records break them:
county A of the test world is built to break each rule the records can decide."""

from __future__ import annotations

import datetime as dt

import pytest

from eduplatform.orgs.models import Region
from eduplatform.stats import basetables
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from eduplatform.students.models import EventKind

pytestmark = pytest.mark.django_db


def test_each_rule_the_records_can_decide_fails_when_the_records_break_it(world, django_capture_on_commit_callbacks):
    """County A, built to break V2 (parallel classes, the kindergarten limit), V3 (an entrant in
    二年级), V4 (fewer primary graduates than 初一 entrants), V6 (a leaver aged 5) and V10 (shared
    coordinates: every test school has the same)."""
    from django.utils import timezone

    from eduplatform.orgs import services as orgs
    from eduplatform.stats.rollup import school_year_of
    from tests.students_support import make_id, student_row
    from tests.test_rollups import committed
    from tests.world import TOWN_A, school_row

    county_user = world.user("county_a_stat")
    today = timezone.localdate()
    year, census_year = school_year_of(today), today.year
    last_july = dt.date(year, 7, 1)
    (junior,) = orgs.register_schools(actor=None, rows=[school_row("3144000001", "天河测试中学", "311", TOWN_A)])

    def enrol(seq: int, school, grade: str, birth: dt.date, entered: str, class_number: str = "1"):
        row = student_row(seq, grade=grade, birth_date=birth.isoformat(), id_number=make_id(birth, seq),
                          gender="男", entered_on=entered, class_number=class_number)
        return committed(django_capture_on_commit_callbacks, lambda: students.enrol_student(
            actor=county_user, school=school, data=row))

    def graduate(enrolment) -> None:
        committed(django_capture_on_commit_callbacks, lambda: students.apply_event(
            actor=county_user, enrolment=enrolment, kind=EventKind.GRADUATE, on=last_july, reason="毕业"))

    first_graders = dt.date(census_year - 6, 3, 1)
    for n in range(21):  # 21 parallel classes of 一年级: one more than a primary school may have
        enrol(1000 + n, world.school_a1, "一年级", first_graders, f"{year}-09", class_number=str(n + 1))
    enrol(1100, world.school_a1, "二年级", dt.date(census_year - 7, 3, 1), f"{year}-09")  # an entrant in 二年级
    for n in range(37):  # one kindergarten class of 37
        enrol(1200 + n, world.school_a2, "小班", dt.date(census_year - 3, 3, 1), f"{year}-09")
    graduate(enrol(1300, world.school_a2, "大班", dt.date(census_year - 5, 3, 1), f"{year - 3}-09"))  # left aged 5
    graduate(enrol(1301, world.school_a1, "六年级", dt.date(census_year - 12, 3, 1), f"{year - 6}-09"))
    for n in range(2):  # two 初一 entrants against one primary graduate
        enrol(1400 + n, junior, "初一", dt.date(census_year - 12, 3, 1), f"{year}-09")

    officer = world.user("province")
    snapshot = take_snapshot(actor=officer, census_date=today)
    county = Region.objects.get(code="440106000000")
    findings = {f.rule: f for f in basetables.check(basetables.generate(officer, county, snapshot), officer, county,
                                                   snapshot)}
    failed = {rule for rule, f in findings.items() if f.holds is False}
    assert failed == {
        "V2 平行班数：幼儿园 ≤ 10，小学、初中 ≤ 20，高中 ≤ 30（每校每年级）", "V2 幼儿园每班不超过 36 人",
        "V3 小学招生数 = 一年级在校生数", "V4 县内小学毕业生（上学年）≥ 初一招生", "V6 离园幼儿应为 6 周岁",
        "V10 学校经纬度互不相同（本范围内）",
    }, {rule: findings[rule].detail for rule in failed}
    assert "一年级 21 个班（上限 20）" in findings["V2 平行班数：幼儿园 ≤ 10，小学、初中 ≤ 20，高中 ≤ 30（每校每年级）"].detail
    assert findings["V2 幼儿园每班不超过 36 人"].detail == "最大班额 37 人"
    assert findings["V4 县内小学毕业生（上学年）≥ 初一招生"].detail == "小学毕业生 1，初一招生 2"
    # The three basic-education schools; the university is checked with the 高基 tables.
    assert findings["V10 学校经纬度互不相同（本范围内）"].detail.startswith("3 所学校与其他学校经纬度相同")
    # The school's own tables: the same rules, the county-level one left out, the 111 its identity.
    school_tables = basetables.generate(officer, county, snapshot, school_id=world.school_a1.pk)
    assert dict(school_tables[0].rows)["学校名称"] == ["天河测试小学"]
    own = {f.rule for f in basetables.check(school_tables, officer, county, snapshot, school_id=world.school_a1.pk)}
    assert "V4 县内小学毕业生（上学年）≥ 初一招生" not in own


def test_an_address_of_fewer_than_six_chinese_characters_fails_v10():
    # The school services refuse such an address; records that came in before the rule still show here.
    school = {"name": "某小学", "longitude": None, "latitude": None}
    (coordinates, address) = basetables._check_schools([{**school, "address": "文明路1号"}])
    assert address.holds is False and "某小学" in address.detail
    assert coordinates.holds is True and "1 所未填经纬度" in coordinates.detail
    assert basetables._check_schools([{**school, "address": "广州市天河区五山路1号"}])[1].holds is True
