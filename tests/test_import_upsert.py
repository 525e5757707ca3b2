"""Create versus update in every import: each row says whether it creates a record, changes one
(field by field, old → new) or changes nothing; the user chooses 只新增 / 只更新已有记录 / 新增并更新;
an identifier of another school is refused; land parcels have a natural key; a re-imported file
changes nothing and says so; a duplicate identifier is reported on every row that carries it."""

from __future__ import annotations

import datetime as dt
import decimal
import io

import pytest
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from eduplatform.assets import services as asset_services
from eduplatform.assets.models import Equipment
from eduplatform.core.models import ImportJob, ImportMode, JobStatus, WritePolicy
from eduplatform.facilities import services as facility_services
from eduplatform.facilities.models import Building, LandParcel
from eduplatform.history.models import AuditEntry, ChangeFeedEntry, DirtySchool
from eduplatform.imports import registry, runner
from eduplatform.staff import services as staff_services
from eduplatform.staff.models import StaffMember
from eduplatform.staff.schema import STAFF_SCHEMA
from eduplatform.students.models import Student

from .assets_support import line
from .facilities_support import (
    BUILDING_HEADERS,
    LAND_HEADERS,
    building_cells,
    building_row,
    land_cells,
    land_row,
)
from .staff_support import STAFF_FIELDS, STAFF_HEADERS, staff_row
from .students_support import student_row, xlsx_file

D = decimal.Decimal
EQUIPMENT_FIELDS = ["asset_number", "category", "name", "model", "quantity", "unit_price", "purchased_on",
                    "funding_source", "acquisition_mode", "use_direction", "status", "location"]
EQUIPMENT_HEADERS = ["资产编号", "设备类别", "名称", "型号规格", "数量", "单价（元）", "购置日期", "经费来源", "取得方式",
                     "使用方向", "仪器现状", "存放地点"]
STUDENT_FIELDS = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number",
                  "entered_on", "phone"]
STUDENT_HEADERS = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月", "联系电话"]


def run(world, kind: str, content: bytes, mode: str, policy: str, *, user: str = "clerk_a1", unit=None) -> ImportJob:
    job = runner.submit_import(kind=registry.get(kind), actor=world.user(user), unit=unit or world.school_a1,
                               file_name=f"{kind}.xlsx", content=content, mode=mode, write_policy=policy)
    return runner.run_import(job.pk)  # the worker's entry point, run inline


def traces() -> tuple[int, int, int]:
    """What any write leaves: audit entries, change-feed entries, roll-up dirty marks."""
    return AuditEntry.objects.count(), ChangeFeedEntry.objects.count(), DirtySchool.objects.count()


def buildings_file(rows: list[dict[str, str]]) -> bytes:
    return xlsx_file(BUILDING_HEADERS, [building_cells(r) for r in rows])


def land_file(rows: list[dict[str, str]]) -> bytes:
    return xlsx_file(LAND_HEADERS, [land_cells(r) for r in rows])


def equipment_file(rows: list[dict[str, str]]) -> bytes:
    return xlsx_file(EQUIPMENT_HEADERS, [[r.get(f, "") for f in EQUIPMENT_FIELDS] for r in rows])


def report_sheet(job: ImportJob, name: str) -> list[list[object]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(runner.problems_report(job)))
    return book.get_sheet_by_name(name).to_python()


# --------------------------------------------------------------------------------------------
# Re-importing the same file changes nothing and says so


@pytest.mark.parametrize("policy", [WritePolicy.CREATE_ONLY, WritePolicy.CREATE_AND_UPDATE])
def test_reimporting_a_buildings_file_changes_nothing_and_says_so(world, policy):
    content = buildings_file([building_row(i) for i in range(1, 17)])
    first = run(world, "buildings", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY)
    assert (first.status, first.created_rows, first.written_rows) == (JobStatus.DONE, 16, 16)
    stored = {b.pk: b.updated_at for b in Building.objects.all()}
    before = traces()
    again = run(world, "buildings", content, ImportMode.ALL_OR_NOTHING, policy)
    assert again.status == JobStatus.DONE and not again.problems
    assert (again.created_rows, again.updated_rows, again.unchanged_rows, again.written_rows) == (0, 0, 16, 0)
    assert runner.action_summary(again) == "新增 0 条、修改 0 条、无变化 16 条、有问题 0 条"
    # No new version, no history, no change feed, no roll-up mark — not even the job's own audit note.
    assert {b.pk: b.updated_at for b in Building.objects.all()} == stored
    assert traces() == before
    assert sorted(again.row_actions["unchanged"]) == list(range(2, 18))


