"""GET /api/v1/changes: commit order, deletions, key changes, the resources filter, scope and masking,
cursors that round-trip (and are refused when forged or read with another filter), on both databases;
on PostgreSQL, a transaction that numbered its entry first but commits last is neither skipped nor
delivered out of order, and a filtered page reads its resource's index range, not the whole feed."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eduplatform.exchange import resources as registry
from eduplatform.exchange.clients import GrantSpec, register_client
from eduplatform.exchange.resources import ApiResource
from eduplatform.facilities import services as facilities
from eduplatform.history.models import AuditAction, ChangeFeedEntry
from eduplatform.history.services import record_change
from eduplatform.orgs import capabilities
from eduplatform.students import services as student_services
from eduplatform.students.models import Student
from tests.api_clients_support import bearer, obtain_token
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.facilities_support import building_row
from tests.students_support import student_row

COUNTY_A = "44/4401/440106/"
COUNTY_C = "44/4403/440304/"
G_NUMBER = "G440106201505050012"  # G + an ID number: masked for readers without the sensitive right

# What this test needs of the registry; the record resources (H2) register the same feed names.
NEEDED = (("students", "学生", ("student",)), ("staff", "教职工", ("staff",)), ("buildings", "校舍", ("building",)))


@pytest.fixture(autouse=True)
def feed_resources():
    added = []
    for key, label, feed in NEEDED:
        if key not in {r.key for r in registry.all_resources()}:
            registry.register(ApiResource(key=key, label=label, description="", natural_key=("key",), fields=(),
                                          feed_resources=feed, read_capability=capabilities.VIEW_RECORDS))
            added.append(key)
    yield
    for key in added:
        registry._RESOURCES.pop(key)


def change(resource: str, key: str, path: str, *, operation: str = "upsert", previous: str | None = None,
           school_id: int | None = None) -> None:
    record_change(actor=None, action=AuditAction.UPDATE, object_type="test.feed", object_id=key, object_label=key,
                  region_path=path, school_id=school_id, feed_resource=resource, feed_key=key,
                  feed_operation=operation, feed_previous_key=previous)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def read(client: Client, **params) -> dict:
    response = client.get("/api/v1/changes", {k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, response.content.decode()
    return response.json()


def read_all(client: Client, *, after: str | None = None, resources: str | None = None, limit: int = 2
             ) -> tuple[list[dict], str]:
    items: list[dict] = []
    while True:
        page = read(client, after=after, resources=resources, limit=limit)
        assert len(page["items"]) <= limit
        items += page["items"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return items, after


def caught_up(client: Client, resources: str | None = None) -> str:
    return read_all(client, resources=resources, limit=1000)[1]


@committing  # on PostgreSQL a reader never sees past its own open transaction: writes must commit
def test_changes_in_order_with_deletions_and_key_changes_then_poll_for_more(world):
    province = client_of(world.user("province"))
    start = caught_up(province)
    change("student", "L440106201501019999", COUNTY_A, school_id=world.school_a1.pk)
    change("staff", "4401062020001", COUNTY_A)
    change("student", G_NUMBER, COUNTY_A, previous="L440106201501019999", school_id=world.school_a1.pk)
    change("building", "2144000001:JZ001", COUNTY_C, operation="delete")
    items, cursor = read_all(province, after=start)
    assert [(i["resource"], i["key"], i["operation"], i["previous_key"]) for i in items] == [
        ("students", "L440106201501019999", "upsert", None),
        ("staff", "4401062020001", "upsert", None),
        ("students", G_NUMBER, "upsert", "L440106201501019999"),  # the new number names the old one …
        ("students", "L440106201501019999", "delete", None),  # … whose deletion follows
        ("buildings", "2144000001:JZ001", "delete", None),
    ]
    assert items[0]["school_code"] == world.school_a1.school_code and items[1]["school_code"] is None
    for item in items:  # ISO 8601 with its offset (the schema's date-time), on both databases
        assert dt.datetime.fromisoformat(item["occurred_at"]).tzinfo is not None, item["occurred_at"]
    # Caught up: nothing new, the cursor handed back reads on from there.
    empty = read(province, after=cursor)
    assert empty["items"] == [] and empty["has_more"] is False
    change("staff", "4401062020002", COUNTY_A)
    assert [i["key"] for i in read(province, after=empty["next_cursor"])["items"]] == ["4401062020002"]


@committing  # on PostgreSQL a reader never sees past its own open transaction: writes must commit
def test_a_renumbered_building_announces_its_previous_key(world):
    province = client_of(world.user("province"))
    clerk = world.user("clerk_a1")
    building = facilities.create_building(actor=clerk, school=world.school_a1, data=building_row(1))
    start = caught_up(province, "buildings")
    facilities.update_building(actor=clerk, building=building, data=building_row(1, number="JZ101"))
    items, _ = read_all(province, after=start, resources="buildings")
    code = world.school_a1.school_code
    assert [(i["key"], i["operation"], i["previous_key"]) for i in items] == [
        (f"{code}:JZ101", "upsert", f"{code}:JZ001"), (f"{code}:JZ001", "delete", None)]


@committing  # on PostgreSQL a reader never sees past its own open transaction: writes must commit
def test_resources_filter_and_its_cursor(world):
    province = client_of(world.user("province"))
    start_staff = caught_up(province, "staff")
    start_both = caught_up(province, "staff,buildings")
    for i in range(5):
        change("student", f"L44010620150101{i:04d}", COUNTY_A)
        change("staff", f"440106202000{i}", COUNTY_A)
    change("building", "2144000001:JZ009", COUNTY_A)
    staff, staff_cursor = read_all(province, after=start_staff, resources="staff")
    assert [i["key"] for i in staff] == [f"440106202000{i}" for i in range(5)]
    both, _ = read_all(province, after=start_both, resources="buildings,staff", limit=3)  # order of names is free
    assert [i["resource"] for i in both] == ["staff"] * 5 + ["buildings"]
    # A cursor is bound to its filter: read with another, it could skip entries — refused, saying why.
    refused = province.get("/api/v1/changes", {"after": staff_cursor, "resources": "students"})
    assert refused.status_code == 422 and refused.json()["code"] == "feed.cursor_mismatch"
    assert "staff" in refused.json()["detail"]
    forged = province.get("/api/v1/changes", {"after": "MTIzOw"})
    assert forged.status_code == 422 and forged.json()["code"] == "feed.cursor_invalid"
    unknown = province.get("/api/v1/changes", {"resources": "students,pets"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "feed.resource_unknown"
    assert "pets" in unknown.json()["detail"]
    codes = province.get("/api/v1/changes", {"resources": "codes"})  # a resource without a feed
    assert codes.status_code == 422


@committing  # on PostgreSQL a reader never sees past its own open transaction: writes must commit
def test_a_county_reads_only_its_own_changes_and_keys_are_masked_without_the_right(world):
    county_a = client_of(world.user("county_a_stat"))
    county_c = client_of(world.user("county_c_stat"))
    start_a, start_c = caught_up(county_a), caught_up(county_c)
    change("student", G_NUMBER, COUNTY_A, school_id=world.school_a1.pk)
    change("staff", "4401062020007", COUNTY_C)
    seen_a, _ = read_all(county_a, after=start_a)
    seen_c, _ = read_all(county_c, after=start_c)
    assert [i["resource"] for i in seen_a] == ["students"]
    assert seen_a[0]["key"] != G_NUMBER and seen_a[0]["key"].startswith("G440106") and "*" in seen_a[0]["key"]
    assert [i["key"] for i in seen_c] == ["4401062020007"]
    # The province officer holds the sensitive-view right: the full number.
    province_items, _ = read_all(client_of(world.user("province")), after=None, resources="students", limit=1000)
    assert G_NUMBER in {i["key"] for i in province_items}


def test_who_may_not_read_records_gets_a_reason_and_anonymous_a_401(world):
    auditor = client_of(world.user("auditor"))  # security auditor: no record rights at all
    refused = auditor.get("/api/v1/changes", {"resources": "students"})
    assert refused.status_code == 403 and "权限" in refused.json()["detail"]
    assert auditor.get("/api/v1/changes").status_code == 403
    assert Client().get("/api/v1/changes").status_code == 401


@committing  # a reader stops below its own open transaction (whose id may be the snapshot's xmax)
@postgres_only
def test_a_filtered_page_reads_its_resources_index_range_not_the_feed(world):
    """20,000 student entries around 30 staff entries: a page of staff reads ~30 index entries."""
    with connection.cursor() as db:
        db.execute("""INSERT INTO history_changefeedentry (occurred_at, resource, natural_key, operation, region_path)
                      SELECT now(), CASE WHEN i %% 700 = 0 THEN 'staff' ELSE 'student' END, 'k' || i, 'upsert', %s
                      FROM generate_series(1, 21000) AS i""", [COUNTY_A])
        db.execute("ANALYZE history_changefeedentry")
    province = client_of(world.user("province"))
    with CaptureQueriesContext(connection) as queries:
        page = read(province, resources="staff", limit=100)
    assert len(page["items"]) == 30
    feed_sql = next(q["sql"] for q in queries.captured_queries if "feed_horizon" in q["sql"])
    with connection.cursor() as db:
        db.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + feed_sql)
        plan = db.fetchone()[0]
        plan = plan if isinstance(plan, list) else json.loads(plan)
    scans = []

    def walk(node):
        if node.get("Relation Name") == "history_changefeedentry":
            scans.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    assert [s.get("Index Name") for s in scans] == ["feed_resource_txid_seq"], json.dumps(plan)[:2000]
    read_rows = sum(s.get("Actual Rows", 0) + s.get("Rows Removed by Filter", 0) for s in scans)
    assert read_rows < 100, f"the staff page read {read_rows} rows"


@committing
@postgres_only
def test_an_entry_numbered_first_but_committed_last_is_delivered_in_order_not_skipped(world):
    """Writer 1 writes its entry and holds its transaction open; writer 2 writes after it and commits.
    A reader polling through the endpoint meanwhile gets nothing past writer 1's position; once writer 1
    commits it gets both, writer 1's first — nothing skipped, nothing twice."""
    province = client_of(world.user("province"))
    start = caught_up(province, "staff")
    first_written, second_committed, release = threading.Event(), threading.Event(), threading.Event()
    polls: list[list[str]] = []

    def writer_1():
        with transaction.atomic():
            change("staff", "first", COUNTY_A)
            first_written.set()
            assert release.wait(30)

    def writer_2():
        assert first_written.wait(30)
        with transaction.atomic():
            change("staff", "second", COUNTY_A)
        second_committed.set()

    cursor = start

    def reader():
        nonlocal cursor
        assert second_committed.wait(30)
        for _ in range(3):  # while writer 1 is still open
            page = read(province, after=cursor, resources="staff", limit=10)
            polls.append([i["key"] for i in page["items"]])
            cursor = page["next_cursor"]
            time.sleep(0.05)
        release.set()

    run_concurrently(writer_1, writer_2, reader)
    items, _ = read_all(province, after=cursor, resources="staff", limit=10)
    polls.append([i["key"] for i in items])
    assert polls[:3] == [[], [], []], "an entry was delivered past a transaction still in flight"
    assert [k for poll in polls for k in poll] == ["first", "second"]
    assert ChangeFeedEntry.objects.filter(natural_key__in=["first", "second"]).count() == 2


