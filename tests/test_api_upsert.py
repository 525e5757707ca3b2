"""Batch upsert through /api/v1/{resource}/batch: per-record results in both modes, problems naming
the field and what is allowed, nothing written when an all-or-nothing batch has a bad record, and
an Idempotency-Key retry that applies once."""

from __future__ import annotations

import json

import pytest

from eduplatform.exchange.models import IdempotencyRecord
from eduplatform.facilities.models import Building
from eduplatform.history.models import ChangeFeedEntry
from eduplatform.students.models import Enrolment, Student
from tests.students_support import student_row

pytestmark = pytest.mark.django_db

A1 = "2144000001"  # 天河测试小学 (county A)
B1 = "2144000002"  # a school of county B


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def clerk(client, world):
    client.force_login(world.user("clerk_a1"))
    return client


def students(n, start=1, **overrides):
    return [student_row(start + i, school_code=A1, **overrides) for i in range(n)]


def test_accept_valid_stores_exactly_the_valid_records_and_says_why_the_others_failed(clerk):
    records = students(3)
    records[1]["gender"] = "X"  # not a code of GB/T 2261.1
    records[2]["school_code"] = B1  # a school of another county
    response = post(clerk, "/api/v1/students/batch", {"mode": "accept_valid", "records": records})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["applied"] is True and (body["created"], body["rejected"]) == (1, 2)
    first, bad_code, elsewhere = body["results"]
    assert first["result"] == "created" and first["key"].startswith("G")  # the 学籍号 the platform issued
    assert bad_code["result"] == "rejected" and bad_code["index"] == 1
    (gender,) = [p for p in bad_code["problems"] if p["field"] == "gender"]
    assert gender["code"] == "field.code" and "男" in gender["message"]  # the allowed values are named
    (scope,) = elsewhere["problems"]
    assert scope["field"] == "school_code" and scope["code"] == "scope.outside"
    assert "天河测试小学" in scope["message"] or "管辖范围" in scope["message"]
    assert Student.objects.filter(student_number=first["key"]).exists()
    assert Enrolment.objects.filter(is_active=True).count() == 1


def test_all_or_nothing_writes_nothing_when_one_record_is_rejected(clerk):
    records = students(3)
    records[2]["birth_date"] = "2019-02-30"
    before = (Student.objects.count(), ChangeFeedEntry.objects.count())
    response = post(clerk, "/api/v1/students/batch", {"mode": "all_or_nothing", "records": records})
    assert response.status_code == 422
    body = response.json()
    assert body["applied"] is False and body["rejected"] == 1
    assert [r["result"] for r in body["results"][:2]] == ["created", "created"]  # what they would have done
    assert body["results"][2]["problems"][0]["field"] == "birth_date"
    assert (Student.objects.count(), ChangeFeedEntry.objects.count()) == before


def test_typed_json_values_are_accepted_like_text(clerk):
    record = student_row(7, school_code=A1, class_number=2, migrant_child=False, only_child=True)
    response = post(clerk, "/api/v1/students/batch", {"records": [record]})
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["result"] == "created"
    student = Student.objects.get()
    assert student.only_child is True and student.migrant_child is False
    assert Enrolment.objects.get().school_class.number == 2


def test_the_same_record_again_is_unchanged_and_a_changed_one_updated(clerk):
    records = students(2)
    created = post(clerk, "/api/v1/students/batch", {"records": records}).json()
    assert created["created"] == 2
    # Each record's key is its student's 学籍号, as the register holds it.
    numbers = [Student.objects.get(name=r["name"]).student_number for r in records]
    assert [r["key"] for r in created["results"]] == numbers and all(n.startswith("G") for n in numbers)
    records[1]["home_address"] = "天河路1号"
    body = post(clerk, "/api/v1/students/batch", {"records": records}).json()
    assert [r["result"] for r in body["results"]] == ["unchanged", "updated"]
    assert [r["key"] for r in body["results"]] == numbers
    assert Student.objects.count() == 2