def test_reimporting_an_equipment_file_changes_nothing_and_says_so(world):
    content = equipment_file([line(f"EQ-{i:03d}") for i in range(1, 17)])
    assert run(world, "equipment", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY).created_rows == 16
    stored = {e.pk: e.updated_at for e in Equipment.objects.all()}
    before = traces()
    again = run(world, "equipment", content, ImportMode.ACCEPT_VALID, WritePolicy.CREATE_AND_UPDATE)
    assert (again.status, again.unchanged_rows, again.written_rows, again.error_rows) == (JobStatus.DONE, 16, 0, 0)
    assert {e.pk: e.updated_at for e in Equipment.objects.all()} == stored
    assert traces() == before  # the summary holdings were not re-derived either


def test_reimporting_a_land_file_without_certificates_does_not_duplicate_the_parcels(world):
    rows = [land_row(1, certificate_number=""), land_row(2, certificate_number=""), land_row(3)]
    content = land_file(rows)
    assert run(world, "land", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY).created_rows == 3
    before = traces()
    again = run(world, "land", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY)
    assert (again.status, again.created_rows, again.unchanged_rows) == (JobStatus.DONE, 0, 3)
    assert LandParcel.objects.count() == 3 and traces() == before


def test_a_parcel_known_by_its_name_gets_its_certificate_by_update(world):
    run(world, "land", land_file([land_row(1, certificate_number="")]), ImportMode.ALL_OR_NOTHING,
        WritePolicy.CREATE_ONLY)
    job = run(world, "land", land_file([land_row(1)]), ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_AND_UPDATE)
    assert (job.created_rows, job.updated_rows) == (0, 1)
    parcel = LandParcel.objects.get()
    assert parcel.certificate_number == land_row(1)["certificate_number"]


# --------------------------------------------------------------------------------------------
# An overwrite is shown field by field before it happens, and happens only when chosen


