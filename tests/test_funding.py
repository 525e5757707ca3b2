"""生均公用经费 allocation: the rates applied to the records, per school and region, live or from a
snapshot, with the arithmetic shown; rate revisions are new, audited versions."""

from __future__ import annotations

import decimal
import io

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.funding import allocation, services
from eduplatform.funding.loading import load_default_rates
from eduplatform.funding.models import FundingRate, FundingRateSet
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Region
from eduplatform.orgs.stages import Stage
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from eduplatform.students.models import Enrolment
from tests.students_support import student_row
from tests.test_rollups import committed
from tests.world import TOWN_A2, school_row

COUNTY_A = "440106000000"
D = decimal.Decimal

# A year of its own, so the demo's default rates (loaded for every test database) do not interfere.
RATES_2024 = [
    {"stage": int(Stage.PRESCHOOL), "per_student": "500", "source": "测试"},
    {"stage": int(Stage.PRIMARY), "per_student": "650", "per_boarder": "200", "per_disabled": "6000",
     "minimum_headcount": "100", "source": "测试"},
]


def rates_2024(world) -> FundingRateSet:
    return services.revise_rates(actor=world.user("province"), year=2024, rates=RATES_2024, basis="测试定额")


def enrol(capture, actor, school, seq: int, **overrides) -> None:
    committed(capture, lambda: students.enrol_student(actor=actor, school=school, data=student_row(seq, **overrides)))


@pytest.fixture
def county_a_records(world, django_capture_on_commit_callbacks):
    """天河测试小学 (urban): 5 pupils, 2 boarding, 1 disabled; a rural primary school in another
    town: 3 pupils, 1 boarding; 天河测试幼儿园: 2 children."""
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    (rural,) = orgs.register_schools(actor=None, rows=[
        school_row("2144000011", "天河乡村测试小学", "211", TOWN_A2, urban_rural_code="220")])
    for n in range(5):
        enrol(capture, county, world.school_a1, 300 + n, boarding_mode="2" if n < 2 else "1",
              disability_type="64" if n == 4 else "")
    for n in range(3):
        enrol(capture, county, rural, 320 + n, boarding_mode="2" if n == 0 else "1")
    for n in range(2):
        enrol(capture, county, world.school_a2, 340 + n, grade="小班")
    return rural


def test_a_stage_line_follows_the_rule():
    rate = FundingRate(stage=int(Stage.PRIMARY), per_student=D("650"), per_boarder=D("200"), per_disabled=D("6000"),
                       minimum_headcount=100)
    counts = allocation.StageCounts(enrolled=5, boarding=2, disabled=1)
    # (5 − 1) × 650 + 1 × 6000 = 8600, plus 2 boarders × 200 = 400 → 9000; an urban school is not topped up.
    urban = allocation.stage_line(Stage.PRIMARY, counts, rate, rural=False)
    assert (urban.counted, urban.amount) == (5, D("9000"))
    assert urban.arithmetic == "小学：在校生 5 人；(5 − 残疾学生 1) × 650 + 1 × 6,000 = 8,600；寄宿生 2 × 200 = 400；小计 9,000 元"
    # The same pupils in a rural school are funded as 100: (100 − 1) × 650 + 6000 + 400 = 70,750.
    rural = allocation.stage_line(Stage.PRIMARY, counts, rate, rural=True)
    assert (rural.counted, rural.amount) == (100, D("70750"))
    assert "乡村学校不足 100 人按 100 人核定" in rural.arithmetic
    # Without a disabled rate they are ordinary pupils: 5 × 650 + 400 = 3,650.
    rate.per_disabled = None
    assert allocation.stage_line(Stage.PRIMARY, counts, rate, rural=False).amount == D("3650")
    unfunded = allocation.stage_line(Stage.HIGHER, counts, None, rural=False)
    assert not unfunded.funded and unfunded.amount == 0 and "未计入" in unfunded.arithmetic


def test_allocation_per_school_and_region_from_the_records(world, county_a_records):
    rural = county_a_records
    rate_set = rates_2024(world)
    result = allocation.region_allocation(world.user("province"), Region.objects.get(code=COUNTY_A), rate_set,
                                          with_schools=True)
    by_name = {s.name: s for s in result.schools}
    # The roll-up's counts equal the records': pupils, boarders and disabled pupils of each school.
    for school in (world.school_a1, rural, world.school_a2):
        active = Enrolment.objects.filter(school=school, is_active=True)
        (line,) = by_name[school.name].lines
        assert (line.counts.enrolled, line.counts.boarding, line.counts.disabled) == (
            active.count(), active.filter(student__boarding_mode="2").count(),
            active.exclude(student__disability_type="").count())
    # 天河测试小学 (urban): (5 − 1) × 650 + 1 × 6000 + 2 × 200 = 2600 + 6000 + 400 = 9,000.
    assert by_name["天河测试小学"].amount == D("9000")
    # Rural school, 3 pupils topped up to 100: 100 × 650 + 1 boarder × 200 = 65,200.
    assert by_name["天河乡村测试小学"].amount == D("65200") and by_name["天河乡村测试小学"].rural
    # Kindergarten: 2 × 500 = 1,000 (学前 has no additions).
    assert by_name["天河测试幼儿园"].amount == D("1000")
    # The county is the sum of its schools, 75,200; its towns: 五山 (a1 + kindergarten) 10,000, the other 65,200.
    assert result.total.total == D("75200")
    assert sorted(r.total for r in result.rows) == [D("10000"), D("65200")]
    assert result.total.cells == {int(Stage.PRIMARY): D("74200"), int(Stage.PRESCHOOL): D("1000")}


