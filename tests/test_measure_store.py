"""The measure store (stats.measures, decision 0006): every measure the overview, the indicators and
the map sum, read from the county table (live) or the per-region table (a snapshot), equals the
per-school computation over the roll-ups (``selectors.per_school_items``, what the pages did before)
for the province, a city, a county, a town and a school, live and from a snapshot, for an
unrestricted, a stage-limited, a city, a county and a school user; writes move the live figures and
the incremental store equals a rebuild, also with writers committing at once (PostgreSQL).
"""

from __future__ import annotations

import contextlib
import decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from eduplatform.assets import codes as asset_codes
from eduplatform.assets import services as assets
from eduplatform.facilities import services as facilities
from eduplatform.orgs.models import Organization, Region
from eduplatform.orgs.stages import Stage
from eduplatform.staff import services as staff_services
from eduplatform.stats import indicators, measures, rollup, selectors
from eduplatform.stats.models import (
    COUNTY_PATH_LENGTH,
    MeasureCountyRollup,
    MeasureRollup,
    SnapshotBalance,
    SnapshotRegionMeasure,
)
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.facilities_support import building_row, land_row
from tests.staff_support import staff_row
from tests.students_support import second_primary_in_county_a, student_row
from tests.test_official_definitions import county_a  # noqa: F401 — the fixture: a county with every figure
from tests.test_rollups import committed

PROVINCE, CITY, COUNTY, TOWN = "440000000000", "440100000000", "440106000000", "440106001000"
ALL_KEYS = tuple(measures.MEASURES)
CENT = decimal.Decimal("0.01")


@pytest.fixture
def province_records(world, county_a, django_capture_on_commit_callbacks):  # noqa: F811
    """County A's records (every official figure), plus buildings, land and holdings, and schools
    in another county (越秀) and another city (深圳 福田) with students and staff."""
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    futian = Organization.objects.get(school_code="2144000003")
    year = asset_codes.statistical_year(timezone.localdate())
    for n, school in enumerate((world.school_a1, county_a["junior"], world.school_a2)):
        committed(capture, lambda s=school, n=n: facilities.create_building(actor=county, school=s, data=building_row(
            n + 1, total_area=f"{1000 + n}.25", teaching_area="800.5", admin_area="100")))
        committed(capture, lambda s=school, n=n: facilities.create_building(actor=county, school=s, data=building_row(
            n + 11, use_code="15", total_area="300.10", teaching_area="0", admin_area="0")))  # a gym
        committed(capture, lambda s=school, n=n: facilities.create_parcel(actor=county, school=s, data=land_row(
            n + 1, area="9000", sports_area=f"{3000 + n}.5", green_area="100")))
        committed(capture, lambda s=school, n=n: assets.type_holdings(actor=county, school=s, data={
            "year": str(year), "books_volumes": str(1000 + n), "computers_for_teaching": "12",
            "multimedia_classrooms": "3", "teaching_equipment_value": "123456.78", "fixed_asset_value": "999999"}))
    for school, actor, seq in ((world.school_b1, world.user("county_b_stat"), 300),
                               (futian, world.user("county_c_stat"), 400)):
        committed(capture, lambda s=school, a=actor, q=seq: [
            students.enrol_student(actor=a, school=s, data=student_row(q + i, class_number="1")) for i in range(3)])
        committed(capture, lambda s=school, a=actor, q=seq: staff_services.hire(
            actor=a, unit=s, data=staff_row(q, teaching_stage="2", backbone_level="市级", subjects="体育")))
        committed(capture, lambda s=school, a=actor, q=seq: facilities.create_building(
            actor=a, school=s, data=building_row(q, total_area="500", teaching_area="400", admin_area="50")))
    return county_a


def shown(result) -> list[tuple]:
    """Rows and total as the page shows them: label, codes, and the non-zero cells (a cell absent
    and a cell of zero read the same on every page), amounts to the cent."""
    rows, total = result

    def cells(row):
        return {k: (v.quantize(CENT) if isinstance(v, decimal.Decimal) else v) for k, v in row.cells.items() if v}

    return [(r.label, r.region_code, r.school_code, cells(r)) for r in [*rows, total]]