def test_an_overwrite_is_shown_field_by_field_in_the_dry_run_and_applied_only_in_create_and_update(world):
    clerk = world.user("clerk_a1")
    facility_services.create_building(actor=clerk, school=world.school_a1, data=building_row(1))
    facility_services.create_building(actor=clerk, school=world.school_a1, data=building_row(2))
    canteen = building_row(1, name="第一食堂", use_code="22")  # the 教学楼 JZ001 would become a 食堂
    content = buildings_file([canteen, building_row(2), building_row(3)])

    dry = run(world, "buildings", content, ImportMode.DRY_RUN, WritePolicy.CREATE_AND_UPDATE)
    assert dry.status == JobStatus.DONE and not dry.problems
    assert (dry.created_rows, dry.updated_rows, dry.unchanged_rows) == (1, 1, 1)
    (update,) = dry.row_actions["update"]
    assert update["row"] == 2 and "JZ001" in update["record"]
    assert sorted(update["changes"]) == [["建筑物名称", "1号教学楼", "第一食堂"], ["建筑物用途", "11 教学楼", "22 食堂"]]
    assert Building.objects.get(number="JZ001").use_code == "11" and Building.objects.count() == 2
    page = runner_page(world, dry)
    assert "建筑物用途：11 教学楼 → 22 食堂" in page and "如正式导入：新增 1 条、修改 1 条、无变化 1 条、有问题 0 条" in page
    rows = report_sheet(dry, "逐行结果")
    assert rows[0] == ["行号", "操作", "记录", "变更字段", "问题说明"]
    by_row = {int(float(r[0])): r for r in rows[1:]}
    assert [by_row[r][1] for r in (2, 3, 4)] == ["修改", "无变化", "新增"]
    assert "建筑物用途：11 教学楼 → 22 食堂" in by_row[2][3]

    # 只新增 (the default): the changed row is refused with what it would change; nothing is written.
    before = (list(Building.objects.values_list("number", "use_code", "name")), traces())
    refused = run(world, "buildings", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY)
    assert refused.status == JobStatus.REJECTED and [p["row"] for p in refused.problems] == [2]
    assert "按“只新增”方式不修改已有记录" in refused.problems[0]["message"]
    assert "建筑物用途：11 教学楼 → 22 食堂" in refused.problems[0]["message"]
    assert (list(Building.objects.values_list("number", "use_code", "name")), traces()) == before
    # Accepting valid rows under 只新增: the new building is added, the existing one left as it was.
    partly = run(world, "buildings", content, ImportMode.ACCEPT_VALID, WritePolicy.CREATE_ONLY)
    assert (partly.created_rows, partly.updated_rows, partly.unchanged_rows, partly.error_rows) == (1, 0, 1, 1)
    assert Building.objects.get(number="JZ001").use_code == "11"

    # 新增并更新: now the change is applied, with its history.
    applied = run(world, "buildings", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_AND_UPDATE)
    assert (applied.status, applied.updated_rows, applied.unchanged_rows) == (JobStatus.DONE, 1, 2)
    assert Building.objects.get(number="JZ001").use_code == "22"
    audit = AuditEntry.objects.get(object_type="facilities.building", action="update")
    assert audit.changes["use_code"] == {"label": "建筑物用途", "before": "11 教学楼", "after": "22 食堂"}


def runner_page(world, job: ImportJob) -> str:
    client = Client()
    client.force_login(world.user("clerk_a1"))
    return client.get(reverse("imports:job", kwargs={"job_id": job.pk})).content.decode()


def test_update_only_reports_the_rows_that_would_create(world):
    asset_services.create_equipment(actor=world.user("clerk_a1"), school=world.school_a1, data=line("EQ-001"))
    content = equipment_file([line("EQ-001", quantity="12"), line("EQ-NEW")])
    before = (Equipment.objects.count(), traces())
    rejected = run(world, "equipment", content, ImportMode.ALL_OR_NOTHING, WritePolicy.UPDATE_ONLY)
    assert rejected.status == JobStatus.REJECTED and (Equipment.objects.count(), traces()) == before
    assert [p["row"] for p in rejected.problems] == [3]
    assert "按“只更新已有记录”方式不新增" in rejected.problems[0]["message"]
    job = run(world, "equipment", content, ImportMode.ACCEPT_VALID, WritePolicy.UPDATE_ONLY)
    assert (job.created_rows, job.updated_rows, job.error_rows) == (0, 1, 1)
    assert Equipment.objects.get(asset_number="EQ-001").quantity == 12
    assert not Equipment.objects.filter(asset_number="EQ-NEW").exists()


# --------------------------------------------------------------------------------------------
# The choice is stored with the job, shown, and kept by commit-after-dry-run and retry


def test_the_upload_page_offers_the_choice_with_only_new_records_by_default(client, world):
    client.force_login(world.user("clerk_a1"))
    page = client.get("/imports/buildings/").content.decode()
    assert 'data-testid="policy-create_only"' in page and 'data-testid="policy-update_only"' in page
    assert 'value="create_only" checked' in page and 'value="create_and_update" checked' not in page
    upload = io.BytesIO(buildings_file([building_row(1)]))
    upload.name = "校舍.xlsx"
    response = client.post("/imports/buildings/", {"file": upload, "mode": ImportMode.DRY_RUN,
                                                   "write_policy": WritePolicy.UPDATE_ONLY})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.write_policy == WritePolicy.UPDATE_ONLY
    assert "只更新已有记录" in client.get(response["Location"]).content.decode()


