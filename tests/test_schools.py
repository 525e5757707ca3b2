"""Creating, editing and closing schools through the services and the pages."""

from __future__ import annotations

import datetime as dt

import pytest

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditEntry, ChangeFeedEntry, DirtySchool
from eduplatform.orgs import selectors, services
from eduplatform.orgs.models import Organization, Region
from eduplatform.orgs.stages import Stage
from tests.world import TOWN_A, TOWN_A2, TOWN_B, school_row

pytestmark = pytest.mark.django_db


def new_school(**extra) -> dict[str, object]:
    row = school_row("2144009999", "天河新建小学", "211", TOWN_A)
    row.update(extra)
    return row


def counts() -> tuple[int, int, int]:
    return Organization.objects.count(), AuditEntry.objects.count(), ChangeFeedEntry.objects.count()


def test_creating_a_school_writes_audit_feed_and_dirty_mark(world):
    actor = world.user("county_a_stat")
    school = services.create_school(actor=actor, data=new_school())
    entry = AuditEntry.objects.get(object_type="orgs.school", object_id=str(school.pk))
    assert entry.action == "create" and entry.actor_id == actor.pk and entry.actor_org_name == "天河区教育局"
    assert entry.changes["name"] == {"label": "学校名称", "before": None, "after": "天河新建小学"}
    assert entry.changes["school_type_code"]["after"] == "211 小学"
    assert ChangeFeedEntry.objects.filter(resource="school", natural_key="2144009999").exists()
    assert DirtySchool.objects.filter(school_id=school.pk).exists()
    assert school.stage_mask == Stage.PRIMARY and school.parent == world.county_a


def test_editing_a_school_records_every_field_before_and_after(world):
    actor = world.user("county_a_stat")
    services.update_school(actor=actor, school=world.school_a1, data={"name": "天河实验小学", "phone": "020-87654321"})
    entry = AuditEntry.objects.filter(object_id=str(world.school_a1.pk), action="update").get()
    assert entry.changes == {
        "name": {"label": "学校名称", "before": "天河测试小学", "after": "天河实验小学"},
        "phone": {"label": "联系电话", "before": "020-12345678", "after": "020-87654321"},
    }


def test_closing_a_school_is_audited_and_keeps_its_history(world):
    actor = world.user("county_a_stat")
    services.close_school(actor=actor, school=world.school_a1, closed_on="2025-07-31", reason="撤并")
    school = Organization.objects.get(pk=world.school_a1.pk)
    assert not school.is_open and school.closed_on == dt.date(2025, 7, 31)
    entry = AuditEntry.objects.get(object_id=str(school.pk), action="close")
    assert entry.changes["is_open"] == {"label": "办学状态", "before": "办学中", "after": "已撤销"}
    # As of the day before, the school is still open in its town; from the closing day it is not.
    town = Region.objects.get(code=TOWN_A)
    before = selectors.schools_in_region(actor, town, as_of=dt.date(2025, 7, 30))
    after = selectors.schools_in_region(actor, town, as_of=dt.date(2025, 7, 31))
    assert "天河测试小学" in [v.name for v in before]
    assert "天河测试小学" not in [v.name for v in after]


def test_a_school_moving_town_is_dated_and_the_tree_shows_it_as_of_a_date(world):
    actor = world.user("county_a_stat")
    services.update_school(
        actor=actor, school=world.school_a1, data={"town_code": TOWN_A2}, effective_on=dt.date(2025, 9, 1), reason="迁址"
    )
    county = world.county_a.region
    rows = {r.region.code: r.schools for r in selectors.region_children_with_counts(actor, county, as_of=dt.date(2025, 8, 31))}
    assert rows[TOWN_A] == 2  # a1 and a2 were both in 五山街道 before the move
    rows_now = {r.region.code: r.schools for r in selectors.region_children_with_counts(actor, county)}
    assert rows_now[TOWN_A] == 1 and rows_now[TOWN_A2] == 2
    versions = list(world.school_a1.versions.order_by("valid_from"))
    assert [v.region.code for v in versions] == [TOWN_A, TOWN_A2]
    assert versions[0].valid_to == dt.date(2025, 9, 1)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("school_type_code", "999", "办学类型代码「999」不存在"),
        ("town_code", "440106999000", "所在乡镇（街道）「440106999000」不存在"),
        ("school_code", "1144000001", "学校标识码「1144000001」已被「天河测试幼儿园」使用"),
        # A school outside the jurisdiction is not named (found by the scope matrix).
        ("school_code", "2144000002", "学校标识码「2144000002」已被管辖范围外的学校使用"),
        ("town_code", TOWN_B, "不在您的管辖范围内"),
        ("school_code", "12345", "学校标识码应为10位数字"),
        ("address", "文明路1号", "地址至少应包含6个汉字"),
        ("longitude", "120.5", "经度「120.5」超出广东省范围"),
    ],
)
def test_bad_input_names_the_field_in_chinese_and_writes_nothing(world, field, value, expected):
    actor = world.user("county_a_stat")
    before = counts()
    with pytest.raises(RecordInvalid) as caught:
        services.create_school(actor=actor, data=new_school(**{field: value}))
    problems = caught.value.problems
    assert [p.field for p in problems] == [field]
    assert expected in problems[0].message
    assert counts() == before


