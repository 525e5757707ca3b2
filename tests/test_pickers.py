"""Searchable pickers (issue 18): a school, a unit, a town is chosen by typing part of its name or code,
from what the user's jurisdiction holds — never from a 2,000-option select or a typed 10-digit code.

The search endpoints read through the scoped selectors; the scope matrix (tests/test_scope_matrix.py)
walks them with every role as it walks every route, and the tests here name the leaks it guards against.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from eduplatform.accounts.models import User
from eduplatform.orgs import selectors
from tests.routes import url_routes
from tests.world import LEAK_MARKER_B, LEAK_MARKER_HIGHER, World

pytestmark = pytest.mark.django_db

PICKERS = ("orgs:pick_schools", "orgs:pick_units", "orgs:pick_regions", "orgs:pick_towns")


def found(client, name: str, q: str) -> list[dict[str, str]]:
    response = client.get(reverse(name), {"q": q})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/json"
    return response.json()["results"]


def test_a_county_statistician_finds_a_school_by_part_of_its_name_or_code(client, world: World):
    client.force_login(world.user("county_a_stat"))
    by_name = found(client, "orgs:pick_schools", "测试小")
    assert [r["value"] for r in by_name] == ["2144000001"]
    assert by_name[0]["text"] == "天河测试小学（2144000001）"
    assert [r["value"] for r in found(client, "orgs:pick_schools", "21440000")] == ["2144000001"]


def test_a_school_picker_finds_nothing_outside_the_jurisdiction(client, world: World):
    client.force_login(world.user("county_a_stat"))
    everything = found(client, "orgs:pick_schools", "")
    names = {r["text"] for r in everything}
    assert "天河测试小学（2144000001）" in names
    assert not any(LEAK_MARKER_B in n for n in names)  # a school of 越秀区
    assert found(client, "orgs:pick_schools", "2144000002") == []  # its code, typed in full
    assert found(client, "orgs:pick_schools", "越秀") == []

    client.force_login(world.user("clerk_a1"))
    assert [r["value"] for r in found(client, "orgs:pick_schools", "")] == ["2144000001"]

    client.force_login(world.user("k12_officer"))  # a province division limited to K-12
    assert not any(LEAK_MARKER_HIGHER in r["text"] for r in found(client, "orgs:pick_schools", "泄漏"))


def test_the_unit_picker_of_an_account_administrator_stays_in_their_jurisdiction(client, world: World):
    client.force_login(world.user("county_a_stat"))
    units = {r["text"] for r in found(client, "orgs:pick_units", "教育局")}
    assert units == {"天河区教育局"}
    client.force_login(world.user("sysadmin"))  # province: no VIEW_RECORDS, but manages accounts
    units = {r["text"] for r in found(client, "orgs:pick_units", "教育局")}
    assert {"天河区教育局", "越秀区教育局", "福田区教育局"} <= units


def test_the_town_picker_lists_only_towns_of_the_jurisdiction(client, world: World):
    client.force_login(world.user("county_a_stat"))
    towns = found(client, "orgs:pick_towns", "街道")
    assert towns and all(r["value"].startswith("440106") for r in towns)
    assert found(client, "orgs:pick_towns", "北京街道") == []  # a town of 越秀区
    regions = found(client, "orgs:pick_regions", "")
    assert regions[0]["value"] == "440106000000"  # the county itself first, then its towns


def test_pickers_refuse_anonymous_visitors_and_users_without_the_right(client, world: World):
    for name in PICKERS:
        response = client.get(reverse(name), {"q": "测试"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(world.user("auditor"))  # reads the audit log, not records
    assert client.get(reverse("orgs:pick_schools"), {"q": "测试"}).status_code == 403


def test_the_scope_matrix_walks_every_picker():
    from tests.test_scope_matrix import PUBLIC_ROUTES, SKIPPED_ROUTES

    routes = {route for route, _ in url_routes()}
    for name in PICKERS:
        route = reverse(name).lstrip("/")
        assert route in routes, route
        assert not SKIPPED_ROUTES.match(route) and not PUBLIC_ROUTES.match(route), route


def test_the_unit_field_is_a_picker_not_a_select_of_every_unit(client, world: World):
    client.force_login(world.user("sysadmin"))
    page = client.get("/accounts/users/new/").content.decode()
    form = page[page.index('<form method="post" class="card"'):]
    form = form[:form.index("</form>")]
    assert "<option" not in form  # 2,001 options for a province before
    assert 'data-picker="unit"' in form and reverse("orgs:pick_units") in form


def test_an_account_cannot_be_created_in_a_unit_outside_the_jurisdiction(client, world: World):
    client.force_login(world.user("sysadmin"))
    response = client.post("/accounts/users/new/", {"username": "nobody1", "display_name": "某人",
                                                   "organization": "999999", "password": "Xk2#pq9Lmv"})
    assert response.status_code == 200
    assert "请选择所属单位" in response.content.decode()
    assert not User.objects.filter(username="nobody1").exists()
    assert selectors.unit_in_scope(world.user("county_a_stat"), world.county_b.pk) is None
    assert selectors.unit_in_scope(world.user("county_a_stat"), world.county_a.pk) == world.county_a


def test_a_school_field_names_its_school_and_carries_required(client, world: World):
    client.force_login(world.user("county_a_stat"))
    page = client.get("/students/new/").content.decode()
    field = re.search(r"<input[^>]*name=\"school_code\"[^>]*>", page).group(0)
    assert 'data-picker="school"' in field and " required" in field
    name_field = re.search(r"<input[^>]*name=\"name\"[^>]*>", page).group(0)
    assert " required" in name_field  # 姓名 *
    former = re.search(r"<input[^>]*name=\"former_name\"[^>]*>", page).group(0)
    assert " required" not in former  # 曾用名 is optional


def test_a_place_of_birth_is_found_by_name_and_answered_by_its_code(client, world: World):
    client.force_login(world.user("clerk_a1"))
    places = found(client, "orgs:pick_places", "越秀")  # outside the clerk's school: places are not records
    assert {"value": "440104", "text": "广州市越秀区", "hint": "440104"} in places
    assert [r["value"] for r in found(client, "orgs:pick_places", "440106")] == ["440106"]
    page = client.get("/students/new/").content.decode()
    birthplace = re.search(r"<input[^>]*name=\"birthplace_code\"[^>]*>", page).group(0)
    assert 'data-picker="place"' in birthplace and "data-picker-accept" in birthplace


def test_a_primary_school_clerk_is_not_asked_for_major_or_programme_length(client, world: World):
    client.force_login(world.user("clerk_a1"))  # 天河测试小学
    page = client.get("/students/new/").content.decode()
    for name in ("major", "programme_length", "level"):
        assert f'name="{name}"' not in page, name
    assert 'name="grade"' in page and 'name="entered_on"' in page


def test_a_bureau_user_sees_the_vocational_fields_marked_to_follow_the_chosen_school(client, world: World):
    client.force_login(world.user("county_a_stat"))
    page = client.get("/students/new/").content.decode()
    major = re.search(r"<input[^>]*name=\"major\"[^>]*>", page).group(0)
    assert 'data-stage-mask="48"' in major
    schools = found(client, "orgs:pick_schools", "测试小学")
    assert schools[0]["stage_mask"] == world.school_a1.stage_mask


def test_people_are_found_only_in_the_jurisdiction_and_only_by_those_who_administer_accounts(client, world: World):
    from tests.scope_records import actor_user

    client.force_login(world.user("sysadmin"))
    people = {r["value"] for r in found(client, "accounts:pick_users", "county")}
    assert {"county_a_stat", "county_b_stat"} <= people
    county_admin = actor_user(world, "county_a_secadmin")  # the security administrator of 天河区
    client.force_login(county_admin)
    people = {r["value"] for r in found(client, "accounts:pick_users", "county")}
    assert "county_a_stat" in people and "county_b_stat" not in people
    client.force_login(world.user("county_a_stat"))  # keeps records, administers no account
    assert client.get(reverse("accounts:pick_users"), {"q": "county"}).status_code == 403


def test_list_filters_choose_a_school_by_name_and_still_filter_by_its_code(client, world: World):
    from eduplatform.students import services
    from tests.students_support import student_row

    services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1))
    client.force_login(world.user("county_a_stat"))
    page = client.get("/students/", {"school": "2144000001"}).content.decode()
    field = re.search(r"<input id=\"school\"[^>]*>", page).group(0)
    assert 'data-picker="school"' in field and reverse("orgs:pick_schools") in field
    assert 'value="2144000001"' in field and "测试学生1" in page