def test_committing_a_dry_run_keeps_its_write_policy(client, world):
    facility_services.create_building(actor=world.user("clerk_a1"), school=world.school_a1, data=building_row(1))
    dry = run(world, "buildings", buildings_file([building_row(1, name="综合楼")]), ImportMode.DRY_RUN,
              WritePolicy.CREATE_AND_UPDATE)
    assert dry.status == JobStatus.DONE and dry.updated_rows == 1 and not dry.error_rows
    client.force_login(world.user("clerk_a1"))
    response = client.post(reverse("imports:commit", kwargs={"job_id": dry.pk}))
    committed = ImportJob.objects.exclude(pk=dry.pk).get()
    assert response.status_code == 302
    assert (committed.mode, committed.write_policy) == (ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_AND_UPDATE)
    runner.run_import(committed.pk)
    assert Building.objects.get(number="JZ001").name == "综合楼"


def test_a_retried_job_keeps_its_write_policy(world):
    job = runner.submit_import(kind=registry.get("buildings"), actor=world.user("clerk_a1"), unit=world.school_a1,
                               file_name="校舍.xlsx", content=buildings_file([building_row(1)]),
                               mode=ImportMode.ACCEPT_VALID, write_policy=WritePolicy.UPDATE_ONLY)
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, failure=runner.INTERRUPTED)
    again = runner.retry_import(job=ImportJob.objects.get(pk=job.pk), actor=world.user("clerk_a1"))
    assert (again.mode, again.write_policy) == (ImportMode.ACCEPT_VALID, WritePolicy.UPDATE_ONLY)


# --------------------------------------------------------------------------------------------
# Identifiers of another school


def test_a_certificate_of_another_school_is_refused_without_naming_a_school_out_of_sight(world):
    other = facility_services.create_parcel(actor=world.user("clerk_b1"), school=world.school_b1, data=land_row(7))
    before = (LandParcel.objects.count(), traces())
    job = run(world, "land", land_file([land_row(7, name="新校区")]), ImportMode.ALL_OR_NOTHING,
              WritePolicy.CREATE_AND_UPDATE)
    assert job.status == JobStatus.REJECTED and (LandParcel.objects.count(), traces()) == before
    (problem,) = job.problems
    assert problem["column"] == "土地证号" and "已登记在其他单位名下" in problem["message"]
    assert world.school_b1.name not in problem["message"] and other.school_id == world.school_b1.pk


def test_a_certificate_of_another_school_in_the_county_names_it_to_the_county(world):
    facility_services.create_parcel(actor=world.user("county_a_stat"), school=world.school_a2, data=land_row(8))
    job = run(world, "land", land_file([land_row(8)]), ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_AND_UPDATE,
              user="county_a_stat")
    assert job.status == JobStatus.REJECTED
    assert f"已登记在「{world.school_a2.name}」名下" in job.problems[0]["message"]


# --------------------------------------------------------------------------------------------
# Duplicates inside one file, on every row


def test_a_duplicate_building_number_is_reported_on_every_row_even_one_with_other_problems(world):
    rows = [building_row(1), building_row(2), building_row(1, total_area="-5"), building_row(1, name="又一栋")]
    job = run(world, "buildings", buildings_file(rows), ImportMode.ACCEPT_VALID, WritePolicy.CREATE_ONLY)
    duplicates = {p["row"]: p["message"] for p in job.problems if p["column"] == "建筑物编号"}
    assert set(duplicates) == {2, 4, 5}
    assert "另见第 4、5 行" in duplicates[2] and "另见第 2、5 行" in duplicates[4]
    assert any(p["row"] == 4 and p["column"] == "建筑面积" for p in job.problems)
    assert list(Building.objects.values_list("number", flat=True)) == ["JZ002"]


def test_a_duplicate_parcel_name_or_certificate_is_reported_on_every_row(world):
    rows = [land_row(1), land_row(2, name="第1地块"), land_row(3, certificate_number=land_row(1)["certificate_number"])]
    job = run(world, "land", land_file(rows), ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY)
    assert job.status == JobStatus.REJECTED and LandParcel.objects.count() == 0
    by_column = {(p["row"], p["column"]) for p in job.problems}
    assert {(2, "地块名称（坐落）"), (3, "地块名称（坐落）"), (2, "土地证号"), (4, "土地证号")} <= by_column


