"""Land and buildings (土地与校舍): totals by use summed from the buildings, services with their
history, and the two spreadsheet imports through the shared machinery."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.core.models import ImportJob, ImportMode, JobStatus, WritePolicy
from eduplatform.facilities import selectors, services
from eduplatform.facilities.models import Building, LandParcel
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.imports import registry, runner

from .facilities_support import (
    BUILDING_HEADERS,
    LAND_HEADERS,
    building_cells,
    building_row,
    land_cells,
    land_row,
)
from .students_support import xlsx_file

D = decimal.Decimal


def add(world, seq: int, user: str = "clerk_a1", school=None, **overrides) -> Building:
    return services.create_building(actor=world.user(user), school=school or world.school_a1,
                                    data=building_row(seq, **overrides))


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Building, LandParcel, AuditEntry, ChangeFeedEntry))


# --------------------------------------------------------------------------------------------
# Totals by use


def test_building_totals_by_use_equal_the_sum_of_the_buildings(world):
    clerk = world.user("clerk_a1")
    # A teaching block fully split, a mixed block with unassigned area, a dormitory, a D-grade canteen.
    add(world, 1, total_area="3000", teaching_area="2400", admin_area="300", other_area="300")
    add(world, 2, name="综合楼", use_code="12", total_area="2000", teaching_area="800", admin_area="700")
    add(world, 3, name="学生宿舍", use_code="21", total_area="1500", teaching_area="", admin_area="")
    add(world, 4, name="旧食堂", use_code="22", total_area="400.5", teaching_area="", admin_area="", condition="24")
    totals = selectors.floor_area_totals(clerk, world.school_a1)
    # 综合楼's unassigned 500 ㎡ counts as teaching space (its use 12 is under 10 教学及辅助用房).
    assert totals.teaching == D("2400") + D("800") + D("500")
    assert totals.admin == D("300") + D("700")
    assert totals.living == D("1500") + D("400.5")
    assert totals.other == D("300")
    assert totals.total == D("6900.5") == totals.teaching + totals.admin + totals.living + totals.other
    assert totals.dangerous == totals.d_grade == D("400.5")
    assert totals.dangerous_in_use == 1 and totals.buildings == 4


def test_totals_follow_an_edit_and_a_demolition(world):
    clerk = world.user("clerk_a1")
    first = add(world, 1, total_area="3000", teaching_area="2400", admin_area="300")
    second = add(world, 2, name="旧办公楼", use_code="31", total_area="800", teaching_area="", admin_area="",
                 condition="23")
    before = selectors.floor_area_totals(clerk, world.school_a1)
    assert (before.teaching, before.admin, before.total, before.dangerous) == (D(2700), D(1100), D(3800), D(800))

    services.update_building(actor=clerk, building=first,
                             data=building_row(1, total_area="3200", teaching_area="2000", admin_area="1000"))
    edited = selectors.floor_area_totals(clerk, world.school_a1)
    assert (edited.teaching, edited.admin, edited.total) == (D(2200), D(1800), D(4000))

    services.demolish_building(actor=clerk, building=second, on=dt.date(2025, 7, 1), reason="C级危房拆除重建")
    after = selectors.floor_area_totals(clerk, world.school_a1)
    assert (after.teaching, after.admin, after.total, after.dangerous, after.buildings) == (
        D(2200), D(1000), D(3200), D(0), 1)
    # The demolished building keeps its record.
    assert Building.objects.get(pk=second.pk).demolished_on == dt.date(2025, 7, 1)


def test_summary_page_shows_the_derived_totals(client, world):
    add(world, 1, total_area="3000", teaching_area="2400", admin_area="300")
    add(world, 2, name="危楼", use_code="41", total_area="1234.5", teaching_area="", admin_area="", condition="24")
    client.force_login(world.user("county_a_stat"))
    body = client.get(f"/facilities/schools/{world.school_a1.school_code}/").content.decode()
    assert "4,234.5 ㎡" in body  # total
    assert "2,700 ㎡" in body  # teaching incl. the unassigned 300 of the 教学楼
    assert "1,234.5 ㎡" in body  # other = the D-grade building, and the 危房 area
    assert "有 1 栋D级危房仍在使用" in body


# --------------------------------------------------------------------------------------------
# Services: rules, permissions, history


def test_parts_larger_than_the_total_are_refused_with_a_clear_message(world):
    with pytest.raises(RecordInvalid) as err:
        add(world, 1, total_area="1000", teaching_area="800", admin_area="300")
    messages = err.value.by_field()["total_area"]
    assert messages == ["各用途面积之和 1,100 ㎡（教学及辅助用房 800 + 行政办公用房 300）超过建筑面积 1,000 ㎡，请核对"]
    assert not Building.objects.exists()


def test_building_number_is_unique_within_a_school(world):
    add(world, 1)
    with pytest.raises(RecordInvalid) as err:
        add(world, 1, name="另一栋")
    assert "本校已有建筑物编号「JZ001」" in err.value.by_field()["number"][0]
    add(world, 1, user="county_b_stat", school=world.school_b1)  # another school may use the same number


def test_every_change_is_in_the_history_with_before_and_after(world):
    clerk = world.user("clerk_a1")
    building = add(world, 1)
    services.update_building(actor=clerk, building=building, data=building_row(1, structure="3", condition="22"))
    services.demolish_building(actor=clerk, building=building, on=dt.date(2025, 1, 10), reason="改建")
    entries = list(AuditEntry.objects.filter(object_type="facilities.building", object_id=str(building.pk))
                   .order_by("id"))
    assert [e.action for e in entries] == ["create", "update", "close"]
    assert entries[1].changes["structure"] == {"label": "建筑结构", "before": "4 框架结构", "after": "3 砖混结构"}
    assert entries[1].changes["condition"]["after"] == "22 B级危房"
    assert entries[2].changes["demolished_on"]["after"] == "2025-01-10"
    assert ChangeFeedEntry.objects.filter(resource="building", natural_key=f"{world.school_a1.school_code}:JZ001").count() == 3
    # A demolished building is no longer edited.
    with pytest.raises(RecordInvalid):
        services.update_building(actor=clerk, building=building, data=building_row(1))


def test_writes_need_the_capability_and_the_school_in_reach(world):
    with pytest.raises(OutOfScope):
        add(world, 1, user="clerk_a1", school=world.school_a2)  # same town, other school
    with pytest.raises(OutOfScope):
        add(world, 1, user="county_b_stat", school=world.school_a1)
    with pytest.raises(NotPermitted):
        add(world, 1, user="county_a_reviewer")
    add(world, 1, user="county_a_stat", school=world.school_a2)  # the county writes for its schools


def test_land_parcel_parts_and_retirement(world):
    clerk = world.user("clerk_a1")
    with pytest.raises(RecordInvalid) as err:
        services.create_parcel(actor=clerk, school=world.school_a1, data=land_row(1, sports_area="15000", green_area="6000"))
    assert "之和超过占地面积 20,000 ㎡" in err.value.by_field()["area"][0]
    parcel = services.create_parcel(actor=clerk, school=world.school_a1, data=land_row(1))
    services.create_parcel(actor=clerk, school=world.school_a1, data=land_row(2, area="5000", sports_area="0", green_area="0"))
    assert selectors.land_totals(clerk, world.school_a1).area == D(25000)
    services.retire_parcel(actor=clerk, parcel=parcel, on=dt.date(2024, 5, 1), reason="划出用于市政道路")
    land = selectors.land_totals(clerk, world.school_a1)
    assert (land.area, land.sports_area, land.parcels) == (D(5000), D(0), 1)
    assert AuditEntry.objects.filter(object_type="facilities.parcel", object_id=str(parcel.pk)).count() == 2


# --------------------------------------------------------------------------------------------
# Imports


def run(world, kind: str, content: bytes, mode: str, *, user: str = "clerk_a1", school=None,
        policy: str = WritePolicy.CREATE_ONLY) -> ImportJob:
    job = runner.submit_import(kind=registry.get(kind), actor=world.user(user), unit=school or world.school_a1,
                               file_name=f"{kind}.xlsx", content=content, mode=mode, write_policy=policy)
    # The worker's entry point; in production django-tasks calls it after the upload commits.
    return runner.run_import(job.pk)


@pytest.fixture
def buildings_with_bad_rows(world):
    """Ten rows, four bad in known ways; returns (content, {row: (column, message fragment)})."""
    rows = [building_row(i) for i in range(1, 11)]
    rows[1]["total_area"] = "-50"  # sheet row 3
    rows[3]["structure"] = "茅草结构"  # row 5
    rows[5]["appraised_on"] = "2019-02-30"  # row 7
    rows[7].update(total_area="1000", teaching_area="900", admin_area="200")  # row 9
    expected = {3: ("建筑面积", "不能为负数"), 5: ("建筑结构", "茅草结构"), 7: ("抗震鉴定日期", "日期不存在"),
                9: ("建筑面积", "超过建筑面积 1,000 ㎡")}
    return xlsx_file(BUILDING_HEADERS, [building_cells(r) for r in rows]), expected


def test_building_import_all_or_nothing_writes_nothing_and_reports_every_bad_row(world, buildings_with_bad_rows):
    content, expected = buildings_with_bad_rows
    before = counts()
    job = run(world, "buildings", content, ImportMode.ALL_OR_NOTHING)
    assert job.status == JobStatus.REJECTED and job.written_rows == 0
    assert counts() == before
    reported = {p["row"]: p for p in job.problems}
    assert set(reported) == set(expected)
    for row, (column, fragment) in expected.items():
        assert reported[row]["column"] == column, reported[row]
        assert fragment in reported[row]["message"], reported[row]
    assert reported[3]["message"] == "建筑面积「-50」不能为负数"


def test_building_import_accept_valid_stores_exactly_the_valid_rows(world, buildings_with_bad_rows):
    content, expected = buildings_with_bad_rows
    job = run(world, "buildings", content, ImportMode.ACCEPT_VALID)
    assert job.status == JobStatus.DONE and job.written_rows == 6 and job.error_rows == 4
    stored = set(Building.objects.filter(school=world.school_a1).values_list("number", flat=True))
    assert stored == {f"JZ{row - 1:03d}" for row in range(2, 12) if row not in expected}
    assert AuditEntry.objects.filter(object_type="facilities.building", action="create").count() == 6
    assert ChangeFeedEntry.objects.filter(resource="building", school_id=world.school_a1.pk).count() == 6
    totals = selectors.floor_area_totals(world.user("clerk_a1"), world.school_a1)
    assert totals.total == 6 * D(3000) and totals.teaching == 6 * D(2700)


def test_building_import_updates_by_number_and_refuses_duplicates_in_the_file(world):
    clerk = world.user("clerk_a1")
    add(world, 1)
    gone = add(world, 2)
    services.demolish_building(actor=clerk, building=gone, on=dt.date(2024, 1, 1), reason="拆除")
    rows = [building_row(1, total_area="3500", teaching_area="3000"), building_row(3), building_row(3, name="重复"),
            building_row(2)]
    job = run(world, "buildings", xlsx_file(BUILDING_HEADERS, [building_cells(r) for r in rows]), ImportMode.ACCEPT_VALID,
              policy=WritePolicy.CREATE_AND_UPDATE)
    assert job.written_rows == 1 and (job.created_rows, job.updated_rows) == (0, 1)
    messages = {p["row"]: p["message"] for p in job.problems}
    # A number written twice is reported on both rows (neither is written).
    assert "另见第 4 行" in messages[3] and "另见第 3 行" in messages[4]
    assert "已于 2024-01-01 拆除" in messages[5]
    assert Building.objects.get(school=world.school_a1, number="JZ001").total_area == D(3500)
    update = AuditEntry.objects.get(object_type="facilities.building", action="update")
    assert update.changes["total_area"] == {"label": "建筑面积", "before": "3,000", "after": "3,500"}


def test_land_import_modes(world):
    rows = [land_row(1), land_row(2, area="-1"), land_row(3, sports_area="30000"), land_row(4, acquired_on="2020-13-01"),
            land_row(5, property_right="火星产权")]
    content = xlsx_file(LAND_HEADERS, [land_cells(r) for r in rows])
    before = counts()
    rejected = run(world, "land", content, ImportMode.ALL_OR_NOTHING)
    assert rejected.status == JobStatus.REJECTED and counts() == before
    by_row = {p["row"]: (p["column"], p["message"]) for p in rejected.problems}
    assert by_row[3] == ("占地面积", "占地面积「-1」不能为负数")
    assert by_row[4][0] == "占地面积" and "之和超过占地面积" in by_row[4][1]
    assert by_row[5][0] == "取得日期"
    assert by_row[6][0] == "产权" and "火星产权" in by_row[6][1]
    accepted = run(world, "land", content, ImportMode.ACCEPT_VALID)
    assert accepted.written_rows == 1
    assert list(LandParcel.objects.values_list("name", flat=True)) == ["第1地块"]


def test_dry_run_writes_nothing(world):
    before = counts()
    job = run(world, "buildings", xlsx_file(BUILDING_HEADERS, [building_cells(building_row(1))]), ImportMode.DRY_RUN)
    assert job.status == JobStatus.DONE and job.error_rows == 0 and counts() == before


def test_import_into_a_school_out_of_reach_is_refused(world):
    with pytest.raises(NotPermitted):
        runner.submit_import(kind=registry.get("buildings"), actor=world.user("clerk_a1"), unit=world.school_a2,
                             file_name="x.xlsx", content=b"x", mode=ImportMode.ALL_OR_NOTHING)


def test_template_has_the_use_area_columns(client, world):
    client.force_login(world.user("clerk_a1"))
    response = client.get("/imports/buildings/template.xlsx")
    assert response.status_code == 200
    import io

    from python_calamine import CalamineWorkbook

    header = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_name("数据").to_python()[0]
    for name in ("*建筑面积", "教学及辅助用房面积", "行政办公用房面积", "生活用房面积", "其他用房面积", "*产权"):
        assert name in header