def test_a_person_who_left_another_school_is_enrolled_again_under_the_same_number(clerk, world):
    record = students(1, start=5)[0]
    clerk.force_login(world.user("clerk_b1"))
    first = post(clerk, "/api/v1/students/batch", {"records": [{**record, "school_code": B1}]}).json()
    number = first["results"][0]["key"]
    Enrolment.objects.filter(is_active=True).update(is_active=False, status="07")  # left school B1 (set-up)
    clerk.force_login(world.user("clerk_a1"))
    again = post(clerk, "/api/v1/students/batch", {"records": [record]}).json()
    assert again["results"][0]["result"] == "created" and again["results"][0]["key"] == number
    assert Student.objects.count() == 1 and Student.objects.get().student_number == number


def test_unknown_members_are_a_problem_of_their_record(clerk):
    body = post(clerk, "/api/v1/students/batch",
                {"mode": "accept_valid", "records": [student_row(1, school_code=A1, shoe_size="38")]}).json()
    assert body["results"][0]["problems"][0] == {
        "field": "shoe_size", "code": "field.unknown", "message": "“学生”没有可写入的字段「shoe_size」"}


def test_an_idempotent_retry_returns_the_first_answer_and_writes_nothing(clerk):
    payload = {"mode": "accept_valid", "records": students(3)}
    first = post(clerk, "/api/v1/students/batch", payload, HTTP_IDEMPOTENCY_KEY="batch-42")
    feed = ChangeFeedEntry.objects.count()
    again = post(clerk, "/api/v1/students/batch", payload, HTTP_IDEMPOTENCY_KEY="batch-42")
    assert again.status_code == first.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Student.objects.count() == 3 and ChangeFeedEntry.objects.count() == feed
    other = post(clerk, "/api/v1/students/batch", {"records": students(1, start=9)}, HTTP_IDEMPOTENCY_KEY="batch-42")
    assert other.status_code == 422 and other.json()["code"] == "idempotency.key_reused"
    assert Student.objects.count() == 3
    assert IdempotencyRecord.objects.get(key="batch-42").state == "done"


def test_buildings_upsert_by_school_and_number(clerk, world):
    clerk.force_login(world.user("clerk_a1"))
    building = {"school_code": A1, "number": "JZ001", "name": "教学楼", "use_code": "11", "structure": "2",
                "built_year": 2001, "total_area": 3200.5, "property_right": "1"}
    body = post(clerk, "/api/v1/buildings/batch", {"records": [building]}).json()
    assert body["results"][0] == {"index": 0, "key": f"{A1}/JZ001", "result": "created", "problems": []}, body
    assert Building.objects.get(number="JZ001").total_area == pytest.approx(3200.5)


def test_more_than_ten_thousand_records_is_refused_as_a_whole(clerk):
    response = post(clerk, "/api/v1/students/batch", {"records": [{"name": "x"}] * 10_001})
    assert response.status_code == 422 and response.json()["code"] == "request.invalid"


def test_all_or_nothing_across_schools_rolls_back_the_school_already_written(clerk, world):
    """The first school's records are written before the second school's are checked: a problem in
    the second rolls the first back too (one transaction)."""
    from tests.students_support import second_primary_in_county_a

    second = second_primary_in_county_a()
    clerk.force_login(world.user("county_a_stat"))
    records = students(4)
    records[3]["school_code"] = second.school_code
    records[3]["ethnicity"] = "99"
    body = post(clerk, "/api/v1/students/batch", {"records": records}).json()
    assert body["applied"] is False
    assert [r["result"] for r in body["results"]] == ["created", "created", "created", "rejected"]
    assert not Student.objects.exists() and not Enrolment.objects.exists()
    records[3]["ethnicity"] = "01"
    body = post(clerk, "/api/v1/students/batch", {"records": records}).json()
    assert body["applied"] is True and body["created"] == 4
    assert Enrolment.objects.filter(school=second).count() == 1