def reference(actor, region, snapshot, keys=ALL_KEYS):
    return selectors.fold(actor, region, selectors.per_school_items(actor, region, snapshot, keys))


@contextlib.contextmanager
def without_per_school_path(monkeypatch):
    """The fast path must not sum roll-up rows per school."""
    def refuse(*args, **kwargs):
        raise AssertionError("the per-school roll-up path was read")

    with monkeypatch.context() as patch:
        patch.setattr(selectors, "per_school_items", refuse)
        yield


def town_user(world):
    """County A's statistician with the region picker on town A: a town scope."""
    user = world.user("county_a_stat")
    user.focus_path = Region.objects.get(code=TOWN).path
    return user


def cases(world):
    """(actor, region code) for every scope the pages serve."""
    return [
        (world.user("province"), PROVINCE), (world.user("province"), CITY), (world.user("province"), COUNTY),
        (world.user("province"), TOWN),
        (world.user("k12_officer"), PROVINCE), (world.user("k12_officer"), CITY), (world.user("k12_officer"), TOWN),
        (world.user("higher_officer"), PROVINCE), (world.user("higher_officer"), COUNTY),
        (world.user("city_stat"), CITY), (world.user("city_stat"), COUNTY),
        (world.user("county_a_stat"), COUNTY), (world.user("county_a_stat"), TOWN),
        (town_user(world), TOWN),
        (world.user("clerk_a1"), TOWN),  # a school user: its own school
    ]


def test_every_measure_is_defined_once_from_the_definitions_and_every_indicator_reads_the_store():
    from eduplatform.stats import definitions

    assert measures.MEASURES["students"] is definitions.STUDENTS
    assert measures.MEASURES["staff"] is definitions.STAFF
    for ratio in measures.OFFICIAL_RATIOS:
        assert measures.MEASURES[ratio.numerator.key] == ratio.numerator
        assert measures.MEASURES[ratio.denominator.key] == ratio.denominator
    for indicator in indicators.INDICATORS:
        assert {indicator.numerator, indicator.denominator} <= set(measures.INDICATOR_KEYS), indicator.key
    assert [c[0] for c in selectors.OVERVIEW_COLUMNS] == list(measures.OVERVIEW_KEYS)
    with pytest.raises(ValueError, match="defined twice"):
        measures._registry([definitions.STUDENTS], [definitions.TEACHERS.__class__(
            "students", "x", "x", "x", definitions.TEACHERS.parts)])


def test_the_fast_paths_equal_the_per_school_computation_live_and_from_a_snapshot(
        world, province_records, monkeypatch):
    rollup.process_dirty()
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    assert SnapshotRegionMeasure.objects.filter(snapshot=snapshot, region_path="44/", key="students").exists()
    assert MeasureCountyRollup.objects.filter(key="large_classes").exists()
    checked = 0
    for actor, code in cases(world):
        region = Region.objects.get(code=code)
        for frozen in (None, snapshot):
            expected = shown(reference(actor, region, frozen))
            with without_per_school_path(monkeypatch):
                got = shown(selectors.measure_breakdown(actor, region, ALL_KEYS, frozen))
                overview = shown(selectors.region_overview(actor, region, frozen))
                indicator_rows = selectors.measure_breakdown(actor, region, measures.INDICATOR_KEYS, frozen)
                assert shown(indicators.region_indicators(actor, region, frozen)) == shown(indicator_rows)
            assert got == expected, (actor.username, code, frozen)
            assert overview == shown(reference(actor, region, frozen, measures.OVERVIEW_KEYS)), (actor.username, code)
            # Every indicator of every row: the same ratio.
            for row, ref in zip([*indicator_rows[0], indicator_rows[1]], [*reference(
                    actor, region, frozen, measures.INDICATOR_KEYS)[0], reference(
                    actor, region, frozen, measures.INDICATOR_KEYS)[1]], strict=True):
                for ind in indicators.INDICATORS:
                    assert indicators.value_of(ind, row.cells) == pytest.approx(indicators.value_of(ind, ref.cells))
            checked += 1
    assert checked == 2 * len(cases(world))
    # The figures are not trivially empty: the province's students, 大班额 and floor area show.
    total = selectors.measure_breakdown(world.user("province"), Region.objects.get(code=PROVINCE), ALL_KEYS,
                                        snapshot)[1].cells
    assert total["students"] > 200 and total["large_classes"] >= 1 and total["floor_area"] > 3000
    assert total["higher_teachers"] == decimal.Decimal("2.00") and total["higher_weighted_students"] == decimal.Decimal("9.00")
    # A stage-limited reader sees fewer students than the province (no college, no kindergarten).
    k12 = selectors.measure_breakdown(world.user("k12_officer"), Region.objects.get(code=PROVINCE), ALL_KEYS,
                                      snapshot)[1].cells
    assert 0 < k12["students"] < total["students"] and "higher_weighted_students" not in k12


