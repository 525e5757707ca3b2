"""The freshness goal of the live figures (issue 13): a write committed by another connection is on
the live pages within 1 s — now that those pages read stored county and region tables (the measure
store, the calculators' tables, the county roll-up) instead of summing the records or the schools'
rows at request time. PostgreSQL, committing from a separate connection, as users do."""

from __future__ import annotations

import time

from django.test import Client

from eduplatform.staff import services as staff
from eduplatform.students import services as students
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.staff_support import staff_row
from tests.students_support import student_row

pytestmark = [committing, postgres_only]
FRESHNESS_S = 1.0


def reader(world, username: str) -> Client:
    client = Client()
    client.force_login(world.user(username))
    return client


def overview_total(client: Client, column: str) -> int:
    """The region's total row of the live overview, for one column (students or staff)."""
    response = client.get("/statistics/")
    assert response.status_code == 200
    labels = response.context["overview_labels"]
    return int(response.context["overview_total"][labels.index(column)])


def staffing_actual(client: Client) -> int:
    response = client.get("/statistics/staffing/")
    assert response.status_code == 200
    return int(response.context["total"].actual)


def pivot_total(client: Client) -> int:
    response = client.get("/statistics/pivot/", {"subject": "students", "rows": "area", "cols": "stage"})
    assert response.status_code == 200
    return int(response.context["table"].grand_total)


def indicator_students(client: Client) -> int:
    response = client.get("/statistics/indicators/")
    assert response.status_code == 200
    # The last group's rows end with the region's total row (its cells hold every measure).
    total_row = response.context["groups"][-1][2][-1][0]
    return int(total_row.cells.get("students", 0))


def seen_within(read, expected: int) -> float:
    """Seconds from now until ``read()`` gives ``expected`` (polled); fails after the goal."""
    started = time.perf_counter()
    while True:
        value = read()
        elapsed = time.perf_counter() - started
        if value == expected:
            return elapsed
        assert elapsed < FRESHNESS_S, f"still {value}, expected {expected} after {elapsed:.2f} s"
        time.sleep(0.05)


def test_a_committed_registration_and_hire_are_on_the_live_pages_within_a_second(world):
    county = world.user("county_a_stat")
    students.enrol_student(actor=county, school=world.school_a1, data=student_row(1, class_number="1"))
    readers = {name: reader(world, name) for name in ("province", "city_stat", "county_a_stat")}
    before = {name: (overview_total(c, "在校生"), pivot_total(c), indicator_students(c), staffing_actual(c),
                     overview_total(c, "教职工")) for name, c in readers.items()}
    assert all(b[0] == 1 for b in before.values())

    # Another connection registers a pupil and hires a teacher, and commits.
    run_concurrently(
        lambda: students.enrol_student(actor=county, school=world.school_a1, data=student_row(2, class_number="1")),
        lambda: staff.hire(actor=county, unit=world.school_a1, data=staff_row(7)),
    )
    committed = time.perf_counter()
    for name, client in readers.items():
        students_before, pivot_before, indicator_before, actual_before, staff_before = before[name]
        seen_within(lambda c=client: overview_total(c, "在校生"), students_before + 1)
        seen_within(lambda c=client: pivot_total(c), pivot_before + 1)
        seen_within(lambda c=client: indicator_students(c), indicator_before + 1)
        seen_within(lambda c=client: staffing_actual(c), actual_before + 1)
        seen_within(lambda c=client: overview_total(c, "教职工"), staff_before + 1)
    assert time.perf_counter() - committed < FRESHNESS_S * len(readers) * 5