# --------------------------------------------------------------------------------------------
# People: staff and students say per row what they do, personal data masked


def test_staff_reimport_is_unchanged_and_an_update_is_masked_and_needs_the_choice(world):
    rows = [staff_row(1), staff_row(2)]
    content = xlsx_file(STAFF_HEADERS, [[r[f] for f in STAFF_FIELDS] for r in rows])
    first = run(world, "staff", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY)
    assert first.created_rows == 2
    before = traces()
    again = run(world, "staff", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY)
    assert (again.status, again.unchanged_rows, again.written_rows) == (JobStatus.DONE, 2, 0) and traces() == before
    changed = xlsx_file(STAFF_HEADERS, [[r[f] for f in STAFF_FIELDS] for r in (staff_row(1, title="高级教师"), staff_row(2))])
    refused = run(world, "staff", changed, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY)
    assert refused.status == JobStatus.REJECTED and traces() == before
    assert staff_row(1)["id_number"] not in str(refused.problems) + str(refused.row_actions)
    applied = run(world, "staff", changed, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_AND_UPDATE)
    assert (applied.updated_rows, applied.unchanged_rows) == (1, 1)
    (update,) = applied.row_actions["update"]
    assert [c[0] for c in update["changes"]] == ["专业技术职务"] and update["changes"][0][2].endswith("高级教师")
    promoted = StaffMember.objects.get(name="测试教师1")
    assert STAFF_SCHEMA.code_name("title", promoted.title) == "高级教师" and StaffMember.objects.count() == 2
    assert AuditEntry.objects.filter(object_type="staff.staffmember", action="update").count() == 1


def test_staff_active_at_another_unit_is_still_refused(world):
    staff_services.hire(actor=world.user("clerk_b1"), unit=world.school_b1, data=staff_row(5))
    content = xlsx_file(STAFF_HEADERS, [[staff_row(5)[f] for f in STAFF_FIELDS]])
    job = run(world, "staff", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_AND_UPDATE)
    assert job.status == JobStatus.REJECTED and "同一人只能在一个单位在岗" in job.problems[0]["message"]
    assert StaffMember.objects.filter(unit=world.school_b1).count() == 1


def test_students_reimport_is_unchanged_and_a_phone_change_is_shown_masked(world):
    rows = [student_row(1), student_row(2)]
    content = xlsx_file(STUDENT_HEADERS, [[r[f] for f in STUDENT_FIELDS] for r in rows])
    assert run(world, "students", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY).created_rows == 2
    before = traces()
    again = run(world, "students", content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_ONLY)
    assert (again.status, again.unchanged_rows, again.created_rows) == (JobStatus.DONE, 2, 0) and traces() == before
    new_phone = "13912345678"
    changed = xlsx_file(STUDENT_HEADERS, [[r[f] for f in STUDENT_FIELDS]
                                          for r in (dict(student_row(1), phone=new_phone), student_row(2))])
    dry = run(world, "students", changed, ImportMode.DRY_RUN, WritePolicy.UPDATE_ONLY)
    (update,) = dry.row_actions["update"]
    assert update["changes"][0][0] == "联系电话" and new_phone not in str(update)
    assert str(student_row(1)["id_number"]) not in str(dry.row_actions)
    applied = run(world, "students", changed, ImportMode.ALL_OR_NOTHING, WritePolicy.UPDATE_ONLY)
    assert (applied.status, applied.updated_rows, applied.unchanged_rows) == (JobStatus.DONE, 1, 1)
    assert Student.objects.get(name=student_row(1)["name"]).phone_masked.endswith("5678")
    assert AuditEntry.objects.filter(object_type="students.student", action="update").count() == 1


# --------------------------------------------------------------------------------------------
# The land key's data migration: parcels that broke the key before it existed are made distinct