@committing
def test_an_external_system_reads_only_its_grants_inside_its_jurisdiction(world):
    """A county A system granted buildings only, calling with its OAuth2 token."""
    api_client, secret = register_client(
        actor=world.user("secadmin"), name="天河区校舍系统", organization=world.county_a,
        grants={"buildings": GrantSpec(read=True)}, vendor="某公司", contact="王工")
    http = Client()
    auth = bearer(obtain_token(http, api_client, secret))

    def page(**params):
        return http.get("/api/v1/changes", {k: v for k, v in params.items() if v is not None}, **auth)

    def drain(after, resources=None):
        items = []
        while True:
            body = page(after=after, resources=resources, limit=50).json()
            items += body["items"]
            after = body["next_cursor"]
            if not body["has_more"]:
                return items, after

    _, start_all = drain(None)
    _, start_buildings = drain(None, "buildings")
    change("building", "2144000001:JZ201", COUNTY_A, school_id=world.school_a1.pk)
    change("building", "2144000009:JZ201", COUNTY_C)
    change("student", G_NUMBER, COUNTY_A, school_id=world.school_a1.pk)
    assert [i["key"] for i in drain(start_buildings, "buildings")[0]] == ["2144000001:JZ201"]
    # Without a filter: every resource it may read — buildings only, students left out.
    assert [(i["resource"], i["key"]) for i in drain(start_all)[0]] == [("buildings", "2144000001:JZ201")]
    refused = page(resources="students")
    assert refused.status_code == 403 and refused.json()["code"] == "client.right_missing"
    assert "students:read" in refused.json()["detail"]


@committing
def test_a_temporary_student_number_replaced_by_the_formal_one_is_a_key_change(world):
    clerk = world.user("clerk_a1")
    enrolment = student_services.enrol_student(actor=clerk, school=world.school_a1,
                                               data=student_row(3, id_type="Z", id_number=""))
    student = enrolment.student
    student_services.correct_id_number(actor=clerk, student=student, id_type="1",
                                       id_number=student_row(3)["id_number"], reason="补登身份证")
    province = client_of(world.user("province"))
    start = caught_up(province, "students")
    old = student.student_number
    student_services.replace_temporary_number(actor=clerk, student=Student.objects.get(pk=student.pk))
    items, _ = read_all(province, after=start, resources="students")
    new = "G" + student_row(3)["id_number"]
    assert [(i["key"], i["operation"], i["previous_key"]) for i in items] == [(new, "upsert", old), (old, "delete", None)]
    assert {i["school_code"] for i in items} == {world.school_a1.school_code}
