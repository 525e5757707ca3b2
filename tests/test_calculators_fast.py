"""The calculators read stored quotas, funding inputs and their county sums (stats.quota_models),
kept in the roll-up refresh. They must give exactly what the per-school computation at request time
gives (kept as the reference: ``calculators._per_school_*``, ``allocation._per_school_*``) for every
kind of scope — province, city, county, town, school, stage-limited — live and from a snapshot,
and stay equal to a full rebuild after writes, also under concurrent writers (PostgreSQL)."""

from __future__ import annotations

import decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from eduplatform.funding import allocation
from eduplatform.funding import services as funding
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Organization, Region
from eduplatform.orgs.stages import Stage
from eduplatform.stats import calculators, rollup
from eduplatform.stats.quota_models import (
    CALCULATOR_FROZEN,
    FundingCountyRollup,
    QuotaCountyRollup,
    SchoolFundingRollup,
    SchoolQuota,
    SnapshotSchoolQuota,
)
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.test_rollups import committed
from tests.world import TOWN_A, TOWN_A2, school_row

D = decimal.Decimal
PROVINCE, CITY, COUNTY_A, COUNTY_B = "440000000000", "440100000000", "440106000000", "440104000000"
RATES = [
    {"stage": int(Stage.PRESCHOOL), "per_student": "500", "source": "测试"},
    {"stage": int(Stage.PRIMARY), "per_student": "650", "per_boarder": "200", "per_disabled": "6000",
     "minimum_headcount": "100", "covers_private": "否", "source": "测试"},
    {"stage": int(Stage.SPECIAL), "per_student": "6000", "school_types": "5", "source": "测试"},
]
# (user, region code or None for the user's own scope): every kind of scope the pages serve.
SCOPES = [
    ("province", None), ("province", CITY), ("province", COUNTY_A), ("province", TOWN_A2), ("province", "440300000000"),
    ("city_stat", None), ("city_stat", COUNTY_B), ("county_a_stat", None), ("county_a_stat", TOWN_A),
    ("clerk_a1", None), ("k12_officer", None), ("k12_officer", COUNTY_A), ("k12_officer", TOWN_A),
]


def enrol_many(capture, actor, school, seqs, **overrides) -> None:
    """Several registrations in one transaction (one refresh after its commit)."""
    committed(capture, lambda: [students.enrol_student(actor=actor, school=school, data=student_row(
        seq, **{k: (v(seq) if callable(v) else v) for k, v in overrides.items()})) for seq in seqs])


def hire_many(capture, actor, unit, seqs, **overrides) -> None:
    from eduplatform.staff import services as staff

    committed(capture, lambda: [staff.hire(actor=actor, unit=unit, data=staff_row(seq, **overrides)) for seq in seqs])


@pytest.fixture
def records(world, django_capture_on_commit_callbacks):
    """Pupils, classes and staff in urban, rural and private schools of two counties and another city;
    a kindergarten with classes; an institution with staff and no pupils (不测算)."""
    capture = django_capture_on_commit_callbacks
    county, county_b = world.user("county_a_stat"), world.user("county_b_stat")
    rural, private = orgs.register_schools(actor=None, rows=[
        school_row("2144000011", "天河乡村测试小学", "211", TOWN_A2, urban_rural_code="220"),
        school_row("2144000012", "天河民办测试小学", "211", TOWN_A2, sponsor_code="999")])
    grades = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
    enrol_many(capture, county, world.school_a1, range(100, 125), grade=lambda s: grades[s % 6],
               boarding_mode=lambda s: "2" if s % 7 == 0 else "1", disability_type=lambda s: "64" if s % 11 == 0 else "",
               class_number=lambda s: str(s % 2 + 1))
    enrol_many(capture, county, world.school_a2, range(200, 212), grade=lambda s: "小班" if s % 2 else "大班",
               class_number=lambda s: str(s % 3 + 1))
    enrol_many(capture, county, rural, range(300, 307), boarding_mode=lambda s: "2" if s == 300 else "1")
    enrol_many(capture, county, private, range(400, 404), grade="六年级")
    enrol_many(capture, county_b, world.school_b1, range(500, 505), grade="六年级")
    futian = Organization.objects.get(school_code="2144000003")
    enrol_many(capture, world.user("county_c_stat"), futian, range(600, 603))
    hire_many(capture, county, world.school_a1, range(1, 4))
    hire_many(capture, county, world.school_a1, [4], post_category="6")  # 代课: not 教职工
    hire_many(capture, county, world.school_a2, range(10, 13))
    hire_many(capture, county, rural, [20])
    hire_many(capture, county, world.college_a, [30, 31])
    hire_many(capture, county_b, world.school_b1, [40, 41])
    rate_set = funding.revise_rates(actor=world.user("province"), year=2024, rates=RATES, basis="测试定额")
    return rural, private, rate_set


