"""Acceptance (issue 15): a script acting as an external school system — 天河区's 学籍 system, bound
to county A — obtains a token, upserts 10,000 students for its two schools (some invalid), reads the
per-record results, retries with the same Idempotency-Key without duplicating anything, then reads
the change feed and sees exactly its changes."""

from __future__ import annotations

import json

import pytest

from eduplatform.exchange import clients as client_services
from eduplatform.exchange.clients import GrantSpec
from eduplatform.history.models import ChangeFeedEntry
from eduplatform.students.models import Enrolment, Student
from tests.api_clients_support import bearer, obtain_token
from tests.students_support import second_primary_in_county_a, student_row

pytestmark = pytest.mark.django_db

N = 10_000
INVALID = {17, 4_321, 9_999}  # an impossible date, an unknown ethnicity code, a school of county B


def external_records(school_codes: list[str]) -> list[dict]:
    records = []
    for i in range(N):
        record = student_row(i + 1, school_code=school_codes[i % 2], class_number=1 + i % 10)
        if i == 17:
            record["birth_date"] = "2018-02-30"
        elif i == 4_321:
            record["ethnicity"] = "99"
        elif i == 9_999:
            record["school_code"] = "2144000002"  # 越秀区: outside the client's jurisdiction
        records.append(record)
    return records


def test_an_external_school_system_upserts_retries_and_reads_its_changes(client, world):
    second = second_primary_in_county_a()
    api_client, secret = client_services.register_client(
        actor=world.user("secadmin"), name="天河区学籍系统", organization=world.county_a,
        grants={"students": GrantSpec(read=True, write=True)}, may_see_personal=True)
    token = obtain_token(client, api_client, secret)
    auth = bearer(token)
    feed_before = ChangeFeedEntry.objects.count()
    body = json.dumps({"mode": "accept_valid", "records": external_records(["2144000001", second.school_code])})

    first = client.post("/api/v1/students/batch", data=body, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="tianhe-2026-09-01", **auth)
    assert first.status_code == 200, first.content[:500]
    result = first.json()
    assert (result["created"], result["rejected"]) == (N - len(INVALID), len(INVALID))
    rejected = {r["index"]: r["problems"] for r in result["results"] if r["result"] == "rejected"}
    assert set(rejected) == INVALID
    assert rejected[17][0]["field"] == "birth_date"
    assert rejected[4_321][0]["field"] == "ethnicity" and rejected[4_321][0]["code"] == "field.code"
    assert rejected[9_999][0]["code"] == "scope.outside" and "天河区教育局" in rejected[9_999][0]["message"]
    created = {r["key"] for r in result["results"] if r["result"] == "created"}
    assert len(created) == N - len(INVALID) and all(created)
    assert Enrolment.objects.filter(is_active=True).count() == N - len(INVALID)

    # The network dropped the answer: the system sends the very same request again.
    retry = client.post("/api/v1/students/batch", data=body, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="tianhe-2026-09-01", **auth)
    assert retry.status_code == 200 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == result
    assert Student.objects.count() == N - len(INVALID)
    assert ChangeFeedEntry.objects.count() - feed_before >= N - len(INVALID)

    # The change feed, page by page: exactly the students it wrote.
    seen, cursor = [], None
    while True:
        params = {"resources": "students", "limit": 1000, **({"after": cursor} if cursor else {})}
        page = client.get("/api/v1/changes", params, **auth)
        assert page.status_code == 200, page.content[:300]
        data = page.json()
        seen += [item["key"] for item in data["items"]]
        cursor = data["next_cursor"]
        if not data["has_more"]:
            break
    assert len(seen) == len(set(seen)) == N - len(INVALID)
    assert set(seen) == created
