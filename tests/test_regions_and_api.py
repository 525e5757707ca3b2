"""Region history (rename, merge) and the /api/v1/ conventions (problem responses, cursor paging)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from eduplatform.accounts import services as accounts
from eduplatform.accounts.roles import Role
from eduplatform.core.errors import NotPermitted
from eduplatform.orgs import selectors, services
from eduplatform.orgs.models import Organization, Region
from tests.world import PASSWORD, TOWN_B

pytestmark = pytest.mark.django_db


@pytest.fixture
def region_admin(world):
    user = accounts.create_user(actor=None, username="regions", password=PASSWORD, organization=world.department)
    accounts.grant_role(actor=None, user=user, role=Role.SYSTEM_ADMIN)
    return user


def test_a_renamed_county_shows_its_old_name_before_the_date(world, region_admin):
    county = Region.objects.get(code="440104000000")
    services.rename_region(actor=region_admin, region=county, new_name="越秀新区", effective_on=dt.date(2025, 1, 1), reason="更名")
    city = county.parent
    before = {r.region.code: r.name for r in selectors.region_children_with_counts(world.user("province"), city, as_of=dt.date(2024, 12, 31))}
    after = {r.region.code: r.name for r in selectors.region_children_with_counts(world.user("province"), city)}
    assert before["440104000000"] == "越秀区" and after["440104000000"] == "越秀新区"


def test_merging_counties_moves_towns_and_schools_and_keeps_the_past(world, region_admin):
    source, target = Region.objects.get(code="440104000000"), Region.objects.get(code="440106000000")
    services.merge_region(actor=region_admin, source=source, target=target, effective_on=dt.date(2025, 6, 1), reason="区划调整")
    town = Region.objects.get(code=TOWN_B)
    school = Organization.objects.get(pk=world.school_b1.pk)
    assert town.parent == target and town.path.startswith(target.path)
    assert school.region_path.startswith(target.path)
    # 天河区 now sees the moved school; the old county's bureau is closed.
    assert world.school_b1.name in [s.name for s in selectors.schools_in_scope(world.user("county_a_stat"))]
    assert not Organization.objects.get(pk=world.county_b.pk).is_open
    city = target.parent
    past = {r.region.code: r.schools for r in selectors.region_children_with_counts(world.user("province"), city, as_of=dt.date(2025, 5, 31))}
    now = {r.region.code: r.schools for r in selectors.region_children_with_counts(world.user("province"), city)}
    assert past["440104000000"] == 1 and "440104000000" not in now
    assert now["440106000000"] == past["440106000000"] + 1


def test_only_region_administrators_rename_regions(world):
    with pytest.raises(NotPermitted):
        services.rename_region(actor=world.user("province"), region=world.county_a.region, new_name="x",
                               effective_on=dt.date(2025, 1, 1), reason="")


def test_api_errors_are_rfc9457_problems_in_chinese(client, world):
    client.force_login(world.user("county_a_stat"))
    response = client.get(f"/api/v1/schools/{world.school_b1.school_code}")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == 403 and body["code"] == "scope.outside" and "管辖范围" in body["detail"]
    assert world.county_a.name in body["detail"]  # the caller's jurisdiction, said
    missing = client.get("/api/v1/schools/2199999999")
    assert missing.status_code == 404 and json.loads(missing.content)["code"] == "not_found"
    client.logout()
    assert client.get("/api/v1/schools").status_code == 401


def test_api_pages_through_schools_with_a_cursor(client, world):
    client.force_login(world.user("province"))
    seen, cursor = [], None
    while True:
        url = "/api/v1/schools?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json()
        seen += [s["school_code"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(Organization.objects.filter(kind="school").values_list("school_code", flat=True))
    assert len(seen) == len(set(seen))


def test_security_roles_do_not_read_records_through_the_api(client, world):
    client.force_login(world.user("auditor"))
    assert client.get("/api/v1/schools").status_code == 403