def region_of(world, user: str, code: str | None) -> Region:
    if code is not None:
        return Region.objects.get(code=code)
    from eduplatform.orgs.selectors import scope_root

    return scope_root(world.user(user))


def quotas_shown(result) -> tuple:
    rows, total = result
    return ([(q.name, q.region_code, q.school_code, q.quota, q.actual, q.steps) for q in rows],
            (total.name, total.quota, total.actual))


def allocation_shown(result) -> tuple:
    return ([(r.label, r.region_code, r.school_code, r.cells) for r in result.rows], result.total.cells,
            result.unfunded, [(s.name, s.amount, s.steps) for s in result.schools],
            sum((g.amount for g in result.groups if g.funded), D(0)))


def assert_fast_equals_reference(world, rate_set, snapshot=None) -> None:
    for user, code in SCOPES:
        actor, region = world.user(user), region_of(world, user, code)
        where = f"{user} at {region.name}{' in a snapshot' if snapshot else ''}"
        assert quotas_shown(calculators.region_quotas(actor, region, snapshot)) == quotas_shown(
            calculators._per_school_region_quotas(actor, region, snapshot)), where
        fast = allocation.region_allocation(actor, region, rate_set, snapshot, with_schools=True)
        reference = allocation._per_school_region_allocation(actor, region, rate_set, snapshot)
        assert allocation_shown(fast) == allocation_shown(reference), where
        # The region's arithmetic adds up to its total, whichever table it was summed from.
        assert allocation_shown(fast)[4] == fast.total.total, where


def test_stored_results_equal_the_per_school_computation_live_and_in_a_snapshot(
        world, records, django_capture_on_commit_callbacks):
    rural, _private, rate_set = records
    province = world.user("province")
    # The data reach every branch: a rural school topped up, a private one refused, a 不测算 one.
    county = allocation.region_allocation(province, Region.objects.get(code=CITY), rate_set)
    assert not county.schools_listed and any(g.topped_up == 93 for g in county.groups)
    assert any("民办" in g.reason for g in county.groups)
    assert any(q.quota is None for q in calculators.school_quotas(province, Region.objects.get(code=COUNTY_A)))
    assert_fast_equals_reference(world, rate_set)
    snapshot = take_snapshot(actor=province, census_date=timezone.localdate())
    assert SnapshotSchoolQuota.objects.filter(snapshot=snapshot).count() == SchoolQuota.objects.count() > 0
    # Live figures move on; the snapshot's stored rows keep the census day, like its roll-ups.
    enrol_many(django_capture_on_commit_callbacks, world.user("county_a_stat"), rural, range(700, 720))
    assert_fast_equals_reference(world, rate_set, snapshot)
    assert_fast_equals_reference(world, rate_set)
    # A snapshot taken before the tables existed has no frozen rows: computed per school instead.
    for _live, frozen in CALCULATOR_FROZEN:
        frozen.objects.filter(snapshot=snapshot).delete()
    assert not calculators.stored_quotas_serve(province, snapshot) and not allocation.stored_inputs_serve(snapshot)
    assert_fast_equals_reference(world, rate_set, snapshot)


