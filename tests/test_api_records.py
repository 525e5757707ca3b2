"""Reading record resources through /api/v1/: keyset paging, masking of personal members, ETag and
If-Match, and problems (404, 403, 412) that name the field."""

from __future__ import annotations

import json

import pytest

from eduplatform.students.models import Student
from tests.students_support import student_row

pytestmark = pytest.mark.django_db

A1 = "2144000001"


def put(client, path, body, **headers):
    return client.put(path, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def enrolled(client, world):
    """Five students of school A1, registered through the API by its clerk; their 学籍号."""
    client.force_login(world.user("clerk_a1"))
    body = client.post("/api/v1/students/batch", data=json.dumps(
        {"records": [student_row(i, school_code=A1, home_address=f"天河区天河路{i}号") for i in range(1, 6)]}),
        content_type="application/json").json()
    assert body["created"] == 5, body
    return [r["key"] for r in body["results"]]


def test_list_pages_by_cursor_without_offsets_and_filters_by_school(client, world, enrolled):
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/students", {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [s["student_number"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(enrolled)
    item = client.get("/api/v1/students", {"school_code": A1, "limit": 1}).json()["items"][0]
    assert (item["school_code"], item["grade"], item["class_number"], item["status"]) == (A1, "11", "1", "01")
    assert item["entered_on"] == "2025-09"
    assert client.get("/api/v1/students", {"limit": 5000}).status_code == 422  # limit ≤ 1000
    # A county reads one of its schools at a time: the filter applies to students (keyed by 学籍号
    # alone), and a resource that belongs to no school refuses it rather than ignoring it.
    client.force_login(world.user("county_a_stat"))
    assert len(client.get("/api/v1/students", {"school_code": A1}).json()["items"]) == 5
    assert client.get("/api/v1/students", {"school_code": world.school_a2.school_code}).json()["items"] == []
    refused = client.get("/api/v1/administrators", {"school_code": A1})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "query.school_code"


def test_personal_members_are_masked_for_a_reader_without_the_right(client, world, enrolled):
    mine = client.get(f"/api/v1/students/{enrolled[0]}").json()  # the clerk may see personal data
    assert len(mine["id_number"]) == 18 and "*" not in mine["id_number"] and mine["phone"] == "13800138000"
    client.force_login(world.user("principal_a1"))
    page = client.get("/api/v1/students", {"school_code": A1}).json()["items"]
    masked = next(s for s in page if s["name"] == mine["name"])
    assert "*" in masked["id_number"] and masked["id_number"] != mine["id_number"]
    assert masked["phone"] == "138****8000" and masked["guardian1_phone"] == "139****9000"
    assert masked["home_address"].endswith("****") and "号" not in masked["home_address"]
    assert "*" in masked["student_number"]  # a G number embeds the ID number


def test_etag_and_if_match_guard_single_record_updates(client, world, enrolled):
    number = enrolled[0]
    first = client.get(f"/api/v1/students/{number}")
    etag = first["ETag"]
    assert client.get(f"/api/v1/students/{number}", HTTP_IF_NONE_MATCH=etag).status_code == 304
    record = {k: v for k, v in first.json().items() if k not in ("status",)}
    record["home_address"] = "天河区体育西路1号"
    changed = put(client, f"/api/v1/students/{number}", record, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200, changed.content
    assert changed["ETag"] != etag and changed.json()["home_address"] == "天河区体育西路1号"
    record["home_address"] = "天河区体育东路2号"
    stale = put(client, f"/api/v1/students/{number}", record, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    body = stale.json()
    assert body["code"] == "precondition.failed" and stale["ETag"] == changed["ETag"]
    assert changed["ETag"] in body["detail"] and body["errors"][0]["field"] == "header.If-Match"
    assert Student.objects.get(student_number=number).home_address == "天河区体育西路1号"
    # Without If-Match the write is allowed (last writer wins).
    assert put(client, f"/api/v1/students/{number}", record).status_code == 200


def test_an_invalid_single_record_names_the_field_path(client, world, enrolled):
    record = client.get(f"/api/v1/students/{enrolled[1]}").json()
    record.pop("status")
    record["ethnicity"] = "99x"
    response = put(client, f"/api/v1/students/{enrolled[1]}", record)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.ethnicity"


def test_unknown_records_are_404_problems_with_the_key_path(client, world, enrolled):
    response = client.get("/api/v1/students/G440106201801010000")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found" and body["errors"][0]["field"] == "path.student_number"


def test_a_student_of_another_county_is_not_found_for_county_b(client, world, enrolled):
    client.force_login(world.user("county_b_stat"))
    assert client.get(f"/api/v1/students/{enrolled[0]}").status_code == 404
    assert client.get("/api/v1/students").json()["items"] == []


def test_reading_without_the_capability_is_a_403_that_says_which(client, world):
    client.force_login(world.user("secadmin"))
    response = client.get("/api/v1/students")
    assert response.status_code == 403 and "records.view" in response.json()["detail"]


def test_openapi_describes_each_resource_with_its_own_members(client, world):
    client.force_login(world.user("clerk_a1"))
    schema = client.get("/api/v1/openapi.json").json()
    members = schema["components"]["schemas"]["StudentsRecord"]["properties"]
    assert {"student_number", "id_number", "grade", "school_code", "status"} <= set(members)
    assert members["id_number"]["title"] == "身份证件号"
    assert "/api/v1/buildings/{school_code}/{number}" in schema["paths"]
    assert "BuildingsInput" in schema["components"]["schemas"]


def test_student_events_and_classes_are_read_only_resources(client, world, enrolled):
    events = client.get("/api/v1/student_events", {"school_code": A1}).json()["items"]
    assert len(events) == 5 and {e["kind"] for e in events} == {"enrol"}
    one = client.get(f"/api/v1/student_events/{events[0]['id']}")
    assert one.status_code == 200 and one.json()["student_number"] in enrolled
    classes = client.get("/api/v1/classes", {"school_code": A1}).json()["items"]
    assert [(c["grade"], c["number"]) for c in classes] == [("11", 1)]
    assert client.get(f"/api/v1/classes/{A1}/{classes[0]['school_year']}/11/1").status_code == 200
    assert client.post("/api/v1/classes/batch", data="{}", content_type="application/json").status_code == 404  # no such route
