"""The completeness and timeliness page (上报进度) of a collection task: per child region, expected,
submitted, approved, returned, overdue, zero reports and the on-time share — equal to counts made
here independently from the submissions — sortable, drilled down to the schools, on the map, and
exported; read with a number of queries that does not grow with the number of schools."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Organization, Region
from eduplatform.reporting.models import (
    CollectionTask,
    FormDefinition,
    FormVersion,
    FormVersionStatus,
    Submission,
    SubmissionStatus,
    TaskStatus,
)
from tests.world import TOWN_A, TOWN_C, school_row

pytestmark = pytest.mark.django_db

DEFINITION = {"code": "JC442", "title": "教师培训情况", "tables": [
    {"code": "T1", "title": "培训", "rows": [{"code": "R1", "label": "合计"}],
     "columns": [{"code": "C1", "label": "人数", "type": "integer"}], "cells": {}}], "rules": []}


def make_task(world, *, deadline: dt.date) -> CollectionTask:
    form = FormDefinition.objects.create(code="JC442", title="教师培训情况", owner_path="44/")
    version = FormVersion.objects.create(form=form, version=1, definition=DEFINITION, status=FormVersionStatus.PUBLISHED)
    return CollectionTask.objects.create(title="2026 年教师培训情况", form_version=version, period="2026", deadline=deadline,
                                         status=TaskStatus.OPEN, owner_path="44/", review_levels=["county", "city", "province"])


def submit(task, school: Organization, status: str, *, zero: bool = False, at: dt.datetime | None = None) -> Submission:
    return Submission.objects.create(task=task, school=school, region_path=school.region_path, status=status,
                                     zero_report=zero, submitted_at=at)


@pytest.fixture
def task(world):
    deadline = timezone.localdate() - dt.timedelta(days=2)
    before = timezone.now() - dt.timedelta(days=5)
    after = timezone.now() - dt.timedelta(days=1)
    task = make_task(world, deadline=deadline)
    c1 = Organization.objects.get(school_code="2144000003")
    submit(task, world.school_a1, SubmissionStatus.SUBMITTED, at=before)
    submit(task, world.school_a2, SubmissionStatus.RETURNED, at=before)
    submit(task, world.school_b1, SubmissionStatus.APPROVED, zero=True, at=after)
    submit(task, world.college_a, SubmissionStatus.NOT_STARTED)
    submit(task, c1, SubmissionStatus.DRAFT)
    return task


def independent(task, region: Region) -> dict[str, dict[str, int]]:
    """Counts per child region made here from the rows, one submission at a time."""
    children = {c.path: c.name for c in region.children.all()}
    end = task.deadline
    late = timezone.localdate() > task.deadline
    out: dict[str, dict[str, int]] = {}
    for s in Submission.objects.filter(task=task, region_path__startswith=region.path):
        path = next(p for p in children if s.region_path.startswith(p))
        f = out.setdefault(children[path], dict.fromkeys(
            ("expected", "submitted", "approved", "returned", "overdue", "zero", "on_time"), 0))
        reported = s.status in (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED)
        f["expected"] += 1
        f["submitted"] += reported
        f["approved"] += s.status == SubmissionStatus.APPROVED
        f["returned"] += s.status == SubmissionStatus.RETURNED
        f["overdue"] += late and not reported
        f["zero"] += reported and s.zero_report
        f["on_time"] += reported and timezone.localtime(s.submitted_at).date() <= end
    return out


FIGURES = ("expected", "submitted", "approved", "returned", "overdue", "zero", "on_time")


def shown(response) -> dict[str, dict[str, int]]:
    return {r["name"]: {k: r[k] for k in FIGURES} for r in response.context["rows"]}


def test_province_page_figures_equal_independent_counts_and_colour_the_map(client, world, task):
    client.force_login(world.user("province"))
    response = client.get(f"/reports/tasks/{task.pk}/completeness/")
    assert response.status_code == 200
    province = Region.objects.get(code="440000000000")
    expected = independent(task, province)
    assert shown(response) == expected
    assert set(expected) == {"广州市", "深圳市"}
    assert expected["广州市"]["overdue"] == 2 and expected["广州市"]["zero"] == 1  # the fixture is what it claims
    totals = response.context["totals"]
    assert totals["expected"] == Submission.objects.filter(task=task).count()
    map_rows = {r["name"]: r["value"] for r in response.context["map_data"]["rows"]}
    gz = expected["广州市"]
    assert map_rows["广州市"] == round(100 * gz["submitted"] / gz["expected"], 1)
    assert 'id="province-map"' in response.content.decode()


def test_sorting_drill_down_to_schools_and_export(client, world, task):
    client.force_login(world.user("province"))
    rows = client.get(f"/reports/tasks/{task.pk}/completeness/", {"sort": "-expected"}).context["rows"]
    assert [r["expected"] for r in rows] == sorted((r["expected"] for r in rows), reverse=True)
    rows = client.get(f"/reports/tasks/{task.pk}/completeness/", {"sort": "expected"}).context["rows"]
    assert [r["expected"] for r in rows] == sorted(r["expected"] for r in rows)

    county = Region.objects.get(code="440106000000")
    response = client.get(f"/reports/tasks/{task.pk}/completeness/", {"region": county.code})
    assert shown(response) == independent(task, county)

    town = client.get(f"/reports/tasks/{task.pk}/completeness/", {"region": TOWN_A})
    assert town.context["at_schools"]
    statuses = {r["name"]: r["status"] for r in town.context["rows"]}
    assert statuses == {world.school_a1.name: SubmissionStatus.SUBMITTED, world.school_a2.name: SubmissionStatus.RETURNED}
    assert "已退回" in town.content.decode()

    exported = client.get(f"/reports/tasks/{task.pk}/completeness/", {"format": "csv", "region": county.code})
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["区划", "应报", "已上报"]
    from_csv = {line[0]: [int(v) for v in line[1:7]] for line in lines[1:]}
    assert from_csv == {name: [f[k] for k in FIGURES[:6]] for name, f in independent(task, county).items()}
    xlsx = client.get(f"/reports/tasks/{task.pk}/completeness/", {"format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_county_sees_its_own_towns_only(client, world, task):
    client.force_login(world.user("county_a_stat"))
    response = client.get(f"/reports/tasks/{task.pk}/completeness/")
    assert response.status_code == 200
    county = Region.objects.get(code="440106000000")
    assert shown(response) == independent(task, county)
    page = response.content.decode()
    assert world.school_b1.name not in page and "越秀" not in page
    assert client.get(f"/reports/tasks/{task.pk}/completeness/", {"region": "440104000000"}).status_code == 404
    # Another county's school list is not reachable through a town either.
    assert client.get(f"/reports/tasks/{task.pk}/completeness/", {"region": TOWN_C}).status_code == 404


def test_the_province_page_reads_a_fixed_number_of_queries_whatever_the_schools(client, world, task):
    client.force_login(world.user("province"))
    url = f"/reports/tasks/{task.pk}/completeness/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    schools = orgs.register_schools(actor=None, rows=[
        school_row(f"21440009{n:02d}", f"新增测试小学{n}", "211", TOWN_A) for n in range(12)])
    for school in schools:
        submit(task, school, SubmissionStatus.SUBMITTED, at=timezone.now() - dt.timedelta(days=4))
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(many) == len(few)
    assert shown(response) == independent(task, Region.objects.get(code="440000000000"))