def test_the_stored_path_is_what_answers(world, records, monkeypatch):
    """The equality above would hold trivially if the pages still computed per school: they must not
    (for an unrestricted scope), and a province's page must read county rows, not school rows."""
    _rural, _private, rate_set = records
    province, region = world.user("province"), Region.objects.get(code=PROVINCE)

    def refuse(*args, **kwargs):
        raise AssertionError("per-school computation at request time")

    monkeypatch.setattr(calculators, "_per_school_quotas", refuse)
    monkeypatch.setattr(allocation, "_per_school_reference", refuse)
    monkeypatch.setattr(allocation, "school_allocations", refuse)
    rows, total = calculators.region_quotas(province, region)
    assert total.quota == sum(r.quota for r in rows) > 0
    assert allocation.region_allocation(province, region, rate_set).total.total > 0
    # County sums, not school rows: emptying the schools' table leaves the province's page unchanged.
    SchoolQuota.objects.all().delete()
    SchoolFundingRollup.objects.all().delete()
    assert calculators.region_quotas(province, region)[1].quota == total.quota
    with pytest.raises(AssertionError):  # a stage-limited scope falls back (said in region_quotas)
        calculators.region_quotas(world.user("k12_officer"), region)


def test_projection_reads_the_county_roll_up_with_the_same_result(world, records, monkeypatch):
    for user, code in SCOPES:
        actor, region = world.user(user), region_of(world, user, code)
        fast = calculators.project_enrolment(actor, region, school_year=2026)
        with monkeypatch.context() as m:
            m.setattr(calculators, "county_rollup_serves", lambda *a: False)
            reference = calculators.project_enrolment(actor, region, school_year=2026)
        assert (fast.grades, fast.notes) == (reference.grades, reference.notes), f"{user} at {region.name}"


def calculator_rows() -> tuple[list, ...]:
    return tuple(sorted(model.objects.values_list(*[f.name for f in model._meta.fields if f.name != "id"]))
                 for model, _frozen in CALCULATOR_FROZEN)


def county_sums_from_schools() -> tuple[list, list]:
    """The county tables as the schools' stored rows summed in Python."""
    from eduplatform.stats.calculator_tables import funding_cell, quota_cell

    def summed(cells):
        out: dict[tuple, list[int]] = {}
        for cell, sums in filter(None, cells):
            total = out.setdefault(cell, [0] * len(sums))
            for i, n in enumerate(sums):
                total[i] += n
        return sorted((*k, *v) for k, v in out.items())

    quotas = summed(quota_cell(r.region_path, r.quota, r.actual) for r in SchoolQuota.objects.all())
    funds = summed(funding_cell(r.region_path, r.stage, r.school_type_code, r.sponsor_code, r.rural, r.enrolled,
                                r.boarding, r.disabled) for r in SchoolFundingRollup.objects.all())
    return quotas, funds


def assert_tables_equal_a_rebuild() -> None:
    quotas, funds = county_sums_from_schools()
    assert sorted(QuotaCountyRollup.objects.values_list("region_path", "schools", "quota", "actual")) == quotas
    assert sorted(FundingCountyRollup.objects.values_list(
        "region_path", "stage", "school_type_code", "private", "rural", "headcount", "schools", "enrolled",
        "boarding", "disabled")) == funds
    incremental = calculator_rows()
    rollup.rebuild_all()
    assert calculator_rows() == incremental