def test_the_snapshot_list_totals_read_the_readers_own_region_row(world, province_records, monkeypatch):
    from eduplatform.stats.models import SnapshotStaff, SnapshotStudent

    rollup.process_dirty()
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    readers = [world.user(k) for k in ("province", "k12_officer", "higher_officer", "city_stat", "county_a_stat",
                                       "clerk_a1")] + [town_user(world)]
    for actor in readers:
        expected = {
            "students": selectors.scoped(SnapshotStudent.objects.filter(snapshot=snapshot), actor).aggregate(
                n=Sum("enrolled"))["n"] or 0,
            "staff": selectors.scoped(SnapshotStaff.objects.filter(
                measures.MEASURES["staff"].parts[0].condition, snapshot=snapshot), actor).aggregate(
                n=Sum("staff"))["n"] or 0}
        assert selectors.snapshot_totals(actor, [snapshot])[snapshot.pk] == expected, actor.username
        if actor.username != "clerk_a1" and actor.username != "province":
            # Read from the region row, not the frozen school rows.
            with monkeypatch.context() as patch:
                patch.setitem(selectors.SNAPSHOT_OF, definitions_model("students"), None)
                assert selectors.snapshot_totals(actor, [snapshot])[snapshot.pk] == expected


def definitions_model(key: str):
    return measures.MEASURES[key].parts[0].model


def test_balance_is_kept_with_the_snapshot_and_equals_the_computation(world, province_records):
    rollup.process_dirty()
    province = world.user("province")
    snapshot = take_snapshot(actor=province, census_date=timezone.localdate())
    county = Region.objects.get(code=COUNTY)
    assert SnapshotBalance.objects.filter(snapshot=snapshot).count() == 2 * Region.objects.filter(
        level="county", abolished_on__isnull=True).count()
    for stage in (Stage.PRIMARY, Stage.JUNIOR):
        kept = indicators.balance(province, county, stage, snapshot)
        computed = indicators._balance_of(indicators._school_data(selectors.scope_of(province), county.path, snapshot),
                                          stage)
        live = indicators.balance(province, county, stage)
        assert kept.schools == computed.schools == live.schools > 0
        assert kept.failing_schools == computed.failing_schools
        assert kept.sections == computed.sections
        for (ind, value, cv, limit, ok), (ind2, value2, cv2, limit2, ok2) in zip(kept.indicators, computed.indicators,
                                                                                 strict=True):
            assert (ind, limit, ok) == (ind2, limit2, ok2)
            assert value == pytest.approx(value2) and cv == pytest.approx(cv2)
    # The kept result is what is read (a changed record later leaves it as it was at the census).
    row = SnapshotBalance.objects.get(snapshot=snapshot, region_path=county.path, stage=int(Stage.PRIMARY))
    row.result = {**row.result, "schools": 999}
    row.save()
    assert indicators.balance(province, county, Stage.PRIMARY, snapshot).schools == 999
    # A stage-limited reader is computed from the frozen rows, not given the kept (unlimited) result.
    assert indicators.balance(world.user("k12_officer"), county, Stage.PRIMARY, snapshot).schools != 999


def store_rows() -> tuple[list, list]:
    def rows(model, fields):
        return sorted((*r[:-1], decimal.Decimal(r[-1]).quantize(CENT)) for r in model.objects.values_list(*fields))

    return (rows(MeasureRollup, ("school_id", "region_path", "key", "stages", "value")),
            rows(MeasureCountyRollup, ("region_path", "key", "stages", "schools", "value")))


