"""Spreadsheet imports of the equipment register and of typed summaries, through the shared import
machinery: per-field Chinese messages, and the two modes exactly (all or nothing / accept valid)."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from django.utils import timezone

from eduplatform.assets import codes, services
from eduplatform.assets.models import AssetHoldings, Equipment, HoldingsSource
from eduplatform.core.models import ImportJob, ImportMode, JobStatus, WritePolicy
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.imports import registry, runner
from tests.assets_support import line
from tests.students_support import xlsx_file

FIELDS = ["asset_number", "category", "name", "model", "quantity", "unit_price", "value", "purchased_on",
          "funding_source", "acquisition_mode", "use_direction", "status", "location", "disposed_on"]
HEADERS = ["资产编号", "设备类别", "名称", "型号规格", "数量", "单价（元）", "金额（元）", "购置日期", "经费来源",
           "取得方式", "使用方向", "仪器现状", "存放地点", "处置日期"]


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Equipment, AssetHoldings, AuditEntry, ChangeFeedEntry))


def run(world, kind: str, content: bytes, mode: str, *, user: str = "clerk_a1", unit=None,
        policy: str = WritePolicy.CREATE_ONLY) -> ImportJob:
    job = runner.submit_import(kind=registry.get(kind), actor=world.user(user), unit=unit or world.school_a1,
                               file_name="台账.xlsx", content=content, mode=mode, write_policy=policy)
    return runner.run_import(job.pk)


def equipment_file(rows: list[dict[str, str]]) -> bytes:
    return xlsx_file(HEADERS, [[r.get(f, "") for f in FIELDS] for r in rows])


@pytest.fixture
def file_with_bad_rows():
    """40 lines, 8 of them bad in known ways; returns (content, {sheet row: (column, fragment)}, good numbers)."""
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    bad = {
        3: ({"category": "飞船"}, "设备类别", "飞船"),
        6: ({"purchased_on": "2023-02-30"}, "购置日期", "2023-02-30"),
        9: ({"quantity": "-5"}, "数量", "不能为负数"),
        12: ({"unit_price": "-100"}, "单价（元）", "不能为负数"),
        15: ({"purchased_on": tomorrow}, "购置日期", "晚于今天"),
        18: ({"status": "6"}, "处置日期", "须填写处置日期"),
        21: ({"use_direction": "教研"}, "使用方向", "不是有效的使用方向"),
        24: ({"asset_number": "EQ-002"}, "资产编号", "另见第 3 行"),
    }
    rows, expected, good = [], {}, set()
    for i in range(40):
        sheet_row = i + 2
        number = f"EQ-{i + 1:03d}"
        row = line(number)
        if sheet_row in bad:
            overrides, column, fragment = bad[sheet_row]
            row.update(overrides)
            expected[sheet_row] = (column, fragment)
        else:
            good.add(number)
        rows.append(row)
    return equipment_file(rows), expected, good


def test_all_or_nothing_leaves_the_database_unchanged_and_reports_every_bad_field(world, file_with_bad_rows):
    content, expected, _good = file_with_bad_rows
    before = counts()
    job = run(world, "equipment", content, ImportMode.ALL_OR_NOTHING)
    assert job.status == JobStatus.REJECTED
    assert counts() == before
    assert job.error_rows == len(expected)
    by_row = {p["row"]: p for p in job.problems}
    assert set(by_row) == set(expected)
    for row, (column, fragment) in expected.items():
        assert by_row[row]["column"] == column, row
        assert fragment in by_row[row]["message"] + by_row[row]["value"], (row, by_row[row])
    assert "不是有效的设备类别" in by_row[3]["message"]
    # Row 3 has its own problem and shares its number with row 24: both are reported on it.
    assert any(p["row"] == 3 and "另见第 24 行" in p["message"] for p in job.problems)


def test_accept_valid_stores_exactly_the_valid_rows_and_derives_the_summary(world, file_with_bad_rows):
    content, expected, good = file_with_bad_rows
    job = run(world, "equipment", content, ImportMode.ACCEPT_VALID)
    assert job.status == JobStatus.DONE
    assert job.written_rows == len(good) == 32
    assert set(Equipment.objects.values_list("asset_number", flat=True)) == good
    assert {p["row"] for p in job.problems} == set(expected)
    assert AuditEntry.objects.filter(object_type="assets.equipment", action="create").count() == 32
    holdings = AssetHoldings.objects.get(school=world.school_a1,
                                         year=codes.statistical_year(timezone.localdate()))
    assert holdings.source == HoldingsSource.REGISTER
    assert holdings.teaching_equipment_value == decimal.Decimal("1505.00") * 32


def test_a_dry_run_writes_nothing(world, file_with_bad_rows):
    content, expected, _good = file_with_bad_rows
    before = counts()
    job = run(world, "equipment", content, ImportMode.DRY_RUN)
    assert job.status == JobStatus.DONE and job.written_rows == 0 and job.error_rows == len(expected)
    assert counts() == before


def test_a_known_asset_number_updates_its_line_with_history(world):
    clerk = world.user("clerk_a1")
    item = services.create_equipment(actor=clerk, school=world.school_a1, data=line("EQ-001"))
    job = run(world, "equipment", equipment_file([line("EQ-001", quantity="12"), line("EQ-NEW")]),
              ImportMode.ALL_OR_NOTHING, policy=WritePolicy.CREATE_AND_UPDATE)
    assert job.status == JobStatus.DONE and job.written_rows == 2
    item.refresh_from_db()
    assert (item.quantity, item.value) == (12, decimal.Decimal("1806.00"))
    update = AuditEntry.objects.get(object_type="assets.equipment", object_id=str(item.pk), action="update")
    assert update.changes["quantity"] == {"label": "数量", "before": 10, "after": 12}
    assert Equipment.objects.count() == 2


def test_a_county_imports_typed_summaries_for_its_own_schools_only(world):
    year = codes.statistical_year(timezone.localdate())
    services.create_equipment(actor=world.user("clerk_a1"), school=world.school_a1, data=line("R-1"))
    headers = ["学校标识码", "统计年度", "图书（册）", "教学用计算机（台）", "网络多媒体教室（间）",
               "教学仪器设备资产值（元）", "固定资产总值（元）"]
    rows = [
        [world.school_a2.school_code, str(year), "3000", "10", "6", "300000", "9000000"],  # ok (kindergarten)
        [world.school_b1.school_code, str(year), "3000", "10", "6", "300000", "9000000"],  # another county's
        [world.school_a2.school_code, str(year - 1), "2800", "10", "6", "900000", "800000"],  # teaching > fixed
        [world.school_a1.school_code, str(year), "1", "1", "1", "1", "2"],  # register school
        [world.school_a2.school_code, "2099", "1", "1", "1", "1", "2"],  # impossible year
    ]
    before = counts()
    job = run(world, "holdings", xlsx_file(headers, rows), ImportMode.ALL_OR_NOTHING, user="county_a_stat",
              unit=world.county_a)
    assert job.status == JobStatus.REJECTED and counts() == before
    messages = {p["row"]: p["message"] for p in job.problems}
    assert "不是天河区教育局管辖的学校" in messages[3]
    assert "小于教学仪器设备资产值" in messages[4]
    assert "由台账汇总，不能手工填写" in messages[5]
    assert "统计年度「2099」无效" in messages[6]
    job = run(world, "holdings", xlsx_file(headers, rows), ImportMode.ACCEPT_VALID, user="county_a_stat",
              unit=world.county_a)
    assert job.written_rows == 1
    typed = AssetHoldings.objects.get(school=world.school_a2)
    assert (typed.year, typed.source, typed.books_volumes) == (year, HoldingsSource.TYPED, 3000)
    assert not AssetHoldings.objects.filter(school=world.school_b1).exists()


def test_the_equipment_template_round_trips(world):
    from eduplatform.core.imports import ImportFileError, read_table

    kind = registry.get("equipment")
    content = runner.template(kind)
    with pytest.raises(ImportFileError) as info:
        read_table(content, "模板.xlsx", kind.schema.columns)
    found = {c["field"] for c in info.value.mapping["columns"] if c["field"]}
    assert found == {c.field for c in kind.schema.columns}
    # The template's example row is marked as such and never imported.
    job = run(world, "equipment", content, ImportMode.ALL_OR_NOTHING)
    assert job.status == JobStatus.FAILED and "只有模板的示例行" in job.failure
    assert not Equipment.objects.exists()
    # Its values are valid: a row copied from it with one value changed imports.
    columns = kind.schema.template_columns()
    example = [c.example for c in columns]
    example[[c.field for c in columns].index("name")] = "教师用台式计算机"
    job = run(world, "equipment", xlsx_file([c.label for c in columns], [example]), ImportMode.ALL_OR_NOTHING)
    assert job.status == JobStatus.DONE, job.problems
    assert Equipment.objects.get().name == "教师用台式计算机"