def test_the_migration_makes_duplicate_parcels_distinct_without_losing_any(world):
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("eduplatform.facilities.migrations.0002_land_parcel_duplicate_keys_resolved")
    constraints = {c.name: c for c in LandParcel._meta.constraints}
    editor = connection.schema_editor()
    with connection.cursor() as cursor:  # the state before the key: no unique indexes (rolled back after the test)
        for name in constraints:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    school = world.school_a1
    make = [dict(name="主校区", certificate_number=""), dict(name="主校区", certificate_number=""),
            dict(name="主校区（2）", certificate_number="粤X1"), dict(name="北校区", certificate_number="粤X1"),
            dict(name="主校区", certificate_number="", retired_on=dt.date(2020, 1, 1))]  # 注销: keeps its name
    for values in make:
        LandParcel.objects.create(school=school, region_path=school.region_path, area=D(100), property_right="1",
                                  **values)
    migration.resolve_duplicate_keys(apps, None)
    parcels = list(LandParcel.objects.filter(retired_on__isnull=True).order_by("pk").values_list(
        "name", "certificate_number", "notes"))
    names = [p[0] for p in parcels]
    assert len(names) == len(set(names)) and len(LandParcel.objects.all()) == len(make)
    assert names[:2] == ["主校区", "主校区（3）"]  # （2） was taken by another parcel
    assert parcels[2][1] == "粤X1" and parcels[3][1] == "" and "粤X1" in parcels[3][2]
    with connection.cursor() as cursor:  # and now the key holds
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the inserts' deferred foreign-key checks first
        for constraint in constraints.values():
            cursor.execute(str(constraint.create_sql(LandParcel, editor)))


# --------------------------------------------------------------------------------------------
# Two clerks importing the same file at the same moment (PostgreSQL, separate connections)

from .concurrency import committing, postgres_only, run_concurrently  # noqa: E402
from .test_concurrent_rollups import assert_rollups_equal_records  # noqa: E402


@postgres_only
@committing
@pytest.mark.parametrize("kind", ["land", "buildings", "equipment", "students", "staff"])
def test_the_same_file_imported_twice_at_once_creates_each_record_once(world, kind):
    """Both jobs read "not there yet" before either commits; the natural keys (parcel name or
    certificate, building number) let one of them create the records and the other end clearly —
    as unchanged rows once it sees them, or as a rejected file naming the taken key — never with
    doubled records or an unexplained failure."""
    if kind == "land":
        content, model = land_file([land_row(1, certificate_number=""), land_row(2, certificate_number=""),
                                    land_row(3)]), LandParcel
    elif kind == "buildings":
        content, model = buildings_file([building_row(1), building_row(2), building_row(3)]), Building
    elif kind == "equipment":
        content, model = equipment_file([line("1"), line("2"), line("3")]), Equipment
    elif kind == "students":
        content, model = xlsx_file(STUDENT_HEADERS, [[student_row(i)[f] for f in STUDENT_FIELDS] for i in (1, 2, 3)]), Student
    else:
        content, model = xlsx_file(STAFF_HEADERS, [[staff_row(i)[f] for f in STAFF_FIELDS] for i in (1, 2, 3)]), StaffMember
    before = model.objects.count()

    def job():
        return run(world, kind, content, ImportMode.ALL_OR_NOTHING, WritePolicy.CREATE_AND_UPDATE).pk

    jobs = [ImportJob.objects.get(pk=pk) for pk in run_concurrently(job, job)]
    assert model.objects.count() == before + 3
    # The derived tables agree too: each roll-up equals a raw count and a full rebuild, no mark left.
    assert_rollups_equal_records([world.school_a1.pk])
    assert sorted(j.created_rows for j in jobs) == [0, 3]
    loser = next(j for j in jobs if j.created_rows == 0)
    if loser.status == JobStatus.DONE:
        assert loser.unchanged_rows == 3
    else:
        # Refused as a whole, with the rows and the key that another import took meanwhile.
        assert loser.status in (JobStatus.REJECTED, JobStatus.FAILED), loser.status
        text = " ".join(str(p.get("message", "")) for p in loser.problems or []) + (loser.failure or "")
        assert text.strip() and "IntegrityError" not in text, text