def school_measures_summed_per_county() -> list[tuple]:
    sums: dict[tuple, list] = {}
    for r in MeasureRollup.objects.values("region_path", "key", "stages", "value"):
        cell = sums.setdefault((r["region_path"][:COUNTY_PATH_LENGTH], r["key"], r["stages"]), [0, decimal.Decimal(0)])
        cell[0] += 1
        cell[1] += decimal.Decimal(r["value"])
    return sorted((*k, n, v.quantize(CENT)) for k, (n, v) in sums.items())


def test_writes_move_the_live_figures_and_the_store_equals_a_rebuild(
        world, province_records, django_capture_on_commit_callbacks):
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    rollup.process_dirty()
    province = world.user("province")
    regions = [Region.objects.get(code=c) for c in (PROVINCE, CITY, COUNTY, TOWN)]

    def totals():
        return [selectors.measure_breakdown(province, r, ALL_KEYS)[1].cells for r in regions]

    before = totals()
    committed(capture, lambda: students.enrol_student(actor=county, school=world.school_a1,
                                                      data=student_row(9001, grade="二年级")))
    committed(capture, lambda: staff_services.hire(actor=county, unit=world.school_a1, data=staff_row(
        9001, post_category="1", teaching_stage="2", education_level="本科")))
    committed(capture, lambda: facilities.create_building(actor=county, school=world.school_a1, data=building_row(
        91, total_area="250.50", teaching_area="200", admin_area="0")))
    committed(capture, lambda: [students.enrol_student(actor=county, school=world.school_a1, data=student_row(
        9100 + i, class_number="7")) for i in range(3)])  # a new class of three
    after = totals()
    for was, now in zip(before, after, strict=True):
        assert now["students"] == was["students"] + 4
        assert now["students_primary"] == was["students_primary"] + 4
        assert now["teachers"] == was["teachers"] + 1 and now["teachers_primary"] == was["teachers_primary"] + 1
        assert now["teachers_bachelor"] == was.get("teachers_bachelor", 0) + 1
        assert now["floor_area"] == was["floor_area"] + decimal.Decimal("250.50")
        assert now["classes"] == was["classes"] + 1 and now["classes_primary"] == was["classes_primary"] + 1
    # The county table equals the school rows summed; the incremental store equals a rebuild.
    incremental = store_rows()
    assert incremental[1] == school_measures_summed_per_county()
    rollup.rebuild_all()
    assert store_rows() == incremental


@committing
@postgres_only
def test_concurrent_writers_leave_the_county_measures_equal_to_a_rebuild(world):
    from tests.test_concurrent_rollups import assert_rollups_equal_records, register

    county, county_b = world.user("county_a_stat"), world.user("county_b_stat")
    second = second_primary_in_county_a()
    schools = [(world.school_a1, county), (second, county), (world.school_b1, county_b)]
    for n, (school, actor) in enumerate(schools):  # the classes exist before the writers start
        register(actor, school, [480 + 2 * n], class_number="1")
        register(actor, school, [481 + 2 * n], class_number="2")

    def writer(i: int):
        school, actor = schools[i % len(schools)]

        def run():
            register(actor, school, range(500 + 10 * i, 504 + 10 * i), class_number=str(1 + i % 2))
            staff_services.hire(actor=actor, unit=school, data=staff_row(600 + i, teaching_stage="2"))
            facilities.create_building(actor=actor, school=school, data=building_row(
                600 + i, total_area="100.10", teaching_area="80", admin_area="0"))
        return run

    run_concurrently(*(writer(i) for i in range(9)))
    assert MeasureCountyRollup.objects.filter(region_path="44/4401/440106/", key="students").aggregate(
        n=Sum("value"))["n"] == 2 * 2 + 6 * 4
    assert MeasureCountyRollup.objects.filter(region_path="44/4401/440106/", key="floor_area").aggregate(
        n=Sum("value"))["n"] == decimal.Decimal("600.60")
    incremental = store_rows()
    assert incremental[1] == school_measures_summed_per_county()
    assert_rollups_equal_records([s.pk for s, _a in schools])  # rebuilds: every roll-up, the store too
    assert store_rows() == incremental
