"""The equipment register and the summary holdings derived from it (基础基522 资产)."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from django.utils import timezone

from eduplatform.assets import codes, services
from eduplatform.assets.models import AssetHoldings, Equipment, HoldingsSource
from eduplatform.assets.summary import register_figures
from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditEntry
from tests.assets_support import census_now, expected_figures, line

D = decimal.Decimal
FIGURES = ("books_volumes", "computers_for_teaching", "multimedia_classrooms", "teaching_equipment_value")


def current_holdings(school) -> AssetHoldings:
    return AssetHoldings.objects.get(school=school, year=codes.statistical_year(timezone.localdate()))


def assert_summary_equals_register(school, *, other: int = 0) -> AssetHoldings:
    today = timezone.localdate()
    holdings = current_holdings(school)
    expected = expected_figures(Equipment.objects.filter(school=school), census_now(today))
    assert holdings.source == HoldingsSource.REGISTER
    for name in FIGURES:
        assert getattr(holdings, name) == expected[name], name
    assert holdings.fixed_asset_value == expected["register_value"] + other
    live = register_figures(school.pk, as_of=today)
    assert live == register_figures(school.pk, as_of=today)  # deterministic
    live_expected = expected_figures(Equipment.objects.filter(school=school), today)
    assert live.teaching_equipment_value == live_expected["teaching_equipment_value"]
    assert live.register_value == live_expected["register_value"]
    return holdings


def test_equipment_value_summary_equals_the_register_after_adds_edits_and_disposals(world):
    clerk, school = world.user("clerk_a1"), world.school_a1
    census = census_now(timezone.localdate())
    add = lambda **kw: services.create_equipment(actor=clerk, school=school, data=line(**kw))  # noqa: E731
    pcs = add(number="PC-1", category="01", name="学生计算机", quantity=40, unit_price="4200")
    add(number="PC-2", category="01", name="办公计算机", quantity=5, unit_price="5000", use_direction="3")  # 行政
    add(number="MM-1", category="03", name="多媒体教室成套设备", quantity=12, unit_price="30000")
    add(number="BK-1", category="07", name="图书", quantity=20000, unit_price="25", use_direction="1")
    add(number="FU-1", category="08", name="课桌椅", quantity=500, unit_price="300")
    lab = add(number="LAB-1", quantity=10, unit_price="150.50", value="1400.00")  # value given ≠ q × p
    holdings = assert_summary_equals_register(school)
    assert holdings.computers_for_teaching == 40
    assert holdings.multimedia_classrooms == 12
    assert holdings.books_volumes == 20000
    assert holdings.teaching_equipment_value == D("168000") + D("360000") + D("1400.00")
    assert holdings.fixed_asset_value == D("168000") + D("25000") + D("360000") + D("500000") + D("150000") + D("1400")

    # Edit: fewer computers, one set of classroom equipment moved to 行政 use.
    services.update_equipment(actor=clerk, equipment=pcs, data=line("PC-1", category="01", name="学生计算机",
                                                                     quantity=35, unit_price="4200"))
    holdings = assert_summary_equals_register(school)
    assert holdings.computers_for_teaching == 35
    # A computer 待修 is still an asset but not available for teaching.
    services.update_equipment(actor=clerk, equipment=pcs, data=line("PC-1", category="01", name="学生计算机",
                                                                     quantity=35, unit_price="4200", status="3"))
    holdings = assert_summary_equals_register(school)
    assert holdings.computers_for_teaching == 0
    assert holdings.teaching_equipment_value == D("147000") + D("360000") + D("1400.00")

    # Disposal before the census date takes the line off this year's figures.
    services.dispose_equipment(actor=clerk, equipment=lab, status="6", on=census - dt.timedelta(days=10), reason="损坏")
    holdings = assert_summary_equals_register(school)
    assert holdings.teaching_equipment_value == D("147000") + D("360000")

    # Typed fixed assets outside the register add to the total; the register figures stay derived.
    services.type_holdings(actor=clerk, school=school, data={"year": str(holdings.year),
                                                           "other_fixed_assets_value": "8000000"})
    assert_summary_equals_register(school, other=D("8000000"))
    add(number="PC-3", category="01", name="教师计算机", quantity=3, unit_price="6000")
    holdings = assert_summary_equals_register(school, other=D("8000000"))
    assert holdings.computers_for_teaching == 3


def test_items_bought_after_the_census_date_count_next_year_but_show_in_the_live_figures(world):
    today = timezone.localdate()
    census = census_now(today)
    if census == today:
        pytest.skip("on the census date itself both figures coincide")
    clerk, school = world.user("clerk_a1"), world.school_a1
    services.create_equipment(actor=clerk, school=school, data=line("NEW-1", purchased_on=today.isoformat()))
    assert current_holdings(school).teaching_equipment_value == 0
    assert register_figures(school.pk, as_of=today).teaching_equipment_value == D("1505.00")


def test_a_school_without_a_register_types_its_summary(world):
    clerk, school = world.user("clerk_a1"), world.school_a1
    year = codes.statistical_year(timezone.localdate())
    holdings = services.type_holdings(actor=clerk, school=school, data={
        "year": str(year), "books_volumes": "32000", "computers_for_teaching": "120", "multimedia_classrooms": "24",
        "teaching_equipment_value": "2400000", "fixed_asset_value": "38000000"})
    assert holdings.source == HoldingsSource.TYPED
    assert (holdings.books_volumes, holdings.teaching_equipment_value) == (32000, D("2400000"))
    services.type_holdings(actor=clerk, school=school, data={
        "year": str(year), "books_volumes": "33000", "computers_for_teaching": "120", "multimedia_classrooms": "24",
        "teaching_equipment_value": "2400000", "fixed_asset_value": "38000000"})
    entry = AuditEntry.objects.filter(object_type="assets.holdings", object_id=str(holdings.pk)).first()
    assert entry.changes["books_volumes"] == {"label": "图书（册）", "before": 32000, "after": 33000}


def test_typed_summary_rules_are_explained_in_chinese(world):
    clerk, school = world.user("clerk_a1"), world.school_a1
    year = codes.statistical_year(timezone.localdate())
    with pytest.raises(RecordInvalid) as err:
        services.type_holdings(actor=clerk, school=school, data={
            "year": str(year), "teaching_equipment_value": "500", "fixed_asset_value": "100", "books_volumes": "-3"})
    messages = err.value.by_field()
    assert "固定资产总值「100」小于教学仪器设备资产值「500」" in messages["fixed_asset_value"][0]
    assert "不能为负数" in messages["books_volumes"][0]
    with pytest.raises(RecordInvalid) as err:
        services.type_holdings(actor=clerk, school=school, data={"year": str(year + 1)})
    assert "统计年度" in err.value.by_field()["year"][0]
    assert not AssetHoldings.objects.exists()


def test_a_register_school_cannot_type_figures_its_register_gives(world):
    clerk, school = world.user("clerk_a1"), world.school_a1
    services.create_equipment(actor=clerk, school=school, data=line("X-1"))
    year = codes.statistical_year(timezone.localdate())
    with pytest.raises(RecordInvalid) as err:
        services.type_holdings(actor=clerk, school=school, data={"year": str(year), "teaching_equipment_value": "9999999"})
    assert "由台账汇总，不能手工填写" in err.value.by_field()["teaching_equipment_value"][0]
    assert current_holdings(school).teaching_equipment_value == D("1505.00")


def test_the_first_register_line_turns_a_typed_year_into_a_derived_one(world):
    clerk, school = world.user("clerk_a1"), world.school_a1
    year = codes.statistical_year(timezone.localdate())
    services.type_holdings(actor=clerk, school=school, data={"year": str(year), "books_volumes": "500",
                                                           "teaching_equipment_value": "10", "fixed_asset_value": "20"})
    services.type_holdings(actor=clerk, school=school, data={"year": str(year - 1), "books_volumes": "400"})
    services.create_equipment(actor=clerk, school=school, data=line("X-1"))
    assert_summary_equals_register(school)
    last_year = AssetHoldings.objects.get(school=school, year=year - 1)
    assert (last_year.source, last_year.books_volumes) == (HoldingsSource.TYPED, 400)


def test_equipment_rules_reject_impossible_lines_with_field_messages(world):
    clerk, school = world.user("clerk_a1"), world.school_a1
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(RecordInvalid) as err:
        services.create_equipment(actor=clerk, school=school, data=line(
            "BAD", category="99", quantity="-1", unit_price="12.345", purchased_on=tomorrow.isoformat(),
            funding_source="8", status="6"))
    by_field = err.value.by_field()
    assert "不是有效的设备类别" in by_field["category"][0]
    assert "不能为负数" in by_field["quantity"][0]
    assert "最多保留两位小数" in by_field["unit_price"][0]
    assert "晚于今天" in by_field["purchased_on"][0]
    assert "不是有效的经费来源" in by_field["funding_source"][0]
    assert "须填写处置日期" in by_field["disposed_on"][0]
    assert not Equipment.objects.exists()
    services.create_equipment(actor=clerk, school=school, data=line("A-1"))
    with pytest.raises(RecordInvalid) as err:
        services.create_equipment(actor=clerk, school=school, data=line("A-1"))
    assert "已登记" in err.value.by_field()["asset_number"][0]


def test_value_defaults_to_quantity_times_unit_price(world):
    item = services.create_equipment(actor=world.user("clerk_a1"), school=world.school_a1,
                                     data=line("V-1", quantity="3", unit_price="33.33"))
    assert item.value == D("99.99")
    assert item.for_teaching


def test_a_disposal_keeps_the_line_and_its_history(world):
    clerk = world.user("clerk_a1")
    item = services.create_equipment(actor=clerk, school=world.school_a1, data=line("D-1"))
    with pytest.raises(RecordInvalid):
        services.dispose_equipment(actor=clerk, equipment=item, status="1", on=timezone.localdate())
    services.dispose_equipment(actor=clerk, equipment=item, status="7", on=timezone.localdate(), reason="调往二小")
    item.refresh_from_db()
    assert (item.status, item.disposal_reason) == ("7", "调往二小")
    entry = AuditEntry.objects.filter(object_type="assets.equipment", object_id=str(item.pk)).first()
    assert entry.changes["status"]["before"] == "1-在用" and entry.changes["status"]["after"] == "7-调出"
    with pytest.raises(RecordInvalid) as err:
        services.dispose_equipment(actor=clerk, equipment=item, status="6", on=timezone.localdate())
    assert "不能重复处置" in str(err.value)


def test_only_writers_within_reach_may_change_a_register(world):
    item = services.create_equipment(actor=world.user("county_a_stat"), school=world.school_a1, data=line("P-1"))
    with pytest.raises(OutOfScope):
        services.create_equipment(actor=world.user("county_b_stat"), school=world.school_a1, data=line("P-2"))
    with pytest.raises(OutOfScope):
        services.create_equipment(actor=world.user("clerk_a1"), school=world.school_a2, data=line("P-3"))
    with pytest.raises(NotPermitted):
        services.update_equipment(actor=world.user("county_a_reviewer"), equipment=item, data=line("P-1", quantity=1))
    assert Equipment.objects.count() == 1
