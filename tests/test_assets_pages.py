"""The assets pages: list with filters, search and export, a record with its history, entry,
disposal, and the summary page — each within the user's jurisdiction."""

from __future__ import annotations

import io

from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.assets import codes, services
from eduplatform.assets.models import AssetHoldings, Equipment
from tests.assets_support import line
from tests.world import LEAK_MARKER_B


def test_list_filters_and_searches_the_register(client, world):
    clerk = world.user("clerk_a1")
    services.create_equipment(actor=clerk, school=world.school_a1, data=line("PC-1", category="01", name="学生计算机"))
    services.create_equipment(actor=clerk, school=world.school_a1, data=line("BB-1", category="05", name="篮球架"))
    client.force_login(clerk)
    body = client.get("/assets/").content.decode()
    assert "学生计算机" in body and "篮球架" in body
    body = client.get("/assets/?category=05").content.decode()
    assert "篮球架" in body and "学生计算机" not in body
    body = client.get("/assets/?q=PC-1").content.decode()
    assert "学生计算机" in body and "篮球架" not in body


def test_a_county_sees_its_schools_registers_but_not_another_countys(client, world):
    services.create_equipment(actor=world.user("clerk_b1"), school=world.school_b1,
                              data=line("B-1", name=f"{LEAK_MARKER_B}投影仪"))
    item = services.create_equipment(actor=world.user("clerk_a1"), school=world.school_a1, data=line("A-1"))
    client.force_login(world.user("county_a_stat"))
    body = client.get("/assets/").content.decode()
    assert "A-1" in body and LEAK_MARKER_B not in body
    other = Equipment.objects.get(asset_number="B-1")
    assert client.get(f"/assets/{other.pk}/").status_code == 404
    assert client.get(f"/assets/{item.pk}/").status_code == 200


def test_record_page_shows_its_full_history(client, world):
    clerk = world.user("clerk_a1")
    item = services.create_equipment(actor=clerk, school=world.school_a1, data=line("H-1"))
    services.update_equipment(actor=clerk, equipment=item, data=line("H-1", location="化学实验室"))
    client.force_login(clerk)
    body = client.get(f"/assets/{item.pk}/").content.decode()
    assert "物理实验室" in body and "化学实验室" in body  # before and after
    assert "修改记录" in body and "新增" in body


def test_entry_form_reports_field_problems_and_writes_nothing(client, world):
    client.force_login(world.user("clerk_a1"))
    response = client.post("/assets/new/", line("F-1", quantity="-2", category="飞船"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "不能为负数" in body and "飞船" in body
    assert not Equipment.objects.exists()
    response = client.post("/assets/new/", line("F-1"))
    item = Equipment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assets/{item.pk}/"


def test_disposal_page_takes_the_line_off_the_books(client, world):
    clerk = world.user("clerk_a1")
    item = services.create_equipment(actor=clerk, school=world.school_a1, data=line("Z-1"))
    client.force_login(clerk)
    response = client.post(f"/assets/{item.pk}/dispose/", {"status": "6", "disposed_on": timezone.localdate().isoformat(),
                                                         "disposal_reason": "老化"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.disposed_on == timezone.localdate() and item.status == "6"
    assert "Z-1" not in client.get("/assets/").content.decode()
    assert "Z-1" in client.get("/assets/?held=disposed").content.decode()


def test_a_reviewer_reads_but_may_not_write(client, world):
    item = services.create_equipment(actor=world.user("clerk_a1"), school=world.school_a1, data=line("R-1"))
    client.force_login(world.user("county_a_reviewer"))
    assert client.get(f"/assets/{item.pk}/").status_code == 200
    assert client.get("/assets/new/").status_code == 403
    assert client.post(f"/assets/{item.pk}/dispose/", {"status": "6"}).status_code == 403


def test_export_has_the_listed_columns(client, world):
    services.create_equipment(actor=world.user("clerk_a1"), school=world.school_a1, data=line("X-1", name="显微镜"))
    client.force_login(world.user("county_a_stat"))
    response = client.get("/assets/?format=xlsx")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert sheet[0][:5] == ["学校标识码", "学校", "资产编号", "设备类别", "名称"]
    assert sheet[1][4] == "显微镜" and sheet[1][8] == 1505.0


def test_summary_page_shows_derived_and_typed_holdings(client, world):
    year = codes.statistical_year(timezone.localdate())
    services.create_equipment(actor=world.user("clerk_a1"), school=world.school_a1, data=line("S-1"))
    services.type_holdings(actor=world.user("county_a_stat"), school=world.school_a2, data={
        "year": str(year), "books_volumes": "4321", "teaching_equipment_value": "10", "fixed_asset_value": "20"})
    client.force_login(world.user("county_a_stat"))
    body = client.get("/assets/holdings/").content.decode()
    assert "由台账汇总" in body and "手工填报" in body and "4,321" in body  # grouped by thousands
    derived = AssetHoldings.objects.get(school=world.school_a1)
    body = client.get(f"/assets/holdings/{derived.pk}/").content.decode()
    assert "1,505.00" in body and "由仪器设备台账重新汇总" in body


def test_typing_a_summary_through_the_form(client, world):
    client.force_login(world.user("county_a_stat"))
    year = codes.statistical_year(timezone.localdate())
    response = client.post("/assets/holdings/new/", {"school_code": world.school_b1.school_code, "year": str(year)})
    assert "不在您的管辖范围内" in response.content.decode()
    response = client.post("/assets/holdings/new/", {"school_code": world.school_a2.school_code, "year": str(year),
                                                     "books_volumes": "800"})
    assert response.status_code == 302
    assert AssetHoldings.objects.get(school=world.school_a2).books_volumes == 800