def test_snapshot_figures_stay_while_live_ones_move(world, county_a_records, django_capture_on_commit_callbacks):
    rate_set = rates_2024(world)
    county_region = Region.objects.get(code=COUNTY_A)
    province = world.user("province")
    snapshot = take_snapshot(actor=province, census_date=timezone.localdate())
    enrol(django_capture_on_commit_callbacks, world.user("county_a_stat"), world.school_a1, 399)  # a 6th pupil
    live = allocation.region_allocation(province, county_region, rate_set)
    frozen = allocation.region_allocation(province, county_region, rate_set, snapshot)
    # Live: 天河测试小学 gains one ordinary pupil, + 650; the snapshot keeps the census-day count.
    assert frozen.total.total == D("75200")
    assert live.total.total == D("75200") + 650
    # The rural school is reclassified as urban after the census: live, its 3 pupils are no longer
    # topped up to 100 (3 × 650 + 200 = 2,150 instead of 65,200); the snapshot keeps its census class.
    committed(django_capture_on_commit_callbacks, lambda: orgs.update_school(
        actor=world.user("county_a_stat"), school=county_a_records, data={"urban_rural_code": "111"}))
    live = allocation.region_allocation(province, county_region, rate_set)
    frozen = allocation.region_allocation(province, county_region, rate_set, snapshot)
    assert live.total.total == D("75200") + 650 - 65200 + 2150
    assert frozen.total.total == D("75200")


def test_users_see_only_their_jurisdiction(client, world, county_a_records):
    rates_2024(world)
    for user in ("county_b_stat", "county_c_stat"):
        result = allocation.region_allocation(world.user(user), Region.objects.get(code="440000000000"),
                                              FundingRateSet.objects.get(year=2024), with_schools=True)
        assert not {s.name for s in result.schools} & {"天河测试小学", "天河乡村测试小学", "天河测试幼儿园"}
    client.force_login(world.user("county_c_stat"))  # 深圳市福田区
    assert client.get("/statistics/funding/?region=440100000000").status_code == 404  # 广州市
    assert client.get(f"/statistics/funding/?region={COUNTY_A}").status_code == 404
    body = client.get("/statistics/funding/").content.decode()
    assert "天河测试小学" not in body and "天河乡村测试小学" not in body
    client.force_login(world.user("county_a_stat"))
    rates = FundingRateSet.objects.get(year=2024).pk
    body = client.get(f"/statistics/funding/?rates={rates}").content.decode()
    # The county's towns, and its arithmetic summed by stage and 城乡; its schools' lines a town below.
    assert 'data-testid="funding-total">75,200.00<' in body and "2024 年度生均公用经费定额（第 1 版）" in body
    assert "1 所乡村学校不足 100 人按 100 人核定，补足 97 人" in body and "天河乡村测试小学" not in body
    body = client.get(f"/statistics/funding/?rates={rates}&region={TOWN_A2}").content.decode()
    assert "天河乡村测试小学" in body and "乡村学校不足 100 人按 100 人核定" in body


def test_export_has_every_school_line_and_the_rates_used(client, world, county_a_records):
    rate_set = rates_2024(world)
    client.force_login(world.user("county_a_stat"))
    response = client.get(f"/statistics/funding/?rates={rate_set.pk}&format=xlsx")
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names == ["区域汇总", "逐校测算", "定额"]
    lines = book.get_sheet_by_name("逐校测算").to_python()
    amounts = {row[0]: row[3] for row in lines[1:] if len(row) > 3 and row[1]}
    assert amounts == {"天河测试小学": 9000, "天河乡村测试小学": 65200, "天河测试幼儿园": 1000}
    assert "2024 年度生均公用经费定额（第 1 版）" in str(lines[-1][0])


