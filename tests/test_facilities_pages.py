"""The land and building pages: lists with filters and export, record pages with history, forms."""

from __future__ import annotations

import datetime as dt
import io

from python_calamine import CalamineWorkbook

from eduplatform.facilities import services
from eduplatform.facilities.models import Building, LandParcel

from .facilities_support import building_row, land_row


def _add(world, seq: int, **overrides) -> Building:
    return services.create_building(actor=world.user("county_a_stat"), school=overrides.pop("school", world.school_a1),
                                    data=building_row(seq, **overrides))


def test_list_filters_by_condition_category_and_search(client, world):
    _add(world, 1, name="明德楼")
    _add(world, 2, name="危旧宿舍", use_code="21", teaching_area="", admin_area="", condition="24")
    _add(world, 3, name="幼儿园活动楼", school=world.school_a2)
    client.force_login(world.user("county_a_stat"))
    body = client.get("/facilities/").content.decode()
    assert "明德楼" in body and "危旧宿舍" in body and "幼儿园活动楼" in body
    body = client.get("/facilities/?condition=d_in_use").content.decode()
    assert "危旧宿舍" in body and "明德楼" not in body
    body = client.get("/facilities/?category=living").content.decode()
    assert "危旧宿舍" in body and "明德楼" not in body
    body = client.get("/facilities/?q=明德").content.decode()
    assert "明德楼" in body and "危旧宿舍" not in body
    body = client.get(f"/facilities/?school={world.school_a2.school_code}").content.decode()
    assert "幼儿园活动楼" in body and "明德楼" not in body


def test_school_clerk_sees_only_own_school(client, world):
    _add(world, 1, name="明德楼")
    _add(world, 2, name="幼儿园活动楼", school=world.school_a2)
    client.force_login(world.user("clerk_a1"))
    body = client.get("/facilities/?status=all").content.decode()
    assert "明德楼" in body and "幼儿园活动楼" not in body


def test_export_lists_the_filtered_buildings(client, world):
    _add(world, 1, name="明德楼")
    _add(world, 2, name="危旧宿舍", condition="24")
    client.force_login(world.user("county_a_stat"))
    response = client.get("/facilities/?condition=dangerous&format=xlsx")
    table = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert table[0][:4] == ["学校标识码", "学校", "建筑物编号", "建筑物名称"]
    assert [r[3] for r in table[1:]] == ["危旧宿舍"]
    assert table[1][table[0].index("建筑物状况")] == "D级危房"


def test_record_page_shows_fields_and_history(client, world):
    building = _add(world, 1, name="明德楼")
    services.update_building(actor=world.user("county_a_stat"), building=building,
                             data=building_row(1, name="明德楼", structure="3"))
    client.force_login(world.user("clerk_a1"))
    body = client.get(f"/facilities/buildings/{building.pk}/").content.decode()
    assert "框架结构" in body and "砖混结构" in body  # before and after in the history
    assert "建筑结构" in body and "county_a_stat" in body


def test_create_edit_and_demolish_through_the_pages(client, world):
    client.force_login(world.user("clerk_a1"))
    post = building_row(7, name="图书馆", use_code="14", total_area="-5")
    response = client.post("/facilities/new/", post)
    assert response.status_code == 200 and "建筑面积「-5」不能为负数" in response.content.decode()
    assert not Building.objects.exists()
    response = client.post("/facilities/new/", {**post, "total_area": "1200", "teaching_area": "1000", "admin_area": ""})
    building = Building.objects.get(number="JZ007")
    assert response.status_code == 302 and building.school == world.school_a1
    response = client.post(f"/facilities/buildings/{building.pk}/edit/", {**post, "total_area": "1300",
                                                                            "teaching_area": "", "admin_area": ""})
    assert response.status_code == 302
    building.refresh_from_db()
    assert building.total_area == 1300
    response = client.post(f"/facilities/buildings/{building.pk}/demolish/", {"on": "2099-01-01", "reason": "x"})
    assert "晚于今天" in response.content.decode()
    client.post(f"/facilities/buildings/{building.pk}/demolish/", {"on": dt.date.today().isoformat(), "reason": "改建"})
    building.refresh_from_db()
    assert building.demolished_on == dt.date.today() and not building.in_use


def test_bureau_names_the_school_when_creating(client, world):
    client.force_login(world.user("county_a_stat"))
    response = client.post("/facilities/land/new/", {**land_row(1), "school_code": world.school_b1.school_code})
    assert "不在您的管辖范围内" in response.content.decode() and not LandParcel.objects.exists()
    response = client.post("/facilities/land/new/", {**land_row(1), "school_code": world.school_a2.school_code})
    assert response.status_code == 302
    assert LandParcel.objects.get().school == world.school_a2


def test_land_pages(client, world):
    parcel = services.create_parcel(actor=world.user("clerk_a1"), school=world.school_a1, data=land_row(1, name="北校区"))
    client.force_login(world.user("clerk_a1"))
    assert "北校区" in client.get("/facilities/land/").content.decode()
    body = client.get(f"/facilities/land/{parcel.pk}/").content.decode()
    assert "北校区" in body and "学校独立产权" in body and "修改记录" in body
    client.post(f"/facilities/land/{parcel.pk}/retire/", {"on": "2024-01-01", "reason": "划出"}, follow=True)
    assert "北校区" not in client.get("/facilities/land/").content.decode()
    assert "北校区" in client.get("/facilities/land/?status=retired").content.decode()


def test_reviewer_cannot_open_the_forms(client, world):
    building = _add(world, 1)
    client.force_login(world.user("county_a_reviewer"))
    assert client.get(f"/facilities/buildings/{building.pk}/").status_code == 200
    assert client.get(f"/facilities/buildings/{building.pk}/edit/").status_code == 403
    assert client.get("/facilities/new/").status_code == 403