def test_every_problem_of_a_record_is_reported_at_once(world):
    with pytest.raises(RecordInvalid) as caught:
        services.create_school(
            actor=world.user("county_a_stat"), data=new_school(school_type_code="999", town_code="1", name="")
        )
    assert {p.field for p in caught.value.problems} == {"school_type_code", "town_code", "name"}


def test_a_school_clerk_may_edit_only_contact_details_of_their_own_school(world):
    clerk = world.user("clerk_a1")
    services.update_school(actor=clerk, school=world.school_a1, data={"phone": "020-11112222"})
    with pytest.raises(NotPermitted):
        services.update_school(actor=clerk, school=world.school_a1, data={"name": "改名小学"})
    with pytest.raises(OutOfScope):
        services.update_school(actor=clerk, school=world.school_a2, data={"phone": "020-11112222"})


def test_a_principal_is_read_only(world):
    with pytest.raises(NotPermitted):
        services.update_school(actor=world.user("principal_a1"), school=world.school_a1, data={"phone": "020-1"})


def test_a_county_user_cannot_change_a_school_of_another_county(world):
    with pytest.raises(OutOfScope):
        services.close_school(actor=world.user("county_a_stat"), school=world.school_b1, closed_on="2025-01-01", reason="x")
    assert Organization.objects.get(pk=world.school_b1.pk).is_open


def test_bulk_registration_is_all_or_nothing_and_names_the_bad_rows(world):
    before = counts()
    rows = [school_row("2144007001", "批量甲小学", "211", TOWN_A), school_row("2144007002", "批量乙小学", "2X1", TOWN_A)]
    with pytest.raises(RecordInvalid) as caught:
        services.register_schools(actor=world.user("county_a_stat"), rows=rows)
    assert "第2行" in caught.value.problems[0].message and "办学类型" in caught.value.problems[0].message
    assert counts() == before


def test_the_create_page_shows_the_services_message_next_to_the_field(client, world):
    client.force_login(world.user("county_a_stat"))
    response = client.post("/orgs/schools/new/", new_school(school_type_code="999"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="school_type_code"' in body and "办学类型代码「999」不存在" in body
    assert not Organization.objects.filter(school_code="2144009999").exists()
    response = client.post("/orgs/schools/new/", new_school())
    assert response.status_code == 302 and Organization.objects.filter(school_code="2144009999").exists()


def test_the_school_page_shows_its_history(client, world):
    actor = world.user("county_a_stat")
    services.update_school(actor=actor, school=world.school_a1, data={"principal_name": "李四"})
    client.force_login(actor)
    body = client.get(f"/orgs/schools/{world.school_a1.school_code}/").content.decode()
    assert "张三" in body and "李四" in body and "校长（负责人）" in body


def test_the_school_list_exports_to_excel(client, world):
    import io

    from python_calamine import CalamineWorkbook

    client.force_login(world.user("county_a_stat"))
    response = client.get("/orgs/schools/?format=xlsx")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_name("学校名录").to_python()
    assert rows[0][:2] == ["学校标识码", "学校名称"]
    assert sorted(r[1] for r in rows[1:]) == sorted(["天河测试小学", "天河测试幼儿园", "天河泄漏检测学院"])
    assert all(isinstance(r[0], str) and len(r[0]) == 10 for r in rows[1:])  # codes stay text