def test_a_revision_is_a_new_audited_version(world):
    province = world.user("province")
    first = rates_2024(world)
    feed_before = ChangeFeedEntry.objects.filter(resource="funding_rates").count()
    revised = [dict(line) for line in RATES_2024]
    revised[1]["per_student"] = "700"
    second = services.revise_rates(actor=province, year=2024, rates=revised, basis="测试定额", note="提高小学定额")
    assert (second.year, second.version) == (2024, 2)
    # The first version is untouched: a calculation that named it can be reproduced.
    assert FundingRate.objects.get(rate_set=first, stage=int(Stage.PRIMARY)).per_student == D("650")
    assert FundingRate.objects.get(rate_set=second, stage=int(Stage.PRIMARY)).per_student == D("700")
    entry = AuditEntry.objects.get(object_type="funding.rate_set", object_id=str(second.pk))
    assert entry.actor_id == province.pk and entry.note == "提高小学定额"
    assert entry.changes == {"2.per_student": {"label": "小学生均定额", "before": "650", "after": "700"}}
    assert ChangeFeedEntry.objects.filter(resource="funding_rates").count() == feed_before + 1
    assert ChangeFeedEntry.objects.filter(resource="funding_rates", natural_key="2024/2").exists()


def test_rate_edits_are_checked(world):
    province = world.user("province")
    rates_2024(world)
    with pytest.raises(RecordInvalid) as unchanged:
        services.revise_rates(actor=province, year=2024, rates=RATES_2024, basis="测试定额", note="无变化")
    assert [p.code for p in unchanged.value.problems] == ["rates.unchanged"]
    bad = [{"stage": int(Stage.PRIMARY), "per_student": "-1", "per_boarder": "abc", "per_disabled": "1.234",
            "minimum_headcount": "十", "source": ""},
           {"stage": int(Stage.OTHER), "per_student": "1", "source": "x"}]
    with pytest.raises(RecordInvalid) as invalid:
        services.revise_rates(actor=province, year=1990, rates=bad, basis="")
    codes = {(p.field, p.code) for p in invalid.value.problems}
    assert codes == {("year", "year.range"), ("basis", "required"), ("2.per_student", "number.range"),
                     ("2.per_boarder", "number.invalid"), ("2.per_disabled", "number.cents"),
                     ("2.minimum_headcount", "number.range"), ("2.source", "required"), ("stage", "stage.unknown")}
    assert FundingRateSet.objects.filter(year__in=[1990, 2024]).count() == 1  # nothing written
    with pytest.raises(RecordInvalid) as no_note:
        services.revise_rates(actor=province, year=2024, rates=RATES_2024[:1], basis="测试定额")
    assert [p.code for p in no_note.value.problems] == ["required"]


@pytest.mark.parametrize("user", ["city_stat", "k12_officer", "county_a_stat", "clerk_a1"])
def test_only_the_province_finance_office_revises_rates(client, world, user):
    with pytest.raises(NotPermitted):
        services.revise_rates(actor=world.user(user), year=2024, rates=RATES_2024, basis="测试定额")
    client.force_login(world.user(user))
    response = client.post("/statistics/funding/rates/", {"year": "2024", "basis": "x", "2.per_student": "1",
                                                          "2.source": "x"})
    assert response.status_code == 403
    assert not FundingRateSet.objects.filter(year=2024).exists()


def test_revising_on_the_rates_page(client, world):
    client.force_login(world.user("province"))
    page = client.get("/statistics/funding/rates/").content.decode()
    assert 'name="2.per_student"' in page and "国发〔2015〕67号" in page  # the demo defaults, as the form's draft
    data = {"year": "2024", "basis": "页面录入", "note": "", "1.per_student": "520", "1.source": "测试"}
    response = client.post("/statistics/funding/rates/", data)
    assert response.status_code == 302
    created = FundingRateSet.objects.get(year=2024)
    assert [(r.stage, r.per_student) for r in created.rates.all()] == [(int(Stage.PRESCHOOL), D("520"))]
    response = client.post("/statistics/funding/rates/", {**data, "1.per_student": "-5"})
    assert response.status_code == 200 and "学前生均定额「-5」应在 0 至" in response.content.decode()


def test_default_rates_load_once_and_never_overwrite_a_revision(world):
    defaults = FundingRateSet.objects.filter(year=2026)
    assert defaults.count() == 1  # loaded with the reference data
    assert load_default_rates() == 0
    line = FundingRate.objects.get(rate_set=defaults.get(), stage=int(Stage.JUNIOR))
    assert (line.per_student, line.per_boarder, line.per_disabled, line.minimum_headcount) == (D("850"), 200, 6000, 100)
    assert "示例值" in FundingRate.objects.get(rate_set=defaults.get(), stage=int(Stage.VOCATIONAL)).source
    rows = services.rate_lines(defaults.get())
    rows[0]["per_student"] = "600"
    services.revise_rates(actor=world.user("province"), year=2026, rates=rows, basis="修订", note="修订")
    assert load_default_rates() == 0 and FundingRateSet.objects.filter(year=2026).count() == 2
