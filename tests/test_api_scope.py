"""The scope matrix of the open API: a caller bound to county A (天河区) reading or writing county B
(越秀区) is refused with a 403 that names the school and the jurisdiction, or a per-record problem in
a batch; the same calls inside county A succeed. (Signed-in users until H1's client tokens land:
an API client acts through a service account of its unit, so scope is the account's.)"""

from __future__ import annotations

import json

import pytest

from eduplatform.facilities.models import Building

pytestmark = pytest.mark.django_db

A1, B1 = "2144000001", "2144000002"


def building(code: str, number: str = "JZ001") -> dict:
    return {"school_code": code, "number": number, "name": "教学楼", "use_code": "11", "structure": "2",
            "built_year": 2001, "total_area": "3200", "property_right": "1"}


@pytest.fixture
def county_a(client, world):
    client.force_login(world.user("county_a_stat"))
    return client


def test_county_a_reads_its_schools_and_not_county_b(county_a):
    assert county_a.get("/api/v1/buildings", {"school_code": A1}).status_code == 200
    refused = county_a.get("/api/v1/buildings", {"school_code": B1})
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "scope.outside" and "天河区教育局" in body["detail"]
    assert body["errors"][0]["field"] == "query.school_code"
    one = county_a.get(f"/api/v1/buildings/{B1}/JZ001")
    assert one.status_code == 403 and one.json()["errors"][0]["field"] == "path.school_code"


def test_county_a_writes_its_schools_and_not_county_b(county_a):
    put = county_a.put(f"/api/v1/buildings/{B1}/JZ009", data=json.dumps(building(B1, "JZ009")),
                       content_type="application/json")
    assert put.status_code == 403 and put.json()["code"] == "scope.outside"
    batch = county_a.post("/api/v1/buildings/batch", content_type="application/json", data=json.dumps(
        {"mode": "accept_valid", "records": [building(A1), building(B1)]})).json()
    ok, refused = batch["results"]
    assert ok["result"] == "created"
    assert refused["result"] == "rejected" and refused["problems"][0]["code"] == "scope.outside"
    assert "天河区教育局" in refused["problems"][0]["message"]
    assert list(Building.objects.values_list("school__school_code", flat=True)) == [A1]


def test_county_b_does_not_see_county_a_records(client, world, county_a):
    county_a.post("/api/v1/buildings/batch", content_type="application/json",
                  data=json.dumps({"records": [building(A1)]}))
    client.force_login(world.user("county_b_stat"))
    assert client.get("/api/v1/buildings").json()["items"] == []
    assert client.get(f"/api/v1/buildings/{A1}/JZ001").status_code == 403


def test_a_client_bound_to_county_a_is_refused_county_b_with_the_reason(client, world):
    """The same matrix for an external system with a token (its service account is of county A)."""
    from eduplatform.exchange import clients as client_services
    from eduplatform.exchange.clients import GrantSpec
    from tests.api_clients_support import bearer, obtain_token

    api_client, secret = client_services.register_client(
        actor=world.user("secadmin"), name="天河区校舍系统", organization=world.county_a,
        grants={"buildings": GrantSpec(read=True, write=True)})
    auth = bearer(obtain_token(client, api_client, secret))
    client.logout()
    read = client.get("/api/v1/buildings", {"school_code": B1}, **auth)
    assert read.status_code == 403 and read.json()["code"] == "scope.outside"
    assert "天河区校舍系统" in read.json()["detail"] and read.json()["jurisdiction"] == "天河区教育局"
    write = client.put(f"/api/v1/buildings/{B1}/JZ001", data=json.dumps(building(B1)),
                       content_type="application/json", **auth)
    assert write.status_code == 403 and "天河区教育局" in write.json()["detail"]
    ok = client.put(f"/api/v1/buildings/{A1}/JZ001", data=json.dumps(building(A1)),
                    content_type="application/json", **auth)
    assert ok.status_code == 201, ok.content
    # A resource without a grant: 403 naming the missing grant.
    students = client.get("/api/v1/students", **auth)
    assert students.status_code == 403 and students.json()["code"] == "client.right_missing"
    assert "students:read" in students.json()["detail"]