def test_writes_change_the_stored_quota_as_a_rebuild_would(world, records, django_capture_on_commit_callbacks):
    rural, _private, _rate_set = records
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    assert_tables_equal_a_rebuild()
    quota = SchoolQuota.objects.get(school_id=rural.pk)
    assert (quota.quota, quota.actual, quota.steps.splitlines()[-1]) == (1, 1, "合计 0.37，向上取整为 1")
    enrol_many(capture, county, rural, range(800, 820))  # 27 pupils: 27 ÷ 19 = 1.42 → 2
    hire_many(capture, county, rural, [21])
    quota = SchoolQuota.objects.get(school_id=rural.pk)  # (the rebuild above wrote new rows)
    assert (quota.quota, quota.actual) == (2, 2)
    assert QuotaCountyRollup.objects.get(region_path="44/4401/440106/").quota == SchoolQuota.objects.filter(
        region_path__startswith="44/4401/440106/", quota__isnull=False).aggregate(n=Sum("quota"))["n"]
    # A new kindergarten class: 3 more posts (and the director count follows the classes).
    kindergarten = SchoolQuota.objects.get(school_id=world.school_a2.pk)
    before = kindergarten.quota
    enrol_many(capture, county, world.school_a2, [900], grade="小班", class_number="9")
    kindergarten = SchoolQuota.objects.get(school_id=world.school_a2.pk)
    assert kindergarten.quota == before + 3
    # Rural becomes urban: its pupils leave the small-school histogram of the county funding table.
    committed(capture, lambda: orgs.update_school(actor=county, school=rural, data={"urban_rural_code": "111"}))
    assert not FundingCountyRollup.objects.filter(rural=True, region_path="44/4401/440106/").exists()
    assert_tables_equal_a_rebuild()


def test_funding_page_lists_schools_only_below_the_city(client, world, records):
    _rural, _private, rate_set = records
    client.force_login(world.user("province"))
    body = client.get(f"/statistics/funding/?rates={rate_set.pk}").content.decode()
    assert 'data-testid="schools-not-listed"' in body and "天河乡村测试小学" not in body
    assert "补足 93 人" in body  # the region's arithmetic, from county rows
    body = client.get(f"/statistics/funding/?rates={rate_set.pk}&region={TOWN_A2}").content.decode()
    assert 'id="school-lines"' in body and "乡村学校不足 100 人按 100 人核定" in body
    client.force_login(world.user("city_stat"))
    body = client.get("/statistics/staffing/").content.decode()
    assert "天河区" in body and "天河测试小学" not in body  # counties, not schools
    client.force_login(world.user("county_a_stat"))
    body = client.get(f"/statistics/staffing/?region={TOWN_A}").content.decode()
    assert "天河测试小学" in body and "天河测试幼儿园" in body


@committing
@postgres_only
def test_concurrent_writers_leave_stored_quotas_and_county_sums_equal_to_a_rebuild(world):
    """Registrations and hires in schools of one county, committing from separate connections at
    once: the county rows take each refresh's change (ON CONFLICT) and end equal to a rebuild."""
    from eduplatform.history.models import DirtySchool
    from eduplatform.staff import services as staff

    county = world.user("county_a_stat")
    rural, second = orgs.register_schools(actor=None, rows=[
        school_row("2144000011", "天河乡村测试小学", "211", TOWN_A2, urban_rural_code="220"),
        school_row("2144000012", "天河第三测试小学", "211", TOWN_A)])
    schools = [world.school_a1, rural, second, world.school_a2]
    for i, school in enumerate(schools):  # the classes exist before the writers start
        grade = "小班" if school.pk == world.school_a2.pk else "一年级"
        for n in (1, 2):
            students.enrol_student(actor=county, school=school, data=student_row(900 + 2 * i + n, grade=grade,
                                                                                 class_number=str(n)))

    def registrations(i: int):
        school = schools[i % len(schools)]
        grade = "小班" if school.pk == world.school_a2.pk else "一年级"
        return lambda: [students.enrol_student(actor=county, school=school, data=student_row(
            1000 + 10 * i + n, grade=grade, class_number=str(n % 2 + 1))) for n in range(4)]

    def hires(i: int):
        school = schools[i % len(schools)]
        return lambda: [staff.hire(actor=county, unit=school, data=staff_row(5000 + 10 * i + n)) for n in range(2)]

    run_concurrently(*(registrations(i) for i in range(8)), *(hires(i) for i in range(4)))
    assert not DirtySchool.objects.exists()
    assert QuotaCountyRollup.objects.get(region_path="44/4401/440106/").schools == 4
    assert FundingCountyRollup.objects.filter(region_path="44/4401/440106/").aggregate(n=Sum("enrolled"))["n"] == 40
    assert_tables_equal_a_rebuild()
